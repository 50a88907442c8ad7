//! What the people who run Sluss see: monitoring on its own listener and never on the public
//! port, readiness that says "draining" at shutdown, Prometheus names, route templates instead
//! of paths, and a dashboard and alert rules that name only what the binary exports.

mod common;

use std::collections::BTreeSet;

use common::{join, start};

async fn get(url: String) -> (u16, String) {
    let resp = reqwest::get(url).await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test]
async fn monitoring_is_on_its_own_listener_and_names_routes_by_template() {
    let server = start().await;
    for path in ["/metrics", "/healthz", "/readyz"] {
        let (status, _) = get(server.url(path)).await;
        assert_eq!(status, 404, "{path} is not on the public port");
    }
    assert_eq!(get(server.ops_url("/healthz")).await, (200, "ok\n".into()));
    assert_eq!(
        get(server.ops_url("/readyz")).await,
        (200, "ready\n".into())
    );

    let (chair, _) = server.meeting(1).await;
    let (_ws, joined) = join(&server, &chair, "Anna").await;
    assert_eq!(joined["type"], "joined");
    // A path with an id in it: the numbers name the template, never the id.
    let http = reqwest::Client::new();
    let resp = http
        .delete(server.url("/api/v1/meetings/m_secretid123/invitations/i_other456"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let resp = http
        .get(server.url("/api/v1/login/methods?who=19121212-1212"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);

    let (status, text) = get(server.ops_url("/metrics")).await;
    assert_eq!(status, 200);
    for line in [
        "sluss_joins_total 1",
        "sluss_join_duration_seconds_count 1",
        "sluss_media_workers_running 1",
        "sluss_meetings_active 1",
        r#"sluss_http_request_duration_seconds_count{code="401",method="DELETE",route="/api/v1/meetings/{meeting_id}/invitations/{invitation_id}"} 1"#,
        r#"sluss_http_request_duration_seconds_count{code="200",method="GET",route="/api/v1/login/methods"} 1"#,
        r#"sluss_build_info{version=""#,
        r#"sluss_relay_received_datagrams_total{worker="0"}"#,
        r#"sluss_relay_dropped_datagrams_total{reason="malformed",worker="0"} 0"#,
        r#"sluss_media_worker_cpu_seconds_total{worker="0"}"#,
        "process_cpu_seconds_total ",
        "process_resident_memory_bytes ",
        "process_open_fds ",
        "process_start_time_seconds ",
        "sluss_data_dir_free_bytes ",
    ] {
        assert!(text.contains(line), "{line} in:\n{text}");
    }
    for private in ["m_secretid123", "i_other456", "19121212", "Anna"] {
        assert!(!text.contains(private), "{private} is not in the metrics");
    }
    let value = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or(f64::NAN)
    };
    assert!(value("sluss_data_dir_free_bytes ") > 0.0);
    assert!(value("process_resident_memory_bytes ") > 1e6);
    let started = value("process_start_time_seconds ");
    let now = sluss_signaling::unix_now() as f64;
    assert!(
        started > now - 3600.0 && started <= now + 1.0,
        "{started} vs {now}"
    );

    // The store gone (a lost disk, a closed pool): not ready, and says why.
    server.store.close().await;
    let (status, body) = get(server.ops_url("/readyz")).await;
    assert_eq!(status, 503);
    assert!(body.contains("store"), "{body}");

    // At shutdown the service drains: not ready, still alive, still counted.
    server.drain();
    let (status, body) = get(server.ops_url("/readyz")).await;
    assert_eq!(status, 503);
    assert!(body.contains("draining"), "{body}");
    assert_eq!(get(server.ops_url("/healthz")).await.0, 200);
}

/// Metric names in a PromQL text: `sluss_*` and `process_*` identifiers, histogram series
/// named by their family.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &text[i..];
        let boundary = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        if boundary && (rest.starts_with("sluss_") || rest.starts_with("process_")) {
            let len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            let name = &rest[..len];
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .unwrap_or(name);
            names.insert(family.to_owned());
            i += len;
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    names
}

#[tokio::test]
async fn the_dashboard_and_the_alerts_name_only_metrics_the_binary_exports() {
    let server = start().await;
    let exported: BTreeSet<String> = server.state.metrics().family_names().into_iter().collect();
    assert!(exported.contains("sluss_phone_calls_total"), "{exported:?}");
    assert!(
        exported.contains("process_cpu_seconds_total"),
        "{exported:?}"
    );
    assert!(
        exported.contains("sluss_join_duration_seconds"),
        "{exported:?}"
    );
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy");

    let dashboard = std::fs::read_to_string(format!("{root}/grafana/sluss.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&dashboard).expect("the dashboard is JSON");
    let mut exprs = Vec::new();
    for panel in json["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().into_iter().flatten() {
            exprs.push(
                target["expr"]
                    .as_str()
                    .expect("every target has a query")
                    .to_owned(),
            );
        }
    }
    assert!(exprs.len() >= 12, "{} queries", exprs.len());
    let rules = std::fs::read_to_string(format!("{root}/prometheus/sluss-alerts.yml")).unwrap();
    let exprs_text = exprs.join("\n");
    for (what, text) in [("dashboard", exprs_text.as_str()), ("alert rules", &rules)] {
        let named = metric_names(text);
        assert!(named.len() >= 8, "{what} names {named:?}");
        let unknown: Vec<_> = named.difference(&exported).collect();
        assert!(
            unknown.is_empty(),
            "the {what} name metrics Sluss does not export: {unknown:?}"
        );
    }
    assert_eq!(
        metric_names("rate(sluss_x_bucket[5m]) / process_y{a=\"sluss_not\"} + my_sluss_z"),
        ["process_y", "sluss_not", "sluss_x"]
            .map(String::from)
            .into(),
        "the name finder itself"
    );
}
