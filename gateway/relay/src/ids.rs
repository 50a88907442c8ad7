use std::fmt;

/// One meeting's forwarding domain on this relay. Chosen by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouterId(pub u64);

/// One participant's WebRTC transport. Chosen by the caller, unique per relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(pub u64);

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "peer#{}", self.0)
    }
}

/// What a publisher's track carries, as its client declares it with its offer. A track is
/// never taken for a screen because of where it sits in the SDP: only a declared screen is
/// held to the screen-sharing rule's gate (R11) and shown as a screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    Microphone,
    Camera,
    Screen,
}

/// Audio or video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrackKind {
    Audio,
    Video,
}

impl TrackKind {
    pub(crate) fn from_media(kind: str0m::media::MediaKind) -> TrackKind {
        match kind {
            str0m::media::MediaKind::Audio => TrackKind::Audio,
            str0m::media::MediaKind::Video => TrackKind::Video,
        }
    }

    pub(crate) fn to_media(self) -> str0m::media::MediaKind {
        match self {
            TrackKind::Audio => str0m::media::MediaKind::Audio,
            TrackKind::Video => str0m::media::MediaKind::Video,
        }
    }
}
