//! What an agent sets for itself (custom state, private configuration, talk right, self-recording
//! flags, its phone) and the messages agents send each other (notes, bulletins).

use super::{Ctx, Result, VdnState, valid_number};
use crate::agent::AgentSettings;
use crate::error::DomainError;
use crate::event::EventKind;
use crate::ids::AgentId;

impl VdnState {
    /// Change the session's settings (the caller has validated the new values).
    pub fn set_settings(&mut self, agent: AgentId, f: impl FnOnce(&mut AgentSettings)) -> Result<()> {
        f(&mut self.session_mut(agent)?.settings);
        Ok(())
    }

    /// Bind another phone to the session: only between calls with the phone on the hook (an
    /// always-off-hook agent's phone is off the hook between calls, so it cannot change phones
    /// until `releasephone`).
    pub fn bind_phone(&mut self, agent: AgentId, phone: &str) -> Result<()> {
        if !valid_number(phone) {
            return Err(DomainError::InvalidNumber);
        }
        let s = self.session(agent)?;
        if s.in_call() || s.phone_off_hook {
            return Err(DomainError::InCall);
        }
        self.session_mut(agent)?.options.phone = phone.to_owned();
        Ok(())
    }

    /// A note from one agent to another of the VDN, who must be signed in.
    pub fn send_note(&mut self, ctx: &mut Ctx, from: AgentId, to: AgentId) -> Result<()> {
        self.session(from)?;
        if self.agent(to)?.session.is_none() {
            return Err(DomainError::TargetUnavailable);
        }
        ctx.emit(to, EventKind::Note { from });
        Ok(())
    }

    /// A bulletin to the signed-in agents among `to` (`None`: every signed-in agent of the VDN
    /// but the sender). Returns how many received it.
    pub fn send_bulletin(&mut self, ctx: &mut Ctx, from: AgentId, to: Option<&[AgentId]>, data: &str) -> Result<usize> {
        self.session(from)?;
        let receivers: Vec<AgentId> = match to {
            None => {
                self.agents.iter().filter(|(id, a)| **id != from && a.session.is_some()).map(|(id, _)| *id).collect()
            }
            Some(list) => {
                for id in list {
                    self.agent(*id)?;
                }
                let mut v: Vec<AgentId> = list
                    .iter()
                    .copied()
                    .filter(|id| self.agents.get(id).is_some_and(|a| a.session.is_some()))
                    .collect();
                v.sort_unstable();
                v.dedup();
                v
            }
        };
        for id in &receivers {
            ctx.emit(*id, EventKind::Bulletin { from, data: data.to_owned() });
        }
        Ok(receivers.len())
    }
}
