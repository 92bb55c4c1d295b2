//! Housekeeping that runs on a fixed period until shutdown.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// Runs `work` every `period` (the first time at once) until `stop`. A
/// round that overruns delays the next instead of bunching them up.
pub async fn every<F, Fut>(period: Duration, stop: CancellationToken, mut work: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        work().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[tokio::test]
    async fn runs_every_period_and_ends_on_stop() {
        let rounds = Arc::new(AtomicUsize::new(0));
        let stop = CancellationToken::new();
        let counted = rounds.clone();
        let task = tokio::spawn(every(Duration::from_millis(5), stop.clone(), move || {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
            }
        }));
        let waited = tokio::time::timeout(Duration::from_secs(10), async {
            while rounds.load(Ordering::SeqCst) < 3 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
        .await;
        assert!(waited.is_ok(), "fewer than 3 rounds in 10 s");
        stop.cancel();
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("loop ends on stop")
            .unwrap();
        let after_stop = rounds.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(rounds.load(Ordering::SeqCst), after_stop);
    }
}
