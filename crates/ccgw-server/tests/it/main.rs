//! Integration tests: each starts the real gateway on 127.0.0.1 over TLS (its own generated
//! certificate, verified by the client) and talks HTTP to it. One test binary, many modules.

mod accesslog;
mod agentgroup;
mod browser;
mod callfam;
mod calls;
mod common;
mod desk;
mod guid;
mod jsapi;
mod onlineagent;
mod onlineagent2;
mod polls;
mod push;
mod qualitycontrol;
mod queuerec;
mod recordplay;
mod routing;
mod signin;
mod smoke;
mod thirdcontrol;
mod transport;
mod voicefam;
mod wallboard;
