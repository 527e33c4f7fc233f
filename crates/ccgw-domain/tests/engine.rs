//! Scenario tests on `VdnState`: exact event sequences and state codes.

mod common;

use ccgw_domain::call::PartyState;
use ccgw_domain::{
    AgentId, CallFeature, DomainError as E, Endpoint, EventKind as K, HelpMode, HelpTarget, HungUpBy, InitialState,
    Leg, Offer, PhoneCall, Policy, SignInOptions, TelephonyCommand as T, TransferMode, TransferTarget,
};
use common::*;

const IDLE: u8 = 4;
const BUSY: u8 = 3;
const WORK: u8 = 5;
const TALKING: u8 = 7;
const REST: u8 = 8;
const PRE_REST: u8 = 9;
const SIGNED_OUT: u8 = 2;

fn talking(call: ccgw_domain::CallId, caller: &str, called: &str, leg: Leg, feature: CallFeature) -> K {
    K::Talking { call, caller: caller.into(), called: called.into(), leg, feature }
}

fn inbound_offer(call: ccgw_domain::CallId, caller: &str) -> Offer {
    Offer {
        call,
        caller: caller.into(),
        called: "5000".into(),
        feature: CallFeature::Inbound,
        leg: Leg::Main,
        transferred_from: None,
        media_type: 5,
    }
}

/// The agent's phone rings for an offered call.
fn phone_rings(call: ccgw_domain::CallId, caller: &str, called: &str) -> K {
    K::PhoneAlerting(Some(PhoneCall { call, caller: caller.into(), called: called.into() }))
}

/// The agent's phone rings so that it can place a call.
fn phone_rings_to_dial() -> K {
    K::PhoneAlerting(None)
}

fn off_hook(leg: Leg) -> K {
    K::PhoneOffhook { leg }
}

/// The phone back on the hook: by the agent's own request.
const HUNG_UP_BY_AGENT: K = K::PhoneRelease { by: HungUpBy::Agent };
/// The phone back on the hook: by the platform.
const HUNG_UP_BY_PLATFORM: K = K::PhoneRelease { by: HungUpBy::Platform };

/// An inbound call offered to an idle agent: busy, its phone rings and goes off-hook, Ringing.
fn offered(call: ccgw_domain::CallId, caller: &str) -> Vec<K> {
    vec![K::Busy, phone_rings(call, caller, "5000"), off_hook(Leg::Main), K::Ringing(inbound_offer(call, caller))]
}

/// Agent `n` answers the call ringing at it.
fn answer(h: &mut Harness, n: u32) -> common::Out {
    h.ok(|st, ctx| st.answer(ctx, a(n), None)).1
}

// ----- sign-in ------------------------------------------------------------------------------

#[test]
fn sign_in_initial_states() {
    let mut h = Harness::new();
    let out = h.sign_in_with(101, options(false, true, InitialState::Idle));
    assert_eq!(out.of(101), vec![K::InService, K::Ready]);
    assert_eq!(out.new_sessions, vec![(a(101), 0)]);
    assert_eq!(h.code(101), IDLE);

    let out = h.sign_in_with(102, options(false, true, InitialState::Busy));
    assert_eq!(out.of(102), vec![K::InService, K::Ready, K::SetNotReadySuccess { reason: 0 }]);
    assert_eq!(h.code(102), BUSY);

    let out = h.sign_in_with(103, options(false, true, InitialState::Work));
    assert_eq!(out.of(103), vec![K::InService, K::Ready, K::Work]);
    assert_eq!(h.code(103), WORK);
    assert_eq!(h.code(104), SIGNED_OUT);
}

#[test]
fn sign_in_errors() {
    let mut h = Harness::new();
    let opts = || options(false, true, InitialState::Idle);
    h.sign_in(101);
    h.err(E::AlreadySignedIn, |st, ctx| st.sign_in(ctx, a(101), opts(), "g2".into(), false));
    h.err(E::UnknownAgent, |st, ctx| st.sign_in(ctx, a(201), opts(), "g".into(), false));
    h.err(E::UnknownAgent, |st, ctx| st.sign_in(ctx, a(999), opts(), "g".into(), true));

    // Force sign-in refused by policy (and nothing of the old session is touched).
    let mut h = Harness::with_policy(Policy { allow_force_login: false, ..Policy::default() });
    h.sign_in(101);
    h.err(E::ForceLoginNotAllowed, |st, ctx| st.sign_in(ctx, a(101), opts(), "g2".into(), true));
    // Force sign-in of an agent that is not signed in is a plain sign-in, even then.
    h.ok(|st, ctx| st.sign_in(ctx, a(102), opts(), "g3".into(), true));
}

#[test]
fn force_sign_in_of_talking_agent_releases_its_calls() {
    let mut h = Harness::new();
    h.sign_in(101);
    let (c, _) = h.customer("13900000001");
    answer(&mut h, 101);
    let out = h.ok(|st, ctx| st.sign_in(ctx, a(101), options(false, true, InitialState::Idle), "new".into(), true)).1;
    assert!(h.st.calls.is_empty());
    assert!(out.telephony.contains(&T::Hangup { call: c, number: "13900000001".into() }));
    // The new session starts with InService, and the store is told where it starts.
    let (agent, from) = out.new_sessions[0];
    assert_eq!(agent, a(101));
    let fresh: Vec<K> = out.events[from..].iter().filter(|e| e.agent == a(101)).map(|e| e.kind.clone()).collect();
    assert_eq!(fresh, vec![K::InService, K::Ready]);
    let old = out.of(101);
    assert_eq!(old[0], K::CallRelease(c));
    assert!(old.contains(&K::ShutdownService { login_time_ms: 1_700_000_000_000 }));
    assert!(h.calls_of(101).is_empty());
    assert_eq!(h.code(101), IDLE);
}

#[test]
fn forced_sign_out_does_not_offer_a_queued_call_to_the_leaving_agent() {
    let mut h = Harness::new();
    h.sign_in(101);
    let (c1, _) = h.customer("13900000001");
    answer(&mut h, 101);
    let (c2, _) = h.customer("13900000002");
    assert_eq!(h.queue(), vec![c2]);
    let out = h.ok(|st, ctx| st.force_sign_out(ctx, a(101))).1;
    assert_eq!(h.code(101), SIGNED_OUT);
    assert_eq!(out.of(101).last(), Some(&K::ShutdownService { login_time_ms: 1_700_000_000_000 }));
    assert!(!out.of(101).iter().any(|k| matches!(k, K::Ringing(_))));
    assert!(!h.st.calls.contains_key(&c1));
    // The second customer still waits, with nobody dangling in its call.
    assert_eq!(h.queue(), vec![c2]);
    assert_eq!(h.st.calls[&c2].parties.len(), 1);
}

#[test]
fn forced_sign_out_of_a_ringing_agent_requeues_the_customer() {
    let mut h = Harness::new();
    h.sign_in(101);
    let (c, _) = h.customer("13900000001");
    h.ok(|st, ctx| st.force_sign_out(ctx, a(101)));
    assert_eq!(h.queue(), vec![c]);
    h.sign_in(102);
    assert_eq!(h.calls_of(102), vec![c]);
}

#[test]
fn sign_out_refused_in_a_call() {
    let mut h = Harness::new();
    h.sign_in(101);
    h.customer("13900000001");
    h.err(E::InCall, |st, ctx| st.sign_out(ctx, a(101)));
    answer(&mut h, 101);
    h.err(E::InCall, |st, ctx| st.sign_out(ctx, a(101)));
    h.ok(|st, ctx| st.release(ctx, a(101)));
    let out = h.ok(|st, ctx| st.sign_out(ctx, a(101))).1;
    assert_eq!(out.of(101), vec![K::ShutdownService { login_time_ms: 1_700_000_000_000 }]);
    assert_eq!(h.code(101), SIGNED_OUT);
    h.err(E::NotSignedIn, |st, ctx| st.sign_out(ctx, a(101)));
    h.err(E::NotSignedIn, |st, ctx| st.force_sign_out(ctx, a(101)));
}

// ----- ready states -------------------------------------------------------------------------

#[test]
fn busy_free_rest_work() {
    let mut h = Harness::new();
    h.sign_in(101);
    let out = h.ok(|st, ctx| st.say_busy(ctx, a(101), 201, false)).1;
    assert_eq!(out.of(101), vec![K::SetNotReadySuccess { reason: 201 }]);
    assert_eq!(h.code(101), BUSY);
    h.err(E::WrongState, |st, ctx| st.say_busy(ctx, a(101), 202, false));
    let out = h.ok(|st, ctx| st.say_busy(ctx, a(101), 202, true)).1;
    assert_eq!(out.of(101), vec![K::SetNotReadySuccess { reason: 202 }]);
    let out = h.ok(|st, ctx| st.cancel_busy(ctx, a(101))).1;
    assert_eq!(out.of(101), vec![K::CancelNotReadySuccess, K::Ready]);
    assert_eq!(h.code(101), IDLE);
    h.err(E::WrongState, |st, ctx| st.cancel_busy(ctx, a(101)));

    // say_free from busy, and idle already is a no-op.
    h.ok(|st, ctx| st.say_busy(ctx, a(101), 0, false));
    let out = h.ok(|st, ctx| st.say_free(ctx, a(101))).1;
    assert_eq!(out.of(101), vec![K::CancelNotReadySuccess, K::Ready]);
    let out = h.ok(|st, ctx| st.say_free(ctx, a(101))).1;
    assert!(out.events.is_empty());

    // Rest, with one reminder.
    h.err(E::InvalidParameter, |st, ctx| st.rest(ctx, a(101), 0, 0, false));
    h.err(E::InvalidParameter, |st, ctx| st.rest(ctx, a(101), 86_400, 0, false));
    let out = h.ok(|st, ctx| st.rest(ctx, a(101), 60, 3, false)).1;
    assert_eq!(out.of(101), vec![K::SetRestSuccess]);
    assert_eq!(h.code(101), REST);
    h.err(E::WrongState, |st, ctx| st.rest(ctx, a(101), 60, 3, false));
    h.advance(59_999);
    assert!(h.run(|st, ctx| st.tick(ctx)).1.events.is_empty());
    h.advance(1);
    assert_eq!(h.run(|st, ctx| st.tick(ctx)).1.of(101), vec![K::RestTimeout]);
    h.advance(10_000);
    assert!(h.run(|st, ctx| st.tick(ctx)).1.events.is_empty());
    assert_eq!(h.code(101), REST, "the reminder does not end rest");
    let out = h.ok(|st, ctx| st.cancel_rest(ctx, a(101))).1;
    assert_eq!(out.of(101), vec![K::CancelRestSuccess, K::Ready]);
    h.err(E::WrongState, |st, ctx| st.cancel_rest(ctx, a(101)));

    // Work.
    let out = h.ok(|st, ctx| st.work(ctx, a(101))).1;
    assert_eq!(out.of(101), vec![K::SetWorkSuccess, K::Work]);
    assert_eq!(h.code(101), WORK);
    h.err(E::WrongState, |st, ctx| st.work(ctx, a(101)));
    let out = h.ok(|st, ctx| st.cancel_work(ctx, a(101))).1;
    assert_eq!(out.of(101), vec![K::CancelWorkSuccess, K::Ready]);
    h.err(E::WrongState, |st, ctx| st.cancel_work(ctx, a(101)));

    type Op = fn(&mut ccgw_domain::VdnState, &mut ccgw_domain::Ctx) -> Result<(), E>;
    let ops: [Op; 7] = [
        |st, ctx| st.say_busy(ctx, a(102), 0, false),
        |st, ctx| st.cancel_busy(ctx, a(102)),
        |st, ctx| st.say_free(ctx, a(102)),
        |st, ctx| st.rest(ctx, a(102), 5, 0, false),
        |st, ctx| st.cancel_rest(ctx, a(102)),
        |st, ctx| st.work(ctx, a(102)),
        |st, ctx| st.cancel_work(ctx, a(102)),
    ];
    for f in ops {
        h.err(E::NotSignedIn, f);
    }
}

#[test]
fn becoming_idle_offers_a_waiting_call() {
    let mut h = Harness::new();
    h.sign_in_with(101, options(false, true, InitialState::Busy));
    let (c, _) = h.customer("13900000001");
    assert_eq!(h.queue(), vec![c]);
    let out = h.ok(|st, ctx| st.say_free(ctx, a(101))).1;
    assert_eq!(out.of(101), [vec![K::CancelNotReadySuccess, K::Ready], offered(c, "13900000001")].concat());
    assert!(h.queue().is_empty());
}

#[test]
fn pending_busy_and_rest_apply_after_the_call() {
    let mut h = Harness::new();
    h.sign_in(101);
    h.customer("13900000001");
    answer(&mut h, 101);
    assert!(h.ok(|st, ctx| st.say_busy(ctx, a(101), 210, false)).1.events.is_empty());
    assert_eq!(h.code(101), TALKING);
    h.err(E::WrongState, |st, ctx| st.say_busy(ctx, a(101), 210, false));
    let out = h.ok(|st, ctx| st.cancel_busy(ctx, a(101))).1;
    assert_eq!(out.of(101), vec![K::CancelNotReadySuccess]);
    h.err(E::WrongState, |st, ctx| st.cancel_busy(ctx, a(101)));
    h.err(E::InCall, |st, ctx| st.say_free(ctx, a(101)));
    h.ok(|st, ctx| st.say_busy(ctx, a(101), 210, false));
    let (c, out) = h.ok(|st, ctx| st.release(ctx, a(101)));
    assert_eq!(out.of(101), vec![K::CallRelease(c), HUNG_UP_BY_AGENT, K::SetNotReadySuccess { reason: 210 }]);
    assert_eq!(h.code(101), BUSY);

    // Pending rest: pre-rest while talking, rest after.
    h.ok(|st, ctx| st.say_free(ctx, a(101)));
    h.customer("13900000002");
    answer(&mut h, 101);
    h.ok(|st, ctx| st.rest(ctx, a(101), 30, 1, false));
    assert_eq!(h.code(101), PRE_REST);
    h.err(E::WrongState, |st, ctx| st.rest(ctx, a(101), 30, 1, false));
    let out = h.ok(|st, ctx| st.cancel_rest(ctx, a(101))).1;
    assert_eq!(out.of(101), vec![K::CancelRestSuccess]);
    assert_eq!(h.code(101), TALKING);
    h.ok(|st, ctx| st.rest(ctx, a(101), 30, 1, false));
    let (c, out) = h.ok(|st, ctx| st.release(ctx, a(101)));
    assert_eq!(out.of(101), vec![K::CallRelease(c), HUNG_UP_BY_AGENT, K::SetRestSuccess]);
    assert_eq!(h.code(101), REST);

    // Pending work.
    h.ok(|st, ctx| st.cancel_rest(ctx, a(101)));
    h.customer("13900000003");
    answer(&mut h, 101);
    h.err(E::WrongState, |st, ctx| st.cancel_work(ctx, a(101)));
    h.ok(|st, ctx| st.work(ctx, a(101)));
    let (c, out) = h.ok(|st, ctx| st.release(ctx, a(101)));
    assert_eq!(out.of(101), vec![K::CallRelease(c), HUNG_UP_BY_AGENT, K::SetWorkSuccess, K::Work]);
    assert_eq!(h.code(101), WORK);
}

#[test]
fn after_call_work_when_auto_enter_idle_is_off() {
    let mut h = Harness::new();
    h.sign_in_with(101, options(false, false, InitialState::Idle));
    h.customer("13900000001");
    answer(&mut h, 101);
    let (c, out) = h.ok(|st, ctx| st.release(ctx, a(101)));
    assert_eq!(out.of(101), vec![K::CallRelease(c), HUNG_UP_BY_AGENT, K::Work]);
    assert_eq!(h.code(101), WORK);
    // Wrap-up is not offered calls.
    h.customer("13900000002");
    assert!(h.calls_of(101).is_empty());
    h.ok(|st, _| st.set_auto_enter_idle(a(101), true));
    let out = h.ok(|st, ctx| st.cancel_work(ctx, a(101))).1;
    assert_eq!(out.of(101)[..2], [K::CancelWorkSuccess, K::Ready]);
    assert_eq!(h.calls_of(101).len(), 1);
}

// ----- inbound calls and the ACD ------------------------------------------------------------

#[test]
fn inbound_call_goes_to_the_longest_idle_agent_with_the_skill() {
    let mut h = Harness::new();
    h.sign_in(106); // no skill, idle longest
    h.advance(1000);
    h.sign_in(103);
    h.advance(1000);
    h.sign_in(101);
    h.advance(1000);
    h.sign_in(102);
    let (c1, out) = h.customer("13900000001");
    assert_eq!(out.of(103), offered(c1, "13900000001"));
    assert_eq!(out.telephony, vec![T::Attach { call: c1, number: "13900000001".into() }]);
    assert_eq!(h.code(103), TALKING);
    let (c2, _) = h.customer("13900000002");
    assert_eq!(h.calls_of(101), vec![c2]);
    assert_ne!(c1, c2);

    let out = answer(&mut h, 103);
    assert_eq!(out.of(103), vec![talking(c1, "13900000001", "5000", Leg::Main, CallFeature::Inbound)]);
    h.err(E::NoCall, |st, ctx| st.answer(ctx, a(103), None));
    h.err(E::NoCall, |st, ctx| st.answer(ctx, a(101), Some(c1)));
    h.err(E::NotSignedIn, |st, ctx| st.answer(ctx, a(104), None));

    // 101 goes idle again first after its call: it becomes the most recently idle.
    answer(&mut h, 101);
    h.advance(1000);
    h.ok(|st, ctx| st.release(ctx, a(101)));
    h.advance(1000);
    h.ok(|st, ctx| st.release(ctx, a(103)));
    let (c3, _) = h.customer("13900000003");
    assert_eq!(h.calls_of(102), vec![c3]);
    let (c4, _) = h.customer("13900000004");
    assert_eq!(h.calls_of(101), vec![c4]);

    h.err(E::InvalidParameter, |st, ctx| st.customer_call(ctx, "abc", "5000", SKILL, String::new()));
    h.err(E::InvalidParameter, |st, ctx| st.customer_call(ctx, "1", "5000", OTHER_SKILL, String::new()));
}

#[test]
fn auto_answer() {
    let mut h = Harness::new();
    h.sign_in_with(101, options(true, true, InitialState::Idle));
    let (c, out) = h.customer("13900000001");
    assert_eq!(
        out.of(101),
        vec![
            K::Busy,
            phone_rings(c, "13900000001", "5000"),
            off_hook(Leg::Main),
            K::AutoAnswer(inbound_offer(c, "13900000001")),
            talking(c, "13900000001", "5000", Leg::Main, CallFeature::Inbound),
        ]
    );
    assert_eq!(h.st.calls[&c].begin_ms, Some(h.now));
}

#[test]
fn ring_timeout_requeues_to_the_next_agent() {
    let mut h = Harness::new();
    h.sign_in(101);
    h.advance(1);
    h.sign_in(102);
    let (c, _) = h.customer("13900000001");
    assert_eq!(h.calls_of(101), vec![c]);
    h.advance(h.st.policy.ring_timeout_ms - 1);
    assert!(h.run(|st, ctx| st.tick(ctx)).1.events.is_empty());
    h.advance(1);
    let out = h.run(|st, ctx| st.tick(ctx)).1;
    assert_eq!(
        out.of(101),
        vec![K::NoAnswer(c), K::CallRelease(c), HUNG_UP_BY_PLATFORM, K::SetNotReadySuccess { reason: 2 }]
    );
    assert_eq!(out.of(102), offered(c, "13900000001"));
    assert!(out.telephony.is_empty(), "the customer stays on");
    assert_eq!(h.code(101), BUSY);
    assert!(h.calls_of(101).is_empty());
    assert_eq!(h.calls_of(102), vec![c]);
}

#[test]
fn rejecting_an_offer_requeues_it() {
    let mut h = Harness::new();
    h.sign_in(101);
    let (c, _) = h.customer("13900000001");
    let (r, out) = h.ok(|st, ctx| st.release(ctx, a(101)));
    assert_eq!(r, c);
    // Nobody else is idle: it comes straight back (current behaviour).
    assert_eq!(out.of(101), [vec![K::CallRelease(c), HUNG_UP_BY_AGENT, K::Ready], offered(c, "13900000001")].concat());
    assert_eq!(h.calls_of(101), vec![c]);
}

// ----- outbound and internal calls ----------------------------------------------------------

#[test]
fn callout_answered_and_failed() {
    let mut h = Harness::new();
    h.sign_in(101);
    let (c, out) = h.ok(|st, ctx| st.call_out(ctx, a(101), "13900000009", None, String::new()));
    assert_eq!(
        out.of(101),
        vec![
            phone_rings_to_dial(),
            off_hook(Leg::Main),
            K::Busy,
            K::CustomerAlerting { call: c, other_phone: "13900000009".into(), other_agent: None }
        ]
    );
    assert_eq!(out.telephony, vec![T::Dial { call: c, number: "13900000009".into() }]);
    h.err(E::InCall, |st, ctx| st.call_out(ctx, a(101), "1", None, String::new()));
    let out = h.run(|st, ctx| st.remote_answered(ctx, c, "13900000009")).1;
    assert_eq!(out.of(101), vec![talking(c, &phone(101), "13900000009", Leg::Main, CallFeature::Outbound)]);
    // A second report changes nothing.
    assert!(h.run(|st, ctx| st.remote_answered(ctx, c, "13900000009")).1.events.is_empty());

    let out = h.run(|st, ctx| st.remote_hung_up(ctx, c, "13900000009")).1;
    assert_eq!(
        out.of(101),
        vec![
            K::CustomerRelease { call: c, number: "13900000009".into() },
            K::CallRelease(c),
            HUNG_UP_BY_PLATFORM,
            K::Ready
        ]
    );

    let (c, _) = h.ok(|st, ctx| st.call_out(ctx, a(101), "777", Some("6000"), String::new()));
    assert_eq!(h.st.calls[&c].caller, "6000");
    let out = h.run(|st, ctx| st.remote_failed(ctx, c, "777")).1;
    // The vendor hangs up the agent's phone before it reports the failure.
    assert_eq!(out.of(101), vec![HUNG_UP_BY_PLATFORM, K::CallOutFail(c), K::Ready]);
    assert_eq!(h.code(101), IDLE);
    assert!(h.st.calls.is_empty());

    h.err(E::InvalidNumber, |st, ctx| st.call_out(ctx, a(101), "12a", None, String::new()));
    h.err(E::InvalidNumber, |st, ctx| st.call_out(ctx, a(101), "", None, String::new()));
    h.err(E::InvalidNumber, |st, ctx| st.call_out(ctx, a(101), "1", Some("x"), String::new()));
    h.err(E::NotSignedIn, |st, ctx| st.call_out(ctx, a(102), "1", None, String::new()));
}

#[test]
fn callinner_both_talk_on_answer() {
    let mut h = Harness::new();
    h.sign_in(101);
    h.sign_in(106);
    let (c, out) = h.ok(|st, ctx| st.call_inner(ctx, a(101), a(106), String::new()));
    assert_eq!(
        out.of(101),
        vec![
            phone_rings_to_dial(),
            off_hook(Leg::Main),
            K::Busy,
            K::CustomerAlerting { call: c, other_phone: phone(106), other_agent: Some(a(106)) }
        ]
    );
    let offer = Offer {
        call: c,
        caller: "101".into(),
        called: "106".into(),
        feature: CallFeature::Internal,
        leg: Leg::Main,
        transferred_from: None,
        media_type: 5,
    };
    assert_eq!(out.of(106), vec![K::Busy, phone_rings(c, "101", "106"), off_hook(Leg::Main), K::Ringing(offer)]);
    let out = answer(&mut h, 106);
    let t = talking(c, "101", "106", Leg::Main, CallFeature::Internal);
    assert_eq!(out.of(101), vec![t.clone()]);
    assert_eq!(out.of(106), vec![t]);

    h.err(E::InCall, |st, ctx| st.call_inner(ctx, a(101), a(102), String::new()));
    h.sign_in(102);
    h.err(E::InvalidParameter, |st, ctx| st.call_inner(ctx, a(102), a(102), String::new()));
    h.err(E::TargetUnavailable, |st, ctx| st.call_inner(ctx, a(102), a(106), String::new()));
    h.err(E::TargetUnavailable, |st, ctx| st.call_inner(ctx, a(102), a(103), String::new()));
    h.err(E::UnknownAgent, |st, ctx| st.call_inner(ctx, a(102), a(201), String::new()));

    // Release by one agent ends it for both.
    let out = h.ok(|st, ctx| st.release(ctx, a(106))).1;
    assert_eq!(out.of(106), vec![K::CallRelease(c), HUNG_UP_BY_AGENT, K::Ready]);
    assert_eq!(out.of(101), vec![K::CallRelease(c), HUNG_UP_BY_PLATFORM, K::Ready]);
    assert!(h.st.calls.is_empty());
}

// ----- hold, mute ---------------------------------------------------------------------------

#[test]
fn hold_unhold() {
    let mut h = Harness::new();
    h.sign_in(101);
    h.err(E::NoCall, |st, ctx| st.hold(ctx, a(101)));
    let (c, _) = h.customer("13900000001");
    h.err(E::WrongState, |st, ctx| st.hold(ctx, a(101))); // still ringing
    answer(&mut h, 101);
    h.err(E::NoHeldCall, |st, ctx| st.unhold(ctx, a(101), None));
    let (held, out) = h.ok(|st, ctx| st.hold(ctx, a(101)));
    assert_eq!(held, c);
    assert_eq!(out.of(101), vec![K::Hold(c)]);
    assert_eq!(h.code(101), TALKING);
    h.err(E::NoCall, |st, ctx| st.hold(ctx, a(101)));

    // Talking elsewhere: cannot take the held call back.
    h.sign_in(106);
    let (ci, _) = h.ok(|st, ctx| st.call_inner(ctx, a(101), a(106), String::new()));
    assert_eq!(h.calls_of(101), vec![c, ci]);
    h.err(E::WrongState, |st, ctx| st.unhold(ctx, a(101), Some(c)));
    h.err(E::NoHeldCall, |st, ctx| st.unhold(ctx, a(101), Some(ci)));
    h.ok(|st, ctx| st.release(ctx, a(101)));
    let (r, out) = h.ok(|st, ctx| st.unhold(ctx, a(101), None));
    assert_eq!(r, c);
    assert_eq!(out.of(101), vec![talking(c, "13900000001", "5000", Leg::Main, CallFeature::Inbound)]);
}

#[test]
fn mute_twice_is_wrong_state() {
    let mut h = Harness::new();
    h.sign_in(101);
    h.err(E::NoCall, |st, ctx| st.mute(a(101), true).map(|_| ctx.now_ms));
    h.customer("13900000001");
    h.err(E::NoCall, |st, ctx| st.mute(a(101), true).map(|_| ctx.now_ms)); // ringing
    answer(&mut h, 101);
    h.err(E::WrongState, |st, ctx| st.mute(a(101), false).map(|_| ctx.now_ms));
    h.ok(|st, _| st.mute(a(101), true));
    h.err(E::WrongState, |st, ctx| st.mute(a(101), true).map(|_| ctx.now_ms));
    h.ok(|st, _| st.mute(a(101), false));
}

// ----- internal help ------------------------------------------------------------------------

/// 101 talking with a customer (manual answer), 102 idle (manual answer).
fn talking_with_customer() -> (Harness, ccgw_domain::CallId) {
    let mut h = Harness::new();
    h.sign_in(101);
    let (c, _) = h.customer("13900000001");
    answer(&mut h, 101);
    h.advance(1000);
    h.sign_in(102);
    h.advance(1000);
    (h, c)
}

#[test]
fn inner_help_two_party() {
    let (mut h, c) = talking_with_customer();
    let (help, out) =
        h.ok(|st, ctx| st.inner_help(ctx, a(101), HelpTarget::Agent(a(102)), HelpMode::TwoParty, String::new()));
    assert_ne!(help, c);
    assert_eq!(
        out.of(101),
        vec![K::Hold(c), K::CustomerAlerting { call: help, other_phone: phone(102), other_agent: Some(a(102)) }]
    );
    let offer = Offer {
        call: help,
        caller: "101".into(),
        called: "102".into(),
        feature: CallFeature::ConsultTwoParty,
        leg: Leg::Assistant,
        transferred_from: None,
        media_type: 5,
    };
    // 101's phone is off the hook already (it is in a call): no phone events for it.
    assert_eq!(
        out.of(102),
        vec![K::Busy, phone_rings(help, "101", "102"), off_hook(Leg::Assistant), K::Ringing(offer)]
    );
    assert_eq!(h.calls_of(101), vec![c, help]);
    assert_eq!(h.calls_of(102), vec![help]);
    let out = answer(&mut h, 102);
    assert_eq!(out.of(101), vec![talking(help, "101", "102", Leg::Main, CallFeature::ConsultTwoParty)]);
    assert_eq!(out.of(102), vec![talking(help, "101", "102", Leg::Assistant, CallFeature::ConsultTwoParty)]);

    // disconnect of the held customer fails: only the parties of the active call count.
    h.err(E::InvalidParameter, |st, ctx| st.disconnect(ctx, a(101), "13900000001"));
    // Ending the consultation leaves the customer on hold.
    let out = h.ok(|st, ctx| st.disconnect(ctx, a(101), "102")).1;
    assert_eq!(out.of(102), vec![K::CallRelease(help), HUNG_UP_BY_PLATFORM, K::Ready]);
    assert_eq!(out.of(101), vec![K::CallRelease(help)]);
    assert_eq!(h.calls_of(101), vec![c]);
    assert_eq!(h.st.held_calls(a(101)).len(), 1);
}

#[test]
fn inner_help_errors() {
    let (mut h, _) = talking_with_customer();
    h.err(E::NoCall, |st, ctx| {
        st.inner_help(ctx, a(102), HelpTarget::Agent(a(101)), HelpMode::TwoParty, String::new())
    });
    h.err(E::InvalidParameter, |st, ctx| {
        st.inner_help(ctx, a(101), HelpTarget::Agent(a(101)), HelpMode::TwoParty, String::new())
    });
    h.err(E::TargetUnavailable, |st, ctx| {
        st.inner_help(ctx, a(101), HelpTarget::Agent(a(103)), HelpMode::ThreeParty, String::new())
    });
    h.err(E::UnknownAgent, |st, ctx| {
        st.inner_help(ctx, a(101), HelpTarget::Agent(a(201)), HelpMode::TwoParty, String::new())
    });
    h.err(E::InvalidParameter, |st, ctx| {
        st.inner_help(ctx, a(101), HelpTarget::Skill(OTHER_SKILL), HelpMode::TwoParty, String::new())
    });
    h.ok(|st, ctx| st.say_busy(ctx, a(102), 0, false));
    h.err(E::NoAgentAvailable, |st, ctx| {
        st.inner_help(ctx, a(101), HelpTarget::Skill(SKILL), HelpMode::TwoParty, String::new())
    });
}

#[test]
fn inner_help_three_party() {
    let (mut h, c) = talking_with_customer();
    let (r, out) =
        h.ok(|st, ctx| st.inner_help(ctx, a(101), HelpTarget::Skill(SKILL), HelpMode::ThreeParty, String::new()));
    assert_eq!(r, c);
    assert!(out.of(101).is_empty());
    assert!(matches!(
        &out.of(102)[..],
        [K::Busy, K::PhoneAlerting(Some(p)), K::PhoneOffhook { leg: Leg::Assistant }, K::Ringing(o)]
            if o.call == c && p.call == c && o.leg == Leg::Assistant
    ));
    assert_eq!(h.calls_of(102), vec![c]);
    let out = answer(&mut h, 102);
    assert_eq!(out.of(102), vec![talking(c, "13900000001", "5000", Leg::Assistant, CallFeature::ConsultThreeParty)]);
    assert!(out.of(101).is_empty());
    let call = &h.st.calls[&c];
    assert_eq!(call.parties.len(), 3);
    assert_eq!(call.party_of(a(102)).unwrap().leg, Leg::Assistant);

    // The customer hangs up: the two agents stay together.
    let out = h.run(|st, ctx| st.remote_hung_up(ctx, c, "13900000001")).1;
    assert_eq!(out.of(101), vec![K::CustomerRelease { call: c, number: "13900000001".into() }]);
    assert_eq!(h.calls_of(102), vec![c]);
    h.ok(|st, ctx| st.release(ctx, a(102)));
    assert!(h.st.calls.is_empty());
    assert_eq!(h.code(101), IDLE);
}

#[test]
fn conference_merges_held_and_active() {
    let (mut h, c) = talking_with_customer();
    let (help, _) =
        h.ok(|st, ctx| st.inner_help(ctx, a(101), HelpTarget::Agent(a(102)), HelpMode::TwoParty, String::new()));
    answer(&mut h, 102);
    h.err(E::NoHeldCall, |st, ctx| st.conference(ctx, a(102)));
    let (r, out) = h.ok(|st, ctx| st.conference(ctx, a(101)));
    assert_eq!(r, c);
    assert!(!h.st.calls.contains_key(&help));
    let call = &h.st.calls[&c];
    assert_eq!(call.feature, CallFeature::MultiParty);
    assert_eq!(call.parties.len(), 3);
    assert!(call.parties.iter().all(|p| p.state == PartyState::Talking));
    assert_eq!(out.of(101), vec![K::Conference { call: c, partners: vec!["13900000001".into(), "102".into()] }]);
    assert_eq!(out.of(102), vec![K::Conference { call: c, partners: vec!["13900000001".into(), "101".into()] }]);
    assert_eq!(h.calls_of(101), vec![c]);
    assert_eq!(h.calls_of(102), vec![c]);
    h.err(E::NoHeldCall, |st, ctx| st.conference(ctx, a(101)));

    // 101 leaves: customer and 102 stay.
    h.ok(|st, ctx| st.release(ctx, a(101)));
    assert_eq!(h.st.calls[&c].parties.len(), 2);
}

#[test]
fn connect_held_steps_out() {
    let (mut h, c) = talking_with_customer();
    let (help, _) =
        h.ok(|st, ctx| st.inner_help(ctx, a(101), HelpTarget::Agent(a(102)), HelpMode::TwoParty, String::new()));
    h.err(E::NoCall, |st, ctx| st.connect_held(ctx, a(102), c));
    answer(&mut h, 102);
    h.err(E::NoHeldCall, |st, ctx| st.connect_held(ctx, a(101), help));
    let out = h.ok(|st, ctx| st.connect_held(ctx, a(101), c)).1;
    assert_eq!(out.of(101), vec![K::CallRelease(c), HUNG_UP_BY_AGENT, K::Ready]);
    assert!(h.calls_of(101).is_empty());
    assert_eq!(h.calls_of(102), vec![c]);
    assert!(!h.st.calls.contains_key(&help));
    let call = &h.st.calls[&c];
    assert_eq!(call.parties.len(), 2);
    assert!(call.remotes().eq(["13900000001"]));
    assert_eq!(call.party_of(a(102)).unwrap().state, PartyState::Talking);
    // 102 is told it now talks on the customer's call.
    assert!(out.of(102).iter().any(|k| matches!(k, K::Talking { call, .. } if *call == c)), "{:?}", out.of(102));
}

// ----- transfer -----------------------------------------------------------------------------

#[test]
fn transfer_blind_to_agent() {
    let (mut h, c) = talking_with_customer();
    let out = h.ok(|st, ctx| st.transfer(ctx, a(101), TransferTarget::Agent(a(102)), TransferMode::Blind)).1;
    let offer = Offer { transferred_from: Some(a(101)), ..inbound_offer(c, "13900000001") };
    assert_eq!(
        out.of(102),
        vec![K::Busy, phone_rings(c, "13900000001", "5000"), off_hook(Leg::Main), K::Ringing(offer)]
    );
    assert_eq!(out.of(101), vec![K::CallRelease(c), HUNG_UP_BY_AGENT, K::Ready]);
    assert!(h.calls_of(101).is_empty());
    answer(&mut h, 102);
    assert_eq!(h.st.calls[&c].parties.len(), 2);
}

#[test]
fn transfer_blind_to_skill_requeues() {
    let (mut h, c) = talking_with_customer();
    h.ok(|st, ctx| st.say_busy(ctx, a(102), 0, false));
    h.ok(|st, ctx| st.say_busy(ctx, a(101), 0, false)); // pending: 101 does not get it back
    let out = h.ok(|st, ctx| st.transfer(ctx, a(101), TransferTarget::Skill(SKILL), TransferMode::Blind)).1;
    assert_eq!(out.of(101), vec![K::CallRelease(c), HUNG_UP_BY_AGENT, K::SetNotReadySuccess { reason: 0 }]);
    assert_eq!(h.queue(), vec![c]);
    let out = h.ok(|st, ctx| st.say_free(ctx, a(102))).1;
    assert!(
        out.of(102).contains(&K::Ringing(Offer { transferred_from: Some(a(101)), ..inbound_offer(c, "13900000001") }))
    );
    assert!(h.queue().is_empty());
}

#[test]
fn transfer_external() {
    let (mut h, c) = talking_with_customer();
    h.err(E::InvalidNumber, |st, ctx| {
        st.transfer(ctx, a(101), TransferTarget::External("x".into()), TransferMode::Blind)
    });
    h.err(E::InvalidParameter, |st, ctx| {
        st.transfer(ctx, a(101), TransferTarget::Skill(OTHER_SKILL), TransferMode::Blind)
    });
    h.err(E::NoCall, |st, ctx| st.transfer(ctx, a(102), TransferTarget::Agent(a(101)), TransferMode::Blind));
    let out = h.ok(|st, ctx| st.transfer(ctx, a(101), TransferTarget::External("700".into()), TransferMode::Blind)).1;
    assert_eq!(out.telephony, vec![T::Dial { call: c, number: "700".into() }]);
    assert!(h.calls_of(101).is_empty());
    h.run(|st, ctx| st.remote_answered(ctx, c, "700"));
    assert!(h.st.calls[&c].parties.iter().all(|p| p.state == PartyState::Talking));
    h.run(|st, ctx| st.remote_hung_up(ctx, c, "700"));
    assert!(h.st.calls.is_empty());
}

#[test]
fn transfer_external_blind_that_fails_hangs_up_the_customer() {
    let (mut h, c) = talking_with_customer();
    h.ok(|st, ctx| st.transfer(ctx, a(101), TransferTarget::External("700".into()), TransferMode::Blind));
    let out = h.run(|st, ctx| st.remote_failed(ctx, c, "700")).1;
    assert!(h.st.calls.is_empty());
    assert_eq!(out.telephony, vec![T::Hangup { call: c, number: "13900000001".into() }]);
}

#[test]
fn transfer_success_to_agent() {
    let (mut h, c) = talking_with_customer();
    let out = h.ok(|st, ctx| st.transfer(ctx, a(101), TransferTarget::Agent(a(102)), TransferMode::Success)).1;
    assert_eq!(out.of(101), vec![K::Hold(c)]);
    assert_eq!(h.calls_of(101), vec![c]);
    assert_eq!(h.calls_of(102), vec![c]);
    h.err(E::NoCall, |st, ctx| st.transfer(ctx, a(101), TransferTarget::Agent(a(103)), TransferMode::Success));
    let out = answer(&mut h, 102);
    assert_eq!(out.of(102), vec![talking(c, "13900000001", "5000", Leg::Main, CallFeature::Inbound)]);
    // The transfer completed: the platform took 101 out.
    assert_eq!(out.of(101), vec![K::CallRelease(c), HUNG_UP_BY_PLATFORM, K::Ready]);
    assert!(h.calls_of(101).is_empty());
    let call = &h.st.calls[&c];
    assert_eq!(call.parties.len(), 2);
    assert_eq!(call.transfer, None);
    assert_eq!(call.transferred_from, Some(a(101)));
}

#[test]
fn transfer_success_target_never_answers() {
    let (mut h, c) = talking_with_customer();
    h.ok(|st, ctx| st.transfer(ctx, a(101), TransferTarget::Agent(a(102)), TransferMode::Success));
    h.advance(h.st.policy.ring_timeout_ms);
    let out = h.run(|st, ctx| st.tick(ctx)).1;
    assert_eq!(
        out.of(102),
        vec![K::NoAnswer(c), K::CallRelease(c), HUNG_UP_BY_PLATFORM, K::SetNotReadySuccess { reason: 2 }]
    );
    assert!(out.of(101).is_empty());
    // The transferring agent stays, holding; the customer is not re-queued.
    assert_eq!(h.calls_of(101), vec![c]);
    assert!(h.queue().is_empty());
    assert_eq!(h.st.calls[&c].party_of(a(101)).unwrap().state, PartyState::Held);
    // The failed transfer is over: the agent takes the call back and may transfer again.
    assert_eq!(h.st.calls[&c].transfer, None);
    h.ok(|st, ctx| st.unhold(ctx, a(101), None));
    h.sign_in(103);
    h.ok(|st, ctx| st.inner_help(ctx, a(101), HelpTarget::Agent(a(103)), HelpMode::ThreeParty, String::new()));
    answer(&mut h, 103);
    assert_eq!(h.calls_of(101), vec![c], "a stale transfer must not take the agent out of the call");
}

#[test]
fn transfer_success_to_skill_and_external() {
    let (mut h, c) = talking_with_customer();
    h.ok(|st, ctx| st.say_busy(ctx, a(102), 0, false));
    h.err(E::NoAgentAvailable, |st, ctx| st.transfer(ctx, a(101), TransferTarget::Skill(SKILL), TransferMode::Success));
    h.ok(|st, ctx| st.say_free(ctx, a(102)));
    h.ok(|st, ctx| st.transfer(ctx, a(101), TransferTarget::Skill(SKILL), TransferMode::Success));
    assert_eq!(h.calls_of(102), vec![c]);
    answer(&mut h, 102);
    assert!(h.calls_of(101).is_empty());

    // External success: 102 stays until the number answers.
    h.ok(|st, ctx| st.transfer(ctx, a(102), TransferTarget::External("700".into()), TransferMode::Success));
    assert_eq!(h.calls_of(102), vec![c]);
    let out = h.run(|st, ctx| st.remote_answered(ctx, c, "700")).1;
    assert_eq!(out.of(102), vec![K::CallRelease(c), HUNG_UP_BY_PLATFORM, K::Ready]);
    assert_eq!(h.st.calls[&c].parties.len(), 2);

    // External success that fails: the agent stays holding.
    let mut h2 = talking_with_customer();
    let c2 = h2.1;
    h2.0.ok(|st, ctx| st.transfer(ctx, a(101), TransferTarget::External("700".into()), TransferMode::Success));
    let out = h2.0.run(|st, ctx| st.remote_failed(ctx, c2, "700")).1;
    assert_eq!(out.of(101), vec![K::CallOutFail(c2)]);
    assert_eq!(h2.0.calls_of(101), vec![c2]);
    assert_eq!(h2.0.st.calls[&c2].transfer, None);
}

// ----- release --------------------------------------------------------------------------------

#[test]
fn release_by_agent_and_by_customer() {
    let (mut h, c) = talking_with_customer();
    let (r, out) = h.ok(|st, ctx| st.release(ctx, a(101)));
    assert_eq!(r, c);
    assert_eq!(out.of(101), vec![K::CallRelease(c), HUNG_UP_BY_AGENT, K::Ready]);
    assert_eq!(out.telephony, vec![T::Hangup { call: c, number: "13900000001".into() }]);
    h.err(E::NoCall, |st, ctx| st.release(ctx, a(101)));
    assert_eq!(h.st.agent(a(101)).unwrap().session.as_ref().unwrap().last_call.as_ref().unwrap().id, c);

    let (c, _) = h.customer("13900000002");
    answer(&mut h, 102);
    let out = h.run(|st, ctx| st.remote_hung_up(ctx, c, "13900000002")).1;
    assert_eq!(
        out.of(102),
        vec![
            K::CustomerRelease { call: c, number: "13900000002".into() },
            K::CallRelease(c),
            HUNG_UP_BY_PLATFORM,
            K::Ready
        ]
    );
    assert!(out.telephony.is_empty());
    assert!(h.st.calls.is_empty());

    // A waiting customer who hangs up leaves the queue.
    h.ok(|st, ctx| st.say_busy(ctx, a(101), 0, false));
    h.ok(|st, ctx| st.say_busy(ctx, a(102), 0, false));
    let (c, _) = h.customer("13900000003");
    assert_eq!(h.queue(), vec![c]);
    assert!(h.run(|st, ctx| st.remote_hung_up(ctx, c, "13900000003")).1.events.is_empty());
    assert!(h.queue().is_empty());
    assert!(h.st.calls.is_empty());
}

#[test]
fn drop_call_of_a_held_call() {
    let (mut h, c) = talking_with_customer();
    h.ok(|st, ctx| st.hold(ctx, a(101)));
    h.err(E::NoCall, |st, ctx| st.drop_call(ctx, a(101), ccgw_domain::CallId { secs: 1, seq: 999 }));
    h.err(E::NoCall, |st, ctx| st.drop_call(ctx, a(102), c));
    let out = h.ok(|st, ctx| st.drop_call(ctx, a(101), c)).1;
    assert_eq!(out.of(101), vec![K::CallRelease(c), HUNG_UP_BY_AGENT, K::Ready]);
    assert_eq!(out.telephony, vec![T::Hangup { call: c, number: "13900000001".into() }]);
    assert!(h.st.calls.is_empty());
}

#[test]
fn disconnect_by_number() {
    let (mut h, c) = talking_with_customer();
    h.err(E::InvalidParameter, |st, ctx| st.disconnect(ctx, a(101), "555"));
    h.err(E::NoCall, |st, ctx| st.disconnect(ctx, a(102), "101"));
    let out = h.ok(|st, ctx| st.disconnect(ctx, a(101), "13900000001")).1;
    assert_eq!(out.telephony, vec![T::Hangup { call: c, number: "13900000001".into() }]);
    assert_eq!(
        out.of(101),
        vec![
            K::CustomerRelease { call: c, number: "13900000001".into() },
            K::CallRelease(c),
            HUNG_UP_BY_PLATFORM,
            K::Ready
        ]
    );

    // By an agent's phone number.
    h.sign_in(106);
    let (ci, _) = h.ok(|st, ctx| st.call_inner(ctx, a(101), a(106), String::new()));
    answer(&mut h, 106);
    let out = h.ok(|st, ctx| st.disconnect(ctx, a(101), &phone(106))).1;
    assert_eq!(out.of(106), vec![K::CallRelease(ci), HUNG_UP_BY_PLATFORM, K::Ready]);
    assert!(h.st.calls.is_empty());
}

#[test]
fn set_call_data() {
    let (mut h, c) = talking_with_customer();
    h.ok(|st, _| st.set_call_data(a(101), c, "x".into()));
    assert_eq!(h.st.calls[&c].data, "x");
    h.err(E::NoCall, |st, ctx| st.set_call_data(a(102), c, "y".into()).map(|_| ctx.now_ms));
}

#[test]
fn other_vdn_agents_are_unknown() {
    let mut h = Harness::new();
    h.sign_in(101);
    h.customer("13900000001");
    answer(&mut h, 101);
    assert_eq!(h.st.agent(AgentId(201)).unwrap_err(), E::UnknownAgent);
    h.err(E::UnknownAgent, |st, ctx| {
        st.transfer(ctx, a(101), TransferTarget::Agent(a(201)), TransferMode::Blind).map(|_| 0)
    });
    assert!(!h.st.agents.contains_key(&a(201)));
    assert!(h.st.call_ids_of(a(201)).is_empty());
    let _ = Endpoint::Agent(a(201));
}

#[test]
fn customer_leaving_during_a_success_transfer_ends_the_call() {
    let (mut h, c) = talking_with_customer();
    h.ok(|st, ctx| st.transfer(ctx, a(101), TransferTarget::External("700".into()), TransferMode::Success));
    let out = h.run(|st, ctx| st.remote_hung_up(ctx, c, "13900000001")).1;
    assert_eq!(
        out.of(101),
        vec![
            K::CustomerRelease { call: c, number: "13900000001".into() },
            K::CallRelease(c),
            HUNG_UP_BY_PLATFORM,
            K::Ready
        ]
    );
    assert_eq!(out.telephony, vec![T::Hangup { call: c, number: "700".into() }]);
    assert!(h.st.calls.is_empty());
    // A late failure report for the dialled number is ignored.
    assert!(h.run(|st, ctx| st.remote_failed(ctx, c, "700")).1.events.is_empty());
}

#[test]
fn failed_success_transfer_leaves_the_agent_holding() {
    let (mut h, c) = talking_with_customer();
    h.ok(|st, ctx| st.transfer(ctx, a(101), TransferTarget::External("700".into()), TransferMode::Success));
    let out = h.run(|st, ctx| st.remote_failed(ctx, c, "700")).1;
    assert_eq!(out.of(101), vec![K::CallOutFail(c)]);
    assert_eq!(h.st.calls[&c].transfer, None);
    assert_eq!(h.st.held_calls(a(101)).len(), 1);
    // The agent can take the customer back and transfer again.
    h.ok(|st, ctx| st.unhold(ctx, a(101), None));
    h.ok(|st, ctx| st.transfer(ctx, a(101), TransferTarget::External("701".into()), TransferMode::Success));
}

#[test]
fn transfer_to_a_number_already_in_the_call_is_refused() {
    let (mut h, _) = talking_with_customer();
    h.err(E::InvalidNumber, |st, ctx| {
        st.transfer(ctx, a(101), TransferTarget::External("13900000001".into()), TransferMode::Success)
    });
}

#[test]
fn two_agents_ringing_on_one_call_time_out_together() {
    let mut h = Harness::new();
    h.sign_in(101);
    h.sign_in(102);
    h.sign_in(103);
    h.ok(|st, ctx| st.call_out(ctx, a(101), "700", None, String::new()));
    let (help, _) =
        h.ok(|st, ctx| st.inner_help(ctx, a(101), HelpTarget::Agent(a(102)), HelpMode::TwoParty, String::new()));
    // The consultation, still ringing at 102, is handed on to 103: two agents ring on it.
    h.ok(|st, ctx| st.transfer(ctx, a(101), TransferTarget::Agent(a(103)), TransferMode::Blind));
    h.advance(h.st.policy.ring_timeout_ms);
    let out = h.run(|st, ctx| st.tick(ctx)).1;
    assert!(!h.st.calls.contains_key(&help));
    assert_eq!(
        out.of(102),
        vec![K::NoAnswer(help), K::CallRelease(help), HUNG_UP_BY_PLATFORM, K::SetNotReadySuccess { reason: 2 }]
    );
    // 103's call ended with 102's time-out: it is released, not timed out (no busy left pending).
    assert_eq!(out.of(103), vec![K::CallRelease(help), HUNG_UP_BY_PLATFORM, K::Ready]);
    let s = h.st.session(a(103)).unwrap();
    assert_eq!((s.pending, h.code(103)), (None, IDLE));
}

// ----- the agent's phone ----------------------------------------------------------------------

#[test]
fn always_off_hook_agent_keeps_its_phone_off_hook_between_calls() {
    let mut h = Harness::new();
    h.sign_in_with(101, SignInOptions { release_phone: false, ..options(false, true, InitialState::Idle) });
    // The first call rings the phone, which then stays off the hook.
    let (c, out) = h.customer("13900000001");
    assert_eq!(out.of(101), offered(c, "13900000001"));
    answer(&mut h, 101);
    let out = h.ok(|st, ctx| st.release(ctx, a(101))).1;
    assert_eq!(out.of(101), vec![K::CallRelease(c), K::Ready]);
    assert!(h.st.session(a(101)).unwrap().phone_off_hook);
    // The next calls, offered or placed, do not ring it.
    let (c, out) = h.customer("13900000002");
    assert_eq!(out.of(101), vec![K::Busy, K::Ringing(inbound_offer(c, "13900000002"))]);
    answer(&mut h, 101);
    let out = h.run(|st, ctx| st.remote_hung_up(ctx, c, "13900000002")).1;
    assert_eq!(
        out.of(101),
        vec![K::CustomerRelease { call: c, number: "13900000002".into() }, K::CallRelease(c), K::Ready]
    );
    h.ok(|st, ctx| st.say_busy(ctx, a(101), 0, false));
    let (c, out) = h.ok(|st, ctx| st.call_out(ctx, a(101), "700", None, String::new()));
    assert_eq!(
        out.of(101),
        vec![K::Busy, K::CustomerAlerting { call: c, other_phone: "700".into(), other_agent: None }]
    );
    let out = h.run(|st, ctx| st.remote_failed(ctx, c, "700")).1;
    assert_eq!(out.of(101), vec![K::CallOutFail(c), K::SetNotReadySuccess { reason: 0 }]);
    // Signing out hangs it up.
    let out = h.ok(|st, ctx| st.sign_out(ctx, a(101))).1;
    assert_eq!(out.of(101), vec![HUNG_UP_BY_PLATFORM, K::ShutdownService { login_time_ms: 1_700_000_000_000 }]);
}

#[test]
fn forced_sign_out_mid_call_hangs_up_the_phone() {
    let (mut h, c) = talking_with_customer();
    let out = h.ok(|st, ctx| st.force_sign_out(ctx, a(101))).1;
    assert_eq!(
        out.of(101),
        vec![K::CallRelease(c), HUNG_UP_BY_PLATFORM, K::ShutdownService { login_time_ms: 1_700_000_000_000 }]
    );
    // Signed out with no call: the phone was on the hook, nothing to hang up.
    let out = h.ok(|st, ctx| st.force_sign_out(ctx, a(102))).1;
    assert_eq!(out.of(102), vec![K::ShutdownService { login_time_ms: 1_700_000_001_000 }]);
}

#[test]
fn phone_of_a_caller_already_in_a_call_does_not_ring_again() {
    let (mut h, c) = talking_with_customer();
    h.ok(|st, ctx| st.hold(ctx, a(101)));
    let (c2, out) = h.ok(|st, ctx| st.call_out(ctx, a(101), "700", None, String::new()));
    assert_eq!(out.of(101), vec![K::CustomerAlerting { call: c2, other_phone: "700".into(), other_agent: None }]);
    // Its last call ends: now the phone is hung up.
    let out = h.run(|st, ctx| st.remote_failed(ctx, c2, "700")).1;
    assert_eq!(out.of(101), vec![K::CallOutFail(c2)]);
    let out = h.ok(|st, ctx| st.drop_call(ctx, a(101), c)).1;
    assert_eq!(out.of(101), vec![K::CallRelease(c), HUNG_UP_BY_AGENT, K::Ready]);
}

// --- agentgroup: the time in the current state ----------------------------------------------

#[test]
fn state_since_is_stamped_at_every_state_change() {
    let mut h = Harness::new();
    let since = |h: &Harness, n: u32| h.st.session(a(n)).unwrap().state_since_ms;
    let t0 = h.now;
    h.sign_in(101);
    assert_eq!(since(&h, 101), t0);
    h.advance(1_000);
    h.ok(|st, ctx| st.say_busy(ctx, a(101), 0, false));
    assert_eq!(since(&h, 101), t0 + 1_000);
    // A refused change stamps nothing.
    h.advance(1_000);
    h.err(E::WrongState, |st, ctx| st.say_busy(ctx, a(101), 0, false));
    assert_eq!(since(&h, 101), t0 + 1_000);
    h.ok(|st, ctx| st.rest(ctx, a(101), 60, 1, false));
    assert_eq!(since(&h, 101), t0 + 2_000);
    h.advance(1_000);
    h.ok(|st, ctx| st.say_free(ctx, a(101)));
    assert_eq!(since(&h, 101), t0 + 3_000);
    h.advance(1_000);
    h.ok(|st, ctx| st.work(ctx, a(101)));
    assert_eq!(since(&h, 101), t0 + 4_000);
    h.advance(1_000);
    h.ok(|st, ctx| st.cancel_work(ctx, a(101)));
    assert_eq!(since(&h, 101), t0 + 5_000);
    // A call: stamped when it starts (the offer) and after it ends.
    h.advance(1_000);
    let (call, _) = h.customer("13800000001");
    assert_eq!((h.code(101), since(&h, 101)), (TALKING, t0 + 6_000));
    h.advance(1_000);
    answer(&mut h, 101);
    assert_eq!(since(&h, 101), t0 + 6_000, "answering does not change the state code");
    h.advance(1_000);
    h.ok(|st, ctx| st.drop_call(ctx, a(101), call));
    assert_eq!((h.code(101), since(&h, 101)), (IDLE, t0 + 8_000));
}

// --- recordplay ------------------------------------------------------------------------------

#[test]
fn a_recording_follows_its_call_into_a_conference_and_ends_with_the_agent() {
    use ccgw_domain::{RecordFilter, RecordOp};
    let (mut h, c) = talking_with_customer();
    let (help, _) =
        h.ok(|st, ctx| st.inner_help(ctx, a(101), HelpTarget::Agent(a(102)), HelpMode::TwoParty, String::new()));
    answer(&mut h, 102);
    // 102 records the consultation.
    let (id, out) = h.ok(|st, ctx| st.begin_record(ctx, a(102), Some("help.V3".into())));
    assert!(
        matches!(&out.of(102)[..], [K::RecordStarted { task_id: 1, call, file_name, .. }] if *call == help && file_name == "help.V3")
    );
    assert!(out.telephony.contains(&T::Record {
        agent: a(102),
        call: help,
        op: RecordOp::Start { file_name: "help.V3".into() }
    }));
    h.err(E::MediaBusy, |st, ctx| st.begin_record(ctx, a(102), None));
    // The consultation merges into the customer's call: the recording goes on there.
    h.ok(|st, ctx| st.conference(ctx, a(101)));
    assert_eq!(h.st.recording_of(a(102)).map(|r| r.call), Some(c));
    h.ok(|st, ctx| st.release(ctx, a(101)));
    assert_eq!(h.st.recording_of(a(102)).map(|r| r.call), Some(c));
    // 102 leaves: the recording stops before the call is released, and is filed.
    let (_, out) = h.ok(|st, ctx| st.release(ctx, a(102)));
    let evs = out.of(102);
    assert!(matches!(evs[0], K::RecordStopped { task_id: 1, .. }), "{evs:?}");
    assert_eq!(evs[1], K::CallRelease(c));
    let files = h.st.record_files(&RecordFilter::default());
    assert_eq!(files.len(), 1);
    assert_eq!((files[0].record_id.as_str(), files[0].call, files[0].agent), (id.as_str(), c, a(102)));
    assert_eq!(h.st.record_files(&RecordFilter { agent: Some(a(101)), ..Default::default() }).len(), 0);
    h.err(E::NoMedia, |st, ctx| st.stop_record(ctx, a(102)));
}

#[test]
fn a_session_that_ends_files_its_recording_and_stops_its_playback() {
    use ccgw_domain::PlayOp;
    let (mut h, c) = talking_with_customer();
    h.err(E::NoCall, |st, ctx| st.begin_record(ctx, a(102), None));
    h.err(E::NoMedia, |st, ctx| st.pause_record(ctx, a(101), false));
    h.ok(|st, ctx| st.begin_record(ctx, a(101), None));
    h.ok(|st, ctx| st.pause_record(ctx, a(101), true));
    h.err(E::MediaState, |st, ctx| st.pause_record(ctx, a(101), true));
    h.sign_in(103);
    h.err(E::InCall, |st, ctx| st.begin_play(ctx, a(101), "f".into(), 0, 1000));
    h.err(E::InvalidParameter, |st, ctx| st.begin_play(ctx, a(103), "f".into(), 1000, 1000));
    h.err(E::NoMedia, |st, ctx| st.pause_play(ctx, a(103), true));
    let (_, out) = h.ok(|st, ctx| st.begin_play(ctx, a(103), "f".into(), 0, 1000));
    assert_eq!(out.of(103), vec![K::PlayAccepted, K::PlayStarted]);
    h.err(E::MediaBusy, |st, ctx| st.begin_play(ctx, a(103), "f".into(), 0, 1000));
    h.err(E::MediaState, |st, ctx| st.pause_play(ctx, a(103), false));

    let (_, out) = h.ok(|st, ctx| st.force_sign_out(ctx, a(101)));
    let evs = out.of(101);
    assert!(matches!(evs[0], K::RecordStopped { .. }), "{evs:?}");
    assert!(matches!(evs.last(), Some(K::ShutdownService { .. })));
    assert_eq!(h.st.record_files(&Default::default())[0].call, c);
    let (_, out) = h.ok(|st, ctx| st.force_sign_out(ctx, a(103)));
    assert_eq!(out.of(103)[0], K::PlayStopped);
    assert!(out.telephony.contains(&T::Play { agent: a(103), op: PlayOp::Stop }));
}

#[test]
fn a_playback_ends_at_the_end_of_its_file() {
    let mut h = Harness::new();
    h.sign_in(101);
    h.ok(|st, ctx| st.begin_play(ctx, a(101), "f".into(), 500, 2000));
    h.advance(1000);
    h.ok(|st, ctx| st.seek_play(ctx, a(101), false, 60));
    assert_eq!(h.st.playback_of(a(101)).map(|p| p.position_ms), Some(0));
    h.advance(1900);
    let (_, out) = h.run(|st, ctx| st.tick(ctx));
    assert!(out.of(101).is_empty());
    h.advance(100);
    let (_, out) = h.run(|st, ctx| st.tick(ctx));
    assert_eq!(out.of(101), vec![K::PlayStopped]);
    assert!(h.st.playback_of(a(101)).is_none());
}

// --- issue 8: call records, queued calls, DTMF, pick-up, cancelling a transfer ---

#[test]
fn call_records_keep_the_last_legs_of_the_vdn() {
    use ccgw_domain::engine::MAX_CALL_RECORDS;
    let mut h = Harness::new();
    h.sign_in(101);
    let mut ids = Vec::new();
    for _ in 0..MAX_CALL_RECORDS + 5 {
        let (c, _) = h.customer("13900000001");
        h.ok(|st, ctx| st.answer(ctx, a(101), None));
        h.advance(2000);
        h.ok(|st, ctx| st.release(ctx, a(101)));
        ids.push(c);
    }
    assert_eq!(h.st.call_records.len(), MAX_CALL_RECORDS);
    // The oldest five were dropped; the newest is the last call, ended now, answered 2 s before.
    assert_eq!(h.st.call_records.front().unwrap().call, ids[5]);
    let last = h.st.call_records.back().unwrap();
    assert_eq!(
        (last.call, last.agent, last.end_ms, last.begin_ms),
        (ids[ids.len() - 1], a(101), h.now, Some(h.now - 2000))
    );
    assert_eq!((last.caller.as_str(), last.called.as_str(), last.skill), ("13900000001", "5000", Some(SKILL)));
}

#[test]
fn the_new_call_operations_fail_without_changing_anything() {
    let mut h = Harness::new();
    h.sign_in(101);
    h.sign_in(102);
    let none = ccgw_domain::CallId { secs: 1, seq: 999 };
    h.err(E::NoCall, |st, ctx| st.send_digits(ctx, a(101), "1"));
    h.err(E::NoCall, |st, ctx| st.cancel_transfer(ctx, a(101)));
    h.err(E::NoCall, |st, ctx| st.snatch_pickup(ctx, a(102), a(101)));
    h.err(E::InvalidParameter, |st, ctx| st.snatch_pickup(ctx, a(101), a(101)));
    h.err(E::NoCall, |st, ctx| st.relay_conference_digits(ctx, a(101)));
    h.err(E::NoCall, |st, ctx| st.request_call(ctx, a(101), none, SKILL));
    h.err(E::NoCall, |st, ctx| st.assign_in_queue(ctx, a(101), none, SKILL));
    // A call ringing at 101: 102 may take it, not 101 itself by request, not a talking agent.
    let (c, _) = h.customer("13900000001");
    h.err(E::InCall, |st, ctx| st.request_call(ctx, a(101), c, SKILL));
    let (_, out) = h.ok(|st, ctx| st.snatch_pickup(ctx, a(102), a(101)));
    assert_eq!(out.of(101), vec![K::CallRelease(c), HUNG_UP_BY_PLATFORM, K::Ready]);
    assert_eq!(h.calls_of(102), vec![c]);
    // 102 talks (not idle); 102's call is not ringing.
    h.err(E::WrongState, |st, ctx| st.snatch_pickup(ctx, a(102), a(101)));
    h.err(E::NoCall, |st, ctx| st.snatch_pickup(ctx, a(101), a(102)));
    let (_, out) = h.ok(|st, ctx| st.send_digits(ctx, a(102), "12#"));
    assert_eq!(out.telephony, vec![T::SendDigits { call: c, digits: "12#".into() }]);
}

// --- quality control ---

/// Who hears whom in each supervisor mode (`Call::hears`), and the supervisor's party leaving
/// with the agent it inspects.
#[test]
fn supervisor_modes_decide_who_hears_whom() {
    use ccgw_domain::{DomainError, Endpoint, EventKind, QcMode};
    let mut h = Harness::new();
    for id in [101, 106] {
        h.ok(|s, c| s.sign_in(c, a(id), options(false, true, InitialState::Idle), format!("g{id}"), false));
    }
    let (call, _) = h.ok(|s, c| s.customer_call(c, "13900000001", "5000", SKILL, String::new()));
    h.ok(|s, c| s.answer(c, a(101), Some(call)));
    let (agent, sup, customer) =
        (Endpoint::Agent(a(101)), Endpoint::Agent(a(106)), Endpoint::Remote("13900000001".into()));
    // Supervisor 106 (whole VDN) inspects 101; each mode in turn.
    h.ok(|s, c| s.supervise(c, a(106), a(101), QcMode::Listen));
    let hears = |h: &Harness, l: &Endpoint, sp: &Endpoint| h.st.calls[&call].hears(l, sp);
    let all = [&agent, &sup, &customer];
    let matrix =
        |h: &Harness| all.iter().map(|l| all.iter().map(|sp| hears(h, l, sp)).collect::<Vec<_>>()).collect::<Vec<_>>();
    // Rows: listener agent, supervisor, customer; columns: speaker in the same order.
    assert_eq!(matrix(&h), [[false, false, true], [true, false, true], [true, false, false]]);
    h.ok(|s, c| s.switch_supervise(c, a(106), a(101), Some(QcMode::Whisper)));
    assert_eq!(matrix(&h), [[false, true, true], [true, false, true], [true, false, false]]);
    h.ok(|s, c| s.switch_supervise(c, a(106), a(101), Some(QcMode::Insert)));
    assert_eq!(matrix(&h), [[false, true, true], [true, false, true], [true, true, false]]);
    // The supervisor cannot hold or transfer its inspection; the agent's hold silences it.
    h.err(DomainError::WrongState, |s, c| s.hold(c, a(106)));
    h.ok(|s, c| s.hold(c, a(101)));
    assert_eq!(matrix(&h), [[false, false, false], [false, false, true], [false, true, false]]);
    h.ok(|s, c| s.unhold(c, a(101), None));
    // The customer hangs up: the call ends, the supervisor's part with it.
    let (_, out) = h.run(|s, c| s.remote_hung_up(c, call, "13900000001"));
    assert!(h.st.calls.is_empty());
    assert!(out.events.iter().any(|e| e.agent == a(106) && e.kind == EventKind::CallRelease(call)), "{out:?}");
    assert!(h.st.session(a(106)).unwrap().calls.is_empty());
}
