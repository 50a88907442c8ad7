//! The telephone side of the gateway as meetings use it (R14): the SIP stack toward the
//! region's trunk, which numbers may be called, where each call's media socket binds, and the
//! key that masks numbers in the audit trail. Made once at start when `[sip]` is configured;
//! without it, every request to move a voice to a phone is refused with `phone_unavailable`.

use std::net::IpAddr;
use std::sync::Arc;

use rand::RngCore;
use sluss_phone::call::DialPlan;
use sluss_phone::number::{AuditKey, HashedNumber, NumberPolicy, PhoneNumber};
use sluss_phone::sip::rsip::RsipStack;
use sluss_phone::sip::{Credentials, DialTarget, IncomingCall, Peer, SipStack};
use tokio::net::UdpSocket;

/// What the operator configured for the trunk.
pub struct PhoneConfig {
    pub trunk: Peer,
    /// For the trunk's digest challenge; None for a trunk that knows us by address.
    pub credentials: Option<Credentials>,
    /// The numbers that may be dialled: E.164 patterns (`+4670*`); empty allows none.
    pub allowed_numbers: Vec<String>,
    /// Where the calls' RTP sockets bind, and the address given to the trunk for them.
    pub media_bind: IpAddr,
    pub media_announce: IpAddr,
    /// R1: the trunk is marked unencrypted; the meeting shows it while such a call lasts.
    pub unencrypted: bool,
}

/// Why a number was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberRefusal {
    /// Not a phone number.
    Unreadable,
    /// Not one this gateway may call (the configured patterns).
    NotAllowed,
}

pub struct PhoneService {
    stack: RsipStack,
    config: PhoneConfig,
    policy: NumberPolicy,
    audit_key: AuditKey,
}

impl PhoneService {
    /// `audit_secret` keys the hash that stands for a number in the audit trail; the same
    /// secret across restarts lets an auditor match two calls to one number.
    pub fn new(
        stack: RsipStack,
        config: PhoneConfig,
        audit_secret: &[u8],
    ) -> Result<Arc<Self>, String> {
        let policy = NumberPolicy::new(config.allowed_numbers.iter().map(String::as_str))
            .map_err(|e| format!("sip.allowed_numbers: {e}"))?;
        let service = Arc::new(Self {
            stack,
            config,
            policy,
            audit_key: AuditKey::new(audit_secret),
        });
        service.refuse_dial_in();
        Ok(service)
    }

    pub fn stack(&self) -> &RsipStack {
        &self.stack
    }

    /// Dial-in is not built yet: a call the trunk places to us is refused at once (480), so
    /// that the caller hears it fail rather than ring until the queue's bound refuses it.
    /// (The task keeps the service, and with it the stack, for the life of the process.)
    fn refuse_dial_in(self: &Arc<Self>) {
        let service = self.clone();
        tokio::spawn(async move {
            while let Some(call) = service.stack.incoming().await {
                let _ = call.reject(480);
            }
        });
    }

    /// The number as typed, if it may be called.
    pub fn check(&self, typed: &str) -> Result<PhoneNumber, NumberRefusal> {
        let number = PhoneNumber::parse(typed).map_err(|_| NumberRefusal::Unreadable)?;
        if !self.policy.allows(&number) {
            return Err(NumberRefusal::NotAllowed);
        }
        Ok(number)
    }

    /// The number's stand-in for the audit trail.
    pub fn hashed(&self, number: &PhoneNumber) -> HashedNumber {
        number.hashed(&self.audit_key)
    }

    /// A call to `number`: a fresh RTP socket, key and SSRC.
    pub async fn plan(&self, number: &PhoneNumber) -> std::io::Result<DialPlan> {
        let socket = UdpSocket::bind((self.config.media_bind, 0)).await?;
        let mut key = [0u8; 30];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Ok(DialPlan {
            target: DialTarget::number(number, self.config.trunk.clone()),
            credentials: self.config.credentials.clone(),
            socket,
            announce: self.config.media_announce,
            unencrypted: self.config.unencrypted,
            key,
            ssrc: rand::rngs::OsRng.next_u32(),
        })
    }
}

impl std::fmt::Debug for PhoneService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhoneService")
            .field("trunk", &self.config.trunk)
            .field("unencrypted", &self.config.unencrypted)
            .finish_non_exhaustive()
    }
}
