//! Recording and playback (the vendor's `recordplay`): a recording of the agent's call, kept on
//! the agent's session while it runs and then in the VDN's bounded history of record files; and
//! the playback of a file to the agent's phone, on the session too. Pure state and arithmetic;
//! the engine drives it (`engine/media.rs`).

use std::collections::VecDeque;

use crate::ids::{AgentId, CallId, SkillId};

/// Running or paused (a recording and a playback have the same two states while they exist).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaState {
    Running,
    Paused,
}

/// A recording of the agent's call in progress.
#[derive(Clone, Debug, PartialEq, Eq)]
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

/// A UTC date and time of day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

/// The UTC date and time of `ms` since the epoch (H. Hinnant's `civil_from_days`).
pub fn civil_from_ms(ms: u64) -> Civil {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let tod = (secs % 86_400) as u32;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    Civil { year, month, day, hour: tod / 3600, minute: tod % 3600 / 60, second: tod % 60 }
}

/// Milliseconds since the epoch of a UTC date and time; `None` for an invalid date or one before
/// 1970 (`days_from_civil`).
pub fn ms_from_civil(c: Civil) -> Option<u64> {
    let leap = (c.year % 4 == 0 && c.year % 100 != 0) || c.year % 400 == 0;
    let days_in = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1970..=9999).contains(&c.year)
        || !(1..=12).contains(&c.month)
        || c.day == 0
        || c.day > days_in[(c.month - 1) as usize]
        || c.hour > 23
        || c.minute > 59
        || c.second > 59
    {
        return None;
    }
    let y = if c.month <= 2 { c.year - 1 } else { c.year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(c.month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(c.day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + i64::from(c.hour * 3600 + c.minute * 60 + c.second);
    u64::try_from(secs).ok().map(|s| s * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        let c = civil_from_ms(1_477_393_325_000);
        assert_eq!(c, Civil { year: 2016, month: 10, day: 25, hour: 11, minute: 2, second: 5 });
        assert_eq!(ms_from_civil(c), Some(1_477_393_325_000));
        assert_eq!(civil_from_ms(0), Civil { year: 1970, month: 1, day: 1, hour: 0, minute: 0, second: 0 });
        let leap = Civil { year: 2024, month: 2, day: 29, hour: 23, minute: 59, second: 59 };
        assert_eq!(civil_from_ms(ms_from_civil(leap).unwrap()), leap);
        assert_eq!(ms_from_civil(Civil { day: 30, ..leap }), None);
        assert_eq!(ms_from_civil(Civil { year: 2023, day: 29, ..leap }), None);
        assert_eq!(ms_from_civil(Civil { year: 1969, ..leap }), None);
        assert_eq!(ms_from_civil(Civil { hour: 24, ..leap }), None);
    }

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
