//! The vendor's wire format: the only crate that knows Huawei CC-Gateway's JSON field names,
//! value types, event names and retcodes. Everything here is pure data conversion.

pub mod coverage;
pub mod event;
pub mod interface;
pub mod jsapi;
pub mod method;
pub mod openapi;
pub mod request;
pub mod response;
pub mod retcode;

pub use method::Method;
pub use retcode::{Retcode, retcode};
