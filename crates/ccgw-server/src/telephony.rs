//! The telephony boundary: phones outside the contact center (customers, dialled numbers).
//!
//! The engine emits [`TelephonyCommand`]s; an implementation of [`Telephony`] carries them out
//! and reports back through a channel of [`TelephonyReport`]s. The embedded default,
//! [`SimulatedTelephony`], behaves per number pattern as configured (answer after N ms, busy,
//! no answer, hang up after N ms). The SIP implementation, `telephony_sip::SipTelephony`, sits behind the same trait.

use std::time::Duration;

use ccgw_domain::{CallId, TelephonyCommand, VdnId};
use tokio::sync::mpsc::UnboundedSender;

use crate::config::{Outcome, Telephony as TelephonyConfig};

/// What a remote phone did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TelephonyReport {
    Answered { vdn: VdnId, call: CallId, number: String },
    Failed { vdn: VdnId, call: CallId, number: String },
    HungUp { vdn: VdnId, call: CallId, number: String },
}

pub trait Telephony: Send + Sync + 'static {
    fn execute(&self, vdn: VdnId, command: TelephonyCommand);

    /// Whether the agent's phone `phone` can take calls (a sign-in binding it is refused
    /// otherwise). The simulated phones always can; a SIP phone must be registered.
    fn phone_usable(&self, _phone: &str) -> bool {
        true
    }

    /// Cluster mode: whether this node carries out the telephony of every VDN as it applies
    /// the log (the SIP side: a call's dialogs all live on its node), rather than only of the
    /// VDNs whose lease it holds.
    fn executes_every_vdn(&self) -> bool {
        false
    }
}

/// Cluster mode with SIP, on the nodes that do not run the SIP side: the node named by
/// `[telephony.sip] node` carries out every VDN's telephony, so these carry out nothing. They
/// cannot see the SIP node's registrations: a sign-in here is not refused for an unregistered
/// phone (offers to it then fail as ring time-outs).
pub struct NoTelephony;

impl Telephony for NoTelephony {
    fn execute(&self, _vdn: VdnId, _command: TelephonyCommand) {}
}

/// How long a busy number takes to report busy.
const BUSY_AFTER: Duration = Duration::from_millis(200);

pub struct SimulatedTelephony {
    rules: TelephonyConfig,
    reports: UnboundedSender<TelephonyReport>,
}

impl SimulatedTelephony {
    pub fn new(rules: TelephonyConfig, reports: UnboundedSender<TelephonyReport>) -> Self {
        SimulatedTelephony { rules, reports }
    }
}

impl Telephony for SimulatedTelephony {
    fn execute(&self, vdn: VdnId, command: TelephonyCommand) {
        let reports = self.reports.clone();
        match command {
            TelephonyCommand::Dial { call, number } => {
                let rule = self.rules.rule_for(&number).clone();
                tokio::spawn(async move {
                    let report = |f: fn(VdnId, CallId, String) -> TelephonyReport| {
                        let _ = reports.send(f(vdn, call, number.clone()));
                    };
                    match rule.outcome {
                        Outcome::Answer => {
                            tokio::time::sleep(Duration::from_millis(rule.answer_after_ms)).await;
                            report(|vdn, call, number| TelephonyReport::Answered { vdn, call, number });
                            if let Some(ms) = rule.hangup_after_ms {
                                tokio::time::sleep(Duration::from_millis(ms)).await;
                                report(|vdn, call, number| TelephonyReport::HungUp { vdn, call, number });
                            }
                        }
                        Outcome::Busy => {
                            tokio::time::sleep(BUSY_AFTER).await;
                            report(|vdn, call, number| TelephonyReport::Failed { vdn, call, number });
                        }
                        Outcome::NoAnswer => {
                            tokio::time::sleep(Duration::from_millis(rule.answer_after_ms)).await;
                            report(|vdn, call, number| TelephonyReport::Failed { vdn, call, number });
                        }
                    }
                });
            }
            TelephonyCommand::Attach { call, number } => {
                if let Some(ms) = self.rules.rule_for(&number).hangup_after_ms {
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(ms)).await;
                        let _ = reports.send(TelephonyReport::HungUp { vdn, call, number });
                    });
                }
            }
            // A report about a party the engine already dropped is ignored by the engine, so
            // pending timers need no cancelling.
            TelephonyCommand::Hangup { .. } => {}
            // --- recordplay --- The simulated media server records nothing and plays silence:
            // it accepts every command. A playback's end is the engine's (its housekeeping ends
            // it after `[recording] play_length_ms` of playing), so nothing is reported back.
            TelephonyCommand::Record { .. } | TelephonyCommand::Play { .. } => {}
            // The simulated phones have no IVR listening for digits: nothing to report.
            TelephonyCommand::SendDigits { .. } | TelephonyCommand::RelayDigits { .. } => {}
            // Quality control: the simulated media mixes nothing; who hears whom is the engine's
            // (`Call::hears`). A SIP telephony would bridge the supervisor's leg in that mode.
            TelephonyCommand::Supervise { .. } => {}
            // The agents' phones are implied in the simulation (the engine emits these only with
            // `Policy::phone_legs`, which simulated mode leaves off).
            TelephonyCommand::RingAgent { .. }
            | TelephonyCommand::AnswerAgent { .. }
            | TelephonyCommand::ReleaseAgent { .. }
            | TelephonyCommand::HoldAgent { .. }
            | TelephonyCommand::ConnectAgent { .. } => {}
        }
    }
}
