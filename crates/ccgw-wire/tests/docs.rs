//! The committed docs generated from the interface table match it. `UPDATE_DOCS=1 cargo test -p
//! ccgw-wire --test docs` rewrites them.

use std::path::PathBuf;

fn check(file: &str, generated: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs").join(file);
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/{file} is not what the interface table generates; run `UPDATE_DOCS=1 cargo test -p ccgw-wire --test docs`"
    );
}

#[test]
fn openapi_json_is_generated_from_the_table() {
    check("openapi.json", &ccgw_wire::openapi::document_text());
}

#[test]
fn interfaces_md_is_generated_from_the_table() {
    check("interfaces.md", &ccgw_wire::coverage::markdown());
}

#[test]
fn the_openapi_document_has_every_routed_interface_once() {
    let doc = ccgw_wire::openapi::document();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut ids = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (verb, op) in item.as_object().unwrap() {
            ids.push(op["operationId"].as_str().unwrap().to_owned());
            for code in ["200", "404", "405", "413"] {
                assert!(op["responses"].get(code).is_some(), "{verb} {path} {code}");
            }
        }
    }
    // Every served or stubbed interface under each of its verbs (resetSkill under POST and PUT), once.
    let served: usize = ccgw_wire::interface::INTERFACES
        .iter()
        .filter(|i| !matches!(i.status, ccgw_wire::interface::Status::NotYet(_)))
        .map(|i| i.http.len())
        .sum();
    assert!(served >= 48, "{served}");
    assert_eq!(ids.len(), served);
    let seed = &doc["paths"]["/calldata/{agentid}/allcallinfoEx/{workno}"]["get"];
    assert_eq!(seed["operationId"], "queryAllCallInfoByAgentWorkNoEx");
    assert_eq!(
        seed["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["result"],
        serde_json::json!({"type":"array","items":{"type":"string"}})
    );
    let login = &doc["paths"]["/onlineagent/{agentid}"]["put"];
    assert_eq!(
        login["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/SignInRequest"
    );
    assert!(login["parameters"].as_array().unwrap().iter().all(|p| p["$ref"].is_null()), "no Guid on sign-in");
}
