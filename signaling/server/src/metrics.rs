//! Prometheus metrics: the signaling side's own, and the media workers' counters copied in at
//! scrape time.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use prometheus::{
    Counter, Encoder, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};
use sluss_net::Media;

pub struct Metrics {
    registry: Registry,
    pub meetings_active: IntGauge,
    pub participants_active: IntGauge,
    pub ws_connections: IntGauge,
    pub joins: IntCounter,
    pub ws_refusals: IntCounterVec,
    /// R14: phone calls placed by the meetings, by how they ended.
    pub phone_calls: IntCounterVec,
    pub phone_calls_active: IntGauge,
    /// The phone legs' media, counted when each call ends.
    pub phone_media: IntCounterVec,
    /// The phone legs' audio work (the mixer and transcoders), counted when each call ends.
    pub phone_mixer_seconds: Counter,
    relay_peers: IntGauge,
    ice_tcp_connections: IntGauge,
    ice_tcp_refused: IntCounter,
    relay_counters: Vec<(&'static str, IntCounter)>,
    scrape: Mutex<()>,
}

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        let registry = Registry::new_custom(Some("sluss".into()), None).unwrap_or_default();
        let gauge = |name: &str, help: &str| {
            let g = IntGauge::new(name, help).unwrap_or_else(|_| unreachable_metric());
            let _ = registry.register(Box::new(g.clone()));
            g
        };
        let meetings_active = gauge(
            "meetings_active",
            "Meetings with someone in them on this node.",
        );
        let participants_active = gauge(
            "participants_active",
            "Participants in live meetings, including those reconnecting.",
        );
        let ws_connections = gauge("ws_connections", "Open signaling WebSockets.");
        let relay_peers = gauge("relay_peers", "WebRTC transports in the media workers.");
        let ice_tcp_connections = gauge(
            "ice_tcp_connections",
            "ICE-TCP connections open in the media workers.",
        );
        let ice_tcp_refused = IntCounter::new(
            "ice_tcp_refused_total",
            "ICE-TCP connections closed on arrival: the table or their address's share was full.",
        )
        .unwrap_or_else(|_| unreachable_metric());
        let _ = registry.register(Box::new(ice_tcp_refused.clone()));
        let joins = IntCounter::new("joins_total", "Accepted joins.")
            .unwrap_or_else(|_| unreachable_metric());
        let _ = registry.register(Box::new(joins.clone()));
        let ws_refusals = IntCounterVec::new(
            Opts::new(
                "ws_refusals_total",
                "Signaling messages refused, by error code.",
            ),
            &["code"],
        )
        .unwrap_or_else(|_| unreachable_metric());
        let _ = registry.register(Box::new(ws_refusals.clone()));
        let phone_calls = IntCounterVec::new(
            Opts::new(
                "phone_calls_total",
                "Phone calls for meetings, by outcome: placed by the chair: hung_up (answered, \
                 then ended), cancelled, rejected, auth_failed, timeout, transport, \
                 not_encrypted, bad_answer, not_answered, not_placed, call_in_not_answered; \
                 dial-in: dial_in_ended, dial_in_hung_up, dial_in_wrong_pin, dial_in_locked, \
                 dial_in_no_pin, dial_in_busy, dial_in_not_acceptable, dial_in_refused, \
                 dial_in_failed, dial_in_silent (hung up: the trunk sent nothing for the media \
                 timeout).",
            ),
            &["outcome"],
        )
        .unwrap_or_else(|_| unreachable_metric());
        let _ = registry.register(Box::new(phone_calls.clone()));
        let phone_calls_active = gauge(
            "phone_calls_active",
            "Phone calls placed and not yet ended (ringing or answered).",
        );
        let phone_media = IntCounterVec::new(
            Opts::new(
                "phone_media_total",
                "Phone legs' media, counted as each call ends: frames_to_meeting, \
                 frames_to_phone, concealed (a frame of the phone's voice made up for a lost \
                 or late one), late and lost (the phone's packets), refused (failed SRTP, or \
                 from another address), voices_refused (meeting voices past the mixer's \
                 bound), silent_trunk_hang_ups (calls hung up because the trunk sent nothing \
                 for the media timeout).",
            ),
            &["what"],
        )
        .unwrap_or_else(|_| unreachable_metric());
        let _ = registry.register(Box::new(phone_media.clone()));
        let phone_mixer_seconds = Counter::new(
            "phone_mixer_seconds_total",
            "Time the phone legs spent on their audio (SRTP in, jitter buffers, decoding, \
             mixing, encoding), measured around the work, counted as each call ends: its rate \
             over the active calls is the CPU share per leg.",
        )
        .unwrap_or_else(|_| unreachable_metric());
        let _ = registry.register(Box::new(phone_mixer_seconds.clone()));
        let relay_counters = sluss_relay::RelayStats::default()
            .named()
            .iter()
            .map(|(name, _)| {
                let c = IntCounter::new(
                    format!("relay_{name}_total"),
                    format!("Media relay: {}.", name.replace('_', " ")),
                )
                .unwrap_or_else(|_| unreachable_metric());
                let _ = registry.register(Box::new(c.clone()));
                (*name, c)
            })
            .collect();
        Arc::new(Metrics {
            registry,
            meetings_active,
            participants_active,
            ws_connections,
            joins,
            ws_refusals,
            phone_calls,
            phone_calls_active,
            phone_media,
            phone_mixer_seconds,
            relay_peers,
            ice_tcp_connections,
            ice_tcp_refused,
            relay_counters,
            scrape: Mutex::new(()),
        })
    }

    /// The text exposition, with the media counters brought up to date.
    pub fn render(&self, media: &Media) -> String {
        let _guard = self.scrape.lock().unwrap_or_else(|e| e.into_inner());
        let mut peers = 0;
        let (mut tcp_open, mut tcp_refused) = (0, 0);
        let mut totals: Vec<u64> = vec![0; self.relay_counters.len()];
        for shard in media.stats() {
            peers += shard.peers.load(Ordering::Relaxed);
            tcp_open += shard.tcp_connections.load(Ordering::Relaxed);
            tcp_refused += shard.tcp_refused.load(Ordering::Relaxed);
            for (i, (_, v)) in shard.load().into_iter().enumerate() {
                if let Some(t) = totals.get_mut(i) {
                    *t += v;
                }
            }
        }
        self.relay_peers.set(peers as i64);
        self.ice_tcp_connections.set(tcp_open as i64);
        if tcp_refused > self.ice_tcp_refused.get() {
            self.ice_tcp_refused
                .inc_by(tcp_refused - self.ice_tcp_refused.get());
        }
        for ((_, counter), total) in self.relay_counters.iter().zip(totals) {
            let current = counter.get();
            if total > current {
                counter.inc_by(total - current);
            }
        }
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

/// Metric names and help texts here are constants; construction cannot fail on them.
fn unreachable_metric<T>() -> T {
    panic!("invalid constant metric definition")
}

impl Metrics {
    /// What one phone leg's media counted, added as its call ends.
    pub fn count_phone_media(&self, stats: &sluss_phone::leg_media::LegMediaStats) {
        let b = &stats.bridge;
        for (what, n) in [
            ("frames_to_meeting", b.frames_to_meeting),
            ("frames_to_phone", b.frames_to_phone),
            ("concealed", b.concealed),
            ("late", b.phone_jitter.late),
            ("lost", b.phone_jitter.lost),
            ("refused", stats.refused),
            ("voices_refused", b.voices_refused),
            // Calls hung up because the trunk sent nothing for the media timeout.
            ("silent_trunk_hang_ups", u64::from(stats.fell_silent)),
        ] {
            self.phone_media.with_label_values(&[what]).inc_by(n);
        }
        self.phone_mixer_seconds.inc_by(stats.busy.as_secs_f64());
    }
}
