//! The binary serves with the peer address, so its rate limits are per client: one address
//! over its budget gets 429 while another is still served. (Served without the address,
//! every client would share one budget.)

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn inspect(origin: &str, interface: &str) -> u16 {
    let out = Command::new("curl")
        .args([
            "-sk",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--interface",
            interface,
        ])
        .args([
            "-H",
            "content-type: application/json",
            "-d",
            r#"{"token":"gissning"}"#,
        ])
        .arg(format!("{origin}/api/v1/links/inspect"))
        .output()
        .expect("curl runs");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

#[test]
fn the_binary_limits_each_client_address_on_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let base = 10000 + (std::process::id() % 9000) as u16;
    let config = dir.path().join("sluss.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:{base}\"\nhttp_redirect_listen = \"\"\ndata_dir = \"{}\"\n\
             [media]\nport = {}\nworkers = 1\nannounce_ip = \"127.0.0.1\"\n[ops]\nlisten = \"127.0.0.1:{}\"\n\
             [limits]\nper_address_burst = 2\nper_address_per_minute = 1\n",
            dir.path().join("data").display(),
            base + 1,
            base + 2
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluss"))
        .args(["serve", "--config"])
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.path().join("server.log")).expect("a log file"))
        .spawn()
        .expect("sluss starts");
    // Read stdout to the end (a closed pipe would break the server's next print).
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(Instant::now() < deadline, "sluss never started");
        if let Ok(line) = lines.recv_timeout(Duration::from_millis(200)) {
            if line.contains("Sluss is running") {
                break;
            }
        }
    }
    let origin = format!("https://127.0.0.1:{base}");
    let codes: Vec<u16> = (0..3).map(|_| inspect(&origin, "127.0.0.2")).collect();
    let other = inspect(&origin, "127.0.0.3");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(codes, [404, 404, 429], "the burst, then limited");
    assert_eq!(other, 404, "another address has its own budget");
}
