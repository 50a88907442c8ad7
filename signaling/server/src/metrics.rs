//! Prometheus metrics: the signaling side's own, and the media workers' counters copied in at
//! scrape time.

mod process;
mod relay;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use prometheus::core::Collector;
use prometheus::{
    Counter, Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    Opts, Registry, TextEncoder,
};
use sluss_net::Media;

pub struct Metrics {
    /// The `sluss_` families.
    registry: Families,
    /// The unprefixed standard ones (`process_*`).
    standard: Families,
    pub meetings_active: IntGauge,
    pub participants_active: IntGauge,
    pub ws_connections: IntGauge,
    pub joins: IntCounter,
    /// From a join message's arrival to the answer sent (the room or the lobby).
    pub join_seconds: Histogram,
    pub ws_refusals: IntCounterVec,
    /// Every HTTP request by route template, method and status (the access log's numbers).
    pub http_seconds: HistogramVec,
    /// R14: phone calls placed by the meetings, by how they ended.
    pub phone_calls: IntCounterVec,
    pub phone_calls_active: IntGauge,
    /// The phone legs' media, counted when each call ends.
    pub phone_media: IntCounterVec,
    /// The phone legs' audio work (the mixer and transcoders), counted when each call ends.
    pub phone_mixer_seconds: Counter,
    /// When the TLS certificate served now stops being valid (Unix seconds).
    pub certificate_expiry: IntGauge,
    /// R15: 1 while the audit trail's last check found the chain whole, 0 if it found a break.
    pub audit_chain_valid: IntGauge,
    pub audit_chain_checked: IntGauge,
    /// Webhook sends by endpoint and outcome (delivered, failed, given_up).
    pub webhook_deliveries: IntCounterVec,
    pub webhooks_pending: IntGauge,
    relay: relay::RelayMetrics,
    process: process::ProcessMetrics,
    scrape: Mutex<()>,
    /// The SIP stack's count of calls refused for a full queue, as last added to
    /// `phone_calls{outcome="dial_in_queue_full"}`.
    queue_full_seen: std::sync::atomic::AtomicU64,
}

/// A registry that remembers every family's name, also those without a sample yet (a label
/// set nobody has used), so that dashboards can be checked against what the binary exports.
struct Families {
    registry: Registry,
    names: Mutex<Vec<String>>,
}

impl Families {
    fn new(prefix: Option<&str>) -> Families {
        Families {
            registry: Registry::new_custom(prefix.map(str::to_owned), None).unwrap_or_default(),
            names: Mutex::new(Vec::new()),
        }
    }
}

/// Registers a metric, or panics on a name clash (the names are constants; a test scrapes).
fn register<M: Collector + Clone + 'static>(
    families: &Families,
    metric: prometheus::Result<M>,
) -> M {
    let metric = metric.unwrap_or_else(|_| unreachable_metric());
    if families
        .registry
        .register(Box::new(metric.clone()))
        .is_err()
    {
        unreachable_metric::<()>();
    }
    let mut names = families.names.lock().unwrap_or_else(|e| e.into_inner());
    for desc in metric.desc() {
        names.push(desc.fq_name.clone());
    }
    metric
}

impl Metrics {
    /// Metrics for tests and tools: no data directory to watch.
    pub fn new() -> Arc<Metrics> {
        Metrics::with_data_dir(None)
    }

    /// `data_dir`: the directory whose file system's free space is exported.
    pub fn with_data_dir(data_dir: Option<PathBuf>) -> Arc<Metrics> {
        let registry = Families::new(Some("sluss"));
        let standard = Families::new(None);
        let gauge = |name: &str, help: &str| register(&registry, IntGauge::new(name, help));
        let build_info = register(
            &registry,
            prometheus::IntGaugeVec::new(
                Opts::new(
                    "build_info",
                    "Always 1: the version this binary was built from.",
                ),
                &["version"],
            ),
        );
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        Arc::new(Metrics {
            meetings_active: gauge(
                "meetings_active",
                "Meetings with someone in them on this node.",
            ),
            participants_active: gauge(
                "participants_active",
                "Participants in live meetings, including those reconnecting.",
            ),
            ws_connections: gauge("ws_connections", "Open signaling WebSockets."),
            joins: register(&registry, IntCounter::new("joins_total", "Accepted joins.")),
            join_seconds: register(
                &registry,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "join_duration_seconds",
                        "From a join message's arrival to the answer (the room or the lobby).",
                    )
                    .buckets(vec![
                        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    ]),
                ),
            ),
            ws_refusals: register(
                &registry,
                IntCounterVec::new(
                    Opts::new(
                        "signaling_refusals_total",
                        "Signaling messages refused, by reason (the protocol's error code).",
                    ),
                    &["reason"],
                ),
            ),
            http_seconds: register(
                &registry,
                HistogramVec::new(
                    HistogramOpts::new(
                        "http_request_duration_seconds",
                        "HTTP requests on the public listener by route template, method and \
                         status code, from arrival to the response's head.",
                    )
                    .buckets(vec![
                        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    ]),
                    &["route", "method", "code"],
                ),
            ),
            phone_calls: register(
                &registry,
                IntCounterVec::new(
                    Opts::new(
                        "phone_calls_total",
                        "Phone calls for meetings, by outcome: placed by the chair: hung_up \
                         (answered, then ended), cancelled, rejected, auth_failed, timeout, \
                         transport, not_encrypted, bad_answer, not_answered, not_placed, \
                         call_in_not_answered; dial-in: dial_in_ended, dial_in_hung_up, \
                         dial_in_wrong_pin, dial_in_locked, dial_in_no_pin, dial_in_busy, \
                         dial_in_queue_full (refused 480 before the dial-in: too many waiting), \
                         dial_in_not_acceptable, dial_in_refused, dial_in_failed, dial_in_silent \
                         (hung up: the trunk sent nothing for the media timeout).",
                    ),
                    &["outcome"],
                ),
            ),
            phone_calls_active: gauge(
                "phone_calls_active",
                "Phone calls placed and not yet ended (ringing or answered).",
            ),
            phone_media: register(
                &registry,
                IntCounterVec::new(
                    Opts::new(
                        "phone_media_total",
                        "Phone legs' media, counted as each call ends: frames_to_meeting, \
                         frames_to_phone, concealed (a frame of the phone's voice made up for a \
                         lost or late one), late and lost (the phone's packets), refused (failed \
                         SRTP, or from another address), voices_refused (meeting voices past the \
                         mixer's bound), silent_trunk_hang_ups (calls hung up because the trunk \
                         sent nothing for the media timeout).",
                    ),
                    &["what"],
                ),
            ),
            phone_mixer_seconds: register(
                &registry,
                Counter::new(
                    "phone_mixer_seconds_total",
                    "Time the phone legs spent on their audio (SRTP in, jitter buffers, \
                     decoding, mixing, encoding), measured around the work, counted as each call \
                     ends: its rate over the active calls is the CPU share per leg.",
                ),
            ),
            certificate_expiry: gauge(
                "tls_certificate_expiry_timestamp_seconds",
                "When the TLS certificate served now stops being valid, in Unix seconds.",
            ),
            audit_chain_valid: gauge(
                "audit_chain_valid",
                "1 while the last check of the audit trail's hash chain found it whole, 0 if \
                 an entry was changed, inserted or removed (R15).",
            ),
            audit_chain_checked: gauge(
                "audit_chain_checked_timestamp_seconds",
                "When the audit trail's hash chain was last checked, in Unix seconds.",
            ),
            webhook_deliveries: register(
                &registry,
                IntCounterVec::new(
                    Opts::new(
                        "webhook_deliveries_total",
                        "Webhook sends by endpoint and outcome: delivered (a 2xx), failed (to be \
                         tried again), given_up (after the last retry).",
                    ),
                    &["endpoint", "outcome"],
                ),
            ),
            webhooks_pending: gauge(
                "webhooks_pending",
                "Webhooks queued and not yet delivered or given up.",
            ),
            relay: relay::RelayMetrics::register(&registry),
            process: process::ProcessMetrics::register(&standard, &registry, data_dir),
            registry,
            standard,
            scrape: Mutex::new(()),
            queue_full_seen: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Every family this binary exports, with or without samples (histograms by their base
    /// name), e.g. `sluss_joins_total`, `process_cpu_seconds_total`.
    pub fn family_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for (families, prefix) in [(&self.standard, ""), (&self.registry, "sluss_")] {
            let list = families.names.lock().unwrap_or_else(|e| e.into_inner());
            names.extend(list.iter().map(|n| format!("{prefix}{n}")));
        }
        names
    }

    /// The text exposition, with the media counters and the process gauges brought up to date.
    pub fn render(&self, media: &Media) -> String {
        let _guard = self.scrape.lock().unwrap_or_else(|e| e.into_inner());
        self.relay.update(media);
        self.process.update();
        let mut families = self.standard.registry.gather();
        families.extend(self.registry.registry.gather());
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&families, &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

/// Metric names and help texts here are constants; construction cannot fail on them.
fn unreachable_metric<T>() -> T {
    panic!("invalid constant metric definition")
}

impl Metrics {
    /// Brings `dial_in_queue_full` up to the SIP stack's own count (at scrape time).
    pub fn sync_phone_queue_full(&self, total: u64) {
        let seen = self
            .queue_full_seen
            .swap(total, std::sync::atomic::Ordering::Relaxed);
        self.phone_calls
            .with_label_values(&["dial_in_queue_full"])
            .inc_by(total.saturating_sub(seen));
    }

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
