//! The media workers' counters as Prometheus families: one family per kind of thing counted,
//! a `worker` label on each, and a `reason` label where one thing has several causes.

use std::sync::atomic::Ordering;

use prometheus::{CounterVec, IntCounterVec, IntGaugeVec, Opts};
use sluss_net::Media;

/// How each of the relay's counters ([`sluss_relay::RelayStats::named`]) is exported: the
/// family (without the `sluss_` prefix), its help, and the reason where the family has one.
const FAMILIES: &[(&str, &str, &str, Option<&str>)] = &[
    (
        "datagrams_received",
        "relay_received_datagrams_total",
        "Datagrams the media workers received.",
        None,
    ),
    (
        "bytes_received",
        "relay_received_bytes_total",
        "Bytes the media workers received.",
        None,
    ),
    (
        "rtp_received",
        "relay_rtp_received_packets_total",
        "RTP packets received from publishers (after decryption).",
        None,
    ),
    (
        "rtp_forwarded",
        "relay_rtp_forwarded_packets_total",
        "RTP packets written toward subscribers.",
        None,
    ),
    (
        "rtp_forwarded_bytes",
        "relay_rtp_forwarded_bytes_total",
        "Bytes of RTP written toward subscribers.",
        None,
    ),
    (
        "datagrams_sent",
        "relay_sent_datagrams_total",
        "Datagrams sent (media, RTCP, STUN, DTLS).",
        None,
    ),
    (
        "bytes_sent",
        "relay_sent_bytes_total",
        "Bytes the media workers sent.",
        None,
    ),
    (
        "send_errors",
        "relay_send_errors_total",
        "Datagrams the operating system refused to send.",
        None,
    ),
    (
        "dropped_unvalidated",
        "relay_dropped_datagrams_total",
        DROPPED,
        Some("unvalidated"),
    ),
    (
        "dropped_malformed",
        "relay_dropped_datagrams_total",
        DROPPED,
        Some("malformed"),
    ),
    (
        "dropped_unknown_ufrag",
        "relay_dropped_datagrams_total",
        DROPPED,
        Some("unknown_ufrag"),
    ),
    (
        "rejected_by_transport",
        "relay_dropped_datagrams_total",
        DROPPED,
        Some("rejected_by_transport"),
    ),
    (
        "ice_failures",
        "relay_transport_failures_total",
        FAILED,
        Some("ice"),
    ),
    (
        "dtls_failures",
        "relay_transport_failures_total",
        FAILED,
        Some("dtls"),
    ),
    (
        "screen_blocked",
        "relay_withheld_packets_total",
        WITHHELD,
        Some("screen_not_allowed"),
    ),
    (
        "video_paused",
        "relay_withheld_packets_total",
        WITHHELD,
        Some("video_paused"),
    ),
    (
        "video_thinned",
        "relay_withheld_packets_total",
        WITHHELD,
        Some("video_thinned"),
    ),
    (
        "audio_by_phone_cut",
        "relay_withheld_packets_total",
        WITHHELD,
        Some("audio_by_phone"),
    ),
    (
        "direct_overflow",
        "relay_withheld_packets_total",
        WITHHELD,
        Some("direct_overflow"),
    ),
    (
        "layer_switches",
        "relay_layer_switches_total",
        "Times a subscriber was moved to another simulcast layer.",
        None,
    ),
    ("sdp_refused", "relay_refused_total", REFUSED, Some("sdp")),
    (
        "candidates_refused",
        "relay_refused_total",
        REFUSED,
        Some("candidate"),
    ),
];

const DROPPED: &str =
    "Datagrams dropped on arrival, by reason: unvalidated (no ICE check from that \
     address), malformed, unknown_ufrag, rejected_by_transport (bad SRTP tag, replay, DTLS alert).";
const FAILED: &str = "Transports closed by a failure, by reason: ice (consent expired or the pair \
     was lost), dtls (including a fingerprint mismatch).";
const WITHHELD: &str = "Packets deliberately not forwarded, by reason: screen_not_allowed (R11), \
     video_paused (tile not shown or link too weak), video_thinned (a lower frame rate for a weak \
     link), audio_by_phone (R14), direct_overflow (a phone bridge did not take them in time).";
const REFUSED: &str = "Signaling input the media workers refused, by reason: sdp (size, m-lines, \
     candidates), candidate (a trickled candidate too long, unparsable or one too many).";

/// The relay's families, brought up to date from the workers' atomics at each scrape.
pub(super) struct RelayMetrics {
    /// One entry per relay counter, in [`sluss_relay::RelayStats::named`]'s order.
    counters: Vec<(IntCounterVec, Option<&'static str>)>,
    transports: IntGaugeVec,
    routers: IntGaugeVec,
    ice_tcp_connections: IntGaugeVec,
    ice_tcp_refused: IntCounterVec,
    cpu_seconds: CounterVec,
    workers_running: prometheus::IntGauge,
}

impl RelayMetrics {
    pub(super) fn register(registry: &super::Families) -> RelayMetrics {
        let mut families: Vec<(&str, IntCounterVec)> = Vec::new();
        let mut counters = Vec::new();
        for (name, _) in sluss_relay::RelayStats::default().named() {
            let Some((_, family, help, reason)) = FAMILIES.iter().find(|f| f.0 == name) else {
                continue;
            };
            let vec = match families.iter().find(|(f, _)| f == family) {
                Some((_, v)) => v.clone(),
                None => {
                    let labels: &[&str] = if reason.is_some() {
                        &["worker", "reason"]
                    } else {
                        &["worker"]
                    };
                    let v = super::register(
                        registry,
                        IntCounterVec::new(Opts::new(*family, *help), labels),
                    );
                    families.push((family, v.clone()));
                    v
                }
            };
            counters.push((vec, *reason));
        }
        let gauge = |name: &str, help: &str| {
            super::register(
                registry,
                IntGaugeVec::new(Opts::new(name, help), &["worker"]),
            )
        };
        RelayMetrics {
            counters,
            transports: gauge("relay_transports", "WebRTC and direct transports in each media worker."),
            routers: gauge("relay_routers", "Routers (one per live meeting) in each media worker."),
            ice_tcp_connections: gauge("ice_tcp_connections", "ICE-TCP connections open in each media worker."),
            ice_tcp_refused: super::register(
                registry,
                IntCounterVec::new(
                    Opts::new(
                        "ice_tcp_refused_total",
                        "ICE-TCP connections closed on arrival: the table or their address's share was full.",
                    ),
                    &["worker"],
                ),
            ),
            cpu_seconds: super::register(
                registry,
                CounterVec::new(
                    Opts::new(
                        "media_worker_cpu_seconds_total",
                        "CPU time each media worker's thread has used: a rate near 1 is a saturated worker.",
                    ),
                    &["worker"],
                ),
            ),
            workers_running: super::register(
                registry,
                prometheus::IntGauge::new("media_workers_running", "Media workers running (each owns a UDP port)."),
            ),
        }
    }

    /// Copies the workers' atomics into the families.
    pub(super) fn update(&self, media: &Media) {
        self.workers_running.set(media.workers_running() as i64);
        for (i, shard) in media.stats().iter().enumerate() {
            let worker = i.to_string();
            let w = worker.as_str();
            for ((_, value), (vec, reason)) in shard.load().into_iter().zip(&self.counters) {
                let counter = match reason {
                    Some(r) => vec.with_label_values(&[w, r]),
                    None => vec.with_label_values(&[w]),
                };
                raise(&counter, value);
            }
            let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed) as i64;
            self.transports
                .with_label_values(&[w])
                .set(load(&shard.peers));
            self.routers
                .with_label_values(&[w])
                .set(load(&shard.routers));
            self.ice_tcp_connections
                .with_label_values(&[w])
                .set(load(&shard.tcp_connections));
            raise(
                &self.ice_tcp_refused.with_label_values(&[w]),
                shard.tcp_refused.load(Ordering::Relaxed),
            );
            let cpu = self.cpu_seconds.with_label_values(&[w]);
            let seconds = shard.cpu_nanos.load(Ordering::Relaxed) as f64 / 1e9;
            if seconds > cpu.get() {
                cpu.inc_by(seconds - cpu.get());
            }
        }
    }
}

/// Moves a counter up to a total kept elsewhere (counters never go down).
fn raise(counter: &prometheus::IntCounter, total: u64) {
    let current = counter.get();
    if total > current {
        counter.inc_by(total - current);
    }
}
