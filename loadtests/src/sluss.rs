//! A real Sluss server for the load: either started from its binary on loopback with a fresh
//! data directory, its first administrator enrolled through the API the way the setup page does
//! it (password and a TOTP code), or one that runs elsewhere, reached at its public address with
//! a booking API token and the load test's staff account (`remote.rs`). Meetings are created
//! with invitations for staff, so that the synthetic participants (all logged in) enter without
//! waiting for a chair's admission.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::remote;

pub struct Sluss {
    /// The server process, when the tool started it.
    child: Option<Child>,
    pub origin: String,
    /// The operations listener (`/metrics`, `/readyz`), plain HTTP: the next port of a local
    /// server, and what `--ops-url` says for one elsewhere (without it, no server counters).
    ops: Option<String>,
    pub http: reqwest::Client,
    /// The staff session cookie (`sluss_session=...`).
    pub cookie: String,
    /// The booking system's API token: meetings are made and cancelled with it when given.
    token: Option<String>,
    /// Meetings made, cancelled at the end on a server the tool did not start.
    made: std::sync::Mutex<Vec<String>>,
}

/// One meeting: its chair link token and the others'.
pub struct MeetingLinks {
    pub tokens: Vec<String>,
}

fn token_of(link: &str) -> String {
    link.rsplit_once('#').map_or("", |(_, t)| t).to_owned()
}

impl Sluss {
    pub async fn start(
        bin: &Path,
        dir: &Path,
        port: u16,
        media_port: u16,
        workers: usize,
        batched_io: bool,
        // More of the configuration (the `phone` scenario's `[sip]`).
        extra_config: &str,
    ) -> Result<Sluss, String> {
        let data_dir = dir.join("data");
        let config = dir.join("sluss.toml");
        std::fs::write(
            &config,
            format!(
                "[server]\nlisten = \"127.0.0.1:{port}\"\nhttp_redirect_listen = \"\"\n\
                 public_url = \"https://127.0.0.1:{port}\"\ndata_dir = \"{}\"\n\
                 [media]\nport = {media_port}\nworkers = {workers}\nannounce_ip = \"127.0.0.1\"\nbatched_io = {batched_io}\n\
                 [meetings]\nmax_participants = 500\n[log]\nlevel = \"warn\"\n\
                 [ops]\nlisten = \"127.0.0.1:{ops_port}\"\n{extra_config}",
                data_dir.display(),
                ops_port = port + 1
            ),
        )
        .map_err(|e| e.to_string())?;
        let mut child = Command::new(bin)
            .args(["serve", "--config"])
            .arg(&config)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("{}: {e}", bin.display()))?;
        // The last lines it logged, to say why when it does not start.
        let stderr = child.stderr.take().expect("piped stderr");
        let last_words = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let words = last_words.clone();
        // `SLUSS_LOADTEST_LOG=file` keeps everything it logs (raise the level with
        // `SLUSS_LOG__LEVEL`), to see what the relay decided during a run.
        let mut keep = std::env::var_os("SLUSS_LOADTEST_LOG")
            .and_then(|path| std::fs::File::create(path).ok());
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(file) = keep.as_mut() {
                    use std::io::Write;
                    let _ = writeln!(file, "{line}");
                }
                if let Ok(mut w) = words.lock() {
                    if w.len() >= 5 {
                        w.remove(0);
                    }
                    w.push(line);
                }
            }
        });
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let setup = loop {
            if Instant::now() > deadline || matches!(child.try_wait(), Ok(Some(_))) {
                let _ = child.kill();
                let said = last_words.lock().map(|w| w.join(" | ")).unwrap_or_default();
                return Err(format!("sluss printed no setup link: {said}"));
            }
            if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
                if line.contains("/setup#") {
                    break token_of(line.trim());
                }
            }
        };
        let http = reqwest::Client::builder()
            .danger_accept_invalid_certs(true)
            .build()
            .map_err(|e| e.to_string())?;
        let origin = format!("https://127.0.0.1:{port}");
        let mut sluss = Sluss {
            child: Some(child),
            origin,
            ops: Some(format!("http://127.0.0.1:{}", port + 1)),
            http,
            cookie: String::new(),
            token: None,
            made: std::sync::Mutex::new(Vec::new()),
        };
        for _ in 0..100 {
            if sluss
                .ops("/readyz")
                .await
                .is_ok_and(|r| r.starts_with("ready"))
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let password = "ett långt lösenord för lasttest";
        let (cookie, _) =
            remote::enrol(&sluss.http, &sluss.origin, &setup, "loadtest", password).await?;
        sluss.cookie = cookie;
        Ok(sluss)
    }

    /// A Sluss that runs elsewhere: logs the staff account in and checks the token.
    pub async fn connect(
        origin: &str,
        ops: Option<String>,
        token: String,
        staff: &remote::StaffCredentials,
        trust: &remote::Trust,
    ) -> Result<Sluss, String> {
        let origin = origin.trim_end_matches('/').to_owned();
        if !origin.starts_with("https://") {
            return Err(format!("--url {origin}: Sluss is reached over https://"));
        }
        let http = trust.http()?;
        // The token first: a wrong one is refused without spending a login code.
        let status = http
            .get(format!("{origin}/api/v1/meetings"))
            .bearer_auth(&token)
            .send()
            .await
            .map_err(|e| format!("{origin}: {e}"))?
            .status();
        if !status.is_success() {
            return Err(format!(
                "the API token was refused ({status}): it needs the scope meetings:write"
            ));
        }
        let cookie = remote::login(&http, &origin, staff).await?;
        let sluss = Sluss {
            child: None,
            origin,
            ops: ops.map(|o| o.trim_end_matches('/').to_owned()),
            http,
            cookie,
            token: Some(token),
            made: std::sync::Mutex::new(Vec::new()),
        };
        Ok(sluss)
    }

    /// The server's process id, when the tool started it.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// A GET on the operations listener.
    async fn ops(&self, path: &str) -> Result<String, String> {
        let ops = self.ops.as_deref().ok_or("no operations listener given")?;
        let r = self
            .http
            .get(format!("{ops}{path}"))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        r.text().await.map_err(|e| e.to_string())
    }

    /// A request made as the booking system (the token) or as the staff account.
    fn authorised(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request.header("cookie", &self.cookie),
        }
    }

    /// A meeting for `size` people: the chair and `size - 1` staff invitations.
    pub async fn meeting(&self, size: usize) -> Result<MeetingLinks, String> {
        let invitations: Vec<_> = (1..size).map(|_| json!({ "role": "staff" })).collect();
        let r = self
            .authorised(self.http.post(format!("{}/api/v1/meetings", self.origin)))
            .json(&json!({ "title": "Lasttest", "sensitive": true, "invitations": invitations }))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !r.status().is_success() {
            let status = r.status();
            return Err(format!(
                "meeting refused ({status}): {}",
                r.text().await.unwrap_or_default()
            ));
        }
        let created: serde_json::Value = r.json().await.map_err(|e| e.to_string())?;
        if let (Some(id), Ok(mut made)) = (created["meeting_id"].as_str(), self.made.lock()) {
            made.push(id.to_owned());
        }
        let mut tokens = vec![token_of(
            created["chair_link"].as_str().ok_or("no chair link")?,
        )];
        for link in created["guest_links"].as_array().ok_or("no guest links")? {
            tokens.push(token_of(link.as_str().unwrap_or("")));
        }
        Ok(MeetingLinks { tokens })
    }

    /// The relay's counts of forwarded RTP packets and of camera packets left out for a
    /// lower frame rate, from `/metrics` (summed over the media workers).
    pub async fn counters(&self) -> Option<(u64, u64)> {
        let text = self.ops("/metrics").await.ok()?;
        Some((
            metric_sum(&text, "sluss_relay_rtp_forwarded_packets_total", None)?,
            metric_sum(
                &text,
                "sluss_relay_withheld_packets_total",
                Some("video_thinned"),
            )?,
        ))
    }

    /// Phone legs up now (`sluss_phone_calls_active`).
    pub async fn phone_calls_active(&self) -> Option<u64> {
        let text = self.ops("/metrics").await.ok()?;
        metric_sum(&text, "sluss_phone_calls_active", None)
    }

    /// The server process's CPU time and resident memory from its `process_*` metrics.
    pub async fn process(&self) -> Option<(Duration, u64)> {
        let text = self.ops("/metrics").await.ok()?;
        let cpu = metric_value(&text, "process_cpu_seconds_total", None)?;
        let rss = metric_value(&text, "process_resident_memory_bytes", None)?;
        Some((Duration::from_secs_f64(cpu.max(0.0)), rss as u64))
    }

    /// Cancels the meetings made on a server the tool did not start, as the booking system
    /// would; everyone still in them is sent out.
    pub async fn cancel_meetings(&self) {
        if self.child.is_some() {
            return;
        }
        let made = self.made.lock().map(|m| m.clone()).unwrap_or_default();
        for id in made {
            let url = format!("{}/api/v1/meetings/{id}", self.origin);
            if let Err(e) = self.authorised(self.http.delete(url)).send().await {
                eprintln!("cancelling meeting {id}: {e}");
            }
        }
    }

    fn terminate(&mut self) {
        let Some(child) = self.child.as_mut() else {
            return;
        };
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
    }
}

/// A run that fails half-way still leaves no server behind.
impl Drop for Sluss {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// The sum of a family's samples (over every worker), only those with `reason="..."` when
/// given; None when the family is not there.
fn metric_sum(text: &str, family: &str, reason: Option<&str>) -> Option<u64> {
    metric_value(text, family, reason).map(|v| v as u64)
}

fn metric_value(text: &str, family: &str, reason: Option<&str>) -> Option<f64> {
    let mut found = false;
    let mut sum = 0.0;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((name, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let (base, labels) = name.split_once('{').unwrap_or((name, ""));
        if base != family || reason.is_some_and(|r| !labels.contains(&format!("reason=\"{r}\""))) {
            continue;
        }
        if let Ok(v) = value.parse::<f64>() {
            found = true;
            sum += v;
        }
    }
    found.then_some(sum)
}

#[cfg(test)]
mod tests {
    #[test]
    fn families_are_summed_over_workers() {
        let text = "# HELP x\nsluss_relay_withheld_packets_total{reason=\"video_thinned\",worker=\"0\"} 5\n\
                    sluss_relay_withheld_packets_total{reason=\"video_paused\",worker=\"0\"} 7\n\
                    sluss_relay_withheld_packets_total{reason=\"video_thinned\",worker=\"1\"} 6\n\
                    sluss_phone_calls_active 2\n";
        let sum = |f, r| super::metric_sum(text, f, r);
        assert_eq!(
            sum("sluss_relay_withheld_packets_total", Some("video_thinned")),
            Some(11)
        );
        assert_eq!(sum("sluss_relay_withheld_packets_total", None), Some(18));
        assert_eq!(sum("sluss_phone_calls_active", None), Some(2));
        assert_eq!(sum("sluss_phone_calls", None), None);
    }
}
