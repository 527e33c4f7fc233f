//! Sign-in hardening (issue 7 §2–3, issue 8 §1.3 and §1.9): failed sign-ins counted per source
//! and aged out, unknown agent ids indistinguishable from provisioned ones, empty passwords, and
//! the trusted-network mode without `Guid`. Sources are told apart by connecting from different
//! loopback addresses (127.0.0.2, 127.0.0.3, … all reach the server on 127.0.0.1 on Linux).

use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use ccgw_server::Config;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Gateway, JSON_UTF8, PREFIX, Reply};

async fn start_with(tweak: impl FnOnce(&mut Config)) -> Gateway {
    Gateway::start_with(|c| {
        c.auth.poll_wait_ms = 200;
        tweak(c);
    })
    .await
}

/// A client of the gateway that connects from `127.0.0.<last>`.
struct Peer {
    client: reqwest::Client,
    base: String,
}

impl Peer {
    fn new(gw: &Gateway, last: u8) -> Peer {
        let pem = std::fs::read(gw.running().gateway.config.server.data_dir.join("ccgw-cert.pem")).unwrap();
        let client = reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
            .local_address(IpAddr::from([127, 0, 0, last]))
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        Peer { client, base: gw.base.clone() }
    }

    async fn request(&self, method: Method, path: &str, guid: Option<&str>, body: Option<Value>) -> Reply {
        let mut req =
            self.client.request(method, format!("{}{PREFIX}{path}", self.base)).header("Content-Type", JSON_UTF8);
        if let Some(g) = guid {
            req = req.header("Guid", g);
        }
        if let Some(b) = body {
            req = req.body(b.to_string());
        }
        Reply::from(req.send().await.expect("request")).await
    }

    async fn login(&self, id: u32, password: &str) -> Reply {
        self.request(Method::PUT, &format!("/onlineagent/{id}"), None, Some(json!({"password": password}))).await
    }

    async fn force_login(&self, id: u32, password: &str) -> Reply {
        self.request(Method::PUT, &format!("/onlineagent/{id}/forcelogin"), None, Some(json!({"password": password})))
            .await
    }

    /// Signs in with the demo password; the GUID.
    async fn sign_in(&self, id: u32) -> String {
        let r = self.login(id, "ccgw-demo").await;
        assert_eq!(r.retcode(), "0", "sign-in of {id}: {}", r.body);
        r.set_guid().expect("Set-GUID")
    }

    async fn status(&self, id: u32, guid: Option<&str>) -> Reply {
        self.request(Method::GET, &format!("/onlineagent/{id}/agentstatus"), guid, None).await
    }

    /// The retcodes of `n` sign-ins of `id` with `password`.
    async fn codes(&self, id: u32, password: &str, n: usize) -> Vec<String> {
        let mut codes = Vec::new();
        for _ in 0..n {
            codes.push(self.login(id, password).await.retcode().to_owned());
        }
        codes
    }
}

fn codes(list: &[&str]) -> Vec<String> {
    list.iter().map(|c| (*c).to_owned()).collect()
}

const LOCKED_AFTER_FIVE: [&str; 6] = ["100-004", "100-004", "100-004", "100-004", "110-021", "110-016"];

// ----- issue 7 §2: a stranger cannot lock an agent out ------------------------------------

#[tokio::test]
async fn a_strangers_wrong_passwords_lock_out_the_stranger_not_the_agent() {
    let gw = start_with(|_| {}).await;
    let (agent, stranger) = (Peer::new(&gw, 1), Peer::new(&gw, 2));
    assert_eq!(stranger.codes(101, "guess", 6).await, codes(&LOCKED_AFTER_FIVE));
    // The stranger is refused even with the right password; the agent from its own address is not.
    assert_eq!(stranger.login(101, "ccgw-demo").await.retcode(), "110-016");
    let guid = agent.sign_in(101).await;
    assert_eq!(agent.status(101, Some(&guid)).await.retcode(), "0");
    // The stranger's lock is for 101 only.
    stranger.sign_in(102).await;
    gw.stop().await;
}

#[tokio::test]
async fn wrong_force_logins_neither_end_the_session_nor_lock_the_agent_out() {
    let gw = start_with(|_| {}).await;
    let (agent, stranger) = (Peer::new(&gw, 1), Peer::new(&gw, 3));
    let guid = agent.sign_in(101).await;
    let mut answers = Vec::new();
    for _ in 0..6 {
        answers.push(stranger.force_login(101, "guess").await.retcode().to_owned());
    }
    assert_eq!(answers, codes(&LOCKED_AFTER_FIVE));
    // The session is untouched and still answers to its GUID.
    let r = agent.status(101, Some(&guid)).await;
    assert_eq!(r.body, json!({"message":"","retcode":"0","result":{"agentState":4,"isWorking":false}}));
    // The agent itself can still force its way in (e.g. from a restarted desktop).
    let r = agent.force_login(101, "ccgw-demo").await;
    assert_eq!(r.retcode(), "0", "{}", r.body);
    gw.stop().await;
}

#[tokio::test]
async fn failures_age_out() {
    let gw = start_with(|c| {
        c.auth.max_failed_logins = 3;
        // Wide enough that three argon2 verifications fit in it on a loaded box (the whole
        // suite runs in parallel); 600 ms was not.
        c.auth.failure_window_ms = 2000;
    })
    .await;
    let client = Peer::new(&gw, 4);
    assert_eq!(client.codes(101, "typo", 2).await, codes(&["100-004", "100-004"]));
    tokio::time::sleep(Duration::from_millis(2100)).await;
    // The two earlier failures are forgotten: two more are not yet three.
    assert_eq!(client.codes(101, "typo", 2).await, codes(&["100-004", "100-004"]));
    assert_eq!(client.codes(101, "typo", 1).await, codes(&["110-021"]));
    gw.stop().await;
}

#[tokio::test]
async fn a_source_guessing_many_agents_is_locked_out_of_all() {
    let gw = start_with(|c| c.auth.max_failed_logins_per_source = 5).await;
    let stranger = Peer::new(&gw, 5);
    let mut answers = Vec::new();
    for id in 101..=105 {
        answers.push(stranger.login(id, "guess").await.retcode().to_owned());
    }
    assert_eq!(answers, codes(&["100-004", "100-004", "100-004", "100-004", "110-021"]));
    // Now every agent is refused to that source (unknown ids too), right password or not.
    assert_eq!(stranger.login(106, "ccgw-demo").await.retcode(), "110-016");
    assert_eq!(stranger.login(59000, "guess").await.retcode(), "110-016");
    // Other sources are not affected.
    Peer::new(&gw, 6).sign_in(106).await;
    gw.stop().await;
}

#[tokio::test]
async fn guesses_from_many_sources_lock_an_agent_except_from_its_usual_source() {
    let gw = start_with(|c| c.auth.max_failed_logins_per_agent = 6).await;
    let home = Peer::new(&gw, 7);
    let guid = home.sign_in(101).await;
    let r = home.request(Method::DELETE, "/onlineagent/101/logout", Some(&guid), None).await;
    assert_eq!(r.retcode(), "0");
    let mut answers = Vec::new();
    for last in [8, 9] {
        answers.extend(Peer::new(&gw, last).codes(101, "guess", 3).await);
    }
    assert_eq!(answers, codes(&["100-004", "100-004", "100-004", "100-004", "100-004", "110-021"]));
    // A new source is refused even with the right password ...
    assert_eq!(Peer::new(&gw, 10).login(101, "ccgw-demo").await.retcode(), "110-016");
    // ... but the agent's usual source is not.
    home.sign_in(101).await;
    gw.stop().await;
}

// ----- issue 7 §3: agent ids cannot be enumerated -----------------------------------------

#[tokio::test]
async fn unknown_ids_answer_and_lock_like_provisioned_ones() {
    let gw = start_with(|_| {}).await;
    let counts = &gw.running().gateway.credentials.counts;
    let client = Peer::new(&gw, 11);
    let provisioned = client.codes(101, "guess", 6).await;
    let agent_checks = counts.agent.load(Ordering::Relaxed);
    let unknown = client.codes(59000, "guess", 6).await;
    assert_eq!(provisioned, codes(&LOCKED_AFTER_FIVE));
    assert_eq!(unknown, provisioned);
    // The unknown id's five tries each ran a real argon2 verification (against the dummy hash,
    // of the provisioned cost); the refused sixth, like 101's, ran none.
    assert_eq!(counts.dummy.load(Ordering::Relaxed), 5);
    assert_eq!(agent_checks, 5);
    assert_eq!(counts.agent.load(Ordering::Relaxed), 5);
    // And the metric says so.
    let metrics = gw.client.get(format!("{}/metrics", gw.admin)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.lines().any(|l| l.starts_with("ccgw_password_checks_total{kind=\"dummy\"}")), "{metrics}");
    gw.stop().await;
}

#[tokio::test]
async fn already_signed_in_is_told_only_to_the_right_password() {
    let gw = start_with(|_| {}).await;
    Peer::new(&gw, 1).sign_in(101).await;
    let stranger = Peer::new(&gw, 12);
    // Without the password nothing tells a signed-in agent from a signed-out or unknown one.
    assert_eq!(stranger.login(101, "guess").await.retcode(), "100-004");
    assert_eq!(stranger.login(102, "guess").await.retcode(), "100-004");
    assert_eq!(stranger.login(59000, "guess").await.retcode(), "100-004");
    // With it, the vendor's flow works: login → 100-002 → forcelogin.
    assert_eq!(stranger.login(101, "ccgw-demo").await.retcode(), "100-002");
    assert_eq!(stranger.force_login(101, "ccgw-demo").await.retcode(), "0");
    gw.stop().await;

    let gw = start_with(|c| c.auth.allow_force_login = false).await;
    Peer::new(&gw, 1).sign_in(101).await;
    let stranger = Peer::new(&gw, 12);
    assert_eq!(stranger.force_login(101, "guess").await.retcode(), "100-004");
    assert_eq!(stranger.force_login(101, "ccgw-demo").await.retcode(), "100-015");
    gw.stop().await;
}

// ----- issue 8 §1.3: empty passwords ------------------------------------------------------

/// Agents 101 (password "secret"), 102 (password "secret", may also use ""), 103 (no password).
fn three_agents(c: &mut Config) {
    let hash = ccgw_server::gateway::hash_password_with("secret", 64, 1).unwrap();
    let (vdns, skills, mut agents) = Config::demo_provisioning(hash);
    agents.truncate(3);
    agents[1].password_optional = true;
    agents[2].password_optional = true;
    agents[2].password_hash = Default::default();
    c.vdns = vdns;
    c.skills = skills.into_iter().filter(|s| s.vdn == 1).collect();
    c.agents = agents;
}

#[tokio::test]
async fn empty_passwords() {
    let gw = start_with(three_agents).await;
    let client = Peer::new(&gw, 13);
    // An agent with a password: an empty one is a wrong password (and counted as one).
    assert_eq!(client.codes(101, "", 5).await, codes(&["100-004", "100-004", "100-004", "100-004", "110-021"]));
    // password_optional: the empty password signs in, and so does the real one.
    assert_eq!(client.login(102, "").await.retcode(), "0");
    let other = Peer::new(&gw, 14);
    assert_eq!(other.force_login(102, "secret").await.retcode(), "0");
    assert_eq!(other.force_login(102, "wrong").await.retcode(), "100-004");
    // No password at all: only the empty one.
    assert_eq!(client.login(103, "wrong").await.retcode(), "100-004");
    assert_eq!(client.login(103, "").await.retcode(), "0");
    // Unknown ids: the wrong-password answer.
    assert_eq!(client.login(104, "").await.retcode(), "100-004");
    let counts = &gw.running().gateway.credentials.counts;
    assert_eq!(counts.accepted_empty.load(Ordering::Relaxed), 2);
    gw.stop().await;
}

#[tokio::test]
async fn allow_empty_password_lets_every_agent_in_without_one() {
    let gw = start_with(|c| c.auth.allow_empty_password = true).await;
    let client = Peer::new(&gw, 15);
    assert_eq!(client.login(101, "").await.retcode(), "0");
    assert_eq!(client.login(102, "wrong").await.retcode(), "100-004");
    assert_eq!(client.login(102, "ccgw-demo").await.retcode(), "0");
    gw.stop().await;

    // Off by default: the demo's agents need their password.
    let gw = start_with(|_| {}).await;
    assert_eq!(Peer::new(&gw, 15).login(101, "").await.retcode(), "100-004");
    gw.stop().await;
}

// ----- issue 8 §1.9: clients that never send a Guid ----------------------------------------

#[tokio::test]
async fn requests_without_guid_from_a_trusted_network() {
    let gw = start_with(|c| c.auth.trusted_without_guid = vec!["127.0.0.16/30".parse().unwrap()]).await;
    let (trusted, outside) = (Peer::new(&gw, 17), Peer::new(&gw, 20));
    // Not signed in: 100-006 as always.
    assert_eq!(trusted.status(101, None).await.retcode(), "100-006");
    trusted.sign_in(101).await;
    let r = trusted.status(101, None).await;
    assert_eq!(r.body, json!({"message":"","retcode":"0","result":{"agentState":4,"isWorking":false}}));
    // The long poll and operations too.
    let r = trusted.request(Method::GET, "/agentevent/101", None, None).await;
    assert_eq!(r.body["event"]["eventType"], "AgentOther_InService", "{}", r.body);
    let r = trusted.request(Method::POST, "/onlineagent/101/saybusy", None, None).await;
    assert_eq!(r.retcode(), "0");
    // A wrong Guid is still wrong there, and outside the network a Guid is still required.
    assert_eq!(trusted.status(101, Some("nope.AgentGateway0")).await.retcode(), "100-006");
    assert_eq!(outside.status(101, None).await.retcode(), "100-006");
    gw.stop().await;

    // Off by default.
    let gw = start_with(|_| {}).await;
    let client = Peer::new(&gw, 1);
    client.sign_in(101).await;
    assert_eq!(client.status(101, None).await.retcode(), "100-006");
    gw.stop().await;
}
