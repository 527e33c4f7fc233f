//! [`SipSide`]: the endpoint, the registrar front, and the legs of the B2BUA.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rsipstack::EndpointBuilder;
use rsipstack::dialog::dialog::{DialogState, DialogStateReceiver, TerminatedReason};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invitation::InviteOption;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::ToTypedHeader;
use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::{self as rsip, Header, Method, Param, StatusCode, StatusCodeKind};
use rsipstack::transaction::endpoint::EndpointOption;
use rsipstack::transaction::transaction::Transaction;
use rsipstack::transport::udp::UdpConnection;
use rsipstack::transport::{SipAddr, SipConnection, TcpListenerConnection, TransportLayer};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::registrar::{AuthOutcome, Contact, Registrar, SipTransport};
use crate::sdp::{self, Direction};
use crate::{EndReason, LegId, SipConfig, SipError, SipEvent};

mod keepalive;

/// The user part ccgw puts in its own Contact and in From when it has no caller to show.
const LOCAL_USER: &str = "ccgw";
/// The expiry granted when a REGISTER asks for none.
const DEFAULT_EXPIRES: u32 = 3600;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LegKind {
    /// An INVITE ccgw received (the customer, from the trunk or a phone dialling an access code).
    Inbound,
    /// An INVITE ccgw sent (to an agent's phone or to the trunk).
    Outbound,
}

struct Leg {
    kind: LegKind,
    dialog: InviteDialog,
    answered: bool,
    /// Ringing was reported (outbound legs report it once).
    ringing: bool,
    /// ccgw asked to end this leg (hangup / cancel / peer gone), and why: its outcome is not
    /// a failure.
    ending: Option<EndReason>,
    /// The SDP the far end of this leg sent (offer for inbound, answer for outbound).
    remote_sdp: Option<Vec<u8>>,
    /// The SDP ccgw sent to this leg (the bridged leg's SDP), rewritten on hold/unhold.
    local_sdp: Option<Vec<u8>>,
    /// The leg this one is bridged with; when one of them ends, the other is released.
    peer: Option<LegId>,
    /// The user part of From (the caller) of the INVITE that made the leg.
    caller: String,
    /// An answered leg this one was rung for (a consultation, a transfer, a callout from the
    /// agent's phone): when this leg answers, that one is re-INVITEd with this leg's SDP.
    connect_on_answer: Option<LegId>,
    /// The leg whose SDP this leg was last given (whom its far end sends media to).
    media_from: Option<LegId>,
    /// Re-INVITEs of one leg go one at a time.
    reinvites: Arc<tokio::sync::Mutex<()>>,
}

pub(crate) struct Inner {
    dialogs: Arc<DialogLayer>,
    registrar: Mutex<Registrar>,
    legs: Mutex<HashMap<LegId, Leg>>,
    next_leg: AtomicU64,
    events: UnboundedSender<SipEvent>,
    access_codes: HashSet<String>,
    trunk: Option<SocketAddr>,
    udp_addr: SocketAddr,
    tcp_addr: SocketAddr,
    /// The IP put in Contact, From and Call-Info: the listen IP, or when that is unspecified
    /// (0.0.0.0), the interface address the stack picked.
    advertised_ip: IpAddr,
    cancel: CancellationToken,
    /// `SipConfig::keepalive` (zero: off).
    keepalive: Duration,
    /// The legs whose keepalive task runs (one per leg).
    keepalives: Mutex<HashSet<LegId>>,
}

/// The SIP side: a running endpoint (UDP + TCP), the registrar, and the calls' legs.
///
/// Cheap to clone (a handle). [`SipSide::shutdown`] stops it.
#[derive(Clone)]
pub struct SipSide {
    inner: Arc<Inner>,
}

fn parse_uri(s: &str) -> Result<rsip::Uri, SipError> {
    rsip::Uri::try_from(s).map_err(|e| SipError::Stack(format!("bad URI {s:?}: {e}")))
}

fn stack_err(e: rsipstack::Error) -> SipError {
    SipError::Stack(e.to_string())
}

/// The user part of a URI, if any.
fn uri_user(uri: &rsip::Uri) -> Option<String> {
    uri.auth.as_ref().map(|a| a.user.clone())
}

fn content_type_sdp() -> Header {
    Header::ContentType(rsip::ContentType::new("application/sdp"))
}

/// The address the request came from, per its top Via (`received` / `rport` as the transport
/// layer recorded them).
fn via_source(req: &rsip::Request) -> Option<SocketAddr> {
    let via = req.via_header().ok()?.typed().ok()?;
    let mut host: Option<IpAddr> = match via.uri.host_with_port.host {
        rsip::Host::IpAddr(ip) => Some(ip),
        rsip::Host::Domain(_) => None,
    };
    let mut port = via.uri.host_with_port.port.as_ref().map(|p| p.value());
    for p in via.params {
        match p {
            Param::Received(r) => {
                if let Ok(ip) = r.value().trim_matches(['[', ']']).parse::<IpAddr>() {
                    host = Some(ip);
                }
            }
            Param::Rport(Some(rp)) => port = Some(rp),
            _ => {}
        }
    }
    Some(SocketAddr::new(host?, port.unwrap_or(5060)))
}

fn map_transport(t: rsip::Transport) -> SipTransport {
    match t {
        rsip::Transport::Tcp => SipTransport::Tcp,
        _ => SipTransport::Udp,
    }
}

impl SipSide {
    /// Binds UDP and TCP on `config.listen` (port 0: a free port, the same for both when it can
    /// be had) and starts serving. Events about registrations and legs arrive on the receiver.
    pub async fn start(config: SipConfig) -> Result<(SipSide, UnboundedReceiver<SipEvent>), SipError> {
        let cancel = CancellationToken::new();
        let transport_layer = TransportLayer::new(cancel.child_token());
        let udp = UdpConnection::create_connection(config.listen, None, Some(cancel.child_token()))
            .await
            .map_err(|e| SipError::Bind(format!("UDP {}: {e}", config.listen)))?;
        let udp_port = udp.get_addr().addr.port.as_ref().map(|p| p.value()).unwrap_or(config.listen.port());
        let udp_addr = SocketAddr::new(config.listen.ip(), udp_port);
        let advertised_ip = match udp.get_addr().addr.host {
            rsip::Host::IpAddr(ip) if config.listen.ip().is_unspecified() => ip,
            _ => config.listen.ip(),
        };
        // rsipstack binds its TCP listener when it starts serving, so a port is chosen here:
        // the UDP port when it is free for TCP too, else any free port.
        let tcp_addr = pick_tcp_addr(SocketAddr::new(config.listen.ip(), udp_port))
            .map_err(|e| SipError::Bind(format!("TCP {}: {e}", config.listen)))?;
        let tcp = TcpListenerConnection::new(tcp_addr, None)
            .await
            .map_err(|e| SipError::Bind(format!("TCP {tcp_addr}: {e}")))?;
        transport_layer.add_transport(udp.into());
        transport_layer.add_transport(SipConnection::TcpListener(tcp));

        // Call-IDs `<uuid>@<our IP>` (the stack's default suffix is its vendor's domain).
        let option = EndpointOption { callid_suffix: Some(advertised_ip.to_string()), ..EndpointOption::default() };
        let endpoint = EndpointBuilder::new()
            .with_option(option)
            .with_user_agent(concat!("ccgw/", env!("CARGO_PKG_VERSION")))
            .with_cancel_token(cancel.clone())
            .with_transport_layer(transport_layer)
            .with_allows(vec![
                Method::Invite,
                Method::Ack,
                Method::Bye,
                Method::Cancel,
                Method::Options,
                Method::Register,
            ])
            .build();
        let incoming = endpoint.incoming_transactions().map_err(stack_err)?;
        let endpoint_inner = endpoint.inner.clone();
        let dialogs = Arc::new(DialogLayer::new(endpoint_inner));
        let (events, events_rx) = unbounded_channel();
        let inner = Arc::new(Inner {
            dialogs,
            registrar: Mutex::new(Registrar::new(config.realm, config.phones, config.min_expires, config.max_expires)),
            legs: Mutex::new(HashMap::new()),
            next_leg: AtomicU64::new(1),
            events,
            access_codes: config.access_codes.into_iter().collect(),
            trunk: config.trunk,
            udp_addr,
            tcp_addr,
            advertised_ip,
            cancel: cancel.clone(),
            keepalive: config.keepalive,
            keepalives: Mutex::new(HashSet::new()),
        });
        let side = SipSide { inner };

        let token = cancel.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = endpoint.serve() => {}
                _ = token.cancelled() => {}
            }
            endpoint.shutdown();
        });
        let s = side.clone();
        tokio::spawn(async move { s.serve_incoming(incoming).await });
        let s = side.clone();
        tokio::spawn(async move { s.sweep_bindings().await });
        info!(udp = %udp_addr, tcp = %tcp_addr, "SIP side listening");
        Ok((side, events_rx))
    }

    /// The bound UDP address (as configured, with the port chosen when it was 0).
    pub fn udp_addr(&self) -> SocketAddr {
        self.inner.udp_addr
    }

    /// The TCP listening address (the UDP port when it was free for TCP too). The listener
    /// itself is bound by the stack as it starts serving, a moment after [`SipSide::start`].
    pub fn tcp_addr(&self) -> SocketAddr {
        self.inner.tcp_addr
    }

    /// Stops the endpoint and every task of this side. Calls in progress are dropped without
    /// signalling.
    pub fn shutdown(&self) {
        self.inner.cancel.cancel();
    }

    /// The phone's current (unexpired) registered contact.
    pub fn contact(&self, number: &str) -> Option<Contact> {
        self.inner.registrar.lock().contact(number, Instant::now())
    }

    pub fn is_registered(&self, number: &str) -> bool {
        self.contact(number).is_some()
    }

    /// The legs currently alive (for tests and diagnostics: nothing leaks).
    pub fn leg_count(&self) -> usize {
        self.inner.legs.lock().len()
    }

    /// The dialogs the stack still tracks (diagnostics: 0 once every call is over).
    pub fn dialog_count(&self) -> usize {
        self.inner.dialogs.len()
    }

    /// Whether `leg` is alive and answered.
    pub fn is_answered(&self, leg: LegId) -> bool {
        self.inner.legs.lock().get(&leg).is_some_and(|l| l.answered)
    }

    /// The SDP the far end of `leg` sent.
    pub fn remote_sdp(&self, leg: LegId) -> Option<Vec<u8>> {
        self.inner.legs.lock().get(&leg).and_then(|l| l.remote_sdp.clone())
    }

    fn emit(&self, event: SipEvent) {
        debug!(?event, "SIP event");
        // The receiver gone means nobody listens any more: nothing to do.
        let _ = self.inner.events.send(event);
    }

    fn new_leg_id(&self) -> LegId {
        LegId(self.inner.next_leg.fetch_add(1, Ordering::Relaxed))
    }

    /// ccgw's address as peers should use it, for this transport.
    fn advertised(&self, transport: SipTransport) -> SocketAddr {
        let port = match transport {
            SipTransport::Udp => self.inner.udp_addr.port(),
            SipTransport::Tcp => self.inner.tcp_addr.port(),
        };
        SocketAddr::new(self.inner.advertised_ip, port)
    }

    fn local_contact(&self, transport: SipTransport) -> String {
        match transport {
            SipTransport::Udp => format!("sip:{LOCAL_USER}@{}", self.advertised(transport)),
            SipTransport::Tcp => {
                format!("sip:{LOCAL_USER}@{};transport=tcp", self.advertised(transport))
            }
        }
    }

    // ---------------------------------------------------------------- incoming requests

    async fn serve_incoming(self, mut incoming: UnboundedReceiver<Transaction>) {
        loop {
            let tx = tokio::select! {
                tx = incoming.recv() => tx,
                _ = self.inner.cancel.cancelled() => None,
            };
            let Some(tx) = tx else { break };
            let side = self.clone();
            tokio::spawn(async move { side.on_transaction(tx).await });
        }
    }

    async fn on_transaction(self, mut tx: Transaction) {
        let has_to_tag = tx.original.to_header().ok().and_then(|to| to.tag().ok().flatten()).is_some();
        let result = match tx.original.method {
            Method::Register => self.on_register(&mut tx).await,
            Method::Invite if !has_to_tag => self.on_new_invite(tx).await,
            Method::Options if !has_to_tag => tx.reply(StatusCode::OK).await,
            Method::Ack => Ok(()),
            _ => match self.inner.dialogs.match_dialog(&tx) {
                Some(mut dialog) => dialog.handle(&mut tx).await,
                None if has_to_tag => tx.reply(StatusCode::CallTransactionDoesNotExist).await,
                None => tx.reply(StatusCode::MethodNotAllowed).await,
            },
        };
        if let Err(e) = result {
            debug!(error = %e, "request handling ended with an error");
        }
    }

    async fn on_register(&self, tx: &mut Transaction) -> rsipstack::Result<()> {
        let req = &tx.original;
        let number = req.to_header().ok().and_then(|to| to.typed().ok()).and_then(|to| uri_user(&to.uri));
        let Some(number) = number else {
            return tx.reply(StatusCode::BadRequest).await;
        };
        let authorization = req.authorization_header().map(|h| h.value().to_string());
        let now = Instant::now();
        let outcome = self.inner.registrar.lock().authenticate(&number, authorization.as_deref(), "REGISTER", now);
        match outcome {
            AuthOutcome::UnknownNumber => {
                debug!(%number, "REGISTER for an unknown number");
                tx.reply(StatusCode::NotFound).await
            }
            AuthOutcome::Forbidden => {
                info!(%number, "REGISTER with wrong credentials");
                tx.reply(StatusCode::Forbidden).await
            }
            AuthOutcome::Challenge { stale } => {
                let (realm, nonce) = {
                    let mut reg = self.inner.registrar.lock();
                    (reg.realm.clone(), reg.new_nonce(now))
                };
                let Some(nonce) = nonce else {
                    warn!("OS random number generator failed; refusing REGISTER");
                    return tx.reply(StatusCode::ServerInternalError).await;
                };
                let stale = if stale { ", stale=true" } else { "" };
                let challenge =
                    format!("Digest realm=\"{realm}\", nonce=\"{nonce}\", algorithm=MD5, qop=\"auth\"{stale}");
                tx.reply_with(
                    StatusCode::Unauthorized,
                    vec![Header::WwwAuthenticate(rsip::WwwAuthenticate::new(challenge))],
                    None,
                )
                .await
            }
            AuthOutcome::Ok => self.apply_bindings(tx, &number, now).await,
        }
    }

    async fn apply_bindings(&self, tx: &mut Transaction, number: &str, now: Instant) -> rsipstack::Result<()> {
        let req = &tx.original;
        let header_expires = req.expires_header().and_then(|e| e.value().trim().parse::<u32>().ok());
        let contacts: Vec<String> = req.contact_headers().iter().map(|c| c.value().to_string()).collect();
        let arrived_on = tx.connection.as_ref().map(|c| map_transport(c.transport())).unwrap_or(SipTransport::Udp);
        let source = via_source(req);

        let mut changed: Option<bool> = None; // Some(true): registered, Some(false): unregistered
        for value in contacts.iter().flat_map(|v| split_contacts(v)) {
            if value.trim() == "*" {
                if header_expires != Some(0) {
                    return tx.reply(StatusCode::BadRequest).await;
                }
                self.inner.registrar.lock().unbind(number, None);
                changed = Some(false);
                continue;
            }
            let Ok(contact) = rsip::typed::Contact::parse(&value) else {
                return tx.reply(StatusCode::BadRequest).await;
            };
            let param_expires = contact.params.iter().find_map(|p| match p {
                Param::Expires(e) => e.value().trim().parse::<u32>().ok(),
                _ => None,
            });
            let requested = param_expires.or(header_expires).unwrap_or(DEFAULT_EXPIRES);
            let granted = self.inner.registrar.lock().grant_expires(requested);
            let granted = match granted {
                Ok(g) => g,
                Err(min) => {
                    return tx
                        .reply_with(
                            StatusCode::IntervalTooBrief,
                            vec![Header::MinExpires(rsip::MinExpires::new(min.to_string()))],
                            None,
                        )
                        .await;
                }
            };
            let uri = contact.uri.clone();
            let uri_text = uri.to_string();
            if granted == 0 {
                self.inner.registrar.lock().unbind(number, Some(&uri_text));
                changed = Some(false);
                continue;
            }
            let transport = uri
                .params
                .iter()
                .find_map(|p| match p {
                    Param::Transport(t) => Some(map_transport(*t)),
                    _ => None,
                })
                .unwrap_or(arrived_on);
            let target = match &uri.host_with_port.host {
                rsip::Host::IpAddr(ip) if !ip.is_unspecified() => {
                    Some(SocketAddr::new(*ip, uri.host_with_port.port.as_ref().map(|p| p.value()).unwrap_or(5060)))
                }
                _ => source,
            };
            let Some(target) = target else {
                return tx.reply(StatusCode::BadRequest).await;
            };
            self.inner.registrar.lock().bind(
                number,
                Contact { uri: uri_text, target, transport, expires_at: now + Duration::from_secs(u64::from(granted)) },
            );
            changed = Some(true);
        }
        let current = self.inner.registrar.lock().contact(number, now);
        let mut headers = Vec::new();
        if let Some(c) = &current {
            let left = c.expires_at.saturating_duration_since(now).as_secs();
            headers.push(Header::Contact(rsip::Contact::new(format!("<{}>;expires={left}", c.uri))));
        }
        match changed {
            Some(true) => {
                info!(%number, "phone registered");
                self.emit(SipEvent::Registered { number: number.to_string() });
            }
            Some(false) if current.is_none() => {
                info!(%number, "phone unregistered");
                self.emit(SipEvent::Unregistered { number: number.to_string() });
            }
            _ => {}
        }
        tx.reply_with(StatusCode::OK, headers, None).await
    }

    async fn sweep_bindings(self) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = self.inner.cancel.cancelled() => break,
            }
            let lapsed = self.inner.registrar.lock().purge(Instant::now());
            for number in lapsed {
                info!(%number, "registration expired");
                self.emit(SipEvent::Unregistered { number });
            }
        }
    }

    async fn on_new_invite(&self, mut tx: Transaction) -> rsipstack::Result<()> {
        let called = uri_user(&tx.original.uri).unwrap_or_default();
        if !self.inner.access_codes.contains(&called) {
            debug!(%called, "INVITE to an unknown number");
            return tx.reply(StatusCode::NotFound).await;
        }
        let caller = tx
            .original
            .from_header()
            .ok()
            .and_then(|f| f.typed().ok())
            .and_then(|f| uri_user(&f.uri))
            .unwrap_or_default();
        let transport = tx.connection.as_ref().map(|c| map_transport(c.transport())).unwrap_or(SipTransport::Udp);
        let contact = parse_uri(&self.local_contact(transport)).ok();
        let (state_tx, state_rx) = self.inner.dialogs.new_dialog_state_channel();
        let dialog = match self.inner.dialogs.get_or_create_server_invite(&tx, state_tx, None, contact) {
            Ok(d) => d,
            Err(e) => {
                debug!(error = %e, "cannot make a dialog of an INVITE");
                return tx.reply(StatusCode::BadRequest).await;
            }
        };
        let sdp = Some(tx.original.body.clone()).filter(|b| !b.is_empty());
        let leg = self.new_leg_id();
        self.inner.legs.lock().insert(
            leg,
            Leg {
                kind: LegKind::Inbound,
                dialog: dialog.clone(),
                answered: false,
                ringing: true,
                ending: None,
                remote_sdp: sdp.clone(),
                local_sdp: None,
                peer: None,
                caller: caller.clone(),
                connect_on_answer: None,
                media_from: None,
                reinvites: Arc::default(),
            },
        );
        let side = self.clone();
        tokio::spawn(async move { side.watch_leg(leg, state_rx).await });
        // 100 first, then 180 (queued to the transaction, sent once `handle` drives it).
        tx.send_trying().await.ok();
        dialog.ringing(None, None).ok();
        self.emit(SipEvent::Inbound { leg, from: caller, to: called, sdp });
        let mut dialog = dialog;
        dialog.handle(&mut tx).await
    }

    /// Follows the dialog states of one leg.
    async fn watch_leg(self, leg: LegId, mut states: DialogStateReceiver) {
        loop {
            let state = tokio::select! {
                s = states.recv() => s,
                _ = self.inner.cancel.cancelled() => None,
            };
            let Some(state) = state else { break };
            match state {
                DialogState::Early(_, resp) => {
                    let report = {
                        let mut legs = self.inner.legs.lock();
                        match legs.get_mut(&leg) {
                            Some(l) if l.kind == LegKind::Outbound && !l.ringing => {
                                let code = resp.status_code.code();
                                if code == 180 || code == 183 {
                                    l.ringing = true;
                                    true
                                } else {
                                    false
                                }
                            }
                            _ => false,
                        }
                    };
                    if report {
                        self.emit(SipEvent::Ringing { leg });
                    }
                }
                DialogState::Updated(_, req, handle) => {
                    // A re-INVITE / UPDATE from the far end: answer with what this leg has
                    // (relaying it to the bridged leg is not built yet).
                    let local = self.inner.legs.lock().get(&leg).and_then(|l| l.local_sdp.clone());
                    // (An offerless re-INVITE gets the same SDP as its offer.)
                    let result = match local {
                        Some(sdp) if req.method == Method::Invite => {
                            handle.respond(StatusCode::OK, Some(vec![content_type_sdp()]), Some(sdp)).await
                        }
                        _ => handle.reply(StatusCode::OK).await,
                    };
                    if result.is_err() {
                        debug!(?leg, "in-dialog request gone before it was answered");
                    }
                }
                DialogState::Options(_, _, handle) | DialogState::Info(_, _, handle) => {
                    handle.reply(StatusCode::OK).await.ok();
                }
                DialogState::Notify(_, _, handle)
                | DialogState::Refer(_, _, handle)
                | DialogState::Message(_, _, handle)
                | DialogState::Publish(_, _, handle) => {
                    handle.reply(StatusCode::NotImplemented).await.ok();
                }
                DialogState::Terminated(id, reason) => {
                    self.inner.dialogs.remove_dialog(&id);
                    self.on_dialog_terminated(leg, reason).await;
                }
                DialogState::Confirmed(_, _) => self.keep_alive(leg),
                DialogState::Calling(_) | DialogState::Trying(_) | DialogState::WaitAck(_, _) => {}
            }
        }
    }

    async fn on_dialog_terminated(&self, leg: LegId, reason: TerminatedReason) {
        let (kind, answered, ending) = match self.inner.legs.lock().get(&leg) {
            Some(l) => (l.kind, l.answered, l.ending),
            None => return,
        };
        if kind == LegKind::Outbound && !answered {
            // The outcome of an unanswered outbound INVITE is reported by `invite_out`'s task.
            return;
        }
        let reason = match reason {
            _ if ending.is_some() => ending.unwrap_or(EndReason::LocalHangup),
            TerminatedReason::UacCancel => EndReason::RemoteCancel,
            TerminatedReason::UacBye | TerminatedReason::UasBye => EndReason::RemoteBye,
            TerminatedReason::Timeout => EndReason::Timeout,
            _ => EndReason::RemoteBye,
        };
        self.end_leg(leg, reason).await;
    }

    /// Removes the leg, reports it ended, and releases the leg bridged with it — unless this
    /// was an outbound leg that never got answered (ring time-out, CANCEL/200 race): then the
    /// customer stays queued for the next agent.
    async fn end_leg(&self, leg: LegId, reason: EndReason) {
        let removed = self.inner.legs.lock().remove(&leg);
        let Some(removed) = removed else { return };
        self.inner.dialogs.remove_dialog(&removed.dialog.id());
        self.emit(SipEvent::LegEnded { leg, reason });
        let release_peer = removed.kind == LegKind::Inbound || removed.answered;
        if let Some(peer) = removed.peer {
            let still_peered = {
                let mut legs = self.inner.legs.lock();
                match legs.get_mut(&peer) {
                    Some(p) if p.peer == Some(leg) => {
                        p.peer = None;
                        true
                    }
                    _ => false,
                }
            };
            if still_peered && release_peer {
                Box::pin(self.release(peer, EndReason::PeerEnded)).await;
            }
        }
    }

    /// Ends a leg from ccgw's side: BYE when answered, CANCEL when an unanswered outbound
    /// INVITE, 480 when an unanswered inbound one.
    async fn release(&self, leg: LegId, reason: EndReason) {
        let (kind, answered, dialog) = {
            let mut legs = self.inner.legs.lock();
            let Some(l) = legs.get_mut(&leg) else { return };
            l.ending = Some(reason);
            (l.kind, l.answered, l.dialog.clone())
        };
        match (kind, answered) {
            (LegKind::Outbound, false) => {
                // The INVITE's outcome (487, or 200 then ACK + BYE) ends the leg, in
                // `invite_out`'s task. The CANCEL's own transaction runs in the background.
                tokio::spawn(async move {
                    if let Err(e) = dialog.cancel().await {
                        debug!(?leg, error = %e, "CANCEL failed");
                    }
                });
            }
            (LegKind::Inbound, false) => {
                dialog.reject(Some(StatusCode::TemporarilyUnavailable), None).ok();
                self.end_leg(leg, reason).await;
            }
            (_, true) => {
                // The leg is over for ccgw at once; the BYE transaction (retransmissions,
                // timer F if the far end vanished) runs in the background, after a re-INVITE
                // of the leg in progress (one transaction at a time towards the phone).
                let lock = self.reinvite_lock(leg).ok();
                tokio::spawn(async move {
                    let _after_reinvite = match &lock {
                        Some(l) => Some(l.lock().await),
                        None => None,
                    };
                    if let Err(e) = dialog.bye().await {
                        debug!(?leg, error = %e, "BYE failed");
                    }
                });
                self.end_leg(leg, reason).await;
            }
        }
    }

    // ---------------------------------------------------------------- call control

    /// Rings the phone `number` at its registered contact. With `customer_leg`, the INVITE
    /// offers that leg's SDP and the two legs are bridged: the phone answering answers the
    /// customer leg with the phone's SDP. `auto_answer` adds `Call-Info: <sip:...>;answer-after=0`.
    pub async fn ring(&self, number: &str, customer_leg: Option<LegId>, auto_answer: bool) -> Result<LegId, SipError> {
        self.ring_phone(number, customer_leg, auto_answer, None).await
    }

    /// Rings the agent's phone `number` for a call the agent places itself (callout, internal
    /// call): auto-answer, offering an inactive placeholder SDP ([`sdp::placeholder`]) until a
    /// far end answers and its SDP is given to the phone ([`SipSide::ring`] or
    /// [`SipSide::dial`] with this leg as the peer).
    pub async fn pick_up(&self, number: &str) -> Result<LegId, SipError> {
        let session = self.inner.next_leg.load(Ordering::Relaxed);
        let offer = sdp::placeholder(self.inner.advertised_ip, session);
        self.ring_phone(number, None, true, Some(offer)).await
    }

    /// An INVITE to the phone's registered contact (see [`SipSide::ring`]); `offer` is the SDP
    /// offered when there is no peer.
    async fn ring_phone(
        &self,
        number: &str,
        peer: Option<LegId>,
        auto_answer: bool,
        offer: Option<Vec<u8>>,
    ) -> Result<LegId, SipError> {
        let contact = self.contact(number).ok_or_else(|| SipError::NotRegistered(number.to_string()))?;
        let target = parse_uri(&contact.uri)?;
        let destination = SipAddr {
            r#type: Some(match contact.transport {
                SipTransport::Udp => rsip::Transport::Udp,
                SipTransport::Tcp => rsip::Transport::Tcp,
            }),
            addr: contact.target.into(),
        };
        let mut headers = Vec::new();
        if auto_answer {
            let host = self.advertised(contact.transport);
            headers.push(Header::CallInfo(rsip::CallInfo::new(format!("<sip:{host}>;answer-after=0"))));
        }
        self.invite_out(target, destination, contact.transport, peer, headers, offer).await
    }

    /// Calls `number` through the outbound trunk. With `peer`, the INVITE offers that leg's SDP
    /// and the legs are bridged as with [`SipSide::ring`].
    pub async fn dial(&self, number: &str, peer: Option<LegId>) -> Result<LegId, SipError> {
        let trunk = self.inner.trunk.ok_or(SipError::NoTrunk)?;
        if number.is_empty() || !number.chars().all(|c| c.is_ascii_alphanumeric() || "+*#-_.".contains(c)) {
            return Err(SipError::InvalidNumber(number.to_string()));
        }
        let target = parse_uri(&format!("sip:{number}@{trunk}"))?;
        let destination = SipAddr { r#type: Some(rsip::Transport::Udp), addr: trunk.into() };
        self.invite_out(target, destination, SipTransport::Udp, peer, Vec::new(), None).await
    }

    async fn invite_out(
        &self,
        target: rsip::Uri,
        destination: SipAddr,
        transport: SipTransport,
        peer: Option<LegId>,
        headers: Vec<Header>,
        offer_without_peer: Option<Vec<u8>>,
    ) -> Result<LegId, SipError> {
        // An answered peer (consultation, transfer, callout from the agent's phone) is not
        // linked: it is re-INVITEd with this leg's SDP once this leg answers.
        let (offer, caller, answered_peer) = match peer {
            Some(p) => {
                let legs = self.inner.legs.lock();
                let l = legs.get(&p).ok_or(SipError::UnknownLeg(p))?;
                let offer = if l.answered {
                    l.remote_sdp.as_deref().and_then(|s| sdp::with_direction(s, Direction::SendRecv))
                } else {
                    l.remote_sdp.clone()
                };
                (offer, l.caller.clone(), l.answered)
            }
            None => (offer_without_peer, LOCAL_USER.to_string(), false),
        };
        let host = self.advertised(transport);
        let caller_user = if caller.is_empty() { LOCAL_USER.to_string() } else { caller.clone() };
        let opt = InviteOption {
            caller: parse_uri(&format!("sip:{caller_user}@{host}"))?,
            callee: target,
            destination: Some(destination),
            content_type: offer.as_ref().map(|_| "application/sdp".to_string()),
            offer: offer.clone(),
            contact: parse_uri(&self.local_contact(transport))?,
            headers: Some(headers).filter(|h| !h.is_empty()),
            ..Default::default()
        };
        let (state_tx, state_rx) = self.inner.dialogs.new_dialog_state_channel();
        let leg = self.new_leg_id();
        // The leg is in the table before the INVITE can produce any state.
        let (dialog, join) = {
            let mut legs = self.inner.legs.lock();
            let (dialog, join) = self.inner.dialogs.do_invite_async(opt, state_tx).map_err(stack_err)?;
            legs.insert(
                leg,
                Leg {
                    kind: LegKind::Outbound,
                    dialog: dialog.clone(),
                    answered: false,
                    ringing: false,
                    ending: None,
                    remote_sdp: None,
                    local_sdp: offer,
                    peer: peer.filter(|_| !answered_peer),
                    caller,
                    connect_on_answer: peer.filter(|_| answered_peer),
                    media_from: peer,
                    reinvites: Arc::default(),
                },
            );
            if answered_peer {
                if let Some(p) = peer {
                    unlink(&mut legs, p);
                }
            } else if let Some(p) = peer.and_then(|p| legs.get_mut(&p)) {
                p.peer = Some(leg);
            }
            (dialog, join)
        };
        let side = self.clone();
        tokio::spawn(async move { side.watch_leg(leg, state_rx).await });
        let side = self.clone();
        tokio::spawn(async move {
            let outcome = match join.await {
                Ok(Ok((_, resp))) => resp,
                Ok(Err(rsipstack::Error::DialogError(_, _, status))) => {
                    side.invite_failed(leg, status.code()).await;
                    return;
                }
                Ok(Err(e)) => {
                    debug!(?leg, error = %e, "INVITE failed");
                    None
                }
                Err(_) => None,
            };
            match outcome {
                Some(resp) if resp.status_code.kind() == StatusCodeKind::Successful => {
                    side.invite_answered(leg, &dialog, resp).await;
                }
                Some(resp) => side.invite_failed(leg, resp.status_code.code()).await,
                None => side.invite_failed(leg, 408).await,
            }
        });
        Ok(leg)
    }

    async fn invite_failed(&self, leg: LegId, status: u16) {
        let ending = match self.inner.legs.lock().get(&leg) {
            Some(l) => l.ending,
            None => return,
        };
        if let Some(reason) = ending {
            self.end_leg(leg, reason).await;
            return;
        }
        let removed = self.inner.legs.lock().remove(&leg);
        if let Some(removed) = removed {
            self.inner.dialogs.remove_dialog(&removed.dialog.id());
            if let Some(p) = removed.peer
                && let Some(peer) = self.inner.legs.lock().get_mut(&p)
                && peer.peer == Some(leg)
            {
                peer.peer = None;
            }
            self.emit(SipEvent::Failed { leg, status });
        }
    }

    async fn invite_answered(&self, leg: LegId, dialog: &InviteDialog, resp: rsip::Response) {
        let answer = Some(resp.body.clone()).filter(|b| !b.is_empty());
        let accept_peer = {
            let mut legs = self.inner.legs.lock();
            let Some(l) = legs.get_mut(&leg) else {
                return;
            };
            if l.ending.is_some() || dialog.inner_terminated() {
                Err(l.ending.unwrap_or(EndReason::LocalHangup))
            } else {
                l.answered = true;
                l.remote_sdp = answer.clone();
                Ok((l.peer, l.connect_on_answer.take()))
            }
        };
        let peer = match accept_peer {
            Ok((_, Some(other))) => {
                // Rung for an answered leg: that leg now gets this one's SDP.
                self.emit(SipEvent::Answered { leg });
                if let Some(sdp) = answer {
                    let side = self.clone();
                    tokio::spawn(async move {
                        if let Err(e) = side.reoffer(other, sdp, Some(leg)).await {
                            debug!(?other, error = %e, "re-INVITE to connect the answered leg failed");
                        }
                    });
                }
                return;
            }
            Ok((peer, None)) => peer,
            Err(reason) => {
                // Answered after ccgw gave up on it (CANCEL/200 race): the stack ACKs and
                // BYEs such a 2xx.
                self.end_leg(leg, reason).await;
                return;
            }
        };
        self.emit(SipEvent::Answered { leg });
        let Some(peer) = peer else { return };
        let to_accept = {
            let mut legs = self.inner.legs.lock();
            match legs.get_mut(&peer) {
                Some(p) if p.kind == LegKind::Inbound && !p.answered && p.ending.is_none() => {
                    p.answered = true;
                    p.local_sdp = answer.clone();
                    p.media_from = Some(leg);
                    Some(p.dialog.clone())
                }
                _ => None,
            }
        };
        if let Some(customer) = to_accept {
            let headers = answer.as_ref().map(|_| vec![content_type_sdp()]);
            if let Err(e) = customer.accept(headers, answer) {
                debug!(?peer, error = %e, "answering the customer leg failed");
            }
        }
    }

    /// Cancels an unanswered outbound leg (ring time-out). It ends with
    /// [`SipEvent::LegEnded`] once the phone confirmed (487).
    pub async fn cancel(&self, leg: LegId) -> Result<(), SipError> {
        {
            let legs = self.inner.legs.lock();
            let l = legs.get(&leg).ok_or(SipError::UnknownLeg(leg))?;
            if l.kind != LegKind::Outbound || l.answered {
                return Err(SipError::InvalidState(leg, "not an unanswered outbound leg"));
            }
        }
        self.release(leg, EndReason::LocalHangup).await;
        Ok(())
    }

    /// Ends a leg: BYE when answered, CANCEL when an unanswered outbound INVITE, 480 when an
    /// unanswered inbound one. The leg bridged with it is released too.
    pub async fn hangup(&self, leg: LegId) -> Result<(), SipError> {
        if !self.inner.legs.lock().contains_key(&leg) {
            return Err(SipError::UnknownLeg(leg));
        }
        self.release(leg, EndReason::LocalHangup).await;
        Ok(())
    }

    /// Rejects an unanswered inbound leg with `status` (4xx–6xx, e.g. 486 Busy Here).
    pub async fn reject(&self, leg: LegId, status: u16) -> Result<(), SipError> {
        let dialog = {
            let mut legs = self.inner.legs.lock();
            let l = legs.get_mut(&leg).ok_or(SipError::UnknownLeg(leg))?;
            if l.kind != LegKind::Inbound || l.answered || !(400..700).contains(&status) {
                return Err(SipError::InvalidState(leg, "not an unanswered inbound leg"));
            }
            l.ending = Some(EndReason::LocalHangup);
            l.dialog.clone()
        };
        dialog.reject(Some(StatusCode::from(status)), None).ok();
        self.end_leg(leg, EndReason::LocalHangup).await;
        Ok(())
    }

    /// Puts the far end of `leg` on hold: a re-INVITE with the SDP ccgw last sent it, its
    /// direction rewritten to `a=sendonly`.
    pub async fn hold(&self, leg: LegId) -> Result<(), SipError> {
        self.redirect(leg, Direction::SendOnly).await
    }

    /// Takes `leg` off hold: a re-INVITE with `a=sendrecv`.
    pub async fn unhold(&self, leg: LegId) -> Result<(), SipError> {
        self.redirect(leg, Direction::SendRecv).await
    }

    async fn redirect(&self, leg: LegId, dir: Direction) -> Result<(), SipError> {
        let lock = self.reinvite_lock(leg)?;
        let _one_at_a_time = lock.lock().await;
        let (dialog, sdp) = {
            let legs = self.inner.legs.lock();
            let l = legs.get(&leg).ok_or(SipError::UnknownLeg(leg))?;
            if !l.answered {
                return Err(SipError::InvalidState(leg, "not answered"));
            }
            let sdp = l
                .local_sdp
                .as_deref()
                .and_then(|s| sdp::with_direction(s, dir))
                .ok_or(SipError::InvalidState(leg, "no SDP to re-offer"))?;
            (l.dialog.clone(), sdp)
        };
        self.send_reinvite(leg, dialog, sdp).await
    }

    fn reinvite_lock(&self, leg: LegId) -> Result<Arc<tokio::sync::Mutex<()>>, SipError> {
        self.inner.legs.lock().get(&leg).map(|l| l.reinvites.clone()).ok_or(SipError::UnknownLeg(leg))
    }

    /// Connects two answered legs: each is re-INVITEd with the SDP the other's far end last
    /// sent (direction `a=sendrecv`, the leg's own origin kept), so that their media flow to
    /// each other (taking a customer back after a consultation). Neither is linked to the
    /// other: each is released on its own.
    pub async fn connect(&self, a: LegId, b: LegId) -> Result<(), SipError> {
        let sdp_of = |leg: LegId| -> Result<Vec<u8>, SipError> {
            let legs = self.inner.legs.lock();
            let l = legs.get(&leg).ok_or(SipError::UnknownLeg(leg))?;
            if !l.answered {
                return Err(SipError::InvalidState(leg, "not answered"));
            }
            l.remote_sdp.clone().ok_or(SipError::InvalidState(leg, "no SDP to re-offer"))
        };
        let (sdp_a, sdp_b) = (sdp_of(a)?, sdp_of(b)?);
        {
            let mut legs = self.inner.legs.lock();
            unlink(&mut legs, a);
            unlink(&mut legs, b);
        }
        self.reoffer(a, sdp_b, Some(b)).await?;
        self.reoffer(b, sdp_a, Some(a)).await
    }

    /// Ends `leg`'s link with the leg it was bridged with, so that ending either no longer
    /// releases the other (an agent leaving a call the customer stays in: a blind transfer to
    /// a queue).
    pub fn unbridge(&self, leg: LegId) {
        unlink(&mut self.inner.legs.lock(), leg);
    }

    /// The leg whose SDP `leg` was last given (diagnostics and tests).
    pub fn media_from(&self, leg: LegId) -> Option<LegId> {
        self.inner.legs.lock().get(&leg).and_then(|l| l.media_from)
    }

    /// Re-INVITEs `leg` with `sdp` (another leg's, `from`), as `a=sendrecv` with this leg's
    /// origin.
    async fn reoffer(&self, leg: LegId, sdp: Vec<u8>, from: Option<LegId>) -> Result<(), SipError> {
        let lock = self.reinvite_lock(leg)?;
        let _one_at_a_time = lock.lock().await;
        let (dialog, offer) = {
            let legs = self.inner.legs.lock();
            let l = legs.get(&leg).ok_or(SipError::UnknownLeg(leg))?;
            if !l.answered {
                return Err(SipError::InvalidState(leg, "not answered"));
            }
            let offer = sdp::with_direction(&sdp, Direction::SendRecv)
                .and_then(|s| sdp::reorigin(&s, l.local_sdp.as_deref()))
                .ok_or(SipError::InvalidState(leg, "no SDP to offer"))?;
            (l.dialog.clone(), offer)
        };
        self.send_reinvite(leg, dialog, offer).await?;
        if let Some(l) = self.inner.legs.lock().get_mut(&leg) {
            l.media_from = from;
        }
        Ok(())
    }

    /// Sends a re-INVITE with `sdp` on `leg`'s dialog and records what was exchanged.
    async fn send_reinvite(&self, leg: LegId, dialog: InviteDialog, sdp: Vec<u8>) -> Result<(), SipError> {
        // Right after answering, the customer's ACK may still be on its way (the dialog is in
        // WaitAck): a re-INVITE waits for it, a little.
        for _ in 0..40 {
            if !matches!(dialog.state(), DialogState::WaitAck(_, _)) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let resp = dialog.reinvite(Some(vec![content_type_sdp()]), Some(sdp.clone())).await.map_err(stack_err)?;
        match resp {
            Some(r) if r.status_code.kind() == StatusCodeKind::Successful => {
                if let Some(l) = self.inner.legs.lock().get_mut(&leg) {
                    l.local_sdp = Some(sdp);
                    if !r.body.is_empty() {
                        l.remote_sdp = Some(r.body.clone());
                    }
                }
                Ok(())
            }
            Some(r) if keepalive::ends_dialog(r.status_code.code()) => {
                self.far_end_gone(leg, "re-INVITE", r.status_code.code()).await;
                Err(SipError::Rejected(leg, r.status_code.code()))
            }
            Some(r) => Err(SipError::Rejected(leg, r.status_code.code())),
            None => Err(SipError::InvalidState(leg, "dialog not confirmed")),
        }
    }
}

/// Ends `leg`'s link (release-together) with its peer, both ways.
fn unlink(legs: &mut HashMap<LegId, Leg>, leg: LegId) {
    let Some(peer) = legs.get_mut(&leg).and_then(|l| l.peer.take()) else { return };
    if let Some(p) = legs.get_mut(&peer)
        && p.peer == Some(leg)
    {
        p.peer = None;
    }
}

/// Splits a Contact header value holding several comma-separated contacts (commas inside
/// `<...>` or quotes do not split).
fn split_contacts(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut in_angle, mut in_quote) = (false, false);
    for c in value.chars() {
        match c {
            '"' => in_quote = !in_quote,
            '<' if !in_quote => in_angle = true,
            '>' if !in_quote => in_angle = false,
            ',' if !in_quote && !in_angle => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out.into_iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
}

/// A TCP address to listen on: `preferred` when it is free, else a free port on the same IP.
fn pick_tcp_addr(preferred: SocketAddr) -> std::io::Result<SocketAddr> {
    match std::net::TcpListener::bind(preferred) {
        Ok(l) => l.local_addr(),
        Err(_) => std::net::TcpListener::bind(SocketAddr::new(preferred.ip(), 0))?.local_addr(),
    }
}

trait DialogExt {
    fn inner_terminated(&self) -> bool;
}

impl DialogExt for InviteDialog {
    fn inner_terminated(&self) -> bool {
        matches!(self.state(), DialogState::Terminated(_, _))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_contacts() {
        assert_eq!(
            split_contacts("<sip:a@h>;expires=1, \"x,y\" <sip:b@h;p=1,2>"),
            vec!["<sip:a@h>;expires=1", "\"x,y\" <sip:b@h;p=1,2>"]
        );
        assert_eq!(split_contacts("*"), vec!["*"]);
        assert!(split_contacts(" , ").is_empty());
    }
}
