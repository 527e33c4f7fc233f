//! Provisioning for large bench runs: a generated `ccgw serve --config` file.
//!
//! The embedded demo has 500 agents in VDN 1 (101-600) and 100 in VDN 2
//! (601-700). When the bench spawns the gateway and its scenarios need more
//! agents, it writes a configuration with
//!
//! * VDN 1: agents `101..` — the steady agents, the sign-in storm agents and
//!   the long-poll agents, in that order — with skill 1 (the access code the
//!   bench dials, "10086" by default);
//! * VDN 2: [`VDN2_AGENTS`] more agents after them with skill 3 ("20086"), so
//!   a second tenant exists as in the demo (cross-VDN queries stay refused).
//!
//! Password hashes come from `<this exe> hash-password`: the **storm agents
//! get the default argon2 cost** (the storm measures real sign-ins, argon2
//! included); **every other agent gets a cheap hash** (`--memory-kib 64
//! --iterations 1`) so that signing in 50 000 long-poll agents takes seconds,
//! not the ~15 minutes that 50 000 default-cost verifications would need on
//! two cores.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail, ensure};

use crate::bench::AgentRange;

/// First agent id (the vendor's lowest work number).
pub const FIRST_AGENT: u32 = 101;
/// Agents of VDN 2 when the bench provisions the gateway.
pub const VDN2_AGENTS: usize = 100;
/// Highest work number without `auth.wide_agent_ids`.
const MAX_NARROW_WORKNO: u32 = 59_999;

/// The agents of a generated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provisioning {
    /// VDN 1: the agents the scenarios use.
    pub vdn1: AgentRange,
    /// VDN 2, right after VDN 1.
    pub vdn2: AgentRange,
    /// Agents of VDN 1 whose hash has the default argon2 cost (the storm agents).
    pub full_cost: Option<AgentRange>,
    pub access_code: String,
}

impl Provisioning {
    /// `total` agents: the last [`VDN2_AGENTS`] (at most a fifth) in VDN 2,
    /// the rest in VDN 1 starting at 101. `full_cost` is clipped to VDN 1.
    pub fn new(total: usize, full_cost: Option<AgentRange>, access_code: &str) -> anyhow::Result<Self> {
        ensure!(total >= 2, "--provision must be at least 2");
        let vdn2_count = VDN2_AGENTS.min(total / 5).max(1);
        let vdn1_count = total - vdn2_count;
        let range = |first: u32, count: usize| AgentRange { first, last: first + count as u32 - 1 };
        let vdn1 = range(FIRST_AGENT, vdn1_count);
        let vdn2 = range(vdn1.last + 1, vdn2_count);
        if vdn2.last > 999_999 {
            bail!("--provision {total} needs agent ids beyond 999999");
        }
        let full_cost = full_cost.and_then(|r| {
            let last = r.last.min(vdn1.last);
            (r.first <= last).then_some(AgentRange { first: r.first, last })
        });
        Ok(Self { vdn1, vdn2, full_cost, access_code: access_code.to_owned() })
    }

    pub fn total(&self) -> usize {
        self.vdn1.count() + self.vdn2.count()
    }

    /// Whether the ids need `auth.wide_agent_ids = true`.
    fn needs_wide_ids(&self) -> bool {
        self.vdn2.last > MAX_NARROW_WORKNO
    }

    /// The configuration file's text.
    pub fn render(&self, cheap_hash: &str, full_hash: &str) -> String {
        let mut out = String::with_capacity(self.total() * 110 + 1024);
        let _ = writeln!(out, "# Written by `ccgw bench`: {} agents. Delete at will.", self.total());
        if self.needs_wide_ids() {
            let _ = writeln!(out, "[auth]\nwide_agent_ids = true\n");
        }
        let _ = writeln!(out, "[[vdn]]\nid = 1\nname = \"Bench VDN 1\"\n");
        let _ = writeln!(out, "[[vdn]]\nid = 2\nname = \"Bench VDN 2\"\n");
        let vdn2_code = if self.access_code == "20086" { "20087" } else { "20086" };
        let _ = writeln!(
            out,
            "[[skill]]\nid = 1\nvdn = 1\nname = \"voice\"\naccess_codes = [{}]\n",
            toml_string(&self.access_code)
        );
        let _ = writeln!(out, "[[skill]]\nid = 3\nvdn = 2\nname = \"voice2\"\naccess_codes = [\"{vdn2_code}\"]\n");
        for (range, vdn, skill) in [(self.vdn1, 1, 1), (self.vdn2, 2, 3)] {
            for workno in range.ids() {
                let full = self.full_cost.is_some_and(|r| (r.first..=r.last).contains(&workno));
                let hash = if full { full_hash } else { cheap_hash };
                let _ = writeln!(
                    out,
                    "[[agent]]\nworkno = {workno}\nvdn = {vdn}\nname = \"Agent {workno}\"\npassword_hash = \"{hash}\"\nskills = [{skill}]\n"
                );
            }
        }
        out
    }

    /// Hashes `password` (twice: default and cheap cost) with `exe hash-password`
    /// and writes the configuration into `dir`; returns the file's path.
    pub fn write(&self, exe: &Path, password: &str, dir: &Path) -> anyhow::Result<PathBuf> {
        let cheap = hash_password(exe, password, &["--memory-kib", "64", "--iterations", "1"])?;
        let full = if self.full_cost.is_some() { hash_password(exe, password, &[])? } else { cheap.clone() };
        let path = dir.join("ccgw-bench.toml");
        std::fs::write(&path, self.render(&cheap, &full))
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(path)
    }
}

/// A TOML basic string (escapes `"` and `\`).
fn toml_string(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Runs `exe hash-password [args]` with `password` on stdin and returns the PHC string.
pub(crate) fn hash_password(exe: &Path, password: &str, args: &[&str]) -> anyhow::Result<String> {
    let mut child = Command::new(exe)
        .arg("hash-password")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {} hash-password", exe.display()))?;
    {
        let mut stdin = child.stdin.take().context("hash-password has no stdin")?;
        writeln!(stdin, "{password}").context("cannot write the password to hash-password")?;
    }
    let output = child.wait_with_output().context("hash-password failed")?;
    if !output.status.success() {
        bail!(
            "{} hash-password {args:?} failed ({}): {}",
            exe.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let hash = String::from_utf8(output.stdout).context("hash-password printed non-UTF-8")?.trim().to_owned();
    ensure!(hash.starts_with("$argon2"), "hash-password printed {hash:?}, not a PHC string");
    ensure!(!hash.contains(['"', '\\', '\n']), "hash-password printed an unexpected character");
    Ok(hash)
}

/// A private temporary directory, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> anyhow::Result<Self> {
        let path = std::env::temp_dir().join(format!("{prefix}-{}-{:08x}", std::process::id(), rand::random::<u32>()));
        std::fs::create_dir(&path).with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Self(path))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_keeps_a_second_vdn() {
        let storm = AgentRange { first: 301, last: 5300 };
        let p = Provisioning::new(5300, Some(storm), "10086").unwrap();
        assert_eq!((p.vdn1.first, p.vdn1.last), (101, 5300));
        assert_eq!((p.vdn2.first, p.vdn2.last), (5301, 5400));
        assert_eq!(p.full_cost, Some(AgentRange { first: 301, last: 5300 }));
        assert_eq!(p.total(), 5300);
        assert!(!p.needs_wide_ids());

        let small = Provisioning::new(10, None, "10086").unwrap();
        assert_eq!((small.vdn1.count(), small.vdn2.count()), (8, 2));
        assert!(Provisioning::new(70_000, None, "10086").unwrap().needs_wide_ids());
    }

    #[test]
    fn renders_valid_toml_with_both_hashes() {
        let p = Provisioning::new(10, Some(AgentRange { first: 103, last: 104 }), "10086").unwrap();
        let text = p.render("$argon2id$cheap", "$argon2id$full");
        assert_eq!(text.matches("[[agent]]").count(), 10);
        assert_eq!(text.matches("$argon2id$full").count(), 2);
        assert!(text.contains("workno = 103\nvdn = 1\nname = \"Agent 103\"\npassword_hash = \"$argon2id$full\""));
        assert!(text.contains("workno = 109\nvdn = 2\n"));
        assert!(text.contains("access_codes = [\"10086\"]"));
        assert!(!text.contains("wide_agent_ids"));
        assert_eq!(toml_string("a\"b\\"), r#""a\"b\\""#);
    }
}
