//! A running leg follows the trunk's re-offers: it sends to the new address (and takes the
//! trunk's media only from there), stops sending while the call is held, and starts again
//! when it is resumed. Real sockets on loopback; plain RTP (a trunk marked unencrypted), so
//! that what arrives can be counted as is.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use sluss_phone::bridge::Bridge;
use sluss_phone::leg_media::{self, LegControl, LegMedia, MediaUpdate};
use sluss_phone::rtp::Ssrc;
use sluss_phone::sdp::Codec;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// How many datagrams `socket` receives in `span`.
async fn count(socket: &UdpSocket, span: Duration) -> usize {
    let mut buf = [0u8; 1500];
    let mut n = 0;
    let deadline = tokio::time::Instant::now() + span;
    while let Ok(Ok(_)) = tokio::time::timeout_at(deadline, socket.recv_from(&mut buf)).await {
        n += 1;
    }
    n
}

fn update(remote: Option<SocketAddr>, sending: bool) -> LegControl {
    LegControl::Update(Box::new(MediaUpdate {
        remote,
        sending,
        crypto: None,
        telephone_event: Some(101),
        receiving: sending,
        bridge: None,
    }))
}

#[tokio::test]
async fn the_leg_moves_holds_and_resumes_as_the_trunk_re_offers() {
    let first = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let second = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let ours = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let leg = LegMedia {
        socket: ours,
        remote: first.local_addr().unwrap(),
        sending: true,
        crypto: None,
        telephone_event: Some(101),
        bridge: Bridge::new(Codec::Pcma, 8, Ssrc(0x1e9)).unwrap(),
        receiving: true,
        silence_limit: Duration::from_secs(60),
    };
    let (digits, _keys) = mpsc::channel(8);
    let (control, told) = mpsc::channel(4);
    let (silent, _) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(leg_media::run(leg, None, digits, told, silent));
    let span = Duration::from_millis(400);

    // A frame every 20 ms to the first address.
    assert!(
        count(&first, span).await >= 10,
        "nothing sent to the first address"
    );

    // Moved: everything goes to the second address now.
    control
        .send(update(Some(second.local_addr().unwrap()), true))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(60)).await;
    let (a, b) = tokio::join!(count(&first, span), count(&second, span));
    assert!(
        a <= 1 && b >= 10,
        "after the move: {a} to the old, {b} to the new"
    );

    // Held: nothing is sent.
    control.send(update(None, false)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert_eq!(count(&second, span).await, 0, "sent while held");

    // Resumed at the second address.
    control
        .send(update(Some(second.local_addr().unwrap()), true))
        .await
        .unwrap();
    assert!(
        count(&second, span).await >= 10,
        "nothing sent after resume"
    );

    drop(control);
    let stats = task.await.unwrap();
    assert!(stats.bridge.frames_to_phone >= 30);
}
