//! Which simulcast layer each camera gets toward one subscriber: what fits its bandwidth
//! estimate, and no more than the tile it is shown in needs.
//!
//! A camera's choices form a ladder, cheapest first: the lowest layer at a quarter and at half
//! its frame rate (its temporal layers, when it has them), then each layer in full. A patient
//! on a weak link keeps a moving picture at a few frames a second rather than a frozen one.

use std::time::{Duration, Instant};

/// What a subscriber gets of one camera.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Choice {
    /// The simulcast layer.
    pub(crate) layer: u8,
    /// The highest temporal layer of it; `None` for all of them (the full frame rate).
    pub(crate) temporal: Option<u8>,
}

impl Choice {
    pub(crate) fn full(layer: u8) -> Choice {
        Choice {
            layer,
            temporal: None,
        }
    }
}

/// One camera a subscriber receives, as the allocation sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Track {
    /// Bitrate of each layer, lowest first; `None` for a layer the publisher is not sending.
    pub(crate) layers: Vec<Option<u64>>,
    /// Picture height of each layer from its keyframes (0 unknown).
    pub(crate) heights: Vec<u16>,
    /// The lowest sent layer at reduced frame rates: the bitrate of its temporal layers 0 to
    /// i together, for each but the top one. Empty when it has no temporal layers.
    pub(crate) reduced: Vec<u64>,
    /// The tile's height in device pixels, when the page said; `None` means as good as fits.
    pub(crate) tile_height: Option<u32>,
    /// What it gets now, for hysteresis.
    pub(crate) current: Option<Choice>,
    /// Its video is off for bandwidth now.
    pub(crate) off: bool,
}

/// A layer smaller than the tile by this factor still looks right (the browser scales up).
const TILE_SLACK: f64 = 0.8;

/// Upgrading needs this much headroom over the layer's rate, so that a rate near the estimate
/// does not flap between layers.
const UPGRADE_HEADROOM: f64 = 1.2;

impl Track {
    /// The choices for this camera with their rates, cheapest first.
    fn ladder(&self) -> Vec<(Choice, u64)> {
        let mut ladder = Vec::new();
        for (i, rate) in self.layers.iter().enumerate() {
            let Some(rate) = *rate else {
                continue;
            };
            if ladder.is_empty() {
                for (tid, reduced) in self.reduced.iter().enumerate() {
                    let choice = Choice {
                        layer: i as u8,
                        temporal: Some(tid as u8),
                    };
                    ladder.push((choice, *reduced));
                }
            }
            ladder.push((Choice::full(i as u8), rate));
        }
        ladder
    }

    /// Where `choice` is on the ladder.
    fn step(ladder: &[(Choice, u64)], choice: Option<Choice>) -> Option<usize> {
        ladder.iter().position(|(c, _)| Some(*c) == choice)
    }
}

/// The highest layer worth sending to a tile of this height.
pub(crate) fn tile_cap(t: &Track) -> Option<u8> {
    let active: Vec<u8> = (0..t.layers.len() as u8)
        .filter(|i| t.layers[*i as usize].is_some())
        .collect();
    let top = *active.last()?;
    let Some(tile) = t.tile_height else {
        return Some(top);
    };
    let need = f64::from(tile) * TILE_SLACK;
    Some(
        active
            .iter()
            .copied()
            .find(|i| f64::from(t.heights.get(*i as usize).copied().unwrap_or(0)) >= need)
            .unwrap_or(top),
    )
}

/// The highest step worth taking: the tile's layer in full.
fn cap_step(t: &Track, ladder: &[(Choice, u64)]) -> Option<usize> {
    Track::step(ladder, tile_cap(t).map(Choice::full))
}

/// Chooses what each track gets for `budget` bits per second: `None` for a track with no layer
/// sent, or whose video is off (see [`is_off`]). Every track starts at the bottom of its
/// ladder: a slow picture is better than a frozen one. Only when even those do not fit do the
/// smallest tiles go dark, one by one (never the largest), so that the voices get through and
/// the one the viewer looks at keeps moving. Then tracks are raised one step at a time while
/// the budget allows, the largest tile first in each round: it gets its frames back before the
/// thumbnails do.
pub(crate) fn allocate(budget: u64, tracks: &[Track]) -> Vec<Option<Choice>> {
    let ladders: Vec<Vec<(Choice, u64)>> = tracks.iter().map(Track::ladder).collect();
    let caps: Vec<Option<usize>> = tracks
        .iter()
        .zip(&ladders)
        .map(|(t, l)| cap_step(t, l))
        .collect();
    let current: Vec<Option<usize>> = tracks
        .iter()
        .zip(&ladders)
        .map(|(t, l)| Track::step(l, t.current))
        .collect();
    let mut chosen: Vec<Option<usize>> = ladders
        .iter()
        .map(|l| (!l.is_empty()).then_some(0))
        .collect();
    let mut spent: u64 = ladders
        .iter()
        .zip(&chosen)
        .map(|(l, c)| c.map_or(0, |i| l[i].1))
        .sum();
    let mut order: Vec<usize> = (0..tracks.len()).collect();
    order.sort_by_key(|i| std::cmp::Reverse(tracks[*i].tile_height.unwrap_or(u32::MAX)));
    for &i in order.iter().skip(1).rev() {
        let Some(0) = chosen[i] else {
            continue;
        };
        // A track that is off comes back only with room to spare.
        let headroom = if tracks[i].off { UPGRADE_HEADROOM } else { 1.0 };
        if spent as f64 * headroom > budget as f64 {
            chosen[i] = None;
            spent -= ladders[i][0].1;
        }
    }
    loop {
        let mut raised = false;
        for &i in &order {
            let ladder = &ladders[i];
            let (Some(now), Some(cap)) = (chosen[i], caps[i]) else {
                continue;
            };
            if now >= cap {
                continue;
            }
            let next = now + 1;
            let extra = ladder[next].1.saturating_sub(ladder[now].1);
            // Holding a step it already has needs only the rate; reaching for one needs room.
            let headroom = if current[i].is_some_and(|c| c >= next) {
                1.0
            } else {
                UPGRADE_HEADROOM
            };
            if (spent + extra) as f64 * headroom <= budget as f64 {
                chosen[i] = Some(next);
                spent += extra;
                raised = true;
            }
        }
        if !raised {
            return chosen
                .iter()
                .zip(&ladders)
                .map(|(c, l)| c.map(|i| l[i].0))
                .collect();
        }
    }
}

/// Whether `choice` (from [`allocate`]) turns the track's video off: it has layers to send.
pub(crate) fn is_off(track: &Track, choice: Option<Choice>) -> bool {
    choice.is_none() && track.layers.iter().any(Option::is_some)
}

/// What `chosen` costs on these tracks.
pub(crate) fn cost(tracks: &[Track], chosen: &[Option<Choice>]) -> u64 {
    tracks
        .iter()
        .zip(chosen)
        .filter_map(|(t, c)| {
            let ladder = t.ladder();
            Track::step(&ladder, *c).map(|i| ladder[i].1)
        })
        .sum()
}

/// The first pause before stepping up again after a step down for bandwidth.
const FIRST_HOLD: Duration = Duration::from_secs(2);
/// The longest pause: a link that keeps failing at a layer is tried again this seldom. (32 s
/// kept a viewer freed from a squeeze waiting up to 50 s for its picture back; the tries
/// themselves cost little, since `UP_SUSTAIN` and single rungs came in.)
const LONGEST_HOLD: Duration = Duration::from_secs(16);
/// A step down this long after the last one starts the pauses from the first again.
const CALM: Duration = Duration::from_secs(30);
/// Steps up to a larger layer come at most this often: the estimate must hold before the next.
const STEP_UP_INTERVAL: Duration = Duration::from_millis(1500);
/// Within `CALM` of a step down, a step up waits until the estimate has allowed it this long
/// without a break. A probe that slips through a shaper's burst allowance makes the estimate
/// leap for a few seconds; on a 200 kbit/s link, taking it at its word turned a thumbnail on
/// for three seconds and cost the speaker's picture its keyframes.
const UP_SUSTAIN: Duration = Duration::from_secs(3);

/// Keeps a subscriber on a squeezed link from flapping between layers: after a step down for
/// bandwidth there is no step up for a while, and the while doubles each time that happens
/// again soon. A step up reaches at most one larger layer, at most one per
/// `STEP_UP_INTERVAL`; frame rate steps on the lowest layer need no keyframe and come at once,
/// except soon after a step down: then every step is one rung, one at a time.
#[derive(Debug, Clone, Default)]
pub(crate) struct UpgradeHold {
    until: Option<Instant>,
    hold: Duration,
    last_down: Option<Instant>,
    last_up: Option<Instant>,
    /// Since when the allocation has wanted to step up without a break (see `UP_SUSTAIN`).
    wanted_up_since: Option<Instant>,
}

impl UpgradeHold {
    /// Adjusts `chosen` (from [`allocate`]) against what each track gets now.
    pub(crate) fn apply(&mut self, now: Instant, tracks: &[Track], chosen: &mut [Option<Choice>]) {
        let sustained = self.sustained(now, tracks, chosen);
        let held_down = self.until.is_some_and(|t| now < t) || !sustained;
        let spaced = self
            .last_up
            .is_some_and(|t| now.saturating_duration_since(t) < STEP_UP_INTERVAL);
        // Within `CALM` of a step down, every step up is a single rung, frame rate too, and
        // they come one at a time: a step that the link cannot carry costs little.
        let wary = self
            .last_down
            .is_some_and(|t| now.saturating_duration_since(t) < CALM);
        let mut stepped_down = false;
        let mut stepped_up = false;
        for (t, choice) in tracks.iter().zip(chosen.iter_mut()) {
            let ladder = t.ladder();
            if ladder.is_empty() {
                continue;
            }
            match (t.off, is_off(t, *choice)) {
                (false, true) => {
                    stepped_down = true;
                    continue;
                }
                (true, true) => continue,
                // Back on, at the bottom rung, when a larger layer could come too.
                (true, false) => {
                    if held_down || spaced || (wary && stepped_up) {
                        *choice = None;
                    } else {
                        stepped_up = true;
                        *choice = Some(ladder[0].0);
                    }
                    continue;
                }
                (false, false) => {}
            }
            let (Some(current), Some(wanted)) = (
                Track::step(&ladder, t.current),
                Track::step(&ladder, *choice),
            ) else {
                continue;
            };
            if wanted < current && cap_step(t, &ladder).is_some_and(|c| c >= current) {
                stepped_down = true;
            } else if wanted > current {
                let mut to = current;
                if !held_down {
                    // Frame rate steps freely; one larger layer, if not too soon after the last.
                    while to < wanted {
                        let counted = wary || ladder[to + 1].0.layer > ladder[current].0.layer;
                        if counted && (spaced || (wary && stepped_up)) {
                            break;
                        }
                        to += 1;
                        if counted {
                            stepped_up = true;
                            break;
                        }
                    }
                }
                *choice = Some(ladder[to].0);
            }
        }
        if stepped_up {
            self.last_up = Some(now);
        }
        if stepped_down {
            let again_soon = self
                .last_down
                .is_some_and(|t| now.saturating_duration_since(t) < CALM);
            self.hold = if again_soon {
                (self.hold * 2).clamp(FIRST_HOLD, LONGEST_HOLD)
            } else {
                FIRST_HOLD
            };
            self.until = Some(now + self.hold);
            self.last_down = Some(now);
        }
    }
}

impl UpgradeHold {
    /// Whether a step up may come now: always, unless a step down was recent; then only when
    /// the allocation has wanted one for `UP_SUSTAIN`.
    fn sustained(&mut self, now: Instant, tracks: &[Track], chosen: &[Option<Choice>]) -> bool {
        let wants_up = tracks.iter().zip(chosen).any(|(t, c)| {
            let ladder = t.ladder();
            match (Track::step(&ladder, t.current), Track::step(&ladder, *c)) {
                (None, Some(_)) => t.off,
                (Some(current), Some(wanted)) => wanted > current,
                _ => false,
            }
        });
        let calm = self
            .last_down
            .is_none_or(|t| now.saturating_duration_since(t) >= CALM);
        if !wants_up || calm {
            self.wanted_up_since = None;
            return true;
        }
        let since = *self.wanted_up_since.get_or_insert(now);
        now.saturating_duration_since(since) >= UP_SUSTAIN
    }
}

/// What the next step up would cost: `chosen` with one more rung for the first track (largest
/// tile first) that is below its tile's layer, or dark; `None` when every track has all its
/// tile can show. The bandwidth estimator probes toward this, with the headroom a step up
/// needs, and no further: probing toward the tiles' full wish sent bursts of several times a
/// weak link's rate every few seconds, and what they cost in lost packets froze the picture.
pub(crate) fn next_step(tracks: &[Track], chosen: &[Option<Choice>]) -> Option<u64> {
    let mut order: Vec<usize> = (0..tracks.len()).collect();
    order.sort_by_key(|i| std::cmp::Reverse(tracks[*i].tile_height.unwrap_or(u32::MAX)));
    let spent = cost(tracks, chosen);
    order.into_iter().find_map(|i| {
        let t = &tracks[i];
        let ladder = t.ladder();
        let cap = cap_step(t, &ladder)?;
        let extra = match Track::step(&ladder, chosen.get(i).copied().flatten()) {
            None => ladder.first()?.1,
            Some(now) if now < cap => ladder[now + 1].1.saturating_sub(ladder[now].1),
            Some(_) => return None,
        };
        Some(((spent + extra) as f64 * UPGRADE_HEADROOM) as u64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(layer: u8) -> Option<Choice> {
        Some(Choice::full(layer))
    }

    fn slow(tid: u8) -> Option<Choice> {
        Some(Choice {
            layer: 0,
            temporal: Some(tid),
        })
    }

    fn camera(tile: Option<u32>) -> Track {
        Track {
            layers: vec![Some(100_000), Some(300_000), Some(900_000)],
            heights: vec![90, 180, 360],
            reduced: Vec::new(),
            tile_height: tile,
            current: None,
            off: false,
        }
    }

    #[test]
    fn a_wide_link_gets_the_top_layer_and_a_narrow_one_the_lowest() {
        assert_eq!(allocate(5_000_000, &[camera(None)]), vec![f(2)]);
        assert_eq!(allocate(200_000, &[camera(None)]), vec![f(0)]);
        assert_eq!(allocate(500_000, &[camera(None)]), vec![f(1)]);
    }

    #[test]
    fn the_lowest_layer_is_kept_even_over_budget() {
        assert_eq!(allocate(10_000, &[camera(None)]), vec![f(0)]);
        // Of two, the first listed counts as the larger tile; the other goes dark.
        assert_eq!(
            allocate(10_000, &[camera(None), camera(None)]),
            vec![f(0), None]
        );
    }

    #[test]
    fn a_small_tile_never_gets_more_than_it_shows() {
        assert_eq!(allocate(10_000_000, &[camera(Some(80))]), vec![f(0)]);
        assert_eq!(allocate(10_000_000, &[camera(Some(300))]), vec![f(2)]);
        assert_eq!(allocate(10_000_000, &[camera(Some(150))]), vec![f(1)]);
    }

    #[test]
    fn the_budget_is_shared_step_by_step() {
        // 1.0 Mbit/s: both get the middle layer before either gets the top.
        assert_eq!(
            allocate(1_000_000, &[camera(None), camera(None)]),
            vec![f(1), f(1)]
        );
    }

    #[test]
    fn a_layer_the_publisher_stopped_is_skipped() {
        let mut t = camera(None);
        t.layers[2] = None;
        assert_eq!(allocate(10_000_000, &[t.clone()]), vec![f(1)]);
        t.layers = vec![None, None, Some(900_000)];
        assert_eq!(allocate(1000, &[t]), vec![f(2)]);
    }

    #[test]
    fn holding_a_layer_needs_less_than_reaching_it() {
        // 330 kbit/s covers the middle layer, not with the headroom an upgrade needs.
        assert_eq!(allocate(330_000, &[camera(None)]), vec![f(0)]);
        let mut held = camera(None);
        held.current = f(1);
        assert_eq!(allocate(330_000, &[held]), vec![f(1)]);
    }

    #[test]
    fn after_a_step_down_steps_up_wait_longer_each_time() {
        let t0 = Instant::now();
        let mut hold = UpgradeHold::default();
        let mut top = camera(None);
        top.current = f(2);
        // The link shrinks: down to the lowest layer, at once.
        let mut chosen = vec![f(0)];
        hold.apply(t0, &[top.clone()], &mut chosen);
        assert_eq!(chosen, vec![f(0)]);
        // It grows again within the hold: no step up yet.
        let mut low = camera(None);
        low.current = f(0);
        let mut chosen = vec![f(2)];
        hold.apply(t0 + Duration::from_secs(1), &[low.clone()], &mut chosen);
        assert_eq!(chosen, vec![f(0)]);
        // After it, when the estimate has allowed it for 3 s, one layer at a time.
        let mut chosen = vec![f(2)];
        hold.apply(t0 + Duration::from_secs(3), &[low.clone()], &mut chosen);
        assert_eq!(chosen, vec![f(0)], "allowed for 2 s only");
        let mut chosen = vec![f(2)];
        hold.apply(t0 + Duration::from_secs(4), &[low.clone()], &mut chosen);
        assert_eq!(chosen, vec![f(1)]);
        // And the next step up waits until that one has held a while.
        let mut mid = camera(None);
        mid.current = f(1);
        let mut chosen = vec![f(2)];
        hold.apply(
            t0 + Duration::from_millis(4500),
            &[mid.clone()],
            &mut chosen,
        );
        assert_eq!(chosen, vec![f(1)]);
        // A second step down soon after holds twice as long.
        let mut chosen = vec![f(0)];
        hold.apply(t0 + Duration::from_secs(5), &[mid], &mut chosen);
        let mut chosen = vec![f(1)];
        hold.apply(t0 + Duration::from_secs(8), &[low.clone()], &mut chosen);
        assert_eq!(chosen, vec![f(0)], "held 4 s this time");
        let mut chosen = vec![f(1)];
        hold.apply(t0 + Duration::from_secs(11), &[low], &mut chosen);
        assert_eq!(chosen, vec![f(1)]);
    }

    #[test]
    fn soon_after_a_step_down_a_brief_leap_of_the_estimate_is_not_taken() {
        let t0 = Instant::now();
        let mut hold = UpgradeHold::default();
        let mut top = camera(None);
        top.current = f(2);
        let mut chosen = vec![f(0)];
        hold.apply(t0, &[top], &mut chosen);
        let mut low = camera(None);
        low.current = f(0);
        let at = |ms| t0 + Duration::from_millis(ms);
        // Long after the hold, a probe makes the estimate leap for 2.5 s, then it falls back.
        for ms in [20_000, 21_000, 22_500] {
            let mut chosen = vec![f(2)];
            hold.apply(at(ms), &[low.clone()], &mut chosen);
            assert_eq!(chosen, vec![f(0)], "not taken at {ms} ms");
        }
        let mut chosen = vec![f(0)];
        hold.apply(at(23_000), &[low.clone()], &mut chosen);
        // A leap that lasts is taken, 3 s after it began.
        for ms in [24_000, 26_000] {
            let mut chosen = vec![f(2)];
            hold.apply(at(ms), &[low.clone()], &mut chosen);
            assert_eq!(chosen, vec![f(0)], "not yet at {ms} ms");
        }
        let mut chosen = vec![f(2)];
        hold.apply(at(27_000), &[low.clone()], &mut chosen);
        assert_eq!(chosen, vec![f(1)]);
        // Soon after a step down, one rung at a time, frame rate too.
        let mut t = layered(None);
        t.current = slow(0);
        let mut chosen = vec![f(2)];
        hold.apply(at(29_000), std::slice::from_ref(&t), &mut chosen);
        assert_eq!(chosen, vec![slow(1)]);
        t.current = slow(1);
        let mut chosen = vec![f(2)];
        hold.apply(at(29_500), std::slice::from_ref(&t), &mut chosen);
        assert_eq!(chosen, vec![slow(1)], "not so soon after the last");
        // Long after the last step down, a step up comes at once.
        let mut fresh = UpgradeHold::default();
        let mut chosen = vec![f(2)];
        fresh.apply(at(27_000), &[low], &mut chosen);
        assert_eq!(chosen, vec![f(1)]);
    }

    #[test]
    fn a_smaller_tile_is_no_reason_to_hold() {
        let t0 = Instant::now();
        let mut hold = UpgradeHold::default();
        let mut shrunk = camera(Some(80));
        shrunk.current = f(2);
        let mut chosen = vec![f(0)];
        hold.apply(t0, &[shrunk], &mut chosen);
        let mut grown = camera(None);
        grown.current = f(0);
        let mut chosen = vec![f(2)];
        hold.apply(t0 + Duration::from_millis(500), &[grown], &mut chosen);
        assert_eq!(chosen, vec![f(1)], "one step, not held");
    }

    #[test]
    fn the_next_step_is_one_rung_up_for_the_largest_tile_first() {
        let tracks = [camera(Some(80)), camera(None)];
        // Both on the lowest layer: the untiled camera (the largest) goes up a layer first, with
        // the headroom a step up needs.
        let low = [f(0), f(0)];
        assert_eq!(next_step(&tracks, &low), Some(480_000));
        // It has its top layer; the small tile has all it shows: nothing to probe for.
        assert_eq!(next_step(&tracks, &[f(0), f(2)]), None);
        // A dark thumbnail comes back at its lowest rung.
        assert_eq!(next_step(&tracks, &[None, f(2)]), Some(1_200_000));
    }

    /// A camera whose layers are in three temporal layers: its lowest at 50 and 75 kbit/s.
    fn layered(tile: Option<u32>) -> Track {
        Track {
            reduced: vec![50_000, 75_000],
            ..camera(tile)
        }
    }

    #[test]
    fn a_link_too_narrow_for_the_lowest_layer_gets_it_at_a_lower_frame_rate() {
        assert_eq!(allocate(10_000, &[layered(None)]), vec![slow(0)]);
        assert_eq!(allocate(95_000, &[layered(None)]), vec![slow(1)]);
        assert_eq!(allocate(125_000, &[layered(None)]), vec![f(0)]);
        assert_eq!(allocate(5_000_000, &[layered(None)]), vec![f(2)]);
        // Two cameras share it: both at a quarter rate before either gets half.
        assert_eq!(
            allocate(155_000, &[layered(None), layered(None)]),
            vec![slow(1), slow(0)]
        );
        assert_eq!(cost(&[layered(None)], &[slow(1)]), 75_000);
    }

    #[test]
    fn a_weak_viewer_of_a_camera_without_temporal_layers_gets_a_smaller_layer_at_full_rate() {
        // Chromium's lowest layer has two lower frame rates (L1T3); Firefox's one (it sends
        // two temporal layers whatever the page asks); a camera without them has none, and
        // a shrinking link only ever moves its viewer to a smaller layer.
        let firefox = Track {
            reduced: vec![50_000],
            ..camera(None)
        };
        for (budget, none, two) in [
            (5_000_000, f(2), f(2)),
            (500_000, f(1), f(1)),
            (200_000, f(0), f(0)),
            (95_000, f(0), slow(0)),
            (10_000, f(0), slow(0)),
        ] {
            assert_eq!(allocate(budget, &[camera(None)]), vec![none], "{budget}");
            assert_eq!(
                allocate(budget, std::slice::from_ref(&firefox)),
                vec![two],
                "{budget}"
            );
        }
        // A viewer on the top layer whose link shrinks goes down a layer, and stays on it.
        let t0 = Instant::now();
        let mut hold = UpgradeHold::default();
        let mut top = camera(None);
        top.current = f(2);
        let mut chosen = allocate(200_000, std::slice::from_ref(&top));
        hold.apply(t0, &[top], &mut chosen);
        assert_eq!(chosen, vec![f(0)]);
        // Two such cameras on a link too weak for both: the thumbnail goes dark, and the
        // larger tile keeps its full frame rate.
        let (thumbnail, featured) = (camera(Some(100)), camera(Some(500)));
        assert_eq!(allocate(60_000, &[thumbnail, featured]), vec![None, f(0)]);
    }

    #[test]
    fn the_largest_tile_gets_its_frames_back_first() {
        // A thumbnail listed first and the featured speaker: the speaker is raised first.
        let (thumbnail, featured) = (layered(Some(100)), layered(Some(500)));
        assert_eq!(
            allocate(155_000, &[thumbnail, featured]),
            vec![slow(0), slow(1)]
        );
    }

    #[test]
    fn frame_rate_comes_back_at_once_and_a_larger_layer_one_at_a_time() {
        let t0 = Instant::now();
        let mut hold = UpgradeHold::default();
        let mut t = layered(None);
        t.current = slow(0);
        let mut chosen = vec![f(2)];
        hold.apply(t0, &[t.clone()], &mut chosen);
        assert_eq!(chosen, vec![f(1)], "full rate, and one larger layer");
        t.current = f(1);
        let mut chosen = vec![f(2)];
        hold.apply(t0 + Duration::from_millis(500), &[t.clone()], &mut chosen);
        assert_eq!(chosen, vec![f(1)], "the next larger one waits");
        // Down to a quarter of the frame rate for bandwidth: that holds later steps up too.
        let mut chosen = vec![slow(0)];
        hold.apply(t0 + Duration::from_secs(2), &[t.clone()], &mut chosen);
        t.current = slow(0);
        let mut chosen = vec![f(0)];
        hold.apply(t0 + Duration::from_secs(3), &[t], &mut chosen);
        assert_eq!(chosen, vec![slow(0)]);
    }

    #[test]
    fn on_a_link_too_weak_for_every_camera_the_thumbnails_go_dark_first() {
        let (thumbnail, featured) = (layered(Some(100)), layered(Some(500)));
        // 60 kbit/s: the featured speaker at a quarter frame rate, the thumbnail off.
        let chosen = allocate(60_000, &[thumbnail.clone(), featured.clone()]);
        assert_eq!(chosen, vec![None, slow(0)]);
        assert!(is_off(&thumbnail, chosen[0]));
        // The largest stays on whatever the link.
        assert_eq!(
            allocate(1_000, &[thumbnail.clone(), featured.clone()]),
            vec![None, slow(0)]
        );
        // Off, the thumbnail comes back only with room to spare.
        let off = Track {
            off: true,
            ..thumbnail.clone()
        };
        assert_eq!(allocate(110_000, &[off.clone(), featured.clone()])[0], None);
        assert_eq!(
            allocate(125_000, &[off.clone(), featured.clone()])[0],
            slow(0)
        );
        // Turning off holds later steps up; back on, at the bottom rung.
        let t0 = Instant::now();
        let mut hold = UpgradeHold::default();
        let on = Track {
            current: slow(1),
            ..thumbnail.clone()
        };
        let mut chosen = vec![None];
        hold.apply(t0, &[on], &mut chosen);
        let mut chosen = vec![f(0)];
        hold.apply(
            t0 + Duration::from_secs(1),
            std::slice::from_ref(&off),
            &mut chosen,
        );
        assert_eq!(chosen, vec![None], "held");
        let mut chosen = vec![f(0)];
        hold.apply(
            t0 + Duration::from_secs(3),
            std::slice::from_ref(&off),
            &mut chosen,
        );
        assert_eq!(chosen, vec![None], "room for 2 s only");
        let mut chosen = vec![f(0)];
        hold.apply(t0 + Duration::from_secs(4), &[off], &mut chosen);
        assert_eq!(chosen, vec![slow(0)]);
    }
}
