//! The JS API served at `GET /agentgateway/resource-js`, run in Node as an agent page would run
//! it (tests/js/scenario.js, with npm's synchronous `xmlhttprequest`): sign-in → poll → inbound
//! call → answer → hold + consult → allcallinfoEx → sign-out through its functions only, with
//! `REST.apiURL` both with the vendor's trailing slash and without.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{Gateway, TOKEN};

fn js_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js")
}

/// `npm ci` once, if the scenario's one dependency is not installed yet (`.ci/run` installs it).
fn ensure_node_modules() {
    let dir = js_dir();
    if dir.join("node_modules/xmlhttprequest/package.json").exists() {
        return;
    }
    let out = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .output()
        .expect("npm (Node.js) is needed for the JS API test");
    assert!(out.status.success(), "npm ci: {}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn the_served_js_api_runs_an_agent_page_in_node() {
    tokio::task::spawn_blocking(ensure_node_modules).await.unwrap();
    let gw = Gateway::start_with(|c| c.auth.poll_wait_ms = 300).await;
    let cert = gw.running().gateway.config.server.data_dir.join("ccgw-cert.pem");
    for (form, agents) in [("slash", "101,102"), ("bare", "103,104")] {
        let work = std::env::temp_dir().join(format!("ccgw-jsapi-{}-{form}", std::process::id()));
        std::fs::create_dir_all(&work).unwrap();
        let mut cmd = Command::new("node");
        cmd.arg(js_dir().join("scenario.js"))
            // xmlhttprequest's synchronous mode leaves its temporary files in the working directory.
            .current_dir(&work)
            .env("NODE_PATH", js_dir().join("node_modules"))
            .env("NODE_EXTRA_CA_CERTS", &cert)
            .env("CCGW_BASE", &gw.base)
            .env("CCGW_ADMIN", &gw.admin)
            .env("CCGW_TOKEN", TOKEN)
            .env("CCGW_API_URL_FORM", form)
            .env("CCGW_AGENTS", agents);
        let out = tokio::task::spawn_blocking(move || cmd.output().expect("node")).await.unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "scenario ({form}) failed:\n{stdout}\n{stderr}");
        assert!(stdout.contains(&format!("jsapi scenario ok ({form})")), "{stdout}\n{stderr}");
        let _ = std::fs::remove_dir_all(&work);
    }
    gw.stop().await;
}

/// The script itself: served with a JavaScript content type, generated from the interface
/// table (every served interface has its function).
#[tokio::test]
async fn resource_js_is_served() {
    let gw = Gateway::start().await;
    let r = gw.client.get(format!("{}/agentgateway/resource-js", gw.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/javascript;charset=UTF-8");
    let js = r.text().await.unwrap();
    for needle in [
        "var REST = ",
        "REST.Request.prototype = {",
        "setSpecial: function (value)",
        "var cookiestring;",
        "// GET /calldata/{agentid}/allcallinfoEx/{workno}\nCallData.queryAllCallInfoByAgentWorkNoEx = function (_params) {",
        "// PUT /onlineagent/{agentid}\nOnlineAgent.login = function (_params) {",
        "// GET /agentevent/{agentid}\nAgentEventDispatcher.getAgentEvent = function (_params) {",
    ] {
        assert!(js.contains(needle), "missing {needle:?}");
    }
    gw.stop().await;
}
