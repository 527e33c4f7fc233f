//! The built-in registrar: digest authentication (RFC 2617 / RFC 3261 §22, MD5, `qop=auth`) and
//! the table of bindings (one contact per phone number).
//!
//! This module is pure logic over parsed values; `side.rs` feeds it REGISTER requests.
//! Passwords never leave [`Registrar::phones`] and are never logged.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use md5::{Digest as _, Md5};

/// How long a nonce handed out in a 401 challenge may be used.
pub(crate) const NONCE_LIFETIME: Duration = Duration::from_secs(300);
/// At most this many outstanding nonces are kept (a flood of unauthenticated REGISTERs cannot
/// grow memory without bound; the oldest nonces are dropped first).
const MAX_NONCES: usize = 4096;

/// The transport a phone registered over (and is reached on).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SipTransport {
    Udp,
    Tcp,
}

/// A phone's registered contact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contact {
    /// The Contact URI the phone registered (as the SIP parser prints it back).
    pub uri: String,
    /// Where requests to the phone are sent: the Contact's address when it is an IP literal,
    /// else the address the REGISTER came from.
    pub target: SocketAddr,
    pub transport: SipTransport,
    /// When the binding lapses unless refreshed.
    pub expires_at: Instant,
}

/// Parsed `Authorization: Digest ...` parameters.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct DigestCredentials {
    pub username: String,
    pub realm: String,
    pub nonce: String,
    pub uri: String,
    pub response: String,
    pub algorithm: Option<String>,
    pub qop: Option<String>,
    pub nc: Option<String>,
    pub cnonce: Option<String>,
}

/// Parses the value of an Authorization header (`Digest k=v, k="v", ...`). `None` unless it is
/// a Digest credential carrying at least username, realm, nonce, uri and response.
pub(crate) fn parse_digest(value: &str) -> Option<DigestCredentials> {
    let value = value.trim();
    let (scheme, rest) = value.split_once(|c: char| c.is_ascii_whitespace())?;
    if !scheme.eq_ignore_ascii_case("digest") {
        return None;
    }
    let mut creds = DigestCredentials::default();
    let mut have = [false; 5];
    let mut chars = rest.char_indices().peekable();
    let bytes = rest;
    loop {
        // skip separators
        while let Some(&(_, c)) = chars.peek() {
            if c == ',' || c.is_ascii_whitespace() {
                chars.next();
            } else {
                break;
            }
        }
        let Some(&(key_start, _)) = chars.peek() else {
            break;
        };
        let mut key_end = key_start;
        while let Some(&(i, c)) = chars.peek() {
            if c == '=' || c == ',' || c.is_ascii_whitespace() {
                break;
            }
            key_end = i + c.len_utf8();
            chars.next();
        }
        let key = &bytes[key_start..key_end];
        while let Some(&(_, c)) = chars.peek() {
            if c.is_ascii_whitespace() {
                chars.next();
            } else {
                break;
            }
        }
        if chars.peek().map(|&(_, c)| c) != Some('=') {
            // a bare token: ignore it
            continue;
        }
        chars.next();
        while let Some(&(_, c)) = chars.peek() {
            if c.is_ascii_whitespace() {
                chars.next();
            } else {
                break;
            }
        }
        let mut val = String::new();
        if chars.peek().map(|&(_, c)| c) == Some('"') {
            chars.next();
            let mut escaped = false;
            for (_, c) in chars.by_ref() {
                if escaped {
                    val.push(c);
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    break;
                } else {
                    val.push(c);
                }
            }
        } else {
            while let Some(&(_, c)) = chars.peek() {
                if c == ',' || c.is_ascii_whitespace() {
                    break;
                }
                val.push(c);
                chars.next();
            }
        }
        match key.to_ascii_lowercase().as_str() {
            "username" => {
                creds.username = val;
                have[0] = true;
            }
            "realm" => {
                creds.realm = val;
                have[1] = true;
            }
            "nonce" => {
                creds.nonce = val;
                have[2] = true;
            }
            "uri" => {
                creds.uri = val;
                have[3] = true;
            }
            "response" => {
                creds.response = val;
                have[4] = true;
            }
            "algorithm" => creds.algorithm = Some(val),
            "qop" => creds.qop = Some(val),
            "nc" => creds.nc = Some(val),
            "cnonce" => creds.cnonce = Some(val),
            _ => {}
        }
    }
    have.iter().all(|h| *h).then_some(creds)
}

fn md5_hex(input: &str) -> String {
    hex::encode(Md5::digest(input.as_bytes()))
}

/// The expected `response` for `creds` with this password (RFC 2617 §3.2.2.1).
/// `None` for an algorithm or qop this registrar does not offer.
pub(crate) fn expected_response(creds: &DigestCredentials, method: &str, password: &str) -> Option<String> {
    if let Some(alg) = &creds.algorithm
        && !alg.eq_ignore_ascii_case("md5")
    {
        return None;
    }
    let ha1 = md5_hex(&format!("{}:{}:{}", creds.username, creds.realm, password));
    let ha2 = md5_hex(&format!("{}:{}", method, creds.uri));
    match creds.qop.as_deref() {
        None => Some(md5_hex(&format!("{ha1}:{}:{ha2}", creds.nonce))),
        Some(q) if q.eq_ignore_ascii_case("auth") => {
            let nc = creds.nc.as_deref()?;
            let cnonce = creds.cnonce.as_deref()?;
            Some(md5_hex(&format!("{ha1}:{}:{nc}:{cnonce}:{q}:{ha2}", creds.nonce)))
        }
        Some(_) => None,
    }
}

/// Compares two strings without an early exit on the first differing byte.
fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

struct NonceState {
    issued: Instant,
    /// The highest nonce count seen with this nonce (replays are refused).
    last_nc: u32,
}

/// The outcome of checking a REGISTER's credentials.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum AuthOutcome {
    /// Good credentials for this number.
    Ok,
    /// No (usable) credentials, or a stale / unknown nonce: challenge again.
    Challenge { stale: bool },
    /// Credentials for the number, but wrong (wrong password, or another user name).
    Forbidden,
    /// The number is not a provisioned phone.
    UnknownNumber,
}

pub(crate) struct Registrar {
    pub realm: String,
    phones: HashMap<String, String>,
    pub min_expires: u32,
    pub max_expires: u32,
    nonces: HashMap<String, NonceState>,
    bindings: HashMap<String, Contact>,
}

impl Registrar {
    pub fn new(realm: String, phones: HashMap<String, String>, min_expires: u32, max_expires: u32) -> Self {
        Registrar {
            realm,
            phones,
            min_expires,
            max_expires: max_expires.max(min_expires),
            nonces: HashMap::new(),
            bindings: HashMap::new(),
        }
    }

    /// A fresh nonce (128 bits from the OS CSPRNG), remembered for [`NONCE_LIFETIME`].
    /// `None` if the OS RNG fails (the REGISTER is then answered 500, never with a guessable
    /// nonce).
    pub fn new_nonce(&mut self, now: Instant) -> Option<String> {
        let mut buf = [0u8; 16];
        getrandom::fill(&mut buf).ok()?;
        let nonce = hex::encode(buf);
        self.nonces.retain(|_, n| now.duration_since(n.issued) < NONCE_LIFETIME);
        if self.nonces.len() >= MAX_NONCES
            && let Some(oldest) = self.nonces.iter().min_by_key(|(_, n)| n.issued).map(|(k, _)| k.clone())
        {
            self.nonces.remove(&oldest);
        }
        self.nonces.insert(nonce.clone(), NonceState { issued: now, last_nc: 0 });
        Some(nonce)
    }

    /// Checks the credentials (the Authorization header's value, if any) of a request by
    /// `number`.
    pub fn authenticate(
        &mut self,
        number: &str,
        authorization: Option<&str>,
        method: &str,
        now: Instant,
    ) -> AuthOutcome {
        let Some(password) = self.phones.get(number) else {
            return AuthOutcome::UnknownNumber;
        };
        let Some(creds) = authorization.and_then(parse_digest) else {
            return AuthOutcome::Challenge { stale: false };
        };
        if creds.realm != self.realm {
            return AuthOutcome::Challenge { stale: false };
        }
        let Some(nonce) = self.nonces.get_mut(&creds.nonce) else {
            return AuthOutcome::Challenge { stale: true };
        };
        if now.duration_since(nonce.issued) >= NONCE_LIFETIME {
            self.nonces.remove(&creds.nonce);
            return AuthOutcome::Challenge { stale: true };
        }
        if creds.username != number {
            return AuthOutcome::Forbidden;
        }
        let Some(expected) = expected_response(&creds, method, password) else {
            return AuthOutcome::Challenge { stale: false };
        };
        if !constant_time_eq(&expected, &creds.response.to_ascii_lowercase()) {
            return AuthOutcome::Forbidden;
        }
        // Replay protection: with qop the nonce count must grow; without qop a nonce is
        // good for one request.
        let nc = match creds.nc.as_deref().map(|nc| u32::from_str_radix(nc, 16)) {
            Some(Ok(nc)) => nc,
            Some(Err(_)) => return AuthOutcome::Forbidden,
            None => {
                self.nonces.remove(&creds.nonce);
                return AuthOutcome::Ok;
            }
        };
        if nc <= nonce.last_nc {
            return AuthOutcome::Challenge { stale: true };
        }
        nonce.last_nc = nc;
        AuthOutcome::Ok
    }

    /// The expiry to grant for a requested one: `Err(min)` when it is below the minimum
    /// (423 Interval Too Brief), `Ok(0)` for an unregister.
    pub fn grant_expires(&self, requested: u32) -> Result<u32, u32> {
        if requested == 0 {
            Ok(0)
        } else if requested < self.min_expires {
            Err(self.min_expires)
        } else {
            Ok(requested.min(self.max_expires))
        }
    }

    pub fn bind(&mut self, number: &str, contact: Contact) {
        self.bindings.insert(number.to_string(), contact);
    }

    /// Removes the binding of `number`; with `uri`, only when it is that contact.
    pub fn unbind(&mut self, number: &str, uri: Option<&str>) {
        if let Some(existing) = self.bindings.get(number)
            && uri.is_none_or(|u| same_contact(u, &existing.uri))
        {
            self.bindings.remove(number);
        }
    }

    pub fn contact(&self, number: &str, now: Instant) -> Option<Contact> {
        self.bindings.get(number).filter(|c| c.expires_at > now).cloned()
    }

    /// Drops lapsed bindings and nonces; returns the numbers whose binding lapsed.
    pub fn purge(&mut self, now: Instant) -> Vec<String> {
        self.nonces.retain(|_, n| now.duration_since(n.issued) < NONCE_LIFETIME);
        let lapsed: Vec<String> =
            self.bindings.iter().filter(|(_, c)| c.expires_at <= now).map(|(k, _)| k.clone()).collect();
        for number in &lapsed {
            self.bindings.remove(number);
        }
        lapsed
    }
}

/// Two contact URIs name the same binding (compared without parameters, case-insensitively).
fn same_contact(a: &str, b: &str) -> bool {
    fn base(s: &str) -> String {
        let s = s.trim().trim_start_matches('<');
        let s = s.split(['>', ';']).next().unwrap_or(s);
        s.to_ascii_lowercase()
    }
    base(a) == base(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registrar() -> Registrar {
        let phones = HashMap::from([("7101".to_string(), "ccgw-demo".to_string())]);
        Registrar::new("ccgw".into(), phones, 60, 3600)
    }

    #[test]
    fn rfc2617_example_response() {
        // The worked example of RFC 2617 §3.5.
        let creds = DigestCredentials {
            username: "Mufasa".into(),
            realm: "testrealm@host.com".into(),
            nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093".into(),
            uri: "/dir/index.html".into(),
            response: String::new(),
            algorithm: None,
            qop: Some("auth".into()),
            nc: Some("00000001".into()),
            cnonce: Some("0a4f113b".into()),
        };
        assert_eq!(
            expected_response(&creds, "GET", "Circle Of Life").as_deref(),
            Some("6629fae49393a05397450978507c4ef1")
        );
    }

    #[test]
    fn parses_digest_header() {
        let v = r#"Digest username="7101",realm="ccgw", nonce="abc", uri="sip:127.0.0.1:5060",response="0123",algorithm=MD5, cnonce="x\"y", qop=auth, nc=00000001"#;
        let c = parse_digest(v).expect("parsed");
        assert_eq!(c.username, "7101");
        assert_eq!(c.realm, "ccgw");
        assert_eq!(c.nonce, "abc");
        assert_eq!(c.uri, "sip:127.0.0.1:5060");
        assert_eq!(c.response, "0123");
        assert_eq!(c.algorithm.as_deref(), Some("MD5"));
        assert_eq!(c.cnonce.as_deref(), Some("x\"y"));
        assert_eq!(c.qop.as_deref(), Some("auth"));
        assert_eq!(c.nc.as_deref(), Some("00000001"));
        assert!(parse_digest("Basic dXNlcjpwYXNz").is_none());
        assert!(parse_digest("Digest username=\"a\"").is_none());
        for garbage in ["", "Digest", "Digest ,,,=,=\"", "Digest a=\"\\", "Digest \u{1F600}=1"] {
            let _ = parse_digest(garbage);
        }
    }

    #[test]
    fn authenticate_paths() {
        let mut r = registrar();
        let now = Instant::now();
        assert_eq!(r.authenticate("7999", None, "REGISTER", now), AuthOutcome::UnknownNumber);
        assert_eq!(r.authenticate("7101", None, "REGISTER", now), AuthOutcome::Challenge { stale: false });
        let nonce = r.new_nonce(now).expect("rng");
        assert_eq!(nonce.len(), 32);
        let mut creds = DigestCredentials {
            username: "7101".into(),
            realm: "ccgw".into(),
            nonce: nonce.clone(),
            uri: "sip:127.0.0.1".into(),
            response: String::new(),
            algorithm: Some("MD5".into()),
            qop: Some("auth".into()),
            nc: Some("00000001".into()),
            cnonce: Some("c".into()),
        };
        let header = |c: &DigestCredentials| {
            format!(
                "Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{}\", response=\"{}\", algorithm=MD5, qop=auth, nc={}, cnonce=\"{}\"",
                c.username,
                c.realm,
                c.nonce,
                c.uri,
                c.response,
                c.nc.as_deref().unwrap_or_default(),
                c.cnonce.as_deref().unwrap_or_default()
            )
        };
        creds.response = expected_response(&creds, "REGISTER", "wrong").unwrap_or_default();
        assert_eq!(r.authenticate("7101", Some(&header(&creds)), "REGISTER", now), AuthOutcome::Forbidden);
        creds.response = expected_response(&creds, "REGISTER", "ccgw-demo").unwrap_or_default();
        assert_eq!(r.authenticate("7101", Some(&header(&creds)), "REGISTER", now), AuthOutcome::Ok);
        // the same nonce count again is a replay
        assert_eq!(
            r.authenticate("7101", Some(&header(&creds)), "REGISTER", now),
            AuthOutcome::Challenge { stale: true }
        );
        // an expired nonce is stale
        creds.nc = Some("00000002".into());
        creds.response = expected_response(&creds, "REGISTER", "ccgw-demo").unwrap_or_default();
        assert_eq!(
            r.authenticate("7101", Some(&header(&creds)), "REGISTER", now + NONCE_LIFETIME),
            AuthOutcome::Challenge { stale: true }
        );
    }

    #[test]
    fn expires_and_bindings() {
        let mut r = registrar();
        assert_eq!(r.grant_expires(0), Ok(0));
        assert_eq!(r.grant_expires(30), Err(60));
        assert_eq!(r.grant_expires(120), Ok(120));
        assert_eq!(r.grant_expires(100_000), Ok(3600));
        let now = Instant::now();
        let contact = Contact {
            uri: "sip:7101@127.0.0.1:5070".into(),
            target: "127.0.0.1:5070".parse().expect("addr"),
            transport: SipTransport::Udp,
            expires_at: now + Duration::from_secs(60),
        };
        r.bind("7101", contact.clone());
        assert_eq!(r.contact("7101", now), Some(contact));
        assert_eq!(r.contact("7101", now + Duration::from_secs(61)), None);
        r.unbind("7101", Some("<sip:7101@127.0.0.2>"));
        assert!(r.contact("7101", now).is_some());
        r.unbind("7101", Some("<sip:7101@127.0.0.1:5070>;expires=0"));
        assert!(r.contact("7101", now).is_none());
    }
}
