"""GPU SGP4: propagations per second, fp64, results left on the GPU (issue 3).

Cases: 10,000 satellites × 1,440 times (one day at 60 s) and 1,000 × 86,400 (one
day at 1 s), on the constellation of ``benchmarks/bench_sgp4_cpu.py`` (80 % LEO,
10 % MEO, 5 % GEO, 5 % Molniya; seeded). For each case:

* ``gpu_propagations_per_s`` — nsat·ntime over the best kernel time (CUDA events;
  outputs error, r, v allocated on the GPU and left there);
* ``python_sgp4_propagations_per_s`` — python-sgp4 ``SatrecArray.sgp4`` on one CPU
  core in the same run (a subset of satellites, same time step), and the speed-up;
* ``fraction_of_ceiling`` — against the roofline: min(measured fp64 FMA rate /
  fp64 operations per propagation, measured copy bandwidth / bytes written per
  propagation). The operation count (1,500 fp64 operations, issue 3's estimate for
  the near-Earth path) is an assumption stated in the output;
* ``agreement`` — GPU vs python-sgp4 on that subset: max |Δr| km, max |Δv| km/s,
  identical error codes and NaN rows.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gpu_check import fp64_flops_per_s, gpu_times_s, measured_bandwidth_bytes_s  # noqa: E402  (shared probes)


ROOT = Path(__file__).resolve().parents[2]
CASES = ((10_000, 1_440, 60.0), (1_000, 86_400, 1.0))
FP64_OPS_PER_PROPAGATION = 1_500  # issue 3's estimate; see module docstring
BYTES_WRITTEN_PER_PROPAGATION = 6 * 8 + 1  # r, v float64 and a uint8 error code
CPU_BASELINE_PROPAGATIONS = 1_500_000  # python-sgp4 work per case (~1 s on one core)


def _bench_module():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    sys.path.insert(0, str(ROOT))
    import bench_sgp4_cpu

    return bench_sgp4_cpu


def run(budget_s: float) -> dict:
    import cupy

    t0 = time.perf_counter()
    deadline = t0 + 0.85 * budget_s
    bench = _bench_module()
    from qsat.orbits.sgp4_gpu import pack_elements, propagate
    from sgp4.api import SatrecArray

    flops = fp64_flops_per_s()
    bandwidth = measured_bandwidth_bytes_s()
    ceiling = min(flops / FP64_OPS_PER_PROPAGATION, bandwidth / BYTES_WRITTEN_PER_PROPAGATION)
    result = {
        "fp64_flops_measured": flops,
        "copy_bandwidth_bytes_s": bandwidth,
        "assumed_fp64_ops_per_propagation": FP64_OPS_PER_PROPAGATION,
        "bytes_written_per_propagation": BYTES_WRITTEN_PER_PROPAGATION,
        "ceiling_propagations_per_s": ceiling,
        "ceiling_leg": "compute" if flops / FP64_OPS_PER_PROPAGATION < bandwidth / BYTES_WRITTEN_PER_PROPAGATION
        else "memory",
        "constellation_mix": {k: v[0] for k, v in bench.MIX.items()},
        "cases": {},
    }
    nmax = max(c[0] for c in CASES)
    sats = bench.constellation(nmax)
    t = time.perf_counter()
    packed = pack_elements(sats)
    result["pack_elements_s_per_10k_sats"] = (time.perf_counter() - t) * 1e4 / nmax
    d_packed = cupy.asarray(packed)
    jd1, fr1 = bench.times(2, 60.0)
    propagate(d_packed[:1], cupy.asarray(jd1), cupy.asarray(fr1))  # compile (NVRTC) outside the timing
    cupy.cuda.Device().synchronize()

    for nsat, ntime, step_s in CASES:
        name = f"{nsat}x{ntime}"
        if time.perf_counter() > deadline:
            result["cases"][name] = {"skipped": "budget spent"}
            continue
        jd, fr = bench.times(ntime, step_s)
        d_jd, d_fr = cupy.asarray(jd), cupy.asarray(fr)
        d_sat = d_packed[:nsat]
        out = {}

        def go():
            out["res"] = propagate(d_sat, d_jd, d_fr)

        seconds = gpu_times_s(go, 5, deadline)
        error, r, v = out["res"]
        n = nsat * ntime
        case = {
            "gpu_seconds_best": min(seconds),
            "gpu_seconds_all": seconds,
            "gpu_propagations_per_s": n / min(seconds),
            "results_on_gpu": isinstance(r, cupy.ndarray),
        }
        case["fraction_of_ceiling"] = case["gpu_propagations_per_s"] / ceiling

        # python-sgp4 on one core, same step, a subset of satellites; then agreement there.
        nsub = max(1, min(nsat, CPU_BASELINE_PROPAGATIONS // ntime))
        array = SatrecArray(sats[:nsub])
        t = time.perf_counter()
        e0, r0, v0 = array.sgp4(jd, fr)
        cpu_s = time.perf_counter() - t
        case["python_sgp4_subset"] = f"{nsub} satellites x {ntime} times"
        case["python_sgp4_propagations_per_s"] = nsub * ntime / cpu_s
        case["speedup_over_python_sgp4"] = case["gpu_propagations_per_s"] / case["python_sgp4_propagations_per_s"]
        e1, r1, v1 = (cupy.asnumpy(a[:nsub]) for a in (error, r, v))
        ok = (e0 == 0) & ~np.isnan(r0).any(axis=-1)  # code 6 values can be unphysical
        case["agreement"] = {
            "same_error_codes": bool((e0 == e1).all()),
            "same_nan_rows": bool((np.isnan(r0) == np.isnan(r1)).all()),
            "max_position_difference_km": float(np.abs(r1 - r0)[ok].max(initial=0.0)),
            "max_velocity_difference_km_s": float(np.abs(v1 - v0)[ok].max(initial=0.0)),
            "error_codes": {int(c): int(k) for c, k in zip(*np.unique(e0, return_counts=True))},
        }
        result["cases"][name] = case
        del out, error, r, v, d_jd, d_fr
        cupy.get_default_memory_pool().free_all_blocks()
    return result


if __name__ == "__main__":
    import json

    print(json.dumps(run(float(sys.argv[1]) if len(sys.argv) > 1 else 120.0), indent=2, default=float))
