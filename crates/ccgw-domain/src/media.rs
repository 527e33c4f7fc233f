//! Recording and playback (the vendor's `recordplay`): a recording of the agent's call, kept on
//! the agent's session while it runs and then in the VDN's bounded history of record files; and
//! the playback of a file to the agent's phone, on the session too. Pure state and arithmetic;
//! the engine drives it (`engine/media.rs`).

use std::collections::VecDeque;

use crate::ids::{AgentId, CallId, SkillId};

/// Running or paused (a recording and a playback have the same two states while they exist).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum MediaState {
    Running,
    Paused,
}

/// A recording of the agent's call in progress.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Recording {
    /// The platform's recording task (a per-VDN counter).
    pub task_id: u32,
    pub record_id: String,
    pub file_name: String,
    pub call: CallId,
    pub caller: String,
    pub called: String,
    pub skill: Option<SkillId>,
    pub begin_ms: u64,
    pub state: MediaState,
}

/// A finished recording.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RecordFile {
    pub record_id: String,
    pub file_name: String,
    pub call: CallId,
    pub agent: AgentId,
    pub skill: Option<SkillId>,
    pub caller: String,
    pub called: String,
    pub begin_ms: u64,
    pub end_ms: u64,
}

/// How many finished recordings a VDN keeps (the oldest go first).
pub const RECORD_HISTORY: usize = 1000;

/// The VDN's finished recordings, oldest first, and its recording-task counter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RecordLog {
    pub last_task_id: u32,
    pub files: VecDeque<RecordFile>,
}

impl RecordLog {
    pub(crate) fn next_task(&mut self) -> u32 {
        self.last_task_id = self.last_task_id.wrapping_add(1).max(1);
        self.last_task_id
    }

    pub(crate) fn push(&mut self, file: RecordFile) {
        if self.files.len() >= RECORD_HISTORY {
            self.files.pop_front();
        }
        self.files.push_back(file);
    }
}

/// What a record-file query asks for; `None` matches anything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecordFilter {
    pub agent: Option<AgentId>,
    pub skill: Option<SkillId>,
    pub call: Option<CallId>,
    /// Recordings that began at or after this (ms since the epoch).
    pub from_ms: Option<u64>,
    /// Recordings that began at or before this.
    pub to_ms: Option<u64>,
}

impl RecordFilter {
    pub fn matches(&self, f: &RecordFile) -> bool {
        self.agent.is_none_or(|a| a == f.agent)
            && self.skill.is_none_or(|s| Some(s) == f.skill)
            && self.call.is_none_or(|c| c == f.call)
            && self.from_ms.is_none_or(|t| f.begin_ms >= t)
            && self.to_ms.is_none_or(|t| f.begin_ms <= t)
    }
}

/// A file playing to the agent's phone.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Playback {
    pub file: String,
    /// How long the file plays (the simulated files all have the configured length).
    pub length_ms: u64,
    /// The position at `since_ms`.
    pub position_ms: u64,
    pub since_ms: u64,
    pub state: MediaState,
}

impl Playback {
    /// Where the playback is at `now_ms`.
    pub fn position(&self, now_ms: u64) -> u64 {
        match self.state {
            MediaState::Running => {
                self.position_ms.saturating_add(now_ms.saturating_sub(self.since_ms)).min(self.length_ms)
            }
            MediaState::Paused => self.position_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn playback_position() {
        let mut p = Playback {
            file: "f".into(),
            length_ms: 10_000,
            position_ms: 2000,
            since_ms: 100,
            state: MediaState::Running,
        };
        assert_eq!(p.position(1100), 3000);
        assert_eq!(p.position(50_000), 10_000);
        p.state = MediaState::Paused;
        assert_eq!(p.position(50_000), 2000);
    }

    #[test]
    fn history_is_bounded() {
        let mut log = RecordLog::default();
        for i in 0..RECORD_HISTORY as u64 + 5 {
            log.push(RecordFile {
                record_id: i.to_string(),
                file_name: String::new(),
                call: CallId { secs: 1, seq: i },
                agent: AgentId(101),
                skill: None,
                caller: String::new(),
                called: String::new(),
                begin_ms: i,
                end_ms: i,
            });
        }
        assert_eq!(log.files.len(), RECORD_HISTORY);
        assert_eq!(log.files.front().unwrap().record_id, "5");
    }
}
