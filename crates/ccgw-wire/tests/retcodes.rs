//! The retcode mapping for errors that every interface shares.

use ccgw_domain::DomainError;
use ccgw_wire::Method;
use ccgw_wire::retcode::retcode;

#[test]
fn store_unavailable_is_000_004_on_every_interface() {
    for method in [Method::SayBusy, Method::SayFree, Method::Login, Method::ModifyAccountPwd, Method::AdjustSkill] {
        let rc = retcode(method, DomainError::StoreUnavailable);
        assert_eq!((rc.code, rc.message), ("000-004", "agent is being switched over, try again later"), "{method:?}");
    }
}
