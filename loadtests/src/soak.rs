//! The soak: a long run (30 minutes by default) that prints, every interval (a minute), the
//! packets delivered, the server's CPU per forwarded packet and its memory, and fails when any
//! of them drifts more than 10 % from the first interval: a leak, a slowdown, or participants
//! falling away (the ten-minute run that lost everyone at 60 s would fail at the second line).
//! One interval of warm-up before the first is not judged (the layers are still climbing).
//! CPU per packet is judged as a three-interval median, since single minutes on shared cores
//! vary by about as much as the bound.

/// One interval of the soak.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Sample {
    /// Seconds since the measurement began, at the interval's end.
    pub at_s: u64,
    /// Packets the participants received per second.
    pub delivered_pps: f64,
    /// Server CPU seconds per million packets received (None without the server's counters).
    pub cpu_per_mpkt: Option<f64>,
    /// The server's resident memory at the interval's end, in MB.
    pub rss_mb: Option<f64>,
}

/// How far an interval may stray from the first one, by default (`--max-drift`).
pub const MAX_DRIFT_PERCENT: f64 = 10.0;

/// Says whether the soak held steady, and what drifted if not.
pub fn print_verdict(drifted: &[String], max_percent: f64) {
    if drifted.is_empty() {
        println!("  soak: delivery, CPU per packet and memory held within {max_percent} % of where they began");
    }
    for d in drifted {
        println!("  soak: DRIFT: {d}");
    }
}

pub fn print(sample: &Sample) {
    let opt = |v: Option<f64>, unit: &str| v.map_or("-".into(), |v| format!("{v:.2} {unit}"));
    println!(
        "  {:>5} s  {:>9.0} packets/s delivered  {:>16} CPU per Mpkt  {:>10} server memory",
        sample.at_s,
        sample.delivered_pps,
        opt(sample.cpu_per_mpkt, "s"),
        opt(sample.rss_mb, "MB"),
    );
}

/// What drifted, in words; empty when the run held steady. Delivery and memory are judged
/// minute by minute against the first interval: delivery may not move either way, memory may
/// not grow. CPU per packet varies a few percent from minute to minute on shared cores, so it
/// is judged as a trend: the median of each three intervals against the median of the first
/// three (a run of three intervals or fewer compares each one with the first).
pub fn drift(samples: &[Sample], max_percent: f64) -> Vec<String> {
    let max = max_percent / 100.0;
    let Some((base, rest)) = samples.split_first() else {
        return vec!["no interval was measured".into()];
    };
    let mut found = Vec::new();
    if base.delivered_pps <= 0.0 {
        found.push("nothing was delivered in the first interval".into());
        return found;
    }
    for s in rest {
        let change = s.delivered_pps / base.delivered_pps - 1.0;
        if change.abs() > max {
            found.push(format!(
                "at {} s delivery was {:.0} packets/s, {:+.1} % from {:.0}",
                s.at_s,
                s.delivered_pps,
                change * 100.0,
                base.delivered_pps
            ));
        }
        if let (Some(b), Some(v)) = (base.rss_mb, s.rss_mb) {
            if b > 0.0 && v / b - 1.0 > max {
                found.push(format!(
                    "at {} s the server's memory was {v:.1} MB, {:+.1} % from {b:.1}",
                    s.at_s,
                    (v / b - 1.0) * 100.0
                ));
            }
        }
    }
    found.extend(cpu_drift(samples, max));
    found
}

/// CPU per packet as a trend (see [`drift`]).
fn cpu_drift(samples: &[Sample], max: f64) -> Vec<String> {
    let cpu: Vec<(u64, f64)> = samples
        .iter()
        .filter_map(|s| s.cpu_per_mpkt.map(|c| (s.at_s, c)))
        .collect();
    let window = if cpu.len() > 3 { 3 } else { 1 };
    let Some(base) = cpu.get(..window).map(median) else {
        return Vec::new();
    };
    if base <= 0.0 {
        return Vec::new();
    }
    cpu.windows(window)
        .skip(1)
        .filter_map(|w| {
            let (at, v) = (w[w.len() - 1].0, median(w));
            (v / base - 1.0 > max).then(|| {
                format!(
                    "at {at} s the server used {v:.2} CPU s per million packets (median of {window} interval(s)), {:+.1} % from {base:.2}",
                    (v / base - 1.0) * 100.0
                )
            })
        })
        .collect()
}

fn median(values: &[(u64, f64)]) -> f64 {
    let mut v: Vec<f64> = values.iter().map(|(_, c)| *c).collect();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(at_s: u64, pps: f64, cpu: f64, rss: f64) -> Sample {
        Sample {
            at_s,
            delivered_pps: pps,
            cpu_per_mpkt: Some(cpu),
            rss_mb: Some(rss),
        }
    }

    #[test]
    fn a_steady_run_passes_and_each_kind_of_drift_fails() {
        let steady = [
            at(60, 11_400.0, 20.0, 50.0),
            at(120, 11_000.0, 21.5, 53.0),
            at(180, 11_900.0, 19.0, 54.9),
        ];
        assert!(
            drift(&steady, 10.0).is_empty(),
            "{:?}",
            drift(&steady, 10.0)
        );
        // The ten-minute run of the issue: delivery halved at the second minute.
        let falling = [at(60, 11_400.0, 20.0, 50.0), at(120, 5_760.0, 20.0, 50.0)];
        assert!(drift(&falling, 10.0)[0].contains("delivery"));
        let costly = [at(60, 11_400.0, 20.0, 50.0), at(120, 11_400.0, 22.5, 50.0)];
        assert!(drift(&costly, 10.0)[0].contains("CPU"));
        // Over a longer run one slow minute is noise, a slowdown that stays is drift.
        let cpu = |values: &[f64]| -> Vec<Sample> {
            values
                .iter()
                .enumerate()
                .map(|(i, c)| at(60 * (i as u64 + 1), 11_520.0, *c, 52.0))
                .collect()
        };
        let noisy = cpu(&[23.4, 24.6, 25.2, 26.4, 26.4, 29.0, 26.2, 24.7, 22.9]);
        assert!(drift(&noisy, 10.0).is_empty(), "{:?}", drift(&noisy, 10.0));
        let slowing = cpu(&[23.4, 24.6, 25.2, 26.4, 27.5, 28.0, 28.5, 29.0]);
        let found = drift(&slowing, 10.0);
        assert!(found.iter().any(|d| d.contains("CPU")), "{found:?}");
        let leaking = [at(60, 11_400.0, 20.0, 50.0), at(120, 11_400.0, 20.0, 56.0)];
        assert!(drift(&leaking, 10.0)[0].contains("memory"));
        // Cheaper or smaller is not drift; without the server's counters only delivery counts.
        let cheaper = [at(60, 11_400.0, 20.0, 50.0), at(120, 11_400.0, 15.0, 40.0)];
        assert!(drift(&cheaper, 10.0).is_empty());
        let blind = [
            Sample {
                cpu_per_mpkt: None,
                rss_mb: None,
                ..at(60, 100.0, 0.0, 0.0)
            },
            Sample {
                cpu_per_mpkt: None,
                rss_mb: None,
                ..at(120, 100.0, 0.0, 0.0)
            },
        ];
        assert!(drift(&blind, 10.0).is_empty());
        assert_eq!(drift(&[], 10.0).len(), 1);
        assert_eq!(drift(&[at(60, 0.0, 1.0, 1.0)], 10.0).len(), 1);
    }
}
