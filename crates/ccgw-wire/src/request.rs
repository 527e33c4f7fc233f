//! Request bodies. Vendor clients are loose with types (`"status":"4"`, `"autoanswer":"false"`,
//! numbers where strings are documented), so every field is read leniently: a number may come as
//! a JSON number or a numeric string, a flag as a bool or "true"/"false". Unknown fields are
//! ignored, as the vendor's clients send many we do not use.

use serde_json::{Map, Value};

use crate::retcode::{AGENT_TYPE_INVALID, BODY_INVALID, PARAMETER_INVALID, PHONE_INVALID, Retcode, SIGN_IN_PARAMETER};

/// Largest call-associated data the vendor accepts (16 KB).
pub const MAX_CALL_DATA: usize = 16 * 1024;

/// A parsed JSON object body.
#[derive(Debug, Default)]
pub struct Body(Map<String, Value>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadField;

impl Body {
    /// An empty body counts as `{}`; anything but a JSON object is an error.
    pub fn parse(bytes: &[u8]) -> Result<Body, Retcode> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Body::default());
        }
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(m)) => Ok(Body(m)),
            _ => Err(BODY_INVALID),
        }
    }

    fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    pub fn string(&self, key: &str) -> Result<Option<String>, BadField> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(BadField),
        }
    }

    pub fn flag(&self, key: &str) -> Result<Option<bool>, BadField> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(_) => Err(BadField),
        }
    }

    pub fn number(&self, key: &str) -> Result<Option<u32>, BadField> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => n.as_u64().and_then(|n| u32::try_from(n).ok()).map(Some).ok_or(BadField),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| BadField),
            Some(_) => Err(BadField),
        }
    }
}

/// Valid phone numbers: 1–24 of digits, `*` and `#`.
pub fn valid_phone(n: &str) -> bool {
    ccgw_domain::engine::valid_number(n)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInRequest {
    pub password: String,
    pub phone: Option<String>,
    pub auto_answer: bool,
    pub auto_enter_idle: bool,
    pub release_phone: bool,
    /// 3 busy, 4 idle, 5 wrap-up.
    pub status: u32,
    /// Push mode: both `callBackUri` and `serviceToken` given (and valid).
    pub push: Option<PushTarget>,
}

/// Where a push-mode agent's events go: `callBackUri` and `serviceToken` of the sign-in body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushTarget {
    pub uri: String,
    pub token: String,
}

/// `callBackUri` at most 200 characters, `serviceToken` at most 50 (the vendor's limits).
pub const MAX_CALLBACK_URI: usize = 200;
pub const MAX_SERVICE_TOKEN: usize = 50;

impl PushTarget {
    /// Push mode is on iff both fields are present and non-empty (the vendor: "only if both are
    /// given"); one alone (or an empty one) is polling mode. A present pair must be valid: an
    /// `https://` URL of at most 200 characters with a host and no whitespace or control
    /// characters, and a token of at most 50 ASCII letters, digits, `-` or `_` (no "special
    /// characters"); otherwise `100-001`, as the vendor answers a bad `service_token`.
    fn parse(uri: Option<String>, token: Option<String>) -> Result<Option<Self>, Retcode> {
        let (Some(uri), Some(token)) = (uri.filter(|u| !u.is_empty()), token.filter(|t| !t.is_empty())) else {
            return Ok(None);
        };
        let token_ok = token.len() <= MAX_SERVICE_TOKEN
            && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !token_ok || !valid_callback_uri(&uri) {
            return Err(SIGN_IN_PARAMETER);
        }
        Ok(Some(PushTarget { uri, token }))
    }
}

/// `https://host[:port][/path]`: at most 200 characters of visible ASCII, a host, a port (if
/// any) of 1–65535, no user info and no fragment.
pub fn valid_callback_uri(uri: &str) -> bool {
    if uri.len() > MAX_CALLBACK_URI || !uri.bytes().all(|b| b.is_ascii_graphic()) || uri.contains('#') {
        return false;
    }
    let Some(rest) = uri.strip_prefix("https://") else { return false };
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    if authority.is_empty() || authority.contains('@') {
        return false;
    }
    let (host, port) = match authority.strip_prefix('[') {
        // An IPv6 literal: `[::1]` or `[::1]:8443`.
        Some(v6) => match v6.split_once(']') {
            Some((host, "")) => (host, None),
            Some((host, after)) => match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => return false,
            },
            None => return false,
        },
        None => match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
    !host.is_empty() && port_ok
}

impl SignInRequest {
    pub fn parse(bytes: &[u8]) -> Result<Self, Retcode> {
        let b = Body::parse(bytes)?;
        let bad = |_| SIGN_IN_PARAMETER;
        // Mandatory, but may be empty (the vendor's samples send `""`); whether an empty password
        // signs the agent in is the gateway's decision.
        let password = b.string("password").map_err(bad)?.ok_or(SIGN_IN_PARAMETER)?;
        if password.len() > 32 {
            return Err(SIGN_IN_PARAMETER);
        }
        let phone = b.string("phonenum").map_err(|_| PHONE_INVALID)?.filter(|p| !p.is_empty());
        if phone.as_deref().is_some_and(|p| !valid_phone(p)) {
            return Err(PHONE_INVALID);
        }
        let agent_type = b.number("agenttype").map_err(|_| AGENT_TYPE_INVALID)?.unwrap_or(4);
        if agent_type != 4 && agent_type != 11 {
            return Err(AGENT_TYPE_INVALID);
        }
        let status = b.number("status").map_err(bad)?.unwrap_or(4);
        if !(3..=5).contains(&status) {
            return Err(SIGN_IN_PARAMETER);
        }
        Ok(SignInRequest {
            password,
            phone,
            auto_answer: b.flag("autoanswer").map_err(bad)?.unwrap_or(true),
            auto_enter_idle: b.flag("autoenteridle").map_err(bad)?.unwrap_or(true),
            release_phone: b.flag("releasephone").map_err(bad)?.unwrap_or(true),
            status,
            push: PushTarget::parse(b.string("callBackUri").map_err(bad)?, b.string("serviceToken").map_err(bad)?)?,
        })
    }
}

fn call_data(b: &Body, key: &str) -> Result<String, Retcode> {
    let data = b.string(key).map_err(|_| BODY_INVALID)?.unwrap_or_default();
    if data.len() > MAX_CALL_DATA {
        return Err(PARAMETER_INVALID);
    }
    Ok(data)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalloutRequest {
    pub called: String,
    pub caller: Option<String>,
    pub data: String,
}

impl CalloutRequest {
    pub fn parse(bytes: &[u8]) -> Result<Self, Retcode> {
        let b = Body::parse(bytes)?;
        let called = b.string("called").map_err(|_| BODY_INVALID)?.ok_or(BODY_INVALID)?;
        let caller = b.string("caller").map_err(|_| BODY_INVALID)?.filter(|c| !c.is_empty());
        Ok(CalloutRequest { called, caller, data: call_data(&b, "callappdata")? })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallInnerRequest {
    pub called: u32,
    pub data: String,
}

impl CallInnerRequest {
    pub fn parse(bytes: &[u8]) -> Result<Self, Retcode> {
        let b = Body::parse(bytes)?;
        let called = b.number("called").map_err(|_| PARAMETER_INVALID)?.ok_or(BODY_INVALID)?;
        Ok(CallInnerRequest { called, data: call_data(&b, "callappdata")? })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InnerHelpRequest {
    pub dst: u32,
    /// 1 skill, 2 agent.
    pub device_type: u32,
    /// 1 two-party, 2 three-party.
    pub mode: u32,
    pub data: String,
}

impl InnerHelpRequest {
    pub fn parse(bytes: &[u8]) -> Result<Self, Retcode> {
        let b = Body::parse(bytes)?;
        let dst = b.number("dstaddress").map_err(|_| PARAMETER_INVALID)?.ok_or(BODY_INVALID)?;
        let device_type = b.number("devicetype").map_err(|_| BODY_INVALID)?.unwrap_or(2);
        let mode = b.number("mode").map_err(|_| BODY_INVALID)?.unwrap_or(1);
        b.flag("holdflag").map_err(|_| BODY_INVALID)?;
        if !(1..=2).contains(&device_type) || !(1..=2).contains(&mode) {
            return Err(PARAMETER_INVALID);
        }
        Ok(InnerHelpRequest { dst, device_type, mode, data: call_data(&b, "callappdata")? })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRequest {
    /// 1 skill, 2 agent, 3 IVR, 4 access code, 5 external number.
    pub device_type: u32,
    pub address: String,
    pub mode: u32,
}

impl TransferRequest {
    pub fn parse(bytes: &[u8]) -> Result<Self, Retcode> {
        let b = Body::parse(bytes)?;
        let device_type = b.number("devicetype").map_err(|_| BODY_INVALID)?.ok_or(BODY_INVALID)?;
        let address = b.string("address").map_err(|_| BODY_INVALID)?.ok_or(BODY_INVALID)?;
        let mode = b.number("mode").map_err(|_| BODY_INVALID)?.unwrap_or(0);
        if address.is_empty() || address.len() > 24 {
            return Err(PARAMETER_INVALID);
        }
        Ok(TransferRequest { device_type, address, mode })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetCallDataRequest {
    pub call_id: String,
    pub data: String,
}

impl SetCallDataRequest {
    pub fn parse(bytes: &[u8]) -> Result<Self, Retcode> {
        let b = Body::parse(bytes)?;
        let call_id = b.string("callid").map_err(|_| BODY_INVALID)?.ok_or(BODY_INVALID)?;
        b.flag("isDataEncoded").map_err(|_| BODY_INVALID)?;
        Ok(SetCallDataRequest { call_id, data: call_data(&b, "calldata")? })
    }
}

// --- agentgroup ---

/// The body of agentgroup `agentinfonoskills`: `{"agentlist":["101","102",…]}` (work numbers as
/// strings or numbers, R2's form). An entry that is not a work number is `None`: the interface
/// leaves it out of the answer, as it does an agent of another VDN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentListRequest {
    pub agents: Vec<Option<u32>>,
}

impl AgentListRequest {
    /// A body that is not an object, or whose `agentlist` is missing or not an array: `000-006`.
    pub fn parse(bytes: &[u8]) -> Result<Self, Retcode> {
        let body = Body::parse(bytes)?;
        let Some(Value::Array(list)) = body.get("agentlist") else { return Err(BODY_INVALID) };
        let agents = list
            .iter()
            .map(|v| match v {
                Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok(),
                Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
                _ => None,
            })
            .collect();
        Ok(AgentListRequest { agents })
    }
}

// --- recordplay ---

/// Longest file path `beginPlay` takes (vendor: at most 100 characters).
pub const MAX_VOICE_PATH: usize = 100;

/// `PUT recordplay/{agentid}/play`: `voicepath` (mandatory, 1–100 characters), `startpostion`
/// (the vendor's spelling; `startposition` also accepted; seconds, default 0), `volumechange`
/// and `speedchange` (at most five digits, default 50), `times` (any number; the vendor plays
/// once for anything but its documented values, and so does ccgw).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayRequest {
    pub voice_path: String,
    pub start_secs: u32,
}

impl PlayRequest {
    pub fn parse(bytes: &[u8]) -> Result<Self, Retcode> {
        let b = Body::parse(bytes)?;
        let voice_path = b.string("voicepath").map_err(|_| BODY_INVALID)?.ok_or(BODY_INVALID)?;
        if voice_path.is_empty()
            || voice_path.chars().count() > MAX_VOICE_PATH
            || voice_path.chars().any(char::is_control)
        {
            return Err(PARAMETER_INVALID);
        }
        let start = match b.number("startpostion").map_err(|_| PARAMETER_INVALID)? {
            Some(n) => Some(n),
            None => b.number("startposition").map_err(|_| PARAMETER_INVALID)?,
        };
        for key in ["volumechange", "speedchange"] {
            if let Some(v) = b.string(key).map_err(|_| PARAMETER_INVALID)?
                && (v.len() > 5 || !v.bytes().all(|c| c.is_ascii_digit()))
            {
                return Err(PARAMETER_INVALID);
            }
        }
        b.number("times").map_err(|_| PARAMETER_INVALID)?;
        Ok(PlayRequest { voice_path, start_secs: start.unwrap_or(0) })
    }
}

/// A date-time query parameter, `yyyy-MM-dd HH:mm:ss` (UTC), as milliseconds since the epoch.
pub fn parse_datetime(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() != 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b' ' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = s.get(r)?;
        part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok()).flatten()
    };
    ccgw_domain::civil::ms_from_civil(ccgw_domain::civil::Civil {
        year: i64::from(num(0..4)?),
        month: num(5..7)?,
        day: num(8..10)?,
        hour: num(11..13)?,
        minute: num(14..16)?,
        second: num(17..19)?,
    })
}

#[cfg(test)]
mod recordplay_tests {
    use super::*;

    #[test]
    fn play_request() {
        let r = PlayRequest::parse(br#"{"voicepath":"Y:/1/a.V3","startpostion":"5","times":3}"#).unwrap();
        assert_eq!(r, PlayRequest { voice_path: "Y:/1/a.V3".into(), start_secs: 5 });
        assert_eq!(PlayRequest::parse(br#"{}"#), Err(BODY_INVALID));
        assert_eq!(PlayRequest::parse(br#"{"voicepath":""}"#), Err(PARAMETER_INVALID));
        assert_eq!(PlayRequest::parse(br#"{"voicepath":"a","volumechange":"123456"}"#), Err(PARAMETER_INVALID));
        assert_eq!(PlayRequest::parse(br#"{"voicepath":"a","startpostion":-1}"#), Err(PARAMETER_INVALID));
    }

    #[test]
    fn datetimes() {
        assert_eq!(parse_datetime("2016-10-25 11:02:05"), Some(1_477_393_325_000));
        for bad in [
            "",
            "2016-10-25",
            "2016-13-25 11:02:05",
            "2016-10-25T11:02:05",
            "2016-10-25 11:02:0x",
            "+016-10-25 11:02:05",
        ] {
            assert_eq!(parse_datetime(bad), None, "{bad}");
        }
    }
}

// --- onlineagent ---

/// Longest bulletin (`bulletindata`) and note (`content`) ccgw accepts, in bytes.
pub const MAX_BULLETIN: usize = 4096;
pub const MAX_NOTE: usize = 1024;

/// `bindphone`: `{"phonenum":"<number>"}` (the sign-in body's field name).
/// thirdcontrol `setstatus` (the R5 sample's body): `{"agentStatus":"AgentState_Idle"}` or
/// `"AgentState_Busy"`; `idle` says which.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetStatusRequest {
    pub idle: bool,
}

impl SetStatusRequest {
    pub fn parse(bytes: &[u8]) -> Result<Self, Retcode> {
        let b = Body::parse(bytes)?;
        match b.string("agentStatus").map_err(|_| BODY_INVALID)?.as_deref() {
            Some("AgentState_Idle") => Ok(SetStatusRequest { idle: true }),
            Some("AgentState_Busy") => Ok(SetStatusRequest { idle: false }),
            _ => Err(BODY_INVALID),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindPhoneRequest {
    pub phone: String,
}

impl BindPhoneRequest {
    pub fn parse(bytes: &[u8]) -> Result<Self, Retcode> {
        let b = Body::parse(bytes)?;
        let phone = b.string("phonenum").map_err(|_| BODY_INVALID)?.ok_or(BODY_INVALID)?;
        if !valid_phone(&phone) {
            return Err(PHONE_INVALID);
        }
        Ok(BindPhoneRequest { phone })
    }
}

/// Who a bulletin goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulletinTarget {
    /// `targettype` 0: every signed-in agent of the sender's VDN.
    Vdn,
    /// `targettype` 1: the work numbers in `targetname` (`;` or `,` separated, at most 100).
    Agents(Vec<u32>),
}

/// `notifybulletin`: `{"targettype","targetname","bulletindata"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulletinRequest {
    pub target: BulletinTarget,
    pub data: String,
}

impl BulletinRequest {
    pub fn parse(bytes: &[u8]) -> Result<Self, Retcode> {
        let b = Body::parse(bytes)?;
        let data = b.string("bulletindata").map_err(|_| BODY_INVALID)?.unwrap_or_default();
        if data.is_empty() || data.len() > MAX_BULLETIN {
            return Err(BODY_INVALID);
        }
        let target = match b.number("targettype").map_err(|_| BODY_INVALID)?.unwrap_or(0) {
            0 => BulletinTarget::Vdn,
            1 => {
                let names = b.string("targetname").map_err(|_| BODY_INVALID)?.unwrap_or_default();
                let list = names
                    .split([';', ','])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| s.parse::<u32>().map_err(|_| BODY_INVALID))
                    .collect::<Result<Vec<_>, _>>()?;
                if list.is_empty() || list.len() > 100 {
                    return Err(BODY_INVALID);
                }
                BulletinTarget::Agents(list)
            }
            _ => return Err(BODY_INVALID),
        };
        Ok(BulletinRequest { target, data })
    }
}

/// `modifyaccountpwdex`: `{"oldPassword","newPassword"}` (the vendor's camel case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModifyPasswordRequest {
    pub old: String,
    pub new: String,
}

impl ModifyPasswordRequest {
    pub fn parse(bytes: &[u8]) -> Result<Self, Retcode> {
        let b = Body::parse(bytes)?;
        let field = |k| b.string(k).map_err(|_| BODY_INVALID)?.ok_or(BODY_INVALID);
        let (old, new) = (field("oldPassword")?, field("newPassword")?);
        if old.chars().count() > 32 {
            return Err(BODY_INVALID);
        }
        Ok(ModifyPasswordRequest { old, new })
    }
}

// --- calldata / queuedevice / voicecall (issue 8) ---

/// Largest `skills` list of `queryacdstat` (vendor: at most 100).
pub const MAX_ACD_SKILLS: usize = 100;

/// queuedevice `queryacdstat`: `{"skills":[1,2]}` (numbers or numeric strings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcdStatRequest {
    pub skills: Vec<u32>,
}

impl AcdStatRequest {
    pub fn parse(bytes: &[u8]) -> Result<Self, Retcode> {
        let b = Body::parse(bytes)?;
        let Some(Value::Array(items)) = b.get("skills") else { return Err(BODY_INVALID) };
        if items.is_empty() || items.len() > MAX_ACD_SKILLS {
            return Err(PARAMETER_INVALID);
        }
        let skills = skill_ids(items).ok_or(PARAMETER_INVALID)?;
        Ok(AcdStatRequest { skills })
    }
}

/// A list of skill ids: numbers, or strings of digits (the JS API sends either); `None` if any
/// item is neither or does not fit a `u32`.
fn skill_ids(items: &[Value]) -> Option<Vec<u32>> {
    items
        .iter()
        .map(|v| match v {
            Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
            Value::String(s) if !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()) => s.parse().ok(),
            _ => None,
        })
        .collect()
}

/// Largest `skills` list of qualitycontrol `adjustskill` (vendor page 2409: at most 1000).
pub const MAX_ADJUST_SKILLS: usize = 1000;

/// qualitycontrol `adjustskill`: `{"workNo":"49999","skills":[10,25]}` (vendor page 2409; the
/// work number a string or a number, skill ids numbers or numeric strings; `skills` absent =
/// none). Anything else: `100-001`, the page's parameter error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdjustSkillRequest {
    pub workno: u32,
    pub skills: Vec<u32>,
}

impl AdjustSkillRequest {
    pub fn parse(bytes: &[u8]) -> Result<Self, Retcode> {
        let bad = crate::retcode::ADJUST_SKILL_PARAMETER;
        let b = Body::parse(bytes).map_err(|_| bad)?;
        let workno = b.number("workNo").map_err(|_| bad)?.ok_or(bad)?;
        let skills = match b.get("skills") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) if items.len() <= MAX_ADJUST_SKILLS => skill_ids(items).ok_or(bad)?,
            Some(_) => return Err(bad),
        };
        Ok(AdjustSkillRequest { workno, skills })
    }
}

/// calldata `assignuserinqueue`: `{"callid":"…","skillid":1}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignInQueueRequest {
    pub call_id: String,
    pub skill: u32,
}

impl AssignInQueueRequest {
    pub fn parse(bytes: &[u8]) -> Result<Self, Retcode> {
        let b = Body::parse(bytes)?;
        let call_id = b.string("callid").map_err(|_| BODY_INVALID)?.ok_or(BODY_INVALID)?;
        let skill = b.number("skillid").map_err(|_| PARAMETER_INVALID)?.ok_or(BODY_INVALID)?;
        Ok(AssignInQueueRequest { call_id, skill })
    }
}

/// voicecall `callinnerskill`: `{"skillId":1}` (vendor page 0370; `skillid` accepted too, as the
/// other bodies spell it), optional `callappdata`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallInnerSkillRequest {
    pub skill: u32,
    pub data: String,
}

impl CallInnerSkillRequest {
    pub fn parse(bytes: &[u8]) -> Result<Self, Retcode> {
        let b = Body::parse(bytes)?;
        let skill = match b.number("skillId").map_err(|_| PARAMETER_INVALID)? {
            Some(k) => k,
            None => b.number("skillid").map_err(|_| PARAMETER_INVALID)?.ok_or(BODY_INVALID)?,
        };
        Ok(CallInnerSkillRequest { skill, data: call_data(&b, "callappdata")? })
    }
}

#[cfg(test)]
mod push_tests {
    use super::*;

    fn push(body: &str) -> Result<Option<PushTarget>, Retcode> {
        SignInRequest::parse(body.as_bytes()).map(|r| r.push)
    }

    #[test]
    fn push_mode_needs_both_fields() {
        assert_eq!(push(r#"{"password":""}"#), Ok(None));
        assert_eq!(push(r#"{"password":"","callBackUri":"https://h/p"}"#), Ok(None));
        assert_eq!(push(r#"{"password":"","serviceToken":"abc"}"#), Ok(None));
        assert_eq!(push(r#"{"password":"","callBackUri":"https://h/p","serviceToken":""}"#), Ok(None));
        assert_eq!(
            push(r#"{"password":"","callBackUri":"https://h:8443/p?x=1","serviceToken":"a-b_C9"}"#),
            Ok(Some(PushTarget { uri: "https://h:8443/p?x=1".into(), token: "a-b_C9".into() }))
        );
    }

    #[test]
    fn callback_uris() {
        for ok in ["https://h", "https://127.0.0.1:8443/x/pushresult", "https://[::1]:9/p", "https://a.b/c?d=e"] {
            assert!(valid_callback_uri(ok), "{ok}");
        }
        let long = format!("https://h/{}", "a".repeat(191));
        assert_eq!(long.len(), 201);
        for bad in [
            "http://h/p",
            "https://",
            "https:///p",
            "https://h:0/p",
            "https://h:99999/p",
            "https://h:x/p",
            "https://u@h/p",
            "https://h/p q",
            "https://h/p#f",
            "https://[::1/p",
            "ftp://h",
            long.as_str(),
        ] {
            assert!(!valid_callback_uri(bad), "{bad}");
        }
    }

    #[test]
    fn bad_push_fields_are_100_001() {
        let long_token = "a".repeat(51);
        for (uri, token) in [
            ("http://h/p", "tok"),
            ("https://h/p", "to ken"),
            ("https://h/p", "tok!"),
            ("https://h/p", long_token.as_str()),
        ] {
            let body = serde_json::json!({"password": "", "callBackUri": uri, "serviceToken": token}).to_string();
            assert_eq!(push(&body), Err(SIGN_IN_PARAMETER), "{uri} {token}");
        }
        assert_eq!(push(r#"{"password":"","callBackUri":5,"serviceToken":"t"}"#), Err(SIGN_IN_PARAMETER));
    }
}
