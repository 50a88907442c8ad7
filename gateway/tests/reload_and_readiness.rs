//! The binary under systemd's eyes: it says READY=1 once it listens (Type=notify), answers
//! /readyz on the operations listener and nothing there on the public port, serves a renewed
//! certificate after SIGHUP without a restart (and keeps the old one when the new files are
//! broken), and says STOPPING=1 on SIGTERM.

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A certificate for 127.0.0.1 valid until 1 January of `year`.
fn write_pair(dir: &Path, year: i32) {
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    params.not_after = rcgen::date_time_ymd(year, 1, 1);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    std::fs::write(dir.join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
}

/// The served certificate's "expire date" line as curl prints it.
fn served_expiry(origin: &str) -> String {
    let out = Command::new("curl")
        .args(["-skv", "-o", "/dev/null", origin])
        .output()
        .expect("curl runs");
    let said = String::from_utf8_lossy(&out.stderr).to_string();
    said.lines()
        .find(|l| l.contains("expire date"))
        .unwrap_or_else(|| panic!("no certificate in: {said}"))
        .to_owned()
}

fn curl(url: &str) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-sk", "-o", "-", "-w", "\n%{http_code}", url])
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_owned())
}

/// The next notification systemd would get, within `secs`.
fn notified(socket: &UnixDatagram, secs: u64) -> String {
    socket
        .set_read_timeout(Some(Duration::from_secs(secs)))
        .unwrap();
    let mut buf = [0u8; 256];
    let n = socket.recv(&mut buf).expect("a notification");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

fn metric(ops: &str, name: &str) -> f64 {
    let (_, text) = curl(&format!("{ops}/metrics"));
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or(f64::NAN)
}

#[test]
fn ready_reloaded_and_stopping_as_systemd_sees_it() {
    let dir = tempfile::tempdir().unwrap();
    let base = 20000 + (std::process::id() % 20000) as u16;
    let tls = dir.path().join("tls");
    std::fs::create_dir_all(&tls).unwrap();
    write_pair(&tls, 2030);
    let config = dir.path().join("sluss.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:{base}\"\nhttp_redirect_listen = \"\"\n\
             data_dir = \"{data}\"\ntls_cert = \"{tls}/cert.pem\"\ntls_key = \"{tls}/key.pem\"\n\
             [media]\nport = {media}\nworkers = 1\nannounce_ip = \"127.0.0.1\"\n\
             [ops]\nlisten = \"127.0.0.1:{ops}\"\n",
            data = dir.path().join("data").display(),
            tls = tls.display(),
            media = base + 1,
            ops = base + 2,
        ),
    )
    .unwrap();
    let notify = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&notify).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluss"))
        .args(["serve", "--config"])
        .arg(&config)
        .env("NOTIFY_SOCKET", &notify)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let origin = format!("https://127.0.0.1:{base}/");
    let ops = format!("http://127.0.0.1:{}", base + 2);

    assert_eq!(notified(&socket, 30), "READY=1");
    // Ready means listening: no waiting after the notification.
    assert_eq!(curl(&format!("{ops}/readyz")), (200, "ready\n".to_owned()));
    assert_eq!(
        curl(&format!("{origin}metrics")).0,
        404,
        "not on the public port"
    );
    assert!(served_expiry(&origin).contains("2030"));
    let expiry_2030 = 1_893_456_000.0;
    assert_eq!(
        metric(&ops, "sluss_tls_certificate_expiry_timestamp_seconds "),
        expiry_2030
    );
    assert_eq!(metric(&ops, "sluss_audit_chain_valid "), 1.0);

    // The renewed pair, then `systemctl reload sluss`.
    write_pair(&tls, 2031);
    let pid = child.id().to_string();
    Command::new("kill").args(["-HUP", &pid]).status().unwrap();
    assert_eq!(notified(&socket, 10), "RELOADING=1");
    assert_eq!(notified(&socket, 10), "READY=1");
    assert!(
        served_expiry(&origin).contains("2031"),
        "the new certificate"
    );
    assert_eq!(
        metric(&ops, "sluss_tls_certificate_expiry_timestamp_seconds "),
        1_924_992_000.0
    );

    // A broken pair: the service stays up with the certificate it has.
    std::fs::write(tls.join("cert.pem"), "not a certificate").unwrap();
    Command::new("kill").args(["-HUP", &pid]).status().unwrap();
    assert_eq!(notified(&socket, 10), "RELOADING=1");
    assert_eq!(notified(&socket, 10), "READY=1");
    assert!(
        served_expiry(&origin).contains("2031"),
        "still the good one"
    );
    assert!(child.try_wait().unwrap().is_none(), "still running");

    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert_eq!(notified(&socket, 10), "STOPPING=1");
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "stops on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success());
}
