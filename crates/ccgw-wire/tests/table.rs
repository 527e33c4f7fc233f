//! The interface table: complete, consistent, and naming what the access log has always named.

use std::collections::HashSet;

use ccgw_wire::Method;
use ccgw_wire::interface::{Auth, Body, Family, INTERFACES, Overload, ResultKind, Status};

#[test]
fn every_interface_of_the_inventory_is_in_the_table() {
    // interfaces.md §1, "Per family".
    let expected = [
        (Family::OnlineAgent, 37),
        (Family::AgentEvent, 7),
        (Family::VoiceCall, 29),
        (Family::CallData, 31),
        (Family::AgentGroup, 35),
        (Family::QueueDevice, 10),
        (Family::QualityControl, 32),
        (Family::RecordPlay, 19),
        (Family::QueryMonitor, 11),
        (Family::TextChat, 6),
        (Family::AgentConf, 6),
        (Family::MediaCall, 4),
        (Family::ThirdControl, 3),
    ];
    for (family, n) in expected {
        assert_eq!(INTERFACES.iter().filter(|i| i.family == family).count(), n, "{family:?}");
    }
    assert_eq!(INTERFACES.len(), 230);
}

#[test]
fn names_paths_and_methods_are_unique() {
    let mut names = HashSet::new();
    let mut routes = HashSet::new();
    for (n, i) in INTERFACES.iter().enumerate() {
        assert_eq!(i.method as usize, n);
        assert_eq!(i.method.name(), i.log_name);
        assert!(names.insert(i.log_name), "log name {} twice", i.log_name);
        assert!(!i.http.is_empty(), "{}", i.path);
        assert!(!i.summary.is_empty(), "{}", i.path);
        for v in i.http {
            assert!(routes.insert((v, i.path.to_ascii_lowercase())), "{v:?} {} twice", i.path);
        }
        let first = i.segments().next().unwrap();
        assert!(first.starts_with(i.family.name()), "{} is not in {:?}", i.path, i.family);
        assert!(i.path.starts_with('/') && !i.path.ends_with('/') && !i.path.contains("//"), "{}", i.path);
    }
    assert_eq!(Method::NotFound.name(), "notFound");
    assert_eq!(Method::MethodNotAllowed.name(), "methodNotAllowed");
    assert!(Method::NotFound.interface().is_none());
}

#[test]
fn the_served_interfaces_are_described_completely() {
    let served: Vec<_> = INTERFACES.iter().filter(|i| i.status == Status::Served).collect();
    // 44 before issue 8 §2; families are implemented in parallel, so a lower bound.
    assert!(served.len() >= 50, "{}", served.len());
    for i in &served {
        assert_ne!(i.result, ResultKind::Undocumented, "{}", i.log_name);
        assert!(!matches!(i.body, Body::Json | Body::Undocumented), "{}", i.log_name);
    }
    let stubs: Vec<_> = INTERFACES.iter().filter(|i| matches!(i.status, Status::Stub(_))).map(|i| i.method).collect();
    assert_eq!(stubs, []);
    // `allagentevent` has no agent id in its path but takes the `Guid` of a signed-in agent
    // (the caller's VDN); every other routed interface without an agent id in its path is
    // answered without authentication.
    assert_eq!(Method::GetAllAgentEvent.interface().unwrap().auth, Auth::Guid);
    for i in INTERFACES.iter().filter(|i| i.is_routed()) {
        let has_agent = i.segments().nth(1).is_some_and(|s| s.starts_with('{'));
        let guid_only = i.method == Method::GetAllAgentEvent;
        assert_eq!(has_agent || guid_only, i.auth != Auth::None, "{}", i.path);
    }
}

/// The overload class replaces the old hand-written list of call-data queries.
#[test]
fn call_data_queries_are_the_ones_the_limiter_always_counted() {
    use Method::*;
    let served: HashSet<Method> = INTERFACES
        .iter()
        .filter(|i| i.status == Status::Served && i.overload == Overload::CallData)
        .map(|i| i.method)
        .collect();
    let old: HashSet<Method> = [
        QueryCallInfo,
        QueryCallAppData,
        QueryHoldListInfo,
        QueryCallInfoBeforeAnswer,
        QueryCallInfoByCallId,
        QueryAllCallInfoByAgentWorkNoEx,
        QueryCallNumsOnAgent,
        QueryCallStatisticsInfoEx,
        QueryHoldListInfoEx,
        QueryRemoteNumbers,
        // Issue 8 §2.
        QueryAllCallID,
        QueryAllCallInfoByAgentWorkNo,
        QueryCallStatisticsInfo,
        // Issue 8 §2, second batch.
        QueryAgentHoldNum,
        QueryWaitCallInfoBySkillId,
        QueryWaitCallInfoByIVRId,
        QueryCallCountByIVRId,
        QueryPrivateCallInfo,
        QueryAllCallInfoOnVdn,
        IsProcessCall,
        QueryCallRecordList,
        QuerySelfCallRecordInfo,
    ]
    .into();
    // Families are implemented in parallel: at least the ones listed here.
    assert!(old.is_subset(&served), "{:?}", old.difference(&served).collect::<Vec<_>>());
    assert!(!SetCallAppDataEx.is_calldata_query());
    assert_eq!(SetCallAppDataEx.success_message(), "success");
    assert_eq!(QueryCallInfo.success_message(), "");
}

/// The names the access log and metrics carried before the table existed.
#[test]
fn log_names_of_the_implemented_interfaces_are_unchanged() {
    use Method::*;
    for (m, name) in [
        (Login, "login"),
        (ForceLogin, "forceLogin"),
        (HandShake, "handShake"),
        (UpdateGuid, "updateGuid"),
        (SayWork, "sayWork"),
        (SetAgentAutoEnterIdle, "setAgentAutoEnterIdle"),
        (GetAgentEvent, "getAgentEvent"),
        (Callout, "callout"),
        (CallInner, "callInner"),
        (ConfJoin, "confJoin"),
        (QueryAllCallInfoByAgentWorkNoEx, "queryAllCallInfoByAgentWorkNoEx"),
        (QueryRemoteNumbers, "queryRemoteNumbers"),
    ] {
        assert_eq!(m.name(), name);
    }
}
