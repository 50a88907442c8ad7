//! The binary as an operator runs it: first start prints a one-time setup link, SIGTERM stops
//! it cleanly, and meetings, links and the certificate survive a restart, and a backup made
//! while it runs and restored into a fresh data directory (a damaged one is refused).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Sluss {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

fn start(config: &Path) -> Sluss {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluss"))
        .args(["serve", "--config"])
        .arg(config)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("sluss starts");
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let s = Sluss { child, lines };
    s.wait_for("Sluss is running");
    s
}

impl Sluss {
    fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                if line.contains(needle) {
                    return line;
                }
            }
        }
        panic!("sluss never printed {needle:?}");
    }

    fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "sluss did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Whether the server printed a setup link since it said it was running.
fn sluss_printed_setup_again(s: &Sluss) -> bool {
    let deadline = Instant::now() + Duration::from_millis(500);
    while Instant::now() < deadline {
        if let Ok(line) = s.lines.recv_timeout(Duration::from_millis(100)) {
            if line.contains("/setup#") {
                return true;
            }
        }
    }
    false
}

fn curl(args: &[&str]) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-sk", "-o", "-", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_owned())
}

#[test]
fn meetings_links_and_certificate_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let base = 20000 + (std::process::id() % 20000) as u16;
    let config = dir.path().join("sluss.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:{base}\"\nhttp_redirect_listen = \"\"\ndata_dir = \"{}\"\n\
             [media]\nport = {}\nworkers = 1\nannounce_ip = \"127.0.0.1\"\n[ops]\nlisten = \"127.0.0.1:{}\"\n",
            dir.path().join("data").display(),
            base + 1,
            base + 2
        ),
    )
    .unwrap();
    let origin = format!("https://127.0.0.1:{base}");

    let sluss = start(&config);
    let setup = sluss.wait_for("/setup#");
    let token = setup.rsplit_once('#').unwrap().1.trim().to_owned();
    let jar = dir.path().join("cookies");
    let jar = jar.to_str().unwrap();
    // Enrol the first administrator: the QR code's key, a password, a code (R2).
    let (code, body) = curl(&[
        "-H",
        "content-type: application/json",
        "-d",
        &format!("{{\"token\":\"{token}\"}}"),
        &format!("{origin}/api/v1/enroll/begin"),
    ]);
    assert_eq!(code, 200, "{body}");
    let begin: serde_json::Value = serde_json::from_str(&body).unwrap();
    let key = base32::decode(
        base32::Alphabet::Rfc4648 { padding: false },
        begin["secret"].as_str().unwrap(),
    )
    .unwrap();
    let totp = totp_rs::Builder::new()
        .with_secret(key)
        .with_account_name("admin")
        .build()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let complete = serde_json::json!({
        "token": token,
        "username": "admin",
        "display_name": "Admin",
        "password": "ett långt lösenord",
        "code": totp.generate(now).to_string(),
    });
    let (code, _) = curl(&[
        "-c",
        jar,
        "-H",
        "content-type: application/json",
        "-d",
        &complete.to_string(),
        &format!("{origin}/api/v1/enroll/complete"),
    ]);
    assert_eq!(code, 204, "enrolling opens a session");
    let (code, body) = curl(&[
        "-b",
        jar,
        "-H",
        "content-type: application/json",
        "-d",
        r#"{"title":"Uppföljning","guests":1}"#,
        &format!("{origin}/api/v1/meetings"),
    ]);
    assert_eq!(code, 201, "{body}");
    let created: serde_json::Value = serde_json::from_str(&body).unwrap();
    let guest = created["guest_links"][0]
        .as_str()
        .unwrap()
        .rsplit_once('#')
        .unwrap()
        .1
        .to_owned();
    let cert_before = std::fs::read(dir.path().join("data/tls/cert.pem")).unwrap();

    assert!(sluss.terminate().success(), "a clean exit on SIGTERM");

    let sluss = start(&config);
    let inspect = |token: &str| {
        curl(&[
            "-H",
            "content-type: application/json",
            "-d",
            &format!("{{\"token\":\"{token}\"}}"),
            &format!("{origin}/api/v1/links/inspect"),
        ])
    };
    let (code, body) = inspect(&guest);
    assert_eq!(code, 200, "the guest link still works: {body}");
    assert!(body.contains("\"guest\""));
    let (code, _) = curl(&["-b", jar, &format!("{origin}/api/v1/meetings")]);
    assert_eq!(code, 200, "the organiser session survives too");
    let (code, _) = curl(&[
        "-H",
        "content-type: application/json",
        "-d",
        &format!("{{\"token\":\"{token}\"}}"),
        &format!("{origin}/api/v1/enroll/begin"),
    ]);
    assert_eq!(code, 401, "the setup link was one-time");
    assert!(
        !sluss_printed_setup_again(&sluss),
        "no new setup link once an administrator exists"
    );
    assert_eq!(
        std::fs::read(dir.path().join("data/tls/cert.pem")).unwrap(),
        cert_before,
        "the certificate is kept"
    );

    // A backup while it runs, restored into a fresh data directory, has it all.
    let backup = dir.path().join("backup");
    let (ok, said) = run(&["backup", "create", "--to"], &backup, &config);
    assert!(ok, "{said}");
    let manifest = std::fs::read_to_string(backup.join("MANIFEST")).unwrap();
    for file in ["sluss.db", "tls/cert.pem", "tls/key.pem"] {
        assert!(
            manifest.contains(&format!("  {file}\n")),
            "{file} in {manifest}"
        );
    }
    assert!(sluss.terminate().success());
    let restored = dir.path().join("restored");
    let restored_config = dir.path().join("restored.toml");
    std::fs::write(
        &restored_config,
        std::fs::read_to_string(&config).unwrap().replace(
            &dir.path().join("data").display().to_string(),
            &restored.display().to_string(),
        ),
    )
    .unwrap();
    // A damaged backup is refused, and nothing is written.
    let damaged = dir.path().join("damaged");
    copy_tree(&backup, &damaged);
    let mut cert = std::fs::read(damaged.join("tls/cert.pem")).unwrap();
    cert[40] ^= 1;
    std::fs::write(damaged.join("tls/cert.pem"), cert).unwrap();
    let (ok, said) = run(&["backup", "restore", "--from"], &damaged, &restored_config);
    assert!(!ok && said.contains("does not match"), "{said}");
    assert!(!restored.join("sluss.db").exists());
    let (ok, said) = run(&["backup", "restore", "--from"], &backup, &restored_config);
    assert!(ok && said.contains("audit chain is intact"), "{said}");
    let (ok, said) = run(&["backup", "restore", "--from"], &backup, &restored_config);
    assert!(
        !ok && said.contains("already has a database"),
        "never over a database: {said}"
    );
    let (ok, said) = run(&["audit", "verify"], Path::new(""), &restored_config);
    assert!(ok, "{said}");

    let sluss = start(&restored_config);
    let (code, body) = inspect(&guest);
    assert_eq!(
        code, 200,
        "the guest link works from the restored data: {body}"
    );
    let (code, _) = curl(&["-b", jar, &format!("{origin}/api/v1/meetings")]);
    assert_eq!(code, 200, "and the organiser's session");
    assert_eq!(
        std::fs::read(restored.join("tls/cert.pem")).unwrap(),
        cert_before,
        "and the certificate"
    );
    assert!(sluss.terminate().success());
}

/// `sluss <args> [path] --config <config>`: whether it succeeded, and what it said.
fn run(args: &[&str], path: &Path, config: &Path) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sluss"));
    command.args(args);
    if !path.as_os_str().is_empty() {
        command.arg(path);
    }
    let out = command.arg("--config").arg(config).output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}
