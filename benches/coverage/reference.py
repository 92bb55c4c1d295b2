#!/usr/bin/env python3
"""NumPy reference for the coverage model (src/coverage/model.rs).

    reference.py DIR

Reads DIR/scene.json (written by portico-coverage-bench), predicts each
band the straightforward NumPy way (vectorised over the grid's cells, a
Python loop over transmitters and walls), times the three bands (best of
3 runs, JSON load excluded), then compares with the Rust binary's
DIR/rust-B-{best,second,snr,contention}.f64 (raw little-endian float64,
row-major j*width+i, NaN where absent).

Exits 1 if any band differs by more than 0.01 dB in best, second or snr
(or NaN/infinity positions differ), or any cell's contention differs;
2 on a missing or malformed input.
"""

import json
import os
import sys
import time

import numpy as np

BANDS = ["2.4", "5", "6"]  # loss_db index 0, 1, 2
NO_SIGNAL_DBM = -120.0
DEFAULT_NOISE_DBM = -92.0
CONTENTION_DBM = -82.0
TOLERANCE_DB = 0.01
RUNS = 3


def cell_centres(grid):
    """x and y of every cell centre, flat in row-major order (j*width+i)."""
    res = grid["resolution_m"]
    xs = grid["origin_x"] + (np.arange(grid["width"], dtype=np.float64) + 0.5) * res
    ys = grid["origin_y"] + (np.arange(grid["height"], dtype=np.float64) + 0.5) * res
    x, y = np.meshgrid(xs, ys)  # shape (height, width): x[j, i] = xs[i]
    return x.ravel(), y.ravel()


def received_dbm(t, level, qx, qy, walls, band_index, p):
    """The signal (dBm) of transmitter t at every cell (qx, qy)."""
    floors = abs(t["level"] - level)
    dz = (t["level"] - level) * p["floor_height_m"] + t["z"] - p["receiver_height_m"]
    dx = t["x"] - qx
    dy = t["y"] - qy
    d = np.sqrt(dx * dx + dy * dy + dz * dz)
    loss = (
        20.0 * np.log10(t["freq_mhz"])
        + p["n"] * np.log10(np.maximum(d, 1.0))
        - 28.0
        + floors * p["slab_db"]
    )
    if floors == 0:
        px, py = t["x"], t["y"]
        rx, ry = qx - px, qy - py  # q - p, the same for every wall
        for w in walls:
            ax, ay, bx, by = w["x1"], w["y1"], w["x2"], w["y2"]
            losses = w["loss_db"]
            wall_loss = losses[band_index] if band_index < len(losses) else 0.0
            # segments_cross((px,py), q, a, b) with cross(o,u,v) =
            # (u.x-o.x)*(v.y-o.y) - (u.y-o.y)*(v.x-o.x)
            d1 = (bx - ax) * (py - ay) - (by - ay) * (px - ax)  # scalar
            d2 = (bx - ax) * (qy - ay) - (by - ay) * (qx - ax)
            d3 = rx * (ay - py) - ry * (ax - px)
            d4 = rx * (by - py) - ry * (bx - px)
            straddle_ab = ((d1 <= 0.0) & (d2 >= 0.0)) | ((d1 >= 0.0) & (d2 <= 0.0))
            straddle_pq = ((d3 <= 0.0) & (d4 >= 0.0)) | ((d3 >= 0.0) & (d4 <= 0.0))
            crosses = straddle_ab & straddle_pq & ~((d1 == 0.0) & (d2 == 0.0))
            loss = loss + np.where(crosses, wall_loss, 0.0)
    return t["tx_power_dbm"] + t["antenna_gain_dbi"] - loss


def predict(grid, level, transmitters, walls, band_index, p):
    """best, second (NaN if < 2 APs), snr, contention (float64) per cell."""
    qx, qy = cell_centres(grid)
    cells = qx.size
    if not transmitters:
        neg = np.full(cells, -np.inf)
        return neg, np.full(cells, np.nan), neg.copy(), np.zeros(cells)
    signals = np.stack(
        [received_dbm(t, level, qx, qy, walls, band_index, p) for t in transmitters]
    )  # (APs, cells)
    # At or below NO_SIGNAL_DBM a signal counts as none (as in model.rs).
    signals = np.where(signals > NO_SIGNAL_DBM, signals, -np.inf)
    best_ap = np.argmax(signals, axis=0)  # first index wins ties
    best = signals[best_ap, np.arange(cells)]
    if len(transmitters) > 1:
        second = np.partition(signals, -2, axis=0)[-2]
        second = np.where(np.isneginf(second), np.nan, second)
    else:
        second = np.full(cells, np.nan)

    noise = np.array(
        [DEFAULT_NOISE_DBM if t.get("noise_dbm") is None else t["noise_dbm"] for t in transmitters]
    )
    snr = best - noise[best_ap]

    has_channel = np.array([t.get("channel") is not None for t in transmitters])
    channel = np.array([t["channel"] if t.get("channel") is not None else -1 for t in transmitters])
    serving_channel = channel[best_ap]
    same = has_channel[:, None] & (channel[:, None] == serving_channel[None, :])
    heard = same & (signals > CONTENTION_DBM)
    # Other APs only: the serving AP is on its own channel, so drop it.
    contention = heard.sum(axis=0) - heard[best_ap, np.arange(cells)]
    contention = np.where(has_channel[best_ap], contention, 0).astype(np.float64)
    return best, second, snr, contention


def compute_all(scene):
    grid, level, walls = scene["grid"], scene["level"], scene["walls"]
    out = {}
    for b, band in enumerate(BANDS):
        out[band] = predict(
            grid, level, scene["transmitters"].get(band, []), walls, b, scene["params"][band]
        )
    return out


def max_abs_diff(ours, theirs):
    """Largest |difference|; inf if NaN or infinity positions differ."""
    if ours.shape != theirs.shape:
        return float("inf")
    nan_o, nan_t = np.isnan(ours), np.isnan(theirs)
    if not np.array_equal(nan_o, nan_t):
        return float("inf")
    inf_o, inf_t = np.isinf(ours), np.isinf(theirs)
    if not np.array_equal(inf_o, inf_t) or not np.array_equal(ours[inf_o], theirs[inf_t]):
        return float("inf")
    finite = ~(nan_o | inf_o)
    if not finite.any():
        return 0.0
    return float(np.max(np.abs(ours[finite] - theirs[finite])))


def load_f64(path, cells):
    a = np.fromfile(path, dtype="<f8")
    if a.size != cells:
        raise ValueError(f"{path}: {a.size} values, expected {cells}")
    return a


def main(argv):
    if len(argv) != 2:
        print(f"usage: {argv[0]} DIR", file=sys.stderr)
        return 2
    out_dir = argv[1]
    try:
        with open(os.path.join(out_dir, "scene.json")) as f:
            scene = json.load(f)
    except (OSError, ValueError) as e:
        print(f"reference: cannot read scene: {e}", file=sys.stderr)
        return 2

    grid = scene["grid"]
    cells = grid["width"] * grid["height"]
    times = []
    result = None
    for _ in range(RUNS):
        start = time.perf_counter()
        result = compute_all(scene)
        times.append(time.perf_counter() - start)
    aps = sum(len(scene["transmitters"].get(b, [])) for b in BANDS) // len(BANDS)
    aps_counts = {len(scene["transmitters"].get(b, [])) for b in BANDS}
    aps_text = str(aps) if len(aps_counts) == 1 else "/".join(
        str(len(scene["transmitters"].get(b, []))) for b in BANDS
    )
    print(
        f"numpy: {len(BANDS)} bands, {cells} cells, {aps_text} APs, "
        f"{len(scene['walls'])} walls: {min(times) * 1000.0:.1f} ms (best of {RUNS})"
    )

    ok = True
    for band in BANDS:
        best, second, snr, contention = result[band]
        try:
            r = {
                k: load_f64(os.path.join(out_dir, f"rust-{band}-{k}.f64"), cells)
                for k in ("best", "second", "snr", "contention")
            }
        except (OSError, ValueError) as e:
            print(f"reference: {e}", file=sys.stderr)
            return 2
        d_best = max_abs_diff(best, r["best"])
        d_second = max_abs_diff(second, r["second"])
        d_snr = max_abs_diff(snr, r["snr"])
        mismatches = int(np.count_nonzero(contention != r["contention"]))
        print(
            f"agreement {band}: best max|diff| {d_best:.4f} dB, second {d_second:.4f} dB, "
            f"snr {d_snr:.4f} dB, contention mismatches {mismatches}"
        )
        if max(d_best, d_second, d_snr) > TOLERANCE_DB or mismatches:
            ok = False
    if not ok:
        print(f"reference: Rust and NumPy disagree (tolerance {TOLERANCE_DB} dB)", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
