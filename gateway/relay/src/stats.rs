/// Counters a relay keeps; the shell publishes them as metrics. Plain integers: the relay is
/// owned by one thread, and the shell copies them out between batches.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RelayStats {
    /// Datagrams handed to the relay.
    pub datagrams_received: u64,
    pub bytes_received: u64,
    /// RTP packets received from publishers (after decryption).
    pub rtp_received: u64,
    /// RTP packets written toward subscribers.
    pub rtp_forwarded: u64,
    pub rtp_forwarded_bytes: u64,
    /// Datagrams sent (media, RTCP, STUN, DTLS).
    pub datagrams_sent: u64,
    pub bytes_sent: u64,
    /// Datagrams from an address no ICE check has validated.
    pub dropped_unvalidated: u64,
    /// Datagrams that are no STUN, DTLS, RTP or RTCP, or are truncated.
    pub dropped_malformed: u64,
    /// STUN requests for credentials no transport has.
    pub dropped_unknown_ufrag: u64,
    /// Datagrams a transport refused (bad SRTP tag, replay, DTLS alert...).
    pub rejected_by_transport: u64,
    /// Transports whose ICE consent expired or whose pair was lost.
    pub ice_failures: u64,
    /// Transports closed by a DTLS failure (including a fingerprint mismatch).
    pub dtls_failures: u64,
    /// Screen-track packets not forwarded because the meeting had not allowed the share (R11).
    pub screen_blocked: u64,
    /// Camera packets not sent to a page that does not show that camera's tile, or whose
    /// link is too weak to carry it.
    pub video_paused: u64,
    /// Times a subscriber was moved to another simulcast layer of a camera.
    pub layer_switches: u64,
    /// Camera packets left out for a subscriber sent a lower frame rate (a weak link).
    pub video_thinned: u64,
    /// Offers and answers refused for their size, m-lines or candidates.
    pub sdp_refused: u64,
    /// Trickled ICE candidates refused: too long, unparsable, or one too many for the peer.
    pub candidates_refused: u64,
    /// Packets a direct transport's caller did not collect in time: the oldest are dropped
    /// from its bounded queue.
    pub direct_overflow: u64,
    /// Voice packets not forwarded from or to a participant whose voice goes by phone (R14).
    pub audio_by_phone_cut: u64,
}

impl RelayStats {
    /// How many counters [`RelayStats::named`] lists.
    pub const COUNT: usize = 22;

    /// Every counter with a metric-friendly name, in a fixed order.
    pub fn named(&self) -> [(&'static str, u64); Self::COUNT] {
        [
            ("datagrams_received", self.datagrams_received),
            ("bytes_received", self.bytes_received),
            ("rtp_received", self.rtp_received),
            ("rtp_forwarded", self.rtp_forwarded),
            ("rtp_forwarded_bytes", self.rtp_forwarded_bytes),
            ("datagrams_sent", self.datagrams_sent),
            ("bytes_sent", self.bytes_sent),
            ("dropped_unvalidated", self.dropped_unvalidated),
            ("dropped_malformed", self.dropped_malformed),
            ("dropped_unknown_ufrag", self.dropped_unknown_ufrag),
            ("rejected_by_transport", self.rejected_by_transport),
            ("ice_failures", self.ice_failures),
            ("dtls_failures", self.dtls_failures),
            ("screen_blocked", self.screen_blocked),
            ("video_paused", self.video_paused),
            ("layer_switches", self.layer_switches),
            ("video_thinned", self.video_thinned),
            ("sdp_refused", self.sdp_refused),
            ("candidates_refused", self.candidates_refused),
            ("direct_overflow", self.direct_overflow),
            ("audio_by_phone_cut", self.audio_by_phone_cut),
            ("send_errors", 0),
        ]
    }
}
