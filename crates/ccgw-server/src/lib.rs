//! The ccgw gateway: the vendor-compatible agent interface over HTTPS, the admin listener, and
//! the runtime around the domain (store, clock, credentials, telephony, housekeeping).

pub mod admin;
pub mod api;
pub mod cluster;
pub mod config;
mod cors;
pub mod credentials;
pub mod fdlimit;
pub mod gateway;
pub mod heartbeat;
mod http1;
pub mod limiter;
pub mod listener;
pub mod lockout;
pub mod push;
pub mod routes;
pub mod server;
pub mod telemetry;
pub mod telephony;
pub mod telephony_sip;
pub mod tls;

pub use ccgw_wire as wire;
pub use config::Config;
pub use server::{Server, start, start_redis};
