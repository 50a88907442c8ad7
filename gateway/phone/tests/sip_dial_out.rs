//! Dial-out against real SIP peers on loopback: baresip as the phone (auto-answer, SRTP
//! mandatory, PCMA, its own TLS listener), and kamailio as a trunk that challenges with digest
//! authentication and relays to baresip.
//!
//! The peers come from Debian (`PACKAGES`); as root the test installs them when missing, as
//! anyone else it is skipped with the reason printed. Every wait is bounded and every child
//! is killed when the test ends, pass or fail.

use std::io::Read as _;
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sluss_phone::sdp::{Codec, LocalMedia, MasterKey};
use sluss_phone::sip::leg::{Action, DialOut, FailReason, LegState};
use sluss_phone::sip::rsip::{RsipConfig, RsipStack};
use sluss_phone::sip::{
    CallControl, Credentials, DialRequest, DialTarget, EndReason, LegEvents, Peer, SipStack,
};

/// What CI installs (Debian 12): the phone, the trunk with its TLS module, sipp and sox for
/// the later media tests.
const PACKAGES: &[&str] = &[
    "sip-tester",
    "baresip-core",
    "kamailio",
    "kamailio-tls-modules",
    "sox",
];
const STEP: Duration = Duration::from_secs(10);
const TRUNK_USER: &str = "sluss-trunk";
const TRUNK_PASSWORD: &str = "correct horse battery";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dial_out_over_tls_to_baresip_is_answered_with_srtp_and_hung_up() {
    if let Err(reason) = peers_available(&["baresip"]) {
        eprintln!("SKIPPED: {reason}");
        return;
    }
    let started = Instant::now();
    let mut world = World::new();
    let phone = world.start_baresip();
    let stack = world.start_stack().await;

    let mut leg = leg();
    let offer = leg.dial().expect("offer");
    let target = DialTarget::account("alice", Peer::new("127.0.0.1", phone.tls_port));
    let (call, mut events) = stack
        .dial(DialRequest::new(target, offer))
        .await
        .expect("INVITE sent");
    drive_until(&mut leg, &mut events, &call, |s| *s == LegState::Answered).await;
    let agreed = leg.negotiated().expect("media agreed");
    assert_eq!(agreed.codec.codec, Codec::Pcma);
    assert!(
        agreed.crypto.is_some(),
        "baresip's answer has an a=crypto line we accept"
    );
    phone.wait_for_event(&world, "CALL_ESTABLISHED");

    assert_eq!(leg.hang_up(), Some(Action::HangUp));
    call.hang_up().await.expect("BYE sent");
    drive_until(&mut leg, &mut events, &call, LegState::is_over).await;
    assert_eq!(leg.state(), &LegState::Ended(EndReason::LocalHangUp));
    phone.wait_for_event(&world, "CALL_CLOSED");
    // TESTING.md's trap: ACK and BYE on the connection the INVITE came in on.
    let requests = baresip_requests(&world.log("baresip"));
    let methods: Vec<&str> = requests.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(methods, ["INVITE", "ACK", "BYE"], "{requests:?}");
    assert!(
        requests.iter().all(|(_, from)| *from == requests[0].1),
        "{requests:?}"
    );
    eprintln!("dial-out to baresip took {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dial_out_through_kamailio_passes_its_digest_challenge_and_a_wrong_password_is_refused() {
    if let Err(reason) = peers_available(&["baresip", "kamailio"]) {
        eprintln!("SKIPPED: {reason}");
        return;
    }
    let started = Instant::now();
    let mut world = World::new();
    let phone = world.start_baresip();
    let trunk_port = world.start_kamailio(phone.tls_port);
    let stack = world.start_stack().await;
    let trunk = Peer::new("127.0.0.1", trunk_port);

    // The wrong password first: the trunk challenges again and the call fails, typed.
    let mut leg_refused = leg();
    let mut request = DialRequest::new(
        DialTarget::account("alice", trunk.clone()),
        leg_refused.dial().expect("offer"),
    );
    request.credentials = Some(Credentials::new(TRUNK_USER, "wrong password"));
    let (call, mut events) = stack.dial(request).await.expect("INVITE sent");
    drive_until(&mut leg_refused, &mut events, &call, LegState::is_over).await;
    assert_eq!(
        leg_refused.state(),
        &LegState::Failed(FailReason::AuthFailed)
    );
    let message = match leg_refused.state() {
        LegState::Failed(reason) => reason.to_string(),
        other => panic!("not failed: {other:?}"),
    };
    assert_eq!(message, "the trunk refused our credentials");

    // The right one: answered through the trunk, with SRTP, then hung up.
    let mut leg = leg();
    let mut request = DialRequest::new(
        DialTarget::account("alice", trunk),
        leg.dial().expect("offer"),
    );
    request.credentials = Some(Credentials::new(TRUNK_USER, TRUNK_PASSWORD));
    let (call, mut events) = stack.dial(request).await.expect("INVITE sent");
    drive_until(&mut leg, &mut events, &call, |s| *s == LegState::Answered).await;
    assert!(leg.negotiated().is_some_and(|n| n.crypto.is_some()));
    phone.wait_for_event(&world, "CALL_ESTABLISHED");
    leg.hang_up();
    call.hang_up().await.expect("BYE sent");
    drive_until(&mut leg, &mut events, &call, LegState::is_over).await;
    assert_eq!(leg.state(), &LegState::Ended(EndReason::LocalHangUp));
    phone.wait_for_event(&world, "CALL_CLOSED");
    // Both calls' requests, challenged and answered, came over our one TLS connection, and
    // the BYE followed the trunk's Record-Route over it.
    let requests = kamailio_requests(&world.log("kamailio"));
    let methods: Vec<&str> = requests.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(
        methods,
        ["INVITE", "INVITE", "INVITE", "INVITE", "ACK", "BYE"],
        "{requests:?}"
    );
    assert!(
        requests.iter().all(|(_, from)| *from == requests[0].1),
        "{requests:?}"
    );
    eprintln!("dial-out through kamailio took {:?}", started.elapsed());
}

/// A dial-out leg offering PCMA with SRTP from a loopback media port nobody reads yet.
fn leg() -> DialOut {
    let mut local = LocalMedia::new("127.0.0.1".parse().unwrap(), free_udp_port());
    local.codecs = vec![Codec::Pcma];
    let mut key = [0u8; 30];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = (i as u8).wrapping_mul(37).wrapping_add(11);
    }
    DialOut::new(local, MasterKey::new(key))
}

/// Feeds the call's events to the leg, carrying out its actions, until `done` holds.
async fn drive_until<C: CallControl>(
    leg: &mut DialOut,
    events: &mut LegEvents,
    call: &C,
    done: impl Fn(&LegState) -> bool,
) {
    while !done(leg.state()) {
        let event = tokio::time::timeout(STEP, events.recv())
            .await
            .unwrap_or_else(|_| panic!("no leg event within {STEP:?} in {:?}", leg.state()))
            .unwrap_or_else(|| panic!("events closed in {:?}", leg.state()));
        for action in leg.on_event(event) {
            match action {
                Action::HangUp | Action::Cancel => call.hang_up().await.expect("hang up"),
                Action::AnswerReOffer(sdp) => call.answer_reoffer(Ok(sdp)).await.expect("200"),
                Action::RefuseReOffer(code) => call.answer_reoffer(Err(code)).await.expect("4xx"),
                Action::StartMedia(_) | Action::UpdateMedia(_) => {}
            }
        }
        assert!(
            done(leg.state()) || !leg.state().is_over(),
            "the call ended in {:?}",
            leg.state()
        );
    }
}

/// The peers of one test, in a temporary folder; dropping it kills them.
struct World {
    dir: tempfile::TempDir,
    children: Vec<(String, Child)>,
    tls: Tls,
}

struct Tls {
    ca_pem: String,
    cert_pem: String,
    key_pem: String,
}

struct Phone {
    tls_port: u16,
    ctrl: Arc<Mutex<String>>,
}

impl World {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temporary folder"),
            children: Vec::new(),
            tls: Tls::generate(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn spawn(&mut self, name: &str, command: &mut Command) {
        let log = std::fs::File::create(self.path(&format!("{name}.log"))).expect("log file");
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("{name} did not start: {e}"));
        self.children.push((name.to_owned(), child));
    }

    /// baresip with one account, auto-answer, SRTP mandatory, PCMA; SIP over TLS on the port
    /// after its UDP/TCP one; events on ctrl_tcp.
    fn start_baresip(&mut self) -> Phone {
        let sip_port = free_port_pair();
        let ctrl_port = free_tcp_port();
        let folder = self.path("baresip");
        std::fs::create_dir_all(&folder).expect("baresip folder");
        let certkey = folder.join("certkey.pem");
        std::fs::write(
            &certkey,
            format!("{}{}", self.tls.cert_pem, self.tls.key_pem),
        )
        .expect("cert");
        std::fs::write(folder.join("ca.pem"), &self.tls.ca_pem).expect("ca");
        let rtp = free_udp_port();
        let config = format!(
            "poll_method epoll\n\
             sip_listen 127.0.0.1:{sip_port}\n\
             sip_certificate {certkey}\n\
             sip_cafile {ca}\n\
             call_local_timeout 30\n\
             audio_player aubridge,nil\n\
             audio_alert aubridge,nil\n\
             audio_source ausine,440\n\
             ausrc_srate 48000\n\
             ausrc_channels 2\n\
             rtp_ports {rtp}-{rtp_end}\n\
             module_path /usr/lib/baresip/modules\n\
             module g711.so\n\
             module aubridge.so\n\
             module ausine.so\n\
             module srtp.so\n\
             module_tmp account.so\n\
             module_app menu.so\n\
             module_app ctrl_tcp.so\n\
             ctrl_tcp_listen 127.0.0.1:{ctrl_port}\n",
            certkey = certkey.display(),
            ca = folder.join("ca.pem").display(),
            rtp_end = rtp.saturating_add(20),
        );
        std::fs::write(folder.join("config"), config).expect("config");
        std::fs::write(
            folder.join("accounts"),
            "<sip:alice@127.0.0.1;transport=tls>;regint=0;answermode=auto;\
             mediaenc=srtp-mand;audio_codecs=PCMA\n",
        )
        .expect("accounts");
        self.spawn(
            "baresip",
            Command::new("baresip")
                .arg("-f")
                .arg(&folder)
                .args(["-n", "127.0.0.1", "-s", "-v"]),
        );
        let ctrl = Arc::new(Mutex::new(String::new()));
        let stream = connect_within(SocketAddr::from(([127, 0, 0, 1], ctrl_port)), STEP)
            .unwrap_or_else(|| self.fail("baresip's ctrl_tcp did not open"));
        let sink = ctrl.clone();
        std::thread::spawn(move || read_into(stream, &sink));
        Phone {
            tls_port: sip_port + 1,
            ctrl,
        }
    }

    /// kamailio as the trunk: TLS only, every INVITE challenged (digest, plaintext password
    /// in its config), then relayed to baresip over TLS. Returns its TLS port.
    fn start_kamailio(&mut self, phone_tls_port: u16) -> u16 {
        let port = free_tcp_port();
        let folder = self.path("kamailio");
        std::fs::create_dir_all(&folder).expect("kamailio folder");
        std::fs::write(folder.join("cert.pem"), &self.tls.cert_pem).expect("cert");
        std::fs::write(folder.join("key.pem"), &self.tls.key_pem).expect("key");
        std::fs::write(folder.join("ca.pem"), &self.tls.ca_pem).expect("ca");
        let tls_cfg = format!(
            "[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\n\
             require_certificate = no\nprivate_key = {d}/key.pem\ncertificate = {d}/cert.pem\n\n\
             [client:default]\nmethod = TLSv1.2+\nverify_certificate = yes\n\
             require_certificate = yes\nca_list = {d}/ca.pem\n",
            d = folder.display()
        );
        std::fs::write(folder.join("tls.cfg"), tls_cfg).expect("tls.cfg");
        let cfg = kamailio_cfg(&folder, port, phone_tls_port);
        let cfg_path = folder.join("kamailio.cfg");
        std::fs::write(&cfg_path, cfg).expect("kamailio.cfg");
        let check = Command::new("kamailio")
            .arg("-c")
            .arg("-f")
            .arg(&cfg_path)
            .output()
            .expect("kamailio -c");
        assert!(
            check.status.success(),
            "kamailio refused its config: {}",
            String::from_utf8_lossy(&check.stderr)
        );
        self.spawn(
            "kamailio",
            Command::new("kamailio")
                .args(["-DD", "-E", "-n", "1", "-Y"])
                .arg(&folder)
                .arg("-f")
                .arg(&cfg_path)
                .args(["-P"])
                .arg(folder.join("kamailio.pid")),
        );
        if connect_within(SocketAddr::from(([127, 0, 0, 1], port)), STEP).is_none() {
            self.fail("kamailio's TLS port did not open");
        }
        port
    }

    async fn start_stack(&self) -> RsipStack {
        let mut config = RsipConfig::new(
            SocketAddr::from(([127, 0, 0, 1], free_tcp_port())),
            self.tls.cert_pem.clone().into_bytes(),
            self.tls.key_pem.clone().into_bytes(),
        );
        config.trusted_ca_pem = self.tls.ca_pem.clone().into_bytes();
        RsipStack::start(config)
            .await
            .expect("our SIP stack starts")
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(&format!("{name}.log"))).unwrap_or_default()
    }

    fn fail(&self, what: &str) -> ! {
        panic!("{what}");
    }

    fn print_logs(&self) {
        for (name, _) in &self.children {
            let log =
                std::fs::read_to_string(self.path(&format!("{name}.log"))).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(120).collect();
            eprintln!("----- {name} (last lines) -----");
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if std::thread::panicking() || std::env::var_os("SLUSS_SIP_TEST_LOGS").is_some() {
            self.print_logs();
        }
        for (_, child) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Phone {
    /// Waits (bounded) until baresip reported this call event on ctrl_tcp.
    fn wait_for_event(&self, world: &World, event: &str) {
        let needle = format!("\"type\":\"{event}\"");
        let deadline = Instant::now() + STEP;
        while Instant::now() < deadline {
            if self.ctrl.lock().expect("ctrl").contains(&needle) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        world.fail(&format!("baresip did not report {event}"));
    }
}

impl Tls {
    /// A private CA and one leaf for 127.0.0.1, shared by every peer of the test.
    fn generate() -> Self {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "sluss test CA");
        let ca_cert = ca.self_signed(&ca_key).expect("CA");
        let key = KeyPair::generate().expect("leaf key");
        let mut leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()]).expect("leaf");
        leaf.distinguished_name
            .push(DnType::CommonName, "127.0.0.1");
        let cert = leaf.signed_by(&key, &ca_cert, &ca_key).expect("leaf");
        Self {
            ca_pem: ca_cert.pem(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

/// The requests baresip received, with the address they came from, from its SIP trace
/// (`TLS <from> -> <to>` and then the request line).
fn baresip_requests(log: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = log.lines().collect();
    lines
        .windows(2)
        .filter_map(|pair| {
            let from = pair[0].strip_prefix("TLS ")?.split(" -> ").next()?;
            let method = pair[1].split(' ').next()?;
            let request = pair[1].ends_with(" SIP/2.0") && !method.starts_with("SIP/");
            request.then(|| (method.to_owned(), from.to_owned()))
        })
        .collect()
}

/// The requests kamailio routed, with the address they came from (our `xlog` line).
fn kamailio_requests(log: &str) -> Vec<(String, String)> {
    log.lines()
        .filter_map(|line| {
            let rest = line.split("sluss-test: ").nth(1)?;
            let mut words = rest.split(' ');
            let method = words.next()?;
            let from = words.nth(1)?;
            Some((method.to_owned(), from.to_owned()))
        })
        .collect()
}

fn kamailio_cfg(folder: &Path, port: u16, phone_tls_port: u16) -> String {
    format!(
        r#"#!KAMAILIO
debug=2
log_stderror=yes
children=1
tcp_children=1
disable_tcp=no
enable_tls=yes
auto_aliases=no
listen=tls:127.0.0.1:{port}
alias="127.0.0.1:{port}"
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "tls.so"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "auth.so"
modparam("tls", "config", "{folder}/tls.cfg")
modparam("rr", "enable_double_rr", 1)

request_route {{
    xlog("L_NOTICE", "sluss-test: $rm from $si:$sp over $pr\n");
    if (!mf_process_maxfwd_header("10")) {{ sl_send_reply("483", "Too Many Hops"); exit; }}
    if (has_totag()) {{
        if (loose_route()) {{ t_relay(); exit; }}
        if (is_method("ACK")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
        sl_send_reply("404", "Not here");
        exit;
    }}
    if (is_method("CANCEL")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
    if (is_method("ACK")) {{ exit; }}
    if (!is_method("INVITE")) {{ sl_send_reply("405", "Method Not Allowed"); exit; }}
    if (!pv_auth_check("sluss-test", "{password}", "0", "0")) {{
        proxy_challenge("sluss-test", "0");
        exit;
    }}
    if ($au != "{user}") {{ sl_send_reply("403", "Forbidden"); exit; }}
    consume_credentials();
    record_route();
    $ru = "sip:alice@127.0.0.1:{phone_tls_port};transport=tls";
    t_relay();
    exit;
}}
"#,
        folder = folder.display(),
        password = TRUNK_PASSWORD,
        user = TRUNK_USER,
    )
}

/// Whether the peers are on this machine; as root, installs them when they are not.
fn peers_available(tools: &[&str]) -> Result<(), String> {
    let missing = |tools: &[&str]| -> Vec<String> {
        tools
            .iter()
            .filter(|tool| !on_path(tool))
            .map(|tool| (*tool).to_owned())
            .collect()
    };
    let absent = missing(tools);
    if absent.is_empty() {
        return Ok(());
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !root {
        return Err(format!(
            "{} not installed and not root (apt-get install -y --no-install-recommends {})",
            absent.join(", "),
            PACKAGES.join(" ")
        ));
    }
    let install = || {
        Command::new("timeout")
            .arg("900")
            .args(["apt-get", "install", "-y", "--no-install-recommends"])
            .args(PACKAGES)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success())
    };
    if !install() {
        let _ = Command::new("timeout")
            .args(["300", "apt-get", "update"])
            .status();
        assert!(install(), "apt-get install of {PACKAGES:?} failed");
    }
    let absent = missing(tools);
    assert!(absent.is_empty(), "still missing after install: {absent:?}");
    Ok(())
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths)
            .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
            .any(|dir| dir.join(tool).is_file())
    })
}

fn connect_within(addr: SocketAddr, limit: Duration) -> Option<TcpStream> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            return Some(stream);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

fn read_into(mut stream: TcpStream, sink: &Mutex<String>) {
    let mut buffer = [0u8; 4096];
    while let Ok(n) = stream.read(&mut buffer) {
        if n == 0 {
            break;
        }
        if let Ok(mut text) = sink.lock() {
            text.push_str(&String::from_utf8_lossy(&buffer[..n]));
        }
    }
}

fn free_tcp_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("address").port()
}

fn free_udp_port() -> u16 {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("a free port");
    socket.local_addr().expect("address").port()
}

/// A port free for UDP and TCP whose successor is free for TCP (baresip's TLS port).
fn free_port_pair() -> u16 {
    for _ in 0..100 {
        let port = free_tcp_port();
        let Some(next) = port.checked_add(1) else {
            continue;
        };
        let free = TcpListener::bind(("127.0.0.1", next)).is_ok()
            && UdpSocket::bind(("127.0.0.1", port)).is_ok()
            && TcpListener::bind(("127.0.0.1", port)).is_ok();
        if free {
            return port;
        }
    }
    panic!("no free pair of ports");
}
