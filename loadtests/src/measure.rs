//! One measurement: wait for everyone, sample the server, count what arrives (a line a
//! second, or the soak's line an interval), stop everyone, and make the run's row.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::participant::{Control, Load, Tally};
use crate::{procstat, sluss, soak, Row, Target};

/// What a target under load looks like from outside, sampled at the start and end.
pub(crate) struct Server {
    /// The process, when it runs on this machine; else its `process_*` metrics are read.
    pub pid: Option<u32>,
    pub rss_before: u64,
}

impl Server {
    /// The server's CPU time and resident memory now, when they can be known.
    pub async fn sample(&self, sluss: Option<&sluss::Sluss>) -> (Option<Duration>, Option<u64>) {
        match (self.pid, sluss) {
            (Some(pid), _) => (procstat::cpu_time(pid), procstat::rss_bytes(pid)),
            (None, Some(sluss)) => sluss
                .process()
                .await
                .map_or((None, None), |(cpu, rss)| (Some(cpu), Some(rss))),
            (None, None) => (None, None),
        }
    }
}

pub(crate) struct Measured {
    tally: Tally,
    connected: usize,
    /// Phone legs asked for, and up when the measurement began.
    phone_legs_asked: usize,
    phone_legs: usize,
    cpu: Option<Duration>,
    elapsed: Duration,
    rss_after: Option<u64>,
    soak: Vec<soak::Sample>,
    server_forwarded: Option<u64>,
    /// Camera packets Sluss left out for a lower frame rate (its estimate of a viewer's link
    /// was short).
    server_thinned: Option<u64>,
}

pub(crate) fn control(load: Load, bind_ip: std::net::IpAddr) -> (Control, watch::Sender<bool>) {
    let (stop_tx, stop) = watch::channel(false);
    (
        Control {
            t0: Instant::now(),
            measuring: Arc::new(AtomicBool::new(false)),
            received_now: Arc::new(AtomicU64::new(0)),
            connected: Arc::new(AtomicU64::new(0)),
            stop,
            load,
            phones: Arc::new(AtomicBool::new(false)),
            bind_ip,
        },
        stop_tx,
    )
}

/// Waits for everyone, measures for `seconds` with progress, stops everyone.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn measure(
    server: &Server,
    control: &Control,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<Tally>>,
    seconds: u64,
    // Sluss also counts what it forwarded, as a cross-check.
    sluss: Option<&sluss::Sluss>,
    // Phone legs to bring up first (the chairs move a voice each).
    legs: usize,
    // The soak's interval: a line per interval instead of one per second.
    interval: Option<u64>,
) -> Measured {
    let counters = || async {
        match sluss {
            Some(s) => s.counters().await,
            None => None,
        }
    };
    let n = tasks.len() as u64;
    let deadline = Instant::now() + Duration::from_secs(30 + n / 5);
    while control.connected.load(Ordering::Relaxed) < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "  {} of {n} connected",
        control.connected.load(Ordering::Relaxed)
    );
    let phone_legs = match (sluss, legs) {
        (Some(sluss), legs) if legs > 0 => phone_legs_up(sluss, control, legs).await,
        _ => 0,
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (cpu0, _) = server.sample(sluss).await;
    let counters0 = counters().await;
    let start = Instant::now();
    control.measuring.store(true, Ordering::Relaxed);
    let soak = match interval {
        Some(every) => soak_lines(server, control, sluss, seconds, every).await,
        None => {
            for s in 1..=seconds {
                let before = control.received_now.load(Ordering::Relaxed);
                tokio::time::sleep(Duration::from_secs(1)).await;
                let after = control.received_now.load(Ordering::Relaxed);
                println!("  {s:>3} s  {:>9} packets/s received", after - before);
            }
            Vec::new()
        }
    };
    control.measuring.store(false, Ordering::Relaxed);
    let elapsed = start.elapsed();
    let (cpu1, rss_after) = server.sample(sluss).await;
    let counters1 = counters().await;
    let _ = stop.send(true);
    let mut tally = Tally::new();
    let mut connected = 0;
    for t in tasks {
        if let Ok(Ok(t)) = tokio::time::timeout(Duration::from_secs(5), t).await {
            connected += usize::from(t.connected);
            tally.merge(&t);
        }
    }
    Measured {
        tally,
        connected,
        phone_legs_asked: legs,
        phone_legs,
        cpu: cpu0.zip(cpu1).map(|(a, b)| b.saturating_sub(a)),
        elapsed,
        rss_after,
        soak,
        server_forwarded: counters0
            .zip(counters1)
            .map(|(a, b)| b.0.saturating_sub(a.0)),
        server_thinned: counters0
            .zip(counters1)
            .map(|(a, b)| b.1.saturating_sub(a.1)),
    }
}

/// The soak's measurement: a line every `every` seconds for `seconds`.
async fn soak_lines(
    server: &Server,
    control: &Control,
    sluss: Option<&sluss::Sluss>,
    seconds: u64,
    every: u64,
) -> Vec<soak::Sample> {
    let mut samples = Vec::new();
    // A first interval of warm-up is not judged: the bandwidth estimates are still climbing
    // to the top layers, whose bigger packets cost more to encrypt.
    println!("  warming up for {every} s (not judged)");
    tokio::time::sleep(Duration::from_secs(every)).await;
    let (mut cpu_before, _) = server.sample(sluss).await;
    let mut received_before = control.received_now.load(Ordering::Relaxed);
    let start = Instant::now();
    let mut at = 0;
    while at < seconds {
        let step = every.min(seconds - at);
        at += step;
        // Each line is due at its own time since the start, so lines do not slip.
        let due = start + Duration::from_secs(at);
        tokio::time::sleep(due.saturating_duration_since(Instant::now())).await;
        let received = control.received_now.load(Ordering::Relaxed);
        let (cpu, rss) = server.sample(sluss).await;
        let packets = received.saturating_sub(received_before) as f64;
        let sample = soak::Sample {
            at_s: at,
            delivered_pps: packets / step as f64,
            cpu_per_mpkt: cpu
                .zip(cpu_before)
                .filter(|_| packets > 0.0)
                .map(|(now, then)| now.saturating_sub(then).as_secs_f64() / packets * 1e6),
            rss_mb: rss.map(|r| r as f64 / 1e6),
        };
        soak::print(&sample);
        samples.push(sample);
        (cpu_before, received_before) = (cpu, received);
    }
    samples
}

/// Tells the chairs to move a voice each to a phone, and waits (30 s at most) until Sluss has
/// `legs` calls up. Returns how many are.
async fn phone_legs_up(sluss: &sluss::Sluss, control: &Control, legs: usize) -> usize {
    control.phones.store(true, Ordering::Relaxed);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut up = 0;
    while Instant::now() < deadline {
        up = sluss.phone_calls_active().await.unwrap_or(0) as usize;
        if up >= legs {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!("  {up} of {legs} phone legs up");
    up
}

pub(crate) fn row(
    target: Target,
    meetings: usize,
    size: usize,
    server: &Server,
    m: Measured,
) -> Row {
    let secs = m.elapsed.as_secs_f64();
    let participants = meetings * size;
    let forwarded = m.tally.received as f64;
    // A voice moved to a phone is still sent by its browser, and still reaches the others
    // (through the phone); only its browser hears nothing (R14), by design.
    let muted_by_phone = (m.phone_legs * (size - 1)) as f64 * 50.0 * secs;
    let expected = (m.tally.sent as f64 * (size - 1) as f64 - muted_by_phone).max(0.0);
    let cpu = m.cpu.map_or(f64::NAN, |c| c.as_secs_f64());
    Row {
        target,
        scenario: String::new(),
        meetings,
        size,
        participants,
        connected: m.connected,
        phone_legs_asked: m.phone_legs_asked,
        phone_legs: m.phone_legs,
        seconds: secs,
        sent_pps: m.tally.sent as f64 / secs,
        forwarded_pps: forwarded / secs,
        server_forwarded_pps: m.server_forwarded.map(|f| f as f64 / secs),
        server_cpu_seconds: cpu,
        cpu_seconds_per_million: if forwarded > 0.0 {
            cpu / forwarded * 1e6
        } else {
            f64::NAN
        },
        packets_per_cpu_second: if cpu > 0.0 { forwarded / cpu } else { f64::NAN },
        latency_p50_us: m.tally.percentile_us(0.5),
        latency_p99_us: m.tally.percentile_us(0.99),
        loss_percent: if expected > 0.0 {
            (1.0 - forwarded / expected).max(0.0) * 100.0
        } else {
            0.0
        },
        thinned_percent: m
            .server_thinned
            .filter(|_| expected > 0.0)
            .map(|t| t as f64 / expected * 100.0),
        server_rss_mb: m.rss_after.map_or(f64::NAN, |r| r as f64 / 1e6),
        rss_per_participant_kb: m.rss_after.map_or(f64::NAN, |r| {
            r.saturating_sub(server.rss_before) as f64 / 1e3 / participants as f64
        }),
        video_layers_percent: {
            let total = m.tally.video_layers.iter().sum::<u64>().max(1) as f64;
            m.tally.video_layers.map(|n| n as f64 * 100.0 / total)
        },
        soak: m.soak,
        drift: Vec::new(),
        errors: m.tally.errors,
    }
}
