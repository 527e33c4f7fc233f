//! Noticing a far end that vanished mid-call: each answered leg is asked, every
//! [`crate::SipConfig::keepalive`], with an in-dialog OPTIONS whether its dialog still exists.
//!
//! OPTIONS rather than a re-INVITE or UPDATE: it changes no session state (no offer/answer, no
//! glare with a hold), and phones and trunks answer it inside a dialog (200, or 405/501 from
//! those that do not support it, which still says the far end is there). No answer within the
//! interval (at most the transaction's own 32 s), `408` or `481`: the dialog is gone, and the
//! leg ends as [`EndReason::Timeout`] (BYE in the background, the bridged leg released). A
//! re-INVITE answered `408` / `481`, or not at all (timer B), ends its leg the same way.

use std::time::Duration;

use rsipstack::sip::Method;
use tracing::{debug, info};

use super::SipSide;
use crate::{EndReason, LegId};

/// The longest ccgw waits for the answer to one keepalive (64·T1, the transaction's timer F).
const LONGEST_WAIT: Duration = Duration::from_secs(32);

/// Whether a final status to an in-dialog request says the dialog is gone (RFC 3261 §12.2.1.2:
/// 481 Call/Transaction Does Not Exist, 408 Request Timeout, which the stack also reports when
/// nothing answered).
pub(super) fn ends_dialog(status: u16) -> bool {
    matches!(status, 408 | 481)
}

impl SipSide {
    /// Starts the keepalive of `leg` (its dialog is confirmed), once per leg.
    pub(super) fn keep_alive(&self, leg: LegId) {
        let interval = self.inner.keepalive;
        if interval.is_zero() || !self.inner.keepalives.lock().insert(leg) {
            return;
        }
        let side = self.clone();
        tokio::spawn(async move {
            side.keepalive_loop(leg, interval).await;
            side.inner.keepalives.lock().remove(&leg);
        });
    }

    async fn keepalive_loop(&self, leg: LegId, interval: Duration) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = self.inner.cancel.cancelled() => return,
            }
            let dialog = match self.inner.legs.lock().get(&leg) {
                None => return,
                Some(l) if l.ending.is_some() => return,
                // An outbound leg's dialog may be confirmed a moment before ccgw took the 200.
                Some(l) if !l.answered => continue,
                Some(l) => l.dialog.clone(),
            };
            let wait = interval.min(LONGEST_WAIT);
            let status = match tokio::time::timeout(wait, dialog.request(Method::Options, None, None)).await {
                Err(_) => Some(408),
                Ok(Ok(Some(resp))) => Some(resp.status_code.code()),
                // Not confirmed at the moment (e.g. a re-INVITE's ACK pending): next time.
                Ok(Ok(None)) => None,
                Ok(Err(e)) => {
                    debug!(?leg, error = %e, "keepalive OPTIONS could not be sent");
                    None
                }
            };
            match status {
                Some(code) if ends_dialog(code) => {
                    self.far_end_gone(leg, "keepalive OPTIONS", code).await;
                    return;
                }
                Some(code) => debug!(?leg, code, "keepalive answered"),
                None => {}
            }
        }
    }

    /// The far end of `leg` no longer knows its dialog (`status` to `what`): the leg ends as
    /// [`EndReason::Timeout`], its peer is released.
    pub(super) async fn far_end_gone(&self, leg: LegId, what: &str, status: u16) {
        if !self.inner.legs.lock().contains_key(&leg) {
            return;
        }
        info!(?leg, what, status, "the far end of a leg is gone; ending the leg");
        self.release(leg, EndReason::Timeout).await;
    }
}
