//! Real telephony over SIP (`[telephony] kind = "sip"`, issue 11): [`SipTelephony`] behind the
//! [`Telephony`] trait, owning a `ccgw_sip::SipSide` (a signalling B2BUA with a registrar).
//!
//! The engine stays the single source of truth; this module only translates, in one task
//! ([`SipRunner`]) that takes both the engine's telephony commands and the SIP side's events in
//! turn, so that the leg tables it keeps are never raced:
//!
//! * an INVITE to an access code (`SipEvent::Inbound`) → `cmd::CustomerCall` with the access
//!   code's skill; the new call id is bound to the customer's leg before any command of that
//!   call is looked at (the caller hears 180 while queued);
//! * `RingAgent` → `SipSide::ring` of the agent's registered phone, bridged to the customer's
//!   leg (its SDP offered; the phone's answer answers the customer), with
//!   `Call-Info: answer-after=0` when the agent signed in with auto-answer or
//!   `[telephony.sip] auto_answer` is on; the phone's 200 → `cmd::PhoneAnswered`, its
//!   failure (4xx–6xx, not registered, no answer at all) → `cmd::PhoneFailed` (a ring
//!   time-out for the engine), its BYE → `cmd::PhoneHungUp` (as is its leg ending because the
//!   phone vanished: the SIP side's keepalive, `[telephony.sip] keepalive_ms`);
//! * `AnswerAgent` (the desktop answered) → the ringing INVITE is cancelled and, once it has
//!   ended, the phone is rung again with `answer-after=0`, so that it picks up by itself;
//! * `ReleaseAgent` → BYE (answered) or CANCEL (ringing) of the agent's leg; `Hangup` of the
//!   customer → BYE (or 480 while still unanswered); the SIP side releases a bridged leg's peer
//!   itself, and the reports that follow are stale for the engine, which ignores them;
//! * `HoldAgent` → re-INVITEs of the agent's phone and the other party, `a=sendonly` /
//!   `a=sendrecv`; taking back after a consultation connects the two again
//!   (`SipSide::connect`: each given the other's SDP); a phone that hung up meanwhile is rung;
//! * `ConnectAgent` (the agent placed or took a call: callout, internal call, consultation,
//!   pick-up) → the agent's phone is rung with auto-answer (a placeholder SDP when nobody else
//!   is in the call yet), or, already in a call, serves this one too: an agent has one phone
//!   leg, whatever calls it serves (`Legs::lines`);
//! * a party joining a call (`RingAgent`, `Dial`) is rung offering the SDP of the call's
//!   "other leg" (the customer's, else a dialled number's, else another agent's phone): an
//!   unanswered customer leg is bridged as above; an answered leg is re-INVITEd with the new
//!   party's SDP once it answers (consultation, transfer, callout); an agent's own phone not
//!   answered yet is waited for (`Legs::waiting`);
//! * `Dial` (callout, transfer to a number) → an INVITE to `[telephony.sip] trunk`;
//!   200 / failure / BYE → the `Remote*` reports.
//!
//! What this telephony cannot do (conferences, three-party consultation, connecting held
//! calls, mute, recording, playback, supervisors' listen/insert/whisper, DTMF) is refused at the
//! interface with [`ccgw_wire::retcode::NOT_WITH_SIP`] ([`unsupported`]; docs/compat.md).

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context as _;
use ccgw_domain::{AgentId, CallId, PartyState, SkillId, TelephonyCommand, VdnId, cmd};
use ccgw_sip::{LegId, SipConfig, SipEvent, SipSide};
use ccgw_store::Store;
use ccgw_wire::Method;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use crate::config::{Config, TelephonyKind};
use crate::gateway::{DEMO_PASSWORD, Gateway};
use crate::telephony::{SimulatedTelephony, Telephony, TelephonyReport};

/// The telephony for `config`: the simulation, or the SIP side (bound here, so that a port in
/// use stops the start) with the runner to start once the gateway exists ([`SipRunner::spawn`]).
pub async fn build(
    config: &Config,
    reports: UnboundedSender<TelephonyReport>,
) -> anyhow::Result<(Box<dyn Telephony>, Option<SipRunner>)> {
    if config.telephony.kind == TelephonyKind::Simulated {
        return Ok((Box::new(SimulatedTelephony::new(config.telephony.clone(), reports)), None));
    }
    let cluster = config.store.backend == crate::config::StoreBackend::Redis;
    if cluster && config.telephony.sip.node != config.server.node_name {
        info!(sip_node = %config.telephony.sip.node, "SIP telephony runs on another node");
        return Ok((Box::new(crate::telephony::NoTelephony), None));
    }
    let (side, events) = SipSide::start(sip_config(config)).await.context("[telephony.sip] listen")?;
    info!(udp = %side.udp_addr(), tcp = %side.tcp_addr(), trunk = ?config.telephony.sip.trunk, "SIP telephony");
    let (commands_tx, commands) = unbounded_channel();
    let telephony = SipTelephony { side: side.clone(), commands: commands_tx };
    let runner = SipRunner {
        side,
        events,
        commands,
        auto_answer: config.telephony.sip.auto_answer,
        legs: Legs::default(),
        queues: HashMap::new(),
    };
    Ok((Box::new(telephony), Some(runner)))
}

/// The SIP side's configuration: the phones that may register (configured, plus the demo
/// agents' phones with the demo password under the demo provisioning) and the access codes.
pub fn sip_config(config: &Config) -> SipConfig {
    let s = &config.telephony.sip;
    let mut c = SipConfig::new(s.listen);
    c.realm = s.realm.clone();
    c.trunk = s.trunk;
    c.min_expires = s.min_expires;
    c.max_expires = s.max_expires;
    c.keepalive = std::time::Duration::from_millis(s.keepalive_ms);
    let (skills, agents) = if config.is_demo() {
        let (_, skills, agents) = Config::demo_provisioning(String::new());
        (skills, agents)
    } else {
        (config.skills.clone(), config.agents.clone())
    };
    if config.is_demo() {
        for a in &agents {
            let number = a.phone.clone().unwrap_or_else(|| format!("7{}", a.workno));
            c.phones.insert(number, DEMO_PASSWORD.to_string());
        }
    }
    for p in &s.phones {
        c.phones.insert(p.number.clone(), p.password.expose().to_string());
    }
    c.access_codes = skills.iter().flat_map(|k| k.access_codes.iter().cloned()).collect();
    c.access_codes.sort();
    c.access_codes.dedup();
    c
}

/// Interfaces the SIP telephony cannot carry out (yet): they answer
/// [`ccgw_wire::retcode::NOT_WITH_SIP`] in SIP mode.
pub fn unsupported(method: Method) -> bool {
    use Method as M;
    matches!(
        method,
        // Conferences (three-party consultation too: `voicecall::dispatch` refuses mode 2 of
        // innerhelp) and connecting held calls need a media server or a mixer.
        M::ConfJoin
            | M::ConnectHold
            | M::ThirdPartyConfTransmitNum
            // Muting and DTMF.
            | M::BeginMute
            | M::EndMute
            | M::SecondDial
            | M::SecondDialEx
            // Recording and playback.
            | M::BeginRecord
            | M::BeginRecordWithoutFilename
            | M::PauseRecord
            | M::ResumeRecord
            | M::StopRecord
            | M::BeginPlay
            | M::PausePlay
            | M::ResumePlay
            | M::ForeFastPlay
            | M::BackFastPlay
            | M::StopPlay
            | M::ForceRecord
            | M::ForceStopRecord
            // Supervisors bridged into calls.
            | M::AddSupervise
            | M::AddInsert
            | M::SwitchSuperviseOrInsert
            | M::Intercept
            | M::InterceptCall
            | M::RequestWhisperAgent
            | M::RequestSwitchInsertWhisperAgent
    )
}

/// At start, the engine may hold calls from before (a restart of the SIP node in cluster mode,
/// whose state lived on in Redis): their dialogs died with the process that had them, so they
/// are ended as their parties hanging up (the customers first, then each agent's phone), and
/// every desktop is told `AgentEvent_Call_Release`.
fn end_orphans<S: Store>(gw: &Gateway<S>) {
    for &vdn in gw.directory.vdns.keys() {
        type Parties = Vec<(CallId, Vec<String>, Vec<AgentId>)>;
        let calls: Parties = gw
            .read(vdn, |s| {
                s.calls
                    .values()
                    .map(|c| (c.id, c.remotes().map(str::to_owned).collect(), c.agents().collect()))
                    .collect()
            })
            .unwrap_or_default();
        for (call, remotes, agents) in calls {
            info!(vdn = vdn.0, %call, "a call from before this start has no SIP dialogs: ending it");
            for number in remotes {
                gw.apply_report(TelephonyReport::HungUp { vdn, call, number });
            }
            for agent in agents {
                let _ = gw.run(vdn, cmd::PhoneHungUp { agent, call });
            }
        }
    }
}

/// The [`Telephony`] of SIP mode: commands go to the [`SipRunner`]'s task, in order.
pub struct SipTelephony {
    side: SipSide,
    commands: UnboundedSender<(VdnId, TelephonyCommand)>,
}

impl Telephony for SipTelephony {
    fn execute(&self, vdn: VdnId, command: TelephonyCommand) {
        // The runner gone means the gateway is stopping: nothing to carry out any more.
        let _ = self.commands.send((vdn, command));
    }

    fn phone_usable(&self, phone: &str) -> bool {
        self.side.is_registered(phone)
    }

    fn executes_every_vdn(&self) -> bool {
        true
    }
}

/// What a leg is to the engine.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Role {
    /// A customer who called an access code (`number`: the caller).
    Customer { vdn: VdnId, call: CallId, number: String },
    /// An agent's phone (`phone`): rung for `call`, an offer, or with `own` a call the agent
    /// placed or took itself; it serves every call of `calls` (two during a consultation).
    Agent { vdn: VdnId, call: CallId, agent: AgentId, phone: String, own: bool, calls: Vec<CallId> },
    /// A number dialled through the trunk (callout, transfer to a number).
    Dialled { vdn: VdnId, call: CallId, number: String },
}

/// The legs of live calls, both ways. Only the runner's task touches it.
#[derive(Default)]
struct Legs {
    roles: HashMap<LegId, Role>,
    customers: HashMap<(VdnId, CallId), LegId>,
    /// The agents' phone legs serving each call.
    agents: HashMap<(VdnId, CallId), Vec<(AgentId, LegId)>>,
    /// Each agent's phone leg, whatever calls it serves.
    lines: HashMap<(VdnId, AgentId), LegId>,
    dialled: HashMap<(VdnId, CallId), Vec<(String, LegId)>>,
    /// Agent legs cancelled because the desktop answered: once each has ended, its phone is
    /// rung again with auto-answer (a phone offered two INVITEs at once may take neither).
    rering: HashMap<LegId, Role>,
    /// Commands waiting for an agent's own phone to answer: the far end (an agent, a number)
    /// is then rung offering the phone's SDP.
    waiting: HashMap<LegId, Vec<(VdnId, TelephonyCommand)>>,
}

impl Legs {
    fn insert(&mut self, leg: LegId, role: Role) {
        match &role {
            Role::Customer { vdn, call, .. } => {
                self.customers.insert((*vdn, *call), leg);
            }
            Role::Agent { vdn, agent, calls, .. } => {
                for c in calls {
                    self.agents.entry((*vdn, *c)).or_default().push((*agent, leg));
                }
                self.lines.insert((*vdn, *agent), leg);
            }
            Role::Dialled { vdn, call, number } => {
                self.dialled.entry((*vdn, *call)).or_default().push((number.clone(), leg));
            }
        }
        self.roles.insert(leg, role);
    }

    /// Forget a leg (it ended, or ccgw is ending it): its later events are ignored, and what
    /// waited for it is dropped.
    fn remove(&mut self, leg: LegId) -> Option<Role> {
        let role = self.roles.remove(&leg)?;
        self.waiting.remove(&leg);
        match &role {
            Role::Customer { vdn, call, .. } => {
                self.customers.remove(&(*vdn, *call));
            }
            Role::Agent { vdn, agent, calls, .. } => {
                for c in calls {
                    self.detach(*vdn, *c, leg);
                }
                if self.lines.get(&(*vdn, *agent)) == Some(&leg) {
                    self.lines.remove(&(*vdn, *agent));
                }
            }
            Role::Dialled { vdn, call, .. } => {
                if let Some(v) = self.dialled.get_mut(&(*vdn, *call)) {
                    v.retain(|(_, l)| *l != leg);
                    if v.is_empty() {
                        self.dialled.remove(&(*vdn, *call));
                    }
                }
            }
        }
        Some(role)
    }

    fn detach(&mut self, vdn: VdnId, call: CallId, leg: LegId) {
        if let Some(v) = self.agents.get_mut(&(vdn, call)) {
            v.retain(|(_, l)| *l != leg);
            if v.is_empty() {
                self.agents.remove(&(vdn, call));
            }
        }
    }

    /// The agent's phone leg serving `call`.
    fn agent_leg(&self, vdn: VdnId, call: CallId, agent: AgentId) -> Option<LegId> {
        self.agents.get(&(vdn, call))?.iter().find(|(a, _)| *a == agent).map(|(_, l)| *l)
    }

    fn dialled_leg(&self, vdn: VdnId, call: CallId, number: &str) -> Option<LegId> {
        self.dialled.get(&(vdn, call))?.iter().find(|(n, _)| n == number).map(|(_, l)| *l)
    }

    /// The agent's phone leg now serves `call` too (its own new call, e.g. a consultation).
    fn attach(&mut self, vdn: VdnId, call: CallId, agent: AgentId, leg: LegId) {
        if let Some(Role::Agent { calls, .. }) = self.roles.get_mut(&leg)
            && !calls.contains(&call)
        {
            calls.push(call);
            self.agents.entry((vdn, call)).or_default().push((agent, leg));
        }
    }

    /// The agent left `call`: its phone leg no longer serves it. The leg, when it served
    /// nothing else (it is to be hung up).
    fn release_call(&mut self, vdn: VdnId, call: CallId, agent: AgentId) -> Option<LegId> {
        let leg = self.agent_leg(vdn, call, agent)?;
        self.detach(vdn, call, leg);
        let Some(Role::Agent { calls, .. }) = self.roles.get_mut(&leg) else { return None };
        calls.retain(|c| *c != call);
        if calls.is_empty() {
            self.remove(leg);
            Some(leg)
        } else {
            None
        }
    }

    /// The leg a party joining `call` is connected to: the customer's, else a dialled
    /// number's, else another agent's phone (`except` excluded).
    fn other_leg(&self, vdn: VdnId, call: CallId, except: Option<AgentId>) -> Option<LegId> {
        if let Some(l) = self.customers.get(&(vdn, call)) {
            return Some(*l);
        }
        if let Some((_, l)) = self.dialled.get(&(vdn, call)).and_then(|v| v.first()) {
            return Some(*l);
        }
        self.agents.get(&(vdn, call))?.iter().find(|(a, _)| Some(*a) != except).map(|(_, l)| *l)
    }

    /// Drop waiting commands that `done` says are over.
    fn forget_waiting(&mut self, done: impl Fn(VdnId, &TelephonyCommand) -> bool) {
        for v in self.waiting.values_mut() {
            v.retain(|(vdn, c)| !done(*vdn, c));
        }
    }

    fn len(&self) -> usize {
        self.roles.len()
    }
}

/// Work the runner hands off so as not to wait for a far end (re-INVITEs).
type Job = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// The task that joins the SIP side and the engine (see the module doc).
pub struct SipRunner {
    side: SipSide,
    events: UnboundedReceiver<SipEvent>,
    commands: UnboundedReceiver<(VdnId, TelephonyCommand)>,
    auto_answer: bool,
    legs: Legs,
    /// Per call, a task running its re-INVITEs and hang-ups one after the other, in the
    /// engine's order (hold, take back and release must not overtake each other).
    queues: HashMap<(VdnId, CallId), UnboundedSender<Job>>,
}

/// The leg a joining party is connected to: none yet, one ready, or an agent's own phone that
/// must answer first (the command waits for it).
enum Peer {
    None,
    Ready(LegId),
    Wait(LegId),
}

impl SipRunner {
    /// The SIP side this runner drives (a handle).
    pub fn side(&self) -> SipSide {
        self.side.clone()
    }

    /// Runs until `stop` turns true, then shuts the SIP side down.
    pub fn spawn<S: Store + 'static>(mut self, gw: Arc<Gateway<S>>, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
        tokio::spawn(async move {
            end_orphans(&gw);
            loop {
                tokio::select! {
                    c = self.commands.recv() => match c {
                        Some((vdn, command)) => self.command(&gw, vdn, command).await,
                        None => break,
                    },
                    e = self.events.recv() => match e {
                        Some(event) => self.event(&gw, event).await,
                        None => break,
                    },
                    _ = async { stop.wait_for(|s| *s).await.is_ok() } => break,
                }
                debug!(legs = self.legs.len(), queues = self.queues.len(), "SIP legs");
            }
            self.side.shutdown();
        })
    }

    /// The leg a party joining `call` is to be connected to, and whether it must first answer
    /// (an agent's own phone still ringing: the far end gets its SDP once it has).
    fn peer_for(&self, vdn: VdnId, call: CallId, except: Option<AgentId>) -> Peer {
        match self.legs.other_leg(vdn, call, except) {
            None => Peer::None,
            Some(l) => match self.legs.roles.get(&l) {
                Some(Role::Agent { .. }) if !self.side.is_answered(l) => Peer::Wait(l),
                _ => Peer::Ready(l),
            },
        }
    }

    async fn command<S: Store>(&mut self, gw: &Gateway<S>, vdn: VdnId, command: TelephonyCommand) {
        debug!(vdn = vdn.0, ?command, "telephony command");
        match command {
            // The customer's leg was bound when the call was created (`inbound`); a call the
            // operator injected has no leg.
            TelephonyCommand::Attach { .. } => {}
            TelephonyCommand::Hangup { call, number } => {
                let customer = self.legs.customers.get(&(vdn, call)).copied();
                let dialled = self.legs.dialled_leg(vdn, call, &number);
                self.legs.forget_waiting(|v, c| {
                    matches!(c, TelephonyCommand::Dial { call: x, number: n } if v == vdn && *x == call && *n == number)
                });
                for leg in customer.into_iter().chain(dialled) {
                    self.legs.remove(leg);
                    // After the call's re-INVITEs; an unknown leg ended meanwhile (its report is
                    // stale for the engine).
                    let side = self.side.clone();
                    self.queue(vdn, call, Box::pin(async move { drop(side.hangup(leg).await) }));
                }
                self.prune(vdn, call);
            }
            TelephonyCommand::Dial { call, number } => {
                let peer = match self.peer_for(vdn, call, None) {
                    Peer::Wait(line) => {
                        self.legs.waiting.entry(line).or_default().push((vdn, TelephonyCommand::Dial { call, number }));
                        return;
                    }
                    Peer::Ready(l) => Some(l),
                    Peer::None => None,
                };
                match self.side.dial(&number, peer).await {
                    Ok(leg) => self.legs.insert(leg, Role::Dialled { vdn, call, number }),
                    Err(e) => {
                        warn!(vdn = vdn.0, %call, number, error = %e, "callout failed");
                        gw.apply_report(TelephonyReport::Failed { vdn, call, number });
                    }
                }
            }
            TelephonyCommand::RingAgent { call, agent, phone, auto_answer } => {
                self.ring_agent(gw, vdn, call, agent, &phone, auto_answer || self.auto_answer).await;
            }
            TelephonyCommand::ConnectAgent { call, agent, phone } => {
                if let Some(&line) = self.legs.lines.get(&(vdn, agent)) {
                    // Already in a call (a consultation from it): the phone serves this one too.
                    self.legs.attach(vdn, call, agent, line);
                    return;
                }
                // A pick-up connects to the ringing customer; a callout or internal call has
                // nobody yet: the phone gets a placeholder until the far end answers.
                let rung = match self.peer_for(vdn, call, Some(agent)) {
                    Peer::Ready(peer) => self.side.ring(&phone, Some(peer), true).await,
                    Peer::None | Peer::Wait(_) => self.side.pick_up(&phone).await,
                };
                match rung {
                    Ok(leg) => {
                        self.legs.insert(leg, Role::Agent { vdn, call, agent, phone, own: true, calls: vec![call] })
                    }
                    Err(e) => {
                        warn!(vdn = vdn.0, %call, agent = agent.0, phone, error = %e, "cannot connect the agent's phone");
                        let _ = gw.run(vdn, cmd::PhoneHungUp { agent, call });
                    }
                }
            }
            TelephonyCommand::AnswerAgent { call, agent } => {
                let Some(leg) = self.legs.agent_leg(vdn, call, agent) else { return };
                if self.side.is_answered(leg) {
                    return;
                }
                // A phone cannot be made to pick up a ringing INVITE: cancel it, and once it has
                // ended (`rering_after`) ring it again, asking it to.
                let Some(role) = self.legs.remove(leg) else { return };
                self.legs.rering.insert(leg, role);
                if self.side.cancel(leg).await.is_err() {
                    // Gone meanwhile: its end was already reported.
                    self.rering_after(gw, leg).await;
                }
            }
            TelephonyCommand::ReleaseAgent { call, agent } => {
                self.legs.forget_waiting(|v, c| {
                    matches!(c, TelephonyCommand::RingAgent { call: x, agent: a, .. } if v == vdn && *x == call && *a == agent)
                });
                if let Some(leg) = self.legs.release_call(vdn, call, agent) {
                    // The agent leaves; the customer may stay (a blind transfer to a queue): the
                    // engine hangs the customer up itself when the call ends.
                    self.side.unbridge(leg);
                    let side = self.side.clone();
                    self.queue(vdn, call, Box::pin(async move { drop(side.hangup(leg).await) }));
                }
                let mine = |r: &Role| matches!(r, Role::Agent { vdn: v, call: c, agent: a, .. } if (*v, *c, *a) == (vdn, call, agent));
                self.legs.rering.retain(|_, r| !mine(r));
                self.prune(vdn, call);
            }
            TelephonyCommand::HoldAgent { call, agent, held } => self.hold_agent(gw, vdn, call, agent, held).await,
            // Refused at the interface in SIP mode (`unsupported`); what the engine still emits
            // on its own (a recording stopped by a call's end) has nothing to stop here.
            TelephonyCommand::Record { .. }
            | TelephonyCommand::Play { .. }
            | TelephonyCommand::SendDigits { .. }
            | TelephonyCommand::RelayDigits { .. }
            | TelephonyCommand::Supervise { .. } => {}
        }
    }

    /// Runs `job` after the call's earlier jobs, in the background.
    fn queue(&mut self, vdn: VdnId, call: CallId, job: Job) {
        let tx = self.queues.entry((vdn, call)).or_insert_with(|| {
            let (tx, mut rx) = unbounded_channel::<Job>();
            tokio::spawn(async move {
                while let Some(job) = rx.recv().await {
                    job.await;
                }
            });
            tx
        });
        // The worker ends only when its sender is dropped (`prune`), never before.
        let _ = tx.send(job);
    }

    /// A call with no leg left needs no queue: dropping its sender ends its task once drained.
    fn prune(&mut self, vdn: VdnId, call: CallId) {
        if !self.legs.customers.contains_key(&(vdn, call))
            && !self.legs.agents.contains_key(&(vdn, call))
            && !self.legs.dialled.contains_key(&(vdn, call))
        {
            self.queues.remove(&(vdn, call));
        }
    }

    /// Hold: re-INVITEs of the agent's phone and of the other party, `a=sendonly`. Taking back:
    /// `a=sendrecv` when the phone still talks to that party; after a consultation (the phone
    /// was given the helper's SDP) the two are connected again; a phone hung up meanwhile is
    /// rung again with auto-answer.
    async fn hold_agent<S: Store>(&mut self, gw: &Gateway<S>, vdn: VdnId, call: CallId, agent: AgentId, held: bool) {
        let line = self.legs.agent_leg(vdn, call, agent);
        let other = self.legs.other_leg(vdn, call, Some(agent));
        let side = self.side.clone();
        match (line, other, held) {
            (None, Some(other), false) => {
                let phone = gw.read(vdn, |s| s.phone_of(agent)).unwrap_or_default();
                match side.ring(&phone, Some(other), true).await {
                    Ok(leg) => {
                        self.legs.insert(leg, Role::Agent { vdn, call, agent, phone, own: true, calls: vec![call] })
                    }
                    Err(e) => {
                        warn!(vdn = vdn.0, %call, agent = agent.0, error = %e, "cannot ring the agent's phone again");
                    }
                }
            }
            (Some(line), Some(other), false) if side.media_from(line) != Some(other) => {
                let job = async move {
                    if let Err(e) = side.connect(line, other).await {
                        warn!(?line, ?other, error = %e, "re-INVITEs to take the call back failed");
                    }
                };
                self.queue(vdn, call, Box::pin(job));
            }
            (line, other, held) => {
                // Whom each leg talks to now: a leg re-connected meanwhile (a transfer's target
                // answered before this job ran) is not held any more.
                let legs: Vec<(LegId, Option<LegId>)> =
                    line.into_iter().chain(other).map(|l| (l, side.media_from(l))).collect();
                let job = async move {
                    for (leg, talks_to) in legs {
                        if side.media_from(leg) != talks_to {
                            debug!(?leg, "re-connected meanwhile: not re-INVITEd for hold");
                            continue;
                        }
                        let r = if held { side.hold(leg).await } else { side.unhold(leg).await };
                        if let Err(e) = r {
                            warn!(vdn = vdn.0, %call, ?leg, held, error = %e, "re-INVITE failed");
                        }
                    }
                };
                self.queue(vdn, call, Box::pin(job));
            }
        }
    }

    async fn ring_agent<S: Store>(
        &mut self,
        gw: &Gateway<S>,
        vdn: VdnId,
        call: CallId,
        agent: AgentId,
        phone: &str,
        auto_answer: bool,
    ) {
        let peer = match self.peer_for(vdn, call, Some(agent)) {
            Peer::Wait(line) => {
                let command = TelephonyCommand::RingAgent { call, agent, phone: phone.to_string(), auto_answer };
                self.legs.waiting.entry(line).or_default().push((vdn, command));
                return;
            }
            Peer::Ready(l) => Some(l),
            Peer::None => None,
        };
        match self.side.ring(phone, peer, auto_answer).await {
            Ok(leg) => self
                .legs
                .insert(leg, Role::Agent { vdn, call, agent, phone: phone.to_string(), own: false, calls: vec![call] }),
            Err(e) => {
                warn!(vdn = vdn.0, %call, agent = agent.0, phone, error = %e, "cannot ring the agent's phone");
                let _ = gw.run(vdn, cmd::PhoneFailed { agent, call });
            }
        }
    }

    /// A leg cancelled for the desktop's answer has ended: ring the phone again, with
    /// auto-answer, if the agent is still in the call.
    async fn rering_after<S: Store>(&mut self, gw: &Gateway<S>, leg: LegId) {
        let Some(Role::Agent { vdn, call, agent, phone, .. }) = self.legs.rering.remove(&leg) else { return };
        let in_call = gw.read(vdn, |s| s.session(agent).is_ok_and(|x| x.calls.contains(&call))).unwrap_or(false);
        if in_call {
            self.ring_agent(gw, vdn, call, agent, &phone, true).await;
        }
    }

    async fn event<S: Store>(&mut self, gw: &Gateway<S>, event: SipEvent) {
        debug!(?event, "SIP event");
        if let SipEvent::LegEnded { leg, .. } | SipEvent::Failed { leg, .. } = event
            && self.legs.rering.contains_key(&leg)
        {
            self.rering_after(gw, leg).await;
            return;
        }
        match event {
            SipEvent::Registered { number } => info!(number, "phone registered"),
            SipEvent::Unregistered { number } => info!(number, "phone unregistered"),
            SipEvent::Inbound { leg, from, to, .. } => self.inbound(gw, leg, from, to).await,
            SipEvent::Ringing { .. } => {}
            SipEvent::Answered { leg } => match self.legs.roles.get(&leg).cloned() {
                Some(Role::Agent { vdn, call, agent, .. }) => {
                    let _ = gw.run(vdn, cmd::PhoneAnswered { agent, call });
                    // The agent's own phone is up: ring or dial the far ends waiting for it.
                    for (vdn, command) in self.legs.waiting.remove(&leg).unwrap_or_default() {
                        Box::pin(self.command(gw, vdn, command)).await;
                    }
                }
                Some(Role::Dialled { vdn, call, number }) => {
                    gw.apply_report(TelephonyReport::Answered { vdn, call, number });
                }
                Some(Role::Customer { .. }) | None => {}
            },
            SipEvent::Failed { leg, status } => match self.legs.remove(leg) {
                Some(Role::Agent { vdn, call, agent, own: true, .. }) => {
                    info!(vdn = vdn.0, %call, agent = agent.0, status, "the agent's phone refused its own call");
                    let _ = gw.run(vdn, cmd::PhoneHungUp { agent, call });
                }
                Some(Role::Agent { vdn, call, agent, .. }) => {
                    info!(vdn = vdn.0, %call, agent = agent.0, status, "the agent's phone refused the call");
                    let _ = gw.run(vdn, cmd::PhoneFailed { agent, call });
                }
                Some(Role::Dialled { vdn, call, number }) => {
                    gw.apply_report(TelephonyReport::Failed { vdn, call, number });
                }
                Some(Role::Customer { .. }) | None => {}
            },
            SipEvent::LegEnded { leg, reason } => match self.legs.remove(leg) {
                Some(Role::Agent { vdn, agent, calls, .. }) => {
                    debug!(?reason, agent = agent.0, "the agent's leg ended");
                    // The phone hung up: it leaves the calls it talked on; a call it held stays
                    // held (taking it back rings the phone again).
                    let talking: Vec<CallId> = gw
                        .read(vdn, |s| {
                            calls
                                .iter()
                                .copied()
                                .filter(|c| {
                                    s.calls
                                        .get(c)
                                        .and_then(|x| x.party_of(agent))
                                        .is_none_or(|p| p.state != PartyState::Held)
                                })
                                .collect()
                        })
                        .unwrap_or(calls);
                    for call in talking {
                        let _ = gw.run(vdn, cmd::PhoneHungUp { agent, call });
                    }
                }
                Some(Role::Customer { vdn, call, number }) | Some(Role::Dialled { vdn, call, number }) => {
                    gw.apply_report(TelephonyReport::HungUp { vdn, call, number });
                }
                None => {}
            },
        }
    }

    /// A customer called an access code: a call of the code's skill, bound to the leg before
    /// any telephony command of it is carried out (they wait in this task's queue).
    async fn inbound<S: Store>(&mut self, gw: &Gateway<S>, leg: LegId, from: String, to: String) {
        let skill: Option<(SkillId, VdnId)> =
            gw.directory.access_codes.get(&to).and_then(|k| gw.directory.skills.get(k)).map(|s| (s.id, s.vdn));
        let Some((skill, vdn)) = skill else {
            let _ = self.side.reject(leg, 404).await;
            return;
        };
        let created =
            gw.run(vdn, cmd::CustomerCall { caller: from.clone(), called: to.clone(), skill, data: String::new() });
        match created {
            Ok(call) => {
                info!(vdn = vdn.0, %call, caller = from, called = to, "customer call from SIP");
                self.legs.insert(leg, Role::Customer { vdn, call, number: from });
            }
            Err(e) => {
                // The engine takes numbers of digits, `*` and `#` only (e.g. not "anonymous").
                warn!(caller = from, called = to, error = %e, "customer call refused");
                let _ = self.side.reject(leg, 403).await;
            }
        }
    }
}
