//! Events from polling, reachability and traps, written to the store by one
//! task through a bounded queue (a flood of traps never blocks polling;
//! what does not fit is dropped and counted).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::store::Store;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRecord {
    pub at_ms: i64,
    /// e.g. `ap-down`, `ap-up`, `trap`, `alert-raised`, `alert-cleared`.
    pub kind: String,
    /// The AP or controller name (or the address of an unknown sender).
    pub source: String,
    pub severity: String,
    pub message: String,
}

#[derive(Clone, Debug)]
pub struct EventSink {
    tx: mpsc::Sender<EventRecord>,
    dropped: Arc<AtomicU64>,
}

impl EventSink {
    /// Queues the event; false (and counted) when the queue is full.
    pub fn emit(&self, ev: EventRecord) -> bool {
        tracing::info!(kind = %ev.kind, source = %ev.source, severity = %ev.severity, "{}", ev.message);
        if self.tx.try_send(ev).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        true
    }

    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// Starts the writer; it stops once every sink clone is dropped.
pub fn spawn_writer(store: Store, capacity: usize) -> (EventSink, JoinHandle<()>) {
    let (tx, mut rx) = mpsc::channel::<EventRecord>(capacity.max(1));
    let handle = tokio::spawn(async move {
        while let Some(ev) = rx.recv().await {
            if let Err(e) = store
                .events()
                .record(&ev.kind, &ev.source, &ev.severity, &ev.message, ev.at_ms)
                .await
            {
                tracing::warn!(error = %e, kind = %ev.kind, "cannot store event");
            }
        }
    });
    (
        EventSink {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
        },
        handle,
    )
}

/// A sink whose events go to the returned receiver (tests, simulator).
pub fn channel(capacity: usize) -> (EventSink, mpsc::Receiver<EventRecord>) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    (
        EventSink {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
        },
        rx,
    )
}
