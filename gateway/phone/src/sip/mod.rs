//! The SIP side of a call leg: our own small seam over a SIP stack.
//!
//! [`SipStack`] is what the gateway needs of SIP and nothing more: dial out with digest
//! credentials, cancel, hang up, answer a re-offer, take incoming calls, register. Each call
//! comes with a stream of [`LegEvent`]s. The one implementation, over `rsipstack`, lives in
//! [`rsip`]; no type of that crate appears outside that file.
//!
//! [`leg::DialOut`] is the sans-IO state machine of a call we place: it writes our SDP offer,
//! reads the answer and decides (R1: no SRTP on an encrypted trunk means hang up). The shell
//! moves its [`leg::Action`]s to the stack and the stack's [`LegEvent`]s back to it:
//!
//! ```text
//! let mut leg = DialOut::new(local_media, master_key);
//! let (call, mut events) = stack.dial(DialRequest::new(target, leg.dial()?)).await?;
//! while let Some(event) = events.recv().await {
//!     for action in leg.on_event(event) { /* call.hang_up(), call.answer_reoffer(..) */ }
//! }
//! ```
//!
//! Phone numbers (in request URIs), credentials and SDP bodies (which carry SRTP keys) are
//! secrets or personal data: their types redact in `Debug`, and errors never quote them.

pub mod config;
pub mod leg;
pub mod rsip;

use std::fmt;
use std::future::Future;

use crate::number::PhoneNumber;

/// How many leg events may wait before the stack stops reading the trunk for that call.
pub const LEG_EVENT_QUEUE: usize = 16;

/// The receiving end of a call's events. The stack sends [`LegEvent::Ended`] last and then
/// closes it.
pub type LegEvents = tokio::sync::mpsc::Receiver<LegEvent>;

/// A secret string (a password): `Debug` shows nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// Digest credentials toward the trunk or registrar.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The account (user part of our AOR); also the digest user unless `auth_user` is set.
    pub username: Secret,
    pub password: Secret,
    /// Only answer challenges of this realm; None answers any.
    pub realm: Option<String>,
    pub auth_user: Option<Secret>,
}

impl Credentials {
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            username: Secret::new(username),
            password: Secret::new(password),
            realm: None,
            auth_user: None,
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("realm", &self.realm)
            .finish_non_exhaustive()
    }
}

/// A SIP peer we reach over TLS: the trunk, the registrar, or (in tests) a phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Host name or IP address; it is also the TLS server name checked in its certificate.
    pub host: String,
    pub port: u16,
}

impl Peer {
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
        }
    }
}

/// Whom a call goes to: a user part (a phone number, or an account) at a peer. `Debug`
/// shows the peer, never the user part.
#[derive(Clone, PartialEq, Eq)]
pub struct DialTarget {
    user: String,
    pub peer: Peer,
}

impl DialTarget {
    /// The trunk, asked to call `number` (E.164 with its `+`).
    pub fn number(number: &PhoneNumber, trunk: Peer) -> Self {
        Self {
            user: number.expose_e164().to_owned(),
            peer: trunk,
        }
    }

    /// An account at a peer (a registered phone), for instance `alice`.
    pub fn account(user: impl Into<String>, peer: Peer) -> Self {
        Self {
            user: user.into(),
            peer,
        }
    }

    pub fn expose_user(&self) -> &str {
        &self.user
    }
}

impl fmt::Debug for DialTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DialTarget")
            .field("user", &"…")
            .field("peer", &self.peer)
            .finish()
    }
}

/// An SDP body as it travels in SIP. It carries SRTP keys: `Debug` shows its length only.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SdpBody(Vec<u8>);

impl SdpBody {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SdpBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SdpBody({} bytes)", self.0.len())
    }
}

/// What a dial-out needs.
#[derive(Debug, Clone)]
pub struct DialRequest {
    pub target: DialTarget,
    /// Our SDP offer.
    pub offer: SdpBody,
    /// Answer the trunk's digest challenge with these; None for an IP-authenticated trunk.
    pub credentials: Option<Credentials>,
}

impl DialRequest {
    pub fn new(target: DialTarget, offer: SdpBody) -> Self {
        Self {
            target,
            offer,
            credentials: None,
        }
    }
}

/// Why a call ended, in the words of the trunk's signalling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// We hung up (BYE) and it was done.
    LocalHangUp,
    /// The other side hung up (BYE).
    RemoteHangUp,
    /// We cancelled before the answer.
    Cancelled,
    /// The call was refused with this final status (486 busy, 603 decline, 404 ...).
    Rejected(u16),
    /// The trunk kept challenging our credentials: wrong user or password.
    AuthFailed,
    /// No final answer in time, or the dialog timed out.
    Timeout,
    /// The connection to the trunk failed (TLS handshake, refused, closed).
    Transport,
}

/// What happens on a call, as the stack reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegEvent {
    /// 180 or 183: the phone rings.
    Ringing,
    /// 200 to our INVITE, with the SDP answer (empty if the trunk sent none).
    Answered { sdp: SdpBody },
    /// The trunk sent a re-INVITE with this offer; answer with [`CallControl::answer_reoffer`].
    ReOffer { sdp: SdpBody },
    /// The call is over. The last event.
    Ended { reason: EndReason },
}

/// Why the stack could not do what was asked. The messages never quote numbers, URIs or
/// anything else the peer or the configuration holds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SipError {
    #[error("SIP configuration: {0}")]
    Config(&'static str),
    #[error("TLS configuration: {0}")]
    Tls(&'static str),
    #[error("could not reach the SIP peer")]
    Transport,
    #[error("the SIP peer refused our credentials")]
    AuthFailed,
    #[error("the SIP peer answered {0}")]
    Rejected(u16),
    #[error("no answer from the SIP peer in time")]
    Timeout,
    #[error("the call is already over")]
    CallOver,
    #[error("the SIP stack is shut down")]
    Closed,
}

/// Control of one call, placed or taken.
pub trait CallControl: Send + Sync {
    /// CANCEL a call not yet answered; a call already answered is hung up instead.
    fn cancel(&self) -> impl Future<Output = Result<(), SipError>> + Send;
    /// BYE an answered call (CANCEL one still ringing).
    fn hang_up(&self) -> impl Future<Output = Result<(), SipError>> + Send;
    /// Answer the pending re-offer: 200 with our SDP, or this error status (488 ...).
    fn answer_reoffer(
        &self,
        answer: Result<SdpBody, u16>,
    ) -> impl Future<Output = Result<(), SipError>> + Send;
}

/// A call the trunk places to us, not yet answered.
pub trait IncomingCall: Send {
    type Call: CallControl;
    /// The caller's number as the trunk sent it (personal data: never log it).
    fn caller(&self) -> Option<&PhoneNumber>;
    /// The trunk's SDP offer.
    fn offer(&self) -> &SdpBody;
    /// 200 with our SDP answer.
    fn accept(self, answer: SdpBody) -> Result<(Self::Call, LegEvents), SipError>;
    /// A final error response (486, 603, 488 ...).
    fn reject(self, code: u16) -> Result<(), SipError>;
}

/// The SIP user agent, as the gateway uses it.
pub trait SipStack: Send + Sync {
    type Call: CallControl;
    type Incoming: IncomingCall<Call = Self::Call>;

    /// Sends an INVITE and returns once it is on its way; what follows comes as events.
    fn dial(
        &self,
        request: DialRequest,
    ) -> impl Future<Output = Result<(Self::Call, LegEvents), SipError>> + Send;

    /// The next call the trunk places to us; None once the stack is shut down.
    fn incoming(&self) -> impl Future<Output = Option<Self::Incoming>> + Send;

    /// REGISTERs our account at `registrar` for `expires` seconds (0 unregisters).
    fn register(
        &self,
        registrar: &Peer,
        credentials: &Credentials,
        expires: u32,
    ) -> impl Future<Output = Result<(), SipError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_passwords_numbers_and_sdp_keys() {
        let creds = Credentials::new("gavle-sluss", "hunter2-secret");
        let number = PhoneNumber::parse("070-123 45 67").expect("number");
        let target = DialTarget::number(&number, Peer::new("trunk.example", 5061));
        let body = SdpBody::new(b"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:QUJDRA==".to_vec());
        let request = DialRequest {
            target: target.clone(),
            offer: body,
            credentials: Some(creds.clone()),
        };
        let printed = format!("{request:?} {creds:?} {target:?}");
        for secret in ["hunter2", "gavle-sluss", "701234567", "QUJDRA", "inline"] {
            assert!(!printed.contains(secret), "{secret} leaked in {printed}");
        }
        assert!(printed.contains("trunk.example"), "{printed}");
        assert_eq!(target.expose_user(), "+46701234567");
    }

    #[test]
    fn errors_say_what_failed_without_details() {
        assert_eq!(
            SipError::AuthFailed.to_string(),
            "the SIP peer refused our credentials"
        );
        assert_eq!(
            SipError::Rejected(486).to_string(),
            "the SIP peer answered 486"
        );
    }
}
