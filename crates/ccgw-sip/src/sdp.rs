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
    fn garbage_is_refused() {
        assert!(with_direction(b"", Direction::SendOnly).is_none());
        assert!(with_direction(&[0xff, 0xfe], Direction::SendOnly).is_none());
        assert!(with_direction(b"hello", Direction::SendOnly).is_none());
        let s = with_direction(b"v=0\no=x\n", Direction::Inactive).expect("sdp");
        assert_eq!(s, b"v=0\r\no=x\r\na=inactive\r\n");
    }
}
