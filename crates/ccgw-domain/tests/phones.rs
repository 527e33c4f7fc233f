//! The agents' phones as telephony parties (`Policy::phone_legs`, real telephony): what the
//! engine asks of the phone, and what the phone's own answer, failure and hang-up do.

mod common;

use ccgw_domain::{EventKind as K, Policy, TelephonyCommand as T};
use common::*;

fn harness() -> Harness {
    Harness::with_policy(Policy { ring_timeout_ms: 10_000, phone_legs: true, ..Policy::default() })
}

#[test]
fn an_offer_rings_the_agents_phone_and_the_phones_answer_is_the_agents() {
    let mut h = harness();
    h.sign_in(101);
    let (c, out) = h.customer("13900000001");
    assert_eq!(
        out.telephony,
        vec![
            T::Attach { call: c, number: "13900000001".into() },
            T::RingAgent { call: c, agent: a(101), phone: phone(101), auto_answer: false },
        ]
    );
    let out = h.ok(|st, ctx| st.apply(ccgw_domain::cmd::PhoneAnswered { agent: a(101), call: c }.into(), ctx)).1;
    assert!(out.of(101).iter().any(|k| matches!(k, K::Talking { .. })), "{:?}", out.of(101));
    assert!(out.telephony.is_empty(), "the phone answered by itself: {:?}", out.telephony);
    // A second report of the same answer changes nothing.
    let out = h.ok(|st, ctx| st.apply(ccgw_domain::cmd::PhoneAnswered { agent: a(101), call: c }.into(), ctx)).1;
    assert!(out.events.is_empty() && out.telephony.is_empty());

    // Hold and take back: the phone is told.
    let out = h.ok(|st, ctx| st.hold(ctx, a(101))).1;
    assert_eq!(out.telephony, vec![T::HoldAgent { call: c, agent: a(101), held: true }]);
    let out = h.ok(|st, ctx| st.unhold(ctx, a(101), None)).1;
    assert_eq!(out.telephony, vec![T::HoldAgent { call: c, agent: a(101), held: false }]);

    // The desktop releases: the agent's phone and the customer are hung up.
    let out = h.ok(|st, ctx| st.release(ctx, a(101))).1;
    assert!(out.telephony.contains(&T::ReleaseAgent { call: c, agent: a(101) }), "{:?}", out.telephony);
    assert!(out.telephony.contains(&T::Hangup { call: c, number: "13900000001".into() }), "{:?}", out.telephony);
}

#[test]
fn the_desktops_answer_asks_the_phone_to_pick_up() {
    let mut h = harness();
    h.sign_in(101);
    let (c, _) = h.customer("13900000001");
    let out = h.ok(|st, ctx| st.answer(ctx, a(101), None)).1;
    assert_eq!(out.telephony, vec![T::AnswerAgent { call: c, agent: a(101) }]);
    // The phone's 200 that follows is stale: nothing more happens.
    let out = h.ok(|st, ctx| st.apply(ccgw_domain::cmd::PhoneAnswered { agent: a(101), call: c }.into(), ctx)).1;
    assert!(out.events.is_empty() && out.telephony.is_empty());
}

#[test]
fn auto_answer_agents_phones_are_rung_with_auto_answer() {
    let mut h = harness();
    h.sign_in_with(101, options(true, true, ccgw_domain::InitialState::Idle));
    let (c, out) = h.customer("13900000001");
    assert!(out.telephony.contains(&T::RingAgent { call: c, agent: a(101), phone: phone(101), auto_answer: true }));
}

#[test]
fn a_failing_phone_is_a_ring_time_out_and_the_next_agent_is_rung() {
    let mut h = harness();
    h.sign_in(101);
    h.advance(1000);
    h.sign_in(102);
    let (c, _) = h.customer("13900000001");
    assert_eq!(h.calls_of(101), vec![c]);
    let out = h.ok(|st, ctx| st.apply(ccgw_domain::cmd::PhoneFailed { agent: a(101), call: c }.into(), ctx)).1;
    assert!(out.of(101).contains(&K::NoAnswer(c)), "{:?}", out.of(101));
    assert_eq!(
        out.telephony,
        vec![
            T::ReleaseAgent { call: c, agent: a(101) },
            T::RingAgent { call: c, agent: a(102), phone: phone(102), auto_answer: false },
        ]
    );
    assert!(h.calls_of(101).is_empty());
    assert_eq!(h.calls_of(102), vec![c]);
}

#[test]
fn the_ring_time_out_releases_the_phone_and_rings_the_next_agent() {
    let mut h = harness();
    h.sign_in(101);
    h.advance(1000);
    h.sign_in(102);
    let (c, _) = h.customer("13900000001");
    h.advance(10_001);
    let out = h.ok(|st, ctx| st.apply(ccgw_domain::cmd::Tick { expire: vec![] }.into(), ctx)).1;
    assert_eq!(
        out.telephony,
        vec![
            T::ReleaseAgent { call: c, agent: a(101) },
            T::RingAgent { call: c, agent: a(102), phone: phone(102), auto_answer: false },
        ]
    );
}

#[test]
fn the_agent_hanging_up_its_phone_leaves_the_call() {
    let mut h = harness();
    h.sign_in(101);
    let (c, _) = h.customer("13900000001");
    h.ok(|st, ctx| st.apply(ccgw_domain::cmd::PhoneAnswered { agent: a(101), call: c }.into(), ctx));
    let out = h.ok(|st, ctx| st.apply(ccgw_domain::cmd::PhoneHungUp { agent: a(101), call: c }.into(), ctx)).1;
    assert!(out.of(101).contains(&K::CallRelease(c)), "{:?}", out.of(101));
    assert!(out.telephony.contains(&T::Hangup { call: c, number: "13900000001".into() }));
    assert!(h.calls_of(101).is_empty());
    // Stale: changes nothing.
    let out = h.ok(|st, ctx| st.apply(ccgw_domain::cmd::PhoneHungUp { agent: a(101), call: c }.into(), ctx)).1;
    assert!(out.events.is_empty() && out.telephony.is_empty());
}

#[test]
fn the_customer_hanging_up_releases_the_agents_phone() {
    let mut h = harness();
    h.sign_in(101);
    let (c, _) = h.customer("13900000001");
    h.ok(|st, ctx| st.apply(ccgw_domain::cmd::PhoneAnswered { agent: a(101), call: c }.into(), ctx));
    let out = h
        .ok(|st, ctx| {
            st.remote_hung_up(ctx, c, "13900000001");
            Ok(())
        })
        .1;
    assert!(out.of(101).contains(&K::CallRelease(c)), "{:?}", out.of(101));
    assert_eq!(out.telephony, vec![T::ReleaseAgent { call: c, agent: a(101) }]);
}

/// A customer talking to 101 (answered on the phone), with 102 idle: the start of the consult
/// and transfer tests.
fn talking_with_customer(h: &mut Harness) -> ccgw_domain::CallId {
    h.sign_in(101);
    h.advance(1000);
    h.sign_in(102);
    let (c, _) = h.customer("13900000001");
    h.ok(|st, ctx| st.apply(ccgw_domain::cmd::PhoneAnswered { agent: a(101), call: c }.into(), ctx));
    c
}

#[test]
fn a_consultation_holds_the_customer_keeps_the_agents_phone_and_rings_the_helper() {
    use ccgw_domain::{HelpMode, HelpTarget};
    let mut h = harness();
    let c = talking_with_customer(&mut h);
    let (y, out) =
        h.ok(|st, ctx| st.inner_help(ctx, a(101), HelpTarget::Agent(a(102)), HelpMode::TwoParty, String::new()));
    assert_eq!(
        out.telephony,
        vec![
            T::HoldAgent { call: c, agent: a(101), held: true },
            T::ConnectAgent { call: y, agent: a(101), phone: phone(101) },
            T::RingAgent { call: y, agent: a(102), phone: phone(102), auto_answer: false },
        ]
    );
    // The helper hangs up: the consultation ends, 101's phone stays (the customer is held).
    h.ok(|st, ctx| st.apply(ccgw_domain::cmd::PhoneAnswered { agent: a(102), call: y }.into(), ctx));
    let out = h.ok(|st, ctx| st.apply(ccgw_domain::cmd::PhoneHungUp { agent: a(102), call: y }.into(), ctx)).1;
    assert_eq!(
        out.telephony,
        vec![T::ReleaseAgent { call: y, agent: a(102) }, T::ReleaseAgent { call: y, agent: a(101) }]
    );
    // Taking the customer back is an unhold of the phone.
    let out = h.ok(|st, ctx| st.unhold(ctx, a(101), None)).1;
    assert_eq!(out.telephony, vec![T::HoldAgent { call: c, agent: a(101), held: false }]);
}

#[test]
fn a_success_transfer_holds_the_phone_rings_the_target_and_releases_the_agent_when_it_answers() {
    use ccgw_domain::{TransferMode, TransferTarget};
    let mut h = harness();
    let c = talking_with_customer(&mut h);
    let out = h.ok(|st, ctx| st.transfer(ctx, a(101), TransferTarget::Agent(a(102)), TransferMode::Success)).1;
    assert_eq!(
        out.telephony,
        vec![
            T::HoldAgent { call: c, agent: a(101), held: true },
            T::RingAgent { call: c, agent: a(102), phone: phone(102), auto_answer: false },
        ]
    );
    let out = h.ok(|st, ctx| st.apply(ccgw_domain::cmd::PhoneAnswered { agent: a(102), call: c }.into(), ctx)).1;
    assert_eq!(out.telephony, vec![T::ReleaseAgent { call: c, agent: a(101) }]);
    assert_eq!(h.calls_of(102), vec![c]);
    assert!(h.calls_of(101).is_empty());
}

#[test]
fn cancelling_a_transfer_releases_the_target_and_takes_the_phone_off_hold() {
    use ccgw_domain::{TransferMode, TransferTarget};
    let mut h = harness();
    let c = talking_with_customer(&mut h);
    h.ok(|st, ctx| st.transfer(ctx, a(101), TransferTarget::Agent(a(102)), TransferMode::Success));
    let out = h.ok(|st, ctx| st.cancel_transfer(ctx, a(101))).1;
    assert_eq!(
        out.telephony,
        vec![T::ReleaseAgent { call: c, agent: a(102) }, T::HoldAgent { call: c, agent: a(101), held: false }]
    );
}

#[test]
fn a_blind_transfer_releases_the_agent_at_once() {
    use ccgw_domain::{TransferMode, TransferTarget};
    let mut h = harness();
    let c = talking_with_customer(&mut h);
    let out = h.ok(|st, ctx| st.transfer(ctx, a(101), TransferTarget::Agent(a(102)), TransferMode::Blind)).1;
    assert_eq!(
        out.telephony,
        vec![
            T::RingAgent { call: c, agent: a(102), phone: phone(102), auto_answer: false },
            T::ReleaseAgent { call: c, agent: a(101) },
        ]
    );
}

#[test]
fn callouts_and_internal_calls_connect_the_callers_phone_first() {
    let mut h = harness();
    h.sign_in(101);
    h.advance(1000);
    h.sign_in(102);
    let (y, out) = h.ok(|st, ctx| st.call_inner(ctx, a(101), a(102), String::new()));
    assert_eq!(
        out.telephony,
        vec![
            T::ConnectAgent { call: y, agent: a(101), phone: phone(101) },
            T::RingAgent { call: y, agent: a(102), phone: phone(102), auto_answer: false },
        ]
    );
    h.ok(|st, ctx| st.release(ctx, a(101)));
    let (o, out) = h.ok(|st, ctx| st.call_out(ctx, a(101), "13900000009", None, String::new()));
    assert_eq!(
        out.telephony,
        vec![
            T::ConnectAgent { call: o, agent: a(101), phone: phone(101) },
            T::Dial { call: o, number: "13900000009".into() },
        ]
    );
}
