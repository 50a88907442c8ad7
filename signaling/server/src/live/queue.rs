//! A connection's outbound queue: bounded in messages and bytes, never waited on by the
//! meeting's task. A page that does not keep up is a slow consumer and is let go.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;

use super::Outbound;

/// What may wait for one connection: a page that falls this far behind is a slow consumer
/// and is disconnected rather than waited for (the meeting's task never blocks on a socket).
/// Bursts a healthy page must absorb: a whole meeting arriving at once, or every participant
/// chatting at their rate limit, is far below both.
pub const OUTBOUND_QUEUE: usize = 1024;
pub const OUTBOUND_QUEUE_BYTES: usize = 1 << 20;

/// A frame waiting for its socket: the message already serialised, so its size is known.
#[derive(Debug)]
pub enum Queued {
    Text(String),
    /// Send this (if any) and close the socket.
    Close(Option<String>),
}

impl Queued {
    fn len(&self) -> usize {
        match self {
            Queued::Text(t) | Queued::Close(Some(t)) => t.len(),
            Queued::Close(None) => 0,
        }
    }
}

/// The meeting's end of a connection's bounded outbound queue.
#[derive(Debug, Clone)]
pub struct ConnTx {
    tx: mpsc::Sender<Queued>,
    shared: Arc<QueueState>,
}

#[derive(Debug, Default)]
struct QueueState {
    bytes: AtomicUsize,
    overflowed: AtomicBool,
}

impl ConnTx {
    /// Queues without waiting. A full queue marks the connection a slow consumer; its
    /// socket task then closes it.
    pub fn send(&self, message: Outbound) {
        let frame = match message {
            Outbound::Send(m) => Queued::Text(m.to_json()),
            Outbound::Close(m) => Queued::Close(m.map(|m| m.to_json())),
        };
        let len = frame.len();
        let queued = self.shared.bytes.fetch_add(len, Ordering::Relaxed) + len;
        let too_much = queued > OUTBOUND_QUEUE_BYTES && matches!(frame, Queued::Text(_));
        if too_much || self.tx.try_send(frame).is_err() {
            self.shared.bytes.fetch_sub(len, Ordering::Relaxed);
            if !self.tx.is_closed() {
                self.shared.overflowed.store(true, Ordering::Relaxed);
            }
        }
    }
}

/// The socket task's end of the queue.
#[derive(Debug)]
pub struct ConnRx {
    rx: mpsc::Receiver<Queued>,
    shared: Arc<QueueState>,
}

impl ConnRx {
    pub async fn recv(&mut self) -> Option<Queued> {
        let frame = self.rx.recv().await?;
        self.shared.bytes.fetch_sub(frame.len(), Ordering::Relaxed);
        Some(frame)
    }

    /// Whether the meeting had to drop a message for this connection.
    pub fn overflowed(&self) -> bool {
        self.shared.overflowed.load(Ordering::Relaxed)
    }
}

pub fn conn_channel() -> (ConnTx, ConnRx) {
    let (tx, rx) = mpsc::channel(OUTBOUND_QUEUE);
    let shared = Arc::new(QueueState::default());
    let tx = ConnTx {
        tx,
        shared: shared.clone(),
    };
    (tx, ConnRx { rx, shared })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluss_protocol::ServerMessage;

    #[tokio::test]
    async fn a_queue_nobody_reads_stops_growing_and_says_so() {
        let (tx, mut rx) = conn_channel();
        for _ in 0..OUTBOUND_QUEUE {
            tx.send(Outbound::Send(ServerMessage::Pong));
        }
        assert!(!rx.overflowed(), "a burst within the bound is fine");
        tx.send(Outbound::Send(ServerMessage::Pong));
        assert!(rx.overflowed(), "one more is a slow consumer");
        let mut n = 0;
        while let Ok(Some(_)) =
            tokio::time::timeout(std::time::Duration::from_millis(10), rx.recv()).await
        {
            n += 1;
        }
        assert_eq!(n, OUTBOUND_QUEUE, "nothing past the bound was kept");
    }

    #[tokio::test]
    async fn large_messages_are_bounded_by_bytes() {
        let (tx, rx) = conn_channel();
        let sdp = "a".repeat(100_000); // 100 kB serialised
        for _ in 0..10 {
            tx.send(Outbound::Send(ServerMessage::Answer { sdp: sdp.clone() }));
        }
        assert!(!rx.overflowed());
        tx.send(Outbound::Send(ServerMessage::Answer { sdp }));
        assert!(rx.overflowed(), "past 1 MiB");
        assert!(rx.shared.bytes.load(Ordering::Relaxed) <= OUTBOUND_QUEUE_BYTES);
    }

    #[tokio::test]
    async fn a_closed_socket_is_not_a_slow_consumer() {
        let (tx, rx) = conn_channel();
        drop(rx);
        tx.send(Outbound::Send(ServerMessage::Pong));
        // Nothing to assert on the receiver; the sender must simply not panic or grow.
        assert_eq!(tx.shared.bytes.load(Ordering::Relaxed), 0);
    }
}
