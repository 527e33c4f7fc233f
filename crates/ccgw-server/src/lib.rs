pub mod config;
pub mod listener;
pub mod telemetry;
pub mod tls;
