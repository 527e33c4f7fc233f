//! The OpenAPI 3.1 document of the agent interface, generated from the interface table: every
//! interface ccgw routes (served or stub), with its path and query parameters, the `Guid`
//! header, its request body and the envelope of its answers. Served by the gateway at
//! `GET /agentgateway/openapi.json` and committed as `docs/openapi.json` (a test keeps the two
//! equal; `ccgw openapi > docs/openapi.json` or `UPDATE_DOCS=1 cargo test -p ccgw-wire --test docs`
//! regenerates it).

use serde_json::{Map, Value, json};

use crate::interface::{Auth, Body, INTERFACES, Interface, QueryType, ResultKind, Status};

/// Where the document is served (outside `/agentgateway/resource/`, which is the vendor's).
pub const PATH: &str = "/agentgateway/openapi.json";

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// The schema of `result` (or of `event` for the polls); `None`: no such key.
fn result_schema(r: ResultKind) -> Option<(&'static str, Value)> {
    let s = match r {
        ResultKind::Bare => return None,
        ResultKind::Empty => schema_ref("Empty"),
        ResultKind::CallId => json!({"type": "string", "description": "a call id, `<seconds>-<counter>`"}),
        ResultKind::CallIds => json!({"type": "array", "items": {"type": "string"}}),
        ResultKind::SignIn => schema_ref("SignInResult"),
        ResultKind::AgentStatus => schema_ref("AgentStatus"),
        ResultKind::Guid => schema_ref("GuidResult"),
        ResultKind::Skills => json!({"type": "array", "items": schema_ref("SkillInfo")}),
        ResultKind::CallInfo => schema_ref("CallInfo"),
        ResultKind::CallInfoOrEmpty => json!({"anyOf": [schema_ref("CallInfo"), schema_ref("Empty")]}),
        ResultKind::CallInfoList => json!({"type": "array", "items": schema_ref("CallInfo")}),
        ResultKind::HeldCallList => json!({"type": "array", "items": schema_ref("HeldCall")}),
        ResultKind::AppData => json!({"type": "string"}),
        ResultKind::Count => json!({"type": "integer", "minimum": 0}),
        ResultKind::Ivrs => json!({"type": "array", "items": schema_ref("IvrInfo")}),
        ResultKind::Statistics => schema_ref("Statistics"),
        ResultKind::Numbers => json!({"type": "array", "items": {"type": "string"}}),
        ResultKind::IdleAgents => json!({"type": "array", "items": {"type": "object", "properties": {
            "workno": {"type": "string"}, "name": {"type": "string"}}, "required": ["workno", "name"]}}),
        ResultKind::AgentStates => json!({"type": "array", "items": {"type": "object", "properties": {
            "workno": {"type": "string"}, "name": {"type": "string"}, "status": {"type": "integer"}},
            "required": ["workno", "name", "status"]}}),
        ResultKind::AgentNames => json!({"type": "object", "additionalProperties": {"type": "string"},
            "description": "work number → configured agent name"}),
        ResultKind::AgentInfo => schema_ref("AgentInfo"),
        ResultKind::AgentInfoList => json!({"type": "array", "items": schema_ref("AgentInfo")}),
        ResultKind::AgentInfoNoSkillsList => json!({"type": "array", "items": schema_ref("AgentInfo"),
            "description": "agent-information objects without `skilllist`; `status` in the CTI platform scheme"}),
        ResultKind::Groups => json!({"type": "array", "items": schema_ref("GroupInfo")}),
        ResultKind::GroupOrEmpty => json!({"anyOf": [schema_ref("GroupInfo"), schema_ref("Empty")]}),
        ResultKind::StatusAndSkills => json!({"type": "object", "required": ["status", "skills"], "properties": {
            "status": {"type": "integer"}, "skills": {"type": "array", "items": schema_ref("SkillInfo")}}}),
        ResultKind::AgentStateTimes => json!({"type": "array", "items": {"type": "object", "properties": {
            "workno": {"type": "string"}, "name": {"type": "string"}, "status": {"type": "integer"},
            "currentstatetime": {"type": "integer"}}, "required": ["workno", "name", "status", "currentstatetime"]}}),
        ResultKind::RestInfoOrEmpty => json!({"anyOf": [{"type": "object", "properties": {
            "restcause": {"type": "integer"}, "time": {"type": "integer"}, "begintime": {"type": "integer"},
            "remaintime": {"type": "integer"}}, "required": ["restcause", "time", "begintime", "remaintime"]},
            schema_ref("Empty")]}),
        ResultKind::RestReasons => json!({"type": "array", "items": {"type": "object", "properties": {
            "id": {"type": "integer"}, "name": {"type": "string"}}, "required": ["id", "name"]}}),
        ResultKind::Flag => json!({"type": "boolean"}),
        ResultKind::AgentPhones => json!({"type": "object", "additionalProperties": {"type": "string"},
            "description": "work number → phone number of each signed-in agent"}),
        // --- recordplay ---
        ResultKind::RecordFiles => json!({"type": "array", "items": schema_ref("RecordFile")}),
        ResultKind::RecordFile => schema_ref("RecordFile"),
        ResultKind::Url => json!({"type": "string"}),
        ResultKind::Text => json!({"type": "string"}),
        ResultKind::TimeMs => json!({"type": "integer", "minimum": 0}),
        ResultKind::RecordScores => json!({"type": "array", "items": {"type": "object"}}),
        ResultKind::Event => return Some(("event", schema_ref("Event"))),
        ResultKind::EventList => return Some(("event", json!({"type": "array", "items": schema_ref("Event")}))),
        ResultKind::CustomState => json!({"type": "object", "required": ["agentcustomstate"],
            "properties": {"agentcustomstate": {"type": "string"}}, "additionalProperties": false}),
        ResultKind::Jsonp => return None,
        ResultKind::SyncAgentInfo => json!({"type": "object", "required": ["callinfo", "agentStateInfo"],
            "properties": {"callinfo": {"type": "string"}, "agentStateInfo": {"type": "object"}}}),
        ResultKind::Undocumented => json!({}),
        // --- calldata / queuedevice (issue 8) ---
        ResultKind::Boolean => json!({"type": "boolean"}),
        ResultKind::AccessCodes => json!({"type": "array", "items": {"type": "object", "properties": {
            "access": {"type": "string"}, "id": {"type": "integer"}, "description": {"type": "string"},
            "type": {"type": "string", "enum": ["skill", "ivr"]}}}}),
        ResultKind::AcdStats => json!({"type": "array", "items": {"type": "object", "properties": {
            "pilotNbr": {"type": "string"}, "deviceNo": {"type": "integer"}, "queueSize": {"type": "integer"},
            "queueTime": {"type": "integer"}}}}),
        ResultKind::CallRecords => json!({"type": "array", "items": {"type": "object", "properties": {
            "callid": {"type": "string"}, "callfeature": {"type": "integer"}, "caller": {"type": "string"},
            "called": {"type": "string"}, "workno": {"type": "string"}, "callskillid": {"type": "integer"},
            "callskill": {"type": "string"}, "createtime": {"type": "integer"},
            "begintime": {"type": ["integer", "null"]}, "endtime": {"type": "integer"},
            "talktime": {"type": "integer"}}}}),
    };
    Some(("result", s))
}

fn body_schema(b: Body) -> Option<&'static str> {
    match b {
        Body::SignIn => Some("SignInRequest"),
        Body::Callout => Some("CalloutRequest"),
        Body::CallInner => Some("CallInnerRequest"),
        Body::InnerHelp => Some("InnerHelpRequest"),
        Body::Transfer => Some("TransferRequest"),
        Body::SetCallData => Some("SetCallDataRequest"),
        Body::AgentList => Some("AgentListRequest"),
        Body::Play => Some("PlayRequest"),
        Body::BindPhone => Some("BindPhoneRequest"),
        Body::Bulletin => Some("BulletinRequest"),
        Body::ModifyPassword => Some("ModifyPasswordRequest"),
        Body::None | Body::Json | Body::Undocumented => None,
        // --- issue 8 ---
        Body::AcdStat => Some("AcdStatRequest"),
        Body::AssignInQueue => Some("AssignInQueueRequest"),
        Body::CallInnerSkill => Some("CallInnerSkillRequest"),
        Body::SetStatus => Some("SetStatusRequest"),
        Body::AdjustSkill => Some("AdjustSkillRequest"),
    }
}

fn operation(i: &Interface) -> Value {
    let mut params: Vec<Value> = i
        .path_params()
        .map(|name| {
            let mut p =
                json!({"name": name, "in": "path", "required": true, "schema": {"type": "string", "minLength": 1}});
            // A provisioned agent of the demo, so that generated requests reach the handlers too.
            if matches!(name, "agentid" | "workno") {
                p["example"] = json!("101");
            }
            p
        })
        .collect();
    for q in i.query {
        let schema = match q.1 {
            QueryType::Str => json!({"type": "string"}),
            QueryType::Integer => json!({"type": "integer"}),
            QueryType::Boolean => json!({"type": "boolean"}),
        };
        params.push(json!({"name": q.0, "in": "query", "required": false, "schema": schema}));
    }
    if i.auth == Auth::Guid {
        params.push(json!({"$ref": "#/components/parameters/Guid"}));
    }
    let mut properties = Map::new();
    properties.insert("message".into(), json!({"type": "string"}));
    properties.insert(
        "retcode".into(),
        json!({"type": "string", "description": "`0` on success, else the vendor's retcode"}),
    );
    if let Some((key, schema)) = result_schema(i.result) {
        properties.insert(key.into(), schema);
    }
    let envelope = json!({"type": "object", "required": ["message", "retcode"], "properties": properties});
    let mut description = format!("Vendor log name `{}`.", i.log_name);
    if let Some(js) = i.js {
        description.push_str(&format!(" Vendor JS API `{}.{}`.", js.object, js.function));
    }
    if let Status::Stub(why) = i.status {
        description.push_str(&format!(" ccgw: a stub, {why}."));
    }
    description.push_str(" Business errors are HTTP 200 with a retcode and no result.");
    let mut op = json!({
        "operationId": i.log_name,
        "summary": i.summary,
        "description": description,
        "tags": [i.family.name()],
        "parameters": params,
        "responses": {
            "200": {"description": "the answer (success or business error)", "content": {"application/json": {"schema": envelope}}},
            "404": {"$ref": "#/components/responses/NotFound"},
            "405": {"$ref": "#/components/responses/MethodNotAllowed"},
            "413": {"$ref": "#/components/responses/PayloadTooLarge"},
        },
    });
    if i.result == ResultKind::Jsonp {
        // `callback(<the poll's JSON>)`, or the JSON itself without a callback.
        op["responses"]["200"]["content"] = json!({"text/plain": {"schema": {"type": "string"}}});
    }
    if let Some(name) = body_schema(i.body) {
        op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": schema_ref(name)}}});
    }
    op
}

/// A number or flag the vendor's clients send as JSON numbers/bools or as strings.
fn lenient(ty: &str) -> Value {
    json!({"type": [ty, "string"]})
}

fn components() -> Value {
    let mut c = base_components();
    agentgroup_components(&mut c);
    c
}

// --- agentgroup ---
fn agentgroup_components(c: &mut Value) {
    let string = json!({"type": "string"});
    let int = json!({"type": "integer"});
    let schemas = &mut c["schemas"];
    schemas["AgentListRequest"] = json!({
        "type": "object",
        "required": ["agentlist"],
        "properties": {"agentlist": {"type": "array", "items": lenient("integer")}},
    });
    schemas["GroupInfo"] =
        json!({"type": "object", "required": ["id", "name"], "properties": {"id": int, "name": string}});
    schemas["AgentInfo"] = json!({
        "type": "object",
        "required": [
            "workno", "name", "status", "ctiStatus", "groupid", "groupname", "mediatype", "vdnid", "phonenumber",
            "currentstatetime", "logindate", "callids", "inMultimediaConf", "currentStateReason",
        ],
        "properties": {
            "workno": string, "name": string, "status": string, "ctiStatus": string, "groupid": int,
            "groupname": string, "skilllist": {"type": "array", "items": schema_ref("SkillInfo")},
            "mediatype": string, "vdnid": int, "phonenumber": string, "currentstatetime": int, "logindate": int,
            "callids": {"type": "array", "items": string}, "inMultimediaConf": int, "currentStateReason": int,
        },
    });
}

fn base_components() -> Value {
    let string = json!({"type": "string"});
    let int = json!({"type": "integer"});
    let opt_int = json!({"type": ["integer", "null"]});
    let error = |code: &str, message: &str| {
        json!({"description": message, "content": {"application/json": {"schema": {
            "type": "object",
            "required": ["message", "retcode"],
            "properties": {"message": {"type": "string"}, "retcode": {"const": code}},
        }}}})
    };
    json!({
        "parameters": {
            "Guid": {
                "name": "Guid", "in": "header", "required": false,
                "description": "the GUID from the sign-in's `Set-GUID: JSESSIONID=<guid>` (absent or wrong: `100-006`)",
                "schema": {"type": "string"},
            },
        },
        "responses": {
            "NotFound": error("404", "no such interface, or one ccgw does not implement"),
            "MethodNotAllowed": error("405", "the path takes other HTTP methods (`Allow`)"),
            "PayloadTooLarge": error("000-006", "body over `server.max_body_bytes`"),
        },
        "schemas": {
            "Empty": {"type": "object", "maxProperties": 0},
            "SignInRequest": {
                "type": "object",
                "required": ["password"],
                "properties": {
                    "password": string,
                    "phonenum": lenient("integer"),
                    "agenttype": lenient("integer"),
                    "status": lenient("integer"),
                    "autoanswer": lenient("boolean"),
                    "autoenteridle": lenient("boolean"),
                    "releasephone": lenient("boolean"),
                },
            },
            "CalloutRequest": {
                "type": "object",
                "required": ["called"],
                "properties": {"called": lenient("integer"), "caller": lenient("integer"), "callappdata": string},
            },
            "CallInnerRequest": {
                "type": "object",
                "required": ["called"],
                "properties": {"called": lenient("integer"), "callappdata": string},
            },
            "InnerHelpRequest": {
                "type": "object",
                "required": ["dstaddress"],
                "properties": {
                    "dstaddress": lenient("integer"),
                    "devicetype": lenient("integer"),
                    "mode": lenient("integer"),
                    "holdflag": lenient("boolean"),
                    "callappdata": string,
                },
            },
            "TransferRequest": {
                "type": "object",
                "required": ["devicetype", "address"],
                "properties": {"devicetype": lenient("integer"), "address": lenient("integer"), "mode": lenient("integer")},
            },
            "SetCallDataRequest": {
                "type": "object",
                "required": ["callid"],
                "properties": {"callid": string, "calldata": string, "isDataEncoded": lenient("boolean")},
            },
            // --- recordplay ---
            "PlayRequest": {
                "type": "object",
                "required": ["voicepath"],
                "properties": {
                    "voicepath": {"type": "string", "minLength": 1, "maxLength": 100},
                    "startpostion": lenient("integer"),
                    "volumechange": string,
                    "speedchange": string,
                    "times": lenient("integer"),
                },
            },
            "RecordFile": {
                "type": "object",
                "required": ["recordID", "fileName", "callId", "workNo", "skillId", "caller", "called", "beginTime", "endTime"],
                "properties": {
                    "recordID": string, "fileName": string, "callId": string, "workNo": string, "skillId": int,
                    "caller": string, "called": string, "beginTime": int, "endTime": int,
                },
            },
            "SetStatusRequest": {
                "type": "object",
                "required": ["agentStatus"],
                "properties": {"agentStatus": {"type": "string", "enum": ["AgentState_Idle", "AgentState_Busy"]}},
            },
            "BindPhoneRequest": {
                "type": "object",
                "required": ["phonenum"],
                "properties": {"phonenum": lenient("integer")},
            },
            "BulletinRequest": {
                "type": "object",
                "required": ["bulletindata"],
                "properties": {"targettype": lenient("integer"), "targetname": string, "bulletindata": string},
            },
            "ModifyPasswordRequest": {
                "type": "object",
                "required": ["oldPassword", "newPassword"],
                "properties": {"oldPassword": string, "newPassword": string},
            },
            "SignInResult": {
                "type": "object",
                "required": ["vdnid", "workno", "mediatype", "loginTime", "isForceChange", "serverName", "timeRemaining"],
                "properties": {
                    "vdnid": int, "workno": string, "mediatype": string, "loginTime": string,
                    "isForceChange": string, "serverName": string, "timeRemaining": string,
                },
            },
            "AgentStatus": {
                "type": "object",
                "required": ["agentState", "isWorking"],
                "properties": {"agentState": int, "isWorking": {"type": "boolean"}},
            },
            "GuidResult": {"type": "object", "required": ["guid"], "properties": {"guid": string}},
            "SkillInfo": {
                "type": "object",
                "required": ["name", "id", "mediatype"],
                "properties": {"name": string, "id": int, "mediatype": int},
            },
            "CallInfo": {
                "type": "object",
                "required": [
                    "callfeature", "callid", "caller", "called", "callskill", "callskillid", "orgicallednum",
                    "calldata", "begintime", "endtime", "userPriority", "trunkNo", "logontimes", "mediaType",
                ],
                "properties": {
                    "callfeature": int, "callid": string, "caller": string, "called": string,
                    "callskill": string, "callskillid": int, "orgicallednum": string, "calldata": string,
                    "begintime": opt_int, "endtime": opt_int, "userPriority": int, "trunkNo": int,
                    "logontimes": int, "mediaType": int,
                },
            },
            "HeldCall": {
                "type": "object",
                "required": ["callfeature", "callid", "caller", "called", "callskill"],
                "properties": {"callfeature": int, "callid": string, "caller": string, "called": string, "callskill": string},
            },
            "IvrInfo": {
                "type": "object",
                "required": ["access", "id", "description", "serviceNo"],
                "properties": {"access": string, "id": int, "description": string, "serviceNo": int},
            },
            "Statistics": {
                "type": "object",
                "required": ["talktime", "answernums", "calloutnums"],
                "properties": {"talktime": int, "answernums": int, "calloutnums": int},
            },
            "Event": {
                "type": "object",
                "required": ["eventType", "workNo", "content"],
                "properties": {
                    "eventType": string,
                    "workNo": string,
                    "content": {"description": "an object, a bare call-id string, or null, by event type"},
                    "eventGenTime": int,
                },
            },
        },
    })
}

/// The document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for i in INTERFACES.iter().filter(|i| i.is_routed()) {
        let item = paths.entry(i.path).or_insert_with(|| json!({}));
        for v in i.http {
            item[v.as_str().to_ascii_lowercase()] = operation(i);
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "ccgw agent interface",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The agent REST interface of Huawei CC-Gateway as ccgw serves it: the interfaces ccgw \
                implements (docs/interfaces.md lists all the vendor's, with coverage). Generated from \
                ccgw_wire::interface::INTERFACES; docs/compat.md records every choice where the vendor is silent.",
        },
        "servers": [{"url": "/agentgateway/resource"}],
        "paths": paths,
        "components": with_issue8_schemas(components()),
    })
}

/// The request bodies of the issue-8 queuedevice, calldata and voicecall interfaces.
fn with_issue8_schemas(mut components: Value) -> Value {
    let id = lenient("integer");
    let schemas = [
        (
            "AcdStatRequest",
            json!({"type": "object", "required": ["skills"], "properties": {
                "skills": {"type": "array", "minItems": 1, "maxItems": crate::request::MAX_ACD_SKILLS, "items": id}}}),
        ),
        (
            "AdjustSkillRequest",
            json!({"type": "object", "required": ["workNo"], "properties": {
                "workNo": id, "skills": {"type": "array", "maxItems": crate::request::MAX_ADJUST_SKILLS, "items": id}}}),
        ),
        (
            "AssignInQueueRequest",
            json!({"type": "object", "required": ["callid", "skillid"], "properties": {
                "callid": {"type": "string"}, "skillid": id}}),
        ),
        (
            "CallInnerSkillRequest",
            json!({"type": "object", "required": ["skillId"], "properties": {
                "skillId": id, "skillid": id, "callappdata": {"type": "string"}}}),
        ),
    ];
    if let Some(map) = components["schemas"].as_object_mut() {
        for (name, schema) in schemas {
            map.insert(name.into(), schema);
        }
    }
    components
}

/// The document as served and committed: pretty JSON with a final newline.
pub fn document_text() -> String {
    let mut s = serde_json::to_string_pretty(&document()).unwrap_or_default();
    s.push('\n');
    s
}
