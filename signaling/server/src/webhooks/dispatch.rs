//! Sends the queued webhooks: each once a second at most, signed, with a 10 s deadline;
//! a 2xx is delivered, anything else is tried again after [`super::RETRY_DELAYS_SECS`] and
//! given up after the last. Failures are logged with the endpoint's name and the status only.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tracing::{info, warn};

use super::{signature, Endpoint, RETRY_DELAYS_SECS};
use crate::store::{PendingWebhook, Store};
use crate::{unix_now, Metrics};

/// Webhooks taken from the queue per round.
const BATCH: i64 = 20;
const TICK: Duration = Duration::from_secs(1);
const DEADLINE: Duration = Duration::from_secs(10);

/// Starts the dispatcher; it stops when `shutdown` turns true (what is left stays queued).
pub fn start(
    store: Store,
    endpoints: Vec<Endpoint>,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
) {
    if endpoints.is_empty() {
        return;
    }
    store.set_webhook_routes(
        endpoints
            .iter()
            .map(|e| (e.name.clone(), e.events.clone()))
            .collect(),
    );
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(DEADLINE)
        .build()
        .expect("an HTTP client with rustls");
    let endpoints = Arc::new(endpoints);
    tokio::spawn(async move {
        let mut rounds: u64 = 0;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(TICK) => {}
                _ = shutdown.changed() => return,
            }
            if *shutdown.borrow() {
                return;
            }
            let now = unix_now();
            let due = match store.due_webhooks(now, BATCH).await {
                Ok(due) => due,
                Err(e) => {
                    warn!(error = %e, "webhooks: cannot read the queue");
                    continue;
                }
            };
            let sends = due.into_iter().map(|w| {
                let (http, store, endpoints, metrics) = (
                    http.clone(),
                    store.clone(),
                    endpoints.clone(),
                    metrics.clone(),
                );
                async move { send(&http, &store, &endpoints, &metrics, w).await }
            });
            futures_util::future::join_all(sends).await;
            if let Ok(n) = store.webhooks_pending().await {
                metrics.webhooks_pending.set(n);
            }
            rounds += 1;
            if rounds.is_multiple_of(3600) {
                if let Ok(n) = store.prune_webhooks(unix_now()).await {
                    if n > 0 {
                        info!(removed = n, "webhooks: old deliveries forgotten");
                    }
                }
            }
        }
    });
}

async fn send(
    http: &reqwest::Client,
    store: &Store,
    endpoints: &[Endpoint],
    metrics: &Metrics,
    webhook: PendingWebhook,
) {
    let now = unix_now();
    let Some(endpoint) = endpoints.iter().find(|e| e.name == webhook.endpoint) else {
        // An endpoint removed from the configuration: its queue is given up.
        let _ = store
            .webhook_attempted(&webhook.id, None, false, None, now)
            .await;
        return;
    };
    let signed = signature(&endpoint.secret, &webhook.id, now, &webhook.payload);
    let result = http
        .post(&endpoint.url)
        .header("content-type", "application/json")
        .header("webhook-id", &webhook.id)
        .header("webhook-timestamp", now.to_string())
        .header("webhook-signature", signed)
        .body(webhook.payload.clone())
        .send()
        .await;
    let status = result.as_ref().ok().map(|r| r.status().as_u16());
    let delivered = status.is_some_and(|s| (200..300).contains(&s));
    let retry_at = if delivered {
        None
    } else {
        RETRY_DELAYS_SECS
            .get(usize::try_from(webhook.attempts).unwrap_or(usize::MAX))
            .map(|delay| now + delay)
    };
    let outcome = match (delivered, retry_at) {
        (true, _) => "delivered",
        (false, Some(_)) => "failed",
        (false, None) => "given_up",
    };
    if !delivered {
        let reason = match (&result, status) {
            (_, Some(s)) => format!("status {s}"),
            (Err(e), None) if e.is_timeout() => "no answer within 10 s".to_owned(),
            (Err(_), None) => "could not connect".to_owned(),
            (Ok(_), None) => "no status".to_owned(),
        };
        warn!(endpoint = %endpoint.name, attempt = webhook.attempts + 1, %reason, outcome, "webhook not delivered");
    }
    metrics
        .webhook_deliveries
        .with_label_values(&[endpoint.name.as_str(), outcome])
        .inc();
    if let Err(e) = store
        .webhook_attempted(&webhook.id, status, delivered, retry_at, now)
        .await
    {
        warn!(error = %e, "webhooks: cannot record an attempt");
    }
}
