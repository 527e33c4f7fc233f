//! The open-files limit (`RLIMIT_NOFILE`): the soft limit is raised to the hard one at start, and
//! the connection caps are fitted to it. A process out of descriptors cannot accept: its new
//! clients would wait in the listen backlog (until some other connection ends, ~10 s for a silent
//! socket's TLS handshake) instead of being refused at once by the connection cap.

use std::fmt;

/// Descriptors kept for everything but client connections: the standard streams, the runtime's
/// epoll and wake-up descriptors, the listening sockets, log and certificate files, the accept
/// loops' spare descriptor.
pub const RESERVED_FDS: u64 = 64;

/// The limit before and after [`raise_nofile_limit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NofileLimit {
    pub soft_before: u64,
    pub soft: u64,
    pub hard: u64,
}

impl fmt::Display for NofileLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "soft {} -> {} (hard {})", self.soft_before, self.soft, self.hard)
    }
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit (kept as it was if the system refuses);
/// `None` where there is no such limit. `u64::MAX` stands for unlimited.
#[cfg(unix)]
pub fn raise_nofile_limit() -> Option<NofileLimit> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let before = getrlimit(Resource::Nofile);
    let soft_before = before.current.unwrap_or(u64::MAX);
    let hard = before.maximum.unwrap_or(u64::MAX);
    if soft_before < hard {
        // May fail (e.g. macOS caps the soft limit below an unlimited hard one): keep the soft one.
        let _ = setrlimit(Resource::Nofile, Rlimit { current: before.maximum, maximum: before.maximum });
    }
    let soft = getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX);
    Some(NofileLimit { soft_before, soft, hard })
}

#[cfg(not(unix))]
pub fn raise_nofile_limit() -> Option<NofileLimit> {
    None
}

/// The agent and admin listeners' connection caps, lowered where needed so that both, plus
/// [`RESERVED_FDS`], fit in `limit` open files. When they must shrink, the admin listener keeps
/// an eighth of the room (at least one connection, at most what it asked for) and the agent
/// listener the rest (at least one).
pub fn fit_connections(limit: u64, agent: usize, admin: usize) -> (usize, usize) {
    let room = usize::try_from(limit.saturating_sub(RESERVED_FDS)).unwrap_or(usize::MAX);
    if agent.saturating_add(admin) <= room {
        return (agent, admin);
    }
    let admin = if admin == 0 { 0 } else { admin.min((room / 8).max(1)) };
    let agent = agent.min(room.saturating_sub(admin)).max(1);
    (agent, admin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_that_fit_are_kept() {
        assert_eq!(fit_connections(1_048_576, 20_000, 256), (20_000, 256));
        assert_eq!(fit_connections(u64::MAX, 1_000_000, 256), (1_000_000, 256));
        assert_eq!(fit_connections(20_000 + 256 + RESERVED_FDS, 20_000, 256), (20_000, 256));
    }

    #[test]
    fn caps_are_lowered_to_fit_the_limit() {
        // The common default soft limit: 1024.
        let (agent, admin) = fit_connections(1024, 20_000, 256);
        assert_eq!((agent, admin), (840, 120));
        assert!(agent as u64 + admin as u64 + RESERVED_FDS <= 1024);
        assert_eq!(fit_connections(1024, 20_000, 0), (960, 0));
        assert_eq!(fit_connections(20_000, 20_000, 256), (20_000 - 256 - RESERVED_FDS as usize, 256));
        // Absurdly low limits still leave one connection each.
        assert_eq!(fit_connections(10, 20_000, 256), (1, 1));
        assert_eq!(fit_connections(0, 5, 0), (1, 0));
    }

    #[cfg(unix)]
    #[test]
    fn raising_the_limit_reaches_the_hard_limit() {
        let l = raise_nofile_limit().unwrap();
        assert!(l.soft >= l.soft_before);
        let again = raise_nofile_limit().unwrap();
        assert_eq!((again.soft_before, again.soft), (l.soft, l.soft));
    }
}
