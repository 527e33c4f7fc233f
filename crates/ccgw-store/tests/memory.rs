//! `MemoryStore`: commits and mailboxes, the long poll, shut-down, and call ids.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ccgw_domain::{
    AgentId, AgentProfile, CallId, Directory, DomainError, EventKind, InitialState, Policy, SignInOptions, Skill,
    SkillId, VdnId, cmd,
};
use ccgw_store::{MemoryStore, Requeued, Store};
use proptest::prelude::*;

const VDN: VdnId = VdnId(1);
const SKILL: SkillId = SkillId(1);

fn directory() -> Directory {
    let mut d = Directory::default();
    d.vdns.insert(VdnId(1), "one".into());
    d.vdns.insert(VdnId(2), "two".into());
    d.skills.insert(SKILL, Skill { id: SKILL, vdn: VDN, name: "voice".into(), media_type: 5 });
    for (id, vdn) in [(101, 1), (102, 1), (103, 1), (201, 2)] {
        let skills = if vdn == 1 { vec![SKILL] } else { vec![] };
        d.agents.insert(
            AgentId(id),
            Arc::new(AgentProfile {
                id: AgentId(id),
                vdn: VdnId(vdn),
                name: format!("a{id}"),
                skills,
                phone: format!("8{id}"),
                rights: Default::default(),
                attributes: Vec::new(),
                group: None,
                supervises: None,
            }),
        );
    }
    d
}

fn store() -> Arc<MemoryStore> {
    Arc::new(MemoryStore::new(&directory(), Policy::default(), 1000))
}

fn opts() -> SignInOptions {
    SignInOptions {
        phone: String::new(),
        auto_answer: false,
        auto_enter_idle: true,
        release_phone: true,
        initial: InitialState::Idle,
    }
}

fn sign_in(s: &MemoryStore, agent: u32, now: u64, force: bool) {
    let sign_in = cmd::SignIn { agent: AgentId(agent), options: opts(), guid: format!("g{now}"), force };
    ready_now(s.submit(VDN, now, sign_in)).unwrap();
}

/// One event for `agent`: a busy/free toggle (SetNotReadySuccess or CancelNotReadySuccess+Ready).
fn toggle(s: &MemoryStore, agent: u32, now: u64, reason: u16) {
    ready_now(s.submit(VDN, now, cmd::SayBusy { agent: AgentId(agent), reason, prolong: true })).unwrap();
}

async fn drain(s: &MemoryStore, agent: u32) -> Vec<EventKind> {
    let mut v = Vec::new();
    while let Some(e) = s.next_event(AgentId(agent), None, Duration::ZERO).await {
        v.push(e.event.kind);
    }
    v
}

#[tokio::test]
async fn update_commits_and_delivers_in_order() {
    let s = store();
    sign_in(&s, 101, 1_000, false);
    sign_in(&s, 102, 1_000, false);
    let customer = cmd::CustomerCall { caller: "139".into(), called: "5000".into(), skill: SKILL, data: String::new() };
    let c = ready_now(s.submit(VDN, 2_000, customer)).unwrap();
    assert_eq!(c.telephony.len(), 1);
    let call = c.value;
    assert_eq!(s.read(VDN, |st| st.call_ids_of(AgentId(101))).unwrap(), vec![call]);
    let ev = drain(&s, 101).await;
    assert_eq!(ev[..2], [EventKind::InService, EventKind::Ready]);
    assert_eq!(ev[2], EventKind::Busy);
    // The agent's phone rings for the call and goes off-hook before the offer.
    assert!(matches!(&ev[3], EventKind::PhoneAlerting(Some(p)) if p.call == call));
    assert!(matches!(&ev[4], EventKind::PhoneOffhook { .. }));
    assert!(matches!(&ev[5], EventKind::Ringing(o) if o.call == call));
    assert_eq!(ev.len(), 6);
    assert_eq!(drain(&s, 102).await, vec![EventKind::InService, EventKind::Ready]);
    // Events carry the commit time.
    ready_now(s.submit(VDN, 3_000, cmd::Answer { agent: AgentId(101), call: None })).unwrap();
    let e = s.next_event(AgentId(101), None, Duration::ZERO).await.unwrap();
    assert_eq!(e.at_ms, 3_000);
    assert_eq!(e.agent, AgentId(101));

    assert_eq!(s.vdns(), vec![VdnId(1), VdnId(2)]);
    assert_eq!(s.vdn_of(AgentId(201)), Some(VdnId(2)));
    assert_eq!(s.vdn_of(AgentId(999)), None);
    assert_eq!(ready_now(s.submit(VdnId(9), 0, cmd::Tick { expire: vec![] })).unwrap_err(), DomainError::UnknownAgent);
    assert!(s.read(VdnId(9), |_| ()).is_err());
    assert!(s.next_event(AgentId(999), None, Duration::from_secs(5)).await.is_none());
}

#[tokio::test]
async fn err_delivers_nothing() {
    let s = store();
    sign_in(&s, 101, 1_000, false);
    drain(&s, 101).await;
    let before = s.read(VDN, |st| st.clone()).unwrap();
    let r = ready_now(s.submit(VDN, 2_000, cmd::CancelBusy { agent: AgentId(101) }));
    assert_eq!(r.unwrap_err(), DomainError::WrongState);
    assert!(s.read(VDN, |st| *st == before).unwrap());
    assert!(s.next_event(AgentId(101), None, Duration::ZERO).await.is_none());
}

#[tokio::test]
async fn next_event_returns_at_once_when_queued() {
    let s = store();
    sign_in(&s, 101, 1_000, false);
    let t = Instant::now();
    assert_eq!(s.next_event(AgentId(101), None, Duration::from_secs(10)).await.unwrap().kind, EventKind::InService);
    assert!(t.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn next_event_times_out_with_none() {
    let s = store();
    let t = Instant::now();
    assert!(s.next_event(AgentId(101), None, Duration::from_millis(100)).await.is_none());
    let e = t.elapsed();
    assert!(e >= Duration::from_millis(100) && e < Duration::from_secs(2), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn next_event_wakes_when_an_event_is_pushed() {
    let s = store();
    sign_in(&s, 101, 1_000, false);
    drain(&s, 101).await;
    let poller = {
        let s = s.clone();
        tokio::spawn(async move { s.next_event(AgentId(101), None, Duration::from_secs(10)).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let t = Instant::now();
    toggle(&s, 101, 2_000, 201);
    let e = poller.await.unwrap().expect("woken with the event");
    assert_eq!(e.kind, EventKind::SetNotReadySuccess { reason: 201 });
    assert!(t.elapsed() < Duration::from_secs(1));
}

/// Push right as the poll starts, many times: a wake-up lost between "look" and "wait" would
/// leave the poll hanging until its 10 s time-out.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_lost_wake_up() {
    let s = store();
    sign_in(&s, 101, 1_000, false);
    drain(&s, 101).await;
    for i in 0..1000u64 {
        let poller = {
            let s = s.clone();
            tokio::spawn(async move { s.next_event(AgentId(101), None, Duration::from_secs(10)).await })
        };
        if i % 2 == 0 {
            tokio::task::yield_now().await;
        }
        toggle(&s, 101, 2_000 + i, 200 + (i % 50) as u16);
        let e = tokio::time::timeout(Duration::from_secs(5), poller).await.expect("lost wake-up").unwrap();
        assert_eq!(e.unwrap().kind, EventKind::SetNotReadySuccess { reason: 200 + (i % 50) as u16 }, "round {i}");
    }
    assert!(s.next_event(AgentId(101), None, Duration::ZERO).await.is_none());
}

/// Two polls of one mailbox at once (a client that gave up on a poll without the server noticing,
/// then polled again): the newer one displaces the older, which returns `None` at once, so the
/// abandoned poll can never take an event. Under a steady stream of events and re-polls, every
/// event is taken exactly once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_newer_poll_displaces_the_waiting_one() {
    let s = Arc::new(MemoryStore::new(&directory(), Policy::default(), 100_000));
    sign_in(&s, 101, 1_000, false);
    drain(&s, 101).await;
    let old = {
        let s = s.clone();
        tokio::spawn(async move { s.next_event(AgentId(101), None, Duration::from_secs(30)).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let newer = {
        let s = s.clone();
        tokio::spawn(async move { s.next_event(AgentId(101), None, Duration::from_secs(30)).await })
    };
    let t = Instant::now();
    assert!(tokio::time::timeout(Duration::from_secs(2), old).await.expect("displaced at once").unwrap().is_none());
    assert!(t.elapsed() < Duration::from_secs(1));
    assert_eq!(s.displaced_polls(), 1);
    toggle(&s, 101, 2_000, 201);
    let got = tokio::time::timeout(Duration::from_secs(2), newer).await.unwrap().unwrap().unwrap();
    assert_eq!(got.kind, EventKind::SetNotReadySuccess { reason: 201 });

    // Many pollers re-polling while events stream in: each event exactly once, in order.
    const N: u16 = 2000;
    let poll = |s: Arc<MemoryStore>| {
        tokio::spawn(async move {
            let mut got = Vec::new();
            let mut empty = 0;
            while empty < 3 {
                match s.next_event(AgentId(101), None, Duration::from_millis(300)).await {
                    Some(d) => got.push(d),
                    None => empty += 1,
                }
            }
            got
        })
    };
    let p1 = poll(s.clone());
    let p2 = poll(s.clone());
    let pusher = {
        let s = s.clone();
        tokio::task::spawn_blocking(move || {
            for i in 0..N {
                toggle(&s, 101, 10_000 + u64::from(i), i);
                if i % 64 == 0 {
                    std::thread::yield_now();
                }
            }
        })
    };
    pusher.await.unwrap();
    let a = p1.await.unwrap();
    let b = p2.await.unwrap();
    let mut all: Vec<&ccgw_store::Delivery> = a.iter().chain(&b).collect();
    all.sort_by_key(|d| d.seq);
    let at: Vec<u64> = all.iter().map(|d| d.at_ms).collect();
    let want: Vec<u64> = (0..u64::from(N)).map(|i| 10_000 + i).collect();
    assert!(at == want, "{} events received in take order, {} pushed", at.len(), want.len());
    assert_eq!(s.dropped_events(), 0);
}

/// An event whose answer could not be written goes back to the head of the mailbox (after a
/// newer one only if that was taken meanwhile); not into a new session.
#[tokio::test]
async fn requeue_puts_an_unwritten_event_back_in_order() {
    let s = store();
    sign_in(&s, 101, 1_000, false);
    drain(&s, 101).await;
    toggle(&s, 101, 2_000, 201);
    toggle(&s, 101, 2_001, 202);
    let first = s.next_event(AgentId(101), None, Duration::ZERO).await.unwrap();
    assert_eq!(ready_now(s.requeue(AgentId(101), first.clone())), Requeued::InOrder);
    let again = s.next_event(AgentId(101), None, Duration::ZERO).await.unwrap();
    assert_eq!(again, first, "the same event, with the same take number");
    assert_eq!(
        s.next_event(AgentId(101), None, Duration::ZERO).await.unwrap().kind,
        EventKind::SetNotReadySuccess { reason: 202 }
    );
    toggle(&s, 101, 2_002, 203);
    toggle(&s, 101, 2_003, 204);
    toggle(&s, 101, 2_004, 205);
    let a = s.next_event(AgentId(101), None, Duration::ZERO).await.unwrap();
    let b = s.next_event(AgentId(101), None, Duration::ZERO).await.unwrap();
    assert_eq!(ready_now(s.requeue(AgentId(101), a.clone())), Requeued::Reordered, "b was taken after a");
    let order: Vec<u64> = [
        s.next_event(AgentId(101), None, Duration::ZERO).await.unwrap(),
        s.next_event(AgentId(101), None, Duration::ZERO).await.unwrap(),
    ]
    .iter()
    .map(|d| d.at_ms)
    .collect();
    assert_eq!(order, [a.at_ms, 2_004], "late rather than lost, and before everything still queued");
    // Not into a new session.
    sign_in(&s, 101, 3_000, true);
    drain(&s, 101).await;
    assert_eq!(ready_now(s.requeue(AgentId(101), b)), Requeued::SessionGone);
    assert!(s.next_event(AgentId(101), None, Duration::ZERO).await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shut_down_wakes_waiting_polls() {
    let s = store();
    let pollers: Vec<_> = [101, 102, 103]
        .into_iter()
        .map(|a| {
            let s = s.clone();
            tokio::spawn(async move { s.next_event(AgentId(a), None, Duration::from_secs(30)).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let t = Instant::now();
    s.shut_down();
    for p in pollers {
        assert!(tokio::time::timeout(Duration::from_secs(2), p).await.expect("not woken").unwrap().is_none());
    }
    assert!(t.elapsed() < Duration::from_secs(1));
    // New polls return at once.
    let t = Instant::now();
    assert!(s.next_event(AgentId(101), None, Duration::from_secs(30)).await.is_none());
    assert!(t.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn a_new_session_empties_the_mailbox() {
    let s = store();
    sign_in(&s, 101, 1_000, false);
    toggle(&s, 101, 1_500, 201);
    // Force sign-in: the old session's events (and its shut-down) are not delivered to the new one.
    sign_in(&s, 101, 2_000, true);
    let ev = drain(&s, 101).await;
    assert_eq!(ev, vec![EventKind::InService, EventKind::Ready]);
}

#[tokio::test]
async fn force_sign_in_keeps_events_of_other_agents() {
    let s = store();
    sign_in(&s, 101, 1_000, false);
    sign_in(&s, 102, 1_000, false);
    ready_now(s.submit(VDN, 1_500, cmd::CallInner { agent: AgentId(101), target: AgentId(102), data: String::new() }))
        .unwrap();
    ready_now(s.submit(VDN, 1_600, cmd::Answer { agent: AgentId(102), call: None })).unwrap();
    drain(&s, 102).await;
    sign_in(&s, 101, 2_000, true);
    let ev = drain(&s, 102).await;
    assert!(matches!(ev[0], EventKind::CallRelease(_)), "{ev:?}");
    assert_eq!(drain(&s, 101).await, vec![EventKind::InService, EventKind::Ready]);
}

#[tokio::test]
async fn full_mailbox_drops_the_oldest() {
    let s = Arc::new(MemoryStore::new(&directory(), Policy::default(), 3));
    sign_in(&s, 101, 1_000, false);
    for i in 0..5 {
        toggle(&s, 101, 2_000 + i, 200 + i as u16);
    }
    let ev = drain(&s, 101).await;
    assert_eq!(ev, (2..5).map(|i| EventKind::SetNotReadySuccess { reason: 200 + i }).collect::<Vec<_>>());
    assert_eq!(s.dropped_events(), 4);
}

#[test]
fn touch_and_last_seen() {
    let s = store();
    assert_eq!(s.last_seen(AgentId(101)), Some(0));
    s.touch(AgentId(101), 500);
    s.touch(AgentId(101), 400);
    assert_eq!(s.last_seen(AgentId(101)), Some(500));
    assert_eq!(s.last_seen(AgentId(999)), None);
}

/// Call ids never repeat, across VDNs and within one, and never go back to or below the second
/// the store started in (so a restart within the same second cannot collide).
#[test]
fn call_ids_never_repeat_nor_go_back() {
    let start = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let mut d = directory();
    let skill2 = SkillId(2);
    d.skills.insert(skill2, Skill { id: skill2, vdn: VdnId(2), name: "two".into(), media_type: 5 });
    let s = MemoryStore::new(&d, Policy::default(), 1000);
    let mut seen = HashSet::new();
    for i in 0..200u64 {
        let (vdn, skill) = if i % 3 == 0 { (VdnId(2), skill2) } else { (VDN, SKILL) };
        // Times before the start and around it, as a clock stepped back would give.
        let now_ms = (start - 5 + i % 10) * 1000;
        let customer = cmd::CustomerCall { caller: "139".into(), called: "5000".into(), skill, data: String::new() };
        let id: CallId = ready_now(s.submit(vdn, now_ms, customer)).unwrap().value;
        assert!(id.secs > start, "{id}");
        assert!(seen.insert(id), "{id} twice");
    }
    // The counters alone are unique too (ids from one second never collide).
    assert_eq!(seen.iter().map(|c| c.seq).collect::<HashSet<_>>().len(), seen.len());
}

#[derive(Clone, Debug)]
enum Step {
    Update { agent: usize, reason: u16 },
    Poll { agent: usize },
    Fail { agent: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0usize..3, 200u16..251).prop_map(|(agent, reason)| Step::Update { agent, reason }),
        3 => (0usize..3).prop_map(|agent| Step::Poll { agent }),
        1 => (0usize..3).prop_map(|agent| Step::Fail { agent }),
    ]
}

proptest! {
    /// Interleaved updates and polls on several agents: every committed event reaches its agent
    /// exactly once, in commit order; a failed update delivers nothing.
    #[test]
    fn every_event_exactly_once_in_order(steps in prop::collection::vec(step(), 1..200)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        rt.block_on(async {
            let s = store();
            let agents = [101u32, 102, 103];
            let mut expected: Vec<Vec<u64>> = vec![Vec::new(); 3];
            let mut got: Vec<Vec<u64>> = vec![Vec::new(); 3];
            for (i, a) in agents.iter().enumerate() {
                sign_in(&s, *a, 0, false);
                drain(&s, *a).await;
                let _ = i;
            }
            let mut now = 1u64;
            for st in steps {
                now += 1;
                match st {
                    Step::Update { agent, reason } => {
                        toggle(&s, agents[agent], now, reason);
                        expected[agent].push(now);
                    }
                    Step::Poll { agent } => {
                        if let Some(e) = s.next_event(AgentId(agents[agent]), None, Duration::ZERO).await {
                            prop_assert_eq!(e.agent, AgentId(agents[agent]));
                            got[agent].push(e.at_ms);
                        }
                    }
                    Step::Fail { agent } => {
                        // Not resting: the command fails, and delivers nothing.
                        let r = ready_now(s.submit(VDN, now, cmd::CancelRest { agent: AgentId(agents[agent]) }));
                        prop_assert!(r.is_err());
                    }
                }
            }
            for (i, a) in agents.iter().enumerate() {
                while let Some(e) = s.next_event(AgentId(*a), None, Duration::ZERO).await {
                    got[i].push(e.at_ms);
                }
                prop_assert_eq!(&got[i], &expected[i]);
            }
            Ok(())
        })?;
    }
}

/// A poll left over from a replaced session gives up instead of taking the new session's events.
#[tokio::test]
async fn a_stale_poll_does_not_take_the_next_sessions_events() {
    let s = store();
    sign_in(&s, 101, 1_000, false);
    let old_epoch = s.mailbox_epoch(AgentId(101));
    while s.next_event(AgentId(101), Some(old_epoch), Duration::ZERO).await.is_some() {}
    let stale = {
        let s = s.clone();
        tokio::spawn(async move { s.next_event(AgentId(101), Some(old_epoch), Duration::from_secs(10)).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    sign_in(&s, 101, 2_000, true);
    assert!(tokio::time::timeout(Duration::from_secs(2), stale).await.expect("woken").unwrap().is_none());
    let new_epoch = s.mailbox_epoch(AgentId(101));
    assert_ne!(new_epoch, old_epoch);
    assert_eq!(s.next_event(AgentId(101), Some(new_epoch), Duration::ZERO).await.unwrap().kind, EventKind::InService);
}

#[derive(Clone, Debug)]
enum PollStep {
    /// An event for the agent.
    Event,
    /// A client polls (a new long poll; it displaces any waiting one).
    Poll,
    /// A waiting poll's client leaves: its future is dropped (the connection noticed the close).
    Cancel(usize),
    /// The runtime runs; polls that finished are answered, and `fail` of their answers cannot be
    /// written (their events are requeued).
    Run { fail: bool },
    /// Time passes: waiting polls time out.
    Wait,
}

fn poll_step() -> impl Strategy<Value = PollStep> {
    prop_oneof![
        4 => Just(PollStep::Event),
        3 => Just(PollStep::Poll),
        1 => (0usize..4).prop_map(PollStep::Cancel),
        3 => any::<bool>().prop_map(|fail| PollStep::Run { fail }),
        1 => Just(PollStep::Wait),
    ]
}

proptest! {
    /// The mailbox under interleaved long polls, cancelled polls, unwritten answers and events:
    /// every event is delivered exactly once (none lost, none duplicated), and in order unless an
    /// unwritten answer had to be requeued behind a newer event already taken.
    #[test]
    fn interleaved_polls_lose_and_duplicate_nothing(steps in prop::collection::vec(poll_step(), 1..120)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
        rt.block_on(async {
            let s = store();
            sign_in(&s, 101, 0, false);
            drain(&s, 101).await;
            let mut pushed: Vec<u64> = Vec::new();
            let mut delivered: Vec<ccgw_store::Delivery> = Vec::new();
            let mut live: Vec<tokio::task::JoinHandle<Option<ccgw_store::Delivery>>> = Vec::new();
            let mut now = 1u64;
            let mut reordered = false;
            for st in steps.into_iter().chain([PollStep::Run { fail: false }]) {
                now += 1;
                match st {
                    PollStep::Event => {
                        toggle(&s, 101, now, 200 + (now % 50) as u16);
                        pushed.push(now);
                    }
                    PollStep::Poll => {
                        let s = s.clone();
                        live.push(tokio::spawn(async move {
                            s.next_event(AgentId(101), None, Duration::from_secs(10)).await
                        }));
                    }
                    PollStep::Cancel(i) => {
                        if !live.is_empty() {
                            let h = live.remove(i % live.len());
                            if h.is_finished() {
                                // Answered before the client left: the answer's write fails.
                                if let Some(d) = h.await.unwrap() {
                                    reordered |= ready_now(s.requeue(AgentId(101), d)) == Requeued::Reordered;
                                }
                            } else {
                                h.abort();
                                prop_assert!(h.await.unwrap_err().is_cancelled());
                            }
                        }
                    }
                    PollStep::Run { fail } => {
                        for _ in 0..4 {
                            tokio::task::yield_now().await;
                        }
                        let (done, waiting): (Vec<_>, Vec<_>) = live.drain(..).partition(|h| h.is_finished());
                        live = waiting;
                        for h in done {
                            if let Some(d) = h.await.unwrap() {
                                if fail {
                                    reordered |= ready_now(s.requeue(AgentId(101), d)) == Requeued::Reordered;
                                } else {
                                    delivered.push(d);
                                }
                            }
                        }
                    }
                    PollStep::Wait => tokio::time::sleep(Duration::from_secs(11)).await,
                }
            }
            for h in live {
                h.abort();
                if let Ok(Some(d)) = h.await {
                    delivered.push(d);
                }
            }
            while let Some(d) = s.next_event(AgentId(101), None, Duration::ZERO).await {
                delivered.push(d);
            }
            delivered.sort_by_key(|d| d.seq);
            let seqs: Vec<u64> = delivered.iter().map(|d| d.seq).collect();
            prop_assert!(seqs.windows(2).all(|w| w[0] < w[1]), "a take was counted twice: {:?}", seqs);
            let got: Vec<u64> = delivered.iter().map(|d| d.at_ms).collect();
            if !reordered {
                prop_assert_eq!(&got, &pushed);
            }
            let mut sorted = got.clone();
            sorted.sort();
            prop_assert_eq!(sorted, pushed, "lost or duplicated (take order {:?})", got);
            Ok(())
        })?;
    }
}

// --- onlineagent: syncagentinfo ---

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clear_events_empties_the_mailbox_and_retires_what_was_taken() {
    let s = store();
    sign_in(&s, 101, 1_000, false);
    drain(&s, 101).await;
    toggle(&s, 101, 2_000, 201);
    toggle(&s, 101, 2_001, 202);
    let epoch = s.mailbox_epoch(AgentId(101));
    let taken = s.next_event(AgentId(101), Some(epoch), Duration::ZERO).await.unwrap();
    let through = s.read_at(VDN, |_, seq| seq).unwrap();
    ready_now(s.clear_events(AgentId(101), through));
    assert_ne!(s.mailbox_epoch(AgentId(101)), epoch);
    // The queued event is gone, and the one taken before is not put back.
    assert!(s.next_event(AgentId(101), None, Duration::ZERO).await.is_none());
    assert_eq!(ready_now(s.requeue(AgentId(101), taken)), Requeued::SessionGone);
    assert!(s.next_event(AgentId(101), None, Duration::ZERO).await.is_none());
    // A poll of the session waiting when the mailbox is cleared gives up at once.
    let epoch = s.mailbox_epoch(AgentId(101));
    let waiting = {
        let s = s.clone();
        tokio::spawn(async move { s.next_event(AgentId(101), Some(epoch), Duration::from_secs(5)).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = std::time::Instant::now();
    let through = s.read_at(VDN, |_, seq| seq).unwrap();
    ready_now(s.clear_events(AgentId(101), through));
    assert_eq!(waiting.await.unwrap(), None);
    assert!(started.elapsed() < Duration::from_secs(2));
    // The session goes on: later events arrive for the new epoch.
    toggle(&s, 101, 3_000, 203);
    let epoch = s.mailbox_epoch(AgentId(101));
    let next = s.next_event(AgentId(101), Some(epoch), Duration::ZERO).await.unwrap();
    assert_eq!(next.at_ms, 3_000);
}

/// A clearing covers what was read, not what came after: an event emitted between the read and
/// the clearing is still delivered (in the new epoch).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clear_events_keeps_events_emitted_after_the_read() {
    let s = store();
    sign_in(&s, 101, 1_000, false);
    drain(&s, 101).await;
    toggle(&s, 101, 2_000, 201);
    let through = s.read_at(VDN, |_, seq| seq).unwrap();
    toggle(&s, 101, 2_500, 202);
    ready_now(s.clear_events(AgentId(101), through));
    let epoch = s.mailbox_epoch(AgentId(101));
    let next = s.next_event(AgentId(101), Some(epoch), Duration::ZERO).await.unwrap();
    assert_eq!(next.at_ms, 2_500);
    assert!(s.next_event(AgentId(101), Some(epoch), Duration::ZERO).await.is_none());
}

// --- push mode and allagentevent ---

#[tokio::test]
async fn trim_events_drops_the_oldest() {
    let s = store();
    sign_in(&s, 101, 1, false);
    drain(&s, 101).await;
    for (i, reason) in [201, 202, 203, 204].into_iter().enumerate() {
        toggle(&s, 101, 10 + i as u64, reason);
    }
    let epoch = s.mailbox_epoch(AgentId(101));
    assert_eq!(ready_now(s.trim_events(AgentId(101), epoch + 1, 0)), 0, "another session's mailbox is left alone");
    assert_eq!(ready_now(s.trim_events(AgentId(101), epoch, 2)), 2);
    assert_eq!(ready_now(s.trim_events(AgentId(101), epoch, 2)), 0);
    let left = drain(&s, 101).await;
    assert_eq!(
        left,
        vec![EventKind::SetNotReadySuccess { reason: 203 }, EventKind::SetNotReadySuccess { reason: 204 }]
    );
    assert_eq!(ready_now(s.trim_events(AgentId(999), 0, 0)), 0);
}

#[tokio::test]
async fn the_vdn_feed_is_off_until_asked_then_bounded_and_in_order() {
    let off = store();
    assert_eq!(off.vdn_events(VDN, None, 10), None, "capacity 0: off");
    let s = Arc::new(MemoryStore::new(&directory(), Policy::default(), 1000).with_feed_capacity(3));
    sign_in(&s, 101, 1, false);
    // Not recorded: nobody had asked yet.
    let first = s.vdn_events(VDN, None, 10).unwrap();
    assert_eq!(first, ccgw_store::FeedPage { events: vec![], next: 0, skipped: 0 });
    toggle(&s, 101, 2, 201);
    sign_in(&s, 102, 3, false);
    let page = s.vdn_events(VDN, Some(first.next), 10).unwrap();
    let seen: Vec<(u32, EventKind)> = page.events.iter().map(|e| (e.agent.0, e.kind.clone())).collect();
    assert_eq!(seen[0], (101, EventKind::SetNotReadySuccess { reason: 201 }));
    assert!(seen[1..].iter().all(|(a, _)| *a == 102), "{seen:?}");
    assert_eq!(page.skipped, 0);
    assert_eq!((seen.len(), page.next), (3, 3), "{seen:?}");
    // The ring keeps 3: one more event pushes position 0 out; a consumer still at 0 is told
    // it missed one, and `max` bounds a page.
    toggle(&s, 101, 4, 202);
    let late = s.vdn_events(VDN, Some(0), 2).unwrap();
    assert_eq!((late.skipped, late.events.len(), late.next), (1, 2, 3));
    let rest = s.vdn_events(VDN, Some(late.next), 10).unwrap();
    assert_eq!(
        rest.events.iter().map(|e| e.kind.clone()).collect::<Vec<_>>(),
        vec![EventKind::SetNotReadySuccess { reason: 202 }]
    );
    assert_eq!((rest.next, rest.skipped), (4, 0));
    // A position beyond the end (a consumer of an earlier process) starts at the end.
    assert_eq!(s.vdn_events(VDN, Some(99), 10).unwrap().next, 4);
    // Another VDN's feed is its own.
    assert_eq!(s.vdn_events(VdnId(2), None, 10).unwrap().events, vec![]);
    assert_eq!(s.vdn_events(VdnId(9), None, 10), None);
}

/// The store's writes are futures; the memory store's are ready at the first poll.
fn ready_now<T>(future: impl std::future::Future<Output = T>) -> T {
    ccgw_store::poll_now(future).expect("a memory store write is ready at once")
}
