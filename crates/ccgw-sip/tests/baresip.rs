//! A real SIP phone, baresip, registers with digest auth and is rung; it answers by itself
//! (`answermode=auto`), and the customer gets its SDP.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use ccgw_sip::{EndReason, SipEvent};
use common::*;

/// Whether baresip can be used. Without it the test skips (says so), unless `REQUIRE_SIP=1`.
fn have_baresip(test: &str) -> bool {
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
/// one account registering `number` at `registrar`.
fn baresip_config(dir: &Path, port: u16, registrar: SocketAddr, number: &str) {
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
        "<sip:{number}@{registrar};transport=udp>;auth_pass={PASSWORD};answermode=auto;regint=600;audio_codecs=PCMU\n"
    );
    std::fs::write(dir.join("accounts"), account).expect("write accounts");
    std::fs::write(dir.join("contacts"), "").expect("write contacts");
}

#[tokio::test]
async fn baresip_phone_registers_and_answers_a_bridged_call() {
    if !have_baresip("baresip_phone_registers_and_answers_a_bridged_call") {
        return;
    }
    let (side, mut events) = start().await;
    let s = side.udp_addr();
    let dir = std::env::temp_dir().join(format!("ccgw-sip-baresip-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("config dir");
    // baresip binds its port for UDP and TCP; another process may take it between our check and
    // its bind (the suite runs many SIP peers at once): then it says so and exits, and we retry.
    let mut attempt = 0;
    let mut baresip = loop {
        attempt += 1;
        baresip_config(&dir, free_port(), s, "7101");
        let log = std::fs::File::create(dir.join("baresip.log")).expect("log file");
        let log2 = log.try_clone().expect("log file");
        let mut child = tokio::process::Command::new("baresip")
            .arg("-f")
            .arg(&dir)
            .args(["-t", "30", "-s"])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .kill_on_drop(true)
            .spawn()
            .expect("baresip runs");
        tokio::time::sleep(Duration::from_millis(500)).await;
        let failed = std::fs::read_to_string(dir.join("baresip.log")).unwrap_or_default().contains("init failed");
        if !failed {
            break child;
        }
        let _ = child.kill().await;
        assert!(attempt < 5, "baresip could not bind a port in 5 attempts");
    };
    next_event(&mut events, |e| matches!(e, SipEvent::Registered { number } if number == "7101")).await;
    assert!(side.is_registered("7101"));

    let customer = Peer::bind().await;
    customer.send(s, &invite(&customer, s, "8000", "baresip-1", CUSTOMER_SDP)).await;
    let customer_leg = inbound(&mut events).await;
    let agent_leg = side.ring("7101", Some(customer_leg), true).await.expect("ring");
    let answered = next_event(
        &mut events,
        |e| matches!(e, SipEvent::Answered { leg } | SipEvent::Failed { leg, .. } if *leg == agent_leg),
    )
    .await;
    assert_eq!(
        answered,
        SipEvent::Answered { leg: agent_leg },
        "baresip's log:\n{}",
        std::fs::read_to_string(dir.join("baresip.log")).unwrap_or_default()
    );
    let (ok, _) = customer.recv_skipping(&["SIP/2.0 100 Trying", "SIP/2.0 180 Ringing"]).await;
    assert_eq!(ok.start, "SIP/2.0 200 OK");
    assert!(ok.body.starts_with("v=0"), "{}", ok.body);
    assert!(ok.body.contains("m=audio "), "{}", ok.body);
    assert!(ok.body.contains("RTP/AVP 0"), "PCMU answered: {}", ok.body);
    let to = ok.hh("To").to_string();
    customer.send(s, &in_dialog(&customer, s, "ACK", 1, "z9hG4bK-baresip-ack", "baresip-1", &to)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    customer.send(s, &in_dialog(&customer, s, "BYE", 2, "z9hG4bK-baresip-bye", "baresip-1", &to)).await;
    let mut ended = Vec::new();
    for _ in 0..2 {
        if let SipEvent::LegEnded { leg, reason } =
            next_event(&mut events, |e| matches!(e, SipEvent::LegEnded { .. })).await
        {
            ended.push((leg, reason));
        }
    }
    ended.sort_by_key(|(l, _)| *l);
    assert_eq!(ended, vec![(customer_leg, EndReason::RemoteBye), (agent_leg, EndReason::PeerEnded)]);
    assert_clean(&side).await;
    let _ = baresip.start_kill();
    let _ = baresip.wait().await;
    let _ = std::fs::remove_dir_all(&dir);
    side.shutdown();
}
