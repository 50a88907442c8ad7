//! What a run prints: a line per run, the table, and the ratios side by side.

use crate::{Row, Target};

pub(crate) fn print_row(r: &Row) {
    println!(
        "  => {:?}: {}/{} connected, {:.0} pkt/s forwarded, {:.2} CPU s per million, p50 {:.0} µs, p99 {:.0} µs, loss {:.2}%, {:.0} kB per participant",
        r.target, r.connected, r.participants, r.forwarded_pps, r.cpu_seconds_per_million,
        r.latency_p50_us, r.latency_p99_us, r.loss_percent, r.rss_per_participant_kb
    );
    for e in r.errors.iter().take(3) {
        println!("     error: {e}");
    }
}

pub(crate) fn print_table(rows: &[Row]) {
    println!();
    println!(
        "{:<9} {:>6} {:>6} {:>11} {:>11} {:>10} {:>12} {:>9} {:>9} {:>7} {:>7} {:>9} {:>11}",
        "target",
        "people",
        "meet",
        "fwd pkt/s",
        "server fwd",
        "CPU s/Mpkt",
        "pkt/CPU-s",
        "p50 µs",
        "p99 µs",
        "loss %",
        "thin %",
        "kB/person",
        "q/h/f %"
    );
    for r in rows {
        println!(
            "{:<9} {:>6} {:>6} {:>11.0} {:>11} {:>10.2} {:>12.0} {:>9.0} {:>9.0} {:>7.2} {:>7} {:>9.0} {:>11}",
            label(r),
            r.participants,
            r.meetings,
            r.forwarded_pps,
            r.server_forwarded_pps
                .map_or("-".into(), |f| format!("{f:.0}")),
            r.cpu_seconds_per_million,
            r.packets_per_cpu_second,
            r.latency_p50_us,
            r.latency_p99_us,
            r.loss_percent,
            r.thinned_percent.map_or("-".into(), |t| format!("{t:.2}")),
            r.rss_per_participant_kb,
            r.video_layers_percent
                .map(|p| format!("{p:.0}"))
                .join("/")
        );
    }
    print_phone_cost(rows);
    // Side by side: the same load on each target.
    for s in rows
        .iter()
        .filter(|r| r.target == Target::Sluss && r.phone_legs_asked == 0)
    {
        if let Some(j) = rows
            .iter()
            .find(|r| r.target == Target::Janus && r.participants == s.participants)
        {
            println!(
                "{} people: Sluss uses {:.2}x Janus's CPU per forwarded packet (p99 {:.0} µs vs {:.0} µs)",
                s.participants,
                s.cpu_seconds_per_million / j.cpu_seconds_per_million,
                s.latency_p99_us,
                j.latency_p99_us
            );
        }
        if let Some(n) = rows
            .iter()
            .find(|r| r.target == Target::Null && r.participants == s.participants)
        {
            println!(
                "{} people: Sluss uses {:.1}x the null relay's CPU per forwarded packet; reaches {:.0}% of its packets per CPU-second",
                s.participants,
                s.cpu_seconds_per_million / n.cpu_seconds_per_million,
                100.0 * s.packets_per_cpu_second / n.packets_per_cpu_second
            );
        }
    }
}

fn label(r: &Row) -> String {
    let target = format!("{:?}", r.target).to_lowercase();
    if r.phone_legs_asked > 0 {
        format!("{target}+tel")
    } else {
        target
    }
}

/// The phone scenario: what the legs added to Sluss's CPU, per leg, from the run without
/// phones and the run with them.
fn print_phone_cost(rows: &[Row]) {
    let cores = |r: &Row| r.server_cpu_seconds / r.seconds;
    for with in rows.iter().filter(|r| r.phone_legs > 0) {
        let Some(without) = rows.iter().find(|r| {
            r.target == with.target
                && r.phone_legs_asked == 0
                && r.participants == with.participants
        }) else {
            continue;
        };
        let per_leg = (cores(with) - cores(without)) / with.phone_legs as f64;
        println!(
            "{} phone legs in {} meetings of {}: Sluss used {:.1}% of a core without them and {:.1}% with them: {:.2}% of one core per phone leg",
            with.phone_legs,
            with.meetings,
            with.size,
            100.0 * cores(without),
            100.0 * cores(with),
            100.0 * per_leg
        );
    }
}
