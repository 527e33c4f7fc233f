//! Password checks: argon2 against the provisioned PHC strings, on reusable memory.
//!
//! * **Unknown agent ids** are verified against a dummy hash of the provisioned agents' cost, so
//!   a wrong id takes as long and answers the same as a wrong password.
//! * **Memory.** An argon2 verification needs its memory cost in blocks (19 MiB at the OWASP
//!   default). Allocating that per verification left glibc's per-thread arenas holding the freed
//!   blocks (hundreds of MiB after a burst of sign-ins: glibc raises its mmap threshold to the
//!   size of the first large block freed, so later ones come from — and stay in — the arenas).
//!   Here the blocks come from a small pool: at most one buffer per verification slot
//!   (`auth.sign_in_concurrency`), reused while sign-ins keep coming and dropped after
//!   [`IDLE_MS`] without one. Each buffer reserves more than glibc's largest dynamic mmap
//!   threshold (32 MiB on 64-bit), so it is always its own mapping and dropping it returns it to
//!   the system; the reserved pages beyond the hash's cost are never touched, so they are never
//!   resident.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context as _;
use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, Version};
use ccgw_domain::AgentId;
use parking_lot::Mutex;

/// Pooled argon2 memory is released after this long without a verification.
pub const IDLE_MS: u64 = 1_000;

/// Blocks (1 KiB each) every pooled buffer reserves: above glibc's 32 MiB mmap-threshold ceiling.
const RESERVED_BLOCKS: usize = 33 * 1024;

/// An agent's credential, as provisioned.
#[derive(Clone, Debug, Default)]
pub struct Credential {
    /// PHC string; `None` for an agent without a password.
    pub hash: Option<String>,
    /// The empty password is accepted.
    pub password_optional: bool,
}

/// What a sign-in's password needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Accepted without a computation (the empty password of an agent that may use it).
    Accept,
    /// Verify against this PHC string; `dummy` when it is the dummy hash (the answer is "wrong").
    Verify { hash: String, dummy: bool },
}

/// How many verifications ran, by kind.
#[derive(Debug, Default)]
pub struct Counts {
    /// Against an agent's hash.
    pub agent: AtomicU64,
    /// Against the dummy hash (unknown ids, agents without a password given one).
    pub dummy: AtomicU64,
    /// Empty passwords accepted without a verification.
    pub accepted_empty: AtomicU64,
}

pub struct Credentials {
    agents: HashMap<AgentId, Credential>,
    /// Passwords changed since the start (`modifyaccountpwd`): kept in memory only, never
    /// written back to the configuration file. Bounded by the provisioned agents.
    changed: Mutex<HashMap<AgentId, String>>,
    dummy: String,
    pool: Mutex<Vec<Vec<Block>>>,
    last_used_ms: AtomicU64,
    pub counts: Counts,
}

impl Credentials {
    /// Checks every PHC string and derives the dummy hash from the most common parameters.
    pub fn new(agents: HashMap<AgentId, Credential>) -> anyhow::Result<Self> {
        let mut costs: HashMap<(u32, u32, u32), usize> = HashMap::new();
        for (id, c) in &agents {
            if let Some(hash) = &c.hash {
                let parsed = PasswordHash::new(hash)
                    .ok()
                    .and_then(|h| Some((Params::try_from(&h).ok()?, h)))
                    .filter(|(_, h)| h.salt.is_some() && h.hash.is_some())
                    .and_then(|(p, h)| Algorithm::try_from(h.algorithm.as_str()).ok().map(|_| p));
                let params =
                    parsed.with_context(|| format!("agent {}: password_hash is not an argon2 PHC string", id.0))?;
                *costs.entry((params.m_cost(), params.t_cost(), params.p_cost())).or_default() += 1;
            }
        }
        let (m, t, p) = costs.into_iter().max_by_key(|&((m, t, p), n)| (n, m, t, p)).map(|(cost, _)| cost).unwrap_or((
            Params::DEFAULT_M_COST,
            Params::DEFAULT_T_COST,
            Params::DEFAULT_P_COST,
        ));
        let dummy = dummy_hash(m, t, p)?;
        Ok(Credentials {
            agents,
            changed: Mutex::new(HashMap::new()),
            dummy,
            pool: Mutex::new(Vec::new()),
            last_used_ms: AtomicU64::new(0),
            counts: Counts::default(),
        })
    }

    /// What checking `password` for `agent` takes. Unknown ids and agents without a password
    /// (given a non-empty one) verify against the dummy hash; an empty password for an agent
    /// with a password is verified like any other (and is wrong).
    pub fn plan(&self, agent: AgentId, password: &str) -> Plan {
        let dummy = || Plan::Verify { hash: self.dummy.clone(), dummy: true };
        if let Some(hash) = self.agents.get(&agent).and(self.changed.lock().get(&agent).cloned()) {
            // A changed password is never empty, and the empty one no longer signs the agent in.
            return Plan::Verify { hash, dummy: false };
        }
        match self.agents.get(&agent) {
            None => dummy(),
            Some(c) if password.is_empty() && c.password_optional => Plan::Accept,
            Some(Credential { hash: Some(hash), .. }) => Plan::Verify { hash: hash.clone(), dummy: false },
            Some(Credential { hash: None, .. }) => dummy(),
        }
    }

    /// Counts a plan about to run.
    pub fn count(&self, plan: &Plan) {
        let counter = match plan {
            Plan::Accept => &self.counts.accepted_empty,
            Plan::Verify { dummy: true, .. } => &self.counts.dummy,
            Plan::Verify { dummy: false, .. } => &self.counts.agent,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let kind = match plan {
            Plan::Accept => "accepted_empty",
            Plan::Verify { dummy: true, .. } => "dummy",
            Plan::Verify { dummy: false, .. } => "agent",
        };
        metrics::counter!("ccgw_password_checks_total", "kind" => kind).increment(1);
    }

    /// Whether `password` matches the PHC string `hash`. CPU-heavy: call off the async threads.
    /// At most one buffer per concurrent caller is pooled, so bound the callers (the gateway's
    /// verification semaphore does).
    pub fn verify(&self, hash: &str, password: &[u8], now_ms: u64) -> bool {
        let Ok(phc) = PasswordHash::new(hash) else { return false };
        let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else { return false };
        let Ok(algorithm) = Algorithm::try_from(phc.algorithm.as_str()) else { return false };
        let version = match phc.version.map(Version::try_from) {
            None => Version::default(),
            Some(Ok(v)) => v,
            Some(Err(_)) => return false,
        };
        let Ok(params) = Params::try_from(&phc) else { return false };
        let mut out = [0u8; Output::MAX_LENGTH];
        let Some(out) = out.get_mut(..expected.len()) else { return false };
        let computed = self.compute(Argon2::new(algorithm, version, params), password, salt, out, now_ms);
        computed && constant_time_eq(out, expected.as_bytes())
    }

    /// One argon2 computation on pooled block memory.
    fn compute(&self, argon2: Argon2<'_>, password: &[u8], salt: &[u8], out: &mut [u8], now_ms: u64) -> bool {
        let needed = argon2.params().block_count();
        let mut blocks = self.pool.lock().pop().unwrap_or_default();
        if blocks.len() < needed {
            if blocks.capacity() < needed {
                blocks = Vec::with_capacity(needed.max(RESERVED_BLOCKS));
            }
            blocks.resize(needed, Block::default());
        }
        let computed = argon2.hash_password_into_with_memory(password, salt, out, &mut blocks[..]).is_ok();
        self.pool.lock().push(blocks);
        self.last_used_ms.fetch_max(now_ms, Ordering::Relaxed);
        computed
    }

    // --- onlineagent: password changes ---

    /// A new argon2id PHC string for `password`, at the cost of the provisioned agents (the
    /// dummy hash's), computed on the pooled memory. CPU-heavy: call off the async threads,
    /// under the gateway's verification semaphore.
    pub fn hash(&self, password: &[u8], now_ms: u64) -> Option<String> {
        let params = PasswordHash::new(&self.dummy).ok().and_then(|h| Params::try_from(&h).ok())?;
        let salt: [u8; 16] = rand::random();
        let mut out = [0u8; 32];
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::default(), params.clone());
        if !self.compute(argon2, password, &salt, &mut out, now_ms) {
            return None;
        }
        let hash = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::default().into()),
            params: ParamsString::try_from(&params).ok()?,
            salt: Some(Salt::new(&salt).ok()?),
            hash: Some(Output::new(&out).ok()?),
        };
        Some(hash.to_string())
    }

    /// Replace a provisioned agent's password hash for the rest of the process.
    pub fn set_changed(&self, agent: AgentId, hash: String) {
        if self.agents.contains_key(&agent) {
            self.changed.lock().insert(agent, hash);
        }
    }

    /// Releases the pooled argon2 memory once no verification ran for [`IDLE_MS`].
    pub fn trim(&self, now_ms: u64) {
        if now_ms.saturating_sub(self.last_used_ms.load(Ordering::Relaxed)) < IDLE_MS {
            return;
        }
        let released = std::mem::take(&mut *self.pool.lock());
        drop(released);
    }

    /// Buffers in the pool now (for tests).
    pub fn pooled(&self) -> usize {
        self.pool.lock().len()
    }
}

/// A PHC string of the given cost that no password matches (random salt and output).
fn dummy_hash(m: u32, t: u32, p: u32) -> anyhow::Result<String> {
    let params = Params::new(m, t, p, None).map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
    let salt: [u8; 16] = rand::random();
    let output: [u8; 32] = rand::random();
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::default().into()),
        params: ParamsString::try_from(&params).map_err(|e| anyhow::anyhow!("dummy hash: {e}"))?,
        salt: Some(Salt::new(&salt).map_err(|e| anyhow::anyhow!("dummy hash: {e}"))?),
        hash: Some(Output::new(&output).map_err(|e| anyhow::anyhow!("dummy hash: {e}"))?),
    };
    Ok(hash.to_string())
}

/// Equal lengths and contents, in time that depends only on the length.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::hash_password_with;

    fn creds(entries: &[(u32, Option<&str>, bool)]) -> Credentials {
        let agents = entries
            .iter()
            .map(|&(id, hash, optional)| {
                (AgentId(id), Credential { hash: hash.map(str::to_owned), password_optional: optional })
            })
            .collect();
        Credentials::new(agents).unwrap()
    }

    #[test]
    fn verifies_like_the_argon2_crate() {
        let hash = hash_password_with("secret", 64, 1).unwrap();
        let c = creds(&[(101, Some(&hash), false)]);
        assert!(c.verify(&hash, b"secret", 0));
        assert!(!c.verify(&hash, b"secreT", 0));
        assert!(!c.verify(&hash, b"", 0));
        assert!(!c.verify("$argon2id$garbage", b"secret", 0));
        // Other parameters (and argon2i) through the same pooled buffer, bigger and smaller.
        let big = hash_password_with("other", 256, 2).unwrap();
        assert!(c.verify(&big, b"other", 0));
        assert!(c.verify(&hash, b"secret", 0));
        let argon2i = {
            use argon2::PasswordHasher;
            let a = Argon2::new(Algorithm::Argon2i, Version::V0x13, Params::new(64, 1, 1, None).unwrap());
            a.hash_password(b"old").unwrap().to_string()
        };
        assert!(c.verify(&argon2i, b"old", 0));
        assert!(!c.verify(&argon2i, b"new", 0));
    }

    #[test]
    fn the_dummy_has_the_provisioned_cost_and_matches_nothing() {
        let cheap = hash_password_with("p", 64, 1).unwrap();
        let odd = hash_password_with("p", 128, 3).unwrap();
        let c = creds(&[(101, Some(&cheap), false), (102, Some(&cheap), false), (103, Some(&odd), false)]);
        let Plan::Verify { hash, dummy: true } = c.plan(AgentId(999), "p") else { panic!() };
        assert!(hash.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{hash}");
        assert!(!c.verify(&hash, b"p", 0));
        assert!(!c.verify(&hash, b"", 0));
        // No agent with a password: the OWASP default.
        let c = creds(&[(101, None, true)]);
        let Plan::Verify { hash, .. } = c.plan(AgentId(999), "x") else { panic!() };
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
    }

    #[test]
    fn plans() {
        let hash = hash_password_with("p", 64, 1).unwrap();
        let c = creds(&[(101, Some(&hash), false), (102, Some(&hash), true), (103, None, true)]);
        let agent = Plan::Verify { hash: hash.clone(), dummy: false };
        assert_eq!(c.plan(AgentId(101), "p"), agent);
        assert_eq!(c.plan(AgentId(101), ""), agent, "an empty password is checked like any other");
        assert_eq!(c.plan(AgentId(102), ""), Plan::Accept);
        assert_eq!(c.plan(AgentId(102), "p"), agent);
        assert_eq!(c.plan(AgentId(103), ""), Plan::Accept);
        assert!(matches!(c.plan(AgentId(103), "p"), Plan::Verify { dummy: true, .. }));
        assert!(matches!(c.plan(AgentId(104), ""), Plan::Verify { dummy: true, .. }));
    }

    #[test]
    fn rejects_bad_provisioning() {
        let mut agents = HashMap::new();
        agents.insert(AgentId(101), Credential { hash: Some("$argon2id$x".into()), password_optional: false });
        let err = Credentials::new(agents).err().unwrap();
        assert!(format!("{err:#}").contains("agent 101"), "{err:#}");
        // The example configuration's placeholder is well-formed.
        let example = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$3q6y9nV4xJqg7yX0pZt8bQn3m8l9vW2aR5sT1uD0eFc";
        creds(&[(101, Some(example), false)]);
    }

    #[test]
    fn pooled_memory_is_reused_then_released_when_idle() {
        let hash = hash_password_with("p", 64, 1).unwrap();
        let c = creds(&[(101, Some(&hash), false)]);
        assert_eq!(c.pooled(), 0);
        assert!(c.verify(&hash, b"p", 10_000));
        assert!(c.verify(&hash, b"p", 10_100));
        assert_eq!(c.pooled(), 1, "one caller at a time reuses one buffer");
        c.trim(10_100 + IDLE_MS - 1);
        assert_eq!(c.pooled(), 1);
        c.trim(10_100 + IDLE_MS);
        assert_eq!(c.pooled(), 0);
    }

    #[test]
    fn a_changed_password_replaces_the_provisioned_one() {
        let hash = hash_password_with("old", 64, 1).unwrap();
        let c = creds(&[(101, Some(&hash), true)]);
        let new = c.hash(b"N3w-pass", 0).unwrap();
        assert!(new.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{new}");
        assert!(c.verify(&new, b"N3w-pass", 0));
        assert!(!c.verify(&new, b"old", 0));
        c.set_changed(AgentId(101), new.clone());
        assert_eq!(c.plan(AgentId(101), "x"), Plan::Verify { hash: new.clone(), dummy: false });
        assert_eq!(
            c.plan(AgentId(101), ""),
            Plan::Verify { hash: new, dummy: false },
            "no empty password after a change"
        );
        c.set_changed(AgentId(999), "x".into());
        assert!(matches!(c.plan(AgentId(999), "x"), Plan::Verify { dummy: true, .. }), "unknown ids stay unknown");
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
