//! Password hashing under a small concurrency limit. An argon2 hash takes a core for tens of
//! milliseconds; a login flood must not take every core from the media workers, so at most a
//! few hash at once, on the blocking pool, and a request that cannot get a slot soon is
//! answered "busy" instead of queueing without bound.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::error::HttpError;

pub struct HashGate {
    slots: Arc<Semaphore>,
    wait: Duration,
}

impl HashGate {
    pub fn new(concurrency: usize, wait: Duration) -> HashGate {
        HashGate {
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            wait,
        }
    }

    /// Runs `work` (a hash or a verification) on the blocking pool once a slot is free; 503
    /// with `Retry-After` when none frees up within the configured wait.
    pub async fn run<R: Send + 'static>(
        &self,
        work: impl FnOnce() -> R + Send + 'static,
    ) -> Result<R, HttpError> {
        let permit = tokio::time::timeout(self.wait, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| HttpError::busy(Duration::from_secs(1)))?
            .map_err(HttpError::internal)?;
        tokio::task::spawn_blocking(move || {
            let result = work();
            drop(permit);
            result
        })
        .await
        .map_err(HttpError::internal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_beyond_the_slots_is_refused_after_the_wait_not_queued() {
        let gate = Arc::new(HashGate::new(1, Duration::from_millis(50)));
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let busy = {
            let gate = gate.clone();
            tokio::spawn(async move { gate.run(move || release_rx.recv().is_ok()).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        let refused = gate.run(|| ()).await.unwrap_err();
        assert_eq!(
            refused.status(),
            axum::http::StatusCode::SERVICE_UNAVAILABLE
        );
        release_tx.send(()).unwrap();
        assert!(busy.await.unwrap().unwrap());
        assert!(
            gate.run(|| 7).await.is_ok_and(|v| v == 7),
            "the slot is free again"
        );
    }
}
