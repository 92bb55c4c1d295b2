//! Coverage prediction benchmark (issue 14): a 100 m × 60 m floor at
//! 0.25 m (96,000 cells), 30 APs and 200 walls, three bands, on one core;
//! then how the cost grows with cells × APs, and a 20-floor building.
//! Writes the scene and the results for `benches/coverage/reference.py`
//! (NumPy, same model) to compare against.
//!
//!   portico-coverage-bench --out DIR [--naive]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use portico::coverage::model::{
    predict, predict_bands, predict_floors, predict_naive, Band, FloorJob, Grid, Params,
    Transmitter, Wall,
};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

#[derive(Parser)]
struct Args {
    /// Where scene.json and the rust-BAND-*.f64 results go.
    #[arg(long)]
    out: PathBuf,
    /// Also time the plain every-wall-for-every-cell evaluation.
    #[arg(long)]
    naive: bool,
}

const CHANNELS: [&[i64]; 3] = [
    &[1, 6, 11],
    &[36, 40, 44, 48, 149, 153, 157, 161],
    &[5, 21, 37, 53, 69, 85],
];

fn grid(width_m: f64, height_m: f64, res: f64) -> Grid {
    Grid {
        origin_x: 0.0,
        origin_y: 0.0,
        width: (width_m / res).round() as usize,
        height: (height_m / res).round() as usize,
        resolution_m: res,
    }
}

/// `n` APs on a jittered grid over the floor, on `level`, per band.
fn aps(rng: &mut SmallRng, n: usize, level: i32, w: f64, h: f64) -> [Vec<Transmitter>; 3] {
    let cols = ((n as f64 * w / h).sqrt().ceil() as usize).max(1);
    let rows = n.div_ceil(cols);
    let mut out: [Vec<Transmitter>; 3] = Default::default();
    for k in 0..n {
        let (c, r) = (k % cols, k / cols);
        let x = (c as f64 + 0.5) * w / cols as f64 + rng.gen_range(-2.0..2.0);
        let y = (r as f64 + 0.5) * h / rows as f64 + rng.gen_range(-2.0..2.0);
        for band in Band::ALL {
            let b = band.index();
            let chans = CHANNELS[b];
            let channel = chans[(k + r) % chans.len()];
            out[b].push(Transmitter {
                level,
                x,
                y,
                z: 2.8,
                tx_power_dbm: [17.0, 20.0, 20.0][b] + f64::from(rng.gen_range(-3i32..=3)),
                antenna_gain_dbi: 3.0,
                freq_mhz: band.channel_mhz(channel).unwrap_or(band.default_mhz()),
                channel: Some(channel),
                noise_dbm: if k % 4 == 0 {
                    None
                } else {
                    Some(-95.0 + rng.gen_range(0.0..6.0))
                },
            });
        }
    }
    out
}

/// `n` walls: long corridor walls and room partitions, mixed materials.
fn walls(rng: &mut SmallRng, n: usize, w: f64, h: f64) -> Vec<Wall> {
    let losses = [
        [3.0, 4.0, 5.0],
        [2.0, 3.0, 4.0],
        [8.0, 10.0, 12.0],
        [12.0, 15.0, 17.0],
        [20.0, 25.0, 28.0],
    ];
    (0..n)
        .map(|k| {
            let (x1, y1) = (rng.gen_range(0.0..w), rng.gen_range(0.0..h));
            let len = if k % 10 == 0 {
                rng.gen_range(20.0..60.0)
            } else {
                rng.gen_range(2.0..10.0)
            };
            let (x2, y2) = match k % 3 {
                0 => ((x1 + len).min(w), y1),
                1 => (x1, (y1 + len).min(h)),
                _ => {
                    let a: f64 = rng.gen_range(0.0..std::f64::consts::PI);
                    (
                        (x1 + len * a.cos()).clamp(0.0, w),
                        (y1 + len * a.sin()).clamp(0.0, h),
                    )
                }
            };
            Wall {
                x1,
                y1,
                x2,
                y2,
                loss_db: losses[k % losses.len()],
            }
        })
        .collect()
}

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        let r = f();
        best = best.min(t.elapsed());
        last = Some(r);
    }
    (best, last.expect("runs > 0"))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn write_f64(path: PathBuf, values: impl Iterator<Item = f64>) -> anyhow::Result<()> {
    let bytes: Vec<u8> = values.flat_map(f64::to_le_bytes).collect();
    std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.out)?;
    let (w, h) = (100.0, 60.0);
    let mut rng = SmallRng::seed_from_u64(14);
    let g = grid(w, h, 0.25);
    let tx = aps(&mut rng, 30, 0, w, h);
    let wl = walls(&mut rng, 200, w, h);
    let params = Band::ALL.map(Params::office);

    // The main figure: three bands, one floor, one core.
    let lists = [&tx[0][..], &tx[1][..], &tx[2][..]];
    let (took, results) = best_of(5, || predict_bands(&g, 0, lists, &wl, &params));
    println!(
        "rust: 3 bands, {} cells, 30 APs, 200 walls: {:.1} ms (best of 5, one core)",
        g.cells(),
        ms(took)
    );
    if args.naive {
        let (naive, _) = best_of(1, || {
            Band::ALL.map(|b| predict_naive(&g, 0, &tx[b.index()], &wl, b, &params[b.index()]))
        });
        println!("rust, every wall for every cell: {:.1} ms", ms(naive));
    }

    // The scene and results for the NumPy comparison.
    let label = ["2.4", "5", "6"];
    let tx_json = |ts: &[Transmitter]| {
        ts.iter()
            .map(|t| {
                json!({"level": t.level, "x": t.x, "y": t.y, "z": t.z, "tx_power_dbm": t.tx_power_dbm,
                       "antenna_gain_dbi": t.antenna_gain_dbi, "freq_mhz": t.freq_mhz,
                       "channel": t.channel, "noise_dbm": t.noise_dbm})
            })
            .collect::<Vec<_>>()
    };
    let scene = json!({
        "grid": {"origin_x": g.origin_x, "origin_y": g.origin_y, "width": g.width, "height": g.height, "resolution_m": g.resolution_m},
        "level": 0,
        "params": {
            "2.4": {"n": params[0].n, "slab_db": params[0].slab_db, "receiver_height_m": params[0].receiver_height_m, "floor_height_m": params[0].floor_height_m},
            "5": {"n": params[1].n, "slab_db": params[1].slab_db, "receiver_height_m": params[1].receiver_height_m, "floor_height_m": params[1].floor_height_m},
            "6": {"n": params[2].n, "slab_db": params[2].slab_db, "receiver_height_m": params[2].receiver_height_m, "floor_height_m": params[2].floor_height_m},
        },
        "transmitters": {"2.4": tx_json(&tx[0]), "5": tx_json(&tx[1]), "6": tx_json(&tx[2])},
        "walls": wl.iter().map(|w| json!({"x1": w.x1, "y1": w.y1, "x2": w.x2, "y2": w.y2, "loss_db": w.loss_db})).collect::<Vec<_>>(),
    });
    std::fs::write(args.out.join("scene.json"), serde_json::to_vec(&scene)?)?;
    for (b, r) in results.iter().enumerate() {
        let name = |what: &str| args.out.join(format!("rust-{}-{what}.f64", label[b]));
        write_f64(name("best"), r.best_dbm.iter().copied())?;
        write_f64(
            name("second"),
            r.second_dbm.iter().map(|s| s.unwrap_or(f64::NAN)),
        )?;
        write_f64(name("snr"), r.snr_db.iter().copied())?;
        write_f64(
            name("contention"),
            r.contention.iter().map(|&c| f64::from(c)),
        )?;
    }

    // Growth: time per cell × AP as APs and cells grow (walls fixed).
    println!("growth (5 GHz, 200 walls): cells, APs, ms, ns per cell x AP");
    for (res, n) in [
        (0.5, 10),
        (0.5, 30),
        (0.25, 10),
        (0.25, 30),
        (0.25, 60),
        (0.125, 30),
    ] {
        let g = grid(w, h, res);
        let mut rng = SmallRng::seed_from_u64(n as u64);
        let tx = aps(&mut rng, n, 0, w, h);
        let (took, _) = best_of(3, || predict(&g, 0, &tx[1], &wl, Band::B5g, &params[1]));
        let per = took.as_secs_f64() * 1e9 / (g.cells() * n) as f64;
        println!("  {:>7} {:>3} {:>8.1} {:>6.2}", g.cells(), n, ms(took), per);
    }
    let g5 = grid(w, h, 0.25);
    let (took, _) = best_of(3, || predict(&g5, 0, &tx[1], &[], Band::B5g, &params[1]));
    println!(
        "  without walls: {} cells, 30 APs: {:.1} ms",
        g5.cells(),
        ms(took)
    );

    // A 20-floor building: every floor sees every AP of the building,
    // other floors through their slabs.
    let floors = 20;
    let mut rng = SmallRng::seed_from_u64(20);
    let mut building: [Vec<Transmitter>; 3] = Default::default();
    let mut floor_walls = Vec::new();
    for level in 0..floors {
        let per = aps(&mut rng, 30, level, w, h);
        for (b, list) in per.into_iter().enumerate() {
            building[b].extend(list);
        }
        floor_walls.push(walls(&mut rng, 200, w, h));
    }
    let jobs: Vec<FloorJob> = floor_walls
        .iter()
        .enumerate()
        .map(|(level, wl)| FloorJob {
            grid: g,
            level: level as i32,
            walls: wl,
        })
        .collect();
    let lists = [&building[0][..], &building[1][..], &building[2][..]];
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for threads in [1, cores] {
        let t = Instant::now();
        let r = predict_floors(&jobs, lists, &params, threads);
        let cells: usize = r.iter().flatten().map(|p| p.best_dbm.len()).sum();
        println!(
            "building: {floors} floors x 3 bands, {} APs per band, {cells} cells: {:.1} ms ({threads} thread{})",
            building[0].len(),
            ms(t.elapsed()),
            if threads == 1 { "" } else { "s" }
        );
    }
    Ok(())
}
