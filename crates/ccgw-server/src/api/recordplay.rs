//! `recordplay`: recording the agent's call, playing files to the agent's phone, and the VDN's
//! record files. The state machines are the engine's (`ccgw_domain::engine`, media); the
//! simulated telephony records and plays nothing (docs/compat.md, "Recording and playback").

use ccgw_domain::{AgentId, DomainError, RecordFile, RecordFilter, VdnId, cmd};
use ccgw_store::Store;
use ccgw_wire::Method;
use ccgw_wire::request::{PlayRequest, parse_datetime};
use ccgw_wire::response::{self, RecordFileInfo};
use ccgw_wire::retcode::{PARAMETER_INVALID, RECORD_FILE_MISSING, RECORD_FILE_NAME_INVALID};

use super::{Ctx, Outcome, Reply, fail, ok_empty, parse_agent, parse_call_id, peer_in_vdn, query_param, skill_in_vdn};
use crate::gateway::Gateway;

/// Longest file name `beginRecord` takes, and longest `filepath` of the URL queries.
const MAX_FILE_NAME: usize = 100;
const MAX_FILE_PATH: usize = 255;
/// Most record files one page (`startposition`..`endposition`) holds, and the most files one
/// batch zip takes.
const MAX_PAGE: u32 = 100;
/// Longest record id `recordfilefromrecordid` takes.
const MAX_RECORD_ID: usize = 64;

/// The family's interfaces, once the GUID has been checked.
pub(super) fn dispatch<S: Store>(ctx: Ctx<'_, S>, method: Method) -> Outcome {
    let Ctx { gw, vdn, agent, params, query, body } = ctx;
    let e = fail(method);
    let done = |r: Result<(), DomainError>| r.map_err(e).and_then(|_| ok_empty(method));
    let list = |files: Vec<RecordFileInfo>| -> Outcome { Ok(Reply::new(response::ok("", files))) };
    match method {
        Method::BeginRecord => {
            let name = query_param(query, "filename").unwrap_or_default();
            if name.is_empty() || name.chars().count() > MAX_FILE_NAME || name.chars().any(char::is_control) {
                return Err(PARAMETER_INVALID);
            }
            done(gw.run(vdn, cmd::BeginRecord { agent, file_name: Some(name) }).map(drop))
        }
        Method::BeginRecordWithoutFilename => done(gw.run(vdn, cmd::BeginRecord { agent, file_name: None }).map(drop)),
        Method::PauseRecord => done(gw.run(vdn, cmd::PauseRecord { agent, pause: true })),
        Method::ResumeRecord => done(gw.run(vdn, cmd::PauseRecord { agent, pause: false })),
        Method::StopRecord => done(gw.run(vdn, cmd::StopRecord { agent })),
        Method::BeginPlay => {
            let req = PlayRequest::parse(&body)?;
            let length = gw.config.recording.play_length_ms;
            let from_ms = u64::from(req.start_secs) * 1000;
            done(gw.run(vdn, cmd::BeginPlay { agent, file: req.voice_path, from_ms, length_ms: length }))
        }
        Method::PausePlay => done(gw.run(vdn, cmd::PausePlay { agent, pause: true })),
        Method::ResumePlay => done(gw.run(vdn, cmd::PausePlay { agent, pause: false })),
        Method::ForeFastPlay | Method::BackFastPlay => {
            let secs = seconds(params.first().copied().unwrap_or(""))?;
            let forward = method == Method::ForeFastPlay;
            done(gw.run(vdn, cmd::SeekPlay { agent, forward, secs }))
        }
        Method::StopPlay => done(gw.run(vdn, cmd::StopPlay { agent })),
        Method::QueryRecordFile | Method::QuerySelfRecordFile => {
            let target = match method {
                Method::QuerySelfRecordFile => Some(agent),
                _ => workno(gw, vdn, query).map_err(|r| r.map_or(PARAMETER_INVALID, e))?,
            };
            let skill = match query_param(query, "skillid").filter(|v| !v.is_empty()) {
                None => None,
                Some(v) => Some(skill_in_vdn(gw, vdn, digits(&v).ok_or(PARAMETER_INVALID)?)?),
            };
            let (from_ms, to_ms) = period(query, "startdate", "enddate")?;
            let (first, last) = page(query)?;
            let filter = RecordFilter { agent: target, skill, call: None, from_ms, to_ms };
            list(files(gw, vdn, &filter, first, last)?)
        }
        Method::QueryRecordFileByCallId => {
            let call = parse_call_id(&query_param(query, "callid").unwrap_or_default())?;
            let target = workno(gw, vdn, query).map_err(|r| r.map_or(PARAMETER_INVALID, e))?;
            if let Some(t) = query_param(query, "calltime").filter(|v| !v.is_empty()) {
                parse_datetime(&t).ok_or(PARAMETER_INVALID)?;
            }
            let filter = RecordFilter { agent: target, call: Some(call), ..RecordFilter::default() };
            list(files(gw, vdn, &filter, 1, u32::MAX)?)
        }
        Method::QueryRecordFileURL | Method::QueryRecordZipFileURL => {
            let path = query_param(query, "filepath").unwrap_or_default();
            let file = known_file(gw, vdn, &path)?;
            let zip = if method == Method::QueryRecordZipFileURL { ".zip" } else { "" };
            let url = format!("{}/{}/{}{zip}", gw.config.recording.url_base, vdn.0, encode(&file));
            Ok(Reply::new(response::ok("", url)))
        }
        Method::QueryBatchRecordZipFileURL => {
            let paths = query_param(query, "filepath").unwrap_or_default();
            let names: Vec<&str> = paths.split(';').collect();
            if names.len() > MAX_PAGE as usize {
                return Err(RECORD_FILE_NAME_INVALID);
            }
            let files =
                names.iter().map(|p| known_file(gw, vdn, p).map(|f| encode(&f))).collect::<Result<Vec<_>, _>>()?;
            let url = format!("{}/{}/batch.zip?files={}", gw.config.recording.url_base, vdn.0, files.join(";"));
            Ok(Reply::new(response::ok("", url)))
        }
        Method::QueryRecordFileFromRecordID => {
            let id = query_param(query, "recordid").unwrap_or_default();
            if id.is_empty() || id.len() > MAX_RECORD_ID {
                return Err(PARAMETER_INVALID);
            }
            let file = gw.read(vdn, |s| s.record_file_by_id(&id).map(RecordFileInfo::new)).map_err(e)?;
            Ok(Reply::new(response::ok("", file.ok_or(RECORD_FILE_MISSING)?)))
        }
        Method::QueryVoiceRecordScore => {
            workno(gw, vdn, query).map_err(|r| r.map_or(PARAMETER_INVALID, e))?;
            period(query, "recordstartdate", "recordenddate")?;
            // ccgw has no quality inspection: no recording has a score.
            Ok(Reply::new(response::ok("", Vec::<RecordFileInfo>::new())))
        }
        _ => Err(e(DomainError::Internal)),
    }
}

/// Seconds of `forefast/{time}` and `backfast/{time}`: 1–86400.
fn seconds(s: &str) -> Result<u32, ccgw_wire::Retcode> {
    digits(s).filter(|n| (1..=86_400).contains(n)).ok_or(PARAMETER_INVALID)
}

/// A number of at most nine digits (no sign, no blanks).
fn digits(s: &str) -> Option<u32> {
    (!s.is_empty() && s.len() <= 9 && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
}

/// The optional `workno` of a query: `Ok(None)` when absent or empty; `Err(None)` when malformed,
/// `Err(Some(e))` for an agent that is not provisioned or in another VDN.
fn workno<S: Store>(gw: &Gateway<S>, vdn: VdnId, query: &str) -> Result<Option<AgentId>, Option<DomainError>> {
    match query_param(query, "workno").filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => {
            let id = parse_agent(&v, gw.config.auth.max_workno()).ok_or(None)?;
            peer_in_vdn(gw, vdn, id.0).map(Some).map_err(Some)
        }
    }
}

/// An optional period of two `yyyy-MM-dd HH:mm:ss` parameters; the start must not be after the end.
fn period(query: &str, start: &str, end: &str) -> Result<(Option<u64>, Option<u64>), ccgw_wire::Retcode> {
    let date = |key: &str| match query_param(query, key).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => parse_datetime(&v).map(Some).ok_or(PARAMETER_INVALID),
    };
    let (from, to) = (date(start)?, date(end)?);
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(PARAMETER_INVALID);
    }
    Ok((from, to))
}

/// `startposition`..`endposition`: 1-based and inclusive, at most [`MAX_PAGE`] files; the
/// defaults are 1 and `startposition + 99`.
fn page(query: &str) -> Result<(u32, u32), ccgw_wire::Retcode> {
    let pos = |key: &str| match query_param(query, key).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => digits(&v).filter(|n| *n >= 1).map(Some).ok_or(PARAMETER_INVALID),
    };
    let first = pos("startposition")?.unwrap_or(1);
    let last = pos("endposition")?.unwrap_or(first.saturating_add(MAX_PAGE - 1));
    if last < first || last - first >= MAX_PAGE {
        return Err(PARAMETER_INVALID);
    }
    Ok((first, last))
}

/// The VDN's record files that match, oldest first, positions `first..=last` (1-based).
fn files<S: Store>(
    gw: &Gateway<S>,
    vdn: VdnId,
    filter: &RecordFilter,
    first: u32,
    last: u32,
) -> Result<Vec<RecordFileInfo>, ccgw_wire::Retcode> {
    let skip = (first - 1) as usize;
    let take = (last - first).saturating_add(1) as usize;
    gw.read(vdn, |s| s.record_files(filter).into_iter().skip(skip).take(take).map(RecordFileInfo::new).collect())
        .map_err(fail(Method::QueryRecordFile))
}

/// A `filepath` naming one of the VDN's record files (by its file name).
fn known_file<S: Store>(gw: &Gateway<S>, vdn: VdnId, path: &str) -> Result<String, ccgw_wire::Retcode> {
    if path.is_empty() || path.chars().count() > MAX_FILE_PATH || path.chars().any(char::is_control) {
        return Err(RECORD_FILE_NAME_INVALID);
    }
    let found = gw.read(vdn, |s| s.record_file_by_name(path).map(|f: &RecordFile| f.file_name.clone()));
    found.map_err(fail(Method::QueryRecordFileURL))?.ok_or(RECORD_FILE_MISSING)
}

/// Percent-encoding of a URL path segment (RFC 3986 unreserved characters kept).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding() {
        assert_eq!(encode("Y:/1/0/20161025/101/1902050.V3"), "Y%3A%2F1%2F0%2F20161025%2F101%2F1902050.V3");
        assert_eq!(encode("a b;ü"), "a%20b%3B%C3%BC");
    }

    #[test]
    fn pages() {
        assert_eq!(page(""), Ok((1, 100)));
        assert_eq!(page("startposition=101"), Ok((101, 200)));
        assert_eq!(page("startposition=3&endposition=3"), Ok((3, 3)));
        for bad in [
            "startposition=0",
            "startposition=5&endposition=4",
            "endposition=101",
            "startposition=x",
            "startposition=-1",
        ] {
            assert_eq!(page(bad), Err(PARAMETER_INVALID), "{bad}");
        }
    }
}
