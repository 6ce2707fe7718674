"""GPU check for the keys topic: count-sampling kernel and batched key optimisation on CuPy.

``run(budget_s)`` returns

* ``counts_kernel``: samples/s of ``kernels/counts.cu`` on 2^24 steps (λ log-normal over
  1e-2 … 1e5), bytes moved (8 B in + 8 B out per sample) as a fraction of the card's
  measured copy bandwidth, and the number of samples differing from the NumPy twin
  on the first 2^18 (expected 0; last-bit libm differences at an acceptance boundary
  are possible);
* ``optimise``: batched finite-key optimisation of 1,000 and 10,000 passes on CuPy,
  per-pass time, and the largest relative key difference from the NumPy run on
  the same 1,000 passes (same Philox draws, so only floating-point order differs).

Everything stays within ``budget_s`` (the 10,000-pass run is skipped when short).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gpu_check import gpu_best_s, measured_bandwidth_bytes_s  # noqa: E402  (shared probes)


ROOT = Path(__file__).resolve().parents[2]



def _counts(cupy) -> dict:
    from qsat.detection.sampling import sample_poisson, sample_poisson_kernel

    n = 1 << 24
    lam = cupy.asarray(np.random.default_rng(0).lognormal(1.0, 2.5, n).clip(1e-2, 1e5))
    result = {}

    def draw():
        result["out"] = sample_poisson_kernel(lam, seed=1, stream=0, tag=2)

    best = gpu_best_s(draw)  # the untimed first call compiles
    out = result["out"]
    m = 1 << 18
    twin = sample_poisson(cupy.asnumpy(lam[:m]), seed=1, stream=0, tag=2)
    bw = measured_bandwidth_bytes_s()
    return {"samples": n, "seconds": best, "samples_per_s": n / best,
            "fraction_of_copy_bandwidth": (16 * n / best) / bw, "copy_bandwidth_bytes_s": bw,
            "mismatches_vs_twin_first_2^18": int(np.count_nonzero(cupy.asnumpy(out[:m]) != twin))}


def _optimise(cupy, budget_s: float) -> dict:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_keys

    out = {}
    eta_np, valid_np = bench_keys.make_passes(1000)
    _, best_np = bench_keys.batched(eta_np, valid_np)
    eta, valid = cupy.asarray(eta_np), cupy.asarray(valid_np)
    bench_keys.batched(eta[:8], valid[:8], xp=cupy)  # warm-up
    cupy.cuda.Device().synchronize()
    t0 = time.perf_counter()
    _, best = bench_keys.batched(eta, valid, xp=cupy)
    cupy.cuda.Device().synchronize()
    t = time.perf_counter() - t0
    best = cupy.asnumpy(best)
    ok = best_np > 0
    out["passes_1000"] = {"seconds": t, "per_pass_s": t / 1000,
                          "max_rel_diff_vs_numpy": float(np.max(np.abs(best[ok] / best_np[ok] - 1)))}
    if budget_s > 20 * t + 10:
        eta10, valid10 = bench_keys.make_passes(10000, xp=cupy)
        t0 = time.perf_counter()
        bench_keys.batched(eta10, valid10, xp=cupy)
        cupy.cuda.Device().synchronize()
        t10 = time.perf_counter() - t0
        out["passes_10000"] = {"seconds": t10, "per_pass_s": t10 / 10000}
    return out


def run(budget_s: float) -> dict:
    import cupy

    start = time.perf_counter()
    figures = {"counts_kernel": _counts(cupy)}
    figures["optimise"] = _optimise(cupy, budget_s - (time.perf_counter() - start))
    figures["seconds"] = time.perf_counter() - start
    return figures
