//! Synthetic participants. A WebRTC one joins Sluss over the real WebSocket with its personal
//! link, negotiates with SDP, and does ICE, DTLS and SRTP with str0m, as a browser would; it
//! publishes Opus-sized audio at 50 packets a second and video packets at a steady rate, and
//! counts what it receives. A plain one does the same against the null relay, without crypto.
//! Every payload starts with its send time, so each receiver measures the hop through the server.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid};
use str0m::net::{DatagramRecv, Protocol, Receive};
use str0m::rtp::{RtpWrite, SeqNo};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::video::{self, Camera};
use crate::voice;

/// What each participant publishes.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub audio_pps: u32,
    pub audio_bytes: usize,
    /// Zero for audio-only scenarios.
    pub video_pps: u32,
    /// The top layer's packet size; lower simulcast layers are a half and a quarter of it.
    pub video_bytes: usize,
    /// Simulcast layers per camera: 3, or 1 for a single encoding.
    pub layers: usize,
    /// People per meeting, and how many of them present (camera on, talking); the rest listen
    /// muted, their microphones sending DTX (a packet every 400 ms) and their cameras off.
    pub meeting_size: usize,
    pub presenters: usize,
}

/// A muted microphone with DTX sends a packet this often.
const DTX_EVERY: Duration = Duration::from_millis(400);

impl Load {
    /// Whether participant `idx` (numbered meeting by meeting) is one of its meeting's
    /// presenters.
    pub(crate) fn presents(&self, idx: u32) -> bool {
        (idx as usize) % self.meeting_size.max(1) < self.presenters
    }
}

/// Latency buckets of 10 µs up to 100 ms; the last one holds everything slower.
const BUCKET_NS: u64 = 10_000;
const BUCKETS: usize = 10_001;

/// What one participant sent and received while the measurement ran.
#[derive(Debug, Clone)]
pub struct Tally {
    pub sent: u64,
    pub received: u64,
    pub latency: Vec<u64>,
    pub connected: bool,
    pub errors: Vec<String>,
    /// Video packets received per simulcast layer (lowest first).
    pub video_layers: [u64; 3],
}

impl Tally {
    pub(crate) fn new() -> Tally {
        Tally {
            sent: 0,
            received: 0,
            latency: vec![0; BUCKETS],
            connected: false,
            errors: Vec::new(),
            video_layers: [0; 3],
        }
    }

    pub(crate) fn record(&mut self, payload: &[u8], t0: Instant) {
        self.received += 1;
        let sent = match video::stamp_of(payload) {
            Some((layer, sent)) => {
                if let Some(n) = self.video_layers.get_mut(layer) {
                    *n += 1;
                }
                Some(sent)
            }
            // A voice the server made (a phone's) carries no send time.
            None => voice::sent_ns(payload),
        };
        if let Some(sent) = sent {
            let now = t0.elapsed().as_nanos() as u64;
            let bucket = (now.saturating_sub(sent) / BUCKET_NS) as usize;
            self.latency[bucket.min(BUCKETS - 1)] += 1;
        }
    }

    pub fn merge(&mut self, other: &Tally) {
        self.sent += other.sent;
        self.received += other.received;
        for (a, b) in self.latency.iter_mut().zip(&other.latency) {
            *a += b;
        }
        self.errors.extend(other.errors.iter().take(3).cloned());
        for (a, b) in self.video_layers.iter_mut().zip(other.video_layers) {
            *a += b;
        }
    }

    /// The latency below which `q` of the samples fall, in microseconds.
    pub fn percentile_us(&self, q: f64) -> f64 {
        let total: u64 = self.latency.iter().sum();
        if total == 0 {
            return f64::NAN;
        }
        let target = (total as f64 * q).ceil() as u64;
        let mut seen = 0;
        for (i, n) in self.latency.iter().enumerate() {
            seen += n;
            if seen >= target {
                return (i as f64 + 0.5) * BUCKET_NS as f64 / 1000.0;
            }
        }
        f64::INFINITY
    }
}

/// Shared by every participant of a run.
#[derive(Clone)]
pub struct Control {
    pub t0: Instant,
    pub measuring: Arc<AtomicBool>,
    pub received_now: Arc<AtomicU64>,
    pub connected: Arc<AtomicU64>,
    pub stop: watch::Receiver<bool>,
    pub load: Load,
    /// Set once everyone is connected in the `phone` scenario: each meeting's chair then moves
    /// one participant's voice to a phone (R14's split), and Sluss calls it.
    pub phones: Arc<AtomicBool>,
    /// The address media is sent from: loopback, or toward a server elsewhere.
    pub bind_ip: std::net::IpAddr,
}

/// When the next audio and video packets are due.
pub(crate) struct Schedule {
    audio_every: Duration,
    video_every: Option<Duration>,
    next_audio: Instant,
    next_video: Instant,
}

impl Schedule {
    /// What participant `idx` sends under `load`.
    pub(crate) fn new(load: Load, start: Instant, idx: u32) -> Schedule {
        let presents = load.presents(idx);
        Schedule {
            audio_every: if presents {
                Duration::from_secs(1) / load.audio_pps.max(1)
            } else {
                DTX_EVERY
            },
            video_every: (presents && load.video_pps > 0)
                .then(|| Duration::from_secs(1) / load.video_pps),
            next_audio: start,
            next_video: start,
        }
    }

    /// Whether this microphone talks (or sends DTX, muted).
    pub(crate) fn talking(&self) -> bool {
        self.audio_every < DTX_EVERY
    }

    /// The packets due by `now`: (is_video, count).
    pub(crate) fn due(&mut self, now: Instant) -> (u32, u32) {
        let mut audio = 0;
        while self.next_audio <= now && audio < 10 {
            self.next_audio += self.audio_every;
            audio += 1;
        }
        let mut video = 0;
        if let Some(every) = self.video_every {
            while self.next_video <= now && video < 10 {
                self.next_video += every;
                video += 1;
            }
        }
        (audio, video)
    }
}

/// The TLS client for a loopback server with a self-signed certificate.
pub fn loopback_tls() -> Arc<rustls::ClientConfig> {
    #[derive(Debug)]
    struct AnyCert(Arc<rustls::crypto::CryptoProvider>);
    impl rustls::client::danger::ServerCertVerifier for AnyCert {
        fn verify_server_cert(
            &self,
            _: &rustls::pki_types::CertificateDer<'_>,
            _: &[rustls::pki_types::CertificateDer<'_>],
            _: &rustls::pki_types::ServerName<'_>,
            _: &[u8],
            _: rustls::pki_types::UnixTime,
        ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            m: &[u8],
            c: &rustls::pki_types::CertificateDer<'_>,
            d: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(
                m,
                c,
                d,
                &self.0.signature_verification_algorithms,
            )
        }
        fn verify_tls13_signature(
            &self,
            m: &[u8],
            c: &rustls::pki_types::CertificateDer<'_>,
            d: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(
                m,
                c,
                d,
                &self.0.signature_verification_algorithms,
            )
        }
        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCert(provider)))
        .with_no_client_auth();
    Arc::new(config)
}

pub(crate) struct Media {
    pub(crate) rtc: Rtc,
    pub(crate) audio: Mid,
    pub(crate) video: Option<Mid>,
    audio_seq: u64,
    pub(crate) camera: Camera,
}

impl Media {
    /// Adds the audio and (when the load has video) the camera m-line to an offer being made,
    /// its simulcast layers listed lowest first, or highest first for Janus.
    pub(crate) fn new(
        mut rtc: Rtc,
        load: &Load,
        highest_first: bool,
    ) -> (Media, str0m::change::SdpOffer, SdpPendingOffer) {
        let mut api = rtc.sdp_api();
        let audio = api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
        let video = (load.video_pps > 0).then(|| {
            let layers = video::simulcast(load.layers, highest_first);
            api.add_media(MediaKind::Video, Direction::SendOnly, None, None, layers)
        });
        let (offer, pending) = api.apply().expect("an offer with new m-lines");
        let media = Media {
            rtc,
            audio,
            video,
            audio_seq: 0,
            camera: Camera::new(load.layers),
        };
        (media, offer, pending)
    }

    /// Sends the audio and video packets the schedule says are due, counting them while the
    /// measurement runs.
    pub(crate) fn send_due(
        &mut self,
        schedule: &mut Schedule,
        control: &Control,
        idx: u32,
        tally: &mut Tally,
    ) {
        let now = Instant::now();
        let (audio, video) = schedule.due(now);
        let measuring = control.measuring.load(Ordering::Relaxed);
        for _ in 0..audio {
            self.audio_seq += 1;
            let payload = voice::payload(
                control.t0,
                idx,
                self.audio_seq,
                schedule.talking(),
                control.load.audio_bytes,
            );
            let seq = self.audio_seq;
            if self.send(Codec::Opus, self.audio, None, seq, seq * 960, payload, now) && measuring {
                tally.sent += 1;
            }
        }
        let Some(mid) = self.video else {
            return;
        };
        for _ in 0..video {
            self.camera.next_frame();
            let layers: Vec<_> = self.camera.layers().collect();
            for (rid, layer) in layers {
                let size = video::layer_size(layer, control.load.video_bytes);
                let (seq, payload) = self.camera.packet(control.t0, idx, layer, size);
                // A subscriber gets one layer of each frame: a frame counts once as sent.
                if self.send(Codec::Vp8, mid, rid, seq, seq * 3000, payload, now)
                    && measuring
                    && layer == 2
                {
                    tally.sent += 1;
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn send(
        &mut self,
        codec: Codec,
        mid: Mid,
        rid: Option<str0m::media::Rid>,
        seq: u64,
        time: u64,
        payload: Vec<u8>,
        now: Instant,
    ) -> bool {
        let Some(pt) = self
            .rtc
            .codec_config()
            .find(|p| p.spec().codec == codec)
            .map(|p| p.pt())
        else {
            return false;
        };
        let mut api = self.rtc.direct_api();
        let Some(tx) = api.stream_tx_by_mid(mid, rid) else {
            return false;
        };
        tx.write_rtp(
            RtpWrite::new(pt, SeqNo::from(seq), time as u32, now, payload)
                .marker(true)
                .nackable(codec == Codec::Vp8),
        );
        true
    }
}

/// One browser-like participant of a Sluss meeting.
pub async fn webrtc(
    host: String,
    cookie: String,
    token: String,
    idx: u32,
    tls: Arc<rustls::ClientConfig>,
    mut control: Control,
) -> Tally {
    let mut tally = Tally::new();
    if let Err(e) = run_webrtc(&host, &cookie, &token, idx, tls, &mut control, &mut tally).await {
        tally.errors.push(e);
    }
    tally
}

async fn run_webrtc(
    host: &str,
    cookie: &str,
    token: &str,
    idx: u32,
    tls: Arc<rustls::ClientConfig>,
    control: &mut Control,
    tally: &mut Tally,
) -> Result<(), String> {
    let mut request = format!("wss://{host}/ws")
        .into_client_request()
        .map_err(|e| e.to_string())?;
    request
        .headers_mut()
        .insert("cookie", cookie.parse().map_err(|_| "cookie")?);
    let (mut ws, _) = tokio_tungstenite::connect_async_tls_with_config(
        request,
        None,
        false,
        Some(tokio_tungstenite::Connector::Rustls(tls)),
    )
    .await
    .map_err(|e| format!("websocket: {e}"))?;
    let join =
        json!({"type": "join", "v": 1, "token": token, "display_name": format!("Deltagare {idx}")});
    ws.send(Message::Text(join.to_string().into()))
        .await
        .map_err(|e| e.to_string())?;

    let socket = UdpSocket::bind((control.bind_ip, 0))
        .await
        .map_err(|e| e.to_string())?;
    let local = socket.local_addr().map_err(|e| e.to_string())?;
    let now = Instant::now();
    let mut rtc = Rtc::builder()
        .set_rtp_mode(true)
        .clear_codecs()
        .enable_opus(true, false)
        .enable_vp8(true)
        .build(now);
    rtc.add_local_candidate(Candidate::host(local, "udp").map_err(|e| e.to_string())?);
    let (mut media, offer, pending) = Media::new(rtc, &control.load, false);
    let mut pending: Option<SdpPendingOffer> = Some(pending);
    let mut offer_sent = false;
    let mut schedule = Schedule::new(control.load, now, idx);
    let mut next_timeout = now + Duration::from_millis(10);
    let mut ticker = tokio::time::interval(Duration::from_millis(10));
    let mut buf = vec![0u8; 2048];
    let mut chair = Chair::new(idx, &control.load);
    // As a page does: a ping every 20 s, or the server closes the socket after 60 s of
    // silence (ten-minute runs lost every participant at about 60 s before this).
    let mut keepalive = tokio::time::interval_at(
        tokio::time::Instant::now() + Duration::from_secs(20),
        Duration::from_secs(20),
    );

    loop {
        tokio::select! {
            _ = keepalive.tick() => {
                let ping = json!({"type": "ping"}).to_string();
                ws.send(Message::Text(ping.into())).await.map_err(|e| e.to_string())?;
            }
            message = ws.next() => {
                let text = match message {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(_)) => continue,
                    _ => return Err("the server closed the WebSocket".into()),
                };
                let m: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
                chair.learn(&m);
                match m["type"].as_str().unwrap_or("") {
                    "joined" if !offer_sent => {
                        offer_sent = true;
                        let o = json!({"type": "offer", "sdp": offer.to_sdp_string()});
                        ws.send(Message::Text(o.to_string().into())).await.map_err(|e| e.to_string())?;
                    }
                    "answer" => {
                        let sdp = m["sdp"].as_str().unwrap_or("");
                        let answer = SdpAnswer::from_sdp_string(sdp).map_err(|e| e.to_string())?;
                        if let Some(p) = pending.take() {
                            media.rtc.sdp_api().accept_answer(p, answer).map_err(|e| e.to_string())?;
                        }
                    }
                    "offer" => {
                        let sdp = m["sdp"].as_str().unwrap_or("");
                        let offer = SdpOffer::from_sdp_string(sdp).map_err(|e| e.to_string())?;
                        match media.rtc.sdp_api().accept_offer(offer) {
                            Ok(answer) => {
                                let a = json!({"type": "answer", "sdp": answer.to_sdp_string()});
                                ws.send(Message::Text(a.to_string().into())).await.map_err(|e| e.to_string())?;
                            }
                            Err(e) => tally.errors.push(format!("server offer: {e}")),
                        }
                    }
                    "error" => tally.errors.push(format!("server: {}", m["code"])),
                    _ => {}
                }
            }
            received = socket.recv_from(&mut buf) => {
                let (n, source) = received.map_err(|e| e.to_string())?;
                if let Ok(contents) = DatagramRecv::try_from(&buf[..n]) {
                    let input = Input::Receive(Instant::now(), Receive {
                        proto: Protocol::Udp, source, destination: local, contents,
                    });
                    let _ = media.rtc.handle_input(input);
                }
            }
            _ = tokio::time::sleep_until(next_timeout.into()) => {
                let _ = media.rtc.handle_input(Input::Timeout(Instant::now()));
            }
            _ = ticker.tick() => {
                if tally.connected {
                    media.send_due(&mut schedule, control, idx, tally);
                }
                if let Some(order) = chair.move_to_phone(control) {
                    ws.send(Message::Text(order.to_string().into())).await.map_err(|e| e.to_string())?;
                }
            }
            _ = control.stop.changed() => {
                let _ = ws.send(Message::Text(json!({"type": "leave"}).to_string().into())).await;
                return Ok(());
            }
        }
        // Everything str0m has to say after that input.
        loop {
            match media.rtc.poll_output() {
                Ok(Output::Timeout(t)) => {
                    next_timeout = t;
                    break;
                }
                Ok(Output::Transmit(t)) => {
                    let _ = socket.send_to(&t.contents, t.destination).await;
                }
                Ok(Output::Event(Event::Connected)) => {
                    tally.connected = true;
                    control.connected.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Output::Event(Event::RtpPacket(p))) => {
                    if control.measuring.load(Ordering::Relaxed) {
                        tally.record(&p.payload, control.t0);
                        control.received_now.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Ok(Output::Event(Event::KeyframeRequest(req))) => {
                    media.camera.keyframe_requested(req.rid);
                }
                Ok(Output::Event(_)) => {}
                Err(e) => {
                    tally.errors.push(format!("rtc: {e}"));
                    return Err("the WebRTC session failed".into());
                }
            }
        }
    }
}

/// What a meeting's chair (its first participant) does in the `phone` scenario: it learns who
/// is in the meeting and, when told, moves the first other person's voice to a phone.
struct Chair {
    meeting: Option<u32>,
    me: String,
    others: Vec<String>,
    done: bool,
}

impl Chair {
    fn new(idx: u32, load: &Load) -> Chair {
        let size = load.meeting_size.max(1) as u32;
        Chair {
            meeting: idx.is_multiple_of(size).then_some(idx / size),
            me: String::new(),
            others: Vec::new(),
            done: false,
        }
    }

    fn learn(&mut self, m: &serde_json::Value) {
        if self.meeting.is_none() {
            return;
        }
        let id = |p: &serde_json::Value| p["participant_id"].as_str().map(str::to_owned);
        match m["type"].as_str().unwrap_or("") {
            "joined" => {
                self.me = id(m).unwrap_or_default();
                let present = m["participants"].as_array().into_iter().flatten();
                self.others.extend(present.filter_map(id));
            }
            "participant_joined" => self.others.extend(id(&m["participant"])),
            _ => {}
        }
        let me = self.me.clone();
        self.others.retain(|o| *o != me);
    }

    fn move_to_phone(&mut self, control: &Control) -> Option<serde_json::Value> {
        let meeting = self.meeting?;
        if self.done || !control.phones.load(Ordering::Relaxed) {
            return None;
        }
        let participant = self.others.first()?;
        self.done = true;
        Some(
            json!({"type": "move_audio_to_phone", "participant_id": participant,
                    "number": crate::phone::number(meeting)}),
        )
    }
}

/// One participant of the null relay: the same packets, no signaling, no crypto.
pub async fn plain(relay: SocketAddr, meeting: u32, idx: u32, mut control: Control) -> Tally {
    let mut tally = Tally::new();
    let Ok(socket) = UdpSocket::bind("127.0.0.1:0").await else {
        tally.errors.push("bind".into());
        return tally;
    };
    let mut join = vec![b'J'];
    join.extend_from_slice(&meeting.to_be_bytes());
    join.extend_from_slice(&idx.to_be_bytes());
    let _ = socket.send_to(&join, relay).await;
    tally.connected = true;
    control.connected.fetch_add(1, Ordering::Relaxed);
    let mut schedule = Schedule::new(control.load, Instant::now(), idx);
    let mut ticker = tokio::time::interval(Duration::from_millis(10));
    let mut buf = vec![0u8; 2048];
    let mut seq = 0u16;
    let mut camera = Camera::new(control.load.layers);
    loop {
        tokio::select! {
            received = socket.recv_from(&mut buf) => {
                if let Ok((n, _)) = received {
                    if n > 16 && control.measuring.load(Ordering::Relaxed) {
                        tally.record(&buf[12..n], control.t0);
                        control.received_now.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            _ = ticker.tick() => {
                let (audio, video) = schedule.due(Instant::now());
                let measuring = control.measuring.load(Ordering::Relaxed);
                let mut packets = Vec::new();
                for _ in 0..audio {
                    seq = seq.wrapping_add(1);
                    let talking = schedule.talking();
                    let payload = voice::payload(control.t0, idx, seq.into(), talking, control.load.audio_bytes);
                    packets.push((111u8, 2, payload));
                }
                for _ in 0..video {
                    camera.next_frame();
                    let layers: Vec<_> = camera.layers().map(|(_, l)| l).collect();
                    for layer in layers {
                        let size = video::layer_size(layer, control.load.video_bytes);
                        packets.push((96u8, layer, camera.packet(control.t0, idx, layer, size).1));
                    }
                }
                for (pt, layer, payload) in packets {
                    seq = seq.wrapping_add(1);
                    let mut packet = vec![0x80, pt];
                    packet.extend_from_slice(&seq.to_be_bytes());
                    packet.extend_from_slice(&[0; 4]);
                    packet.extend_from_slice(&idx.to_be_bytes());
                    packet.extend_from_slice(&payload);
                    if socket.send_to(&packet, relay).await.is_ok() && measuring && layer == 2 {
                        tally.sent += 1;
                    }
                }
            }
            _ = control.stop.changed() => return tally,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_buckets() {
        let mut t = Tally::new();
        t.latency[10] = 98; // 100-110 µs
        t.latency[500] = 2; // 5 ms
        assert!((t.percentile_us(0.5) - 105.0).abs() < 1.0);
        assert!((t.percentile_us(0.99) - 5005.0).abs() < 1.0);
    }

    #[test]
    fn the_schedule_keeps_the_rate() {
        let start = Instant::now();
        let load = Load {
            audio_pps: 50,
            audio_bytes: 100,
            video_pps: 30,
            video_bytes: 1000,
            layers: 3,
            meeting_size: 50,
            presenters: 5,
        };
        let second = |idx: u32| {
            let mut s = Schedule::new(load, start, idx);
            let (mut audio, mut video) = (0, 0);
            for ms in (0..1000).step_by(10) {
                let (a, v) = s.due(start + Duration::from_millis(ms));
                audio += a;
                video += v;
            }
            (audio, video)
        };
        assert_eq!(second(4), (50, 30), "a presenter");
        assert_eq!(second(5), (3, 0), "a muted listener: DTX, camera off");
        assert_eq!(second(52), (50, 30), "a presenter of the second meeting");
    }
}
