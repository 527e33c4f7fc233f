//! The ccgw gateway: the vendor-compatible agent interface over HTTPS, the admin listener, and
//! the runtime around the domain (store, clock, credentials, telephony, housekeeping).

pub mod admin;
pub mod api;
pub mod config;
pub mod credentials;
pub mod gateway;
mod http1;
pub mod limiter;
pub mod listener;
pub mod lockout;
pub mod routes;
pub mod server;
pub mod telemetry;
pub mod telephony;
pub mod tls;

pub use config::Config;
pub use server::{Server, start};
