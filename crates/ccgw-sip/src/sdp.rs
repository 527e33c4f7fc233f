//! The little SDP rewriting the B2BUA does: media is passed through untouched except for the
//! direction attribute (hold / unhold) and the origin's session version (RFC 3264 §8: a changed
//! offer carries a higher version).

/// A media direction attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    fn attr(self) -> &'static str {
        match self {
            Direction::SendRecv => "a=sendrecv",
            Direction::SendOnly => "a=sendonly",
            Direction::RecvOnly => "a=recvonly",
            Direction::Inactive => "a=inactive",
        }
    }
}

fn is_direction(line: &str) -> bool {
    matches!(line.trim(), "a=sendrecv" | "a=sendonly" | "a=recvonly" | "a=inactive")
}

/// Rewrites `sdp` so that every media section (or the session, without media sections) carries
/// exactly `dir`, and increments the session version of the `o=` line. Line endings are CRLF.
/// `None` when `sdp` is not UTF-8 text starting with `v=`.
pub fn with_direction(sdp: &[u8], dir: Direction) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(sdp).ok()?;
    let lines: Vec<&str> = text.split('\n').map(|l| l.trim_end_matches('\r')).filter(|l| !l.is_empty()).collect();
    if !lines.first().is_some_and(|l| l.starts_with("v=")) {
        return None;
    }
    let has_media = lines.iter().any(|l| l.starts_with("m="));
    let mut out: Vec<String> = Vec::with_capacity(lines.len() + 2);
    let mut in_media = false;
    for line in lines {
        if line.starts_with("m=") {
            if in_media {
                out.push(dir.attr().to_string());
            }
            in_media = true;
        }
        if is_direction(line) {
            continue;
        }
        if let Some(origin) = line.strip_prefix("o=") {
            out.push(format!("o={}", bump_version(origin)));
        } else {
            out.push(line.to_string());
        }
    }
    if in_media || !has_media {
        out.push(dir.attr().to_string());
    }
    let mut joined = out.join("\r\n");
    joined.push_str("\r\n");
    Some(joined.into_bytes())
}

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <address>`: version + 1.
fn bump_version(origin: &str) -> String {
    let mut fields: Vec<String> = origin.split(' ').map(str::to_string).collect();
    if fields.len() >= 3
        && let Ok(v) = fields[2].parse::<u64>()
    {
        fields[2] = v.wrapping_add(1).to_string();
    }
    fields.join(" ")
}

/// `sdp` (another party's SDP, e.g. the consulted agent's) as the next offer on a leg that was
/// last sent `previous`: RFC 3264 §8 keeps one origin per session, so the `o=` line becomes
/// `previous`'s with its version incremented. Without a usable `previous`, `sdp` is returned
/// unchanged; `None` when `sdp` is not SDP text.
pub fn reorigin(sdp: &[u8], previous: Option<&[u8]>) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(sdp).ok()?;
    if !text.starts_with("v=") {
        return None;
    }
    let prev_origin = previous
        .and_then(|p| std::str::from_utf8(p).ok())
        .and_then(|p| p.split('\n').map(|l| l.trim_end_matches('\r')).find_map(|l| l.strip_prefix("o=")))
        .map(bump_version);
    let Some(origin) = prev_origin else { return Some(sdp.to_vec()) };
    let mut out: Vec<String> = Vec::new();
    for line in text.split('\n').map(|l| l.trim_end_matches('\r')).filter(|l| !l.is_empty()) {
        if line.starts_with("o=") {
            out.push(format!("o={origin}"));
        } else {
            out.push(line.to_string());
        }
    }
    let mut joined = out.join("\r\n");
    joined.push_str("\r\n");
    Some(joined.into_bytes())
}

/// The SDP ccgw offers an agent's phone rung for a call the agent places itself, before the far
/// end is there: audio (PCMU, PCMA, telephone-event) at `ip`, port 9 (discard), `a=inactive`.
/// Once the far end answers, the phone gets its SDP in a re-INVITE.
pub fn placeholder(ip: std::net::IpAddr, session: u64) -> Vec<u8> {
    let family = if ip.is_ipv6() { "IP6" } else { "IP4" };
    format!(
        "v=0\r\no=ccgw {session} 1 IN {family} {ip}\r\ns=ccgw\r\nc=IN {family} {ip}\r\nt=0 0\r\n\
         m=audio 9 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=inactive\r\n"
    )
    .into_bytes()
}

/// The direction of the first media section (or the session), `SendRecv` when none is given.
pub fn direction(sdp: &[u8]) -> Direction {
    let text = String::from_utf8_lossy(sdp);
    for line in text.lines() {
        match line.trim() {
            "a=sendrecv" => return Direction::SendRecv,
            "a=sendonly" => return Direction::SendOnly,
            "a=recvonly" => return Direction::RecvOnly,
            "a=inactive" => return Direction::Inactive,
            _ => {}
        }
    }
    Direction::SendRecv
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\no=- 42 7 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\nm=video 6002 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n";

    #[test]
    fn hold_rewrites_every_media_section_and_bumps_version() {
        let held = with_direction(OFFER.as_bytes(), Direction::SendOnly).expect("sdp");
        let held = String::from_utf8(held).expect("utf8");
        assert_eq!(
            held,
            "v=0\r\no=- 42 8 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendonly\r\nm=video 6002 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=sendonly\r\n"
        );
        assert_eq!(direction(held.as_bytes()), Direction::SendOnly);
        let resumed = with_direction(held.as_bytes(), Direction::SendRecv).expect("sdp");
        let resumed = String::from_utf8(resumed).expect("utf8");
        assert!(resumed.contains("o=- 42 9 IN IP4"));
        assert_eq!(resumed.matches("a=sendrecv").count(), 2);
        assert!(!resumed.contains("sendonly"));
    }

    #[test]
    fn another_partys_sdp_keeps_the_legs_origin() {
        let previous = OFFER.as_bytes();
        let other = "v=0\r\no=bob 9 3 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\nm=audio 7000 RTP/AVP 8\r\na=sendrecv\r\n";
        let next = reorigin(other.as_bytes(), Some(previous)).expect("sdp");
        assert_eq!(
            String::from_utf8(next).expect("utf8"),
            "v=0\r\no=- 42 8 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\nm=audio 7000 RTP/AVP 8\r\na=sendrecv\r\n"
        );
        assert_eq!(reorigin(other.as_bytes(), None).expect("sdp"), other.as_bytes());
        assert!(reorigin(b"garbage", Some(previous)).is_none());
    }

    #[test]
    fn the_placeholder_is_inactive_audio() {
        let p = String::from_utf8(placeholder("127.0.0.1".parse().expect("ip"), 5)).expect("utf8");
        assert!(p.starts_with("v=0\r\no=ccgw 5 1 IN IP4 127.0.0.1\r\n"), "{p}");
        assert!(p.contains("m=audio 9 RTP/AVP 0 8 101\r\n"), "{p}");
        assert_eq!(direction(p.as_bytes()), Direction::Inactive);
    }

    #[test]
    fn garbage_is_refused() {
        assert!(with_direction(b"", Direction::SendOnly).is_none());
        assert!(with_direction(&[0xff, 0xfe], Direction::SendOnly).is_none());
        assert!(with_direction(b"hello", Direction::SendOnly).is_none());
        let s = with_direction(b"v=0\no=x\n", Direction::Inactive).expect("sdp");
        assert_eq!(s, b"v=0\r\no=x\r\na=inactive\r\n");
    }
}
