//! The telephone side of the gateway as meetings use it (R14): the SIP stack toward the
//! region's trunk, which numbers may be called, where each call's media socket binds, and the
//! key that masks numbers in the audit trail. Made once at start when `[sip]` is configured;
//! without it, every request to move a voice to a phone is refused with `phone_unavailable`.

mod dial_in;
pub(crate) use dial_in::call_in;

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use sluss_phone::call::{AnswerPlan, DialPlan};
use sluss_phone::number::{AuditKey, HashedNumber, NumberPolicy, PhoneNumber};
use sluss_phone::pin::{Pin, PinGuard, PinPolicy};
use sluss_phone::sdp::Codec;
use sluss_phone::sip::rsip::RsipStack;
use sluss_phone::sip::{Credentials, DialTarget, IncomingCall, Peer, SipStack};
use tokio::net::UdpSocket;
use tokio::sync::Semaphore;

use crate::AppState;

/// Dial-in (R14, R4): callers ring a number, type the PIN of their invitation and wait in
/// the lobby like anyone else.
#[derive(Debug, Clone)]
pub struct DialInConfig {
    /// The number callers ring, as invitations print it (`010-123 45 67`).
    pub number: String,
    /// Digits of each invitation's PIN (9 to 16).
    pub pin_digits: usize,
    /// How many wrong PINs are allowed, per call, per caller and for the whole number.
    pub policy: PinPolicy,
    /// Callers typing a PIN or waiting in a lobby at once; more are refused busy (486).
    pub max_calls: usize,
}

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
    /// Calls to us; None refuses every one (480).
    pub dial_in: Option<DialInConfig>,
    /// Voice codecs offered and taken, best first (`call::DEFAULT_CODECS` by default).
    pub codecs: Vec<Codec>,
    /// A call that hears nothing from the trunk this long is hung up
    /// (`call::DEFAULT_MEDIA_TIMEOUT` by default).
    pub media_timeout: std::time::Duration,
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
    /// Keys the hash a PIN is stored and looked up by (a PIN alone is too short to hash
    /// bare: a stolen database would give them all up to a brute force).
    pin_key: Vec<u8>,
    /// Wrong PINs per caller (their number's hash) and for the whole dial-in number.
    guard: Mutex<PinGuard<String, ()>>,
    /// Dial-in calls at once.
    calls: Arc<Semaphore>,
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
        let (pin_policy, max_calls) = match &config.dial_in {
            Some(d) => {
                d.policy
                    .validate()
                    .map_err(|e| format!("sip dial-in: {e}"))?;
                Pin::generate(&[0; 64], d.pin_digits)
                    .map_err(|e| format!("sip.pin_digits: {e}"))?;
                (d.policy, d.max_calls.max(1))
            }
            None => (PinPolicy::default(), 1),
        };
        let mut derive = Hmac::<Sha256>::new_from_slice(audit_secret).map_err(|e| e.to_string())?;
        derive.update(b"sluss dial-in PIN key");
        Ok(Arc::new(Self {
            stack,
            config,
            policy,
            audit_key: AuditKey::new(audit_secret),
            pin_key: derive.finalize().into_bytes().to_vec(),
            guard: Mutex::new(PinGuard::new(pin_policy)),
            calls: Arc::new(Semaphore::new(max_calls)),
        }))
    }

    pub fn stack(&self) -> &RsipStack {
        &self.stack
    }

    /// Takes the calls the trunk places to us for as long as the process runs: each in a
    /// task of its own (see `dial_in`), or refused (480) when dial-in is not configured.
    pub fn take_calls(self: &Arc<Self>, state: AppState) {
        let service = self.clone();
        let mut shutdown = state.shutdown.clone();
        tokio::spawn(async move {
            loop {
                let call = tokio::select! {
                    call = service.stack.incoming() => call,
                    _ = shutdown.changed() => None,
                };
                let Some(call) = call else { break };
                if service.config.dial_in.is_none() {
                    let _ = call.reject(480);
                    continue;
                }
                let Ok(permit) = service.calls.clone().try_acquire_owned() else {
                    state
                        .metrics
                        .phone_calls
                        .with_label_values(&["dial_in_busy"])
                        .inc();
                    let _ = call.reject(486);
                    continue;
                };
                let (service, state) = (service.clone(), state.clone());
                tokio::spawn(async move {
                    dial_in::take_call(&service, &state, call).await;
                    drop(permit);
                });
            }
        });
    }

    /// Dial-in as configured, if callers may ring us.
    pub fn dial_in(&self) -> Option<&DialInConfig> {
        self.config.dial_in.as_ref()
    }

    /// A fresh PIN for an invitation, when dial-in is configured.
    pub fn new_pin(&self) -> Option<Pin> {
        let digits = self.config.dial_in.as_ref()?.pin_digits;
        let mut random = [0u8; 64];
        rand::rngs::OsRng.fill_bytes(&mut random);
        Pin::generate(&random, digits).ok()
    }

    /// What a PIN is stored and looked up by: its keyed hash.
    pub fn pin_hash(&self, digits: &str) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.pin_key).expect("any key length");
        mac.update(digits.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// A dial-in call to answer: a fresh RTP socket, key and SSRC.
    async fn answer_plan(&self) -> std::io::Result<AnswerPlan> {
        let socket = UdpSocket::bind((self.config.media_bind, 0)).await?;
        let mut key = [0u8; 30];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Ok(AnswerPlan {
            socket,
            announce: self.config.media_announce,
            unencrypted: self.config.unencrypted,
            key,
            ssrc: rand::rngs::OsRng.next_u32(),
            codecs: self.config.codecs.clone(),
            media_timeout: self.config.media_timeout,
        })
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
            codecs: self.config.codecs.clone(),
            media_timeout: self.config.media_timeout,
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
