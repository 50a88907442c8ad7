//! Janus 1.1's VideoRoom as the peer SFU under the same load. Janus runs from the Debian
//! package with a configuration of the tool's own (ICE on loopback only, the VideoRoom plugin
//! and the WebSocket transport only). Each synthetic participant talks the Janus API over a
//! WebSocket (`janus-protocol`): it publishes audio and video on one peer connection, and once
//! every other member of its room has published, subscribes to all of them on a second one,
//! as a browser running Janus's own client would. Media is the same str0m stack as for Sluss.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use str0m::change::{SdpAnswer, SdpOffer};
use str0m::net::{DatagramRecv, Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::net::UdpSocket;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::participant::{Control, Media, Schedule, Tally};

const LIB: &str = "/usr/lib/x86_64-linux-gnu/janus";

pub struct Janus {
    child: Child,
    pub url: String,
}

impl Janus {
    pub async fn start(dir: &Path, ws_port: u16) -> Result<Janus, String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let plugins = [
            "audiobridge",
            "duktape",
            "echotest",
            "lua",
            "nosip",
            "recordplay",
            "sip",
            "streaming",
            "textroom",
            "videocall",
            "voicemail",
        ]
        .map(|p| format!("libjanus_{p}.so"))
        .join(",");
        let transports = ["http", "mqtt", "nanomsg", "pfunix", "rabbitmq"]
            .map(|t| format!("libjanus_{t}.so"))
            .join(",");
        let config = format!(
            "general: {{\n configs_folder = \"{dir}\"\n plugins_folder = \"{LIB}/plugins\"\n \
             transports_folder = \"{LIB}/transports\"\n events_folder = \"{LIB}/events\"\n \
             loggers_folder = \"{LIB}/loggers\"\n debug_level = 2\n}}\n\
             media: {{\n rtp_port_range = \"22000-24999\"\n}}\n\
             nat: {{\n ignore_mdns = true\n}}\n\
             plugins: {{\n disable = \"{plugins}\"\n}}\n\
             transports: {{\n disable = \"{transports}\"\n}}\n",
            dir = dir.display()
        );
        let write = |name: &str, text: &str| {
            std::fs::write(dir.join(name), text).map_err(|e| format!("{name}: {e}"))
        };
        write("janus.jcfg", &config)?;
        write("janus.plugin.videoroom.jcfg", "general: {\n}\n")?;
        write(
            "janus.transport.websockets.jcfg",
            &format!("general: {{\n ws = true\n ws_port = {ws_port}\n ws_ip = \"127.0.0.1\"\n}}\n"),
        )?;
        let child = Command::new("janus")
            .arg("-F")
            .arg(dir)
            .arg("-o")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("janus (apt-get install janus): {e}"))?;
        let janus = Janus {
            child,
            url: format!("ws://127.0.0.1:{ws_port}"),
        };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", ws_port))
                .await
                .is_ok()
            {
                return Ok(janus);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err("janus did not open its WebSocket port".into())
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Janus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// One WebSocket to Janus and the session on it.
struct Api {
    ws: Ws,
    session: u64,
    next: u64,
}

impl Api {
    async fn connect(url: &str) -> Result<Api, String> {
        let mut request = url.into_client_request().map_err(|e| e.to_string())?;
        request.headers_mut().insert(
            "sec-websocket-protocol",
            "janus-protocol".parse().expect("header"),
        );
        let (ws, _) = tokio_tungstenite::connect_async(request)
            .await
            .map_err(|e| format!("janus websocket: {e}"))?;
        let mut api = Api {
            ws,
            session: 0,
            next: 1,
        };
        let created = api.call(json!({"janus": "create"})).await?;
        api.session = created["data"]["id"].as_u64().ok_or("no session id")?;
        Ok(api)
    }

    async fn send(&mut self, mut m: Value) -> Result<String, String> {
        let transaction = format!("t{}", self.next);
        self.next += 1;
        m["transaction"] = json!(transaction);
        if self.session != 0 {
            m["session_id"] = json!(self.session);
        }
        self.ws
            .send(Message::Text(m.to_string().into()))
            .await
            .map_err(|e| e.to_string())?;
        Ok(transaction)
    }

    /// Sends and waits for the answer to this transaction (skipping acks and others' events).
    async fn call(&mut self, m: Value) -> Result<Value, String> {
        let transaction = self.send(m).await?;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let next = tokio::time::timeout(left, self.ws.next())
                .await
                .map_err(|_| "janus did not answer")?;
            let Some(Ok(Message::Text(text))) = next else {
                return Err("janus closed the WebSocket".into());
            };
            let v: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
            if v["transaction"] == transaction.as_str() && v["janus"] != "ack" {
                if v["janus"] == "error" {
                    return Err(format!("janus: {}", v["error"]));
                }
                return Ok(v);
            }
        }
    }

    async fn attach(&mut self) -> Result<u64, String> {
        let v = self
            .call(json!({"janus": "attach", "plugin": "janus.plugin.videoroom"}))
            .await?;
        v["data"]["id"]
            .as_u64()
            .ok_or_else(|| "no handle id".into())
    }
}

/// Makes the rooms, one per meeting, before anyone joins.
pub async fn create_rooms(url: &str, rooms: &[u64], size: usize) -> Result<(), String> {
    let mut api = Api::connect(url).await?;
    let handle = api.attach().await?;
    for room in rooms {
        let v = api
            .call(json!({"janus": "message", "handle_id": handle, "body": {
                "request": "create", "room": room, "publishers": size + 1,
                "audiocodec": "opus", "videocodec": "vp8", "bitrate": 0, "fir_freq": 0,
                "notify_joining": false, "permanent": false }}))
            .await?;
        let data = &v["plugindata"]["data"];
        if data["videoroom"] != "created" {
            return Err(format!("room {room}: {data}"));
        }
    }
    Ok(())
}

/// The address Janus gathers its candidates on: libnice skips loopback while the machine has
/// another interface, so the participants use the machine's first IPv4 address (still local
/// traffic), or loopback where that is all there is.
fn local_ipv4() -> std::net::IpAddr {
    Command::new("hostname")
        .arg("-I")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| {
            s.split_whitespace()
                .filter_map(|a| a.parse::<std::net::Ipv4Addr>().ok())
                .find(|a| !a.is_loopback())
        })
        .map_or(std::net::IpAddr::from([127, 0, 0, 1]), std::net::IpAddr::V4)
}

fn new_rtc(socket: &UdpSocket) -> Result<Rtc, String> {
    let local = socket.local_addr().map_err(|e| e.to_string())?;
    let mut rtc = Rtc::builder()
        .set_rtp_mode(true)
        .clear_codecs()
        .enable_opus(true, false)
        .enable_vp8(true)
        .build(Instant::now());
    rtc.add_local_candidate(Candidate::host(local, "udp").map_err(|e| e.to_string())?);
    Ok(rtc)
}

/// One participant of a Janus room.
pub async fn participant(
    url: String,
    room: u64,
    size: usize,
    idx: u32,
    mut control: Control,
) -> Tally {
    let mut tally = Tally::new();
    if let Err(e) = run(&url, room, size, idx, &mut control, &mut tally).await {
        tally.errors.push(e);
    }
    tally
}

async fn run(
    url: &str,
    room: u64,
    size: usize,
    idx: u32,
    control: &mut Control,
    tally: &mut Tally,
) -> Result<(), String> {
    let mut api = Api::connect(url).await?;
    let publisher = api.attach().await?;
    let subscriber = api.attach().await?;

    let ip = local_ipv4();
    let pub_socket = UdpSocket::bind((ip, 0)).await.map_err(|e| e.to_string())?;
    let sub_socket = UdpSocket::bind((ip, 0)).await.map_err(|e| e.to_string())?;
    let (pub_local, sub_local) = (
        pub_socket.local_addr().map_err(|e| e.to_string())?,
        sub_socket.local_addr().map_err(|e| e.to_string())?,
    );
    let (mut media, offer, pending) = Media::new(new_rtc(&pub_socket)?, &control.load, true);
    let video = media.video;
    let mut pending = Some(pending);
    let mut sub_rtc = new_rtc(&sub_socket)?;
    api.send(json!({"janus": "message", "handle_id": publisher,
        "body": {"request": "joinandconfigure", "room": room, "ptype": "publisher",
                 "display": format!("p{idx}"), "audio": true, "video": video.is_some()},
        "jsep": {"type": "offer", "sdp": offer.to_sdp_string()}}))
        .await?;
    api.send(json!({"janus": "trickle", "handle_id": publisher, "candidate": {"completed": true}}))
        .await?;

    let mut feeds: Vec<u64> = Vec::new();
    let mut subscribed = false;
    let mut connected = [false, false];
    let mut schedule = Schedule::new(control.load, Instant::now(), idx);
    let mut ticker = tokio::time::interval(Duration::from_millis(10));
    let mut keepalive = tokio::time::interval(Duration::from_secs(20));
    let mut next = [Instant::now(); 2];
    let (mut pub_buf, mut sub_buf) = (vec![0u8; 2048], vec![0u8; 2048]);
    loop {
        tokio::select! {
            m = api.ws.next() => {
                let Some(Ok(Message::Text(text))) = m else {
                    return Err("janus closed the WebSocket".into());
                };
                let v: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
                if std::env::var_os("LOADTEST_DEBUG").is_some() {
                    eprintln!("[{idx}] {}", text.split_whitespace().collect::<String>().chars().take(400).collect::<String>());
                }
                if v["janus"] != "event" {
                    continue;
                }
                let data = &v["plugindata"]["data"];
                let sender = v["sender"].as_u64();
                if sender == Some(publisher) {
                    if let Some(sdp) = v["jsep"]["sdp"].as_str() {
                        let answer = SdpAnswer::from_sdp_string(sdp).map_err(|e| e.to_string())?;
                        if let Some(p) = pending.take() {
                            media.rtc.sdp_api().accept_answer(p, answer).map_err(|e| e.to_string())?;
                        }
                    }
                    if let Some(error) = data.get("error") {
                        return Err(format!("janus publisher: {error}"));
                    }
                    for p in data["publishers"].as_array().into_iter().flatten() {
                        if let Some(id) = p["id"].as_u64() {
                            if !feeds.contains(&id) {
                                feeds.push(id);
                            }
                        }
                    }
                    // Everyone else has published: subscribe to them all on one connection.
                    if !subscribed && feeds.len() + 1 >= size {
                        subscribed = true;
                        let streams: Vec<Value> = feeds.iter().map(|f| json!({"feed": f})).collect();
                        api.send(json!({"janus": "message", "handle_id": subscriber,
                            "body": {"request": "join", "room": room, "ptype": "subscriber", "streams": streams}}))
                            .await?;
                    }
                } else if sender == Some(subscriber) {
                    if let Some(sdp) = v["jsep"]["sdp"].as_str() {
                        let offer = SdpOffer::from_sdp_string(sdp).map_err(|e| e.to_string())?;
                        let answer = sub_rtc.sdp_api().accept_offer(offer).map_err(|e| e.to_string())?;
                        api.send(json!({"janus": "message", "handle_id": subscriber,
                            "body": {"request": "start"},
                            "jsep": {"type": "answer", "sdp": answer.to_sdp_string()}}))
                            .await?;
                        api.send(json!({"janus": "trickle", "handle_id": subscriber, "candidate": {"completed": true}}))
                            .await?;
                    }
                    if let Some(error) = data.get("error") {
                        return Err(format!("janus subscriber: {error}"));
                    }
                }
            }
            r = pub_socket.recv_from(&mut pub_buf) => {
                let (n, source) = r.map_err(|e| e.to_string())?;
                if let Ok(contents) = DatagramRecv::try_from(&pub_buf[..n]) {
                    let _ = media.rtc.handle_input(Input::Receive(Instant::now(), Receive {
                        proto: Protocol::Udp, source, destination: pub_local, contents }));
                }
            }
            r = sub_socket.recv_from(&mut sub_buf) => {
                let (n, source) = r.map_err(|e| e.to_string())?;
                if let Ok(contents) = DatagramRecv::try_from(&sub_buf[..n]) {
                    let _ = sub_rtc.handle_input(Input::Receive(Instant::now(), Receive {
                        proto: Protocol::Udp, source, destination: sub_local, contents }));
                }
            }
            _ = tokio::time::sleep_until(next[0].min(next[1]).into()) => {
                let now = Instant::now();
                let _ = media.rtc.handle_input(Input::Timeout(now));
                let _ = sub_rtc.handle_input(Input::Timeout(now));
            }
            _ = ticker.tick() => {
                if connected[0] {
                    media.send_due(&mut schedule, control, idx, tally);
                }
            }
            _ = keepalive.tick() => {
                api.send(json!({"janus": "keepalive"})).await?;
            }
            _ = control.stop.changed() => return Ok(()),
        }
        let mut keyframes = Vec::new();
        for (which, rtc, socket) in [
            (0, &mut media.rtc, &pub_socket),
            (1, &mut sub_rtc, &sub_socket),
        ] {
            loop {
                match rtc.poll_output() {
                    Ok(Output::Timeout(t)) => {
                        next[which] = t;
                        break;
                    }
                    Ok(Output::Transmit(t)) => {
                        let _ = socket.send_to(&t.contents, t.destination).await;
                    }
                    Ok(Output::Event(Event::Connected)) => {
                        connected[which] = true;
                        // Counted as connected once both directions are up.
                        if connected == [true, true] {
                            tally.connected = true;
                            control.connected.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Ok(Output::Event(Event::RtpPacket(p))) => {
                        if which == 1 && control.measuring.load(Ordering::Relaxed) {
                            tally.record(&p.payload, control.t0);
                            control.received_now.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Ok(Output::Event(Event::KeyframeRequest(req))) => keyframes.push(req.rid),
                    Ok(Output::Event(_)) => {}
                    Err(e) => return Err(format!("rtc: {e}")),
                }
            }
        }
        for rid in keyframes {
            media.camera.keyframe_requested(rid);
        }
    }
}
