//! Identifiers. Plain newtypes so the compiler keeps agent ids, VDN ids and skill ids apart.

use std::fmt;
use std::str::FromStr;

/// An agent's work number ("workno" / "agentid" on the wire).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AgentId(pub u32);

/// A virtual call center (VDN / VCC): the isolation boundary between tenants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct VdnId(pub u32);

/// A skill queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SkillId(pub u32);

impl fmt::Display for AgentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A call id in the vendor's form `<unix-seconds>-<counter>`.
///
/// The counter is the VDN's own, unique across VDNs, and the seconds part is the creation time
/// (never below the second after the process started), so ids are never reused (see
/// `engine::CallIdCounter`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct CallId {
    pub secs: u64,
    pub seq: u64,
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.secs, self.seq)
    }
}

impl FromStr for CallId {
    type Err = ();

    /// Accepts exactly `^\d{1,20}-\d{1,20}$`.
    fn from_str(s: &str) -> Result<Self, ()> {
        let (a, b) = s.split_once('-').ok_or(())?;
        let digits = |p: &str| !p.is_empty() && p.len() <= 20 && p.bytes().all(|c| c.is_ascii_digit());
        if !digits(a) || !digits(b) {
            return Err(());
        }
        Ok(CallId { secs: a.parse().map_err(|_| ())?, seq: b.parse().map_err(|_| ())? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_id_round_trips() {
        let id: CallId = "1456297722-1253".parse().unwrap();
        assert_eq!(id, CallId { secs: 1456297722, seq: 1253 });
        assert_eq!(id.to_string(), "1456297722-1253");
        for bad in ["", "-", "1-", "-1", "a-1", "1-2-3", "1 -2", "+1-2", "99999999999999999999999-1"] {
            assert!(bad.parse::<CallId>().is_err(), "{bad}");
        }
    }
}
