//! Load generation for ccgw, speaking the public agent interface
//! (`/agentgateway/resource/...`) like real agent desktops do.
//!
//! * [`run_bench`] (`ccgw bench`): throughput and latency scenarios, with a
//!   report table ([`print_report`]) and optional JSON.
//! * [`run_simulate`] (`ccgw simulate`): a live contact center — agents
//!   answering, talking and wrapping up while customers call in.
//!
//! Building blocks: [`client`] (keep-alive HTTP/1.1 over TLS or TCP, GUID
//! handling), [`api`] (paths, sign-in, events, operator API).

pub mod api;
mod bare;
mod bench;
pub mod client;
pub mod cluster;
mod dist;
mod fleet;
mod gateway;
mod polls;
mod progress;
mod provision;
mod report;
mod simulate;
mod sip;
mod site;
mod stats;
mod sys;
mod workload;

/// The bench's bare TLS server, for `examples/bare_server.rs`.
#[doc(hidden)]
pub use bare::{BareServer, response as bare_response};
pub use bench::{AgentRange, BenchOpts, Scenario, run_bench};
pub use report::{BenchReport, PollsMemory, ScenarioReport, format_report, print_report};
pub use simulate::{SimulateOpts, run_simulate};
pub use sip::SipRun;
pub use site::SiteFigures;
pub use stats::InterfaceRow;
