//! The far end of the `phone` scenario's calls: sipp (Debian's `sip-tester`) as the trunk and
//! every phone behind it. It answers each INVITE with plain RTP in the codec asked for and
//! echoes every RTP packet back to where it came from, so each phone leg carries a voice
//! both ways at 50 packets a second. Debian's sipp has no TLS, so Sluss's trunk is marked
//! unencrypted for the run (plain SIP over UDP, plain RTP): the gateway's work per leg
//! (jitter buffers, decoding every other voice, mixing, transcoding) is the same as with
//! SRTP, less the SRTP itself.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A UAS scenario: ring, answer with plain RTP in the codec given (`-key pt`, `-key
/// encoding`), wait for the hang-up. The phone tests of `sluss-phone` use it too.
const SCENARIO: &str = include_str!("../../gateway/phone/tests/sipp/phone-uas.xml");

/// The codec the phones answer with: G.711 A-law (the Swedish default) or G.722.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PhoneCodec {
    Pcma,
    G722,
}

impl PhoneCodec {
    fn payload_type(self) -> (&'static str, &'static str) {
        match self {
            Self::Pcma => ("8", "PCMA/8000"),
            // G.722's RTP clock says 8000 though it samples at 16 kHz (RFC 3551).
            Self::G722 => ("9", "G722/8000"),
        }
    }
}

/// sipp, answering calls on loopback until dropped.
pub struct Sipp {
    child: Child,
    pub sip_port: u16,
}

impl Sipp {
    pub fn start(
        dir: &Path,
        sip_port: u16,
        media_port: u16,
        codec: PhoneCodec,
    ) -> Result<Sipp, String> {
        let scenario = dir.join("phone-uas.xml");
        std::fs::write(&scenario, SCENARIO).map_err(|e| e.to_string())?;
        let (pt, encoding) = codec.payload_type();
        let child = Command::new("sipp")
            .arg("-sf")
            .arg(&scenario)
            .args([
                "-i",
                "127.0.0.1",
                "-t",
                "u1",
                "-rtp_echo",
                "-nostdin",
                "-aa",
            ])
            .args(["-p", &sip_port.to_string(), "-mp", &media_port.to_string()])
            .args(["-key", "pt", pt, "-key", "encoding", encoding])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("sipp (apt-get install sip-tester): {e}"))?;
        let mut sipp = Sipp { child, sip_port };
        std::thread::sleep(Duration::from_millis(300));
        if let Ok(Some(status)) = sipp.child.try_wait() {
            return Err(format!("sipp ended at once: {status}"));
        }
        Ok(sipp)
    }

    /// The `[sip]` section that makes Sluss call through this sipp.
    pub fn sluss_config(&self, sluss_sip_port: u16) -> String {
        format!(
            "[sip]\ntrunk_host = \"127.0.0.1\"\ntrunk_port = {}\ntrunk_transport = \"udp\"\n\
             unencrypted_trunk = true\nlisten = \"127.0.0.1:{sluss_sip_port}\"\n\
             plain_listen = \"127.0.0.1:{}\"\nallowed_numbers = [\"+46*\"]\n",
            self.sip_port,
            sluss_sip_port + 1
        )
    }
}

impl Drop for Sipp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The number the chair of meeting `meeting` has called: a Swedish mobile number.
pub fn number(meeting: u32) -> String {
    format!("+46701{meeting:06}")
}
