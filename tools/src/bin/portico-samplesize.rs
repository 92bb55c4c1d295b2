//! portico-samplesize: how many bytes one radio sample takes on disk.
//! Fills a store through the poller's own write path (`Samples::record`,
//! batches of polls as the writer task sends them) with a controller's
//! APs polled for a while, then reads the size of the radio tables and
//! their indexes (`dbstat` on SQLite, `pg_total_relation_size` on
//! PostgreSQL). `benches/samples/run.sh` runs it on both backends.

#![forbid(unsafe_code)]

use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use portico::store::aps::{NewAp, PollUpdate, SnmpSecret};
use portico::store::samples::{PollRecord, RadioSample};
use portico::store::Store;

#[derive(Parser, Debug)]
#[command(name = "portico-samplesize", version)]
struct Args {
    /// Store URL (empty: SQLite in a temporary data directory). A
    /// PostgreSQL database is emptied of APs first.
    #[arg(long, default_value = "")]
    database_url: String,
    /// APs (one controller's worth).
    #[arg(long, default_value_t = 690)]
    aps: u32,
    #[arg(long, default_value_t = 2)]
    radios: u32,
    /// Polls of every AP (240 = an hour at 15 s).
    #[arg(long, default_value_t = 240)]
    polls: u32,
    /// Seconds between polls (for the growth-per-minute figure).
    #[arg(long, default_value_t = 15)]
    interval_s: u32,
}

fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let dir = std::env::temp_dir().join(format!("portico-samplesize-{}", std::process::id()));
    let store = Store::open(&args.database_url, &dir, 4)
        .await
        .context("opening the store")?;
    for ap in store.aps().list().await? {
        store.aps().remove(&ap.spec.name).await?;
    }
    let mut ids = Vec::new();
    for n in 0..args.aps {
        let ap = store
            .aps()
            .add(&NewAp {
                name: format!("size-ap-{n:04}"),
                address: format!("10.{}.{}.{}", n / 65536 % 256, n / 256 % 256, n % 256),
                profile: "generic".into(),
                snmp: SnmpSecret::None,
                ..NewAp::default()
            })
            .await?;
        ids.push(ap.id);
    }
    let before = store.samples().radio_storage_bytes().await?;
    let started = Instant::now();
    let base_ms: i64 = 1_800_000_000_000;
    let mut batch = Vec::with_capacity(512);
    for poll in 0..args.polls {
        for (k, id) in ids.iter().enumerate() {
            let seed = mix(u64::from(poll) << 20 ^ k as u64);
            let radios = (0..args.radios)
                .map(|r| {
                    let s = mix(seed ^ u64::from(r));
                    RadioSample {
                        radio: format!("{}", r + 1),
                        channel: Some(if r % 2 == 0 { 6 } else { 36 }),
                        tx_power: Some(17 + (s % 4) as i64),
                        noise: Some(-95 + (s % 7) as i64),
                        utilization: Some((s % 80) as i64),
                        clients: Some((s % 25) as i64),
                    }
                })
                .collect();
            batch.push(PollRecord {
                update: PollUpdate {
                    ap_id: *id,
                    at_ms: base_ms + i64::from(poll) * i64::from(args.interval_s) * 1000,
                    ok: true,
                    status: "up".into(),
                    clients: Some(10),
                    ..PollUpdate::default()
                },
                radios,
                ..PollRecord::default()
            });
            if batch.len() == 512 {
                store.samples().record(&batch).await?;
                batch.clear();
            }
        }
    }
    store.samples().record(&batch).await?;
    let took = started.elapsed();
    let after = store.samples().radio_storage_bytes().await?;
    let samples = u64::from(args.aps) * u64::from(args.radios) * u64::from(args.polls);
    let bytes = u64::try_from(after - before).unwrap_or(0);
    let per_sample = bytes as f64 / samples as f64;
    let per_minute = per_sample
        * f64::from(args.aps)
        * f64::from(args.radios)
        * (60.0 / f64::from(args.interval_s));
    println!(
        "backend {:?}: {} APs x {} radios x {} polls = {samples} radio samples in {:.1} s",
        store.backend(),
        args.aps,
        args.radios,
        args.polls,
        took.as_secs_f64()
    );
    println!("radio tables grew {bytes} bytes: {per_sample:.1} bytes per radio sample");
    println!(
        "at a {} s interval: {:.2} MB a minute for this controller",
        args.interval_s,
        per_minute / 1e6
    );
    for ap in store.aps().list().await? {
        store.aps().remove(&ap.spec.name).await?;
    }
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
