//! Bounds on what a browser hands the relay through signaling: session descriptions and
//! trickled ICE candidates. They are checked before `str0m` parses anything, so the work one
//! input can cause is bounded by its size, and a transport's ICE agent holds a bounded number
//! of remote candidates (it keeps every one it is given, and scans them all for each new one).

use std::fmt;

use crate::PeerId;

/// The longest SDP a browser may send when it opens a transport. Chromium's first offer
/// (three m-lines, every codec it knows) is about 6 to 9 KiB.
pub const MAX_SDP_BYTES: usize = 64 * 1024;
/// A browser's own m-lines: microphone, camera and screen make three.
pub const MAX_OWN_MEDIA: usize = 16;
/// Every m-line the relay added to a session (one per track it sends that peer) lets the
/// peer's later SDPs grow by this much: an answer's m-section with only the relay's codecs is
/// under 1 KiB, a browser's re-offer lists all its codecs again (about 3 KiB for video).
pub const SDP_BYTES_PER_RELAY_MEDIA: usize = 4 * 1024;
/// Distinct remote ICE candidates a transport keeps per ICE generation (an ICE restart starts
/// a new one). A browser gathers a host candidate per interface and address family, and one
/// server-reflexive and one relayed per STUN and TURN server, for UDP and TCP: rarely ten.
pub const MAX_REMOTE_CANDIDATES: usize = 20;
/// The longest candidate line. A real one is under 200 bytes (an IPv6 server-reflexive
/// candidate with its related address, ufrag and network cost).
pub const MAX_CANDIDATE_BYTES: usize = 512;

/// Which bound an input exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Bound {
    /// The SDP is longer than its budget.
    SdpBytes,
    /// The SDP has more m-lines than its budget.
    MediaSections,
    /// One candidate line is longer than [`MAX_CANDIDATE_BYTES`].
    CandidateBytes,
    /// The transport already holds [`MAX_REMOTE_CANDIDATES`] remote candidates.
    Candidates,
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bound::SdpBytes => write!(f, "SDP too long"),
            Bound::MediaSections => write!(f, "too many m-lines"),
            Bound::CandidateBytes => write!(f, "ICE candidate longer than {MAX_CANDIDATE_BYTES}"),
            Bound::Candidates => write!(f, "more than {MAX_REMOTE_CANDIDATES} ICE candidates"),
        }
    }
}

/// How large a peer's SDP may be, given the m-lines the relay itself added to its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SdpBudget {
    pub(crate) bytes: usize,
    pub(crate) media: usize,
}

impl SdpBudget {
    pub(crate) fn for_session(relay_media: usize) -> SdpBudget {
        SdpBudget {
            bytes: MAX_SDP_BYTES
                .saturating_add(relay_media.saturating_mul(SDP_BYTES_PER_RELAY_MEDIA)),
            media: MAX_OWN_MEDIA.saturating_add(relay_media),
        }
    }
}

/// What the relay needs from an SDP before handing it to `str0m`.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct SdpSummary<'a> {
    /// The first `a=ice-ufrag` (the remote's ICE generation).
    pub(crate) ice_ufrag: Option<&'a str>,
    /// Distinct candidate lines, without `a=`.
    pub(crate) candidates: Vec<&'a str>,
}

/// Checks an SDP against its budget in one pass over its lines. The candidate count is not
/// checked here: the caller counts them with the ones the transport already holds.
pub(crate) fn check_sdp(sdp: &str, budget: SdpBudget) -> Result<SdpSummary<'_>, Bound> {
    if sdp.len() > budget.bytes {
        return Err(Bound::SdpBytes);
    }
    let mut summary = SdpSummary::default();
    let mut media = 0usize;
    for line in sdp.lines() {
        let line = line.trim_end();
        if line.starts_with("m=") {
            media += 1;
            if media > budget.media {
                return Err(Bound::MediaSections);
            }
        } else if let Some(candidate) = line.strip_prefix("a=") {
            if candidate.starts_with("candidate:") {
                if candidate.len() > MAX_CANDIDATE_BYTES {
                    return Err(Bound::CandidateBytes);
                }
                // A browser may repeat its candidates in every m-section: count them once.
                // The list (and this scan of it) never grows past the bound.
                if !summary.candidates.contains(&candidate) {
                    if summary.candidates.len() >= MAX_REMOTE_CANDIDATES {
                        return Err(Bound::Candidates);
                    }
                    summary.candidates.push(candidate);
                }
            } else if let Some(ufrag) = candidate.strip_prefix("ice-ufrag:") {
                summary.ice_ufrag.get_or_insert(ufrag.trim());
            }
        }
    }
    Ok(summary)
}

/// A trickled candidate as it is compared and kept: without `a=` and surrounding space.
pub(crate) fn candidate_line(candidate: &str) -> Result<&str, Bound> {
    if candidate.len() > MAX_CANDIDATE_BYTES {
        return Err(Bound::CandidateBytes);
    }
    let line = candidate.trim();
    Ok(line.strip_prefix("a=").unwrap_or(line))
}

/// The remote candidates a transport holds in its current ICE generation.
#[derive(Debug, Default)]
pub(crate) struct RemoteCandidates {
    ufrag: Option<String>,
    lines: Vec<String>,
}

impl RemoteCandidates {
    pub(crate) fn len(&self) -> usize {
        self.lines.len()
    }

    pub(crate) fn contains(&self, line: &str) -> bool {
        self.lines.iter().any(|l| l == line)
    }

    /// Whether an SDP's candidates fit beside those held: in a new ICE generation (another
    /// ufrag) they replace them.
    pub(crate) fn fits(&self, summary: &SdpSummary<'_>) -> bool {
        let restart = summary.ice_ufrag.is_some() && summary.ice_ufrag != self.ufrag.as_deref();
        let held = if restart { 0 } else { self.lines.len() };
        let new = summary
            .candidates
            .iter()
            .filter(|c| restart || !self.contains(c))
            .count();
        held + new <= MAX_REMOTE_CANDIDATES
    }

    /// Records an SDP the transport accepted; call only when it [`fits`](Self::fits).
    pub(crate) fn accept_sdp(&mut self, summary: &SdpSummary<'_>) {
        if summary.ice_ufrag.is_some() && summary.ice_ufrag != self.ufrag.as_deref() {
            self.ufrag = summary.ice_ufrag.map(str::to_owned);
            self.lines.clear();
        }
        for c in &summary.candidates {
            if !self.contains(c) {
                self.lines.push((*c).to_owned());
            }
        }
    }

    /// Records a trickled candidate; false when the transport already holds the most it may.
    pub(crate) fn accept_trickled(&mut self, line: &str) -> bool {
        if self.lines.len() >= MAX_REMOTE_CANDIDATES {
            return false;
        }
        self.lines.push(line.to_owned());
        true
    }
}

/// A per-publisher list from a page (hidden cameras, tile sizes), cut to what can mean
/// something: publishers of `meeting`, each once. It is read for every packet sent to that
/// page, so it must never be longer than the meeting; the work here is at most the meeting's
/// size squared, whatever was sent.
pub(crate) fn meeting_peers_only<T>(
    mut list: Vec<T>,
    meeting: &[PeerId],
    key: impl Fn(&T) -> PeerId,
) -> Vec<T> {
    list.truncate(meeting.len());
    let mut kept: Vec<T> = Vec::with_capacity(list.len());
    for item in list {
        let id = key(&item);
        if meeting.contains(&id) && !kept.iter().any(|k| key(k) == id) {
            kept.push(item);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pages_list_is_cut_to_its_meeting() {
        let meeting = [PeerId(1), PeerId(2), PeerId(3)];
        let flood: Vec<PeerId> = (0..100_000).map(|i| PeerId(i % 7)).collect();
        assert_eq!(
            meeting_peers_only(flood, &meeting, |p| *p),
            vec![PeerId(1), PeerId(2)]
        );
        let repeated = vec![(PeerId(2), 90), (PeerId(2), 360), (PeerId(9), 1)];
        assert_eq!(
            meeting_peers_only(repeated, &meeting, |t| t.0),
            vec![(PeerId(2), 90)]
        );
    }

    const OFFER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:abcd\r\n\
        a=candidate:1 1 udp 2122260223 10.0.0.1 5000 typ host\r\n\
        m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=ice-ufrag:abcd\r\n\
        a=candidate:1 1 udp 2122260223 10.0.0.1 5000 typ host\r\n\
        a=candidate:2 1 tcp 1518280447 10.0.0.1 9 typ host tcptype active\r\n";

    fn with_candidates(n: usize) -> String {
        let mut sdp = String::from("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:x\r\n");
        for i in 0..n {
            sdp.push_str(&format!(
                "a=candidate:{i} 1 udp 1 10.0.{}.{} 5000 typ host\r\n",
                i / 250,
                i % 250
            ));
        }
        sdp
    }

    #[test]
    fn a_browser_offer_fits_and_its_repeated_candidates_count_once() {
        let summary = check_sdp(OFFER, SdpBudget::for_session(0)).unwrap();
        assert_eq!(summary.ice_ufrag, Some("abcd"));
        assert_eq!(summary.candidates.len(), 2);
    }

    #[test]
    fn size_media_and_candidate_bounds_are_errors() {
        let budget = SdpBudget::for_session(0);
        let long = format!("{OFFER}a=x:{}\r\n", "y".repeat(MAX_SDP_BYTES));
        assert_eq!(check_sdp(&long, budget), Err(Bound::SdpBytes));
        let many_m = "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n".repeat(MAX_OWN_MEDIA + 1);
        assert_eq!(check_sdp(&many_m, budget), Err(Bound::MediaSections));
        let long_candidate = format!(
            "a=candidate:1 1 udp 1 10.0.0.1 5000 typ host {}\r\n",
            "z".repeat(600)
        );
        assert_eq!(
            check_sdp(&long_candidate, budget),
            Err(Bound::CandidateBytes)
        );
        assert_eq!(
            check_sdp(&with_candidates(MAX_REMOTE_CANDIDATES + 1), budget),
            Err(Bound::Candidates)
        );
        // The relay's own m-lines widen the budget of later SDPs.
        let bigger = SdpBudget::for_session(100);
        assert!(check_sdp(&many_m, bigger).is_ok());
        assert!(check_sdp(&long, bigger).is_ok());
    }

    #[test]
    fn candidates_are_bounded_per_ice_generation() {
        let mut held = RemoteCandidates::default();
        let first = with_candidates(MAX_REMOTE_CANDIDATES);
        let summary = check_sdp(&first, SdpBudget::for_session(0)).unwrap();
        assert!(held.fits(&summary));
        held.accept_sdp(&summary);
        assert_eq!(held.len(), MAX_REMOTE_CANDIDATES);
        assert!(!held.accept_trickled("candidate:x 1 udp 1 10.9.9.9 1 typ host"));
        // The same candidates again fit; one more does not.
        assert!(held.fits(&summary));
        let one_more =
            "m=audio 9 x 111\r\na=ice-ufrag:x\r\na=candidate:new 1 udp 1 10.9.9.9 1 typ host\r\n";
        assert!(!held.fits(&check_sdp(one_more, SdpBudget::for_session(0)).unwrap()));
        // An ICE restart (a new ufrag) starts over.
        let restart = first.replace("ice-ufrag:x", "ice-ufrag:y");
        let summary = check_sdp(&restart, SdpBudget::for_session(0)).unwrap();
        assert!(held.fits(&summary));
        held.accept_sdp(&summary);
        assert_eq!(held.len(), MAX_REMOTE_CANDIDATES);
    }

    #[test]
    fn a_candidate_line_is_trimmed_and_bounded() {
        assert_eq!(candidate_line(" a=candidate:1 x\r\n"), Ok("candidate:1 x"));
        assert_eq!(
            candidate_line(&"c".repeat(MAX_CANDIDATE_BYTES + 1)),
            Err(Bound::CandidateBytes)
        );
    }
}
