//! A real SIP phone for the tests: baresip, configured in a temp directory, started with a
//! retry when it cannot bind its port. Shared by ccgw-sip's `tests/baresip.rs` and
//! ccgw-server's `tests/sip_baresip.rs` (included by path: std and tokio only).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

/// Whether baresip can be used. Without it the test skips (says so), unless `REQUIRE_SIP=1`.
pub fn have_baresip(test: &str) -> bool {
    let found =
        std::process::Command::new("baresip").arg("-h").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
    if !found {
        if std::env::var("REQUIRE_SIP").as_deref() == Ok("1") {
            panic!("{test}: baresip is not installed and REQUIRE_SIP=1");
        }
        eprintln!("{test}: skipped, baresip is not installed (apt-get install baresip)");
    }
    found
}

/// A baresip configuration directory: no sound device (a sine source, a file sink), G.711,
/// one account registering `number` with `password` at `registrar`, answering by itself.
pub fn baresip_config(dir: &Path, port: u16, registrar: SocketAddr, number: &str, password: &str) {
    let modules = ["/usr/lib/baresip/modules", "/usr/lib/x86_64-linux-gnu/baresip/modules"]
        .into_iter()
        .find(|p| Path::new(p).join("g711.so").exists())
        .unwrap_or("/usr/lib/baresip/modules");
    let sink = dir.join("received.wav");
    let config = format!(
        "poll_method epoll\nsip_listen 127.0.0.1:{port}\nsip_trans_def udp\nmodule_path {modules}\nmodule g711.so\nmodule ausine.so\nmodule aufile.so\nmodule_app account.so\naudio_source ausine,440\nausrc_srate 48000\nauplay_srate 48000\nausrc_channels 2\nauplay_channels 2\naudio_player aufile,{sink}\naudio_alert aufile,{sink}\nrtp_ports 30000-30100\nnet_interface 127.0.0.1\n",
        sink = sink.display()
    );
    std::fs::write(dir.join("config"), config).expect("write config");
    let account = format!(
        "<sip:{number}@{registrar};transport=udp>;auth_pass={password};answermode=auto;regint=600;audio_codecs=PCMU\n"
    );
    std::fs::write(dir.join("accounts"), account).expect("write accounts");
    std::fs::write(dir.join("contacts"), "").expect("write contacts");
}

/// A running baresip (killed on drop) and its configuration directory.
pub struct Baresip {
    pub child: tokio::process::Child,
    pub dir: PathBuf,
}

impl Baresip {
    /// Starts baresip as phone `number` registering at `registrar`, in a fresh directory named
    /// after `name`. baresip binds its port for UDP and TCP; another process may take it
    /// between `free_port` and its bind (the suites run many SIP peers at once): then it says
    /// so and exits, and this retries on another port.
    pub async fn start(
        name: &str,
        registrar: SocketAddr,
        number: &str,
        password: &str,
        free_port: fn() -> u16,
    ) -> Baresip {
        let dir = std::env::temp_dir().join(format!("ccgw-baresip-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("config dir");
        let mut attempt = 0;
        loop {
            attempt += 1;
            baresip_config(&dir, free_port(), registrar, number, password);
            let log = std::fs::File::create(dir.join("baresip.log")).expect("log file");
            let log2 = log.try_clone().expect("log file");
            let mut child = tokio::process::Command::new("baresip")
                .arg("-f")
                .arg(&dir)
                .args(["-t", "60", "-s"])
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(log2)
                .kill_on_drop(true)
                .spawn()
                .expect("baresip runs");
            tokio::time::sleep(Duration::from_millis(500)).await;
            let failed = std::fs::read_to_string(dir.join("baresip.log")).unwrap_or_default().contains("init failed");
            if !failed {
                return Baresip { child, dir };
            }
            let _ = child.kill().await;
            assert!(attempt < 5, "baresip could not bind a port in 5 attempts");
        }
    }

    /// What baresip logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("baresip.log")).unwrap_or_default()
    }

    /// Stops baresip and removes its directory.
    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
