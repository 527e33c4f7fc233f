//! Every write the gateway performs, as data: one struct per operation in [`cmd`], all of them
//! behind [`Command`]. A command carries every input that is not a function of the state (the
//! GUIDs the gateway minted, the expiry decisions of its heartbeat timers, the client's
//! arguments); the time is the [`Ctx`]'s (`Ctx::at(now_ms)`, the proposer's clock) and the call
//! ids come from the VDN's own counter. So [`VdnState::apply`] is a pure function of (state,
//! time, command): replicas that apply the same commands in the same order reach the same
//! state and emit the same events and telephony commands (`ccgw-store/tests/replicas.rs`).
//!
//! **Adding a write operation** (the whole recipe): write the `impl VdnState` method with
//! plain-data arguments, add one line to the `commands!` table below (name, fields, output
//! type, the call), add a sample of it to `samples()` in `ccgw-store/tests/replicas.rs` (the
//! round-trip test fails until you do), and call it as `gw.run(vdn, cmd::Name { … })`.

use super::*;
use crate::agent::SignInOptions;

/// A typed command: what [`VdnState::apply`]'s [`Outcome`] holds for it.
pub trait Op: Into<Command> {
    type Output;
    /// This command's output, from the outcome of applying it (`None`: another command's).
    fn output(outcome: Outcome) -> Option<Self::Output>;
}

macro_rules! commands {
    ($(
        $(#[$doc:meta])*
        $name:ident { $($field:ident : $ty:ty),* $(,)? } -> $out:ty = |$s:ident, $ctx:ident, $c:ident| $body:expr;
    )*) => {
        /// One struct per write operation (see [`Command`]).
        pub mod cmd {
            use super::*;
            $(
                $(#[$doc])*
                #[derive(Clone, Debug, PartialEq, Eq)]
                #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
                pub struct $name { $(pub $field: $ty),* }
            )*
        }

        /// Every write the gateway performs (the command log's entries).
        #[derive(Clone, Debug, PartialEq, Eq)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
        pub enum Command { $($name(cmd::$name)),* }

        /// What applying a command returned, one variant per command.
        #[derive(Debug, PartialEq, Eq)]
        pub enum Outcome { $($name($out)),* }

        impl Command {
            /// Every command's name, in table order.
            pub const NAMES: &[&str] = &[$(stringify!($name)),*];

            pub fn name(&self) -> &'static str {
                match self { $(Command::$name(_) => stringify!($name)),* }
            }

            fn run(self, state: &mut VdnState, ctx: &mut Ctx) -> Result<Outcome> {
                match self {
                    $(Command::$name($c) => {
                        let ($s, $ctx) = (&mut *state, &mut *ctx);
                        $body.map(Outcome::$name)
                    })*
                }
            }
        }

        $(
            impl From<cmd::$name> for Command {
                fn from(c: cmd::$name) -> Self {
                    Command::$name(c)
                }
            }

            impl Op for cmd::$name {
                type Output = $out;
                fn output(outcome: Outcome) -> Option<$out> {
                    match outcome {
                        Outcome::$name(v) => Some(v),
                        #[allow(unreachable_patterns)]
                        _ => None,
                    }
                }
            }
        )*
    };
}

commands! {
    // --- sessions ---
    /// Sign in with a GUID the gateway minted (after it checked the password).
    SignIn { agent: AgentId, options: SignInOptions, guid: String, force: bool } -> SignedIn =
        |s, ctx, c| s.sign_in(ctx, c.agent, c.options, c.guid, c.force);
    SignOut { agent: AgentId } -> () = |s, ctx, c| s.sign_out(ctx, c.agent);
    ForceSignOut { agent: AgentId } -> () = |s, ctx, c| s.force_sign_out(ctx, c.agent);
    /// AUTHMODE 2: rotate to `guid` (minted by the proposer) if the interval has passed.
    RotateGuid { agent: AgentId, interval_ms: u64, timeout_ms: u64, guid: String } -> Option<String> =
        |s, ctx, c| s.rotate_guid(ctx, c.agent, c.interval_ms, c.timeout_ms, || c.guid);
    ReplaceGuid { agent: AgentId, guid: String, timeout_ms: u64 } -> () =
        |s, ctx, c| s.replace_guid(ctx, c.agent, c.guid, c.timeout_ms);
    SayBusy { agent: AgentId, reason: u16, prolong: bool } -> () =
        |s, ctx, c| s.say_busy(ctx, c.agent, c.reason, c.prolong);
    CancelBusy { agent: AgentId } -> () = |s, ctx, c| s.cancel_busy(ctx, c.agent);
    SayFree { agent: AgentId } -> () = |s, ctx, c| s.say_free(ctx, c.agent);
    Rest { agent: AgentId, secs: u32, cause: u8, prolong: bool } -> () =
        |s, ctx, c| s.rest(ctx, c.agent, c.secs, c.cause, c.prolong);
    CancelRest { agent: AgentId } -> () = |s, ctx, c| s.cancel_rest(ctx, c.agent);
    Work { agent: AgentId } -> () = |s, ctx, c| s.work(ctx, c.agent);
    CancelWork { agent: AgentId } -> () = |s, ctx, c| s.cancel_work(ctx, c.agent);
    ReleasePhone { agent: AgentId } -> () = |s, ctx, c| s.release_phone(ctx, c.agent);
    SetAutoAnswer { agent: AgentId, on: bool } -> () = |s, _ctx, c| s.set_auto_answer(c.agent, c.on);
    SetAutoEnterIdle { agent: AgentId, on: bool } -> () = |s, _ctx, c| s.set_auto_enter_idle(c.agent, c.on);
    ResetSkills { agent: AgentId, skills: Option<Vec<SkillId>> } -> () =
        |s, ctx, c| s.reset_skills(ctx, c.agent, c.skills);

    // --- the agent's settings and messages ---
    SetCustomState { agent: AgentId, state: u16 } -> () =
        |s, _ctx, c| s.set_settings(c.agent, |t| t.custom_state = Some(c.state));
    SetPrivateConfig { agent: AgentId, config: String } -> () =
        |s, _ctx, c| s.set_settings(c.agent, |t| t.private_config = c.config);
    SetTalkRight { agent: AgentId, on: bool } -> () = |s, _ctx, c| s.set_settings(c.agent, |t| t.talk_right = c.on);
    SetSelfRecord { agent: AgentId, record: bool, before_talking: bool } -> () =
        |s, _ctx, c| s.set_settings(c.agent, |t| {
            t.self_record = c.record;
            t.record_before_talking = c.before_talking;
        });
    BindPhone { agent: AgentId, phone: String } -> () = |s, _ctx, c| s.bind_phone(c.agent, &c.phone);
    SendNote { from: AgentId, to: AgentId } -> () = |s, ctx, c| s.send_note(ctx, c.from, c.to);
    /// `to: None`: every signed-in agent of the VDN but the sender. Outputs how many received it.
    SendBulletin { from: AgentId, to: Option<Vec<AgentId>>, data: String } -> usize =
        |s, ctx, c| s.send_bulletin(ctx, c.from, c.to.as_deref(), &c.data);

    // --- call control ---
    CallOut { agent: AgentId, called: String, caller: Option<String>, data: String } -> CallId =
        |s, ctx, c| s.call_out(ctx, c.agent, &c.called, c.caller.as_deref(), c.data);
    CallInner { agent: AgentId, target: AgentId, data: String } -> CallId =
        |s, ctx, c| s.call_inner(ctx, c.agent, c.target, c.data);
    CallInnerSkill { agent: AgentId, skill: SkillId, data: String } -> CallId =
        |s, ctx, c| s.call_inner_skill(ctx, c.agent, c.skill, c.data);
    Answer { agent: AgentId, call: Option<CallId> } -> CallId = |s, ctx, c| s.answer(ctx, c.agent, c.call);
    Release { agent: AgentId } -> CallId = |s, ctx, c| s.release(ctx, c.agent);
    DropCall { agent: AgentId, call: CallId } -> () = |s, ctx, c| s.drop_call(ctx, c.agent, c.call);
    Disconnect { agent: AgentId, number: String } -> () = |s, ctx, c| s.disconnect(ctx, c.agent, &c.number);
    Hold { agent: AgentId } -> CallId = |s, ctx, c| s.hold(ctx, c.agent);
    Unhold { agent: AgentId, call: Option<CallId> } -> CallId = |s, ctx, c| s.unhold(ctx, c.agent, c.call);
    ConnectHeld { agent: AgentId, held: CallId } -> () = |s, ctx, c| s.connect_held(ctx, c.agent, c.held);
    InnerHelp { agent: AgentId, target: HelpTarget, mode: HelpMode, data: String } -> CallId =
        |s, ctx, c| s.inner_help(ctx, c.agent, c.target, c.mode, c.data);
    Transfer { agent: AgentId, target: TransferTarget, mode: TransferMode } -> () =
        |s, ctx, c| s.transfer(ctx, c.agent, c.target, c.mode);
    CancelTransfer { agent: AgentId } -> CallId = |s, ctx, c| s.cancel_transfer(ctx, c.agent);
    Conference { agent: AgentId } -> CallId = |s, ctx, c| s.conference(ctx, c.agent);
    Mute { agent: AgentId, on: bool } -> () = |s, _ctx, c| s.mute(c.agent, c.on);
    SendDigits { agent: AgentId, digits: String } -> CallId = |s, ctx, c| s.send_digits(ctx, c.agent, &c.digits);
    RelayConferenceDigits { agent: AgentId } -> CallId = |s, ctx, c| s.relay_conference_digits(ctx, c.agent);
    SnatchPickup { agent: AgentId, target: AgentId } -> CallId =
        |s, ctx, c| s.snatch_pickup(ctx, c.agent, c.target);
    /// `call: None`: the agent's current call (the one `callinfo` describes, without the last).
    SetCallData { agent: AgentId, call: Option<CallId>, data: String } -> () = |s, _ctx, c| {
        let id = match c.call {
            Some(id) => id,
            None => s.current_call(c.agent, false).map(|x| x.id).ok_or(DomainError::NoCall)?,
        };
        s.set_call_data(c.agent, id, c.data)
    };

    // --- queues ---
    AssignInQueue { agent: AgentId, call: CallId, skill: SkillId } -> () =
        |s, ctx, c| s.assign_in_queue(ctx, c.agent, c.call, c.skill);
    RequestCall { agent: AgentId, call: CallId, skill: SkillId } -> () =
        |s, ctx, c| s.request_call(ctx, c.agent, c.call, c.skill);

    // --- recording and playback ---
    /// Outputs the recording's file name.
    BeginRecord { agent: AgentId, file_name: Option<String> } -> String =
        |s, ctx, c| s.begin_record(ctx, c.agent, c.file_name);
    PauseRecord { agent: AgentId, pause: bool } -> () = |s, ctx, c| s.pause_record(ctx, c.agent, c.pause);
    StopRecord { agent: AgentId } -> () = |s, ctx, c| s.stop_record(ctx, c.agent);
    BeginPlay { agent: AgentId, file: String, from_ms: u64, length_ms: u64 } -> () =
        |s, ctx, c| s.begin_play(ctx, c.agent, c.file, c.from_ms, c.length_ms);
    PausePlay { agent: AgentId, pause: bool } -> () = |s, ctx, c| s.pause_play(ctx, c.agent, c.pause);
    SeekPlay { agent: AgentId, forward: bool, secs: u32 } -> () =
        |s, ctx, c| s.seek_play(ctx, c.agent, c.forward, c.secs);
    StopPlay { agent: AgentId } -> () = |s, ctx, c| s.stop_play(ctx, c.agent);

    // --- quality control (supervisors) ---
    /// Listen, whisper or insert into the target's call; outputs the call.
    Supervise { supervisor: AgentId, target: AgentId, mode: QcMode } -> CallId =
        |s, ctx, c| s.supervise(ctx, c.supervisor, c.target, c.mode);
    /// `mode: None`: toggle listen ↔ insert.
    SwitchSupervise { supervisor: AgentId, target: AgentId, mode: Option<QcMode> } -> CallId =
        |s, ctx, c| s.switch_supervise(ctx, c.supervisor, c.target, c.mode);
    /// `only: Some(mode)`: stop only an inspection in that mode.
    StopSupervise { supervisor: AgentId, target: AgentId, only: Option<QcMode> } -> CallId =
        |s, ctx, c| s.stop_supervise(ctx, c.supervisor, c.target, c.only);
    Intercept { supervisor: AgentId, target: AgentId, call: Option<CallId> } -> CallId =
        |s, ctx, c| s.intercept(ctx, c.supervisor, c.target, c.call);
    ForceDropCall { supervisor: AgentId, call: CallId } -> () =
        |s, ctx, c| s.force_drop_call(ctx, c.supervisor, c.call);
    ForceBusy { supervisor: AgentId, target: AgentId } -> () = |s, ctx, c| s.force_busy(ctx, c.supervisor, c.target);
    ForceIdle { supervisor: AgentId, target: AgentId } -> () = |s, ctx, c| s.force_idle(ctx, c.supervisor, c.target);
    ForceRest { supervisor: AgentId, target: AgentId, secs: u32, cause: u8 } -> () =
        |s, ctx, c| s.force_rest(ctx, c.supervisor, c.target, c.secs, c.cause);
    ForceSignOutAgent { supervisor: AgentId, target: AgentId } -> () =
        |s, ctx, c| s.force_sign_out_agent(ctx, c.supervisor, c.target);
    AdjustSkills { supervisor: AgentId, target: AgentId, skills: Vec<SkillId> } -> () =
        |s, ctx, c| s.adjust_skills(ctx, c.supervisor, c.target, c.skills);
    /// `record: None`: cancel the agents' self-recording.
    QcSetSelfRecord { supervisor: AgentId, targets: Vec<AgentId>, record: Option<(bool, bool)> } -> () =
        |s, _ctx, c| s.qc_set_self_record(c.supervisor, &c.targets, c.record);
    BeginMonitor { supervisor: AgentId, agents: Vec<AgentId> } -> () =
        |s, _ctx, c| s.begin_monitor(c.supervisor, &c.agents);
    /// `agents: None`: end every subscription of the supervisor.
    EndMonitor { supervisor: AgentId, agents: Option<Vec<AgentId>> } -> () =
        |s, _ctx, c| s.end_monitor(c.supervisor, c.agents.as_deref());
    ThirdAnswer { supervisor: AgentId, target: AgentId } -> CallId =
        |s, ctx, c| s.third_answer(ctx, c.supervisor, c.target);
    ThirdCallOut { supervisor: AgentId, target: AgentId, called: String, caller: Option<String>, data: String } -> CallId =
        |s, ctx, c| s.third_call_out(ctx, c.supervisor, c.target, &c.called, c.caller.as_deref(), c.data);
    ThirdSetStatus { supervisor: AgentId, target: AgentId, idle: bool } -> () =
        |s, ctx, c| s.third_set_status(ctx, c.supervisor, c.target, c.idle);

    // --- the telephony and the operator ---
    /// A customer's call comes in (the operator's `/admin/calls`, the simulation).
    CustomerCall { caller: String, called: String, skill: SkillId, data: String } -> CallId =
        |s, ctx, c| s.customer_call(ctx, &c.caller, &c.called, c.skill, c.data);
    RemoteAnswered { call: CallId, number: String } -> () = |s, ctx, c| {
        s.remote_answered(ctx, c.call, &c.number);
        Ok(())
    };
    RemoteFailed { call: CallId, number: String } -> () = |s, ctx, c| {
        s.remote_failed(ctx, c.call, &c.number);
        Ok(())
    };
    RemoteHungUp { call: CallId, number: String } -> () = |s, ctx, c| {
        s.remote_hung_up(ctx, c.call, &c.number);
        Ok(())
    };

    /// The agent's own phone answered the call it was rung for (`Policy::phone_legs`).
    PhoneAnswered { agent: AgentId, call: CallId } -> () = |s, ctx, c| {
        s.phone_answered(ctx, c.agent, c.call);
        Ok(())
    };
    /// The agent's phone could not be rung for the call, or refused it.
    PhoneFailed { agent: AgentId, call: CallId } -> () = |s, ctx, c| {
        s.phone_failed(ctx, c.agent, c.call);
        Ok(())
    };
    /// The agent hung up its phone in the call.
    PhoneHungUp { agent: AgentId, call: CallId } -> () = |s, ctx, c| {
        s.phone_hung_up(ctx, c.agent, c.call);
        Ok(())
    };

    // --- housekeeping ---
    /// The housekeeping tick: first sign out the sessions whose heartbeat expired, as the
    /// proposer's heartbeat timers decided, each named by `(agent, login_ms)` so that a session
    /// that replaced it meanwhile is left alone; then ring time-outs, rest reminders, playback
    /// ends and the ACD (`VdnState::tick`).
    Tick { expire: Vec<(AgentId, u64)> } -> () = |s, ctx, c| {
        for (agent, login_ms) in c.expire {
            if s.session(agent).is_ok_and(|x| x.login_ms == login_ms) {
                let _ = s.force_sign_out(ctx, agent);
            }
        }
        s.tick(ctx);
        Ok(())
    };
}

impl VdnState {
    /// Apply one command at the context's time (`Ctx::at`). A pure function of the state, the
    /// time and the command; on `Err` nothing changed (the call-id counter included).
    pub fn apply(&mut self, command: Command, ctx: &mut Ctx) -> Result<Outcome> {
        ctx.ids = CallIds::Replicated(self.call_ids);
        let outcome = command.run(self, ctx)?;
        // Monitoring supervisors get their copies of the command's events (quality control).
        self.notify_monitors(ctx);
        if let CallIds::Replicated(counter) = ctx.ids {
            self.call_ids = counter;
        }
        Ok(outcome)
    }

    /// Start the call-id counter's seconds at `floor_secs` (a new, volatile state: the second
    /// after the process started).
    pub fn set_call_id_floor(&mut self, floor_secs: u64) {
        self.call_ids.floor_secs = floor_secs;
    }
}
