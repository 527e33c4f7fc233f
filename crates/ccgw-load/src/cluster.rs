//! `ccgw bench --scenario cluster` (issue 9's benchmarks) and the process harness it shares with
//! the cluster tests ([`procs`]).

pub mod procs;
