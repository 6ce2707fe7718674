"""GPU check: the topocentric geometry kernel against the memory roofline, and the pass engine on the GPU.

Figures:
* ``geometry_pairs_per_s`` — satellite x station x time transforms per second (1e8 pairs);
  ``bytes_per_pair`` moved (r, v, theta, two indices in; five results out) and the fraction
  of the measured copy bandwidth that rate implies;
* ``passes_gpu_s`` vs ``passes_numpy_s`` — 100 satellites x 20 stations x 1 day end to end
  (pass table + per-step geometry at 1 s), CUDA kernels vs python-sgp4 + NumPy, same process.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gpu_check import gpu_best_s, measured_bandwidth_bytes_s  # noqa: E402  (shared probes)


BYTES_PER_PAIR = 3 * 8 + 3 * 8 + 8 + 8 + 8 + 5 * 8  # r, v, theta, row, sta in; 5 doubles out



def run(budget_s: float) -> dict:
    import cupy

    from qsat.orbits.geometry import topocentric_pairs, topocentric_pairs_kernel

    out = {}
    n, nrow, nsta = 100_000_000, 1_000_000, 20
    rng = cupy.random.default_rng(0)
    r = rng.standard_normal(size=(nrow, 3)) * 7000.0
    v = rng.standard_normal(size=(nrow, 3)) * 7.0
    theta = rng.uniform(0, 6.28, nrow)
    row = rng.integers(0, nrow, n)
    sta = rng.integers(0, nsta, n)
    st = rng.standard_normal(size=(nsta, 3)) * 6.4e6
    latlon = rng.uniform(-1.5, 1.5, (nsta, 2))
    result = {}

    def pairs():
        result["res"] = topocentric_pairs_kernel(r, v, theta, 7.29e-5, row, sta, st, latlon)

    best = gpu_best_s(pairs)  # the untimed first call compiles
    res = result.pop("res")
    bw = measured_bandwidth_bytes_s()
    rate = n / best
    out.update(geometry_pairs_per_s=rate, bytes_per_pair=BYTES_PER_PAIR, bandwidth_bytes_s=bw,
               geometry_roofline_pairs_per_s=bw / BYTES_PER_PAIR,
               geometry_fraction_of_roofline=rate * BYTES_PER_PAIR / bw)
    # Agreement on a sample, against the NumPy twin.
    k = 200_000
    twin = topocentric_pairs(*(a.get() if hasattr(a, "get") else a for a in
                               (r, v, theta, 7.29e-5, row[:k], sta[:k], st, latlon)))
    out["geometry_max_abs_diff_el_rad"] = float(np.max(np.abs(twin[1] - res[1][:k].get())))
    del res, row, sta

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from bench_passes import START, qsat_passes, station_grid, walker

    sats, sts = walker(), station_grid()
    qsat_passes(sats[:2], sts[:2], START, 0.05, mode="cupy")  # compile and warm up
    t = time.perf_counter()
    n_gpu = qsat_passes(sats, sts, START, 1.0, mode="cupy")
    out["passes_gpu_s"] = time.perf_counter() - t
    t = time.perf_counter()
    n_cpu = qsat_passes(sats, sts, START, 1.0, mode="numpy")
    out["passes_numpy_s"] = time.perf_counter() - t
    out["passes_counts_gpu_cpu"] = [list(n_gpu), list(n_cpu)]
    out["passes_speedup"] = out["passes_numpy_s"] / out["passes_gpu_s"]
    return out
