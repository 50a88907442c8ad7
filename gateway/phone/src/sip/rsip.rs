//! [`SipStack`] over `rsipstack`: the only file that knows that crate.
//!
//! One endpoint with a TLS listener (rustls with ring; our certificate and key as PEM) and,
//! only when configured, UDP and TCP. Outgoing TLS trusts exactly the CA bundle given (a
//! trunk's private CA, or the self-signed peer of a test), never a system store.
//!
//! In-dialog requests go out on the connection the dialog uses: rsipstack keeps stream
//! connections keyed by the peer's address and sends a dialog's requests to its remote
//! target over the cached one; for calls the trunk places, the dialog is bound to the
//! connection its INVITE came in on. A new TLS connection for a BYE is what fails against
//! real trunks (TESTING.md). Our Contact is `sip:…;transport=tls` at our listener (or the
//! plain one a trunk marked unencrypted uses), so the trunk's own in-dialog requests reach us; with rsipstack's default (a `sips:` Contact at
//! the connection's local port) baresip could send us none.
//!
//! A task per call turns rsipstack's dialog states into our [`LegEvent`]s; one task routes
//! incoming requests to their dialogs or, for a new INVITE, to [`SipStack::incoming`].
//!
//! Logging: rsipstack logs every SIP message it receives, whole, at `info` (request URIs with
//! phone numbers, SDP with SRTP keys). A shell that runs this stack must add
//! [`LOG_DIRECTIVE`] to its tracing filter.

use std::fmt;
use std::future::Future as _;
use std::sync::{Arc, Mutex};

use rsipstack::dialog::authenticate::Credential;
use rsipstack::dialog::dialog::{
    DialogState, DialogStateReceiver, TerminatedReason, TransactionHandle,
};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invitation::{InviteAsyncResult, InviteOption};
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::dialog::registration::Registration;
use rsipstack::platform::{CancellationToken, JoinHandle};
use rsipstack::sip::{Header, Method, StatusCode, Transport, Uri};
use rsipstack::transaction::endpoint::EndpointInner;
use rsipstack::transaction::key::TransactionRole;
use rsipstack::transaction::TransactionReceiver;
use rsipstack::transport::tcp_listener::TcpListenerConnection;
use rsipstack::transport::tls::{TlsConfig, TlsListenerConnection};
use rsipstack::transport::udp::UdpConnection;
use rsipstack::transport::{SipAddr, TransportLayer};
use rsipstack::EndpointBuilder;
use tokio::sync::mpsc;

use super::{
    config::{SipConfig, SourceNet, TrunkTransport},
    CallControl, Credentials, DialRequest, EndReason, IncomingCall, LegEvent, LegEvents, Peer,
    SdpBody, SipError, SipStack, LEG_EVENT_QUEUE,
};
use crate::number::PhoneNumber;

/// The tracing filter directive that keeps rsipstack's message dumps (personal data, keys)
/// out of the log.
pub const LOG_DIRECTIVE: &str = "rsipstack=warn";

/// Calls the trunk places that may wait for the gateway to take them; more are refused 480.
const INCOMING_QUEUE: usize = 16;
const SDP: &str = "application/sdp";

/// The rsipstack user agent. Dropping it (or [`RsipStack::shutdown`]) stops the endpoint.
pub struct RsipStack {
    endpoint: Arc<EndpointInner>,
    dialogs: Arc<DialogLayer>,
    incoming: tokio::sync::Mutex<mpsc::Receiver<RsipIncoming>>,
    /// Calls refused 480 because `INCOMING_QUEUE` were already waiting to be taken.
    queue_full: Arc<std::sync::atomic::AtomicU64>,
    cancel: CancellationToken,
    local_user: String,
    domain: String,
    contact: Uri,
    /// How the trunk is reached.
    transport: TrunkTransport,
}

impl fmt::Debug for RsipStack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsipStack")
            .field("domain", &self.domain)
            .finish_non_exhaustive()
    }
}

impl RsipStack {
    /// Calls to us refused 480 so far because too many were waiting to be taken.
    pub fn calls_refused_queue_full(&self) -> u64 {
        self.queue_full.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Checks the TLS material, binds the listeners and starts the endpoint's tasks.
    pub async fn start(config: SipConfig) -> Result<Self, SipError> {
        config.check_tls()?;
        if config.tls_listen.port() == 0 {
            return Err(SipError::Config("the TLS listen port must not be 0"));
        }
        // rsipstack builds its rustls configs with the process-wide provider.
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
        let cancel = CancellationToken::new();
        let transports = TransportLayer::new(cancel.child_token());
        transports.set_tls_config(TlsConfig {
            ca_certs: Some(config.trusted_ca_pem.clone()),
            ..TlsConfig::default()
        });
        let listener = TlsListenerConnection::new(
            config.tls_listen,
            None,
            TlsConfig {
                cert: Some(config.certificate_pem.clone()),
                key: Some(config.private_key_pem.clone()),
                ..TlsConfig::default()
            },
        )
        .await
        .map_err(|_| SipError::Tls("the TLS listener could not be set up"))?;
        transports.add_transport(listener.into());
        if let Some(addr) = config.udp_listen {
            let udp = UdpConnection::create_connection(addr, None, Some(cancel.child_token()))
                .await
                .map_err(|_| SipError::Config("the UDP address could not be bound"))?;
            transports.add_transport(udp.into());
        }
        if let Some(addr) = config.tcp_listen {
            let tcp = TcpListenerConnection::new(addr, None)
                .await
                .map_err(|_| SipError::Config("the TCP address could not be bound"))?;
            transports.add_transport(tcp.into());
        }
        let endpoint = EndpointBuilder::new()
            .with_cancel_token(cancel.clone())
            .with_transport_layer(transports)
            .with_user_agent(&config.user_agent)
            .build();
        let transactions = endpoint
            .incoming_transactions()
            .map_err(|_| SipError::Closed)?;
        let inner = endpoint.inner.clone();
        // The first poll of `serve` binds the listeners (rsipstack 0.7.14 binds them before
        // its first await); polling it once here means that a peer may connect as soon as
        // `start` returns. The task then runs it on.
        let mut serve = Box::pin(async move { endpoint.serve().await });
        std::future::poll_fn(|cx| {
            let _pending = serve.as_mut().poll(cx);
            std::task::Poll::Ready(())
        })
        .await;
        tokio::spawn(serve);
        let dialogs = Arc::new(DialogLayer::new(inner.clone()));
        let domain = config
            .domain
            .clone()
            .unwrap_or_else(|| config.tls_listen.ip().to_string());
        let transport = config.trunk_transport;
        let contact = uri(&format!(
            "sip:{}@{};transport={}",
            config.local_user,
            config.contact_addr()?,
            transport.name()
        ))?;
        let (calls_tx, calls_rx) = mpsc::channel(INCOMING_QUEUE);
        let queue_full = Arc::new(std::sync::atomic::AtomicU64::new(0));
        tokio::spawn(route_requests(
            transactions,
            dialogs.clone(),
            (calls_tx, queue_full.clone()),
            contact.clone(),
            config.allowed_sources.clone(),
        ));
        Ok(Self {
            endpoint: inner,
            dialogs,
            incoming: tokio::sync::Mutex::new(calls_rx),
            queue_full,
            cancel,
            local_user: config.local_user,
            domain,
            contact,
            transport,
        })
    }

    /// Stops the listeners and every task of the endpoint.
    pub fn shutdown(&self) {
        self.cancel.cancel();
    }
}

impl Drop for RsipStack {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

impl SipStack for RsipStack {
    type Call = RsipCall;
    type Incoming = RsipIncoming;

    async fn dial(&self, request: DialRequest) -> Result<(RsipCall, LegEvents), SipError> {
        let peer = &request.target.peer;
        let callee = uri(&format!(
            "sip:{}@{};transport={}",
            request.target.expose_user(),
            host_port(peer),
            self.transport.name()
        ))?;
        let caller = uri(&format!("sip:{}@{}", self.local_user, self.domain))?;
        let option = InviteOption {
            caller,
            destination: Some(SipAddr {
                r#type: Some(match self.transport {
                    TrunkTransport::Tls => Transport::Tls,
                    TrunkTransport::Tcp => Transport::Tcp,
                    TrunkTransport::Udp => Transport::Udp,
                }),
                addr: callee.host_with_port.clone(),
            }),
            callee,
            content_type: Some(SDP.to_owned()),
            offer: Some(request.offer.as_bytes().to_vec()),
            contact: self.contact.clone(),
            credential: request.credentials.as_ref().map(credential),
            ..InviteOption::default()
        };
        let (states_tx, states) = self.dialogs.new_dialog_state_channel();
        let (dialog, outcome) = self
            .dialogs
            .do_invite_async(option, states_tx)
            .map_err(|e| classify(&e))?;
        let (events_tx, events) = mpsc::channel(LEG_EVENT_QUEUE);
        let call = RsipCall::new(dialog);
        tokio::spawn(forward_states(
            states,
            Some(outcome),
            events_tx,
            call.pending.clone(),
            self.dialogs.clone(),
            TransactionRole::Client,
        ));
        Ok((call, events))
    }

    async fn incoming(&self) -> Option<RsipIncoming> {
        self.incoming.lock().await.recv().await
    }

    async fn register(
        &self,
        registrar: &Peer,
        credentials: &Credentials,
        expires: u32,
    ) -> Result<(), SipError> {
        let server = uri(&format!(
            "sip:{};transport={}",
            host_port(registrar),
            self.transport.name()
        ))?;
        let mut registration =
            Registration::new(self.endpoint.clone(), Some(credential(credentials)));
        let response = registration
            .register(server, Some(expires))
            .await
            .map_err(|e| classify(&e))?;
        match response.status_code.code() {
            200..=299 => Ok(()),
            401 | 407 => Err(SipError::AuthFailed),
            code => Err(SipError::Rejected(code)),
        }
    }
}

/// One call, placed or taken.
pub struct RsipCall {
    dialog: InviteDialog,
    /// The re-INVITE waiting for our answer.
    pending: Arc<Mutex<Option<TransactionHandle>>>,
}

impl fmt::Debug for RsipCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsipCall").finish_non_exhaustive()
    }
}

impl RsipCall {
    fn new(dialog: InviteDialog) -> Self {
        Self {
            dialog,
            pending: Arc::new(Mutex::new(None)),
        }
    }
}

impl CallControl for RsipCall {
    async fn cancel(&self) -> Result<(), SipError> {
        // rsipstack's hang-up is a CANCEL while early (deferred until the first provisional
        // response, as RFC 3261 asks) and a BYE once answered.
        self.hang_up().await
    }

    async fn hang_up(&self) -> Result<(), SipError> {
        if matches!(self.dialog.state(), DialogState::Terminated(..)) {
            return Err(SipError::CallOver);
        }
        self.dialog.hangup().await.map_err(|e| classify(&e))
    }

    async fn answer_reoffer(&self, answer: Result<SdpBody, u16>) -> Result<(), SipError> {
        let handle = self
            .pending
            .lock()
            .map_err(|_| SipError::Closed)?
            .take()
            .ok_or(SipError::CallOver)?;
        let sent = match answer {
            Ok(sdp) => {
                handle
                    .respond(
                        StatusCode::OK,
                        Some(vec![Header::ContentType(SDP.into())]),
                        Some(sdp.as_bytes().to_vec()),
                    )
                    .await
            }
            Err(code) => handle.reply(StatusCode::from(code)).await,
        };
        sent.map_err(|_| SipError::CallOver)
    }
}

/// A call the trunk places to us. Dropped without [`IncomingCall::accept`] or
/// [`IncomingCall::reject`], it is refused 480 (Temporarily Unavailable).
pub struct RsipIncoming {
    offer: SdpBody,
    caller: Option<PhoneNumber>,
    /// The session interval the trunk asked for (RFC 4028), in seconds.
    session_expires: Option<u32>,
    /// Taken by `accept` or `reject`; still here on drop means unanswered.
    pending: Option<PendingInvite>,
}

struct PendingInvite {
    dialog: InviteDialog,
    states: DialogStateReceiver,
    dialogs: Arc<DialogLayer>,
}

impl PendingInvite {
    fn reject(self, code: u16) -> Result<(), SipError> {
        let result = self
            .dialog
            .reject(Some(StatusCode::from(code)), None)
            .map_err(|e| classify(&e));
        self.dialogs.remove_dialog(&self.dialog.id());
        result
    }
}

impl Drop for RsipIncoming {
    fn drop(&mut self) {
        if let Some(pending) = self.pending.take() {
            let _ = pending.reject(480);
        }
    }
}

impl fmt::Debug for RsipIncoming {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsipIncoming")
            .field("caller", &self.caller)
            .field("offer", &self.offer)
            .finish_non_exhaustive()
    }
}

impl IncomingCall for RsipIncoming {
    type Call = RsipCall;

    fn caller(&self) -> Option<&PhoneNumber> {
        self.caller.as_ref()
    }

    fn offer(&self) -> &SdpBody {
        &self.offer
    }

    fn accept(mut self, answer: SdpBody) -> Result<(RsipCall, LegEvents), SipError> {
        let pending = self.pending.take().ok_or(SipError::CallOver)?;
        let mut headers = vec![Header::ContentType(SDP.into())];
        if let Some(interval) = self.session_expires {
            // RFC 4028: the trunk asked for session timers; it refreshes (we answer its
            // re-INVITEs and UPDATEs), and a trunk gone silent is caught by the media timeout.
            headers.push(Header::SessionExpires(
                format!("{interval};refresher=uac").into(),
            ));
            headers.push(Header::Other("Require".into(), "timer".into()));
        }
        pending
            .dialog
            .accept(Some(headers), Some(answer.as_bytes().to_vec()))
            .map_err(|e| classify(&e))?;
        let (events_tx, events) = mpsc::channel(LEG_EVENT_QUEUE);
        let call = RsipCall::new(pending.dialog);
        tokio::spawn(forward_states(
            pending.states,
            None,
            events_tx,
            call.pending.clone(),
            pending.dialogs,
            TransactionRole::Server,
        ));
        Ok((call, events))
    }

    fn reject(mut self, code: u16) -> Result<(), SipError> {
        self.pending.take().ok_or(SipError::CallOver)?.reject(code)
    }
}

/// Routes requests outside a transaction we started: in-dialog ones to their dialog, a new
/// INVITE to the incoming queue, OPTIONS answered, anything else 481. Requests from outside
/// `allowed` (when it is not empty) are dropped unanswered: a scanner learns nothing.
async fn route_requests(
    mut transactions: TransactionReceiver,
    dialogs: Arc<DialogLayer>,
    (calls, queue_full): (
        mpsc::Sender<RsipIncoming>,
        Arc<std::sync::atomic::AtomicU64>,
    ),
    contact: Uri,
    allowed: Vec<SourceNet>,
) {
    while let Some(mut tx) = transactions.recv().await {
        if !allowed.is_empty()
            && !source_ip(&tx).is_some_and(|ip| allowed.iter().any(|n| n.contains(ip)))
        {
            tracing::debug!("SIP request from outside the trunk's addresses dropped");
            continue;
        }
        if let Some(mut dialog) = dialogs.match_dialog(&tx) {
            tokio::spawn(async move {
                if let Err(error) = dialog.handle(&mut tx).await {
                    tracing::debug!(error = ?classify(&error), "in-dialog request failed");
                }
            });
            continue;
        }
        match tx.original.method {
            Method::Invite => {
                let (states_tx, states) = dialogs.new_dialog_state_channel();
                let Ok(mut dialog) = dialogs.get_or_create_server_invite(
                    &tx,
                    states_tx,
                    None,
                    Some(contact.clone()),
                ) else {
                    let _ = tx.reply(StatusCode::ServerInternalError).await;
                    continue;
                };
                let incoming = RsipIncoming {
                    offer: SdpBody::new(tx.original.body.clone()),
                    caller: caller_number(&tx.original),
                    session_expires: session_expires(&tx.original),
                    pending: Some(PendingInvite {
                        dialog: dialog.clone(),
                        states,
                        dialogs: dialogs.clone(),
                    }),
                };
                tokio::spawn(async move {
                    if let Err(error) = dialog.handle(&mut tx).await {
                        tracing::debug!(error = ?classify(&error), "incoming INVITE failed");
                    }
                });
                // Too many calls waiting, or nobody takes calls: the drop refuses it.
                if let Err(mpsc::error::TrySendError::Full(_)) = calls.try_send(incoming) {
                    queue_full.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
            Method::Options => {
                let _ = tx.reply(StatusCode::OK).await;
            }
            Method::Ack => {}
            _ => {
                let _ = tx.reply(StatusCode::CallTransactionDoesNotExist).await;
            }
        }
    }
}

/// The session interval of a request's `Session-Expires` (or compact `x`), when it is a sane
/// one: RFC 4028 sets 90 seconds as the least, and a day is more than any trunk asks.
fn session_expires(request: &rsipstack::sip::Request) -> Option<u32> {
    let value = request.headers.iter().find_map(|h| match h {
        Header::SessionExpires(_) => Some(h.value()),
        _ => None,
    })?;
    let seconds = value.split(';').next()?.trim().parse::<u32>().ok()?;
    (90..=86_400).contains(&seconds).then_some(seconds)
}

/// The address a request came from: the connection's peer (the datagram's source for UDP),
/// never a header the sender wrote.
fn source_ip(tx: &rsipstack::transaction::transaction::Transaction) -> Option<std::net::IpAddr> {
    let remote = tx.connection.as_ref()?.get_remote_addr()?;
    match &remote.addr.host {
        rsipstack::sip::Host::IpAddr(ip) => Some(*ip),
        rsipstack::sip::Host::Domain(_) => None,
    }
}

/// What the stack takes from a request off the network, as `route_requests` takes it: the
/// message parsed by the SIP library, and of an INVITE the caller's number and the offer.
/// None when the bytes are not a request. For the fuzz target of this path.
#[doc(hidden)]
pub fn read_request(bytes: &[u8]) -> Option<(bool, Option<PhoneNumber>, SdpBody)> {
    let message = rsipstack::sip::SipMessage::try_from(bytes).ok()?;
    let rsipstack::sip::SipMessage::Request(request) = message else {
        return None;
    };
    let invite = request.method == Method::Invite;
    Some((
        invite,
        caller_number(&request),
        SdpBody::new(request.body.clone()),
    ))
}

/// The caller's number from the From header's user part, when it is one.
fn caller_number(request: &rsipstack::sip::Request) -> Option<PhoneNumber> {
    use rsipstack::sip::prelude::{HeadersExt, ToTypedHeader};
    let from = request.from_header().ok()?.typed().ok()?;
    PhoneNumber::parse(&from.uri.auth?.user).ok()
}

/// Turns one dialog's states (and, for a call we place, the INVITE's outcome) into events.
/// Sends `Ended` exactly once, last.
async fn forward_states(
    mut states: DialogStateReceiver,
    mut outcome: Option<JoinHandle<InviteAsyncResult>>,
    events: mpsc::Sender<LegEvent>,
    pending: Arc<Mutex<Option<TransactionHandle>>>,
    dialogs: Arc<DialogLayer>,
    role: TransactionRole,
) {
    let mut progress = Progress::default();
    let reason = loop {
        let state = tokio::select! {
            // The dialog's states first: they come in order, the outcome only at the end.
            biased;
            state = states.recv() => state,
            done = async {
                match outcome.as_mut() {
                    Some(invite) => invite.await,
                    None => std::future::pending().await,
                }
            }, if outcome.is_some() => {
                outcome = None;
                match invite_outcome(done) {
                    Ok(Some(sdp)) => {
                        if progress.answer(&events, sdp).await.is_err() {
                            return;
                        }
                        continue;
                    }
                    Ok(None) => continue,
                    Err(reason) => break reason,
                }
            }
        };
        let Some(state) = state else {
            break EndReason::Transport;
        };
        match state {
            DialogState::Early(_, response)
                if !progress.ringing && (180..=183).contains(&response.status_code.code()) =>
            {
                progress.ringing = true;
                if events.send(LegEvent::Ringing).await.is_err() {
                    return;
                }
            }
            DialogState::Confirmed(_, response) if role == TransactionRole::Client => {
                let sdp = SdpBody::new(response.body);
                if progress.answer(&events, sdp).await.is_err() {
                    return;
                }
            }
            // A session refresh (RFC 4028) by an UPDATE without an offer: nothing changes.
            DialogState::Updated(_, request, handle)
                if request.method == Method::Update && request.body.is_empty() =>
            {
                let _ = handle.reply(StatusCode::OK).await;
            }
            DialogState::Updated(_, request, handle) => {
                let sdp = SdpBody::new(request.body);
                if let Ok(mut slot) = pending.lock() {
                    *slot = Some(handle);
                }
                if events.send(LegEvent::ReOffer { sdp }).await.is_err() {
                    return;
                }
            }
            DialogState::Info(_, _, handle) | DialogState::Options(_, _, handle) => {
                let _ = handle.reply(StatusCode::OK).await;
            }
            DialogState::Refer(_, _, handle)
            | DialogState::Message(_, _, handle)
            | DialogState::Notify(_, _, handle)
            | DialogState::Publish(_, _, handle) => {
                let _ = handle.reply(StatusCode::MethodNotAllowed).await;
            }
            DialogState::Terminated(id, reason) => {
                dialogs.remove_dialog(&id);
                break end_reason(&reason, role);
            }
            _ => {}
        }
    };
    let _ = events.send(LegEvent::Ended { reason }).await;
}

#[derive(Default)]
struct Progress {
    ringing: bool,
    answered: bool,
}

impl Progress {
    /// Sends `Answered` once, whether the dialog state or the INVITE's outcome says it first.
    async fn answer(
        &mut self,
        events: &mpsc::Sender<LegEvent>,
        sdp: SdpBody,
    ) -> Result<(), mpsc::error::SendError<LegEvent>> {
        if self.answered {
            return Ok(());
        }
        self.answered = true;
        // A 180 still queued behind the outcome is stale now.
        self.ringing = true;
        events.send(LegEvent::Answered { sdp }).await
    }
}

/// The INVITE's final outcome: the 2xx's SDP, nothing new, or why the call is over.
fn invite_outcome(
    done: Result<InviteAsyncResult, tokio::task::JoinError>,
) -> Result<Option<SdpBody>, EndReason> {
    match done {
        Ok(Ok((_, Some(response)))) => match response.status_code.code() {
            200..=299 => Ok(Some(SdpBody::new(response.body))),
            401 | 407 => Err(EndReason::AuthFailed),
            code => Err(EndReason::Rejected(code)),
        },
        Ok(Ok((_, None))) => Ok(None),
        Ok(Err(error)) => Err(match classify(&error) {
            SipError::AuthFailed => EndReason::AuthFailed,
            SipError::Rejected(code) => EndReason::Rejected(code),
            SipError::Timeout => EndReason::Timeout,
            _ => EndReason::Transport,
        }),
        Err(_) => Err(EndReason::Transport),
    }
}

/// Our words for how a dialog ended. rsipstack names the sides by role: on a call the trunk
/// placed, the UAC is the trunk.
fn end_reason(reason: &TerminatedReason, role: TransactionRole) -> EndReason {
    let ours = role == TransactionRole::Client;
    match reason {
        TerminatedReason::Timeout => EndReason::Timeout,
        TerminatedReason::UacCancel if ours => EndReason::Cancelled,
        TerminatedReason::UacCancel => EndReason::RemoteHangUp,
        TerminatedReason::UacBye if ours => EndReason::LocalHangUp,
        TerminatedReason::UasBye if !ours => EndReason::LocalHangUp,
        TerminatedReason::UacBye | TerminatedReason::UasBye => EndReason::RemoteHangUp,
        TerminatedReason::UacBusy | TerminatedReason::UasBusy => EndReason::Rejected(486),
        TerminatedReason::UasDecline => EndReason::Rejected(603),
        TerminatedReason::ProxyAuthRequired => EndReason::AuthFailed,
        TerminatedReason::ProxyError(code)
        | TerminatedReason::UacOther(code)
        | TerminatedReason::UasOther(code) => match code.code() {
            401 | 407 => EndReason::AuthFailed,
            code => EndReason::Rejected(code),
        },
    }
}

/// Our error for one of rsipstack's, without its text (which may quote URIs).
fn classify(error: &rsipstack::Error) -> SipError {
    match error {
        rsipstack::Error::DialogError(_, _, code) => match code.code() {
            401 | 407 => SipError::AuthFailed,
            408 => SipError::Timeout,
            code => SipError::Rejected(code),
        },
        rsipstack::Error::TransactionError(text, _) if text.contains("timeout") => {
            SipError::Timeout
        }
        _ => SipError::Transport,
    }
}

fn credential(credentials: &Credentials) -> Credential {
    Credential {
        username: credentials.username.expose().to_owned(),
        password: credentials.password.expose().to_owned(),
        realm: credentials.realm.clone(),
        auth_username: credentials
            .auth_user
            .as_ref()
            .map(|user| user.expose().to_owned()),
    }
}

/// `host:port`, with an IPv6 address in brackets.
fn host_port(peer: &Peer) -> String {
    match peer.host.parse::<std::net::Ipv6Addr>() {
        Ok(v6) => format!("[{v6}]:{}", peer.port),
        Err(_) => format!("{}:{}", peer.host, peer.port),
    }
}

fn uri(text: &str) -> Result<Uri, SipError> {
    Uri::try_from(text).map_err(|_| SipError::Config("not a valid SIP URI"))
}

#[cfg(test)]
mod tests;
