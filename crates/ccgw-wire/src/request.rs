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
        let skills = items
            .iter()
            .map(|v| match v {
                Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
                Value::String(s) if !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()) => s.parse().ok(),
                _ => None,
            })
            .collect::<Option<Vec<u32>>>()
            .ok_or(PARAMETER_INVALID)?;
        Ok(AcdStatRequest { skills })
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
