//! Recording the agent's call and playing files to the agent's phone (recordplay), and the
//! VDN's history of record files. Every operation validates first and changes nothing on `Err`.

use super::*;
use crate::civil::civil_from_ms;
use crate::media::{MediaState, Playback, RecordFile, RecordFilter, Recording};

impl VdnState {
    // ----- recording ----------------------------------------------------------------------------

    /// Start recording the call the agent is talking in. `file_name`: the client's (already
    /// validated by the gateway), or `None` for one the platform names. Returns the record id.
    pub fn begin_record(&mut self, ctx: &mut Ctx, agent: AgentId, file_name: Option<String>) -> Result<String> {
        let s = self.session(agent)?;
        if s.recording.is_some() {
            return Err(DomainError::MediaBusy);
        }
        let call = self.talking_call(agent).and_then(|c| self.calls.get(&c)).ok_or(DomainError::NoCall)?;
        let (call_id, caller, called, skill) = (call.id, call.caller.clone(), call.called.clone(), call.skill);
        let task_id = self.records.next_task();
        let t = civil_from_ms(ctx.now_ms);
        let (date, time) = (
            format!("{:04}{:02}{:02}", t.year, t.month, t.day),
            format!("{:02}{:02}{:02}", t.hour, t.minute, t.second),
        );
        let vdn = self.vdn.0;
        let record_id = format!("Yc1v{vdn}a{agent}d{date}t{time}{task_id}");
        let file_name = file_name.unwrap_or_else(|| format!("Y:/{vdn}/0/{date}/{agent}/{time}{task_id}.V3"));
        let recording = Recording {
            task_id,
            record_id: record_id.clone(),
            file_name: file_name.clone(),
            call: call_id,
            caller: caller.clone(),
            called: called.clone(),
            skill,
            begin_ms: ctx.now_ms,
            state: MediaState::Running,
        };
        self.session_mut(agent)?.recording = Some(recording);
        ctx.telephony.push(TelephonyCommand::Record {
            agent,
            call: call_id,
            op: RecordOp::Start { file_name: file_name.clone() },
        });
        ctx.emit(
            agent,
            EventKind::RecordStarted {
                task_id,
                record_id: record_id.clone(),
                file_name,
                call: call_id,
                caller,
                called,
            },
        );
        Ok(record_id)
    }

    /// Pause (`pause`) or resume the agent's recording.
    pub fn pause_record(&mut self, ctx: &mut Ctx, agent: AgentId, pause: bool) -> Result<()> {
        let (from, to, op) = if pause {
            (MediaState::Running, MediaState::Paused, RecordOp::Pause)
        } else {
            (MediaState::Paused, MediaState::Running, RecordOp::Resume)
        };
        let r = self.session_mut(agent)?.recording.as_mut().ok_or(DomainError::NoMedia)?;
        if r.state != from {
            return Err(DomainError::MediaState);
        }
        r.state = to;
        let (task_id, call) = (r.task_id, r.call);
        ctx.telephony.push(TelephonyCommand::Record { agent, call, op });
        ctx.emit(agent, if pause { EventKind::RecordPaused { task_id } } else { EventKind::RecordResumed { task_id } });
        Ok(())
    }

    /// Stop the agent's recording (running or paused); it joins the VDN's record files.
    pub fn stop_record(&mut self, ctx: &mut Ctx, agent: AgentId) -> Result<()> {
        let r = self.session_mut(agent)?.recording.take().ok_or(DomainError::NoMedia)?;
        self.file_recording(ctx, agent, r);
        Ok(())
    }

    /// A recording ends: the telephony stops it, the agent is told, the file is kept.
    pub(super) fn file_recording(&mut self, ctx: &mut Ctx, agent: AgentId, r: Recording) {
        let end_ms = ctx.now_ms;
        ctx.telephony.push(TelephonyCommand::Record { agent, call: r.call, op: RecordOp::Stop });
        ctx.emit(agent, EventKind::RecordStopped { task_id: r.task_id, begin_ms: r.begin_ms, end_ms });
        self.records.push(RecordFile {
            record_id: r.record_id,
            file_name: r.file_name,
            call: r.call,
            agent,
            skill: r.skill,
            caller: r.caller,
            called: r.called,
            begin_ms: r.begin_ms,
            end_ms,
        });
    }

    /// The session is ending (already taken out of the agent): its recording is filed, its
    /// playback stopped.
    pub(super) fn end_media(&mut self, ctx: &mut Ctx, agent: AgentId, s: &mut Session) {
        if let Some(r) = s.recording.take() {
            self.file_recording(ctx, agent, r);
        }
        if s.playback.take().is_some() {
            ctx.telephony.push(TelephonyCommand::Play { agent, op: PlayOp::Stop });
            ctx.emit(agent, EventKind::PlayStopped);
        }
    }

    // ----- playback -----------------------------------------------------------------------------

    /// Play `file` to the agent's phone from `from_ms`; the agent must not be in a call.
    pub fn begin_play(
        &mut self,
        ctx: &mut Ctx,
        agent: AgentId,
        file: String,
        from_ms: u64,
        length_ms: u64,
    ) -> Result<()> {
        let s = self.session(agent)?;
        if s.playback.is_some() {
            return Err(DomainError::MediaBusy);
        }
        if s.in_call() {
            return Err(DomainError::InCall);
        }
        if from_ms >= length_ms {
            return Err(DomainError::InvalidParameter);
        }
        self.session_mut(agent)?.playback = Some(Playback {
            file: file.clone(),
            length_ms,
            position_ms: from_ms,
            since_ms: ctx.now_ms,
            state: MediaState::Running,
        });
        self.arm_playback(agent);
        ctx.telephony.push(TelephonyCommand::Play { agent, op: PlayOp::Start { file, from_ms } });
        ctx.emit(agent, EventKind::PlayAccepted);
        ctx.emit(agent, EventKind::PlayStarted);
        Ok(())
    }

    /// Pause (`pause`) or resume the playback.
    pub fn pause_play(&mut self, ctx: &mut Ctx, agent: AgentId, pause: bool) -> Result<()> {
        let now = ctx.now_ms;
        let p = self.session_mut(agent)?.playback.as_mut().ok_or(DomainError::NoMedia)?;
        let (from, to) =
            if pause { (MediaState::Running, MediaState::Paused) } else { (MediaState::Paused, MediaState::Running) };
        if p.state != from {
            return Err(DomainError::MediaState);
        }
        p.position_ms = p.position(now);
        p.since_ms = now;
        p.state = to;
        let (op, kind) =
            if pause { (PlayOp::Pause, EventKind::PlayPaused) } else { (PlayOp::Resume, EventKind::PlayResumed) };
        self.arm_playback(agent);
        ctx.telephony.push(TelephonyCommand::Play { agent, op });
        ctx.emit(agent, kind);
        Ok(())
    }

    /// Move the playback `secs` seconds forward (up to the end of the file) or back (down to
    /// its start); a paused playback stays paused.
    pub fn seek_play(&mut self, ctx: &mut Ctx, agent: AgentId, forward: bool, secs: u32) -> Result<()> {
        let now = ctx.now_ms;
        let p = self.session_mut(agent)?.playback.as_mut().ok_or(DomainError::NoMedia)?;
        let at = p.position(now);
        let by = u64::from(secs) * 1000;
        let to_ms = if forward { at.saturating_add(by).min(p.length_ms) } else { at.saturating_sub(by) };
        p.position_ms = to_ms;
        p.since_ms = now;
        self.arm_playback(agent);
        ctx.telephony.push(TelephonyCommand::Play { agent, op: PlayOp::Seek { to_ms } });
        ctx.emit(agent, EventKind::PlayJumped);
        Ok(())
    }

    pub fn stop_play(&mut self, ctx: &mut Ctx, agent: AgentId) -> Result<()> {
        self.session_mut(agent)?.playback.take().ok_or(DomainError::NoMedia)?;
        ctx.telephony.push(TelephonyCommand::Play { agent, op: PlayOp::Stop });
        ctx.emit(agent, EventKind::PlayStopped);
        // The agent can be offered calls again.
        self.distribute(ctx);
        Ok(())
    }

    /// A call needs the agent's phone: the playback to it ends (before the phone rings).
    pub(super) fn end_playback_for_call(&mut self, ctx: &mut Ctx, agent: AgentId) {
        if let Ok(s) = self.session_mut(agent)
            && s.playback.take().is_some()
        {
            ctx.telephony.push(TelephonyCommand::Play { agent, op: PlayOp::Stop });
            ctx.emit(agent, EventKind::PlayStopped);
        }
    }

    // ----- record files -------------------------------------------------------------------------

    /// The VDN's finished recordings that match, oldest first.
    pub fn record_files(&self, filter: &RecordFilter) -> Vec<&RecordFile> {
        self.records.files.iter().filter(|f| filter.matches(f)).collect()
    }

    pub fn record_file_by_id(&self, record_id: &str) -> Option<&RecordFile> {
        self.records.files.iter().find(|f| f.record_id == record_id)
    }

    pub fn record_file_by_name(&self, file_name: &str) -> Option<&RecordFile> {
        self.records.files.iter().find(|f| f.file_name == file_name)
    }

    /// The agent's recording in progress, if any.
    pub fn recording_of(&self, agent: AgentId) -> Option<&Recording> {
        self.session(agent).ok()?.recording.as_ref()
    }

    /// The playback to the agent's phone, if any.
    pub fn playback_of(&self, agent: AgentId) -> Option<&Playback> {
        self.session(agent).ok()?.playback.as_ref()
    }
}
