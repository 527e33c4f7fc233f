//! The wallboard and the agent desk page in a real headless browser: Debian's chromium driven by
//! playwright-core (tests/js/browser.js) against the real gateway (TLS on the agent listener).
//! Screenshots: `target/ci-artifacts/wallboard.png` and `desk.png`.
//!
//! Without a chromium (`CHROMIUM_PATH`, else `/usr/bin/chromium`) the test says so and passes,
//! unless `REQUIRE_BROWSER_TEST=1` (set by `.ci/run`), where a missing browser fails it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{Gateway, TOKEN};

const WALLBOARD_TOKEN: &str = "browser-wallboard-token-0123";

fn js_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js")
}

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("CHROMIUM_PATH").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    path.exists().then_some(path)
}

/// `npm ci` once, if playwright-core is not installed yet (`.ci/run` installs it).
fn ensure_node_modules() {
    let dir = js_dir();
    if dir.join("node_modules/playwright-core/package.json").exists() {
        return;
    }
    let out = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .output()
        .expect("npm (Node.js) is needed for the browser test");
    assert!(out.status.success(), "npm ci: {}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn the_wallboard_and_the_desk_page_work_in_a_real_browser() {
    let Some(browser) = chromium() else {
        let required = std::env::var("REQUIRE_BROWSER_TEST").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "REQUIRE_BROWSER_TEST=1 but no chromium (apt-get install -y chromium, or set CHROMIUM_PATH)"
        );
        eprintln!("SKIPPED: no chromium at /usr/bin/chromium (apt-get install -y chromium, or set CHROMIUM_PATH)");
        return;
    };
    tokio::task::spawn_blocking(ensure_node_modules).await.unwrap();
    let gw = Gateway::start_with(|c| {
        c.auth.poll_wait_ms = 500;
        c.admin.wallboard_token = Some(ccgw_server::config::Secret::new(WALLBOARD_TOKEN));
        // Callers 1390000xxxx give up 1.5 s after calling: the abandoned calls.
        c.telephony.rules.push(ccgw_server::config::TelephonyRule {
            pattern: "1390000*".into(),
            hangup_after_ms: Some(1500),
            ..Default::default()
        });
    })
    .await;
    let cert = gw.running().gateway.config.server.data_dir.join("ccgw-cert.pem");
    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/ci-artifacts");
    let mut cmd = Command::new("node");
    cmd.arg(js_dir().join("browser.js"))
        .env("NODE_PATH", js_dir().join("node_modules"))
        .env("CCGW_BASE", &gw.base)
        .env("CCGW_ADMIN", &gw.admin)
        .env("CCGW_TOKEN", TOKEN)
        .env("CCGW_WALLBOARD_TOKEN", WALLBOARD_TOKEN)
        .env("CCGW_CA", &cert)
        .env("CHROMIUM_PATH", &browser)
        .env("CCGW_ARTIFACTS", &artifacts);
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("node")).await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "browser test failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("browser pages ok"), "{stdout}\n{stderr}");
    for shot in ["wallboard.png", "desk.png"] {
        let len = std::fs::metadata(artifacts.join(shot)).map(|m| m.len()).unwrap_or(0);
        assert!(len > 10_000, "screenshot {shot}: {len} bytes");
    }
    gw.stop().await;
}
