//! The real SIP peers of the phone tests, on loopback: baresip as the phone and kamailio as
//! the trunk, with their configuration, TLS material, logs and cleanup.
//!
//! The peers come from Debian ([`PACKAGES`]); as root they are installed when missing, as
//! anyone else the tests are skipped with the reason printed. Every wait is bounded and every
//! child is killed when its [`World`] is dropped, pass or fail.

#![allow(dead_code)]

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sluss_phone::call::CallReport;
use sluss_phone::leg_media::LegMediaStats;
use sluss_phone::sip::config::SipConfig;
use sluss_phone::sip::leg::LegState;
use sluss_phone::sip::rsip::RsipStack;

/// What CI installs (Debian 12): the phone, the trunk with its TLS module, sipp and sox for
/// the later media tests.
pub const PACKAGES: &[&str] = &[
    "sip-tester",
    "baresip-core",
    "kamailio",
    "kamailio-tls-modules",
    "sox",
    "sipvicious",
];
pub const STEP: Duration = Duration::from_secs(10);
pub const TRUNK_USER: &str = "sluss-trunk";
pub const TRUNK_PASSWORD: &str = "correct horse battery";
/// The number baresip answers as (by itself), for calls to a number rather than an account.
pub const PHONE_NUMBER: &str = "+46701234567";
/// A number baresip answers without SRTP (for a trunk marked unencrypted).
pub const PLAIN_NUMBER: &str = "+46700000000";
/// baresip answers this number with G.722 only (wideband), SRTP required.
pub const WIDEBAND_NUMBER: &str = "+46702222222";

/// The peers of one test, in a temporary folder; dropping it kills them.
pub struct World {
    dir: tempfile::TempDir,
    children: Vec<(String, Child)>,
    tls: Tls,
}

pub struct Tls {
    ca_pem: String,
    cert_pem: String,
    key_pem: String,
}

pub struct Phone {
    pub tls_port: u16,
    ctrl: Arc<Mutex<String>>,
    commands: Mutex<TcpStream>,
}

impl World {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temporary folder"),
            children: Vec::new(),
            tls: Tls::generate(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Starts a peer in a process group of its own: kamailio forks workers, and killing its
    /// main process alone leaves them running.
    pub fn spawn(&mut self, name: &str, command: &mut Command) {
        use std::os::unix::process::CommandExt as _;
        let log = std::fs::File::create(self.path(&format!("{name}.log"))).expect("log file");
        let child = command
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("{name} did not start: {e}"));
        self.children.push((name.to_owned(), child));
    }

    /// baresip with one account, auto-answer, SRTP mandatory, PCMA; SIP over TLS on the port
    /// after its UDP/TCP one; events on ctrl_tcp.
    pub fn start_baresip(&mut self) -> Phone {
        // The ports are picked free and then bound by baresip: another process can take one
        // in between (seen once as a broken control connection). A start whose control
        // connection does not answer a command is tried again on new ports.
        for _ in 0..3 {
            if let Some(phone) = self.try_start_baresip() {
                return phone;
            }
        }
        self.fail("baresip did not start in three tries")
    }

    fn try_start_baresip(&mut self) -> Option<Phone> {
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
             module g722.so\n\
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
             mediaenc=srtp-mand;audio_codecs=PCMA\n\
             <sip:bob@127.0.0.1;transport=tls>;regint=0;answermode=manual;\
             mediaenc=srtp-mand;audio_codecs=PCMA\n\
             <sip:+46701234567@127.0.0.1;transport=tls>;regint=0;answermode=auto;\
             mediaenc=srtp-mand;audio_codecs=PCMA\n\
             <sip:+46700000000@127.0.0.1;transport=tls>;regint=0;answermode=auto;\
             audio_codecs=PCMA\n\
             <sip:+46702222222@127.0.0.1;transport=tls>;regint=0;answermode=auto;\
             mediaenc=srtp-mand;audio_codecs=G722\n",
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
        let Some(stream) = connect_within(SocketAddr::from(([127, 0, 0, 1], ctrl_port)), STEP)
        else {
            self.stop_last();
            return None;
        };
        let commands = Mutex::new(stream.try_clone().expect("ctrl_tcp stream"));
        let sink = ctrl.clone();
        std::thread::spawn(move || read_into(stream, &sink));
        let phone = Phone {
            tls_port: sip_port + 1,
            ctrl,
            commands,
        };
        if phone.answers_a_command() {
            Some(phone)
        } else {
            self.stop_last();
            None
        }
    }

    /// Ends the process started last (a start that failed), with its group.
    fn stop_last(&mut self) {
        if let Some((name, mut child)) = self.children.pop() {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.kill();
            let _ = child.wait();
            eprintln!("{name} did not start cleanly; trying again on new ports");
        }
    }

    /// kamailio as the trunk: TLS only, every INVITE challenged (digest, plaintext password
    /// in its config), then relayed to baresip over TLS. Returns its TLS port.
    pub fn start_kamailio(&mut self, phone_tls_port: u16) -> u16 {
        self.start_kamailio_with(phone_tls_port, None)
    }

    /// The same, and when `sluss_tls_port` is given, calls to the user `dialin` are routed to
    /// Sluss there (the region's dial-in number), without a challenge: the trunk knows its
    /// own phones.
    pub fn start_kamailio_with(&mut self, phone_tls_port: u16, sluss_tls_port: Option<u16>) -> u16 {
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
        let cfg = kamailio_cfg(&folder, port, phone_tls_port, sluss_tls_port);
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

    pub async fn start_stack(&self) -> RsipStack {
        self.start_stack_on().await.0
    }

    /// Our stack, and its TLS port.
    pub async fn start_stack_on(&self) -> (RsipStack, u16) {
        let (stack, port, _) = self.start_stack_with(false).await;
        (stack, port)
    }

    /// Our stack with its TLS port, and with a plain UDP listener too when asked (as for a
    /// trunk marked unencrypted), on a port of its own.
    pub async fn start_stack_with(&self, udp: bool) -> (RsipStack, u16, Option<u16>) {
        let port = free_tcp_port();
        let mut config = SipConfig::new(
            SocketAddr::from(([127, 0, 0, 1], port)),
            self.tls.cert_pem.clone().into_bytes(),
            self.tls.key_pem.clone().into_bytes(),
        );
        config.trusted_ca_pem = self.tls.ca_pem.clone().into_bytes();
        let udp = udp.then(free_udp_port);
        config.udp_listen = udp.map(|p| SocketAddr::from(([127, 0, 0, 1], p)));
        let stack = RsipStack::start(config)
            .await
            .expect("our SIP stack starts");
        (stack, port, udp)
    }

    /// Our stack for a trunk marked unencrypted that speaks plain SIP over UDP, taking
    /// requests from `allowed` (empty: anywhere): its UDP listener's port is returned with it.
    pub async fn start_stack_for_udp_trunk(
        &self,
        allowed: Vec<sluss_phone::sip::config::SourceNet>,
    ) -> (RsipStack, u16) {
        // A port found free may be taken by a test running beside this one before our stack
        // binds it: take other ports then (a few times at most).
        let mut last = None;
        for _ in 0..5 {
            let udp = free_udp_port();
            let mut config = SipConfig::new(
                SocketAddr::from(([127, 0, 0, 1], free_tcp_port())),
                self.tls.cert_pem.clone().into_bytes(),
                self.tls.key_pem.clone().into_bytes(),
            );
            config.trusted_ca_pem = self.tls.ca_pem.clone().into_bytes();
            config.udp_listen = Some(SocketAddr::from(([127, 0, 0, 1], udp)));
            config.trunk_transport = sluss_phone::sip::config::TrunkTransport::Udp;
            config.allowed_sources = allowed.clone();
            match RsipStack::start(config).await {
                Ok(stack) => return (stack, udp),
                Err(e) => last = Some(e),
            }
        }
        panic!("our SIP stack starts: {last:?}");
    }

    /// sipp as a plain trunk with a phone behind it (UDP, plain RTP, PCMA): it answers one
    /// call and, if `echo`, sends back every RTP packet it gets. Returns its SIP port.
    pub fn start_sipp_phone(&mut self, echo: bool) -> u16 {
        let port = free_udp_port();
        let scenario = self.path("phone-uas.xml");
        let text = include_str!("../sipp/phone-uas.xml");
        std::fs::write(&scenario, text).expect("sipp scenario");
        let mut command = Command::new("sipp");
        command
            .arg("-sf")
            .arg(&scenario)
            .args(["-i", "127.0.0.1", "-t", "u1", "-nostdin", "-m", "1"])
            .args(["-p", &port.to_string(), "-mp", &free_udp_port().to_string()])
            .args(["-key", "pt", "8", "-key", "encoding", "PCMA/8000"]);
        if echo {
            command.arg("-rtp_echo");
        }
        self.spawn("sipp", &mut command);
        std::thread::sleep(Duration::from_millis(300));
        port
    }

    /// The PEM of the CA every peer's certificate is signed by.
    pub fn ca_pem(&self) -> &str {
        &self.tls.ca_pem
    }

    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(&format!("{name}.log"))).unwrap_or_default()
    }

    pub fn fail(&self, what: &str) -> ! {
        panic!("{what}");
    }

    pub fn print_logs(&self) {
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
            // The group's id is the leader's pid; `kill -KILL -- -<pgid>` ends every member.
            // Once the leader is reaped, again until none is left: a worker forked while the
            // first signal went out escaped it once (kamailio forks timers after its listener).
            let group = format!("-{}", child.id());
            let kill_group = || {
                Command::new("kill")
                    .args(["-KILL", "--", &group])
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            };
            kill_group();
            let _ = child.kill();
            let _ = child.wait();
            for _ in 0..40 {
                if !kill_group() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(25));
            }
        }
    }
}

impl Phone {
    /// Sends a command line (`dial <uri>`) to baresip over ctrl_tcp, as a JSON netstring.
    pub fn command(&self, line: &str) {
        let (command, params) = line.split_once(' ').unwrap_or((line, ""));
        let json = format!(r#"{{"command":"{command}","params":"{params}","token":"t"}}"#);
        let netstring = format!("{}:{json},", json.len());
        self.commands
            .lock()
            .expect("ctrl_tcp")
            .write_all(netstring.as_bytes())
            .expect("command sent");
    }

    /// Whether baresip answers a harmless command on its control connection (bounded wait).
    fn answers_a_command(&self) -> bool {
        let json = r#"{"command":"reginfo","params":"","token":"probe"}"#;
        let sent = self
            .commands
            .lock()
            .expect("ctrl_tcp")
            .write_all(format!("{}:{json},", json.len()).as_bytes());
        if sent.is_err() {
            return false;
        }
        let deadline = Instant::now() + STEP;
        while Instant::now() < deadline {
            if self
                .ctrl
                .lock()
                .expect("ctrl")
                .contains(r#""token":"probe""#)
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// How often baresip reported this call event so far.
    pub fn events(&self, event: &str) -> usize {
        let needle = format!("\"type\":\"{event}\"");
        self.ctrl.lock().expect("ctrl").matches(&needle).count()
    }

    /// Waits (bounded) until baresip reported this call event on ctrl_tcp.
    pub fn wait_for_event(&self, world: &World, event: &str) {
        self.wait_for_nth_event(world, event, 1);
    }

    /// Waits (bounded) until baresip reported this call event `n` times.
    pub fn wait_for_nth_event(&self, world: &World, event: &str, n: usize) {
        let needle = format!("\"type\":\"{event}\"");
        let deadline = Instant::now() + STEP;
        while Instant::now() < deadline {
            if self.ctrl.lock().expect("ctrl").matches(&needle).count() >= n {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        world.fail(&format!("baresip did not report {event} {n} times"));
    }
}

impl Tls {
    /// A private CA and one leaf for 127.0.0.1, shared by every peer of the test.
    pub fn generate() -> Self {
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
pub fn baresip_requests(log: &str) -> Vec<(String, String)> {
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

/// Every message in baresip's SIP trace, either way: its kind (the method, or `SIP/2.0 <code>`
/// for a response), where it came from and where it went.
pub fn baresip_trace(log: &str) -> Vec<(String, String, String)> {
    let lines: Vec<&str> = log.lines().collect();
    lines
        .windows(2)
        .filter_map(|pair| {
            let (from, to) = pair[0].strip_prefix("TLS ")?.split_once(" -> ")?;
            let kind = if pair[1].starts_with("SIP/2.0 ") {
                pair[1].get(..11)?
            } else {
                pair[1].split(' ').next()?
            };
            Some((kind.to_owned(), from.to_owned(), to.trim().to_owned()))
        })
        .collect()
}

/// The requests kamailio routed, with the address they came from (our `xlog` line).
pub fn kamailio_requests(log: &str) -> Vec<(String, String)> {
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

pub fn kamailio_cfg(
    folder: &Path,
    port: u16,
    phone_tls_port: u16,
    sluss_tls_port: Option<u16>,
) -> String {
    let dial_in = match sluss_tls_port {
        Some(sluss) => format!(
            "if (is_method(\"INVITE\") && $rU == \"dialin\") {{\n        \
             record_route();\n        \
             $ru = \"sip:dialin@127.0.0.1:{sluss};transport=tls\";\n        \
             t_relay();\n        exit;\n    }}"
        ),
        None => String::new(),
    };
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
    if (is_method("REGISTER")) {{
        if (!pv_auth_check("sluss-test", "{password}", "0", "0")) {{
            www_challenge("sluss-test", "0");
            exit;
        }}
        sl_send_reply("200", "OK");
        exit;
    }}
    {dial_in}
    if (!is_method("INVITE")) {{ sl_send_reply("405", "Method Not Allowed"); exit; }}
    if (!pv_auth_check("sluss-test", "{password}", "0", "0")) {{
        proxy_challenge("sluss-test", "0");
        exit;
    }}
    if ($au != "{user}") {{ sl_send_reply("403", "Forbidden"); exit; }}
    consume_credentials();
    record_route();
    # "plain" is a trunk that takes the encryption out of the phone's answer.
    if ($rU == "plain") {{ t_on_reply("STRIP_SRTP"); }}
    $ru = "sip:alice@127.0.0.1:{phone_tls_port};transport=tls";
    t_relay();
    exit;
}}

onreply_route[STRIP_SRTP] {{
    if (status =~ "^2[0-9][0-9]$" && has_body("application/sdp")) {{
        subst_body("/a=crypto:[^\r\n]*\r\n//g");
        subst_body("/RTP\/SAVP/RTP\/AVP/g");
    }}
}}
"#,
        folder = folder.display(),
        password = TRUNK_PASSWORD,
        user = TRUNK_USER,
    )
}

/// Whether the peers are on this machine; as root, installs them when they are not.
pub fn peers_available(tools: &[&str]) -> Result<(), String> {
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

pub fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths)
            .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
            .any(|dir| dir.join(tool).is_file())
    })
}

pub fn connect_within(addr: SocketAddr, limit: Duration) -> Option<TcpStream> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            return Some(stream);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

pub fn read_into(mut stream: TcpStream, sink: &Mutex<String>) {
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

pub fn free_tcp_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("address").port()
}

pub fn free_udp_port() -> u16 {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("a free port");
    socket.local_addr().expect("address").port()
}

/// A port free for UDP and TCP whose successor is free for TCP (baresip's TLS port).
pub fn free_port_pair() -> u16 {
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

/// Waits for a placed call's answer: whether it is encrypted. Panics if it ends unanswered.
pub async fn answered(reports: &mut tokio::sync::mpsc::Receiver<CallReport>) -> bool {
    while let Some(report) = reports.recv().await {
        match report {
            CallReport::Answered { encrypted } => return encrypted,
            CallReport::Ended { state, .. } => panic!("ended unanswered: {state:?}"),
            CallReport::Ringing => {}
        }
    }
    panic!("no answer reported");
}

/// Waits for a placed call's last report: how it ended, and what its media counted.
pub async fn ended(
    reports: &mut tokio::sync::mpsc::Receiver<CallReport>,
) -> (LegState, LegMediaStats) {
    while let Some(report) = reports.recv().await {
        if let CallReport::Ended { state, media } = report {
            return (state, *media.expect("media ran"));
        }
    }
    panic!("no end reported");
}
