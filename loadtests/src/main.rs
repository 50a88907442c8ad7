//! `sluss-loadtest`: synthetic participants that load a real Sluss server, and the same load on
//! a null relay, in one run on one machine. Prints progress, a readable table and the ratios,
//! and writes JSON.

mod janus;
mod null_relay;
mod participant;
mod phone;
mod procstat;
mod sluss;
mod video;
mod voice;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand, ValueEnum};
use participant::{Control, Load, Tally};
use serde::Serialize;
use tokio::sync::watch;

#[derive(Parser)]
#[command(about = "Load Sluss with synthetic WebRTC participants, side by side with a null relay")]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Cmd {
    /// The null relay process (started by the tool itself).
    NullRelay {
        #[arg(long)]
        listen: SocketAddr,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum, Debug)]
enum Scenario {
    /// A few seconds, two meetings of three: keeps the tool from rotting (CI).
    Smoke,
    /// Many care meetings of five people.
    Care,
    /// One meeting of fifty.
    Large,
    /// Care meetings, audio only.
    Audio,
    /// Care meetings at growing participant counts: the cost curve.
    Sweep,
    /// Audio-only care meetings, run twice on Sluss: browsers only, then with one voice in
    /// each meeting moved to a phone (sipp as trunk and phones): the gateway's CPU per leg.
    Phone,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum, Debug, Serialize)]
#[serde(rename_all = "lowercase")]
enum Target {
    Sluss,
    /// Janus 1.1's VideoRoom (Debian package `janus`).
    Janus,
    Null,
}

#[derive(clap::Args)]
struct RunArgs {
    #[arg(long, value_enum, default_value = "care")]
    scenario: Scenario,
    /// Which servers to load, in this order.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "sluss,null")]
    targets: Vec<Target>,
    /// Seconds of measurement per run (after everyone is connected).
    #[arg(long)]
    seconds: Option<u64>,
    /// Meetings (care and audio scenarios).
    #[arg(long)]
    meetings: Option<usize>,
    /// People per meeting.
    #[arg(long)]
    size: Option<usize>,
    /// Participant counts for the sweep.
    #[arg(long, value_delimiter = ',', default_value = "10,20,40,80")]
    sweep: Vec<usize>,
    /// Video packets per second per publisher, and their size.
    #[arg(long, default_value_t = 30)]
    video_pps: u32,
    #[arg(long, default_value_t = 1000)]
    video_bytes: usize,
    /// Simulcast layers per camera (3: a quarter, half and full size, as browsers send; 1: a
    /// single encoding). Every subscriber is sent one layer of each camera.
    #[arg(long, default_value_t = 3)]
    layers: usize,
    /// People per meeting who present (camera on, talking); the others listen with microphone
    /// muted (DTX: a packet every 400 ms) and camera off. Default: everyone, except in the
    /// meeting of fifty (5).
    #[arg(long)]
    presenters: Option<usize>,
    /// The sluss binary.
    #[arg(long, default_value = "target/release/sluss")]
    sluss_bin: PathBuf,
    /// Media worker threads for Sluss (0: one per core).
    #[arg(long, default_value_t = 0)]
    workers: usize,
    /// The phones' codec in the phone scenario.
    #[arg(long, value_enum, default_value = "pcma")]
    phone_codec: phone::PhoneCodec,
    /// Turn Sluss's recvmmsg/sendmmsg batching off (to measure what it gives).
    #[arg(long)]
    no_batch: bool,
    /// Where to write the JSON results.
    #[arg(long, default_value = "loadtest-results.json")]
    json: PathBuf,
}

/// One run: one target under one load.
#[derive(Debug, Serialize)]
struct Row {
    target: Target,
    scenario: String,
    meetings: usize,
    size: usize,
    participants: usize,
    connected: usize,
    /// Phone legs asked for, and up while measuring (the phone scenario's second run).
    phone_legs_asked: usize,
    phone_legs: usize,
    seconds: f64,
    sent_pps: f64,
    forwarded_pps: f64,
    /// From Sluss's /metrics (packets the relay sent), when the target is Sluss.
    server_forwarded_pps: Option<f64>,
    server_cpu_seconds: f64,
    cpu_seconds_per_million: f64,
    packets_per_cpu_second: f64,
    latency_p50_us: f64,
    latency_p99_us: f64,
    loss_percent: f64,
    /// Camera packets Sluss left out on purpose for a lower frame rate, as a share of the
    /// packets expected (part of what "loss" counts).
    thinned_percent: Option<f64>,
    server_rss_mb: f64,
    rss_per_participant_kb: f64,
    /// Of the video received, the share of each simulcast layer (lowest first), in percent.
    video_layers_percent: [f64; 3],
    errors: Vec<String>,
}

fn main() {
    let cli = Cli::parse();
    if let Some(Cmd::NullRelay { listen }) = cli.command {
        if let Err(e) = null_relay::serve(listen) {
            eprintln!("null relay: {e}");
            std::process::exit(1);
        }
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let ok = runtime.block_on(run_all(cli.run));
    std::process::exit(if ok { 0 } else { 1 });
}

async fn run_all(args: RunArgs) -> bool {
    let (default_meetings, default_size, default_secs) = match args.scenario {
        Scenario::Smoke => (2, 3, 3),
        Scenario::Care | Scenario::Sweep => (8, 5, 10),
        Scenario::Large => (1, 50, 10),
        Scenario::Audio | Scenario::Phone => (10, 5, 10),
    };
    let size = args.size.unwrap_or(default_size);
    let seconds = args.seconds.unwrap_or(default_secs);
    let counts: Vec<usize> = if args.scenario == Scenario::Sweep {
        args.sweep.iter().map(|n| n.div_ceil(size)).collect()
    } else {
        vec![args.meetings.unwrap_or(default_meetings)]
    };
    let load = Load {
        audio_pps: 50,
        audio_bytes: 120,
        video_pps: if matches!(args.scenario, Scenario::Audio | Scenario::Phone) {
            0
        } else {
            args.video_pps
        },
        video_bytes: args.video_bytes,
        layers: args.layers.clamp(1, 3),
        meeting_size: size,
        presenters: args
            .presenters
            .unwrap_or(if args.scenario == Scenario::Large {
                5
            } else {
                size
            }),
    };
    println!("sluss-loadtest on {}", procstat::machine());
    println!(
        "scenario {:?}: meetings of {size} ({} presenting, the rest muted listeners), audio 50 pkt/s x {} B, video {} pkt/s x {} B in {} layer(s), {seconds} s per run",
        args.scenario, load.presenters.min(size), load.audio_bytes, load.video_pps, load.video_bytes, load.layers
    );
    let mut rows = Vec::new();
    for meetings in counts {
        for target in &args.targets {
            // The phone scenario loads Sluss twice: without phones, then with a phone in
            // every meeting.
            let phone_runs: &[bool] = match (args.scenario, target) {
                (Scenario::Phone, Target::Sluss) => &[false, true],
                _ => &[false],
            };
            for &phones in phone_runs {
                let row = match target {
                    Target::Sluss => run_sluss(&args, meetings, size, load, seconds, phones).await,
                    Target::Janus => run_janus(meetings, size, load, seconds).await,
                    Target::Null => run_null(meetings, size, load, seconds).await,
                };
                match row {
                    Ok(mut row) => {
                        row.scenario = format!("{:?}", args.scenario).to_lowercase();
                        print_row(&row);
                        rows.push(row);
                    }
                    Err(e) => {
                        eprintln!("{target:?}: {e}");
                        return false;
                    }
                }
            }
        }
    }
    print_table(&rows);
    let json = serde_json::json!({ "machine": procstat::machine(), "runs": rows });
    if let Err(e) = std::fs::write(
        &args.json,
        serde_json::to_string_pretty(&json).unwrap_or_default(),
    ) {
        eprintln!("{}: {e}", args.json.display());
    } else {
        println!("results written to {}", args.json.display());
    }
    // A run where nobody connected or nothing arrived is a failure, not a number; so is a
    // phone run without all its calls up.
    rows.iter().all(|r| {
        r.connected == r.participants && r.forwarded_pps > 0.0 && r.phone_legs == r.phone_legs_asked
    })
}

/// What a target under load looks like from outside, sampled at the start and end.
struct Server {
    pid: u32,
    rss_before: u64,
}

struct Measured {
    tally: Tally,
    connected: usize,
    /// Phone legs asked for, and up when the measurement began.
    phone_legs_asked: usize,
    phone_legs: usize,
    cpu: Duration,
    elapsed: Duration,
    rss_after: u64,
    server_forwarded: Option<u64>,
    /// Camera packets Sluss left out for a lower frame rate (its estimate of a viewer's link
    /// was short).
    server_thinned: Option<u64>,
}

fn control(load: Load) -> (Control, watch::Sender<bool>) {
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
        },
        stop_tx,
    )
}

/// Waits for everyone, measures for `seconds` with progress, stops everyone.
async fn measure(
    server: &Server,
    control: &Control,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<Tally>>,
    seconds: u64,
    // Sluss also counts what it forwarded, as a cross-check.
    sluss: Option<&sluss::Sluss>,
    // Phone legs to bring up first (the chairs move a voice each).
    legs: usize,
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
    let cpu0 = procstat::cpu_time(server.pid).unwrap_or_default();
    let counters0 = counters().await;
    let start = Instant::now();
    control.measuring.store(true, Ordering::Relaxed);
    for s in 1..=seconds {
        let before = control.received_now.load(Ordering::Relaxed);
        tokio::time::sleep(Duration::from_secs(1)).await;
        let after = control.received_now.load(Ordering::Relaxed);
        println!("  {s:>3} s  {:>9} packets/s received", after - before);
    }
    control.measuring.store(false, Ordering::Relaxed);
    let elapsed = start.elapsed();
    let cpu1 = procstat::cpu_time(server.pid).unwrap_or_default();
    let counters1 = counters().await;
    let rss_after = procstat::rss_bytes(server.pid).unwrap_or(0);
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
        cpu: cpu1.saturating_sub(cpu0),
        elapsed,
        rss_after,
        server_forwarded: counters0
            .zip(counters1)
            .map(|(a, b)| b.0.saturating_sub(a.0)),
        server_thinned: counters0
            .zip(counters1)
            .map(|(a, b)| b.1.saturating_sub(a.1)),
    }
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

fn row(target: Target, meetings: usize, size: usize, server: &Server, m: Measured) -> Row {
    let secs = m.elapsed.as_secs_f64();
    let participants = meetings * size;
    let forwarded = m.tally.received as f64;
    // A voice moved to a phone is still sent by its browser, and still reaches the others
    // (through the phone); only its browser hears nothing (R14), by design.
    let muted_by_phone = (m.phone_legs * (size - 1)) as f64 * 50.0 * secs;
    let expected = (m.tally.sent as f64 * (size - 1) as f64 - muted_by_phone).max(0.0);
    let cpu = m.cpu.as_secs_f64();
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
        server_rss_mb: m.rss_after as f64 / 1e6,
        rss_per_participant_kb: m.rss_after.saturating_sub(server.rss_before) as f64
            / 1e3
            / participants as f64,
        video_layers_percent: {
            let total = m.tally.video_layers.iter().sum::<u64>().max(1) as f64;
            m.tally.video_layers.map(|n| n as f64 * 100.0 / total)
        },
        errors: m.tally.errors,
    }
}

async fn run_sluss(
    args: &RunArgs,
    meetings: usize,
    size: usize,
    load: Load,
    seconds: u64,
    phones: bool,
) -> Result<Row, String> {
    let with = if phones { ", a phone in each" } else { "" };
    println!("sluss: {meetings} meetings x {size}{with}");
    let dir = std::env::temp_dir().join(format!("sluss-loadtest-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    // The trunk (and the phones behind it) for the phone scenario, on both of its runs, so
    // that the runs differ only in the calls.
    let sipp = if args.scenario == Scenario::Phone {
        Some(phone::Sipp::start(&dir, 25060, 26000, args.phone_codec)?)
    } else {
        None
    };
    let sip_config = sipp
        .as_ref()
        .map_or(String::new(), |s| s.sluss_config(25061));
    let sluss = sluss::Sluss::start(
        &args.sluss_bin,
        &dir,
        18500,
        29500,
        args.workers,
        !args.no_batch,
        &sip_config,
    )
    .await?;
    let server = Server {
        pid: sluss.pid(),
        rss_before: procstat::rss_bytes(sluss.pid()).unwrap_or(0),
    };
    let (control, stop) = control(load);
    let tls = participant::loopback_tls();
    let host = sluss.origin.trim_start_matches("https://").to_owned();
    let mut tasks = Vec::new();
    for _ in 0..meetings {
        let links = sluss.meeting(size).await?;
        for token in links.tokens {
            let idx = tasks.len() as u32;
            tasks.push(tokio::spawn(participant::webrtc(
                host.clone(),
                sluss.cookie.clone(),
                token,
                idx,
                tls.clone(),
                control.clone(),
            )));
            // Joins arrive as people do, not all in the same millisecond.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let legs = if phones { meetings } else { 0 };
    let measured = measure(&server, &control, stop, tasks, seconds, Some(&sluss), legs).await;
    let row = row(Target::Sluss, meetings, size, &server, measured);
    drop(sluss); // stops the server
    drop(sipp);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(row)
}

async fn run_janus(meetings: usize, size: usize, load: Load, seconds: u64) -> Result<Row, String> {
    println!("janus: {meetings} meetings x {size}");
    let dir = std::env::temp_dir().join(format!("sluss-loadtest-janus-{}", std::process::id()));
    let janus = janus::Janus::start(&dir, 18188).await?;
    let server = Server {
        pid: janus.pid(),
        rss_before: procstat::rss_bytes(janus.pid()).unwrap_or(0),
    };
    let rooms: Vec<u64> = (1..=meetings as u64).map(|r| 1000 + r).collect();
    janus::create_rooms(&janus.url, &rooms, size).await?;
    let (control, stop) = control(load);
    let mut tasks = Vec::new();
    for room in &rooms {
        for _ in 0..size {
            let idx = tasks.len() as u32;
            tasks.push(tokio::spawn(janus::participant(
                janus.url.clone(),
                *room,
                size,
                idx,
                control.clone(),
            )));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let measured = measure(&server, &control, stop, tasks, seconds, None, 0).await;
    let row = row(Target::Janus, meetings, size, &server, measured);
    drop(janus); // stops Janus
    if std::env::var_os("LOADTEST_DEBUG").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(row)
}

async fn run_null(meetings: usize, size: usize, load: Load, seconds: u64) -> Result<Row, String> {
    println!("null relay: {meetings} meetings x {size}");
    let listen: SocketAddr = "127.0.0.1:29600".parse().expect("address");
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(me)
        .args(["null-relay", "--listen", &listen.to_string()])
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let server = Server {
        pid: child.id(),
        rss_before: procstat::rss_bytes(child.id()).unwrap_or(0),
    };
    let (control, stop) = control(load);
    let mut tasks = Vec::new();
    for meeting in 0..meetings {
        for _ in 0..size {
            let idx = tasks.len() as u32;
            tasks.push(tokio::spawn(participant::plain(
                listen,
                meeting as u32,
                idx,
                control.clone(),
            )));
        }
    }
    let measured = measure(&server, &control, stop, tasks, seconds, None, 0).await;
    let row = row(Target::Null, meetings, size, &server, measured);
    let _ = child.kill();
    let _ = child.wait();
    Ok(row)
}

fn print_row(r: &Row) {
    println!(
        "  => {:?}: {}/{} connected, {:.0} pkt/s forwarded, {:.2} CPU s per million, p50 {:.0} µs, p99 {:.0} µs, loss {:.2}%, {:.0} kB per participant",
        r.target, r.connected, r.participants, r.forwarded_pps, r.cpu_seconds_per_million,
        r.latency_p50_us, r.latency_p99_us, r.loss_percent, r.rss_per_participant_kb
    );
    for e in r.errors.iter().take(3) {
        println!("     error: {e}");
    }
}

fn print_table(rows: &[Row]) {
    println!();
    println!(
        "{:<9} {:>6} {:>6} {:>11} {:>11} {:>10} {:>12} {:>9} {:>9} {:>7} {:>7} {:>9} {:>11}",
        "target",
        "people",
        "meet",
        "fwd pkt/s",
        "server fwd",
        "CPU s/Mpkt",
        "pkt/CPU-s",
        "p50 µs",
        "p99 µs",
        "loss %",
        "thin %",
        "kB/person",
        "q/h/f %"
    );
    for r in rows {
        println!(
            "{:<9} {:>6} {:>6} {:>11.0} {:>11} {:>10.2} {:>12.0} {:>9.0} {:>9.0} {:>7.2} {:>7} {:>9.0} {:>11}",
            label(r),
            r.participants,
            r.meetings,
            r.forwarded_pps,
            r.server_forwarded_pps
                .map_or("-".into(), |f| format!("{f:.0}")),
            r.cpu_seconds_per_million,
            r.packets_per_cpu_second,
            r.latency_p50_us,
            r.latency_p99_us,
            r.loss_percent,
            r.thinned_percent.map_or("-".into(), |t| format!("{t:.2}")),
            r.rss_per_participant_kb,
            r.video_layers_percent
                .map(|p| format!("{p:.0}"))
                .join("/")
        );
    }
    print_phone_cost(rows);
    // Side by side: the same load on each target.
    for s in rows
        .iter()
        .filter(|r| r.target == Target::Sluss && r.phone_legs_asked == 0)
    {
        if let Some(j) = rows
            .iter()
            .find(|r| r.target == Target::Janus && r.participants == s.participants)
        {
            println!(
                "{} people: Sluss uses {:.2}x Janus's CPU per forwarded packet (p99 {:.0} µs vs {:.0} µs)",
                s.participants,
                s.cpu_seconds_per_million / j.cpu_seconds_per_million,
                s.latency_p99_us,
                j.latency_p99_us
            );
        }
        if let Some(n) = rows
            .iter()
            .find(|r| r.target == Target::Null && r.participants == s.participants)
        {
            println!(
                "{} people: Sluss uses {:.1}x the null relay's CPU per forwarded packet; reaches {:.0}% of its packets per CPU-second",
                s.participants,
                s.cpu_seconds_per_million / n.cpu_seconds_per_million,
                100.0 * s.packets_per_cpu_second / n.packets_per_cpu_second
            );
        }
    }
}

fn label(r: &Row) -> String {
    let target = format!("{:?}", r.target).to_lowercase();
    if r.phone_legs_asked > 0 {
        format!("{target}+tel")
    } else {
        target
    }
}

/// The phone scenario: what the legs added to Sluss's CPU, per leg, from the run without
/// phones and the run with them.
fn print_phone_cost(rows: &[Row]) {
    let cores = |r: &Row| r.server_cpu_seconds / r.seconds;
    for with in rows.iter().filter(|r| r.phone_legs > 0) {
        let Some(without) = rows.iter().find(|r| {
            r.target == with.target
                && r.phone_legs_asked == 0
                && r.participants == with.participants
        }) else {
            continue;
        };
        let per_leg = (cores(with) - cores(without)) / with.phone_legs as f64;
        println!(
            "{} phone legs in {} meetings of {}: Sluss used {:.1}% of a core without them and {:.1}% with them: {:.2}% of one core per phone leg",
            with.phone_legs,
            with.meetings,
            with.size,
            100.0 * cores(without),
            100.0 * cores(with),
            100.0 * per_leg
        );
    }
}
