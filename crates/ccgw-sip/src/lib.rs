//! # ccgw-sip: the SIP side of ccgw
//!
//! A signalling-only B2BUA with a built-in registrar, for real telephony behind the server's
//! `Telephony` trait (issue 11). This crate knows nothing of the engine (it depends on neither
//! `ccgw-server` nor `ccgw-domain`): the server drives it through [`SipSide`] and listens to
//! [`SipEvent`]s.
//!
//! ## What is built
//!
//! * **Transport**: UDP and TCP on one address ([`SipConfig::listen`], port 0 allowed; see
//!   [`SipSide::udp_addr`] / [`SipSide::tcp_addr`]).
//! * **Registrar**: agent phones REGISTER with their number as user name; digest
//!   authentication (RFC 2617 / RFC 3261 §22: MD5, `qop=auth`, nonces of 128 bits from the OS
//!   CSPRNG valid for 5 minutes, nonce counts must grow). 401 challenges, 403 on wrong
//!   credentials, 404 for a number that is not provisioned, 423 below `min_expires`, expiries
//!   above `max_expires` clamped, `Expires: 0` / `expires=0` / `Contact: *` unregister,
//!   bindings lapse when not refreshed ([`SipEvent::Registered`] / [`SipEvent::Unregistered`]).
//!   One binding per number (the latest REGISTER wins). Passwords are never logged.
//! * **Inbound legs**: an INVITE whose request-URI user is one of
//!   [`SipConfig::access_codes`] is answered `100`, `180` and reported as
//!   [`SipEvent::Inbound`] (the caller hears ringing while queued). Any other number: `404`.
//!   The caller's CANCEL (`487`) or BYE ends the leg ([`SipEvent::LegEnded`]).
//! * **Outbound legs**: [`SipSide::ring`] (an agent's phone at its registered contact, with
//!   `Call-Info: <sip:...>;answer-after=0` for auto-answer) and [`SipSide::dial`] (the
//!   outbound trunk). `180`/`183` → [`SipEvent::Ringing`], `200` → ACK +
//!   [`SipEvent::Answered`], `4xx`–`6xx` or no answer at all (timer B) → [`SipEvent::Failed`].
//! * **Bridging**: a leg rung for a customer leg offers the customer's SDP; the phone's answer
//!   answers the customer leg (`200` with the phone's SDP). SDP is passed through, media flows
//!   endpoint to endpoint. When the customer leg ends, or an answered agent leg ends, the other
//!   leg is released too (BYE, or CANCEL while unanswered) and both report
//!   [`SipEvent::LegEnded`] (the released one with [`EndReason::PeerEnded`]). An agent leg that
//!   ends unanswered (rejected, cancelled on ring time-out, lost a CANCEL/200 race) leaves the
//!   customer leg queued.
//! * **Call control**: [`SipSide::hangup`], [`SipSide::cancel`], [`SipSide::reject`],
//!   [`SipSide::hold`] / [`SipSide::unhold`] (re-INVITE with the SDP ccgw last sent on that leg,
//!   direction rewritten to `a=sendonly` / `a=sendrecv`, origin version incremented).
//! * **Re-connecting answered legs** (consultation, transfer, callout): [`SipSide::ring`] or
//!   [`SipSide::dial`] with an *answered* peer offers that peer's SDP (`a=sendrecv`) and, when
//!   the new leg answers, re-INVITEs the peer with the new leg's SDP; [`SipSide::connect`]
//!   re-INVITEs two answered legs each with the other's SDP. Such legs are not linked (each
//!   is released by its own command). Every re-INVITE keeps the leg's own `o=` origin with a
//!   higher version (`sdp::reorigin`) and re-INVITEs of one leg go one at a time.
//!   [`SipSide::pick_up`] rings an agent's phone for a call it places, with `answer-after=0`
//!   and an inactive placeholder SDP until a far end is connected.
//! * **Robustness**: unparsable datagrams and TCP garbage are dropped by the stack; every
//!   handler answers or drops, none panics on network input. Retransmissions, CANCEL/200 races
//!   (a 2xx to a cancelled INVITE is ACKed and BYEd) and timers are the stack's. BYE and
//!   CANCEL transactions run in the background: a released leg is over for ccgw at once, even
//!   when the far end vanished (its BYE times out later, unseen). A phone that never answers
//!   an INVITE at all fails with 408 after timer B (32 s); ringing without answer is for the
//!   engine's ring time-out to [`SipSide::cancel`] (the stack's own timer C is 3 minutes).
//! * **Keepalive** (`side/keepalive.rs`): every [`SipConfig::keepalive`] (30 s by default, zero:
//!   off) each answered leg gets an in-dialog OPTIONS. No answer within the interval (at most
//!   32 s), `408` or `481`: the far end is gone, and the leg ends with
//!   [`SipEvent::LegEnded`] / [`EndReason::Timeout`] (BYE in the background, the bridged leg
//!   released as for a BYE). Any other answer (`200`, `405`, `501`...) says the far end is
//!   there. A hold/unhold re-INVITE answered `408` / `481`, or not at all (timer B, 32 s),
//!   ends its leg the same way. OPTIONS rather than a re-INVITE or UPDATE: it changes no
//!   session state and cannot glare with a hold; phones and trunks answer it in a dialog.
//!
//! ## Not built yet
//!
//! * Re-INVITEs from the far end are answered locally (with the SDP ccgw last sent), not
//!   relayed. Conferences (no mixer).
//! * Session timers (RFC 4028): ccgw neither asks for nor refreshes them (its keepalive is
//!   OPTIONS); a far end that requires them (`421`) is not served. A keepalive that cannot
//!   even be sent (e.g. a TCP phone whose connection is gone) is retried at the next
//!   interval rather than ending the leg.
//! * Relaying DTMF / INFO, PRACK (100rel), UPDATE-based session changes.
//! * Outbound trunk authentication, TLS, several bindings per number, NAT handling beyond
//!   using the REGISTER's source address when the Contact is not an IP literal.
//!
//! ## Design
//!
//! The stack is [rsipstack](https://docs.rs/rsipstack) (pinned `=0.7.14`): its transport layer,
//! transaction layer (retransmissions, timers, CANCEL matching) and dialog layer (in-dialog
//! requests, CSeq, route sets) are used as they are. On top of them, [`SipSide`] keeps:
//!
//! * the registrar (`registrar.rs`, pure logic: digest, nonces, bindings),
//! * a table of legs, each an rsipstack `InviteDialog` plus what the B2BUA needs: kind
//!   (inbound / outbound), answered, the SDP each side sent, the bridged peer. One task per leg
//!   follows its dialog states; one task per outbound INVITE follows its final outcome.
//!   A leg leaves the table exactly once (`end_leg`), which is where `LegEnded` is emitted and
//!   the peer released, so events are never doubled and legs do not leak.
//!
//! Events are sent on an unbounded channel: the engine consumes them in its own loop.
//!
//! rsipstack fitted a B2BUA without patching: server dialogs for inbound legs
//! (`get_or_create_server_invite`, `ringing`, `accept`, `reject`), client dialogs for outbound
//! legs (`do_invite_async`, `cancel`, `bye`, `reinvite`); ccgw has no transaction code of its
//! own. Its default features (TLS, WebSocket, DNS SRV) are off.
//!
//! ## Tests
//!
//! `cargo test -p ccgw-sip`: unit tests (digest incl. RFC 2617's worked example, SDP
//! rewriting), `tests/wire.rs` (exact messages against hand-made UDP peers), `tests/faults.rs`
//! (races and faults, keepalives), `tests/registrar.rs` and `tests/e2e.rs` (SIPp scenarios in
//! `tests/sipp/`), `tests/baresip.rs` (a real phone; its setup in `tests/common/baresip.rs`, also
//! used by ccgw-server's `tests/sip_baresip.rs`). SIPp scenarios of calls longer than the
//! keepalive must answer in-dialog OPTIONS (SIPp aborts a call on an unexpected request).
//! Tests needing `sipp` or `baresip` skip when the binary is missing, unless `REQUIRE_SIP=1`;
//! `SIPP_TRACE=1` keeps SIPp's message logs.

mod registrar;
mod sdp;
mod side;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

pub use registrar::{Contact, SipTransport};
pub use sdp::{Direction, direction as sdp_direction, with_direction as sdp_with_direction};
pub use side::SipSide;

/// The SIP side's configuration (`[telephony.sip]`). Its `Debug` shows the phone numbers, not
/// their passwords.
#[derive(Clone)]
pub struct SipConfig {
    /// Where UDP and TCP listen (port 0: any free port).
    pub listen: SocketAddr,
    /// The digest realm of the registrar.
    pub realm: String,
    /// Phone number → password. Only these numbers may register.
    pub phones: HashMap<String, String>,
    /// Called numbers that enter the ACD (request-URI user of an inbound INVITE).
    pub access_codes: Vec<String>,
    /// Where callouts ([`SipSide::dial`]) are sent (UDP).
    pub trunk: Option<SocketAddr>,
    /// The shortest registration accepted (shorter: 423 Interval Too Brief).
    pub min_expires: u32,
    /// The longest registration granted (longer requests are clamped).
    pub max_expires: u32,
    /// How often an answered leg's far end is asked whether the call still exists (an
    /// in-dialog OPTIONS; no answer within the interval (at most 32 s), 408 or 481: the leg
    /// ends with [`EndReason::Timeout`]). Zero: never.
    pub keepalive: Duration,
}

impl std::fmt::Debug for SipConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut numbers: Vec<&String> = self.phones.keys().collect();
        numbers.sort();
        f.debug_struct("SipConfig")
            .field("listen", &self.listen)
            .field("realm", &self.realm)
            .field("phones", &numbers)
            .field("access_codes", &self.access_codes)
            .field("trunk", &self.trunk)
            .field("min_expires", &self.min_expires)
            .field("max_expires", &self.max_expires)
            .field("keepalive", &self.keepalive)
            .finish()
    }
}

impl SipConfig {
    /// A configuration listening on `listen`, realm `ccgw`, no phones, no access codes, no
    /// trunk, expiries 60 s to 3600 s, a keepalive every 30 s.
    pub fn new(listen: SocketAddr) -> Self {
        SipConfig {
            listen,
            realm: "ccgw".to_string(),
            phones: HashMap::new(),
            access_codes: Vec::new(),
            trunk: None,
            min_expires: 60,
            max_expires: 3600,
            keepalive: Duration::from_secs(30),
        }
    }
}

/// One call leg (one dialog between ccgw and a far end).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LegId(pub u64);

/// Why a leg ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// The caller cancelled before the leg was answered.
    RemoteCancel,
    /// The far end sent BYE.
    RemoteBye,
    /// ccgw ended it (hangup, cancel, reject).
    LocalHangup,
    /// The leg bridged with it ended, so ccgw released this one.
    PeerEnded,
    /// The dialog timed out (no ACK, no response).
    Timeout,
}

/// What happens on the SIP side, for the engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SipEvent {
    /// A phone registered (or refreshed to a new contact).
    Registered { number: String },
    /// A phone's binding was removed or lapsed.
    Unregistered { number: String },
    /// An INVITE to an access code: the caller hears ringing until the leg is answered
    /// (by a bridged leg answering) or ended.
    Inbound {
        leg: LegId,
        /// The caller (From user).
        from: String,
        /// The access code called (request-URI user).
        to: String,
        sdp: Option<Vec<u8>>,
    },
    /// An outbound leg is ringing (180/183).
    Ringing { leg: LegId },
    /// An outbound leg was answered (200, ACK sent).
    Answered { leg: LegId },
    /// An outbound leg failed: final status 4xx–6xx, or 408 when nothing answered. Terminal:
    /// no `LegEnded` follows.
    Failed { leg: LegId, status: u16 },
    /// A leg ended. Terminal.
    LegEnded { leg: LegId, reason: EndReason },
}

/// Errors of the [`SipSide`] API.
#[derive(Debug, thiserror::Error)]
pub enum SipError {
    #[error("cannot bind: {0}")]
    Bind(String),
    #[error("phone {0} is not registered")]
    NotRegistered(String),
    #[error("no such leg: {0:?}")]
    UnknownLeg(LegId),
    #[error("leg {0:?}: {1}")]
    InvalidState(LegId, &'static str),
    #[error("leg {0:?}: request rejected with {1}")]
    Rejected(LegId, u16),
    #[error("no outbound trunk configured")]
    NoTrunk,
    #[error("not a dialable number: {0:?}")]
    InvalidNumber(String),
    #[error("SIP stack: {0}")]
    Stack(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_debug_hides_passwords() {
        let mut c = SipConfig::new("127.0.0.1:0".parse().expect("addr"));
        c.phones.insert("7101".into(), "s3cret-pw".into());
        let shown = format!("{c:?}");
        assert!(shown.contains("7101"), "{shown}");
        assert!(!shown.contains("s3cret-pw"), "{shown}");
    }
}
