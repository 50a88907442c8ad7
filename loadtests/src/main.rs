//! `sluss-loadtest`: synthetic participants that load a real Sluss server, and the same load on
//! a null relay, in one run on one machine. Prints progress, a readable table and the ratios,
//! and writes JSON.

mod janus;
mod measure;
mod null_relay;
mod participant;
mod phone;
mod procstat;
mod remote;
mod report;
mod sluss;
mod soak;
mod video;
mod voice;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use measure::{control, measure, row, Server};
use participant::Load;
use serde::Serialize;

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
    /// Makes the load test's staff account on a Sluss elsewhere, from the one-time link
    /// `sluss staff invite --username loadtest --role staff` printed, and saves its password
    /// and TOTP secret (mode 0600) for `--staff`.
    Enrol {
        /// The server's public address (https://...).
        #[arg(long)]
        url: String,
        /// The enrolment link.
        #[arg(long)]
        link: String,
        #[arg(long, default_value = "loadtest")]
        username: String,
        /// Where to save the credentials (a new file).
        #[arg(long)]
        save: PathBuf,
        #[command(flatten)]
        trust: TrustArgs,
    },
}

#[derive(clap::Args, Clone)]
struct TrustArgs {
    /// Accept the server's certificate unchecked (the embedded self-signed default).
    #[arg(long)]
    insecure: bool,
    /// A PEM file of the region's CA certificates, trusted besides the public roots.
    #[arg(long)]
    ca_file: Option<PathBuf>,
}

impl TrustArgs {
    fn trust(&self) -> remote::Trust {
        remote::Trust {
            insecure: self.insecure,
            ca_file: self.ca_file.clone(),
        }
    }
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
    /// Twelve care meetings of four for 30 minutes, a line every minute (delivered packets,
    /// CPU per forwarded packet, server memory); fails if any drifts by more than 10 %.
    Soak,
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
    /// Which servers to load, in this order (default: Sluss and the null relay; Sluss alone
    /// for the soak and with --url).
    #[arg(long, value_enum, value_delimiter = ',')]
    targets: Option<Vec<Target>>,
    /// Load a Sluss that runs elsewhere, at its public address (https://...), instead of
    /// starting one: an operator measuring their own installation.
    #[arg(long)]
    url: Option<String>,
    /// With --url: a file holding the booking system's API token (scope meetings, from
    /// `sluss api-token create`); the token itself may come in SLUSS_LOADTEST_TOKEN.
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// With --url: the load test's staff account, as `sluss-loadtest enrol` saved it.
    #[arg(long)]
    staff: Option<PathBuf>,
    /// With --url: the server's operations listener (http://host:9464), for its CPU, memory
    /// and counters; without it only what the participants see is measured.
    #[arg(long)]
    ops_url: Option<String>,
    #[command(flatten)]
    trust: TrustArgs,
    /// Seconds between the soak's lines.
    #[arg(long, default_value_t = 60)]
    interval: u64,
    /// How far (percent) an interval of the soak may stray from the first before it fails.
    #[arg(long, default_value_t = soak::MAX_DRIFT_PERCENT)]
    max_drift: f64,
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
    /// The soak's intervals, and what drifted in them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    soak: Vec<soak::Sample>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    drift: Vec<String>,
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
    if let Some(Cmd::Enrol {
        url,
        link,
        username,
        save,
        trust,
    }) = cli.command
    {
        let saved = runtime.block_on(remote::enrol_and_save(
            url.trim_end_matches('/'),
            &link,
            &username,
            &save,
            &trust.trust(),
        ));
        match saved {
            Ok(()) => println!(
                "{username} enrolled; its credentials are in {}",
                save.display()
            ),
            Err(e) => {
                eprintln!("enrol: {e}");
                std::process::exit(1);
            }
        }
        return;
    }
    if let Err(e) = check_args(&cli.run) {
        eprintln!("{e}");
        std::process::exit(2);
    }
    let ok = runtime.block_on(run_all(cli.run));
    std::process::exit(if ok { 0 } else { 1 });
}

/// Refuses combinations that cannot run, before anything starts.
fn check_args(args: &RunArgs) -> Result<(), String> {
    let targets = targets(args);
    if args.url.is_some() {
        if targets != [Target::Sluss] {
            return Err("--url loads that Sluss only: leave out --targets or say sluss".into());
        }
        if args.scenario == Scenario::Phone {
            return Err("the phone scenario needs a local Sluss (sipp is its trunk)".into());
        }
        if args.staff.is_none() {
            return Err("--url needs --staff (the file `sluss-loadtest enrol` saved)".into());
        }
    } else if args.token_file.is_some() || args.staff.is_some() || args.ops_url.is_some() {
        return Err("--token-file, --staff and --ops-url go with --url".into());
    }
    if !(5..=3600).contains(&args.interval) {
        return Err("--interval: 5 to 3600 seconds".into());
    }
    if !(1.0..=100.0).contains(&args.max_drift) {
        return Err("--max-drift: 1 to 100 percent".into());
    }
    Ok(())
}

fn targets(args: &RunArgs) -> Vec<Target> {
    match &args.targets {
        Some(t) => t.clone(),
        None if args.url.is_some() || args.scenario == Scenario::Soak => vec![Target::Sluss],
        None => vec![Target::Sluss, Target::Null],
    }
}

/// The booking API token for --url: from the file, or SLUSS_LOADTEST_TOKEN.
fn booking_token(args: &RunArgs) -> Result<String, String> {
    let token = match &args.token_file {
        Some(path) => {
            std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => std::env::var("SLUSS_LOADTEST_TOKEN")
            .map_err(|_| "--url needs --token-file or SLUSS_LOADTEST_TOKEN")?,
    };
    let token = token.trim().to_owned();
    if token.is_empty() || token.len() > 512 {
        return Err("the API token is empty or too long".into());
    }
    Ok(token)
}

async fn run_all(args: RunArgs) -> bool {
    let (default_meetings, default_size, default_secs) = match args.scenario {
        Scenario::Smoke => (2, 3, 3),
        Scenario::Care | Scenario::Sweep => (8, 5, 10),
        Scenario::Large => (1, 50, 10),
        Scenario::Audio | Scenario::Phone => (10, 5, 10),
        Scenario::Soak => (12, 4, 1800),
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
        for target in &targets(&args) {
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
                        report::print_row(&row);
                        if args.scenario == Scenario::Soak {
                            row.drift = soak::drift(&row.soak, args.max_drift);
                            soak::print_verdict(&row.drift, args.max_drift);
                        }
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
    report::print_table(&rows);
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
        r.connected == r.participants
            && r.forwarded_pps > 0.0
            && r.phone_legs == r.phone_legs_asked
            && r.drift.is_empty()
    })
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
    let place = args.url.as_deref().unwrap_or("a local server");
    println!("sluss: {meetings} meetings x {size}{with}, on {place}");
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
    let (sluss, tls) = match &args.url {
        Some(url) => {
            let trust = args.trust.trust();
            let staff = remote::StaffCredentials::load(args.staff.as_deref().ok_or("--staff")?)?;
            let sluss = sluss::Sluss::connect(
                url,
                args.ops_url.clone(),
                booking_token(args)?,
                &staff,
                &trust,
            )
            .await?;
            (sluss, trust.client_config()?)
        }
        None => {
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
            (sluss, participant::loopback_tls())
        }
    };
    let mut server = Server {
        pid: sluss.pid(),
        rss_before: 0,
    };
    server.rss_before = server.sample(Some(&sluss)).await.1.unwrap_or(0);
    let host = sluss.origin.trim_start_matches("https://").to_owned();
    let (control, stop) = control(load, remote::local_ip_toward(&host)?);
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
    let interval = (args.scenario == Scenario::Soak).then_some(args.interval);
    let measured = measure(
        &server,
        &control,
        stop,
        tasks,
        seconds,
        Some(&sluss),
        legs,
        interval,
    )
    .await;
    let row = row(Target::Sluss, meetings, size, &server, measured);
    sluss.cancel_meetings().await;
    drop(sluss); // stops a local server
    drop(sipp);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(row)
}

async fn run_janus(meetings: usize, size: usize, load: Load, seconds: u64) -> Result<Row, String> {
    println!("janus: {meetings} meetings x {size}");
    let dir = std::env::temp_dir().join(format!("sluss-loadtest-janus-{}", std::process::id()));
    let janus = janus::Janus::start(&dir, 18188).await?;
    let server = Server {
        pid: Some(janus.pid()),
        rss_before: procstat::rss_bytes(janus.pid()).unwrap_or(0),
    };
    let rooms: Vec<u64> = (1..=meetings as u64).map(|r| 1000 + r).collect();
    janus::create_rooms(&janus.url, &rooms, size).await?;
    let (control, stop) = control(load, std::net::Ipv4Addr::LOCALHOST.into());
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
    let measured = measure(&server, &control, stop, tasks, seconds, None, 0, None).await;
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
        pid: Some(child.id()),
        rss_before: procstat::rss_bytes(child.id()).unwrap_or(0),
    };
    let (control, stop) = control(load, std::net::Ipv4Addr::LOCALHOST.into());
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
    let measured = measure(&server, &control, stop, tasks, seconds, None, 0, None).await;
    let row = row(Target::Null, meetings, size, &server, measured);
    let _ = child.kill();
    let _ = child.wait();
    Ok(row)
}
