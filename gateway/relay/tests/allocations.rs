//! Heap allocations on the forwarding path, counted by a counting allocator: one SRTP packet in
//! from a publisher, one out to each of four subscribers. The goal is none per forwarded packet
//! in steady state; today it is 1.5 (measured: 1212 allocations for 200 packets in and 800 out):
//! str0m hands each outgoing datagram over as a fresh buffer (one per packet out) and allocates
//! twice per packet it decrypts. This test pins the number so that it can only go down.
#![allow(unsafe_code)] // a GlobalAlloc is an unsafe trait; this one only counts and delegates.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::World;

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

// SAFETY: every call is passed unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn forwarding_allocates_a_bounded_amount_per_packet() {
    let mut w = World::new();
    w.join_many(1, 5);
    w.settle();
    let source = w.clients[0].addr;
    // Warm up: buffers, caches and queues reach their steady size.
    for _ in 0..5 {
        let packets = w.captured_video(0, 100);
        let now = w.now + Duration::from_millis(50);
        for p in &packets {
            w.relay.handle_receive(now, source, p);
            while w.relay.poll_transmit().is_some() {}
        }
        w.advance(Duration::from_millis(20), Duration::from_millis(20));
    }
    let packets = w.captured_video(0, 200);
    let now = w.now + Duration::from_millis(50);
    let mut forwarded = 0u64;
    ALLOCATIONS.store(0, Ordering::Relaxed);
    COUNTING.with(|c| c.set(true));
    for p in &packets {
        w.relay.handle_receive(now, source, p);
        while let Some(t) = w.relay.poll_transmit() {
            forwarded += 1;
            std::hint::black_box(&t);
        }
    }
    COUNTING.with(|c| c.set(false));
    let allocations = ALLOCATIONS.load(Ordering::Relaxed);
    let per_packet = allocations as f64 / forwarded.max(1) as f64;
    println!(
        "{} packets in, {forwarded} out, {allocations} allocations: {per_packet:.2} per forwarded packet",
        packets.len()
    );
    assert!(
        forwarded >= packets.len() as u64 * 4 * 9 / 10,
        "forwarded too little"
    );
    assert!(
        per_packet <= 2.0,
        "{per_packet:.2} allocations per forwarded packet"
    );
}
