//! Simulcast: every subscriber gets one layer of a camera, the one its tile needs, and a move
//! to another layer happens at a keyframe without a break in what its browser sees.

mod common;

use std::time::Duration;

use common::World;
use sluss_relay::{PeerId, RelayConfig};
use str0m::rtp::Vp8Descriptor;

const FRAME: Duration = Duration::from_millis(33);

/// `frames` frames from each of `publishers` on all three layers; every tenth is a keyframe.
/// Sizes make the layers about 50, 150 and 300 kbit/s.
fn publish(w: &mut World, publishers: &[usize], frames: usize) {
    for i in 0..frames {
        for &publisher in publishers {
            for (layer, size) in [200, 600, 1150].into_iter().enumerate() {
                w.send_layer(publisher, layer, i % 10 == 0, size);
            }
        }
        w.advance(FRAME, FRAME);
    }
}

/// A meeting with a simulcast publisher (client 0) and two subscribers; returns them.
/// Bandwidth estimation is off: the virtual network has no queues to estimate, and the choice
/// here is the tiles'. (Estimation is exercised by the browser test's squeezed link.)
fn meeting() -> (World, usize, usize, usize) {
    let mut w = World::with_config(RelayConfig {
        initial_bitrate: None,
        ..RelayConfig::default()
    });
    let publisher = w.join_simulcast(1);
    let a = w.join(1);
    let b = w.join(1);
    w.settle();
    go_live(&mut w, publisher);
    (w, publisher, a, b)
}

/// The camera's first frame: only then is it offered to the others.
fn go_live(w: &mut World, publisher: usize) {
    publish(w, &[publisher], 1);
    w.settle();
}

/// `publishers` simulcast cameras (live), a viewer whose downlink is policed to `bps` (its
/// estimate starting there), and `others` more participants whose voices it also gets.
/// Returns the world, the publishers and the viewer.
fn narrow_link(bps: u64, publishers: usize, others: usize) -> (World, Vec<usize>, usize) {
    narrow_link_from(bps, publishers, others, 3)
}

/// The same, with cameras in `temporal_layers` temporal layers (see `Client`).
fn narrow_link_from(
    bps: u64,
    publishers: usize,
    others: usize,
    temporal_layers: u8,
) -> (World, Vec<usize>, usize) {
    let mut w = World::with_config(RelayConfig {
        initial_bitrate: Some(bps),
        ..RelayConfig::default()
    });
    let cameras: Vec<usize> = (0..publishers).map(|_| w.join_simulcast(1)).collect();
    for &camera in &cameras {
        w.clients[camera].temporal_layers = temporal_layers;
    }
    let viewer = w.join(1);
    for _ in 0..others {
        w.join(1);
    }
    w.clients[viewer].downlink_bps = Some(bps);
    w.settle();
    for &camera in &cameras {
        go_live(&mut w, camera);
    }
    (w, cameras, viewer)
}

fn peer(idx: usize) -> PeerId {
    PeerId(idx as u64 + 1)
}

/// The layers of what `idx` received from `from` since its `skip`-th packet.
fn layers(w: &World, idx: usize, from: usize, skip: usize) -> Vec<u8> {
    w.layers_received(idx, from)
        .into_iter()
        .skip(skip)
        .map(|(l, _)| l)
        .collect()
}

#[test]
fn a_small_tile_gets_the_low_layer_and_a_large_one_the_high() {
    let (mut w, publisher, small, large) = meeting();
    let now = w.now;
    w.relay
        .set_tile_heights(now, peer(small), vec![(peer(publisher), 80)]);
    w.relay
        .set_tile_heights(now, peer(large), vec![(peer(publisher), 360)]);
    publish(&mut w, &[publisher], 150);

    let got_small = layers(&w, small, publisher, 0);
    let got_large = layers(&w, large, publisher, 0);
    assert!(got_small.len() > 120, "small tile got {}", got_small.len());
    assert!(
        got_small.iter().all(|l| *l == 0),
        "a tile 80 px high needs the 90 px layer only: {got_small:?}"
    );
    // Once the layer sizes are known (first keyframes) and rates measured, the large tile
    // steps up to the top layer, a layer at a time, and then gets only it.
    let tail: Vec<u8> = got_large.iter().rev().take(40).copied().collect();
    assert!(
        tail.iter().all(|l| *l == 2),
        "a tile 360 px high gets the 360 px layer: {got_large:?}"
    );
    // One layer at a time: a packet per frame, and one more for each step up (the frame in
    // which a step happens is sent in the old layer and starts again in the new).
    let steps = got_large.windows(2).filter(|w| w[1] != w[0]).count();
    assert!(
        got_large.len() <= 150 + steps,
        "{} packets for 150 frames",
        got_large.len()
    );
}

#[test]
fn a_switch_waits_for_a_keyframe_and_keeps_the_stream_unbroken() {
    let (mut w, publisher, viewer, _) = meeting();
    let now = w.now;
    w.relay
        .set_tile_heights(now, peer(viewer), vec![(peer(publisher), 80)]);
    publish(&mut w, &[publisher], 45);
    let before = w.layers_received(viewer, publisher).len();
    assert!(layers(&w, viewer, publisher, 0).iter().all(|l| *l == 0));

    // The tile grows: the viewer moves up to the 360 px layer.
    let switches = w.relay.stats().layer_switches;
    let now = w.now;
    w.relay
        .set_tile_heights(now, peer(viewer), vec![(peer(publisher), 360)]);
    publish(&mut w, &[publisher], 120);

    let got = w.layers_received(viewer, publisher);
    let after: Vec<u8> = got[before..].iter().map(|(l, _)| *l).collect();
    assert_eq!(after.last(), Some(&2), "reaches the top layer: {after:?}");
    // Up one layer at a time, each step at a keyframe of the new layer.
    assert!(after.windows(2).all(|p| p[1] >= p[0]), "{after:?}");
    let all: Vec<u8> = got.iter().map(|(l, _)| *l).collect();
    let steps: Vec<usize> = (before..all.len())
        .filter(|i| all[*i] != all[i - 1])
        .collect();
    assert_eq!(steps.len(), 2, "0 → 1 → 2: {after:?}");
    for i in steps {
        let (_, first) = got[i];
        let d = Vp8Descriptor::parse(&first.payload).unwrap();
        assert!(
            d.starts_keyframe(&first.payload),
            "the first packet of a new layer is a keyframe"
        );
    }
    assert!(w.relay.stats().layer_switches >= switches + 2);

    // What the browser saw is one stream: consecutive sequence numbers, timestamps that only
    // move forward, and picture ids that count up by one per frame across the switch.
    for pair in got.windows(2) {
        let (a, b) = (pair[0].1, pair[1].1);
        assert_eq!(b.seq, a.seq + 1, "sequence continues");
        assert!(
            b.timestamp.wrapping_sub(a.timestamp) < 90_000,
            "timestamp moves forward: {} -> {}",
            a.timestamp,
            b.timestamp
        );
        let pa = Vp8Descriptor::parse(&a.payload)
            .unwrap()
            .picture_id()
            .unwrap();
        let pb = Vp8Descriptor::parse(&b.payload)
            .unwrap()
            .picture_id()
            .unwrap();
        assert_eq!(pb, (pa + 1) & 0x7fff, "picture id continues");
    }
}

#[test]
fn a_hidden_tile_resumes_at_a_keyframe_where_it_left_off() {
    let (mut w, publisher, viewer, _) = meeting();
    publish(&mut w, &[publisher], 30);
    let now = w.now;
    w.relay
        .set_hidden_videos(now, peer(viewer), vec![peer(publisher)]);
    let before = w.layers_received(viewer, publisher).len();
    publish(&mut w, &[publisher], 30);
    assert_eq!(
        w.layers_received(viewer, publisher).len(),
        before,
        "nothing while hidden"
    );
    let now = w.now;
    w.relay.set_hidden_videos(now, peer(viewer), vec![]);
    publish(&mut w, &[publisher], 30);
    let got = w.layers_received(viewer, publisher);
    assert!(got.len() > before + 15, "video resumes");
    let (_, resumed) = got[before];
    let (_, last) = got[before - 1];
    assert_eq!(
        resumed.seq,
        last.seq + 1,
        "no gap for the browser to ask about"
    );
    assert!(Vp8Descriptor::parse(&resumed.payload)
        .unwrap()
        .starts_keyframe(&resumed.payload));
}

#[test]
fn a_link_too_narrow_for_the_lowest_layer_gets_it_at_a_lower_frame_rate() {
    // The viewer's link is 60 kbit/s wide; two (silent) voices are reckoned at 20 of it: once
    // the estimate has found the width, the lowest layer (about 60 kbit/s with packet
    // overhead) fits only at a quarter of its frame rate.
    let (mut w, cameras, viewer) = narrow_link(60_000, 1, 1);
    let publisher = cameras[0];
    publish(&mut w, &[publisher], 300);

    let got = w.layers_received(viewer, publisher);
    let seen: Vec<(u8, u8)> = got.iter().map(|(l, r)| (*l, r.payload[5] >> 6)).collect();
    // Until the first measurement (half a second) the layer's temporal layers are unknown.
    let tail = &seen[seen.len().saturating_sub(12)..];
    assert!(got.len() >= 20, "video still flows: {seen:?}");
    assert!(
        w.relay.stats().video_thinned >= 20,
        "counted in /metrics: {} {seen:?}",
        w.relay.stats().video_thinned
    );
    assert!(
        tail.iter().all(|(layer, tid)| *layer == 0 && *tid == 0),
        "then only the lowest layer's T0 pictures: {seen:?}"
    );
    // Once the estimate has found the link, one unbroken stream for the browser: nothing
    // missing to ask for, no picture id skipped. (Before, the policer drops what the first
    // layers and the estimator's probes sent over the link's width.)
    for pair in got[got.len().saturating_sub(40)..].windows(2) {
        let (a, b) = (pair[0].1, pair[1].1);
        assert_eq!(b.seq, a.seq.wrapping_add(1), "sequence closes up");
        let id = |p: &[u8]| Vp8Descriptor::parse(p).unwrap().picture_id().unwrap();
        assert_eq!(
            id(&b.payload),
            (id(&a.payload) + 1) & 0x7fff,
            "picture ids close up"
        );
    }
}

#[test]
fn on_a_link_too_narrow_for_two_cameras_the_smaller_tile_goes_dark_and_its_page_is_told() {
    // 40 kbit/s: two voices are reckoned at 20; what is left does not carry both cameras'
    // slowest pictures (about 15 kbit/s each), so the thumbnail's camera goes off, never the
    // featured one.
    let (mut w, cameras, viewer) = narrow_link(40_000, 2, 0);
    let (featured, thumbnail) = (cameras[0], cameras[1]);
    let now = w.now;
    w.relay.set_tile_heights(
        now,
        peer(viewer),
        vec![(peer(featured), 360), (peer(thumbnail), 60)],
    );
    publish(&mut w, &cameras, 300);
    let told: Vec<(String, bool)> = w
        .events
        .iter()
        .filter_map(|e| match e {
            sluss_relay::RelayEvent::VideoOffForBandwidth {
                peer: p,
                publisher,
                off,
            } if *p == peer(viewer) => Some((publisher.clone(), *off)),
            _ => None,
        })
        .collect();
    let label = |idx: usize| format!("p{idx}");
    assert_eq!(
        told.last(),
        Some(&(label(thumbnail), true)),
        "the thumbnail's camera is off and the viewer told: {told:?}"
    );
    assert!(
        told.iter().all(|(who, _)| *who != label(featured)),
        "the featured camera never goes off: {told:?}"
    );
    let before = w.layers_received(viewer, featured).len();
    publish(&mut w, &cameras, 30);
    assert!(
        w.layers_received(viewer, featured).len() > before,
        "the featured picture keeps coming"
    );
}

/// The layers and temporal layers of the last `n` packets `viewer` got from `from`, and how
/// many frames those `n` packets span (each frame is one packet, picture ids count frames).
fn tail(w: &World, viewer: usize, from: usize, n: usize) -> (Vec<(u8, Option<u8>)>, u16) {
    let got = w.layers_received(viewer, from);
    let last = &got[got.len().saturating_sub(n)..];
    let id = |p: &[u8]| Vp8Descriptor::parse(p).unwrap().picture_id().unwrap();
    let span = id(&last[last.len() - 1].1.payload).wrapping_sub(id(&last[0].1.payload)) & 0x7fff;
    let seen = last
        .iter()
        .map(|(l, r)| (*l, (r.payload[1] & 0x20 != 0).then(|| r.payload[5] >> 6)))
        .collect();
    (seen, span + 1)
}

#[test]
fn a_firefox_camera_on_a_link_too_narrow_for_its_lowest_layer_comes_at_half_its_frame_rate() {
    // Firefox sends two temporal layers whatever the page asks (L1T3): below the lowest layer
    // in full, that layer at half its frame rate (T0), and never less.
    let (mut w, cameras, viewer) = narrow_link_from(60_000, 1, 1, 2);
    let publisher = cameras[0];
    publish(&mut w, &[publisher], 300);
    let (seen, frames) = tail(&w, viewer, publisher, 12);
    assert!(seen.iter().all(|s| *s == (0, Some(0))), "{seen:?}");
    assert_eq!(frames, 12, "the picture ids close up over what is left out");
    assert!(w.relay.stats().video_thinned >= 20);
}

#[test]
fn a_camera_without_temporal_layers_keeps_its_full_frame_rate_on_the_lowest_layer() {
    // A VP8 descriptor without TID: there is no lower frame rate to give, so a viewer whose
    // link does not carry even the lowest layer in full still gets all of it, and nothing is
    // counted as thinned.
    let (mut w, cameras, viewer) = narrow_link_from(60_000, 1, 1, 0);
    let publisher = cameras[0];
    publish(&mut w, &[publisher], 300);
    let got = w.layers_received(viewer, publisher);
    assert!(got.len() >= 100, "video flows: {}", got.len());
    let (seen, _) = tail(&w, viewer, publisher, 40);
    assert!(seen.iter().all(|s| *s == (0, None)), "{seen:?}");
    assert_eq!(w.relay.stats().video_thinned, 0);
}
