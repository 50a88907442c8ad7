//! Which simulcast layer each camera gets toward one subscriber: what fits its bandwidth
//! estimate, and no more than the tile it is shown in needs.

use std::time::{Duration, Instant};

/// One camera a subscriber receives, as the allocation sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Track {
    /// Bitrate of each layer, lowest first; `None` for a layer the publisher is not sending.
    pub(crate) layers: Vec<Option<u64>>,
    /// Picture height of each layer from its keyframes (0 unknown).
    pub(crate) heights: Vec<u16>,
    /// The tile's height in device pixels, when the page said; `None` means as good as fits.
    pub(crate) tile_height: Option<u32>,
    /// The layer it gets now, for hysteresis.
    pub(crate) current: Option<u8>,
}

/// A layer smaller than the tile by this factor still looks right (the browser scales up).
const TILE_SLACK: f64 = 0.8;

/// Upgrading needs this much headroom over the layer's rate, so that a rate near the estimate
/// does not flap between layers.
const UPGRADE_HEADROOM: f64 = 1.2;

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

/// Chooses a layer per track for `budget` bits per second. Every track with a layer gets at
/// least its lowest one, even over budget: a small picture is better than a frozen one. Then
/// tracks are raised one step at a time, in order, while the budget allows.
pub(crate) fn allocate(budget: u64, tracks: &[Track]) -> Vec<Option<u8>> {
    let caps: Vec<Option<u8>> = tracks.iter().map(tile_cap).collect();
    let mut chosen: Vec<Option<u8>> = tracks
        .iter()
        .map(|t| t.layers.iter().position(Option::is_some).map(|i| i as u8))
        .collect();
    let mut spent: u64 = tracks
        .iter()
        .zip(&chosen)
        .map(|(t, c)| c.and_then(|i| t.layers[i as usize]).unwrap_or(0))
        .sum();
    loop {
        let mut raised = false;
        for (i, t) in tracks.iter().enumerate() {
            let (Some(now), Some(cap)) = (chosen[i], caps[i]) else {
                continue;
            };
            let Some(next) = (now + 1..=cap).find(|l| t.layers[*l as usize].is_some()) else {
                continue;
            };
            let now_rate = t.layers[now as usize].unwrap_or(0);
            let next_rate = t.layers[next as usize].unwrap_or(0);
            let extra = next_rate.saturating_sub(now_rate);
            // Holding a layer it already has needs only the rate; reaching for one needs room.
            let headroom = if t.current.is_some_and(|c| c >= next) {
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
            return chosen;
        }
    }
}

/// The first pause before stepping up again after a step down for bandwidth.
const FIRST_HOLD: Duration = Duration::from_secs(2);
/// The longest pause: a link that keeps failing at a layer is tried again this seldom.
const LONGEST_HOLD: Duration = Duration::from_secs(16);
/// A step down this long after the last one starts the pauses from the first again.
const CALM: Duration = Duration::from_secs(30);
/// Steps up come at most this often: the estimate must hold before the next.
const STEP_UP_INTERVAL: Duration = Duration::from_millis(1500);

/// Keeps a subscriber on a squeezed link from flapping between layers: after a step down for
/// bandwidth there is no step up for a while, and the while doubles each time that happens
/// again soon. Steps up are one layer at a time, at most one per `STEP_UP_INTERVAL`.
#[derive(Debug, Clone, Default)]
pub(crate) struct UpgradeHold {
    until: Option<Instant>,
    hold: Duration,
    last_down: Option<Instant>,
    last_up: Option<Instant>,
}

impl UpgradeHold {
    /// Adjusts `chosen` (from [`allocate`]) against what each track gets now.
    pub(crate) fn apply(&mut self, now: Instant, tracks: &[Track], chosen: &mut [Option<u8>]) {
        let held = self.until.is_some_and(|t| now < t)
            || self
                .last_up
                .is_some_and(|t| now.saturating_duration_since(t) < STEP_UP_INTERVAL);
        let mut stepped_down = false;
        let mut stepped_up = false;
        for (t, choice) in tracks.iter().zip(chosen.iter_mut()) {
            let (Some(current), Some(wanted)) = (t.current, *choice) else {
                continue;
            };
            let current_active = t.layers.get(current as usize).is_some_and(Option::is_some);
            if wanted < current && current_active && tile_cap(t).is_some_and(|c| c >= current) {
                stepped_down = true;
            } else if wanted > current && current_active {
                *choice = Some(if held {
                    current
                } else {
                    stepped_up = true;
                    (current + 1..=wanted)
                        .find(|l| t.layers[*l as usize].is_some())
                        .unwrap_or(wanted)
                });
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

/// What the subscriber would want with unlimited bandwidth: the rates of every track's
/// tile-capped layer. The bandwidth estimator probes toward it.
pub(crate) fn desired(tracks: &[Track]) -> u64 {
    tracks
        .iter()
        .map(|t| tile_cap(t).and_then(|c| t.layers[c as usize]).unwrap_or(0))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn camera(tile: Option<u32>) -> Track {
        Track {
            layers: vec![Some(100_000), Some(300_000), Some(900_000)],
            heights: vec![90, 180, 360],
            tile_height: tile,
            current: None,
        }
    }

    #[test]
    fn a_wide_link_gets_the_top_layer_and_a_narrow_one_the_lowest() {
        assert_eq!(allocate(5_000_000, &[camera(None)]), vec![Some(2)]);
        assert_eq!(allocate(200_000, &[camera(None)]), vec![Some(0)]);
        assert_eq!(allocate(500_000, &[camera(None)]), vec![Some(1)]);
    }

    #[test]
    fn the_lowest_layer_is_kept_even_over_budget() {
        assert_eq!(
            allocate(10_000, &[camera(None), camera(None)]),
            vec![Some(0), Some(0)]
        );
    }

    #[test]
    fn a_small_tile_never_gets_more_than_it_shows() {
        assert_eq!(allocate(10_000_000, &[camera(Some(80))]), vec![Some(0)]);
        assert_eq!(allocate(10_000_000, &[camera(Some(300))]), vec![Some(2)]);
        assert_eq!(allocate(10_000_000, &[camera(Some(150))]), vec![Some(1)]);
    }

    #[test]
    fn the_budget_is_shared_step_by_step() {
        // 1.0 Mbit/s: both get the middle layer before either gets the top.
        assert_eq!(
            allocate(1_000_000, &[camera(None), camera(None)]),
            vec![Some(1), Some(1)]
        );
    }

    #[test]
    fn a_layer_the_publisher_stopped_is_skipped() {
        let mut t = camera(None);
        t.layers[2] = None;
        assert_eq!(allocate(10_000_000, &[t.clone()]), vec![Some(1)]);
        t.layers = vec![None, None, Some(900_000)];
        assert_eq!(allocate(1000, &[t]), vec![Some(2)]);
    }

    #[test]
    fn holding_a_layer_needs_less_than_reaching_it() {
        // 330 kbit/s covers the middle layer, not with the headroom an upgrade needs.
        assert_eq!(allocate(330_000, &[camera(None)]), vec![Some(0)]);
        let mut held = camera(None);
        held.current = Some(1);
        assert_eq!(allocate(330_000, &[held]), vec![Some(1)]);
    }

    #[test]
    fn after_a_step_down_steps_up_wait_longer_each_time() {
        let t0 = Instant::now();
        let mut hold = UpgradeHold::default();
        let mut top = camera(None);
        top.current = Some(2);
        // The link shrinks: down to the lowest layer, at once.
        let mut chosen = vec![Some(0)];
        hold.apply(t0, &[top.clone()], &mut chosen);
        assert_eq!(chosen, vec![Some(0)]);
        // It grows again within the hold: no step up yet.
        let mut low = camera(None);
        low.current = Some(0);
        let mut chosen = vec![Some(2)];
        hold.apply(t0 + Duration::from_secs(1), &[low.clone()], &mut chosen);
        assert_eq!(chosen, vec![Some(0)]);
        // After it, one layer at a time.
        let mut chosen = vec![Some(2)];
        hold.apply(t0 + Duration::from_secs(3), &[low.clone()], &mut chosen);
        assert_eq!(chosen, vec![Some(1)]);
        // And the next step up waits until that one has held a while.
        let mut mid = camera(None);
        mid.current = Some(1);
        let mut chosen = vec![Some(2)];
        hold.apply(
            t0 + Duration::from_millis(3500),
            &[mid.clone()],
            &mut chosen,
        );
        assert_eq!(chosen, vec![Some(1)]);
        // A second step down soon after holds twice as long.
        let mut chosen = vec![Some(0)];
        hold.apply(t0 + Duration::from_secs(4), &[mid], &mut chosen);
        let mut chosen = vec![Some(1)];
        hold.apply(t0 + Duration::from_secs(7), &[low.clone()], &mut chosen);
        assert_eq!(chosen, vec![Some(0)], "held 4 s this time");
        let mut chosen = vec![Some(1)];
        hold.apply(t0 + Duration::from_secs(9), &[low], &mut chosen);
        assert_eq!(chosen, vec![Some(1)]);
    }

    #[test]
    fn a_smaller_tile_is_no_reason_to_hold() {
        let t0 = Instant::now();
        let mut hold = UpgradeHold::default();
        let mut shrunk = camera(Some(80));
        shrunk.current = Some(2);
        let mut chosen = vec![Some(0)];
        hold.apply(t0, &[shrunk], &mut chosen);
        let mut grown = camera(None);
        grown.current = Some(0);
        let mut chosen = vec![Some(2)];
        hold.apply(t0 + Duration::from_millis(500), &[grown], &mut chosen);
        assert_eq!(chosen, vec![Some(1)], "one step, not held");
    }

    #[test]
    fn desired_is_the_capped_layers_sum() {
        assert_eq!(desired(&[camera(None), camera(Some(80))]), 1_000_000);
    }
}
