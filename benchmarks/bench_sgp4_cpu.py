"""SGP4 on the CPU, for the record: qsat's host build of the kernel vs python-sgp4.

Usage (from the repository root)::

    python benchmarks/bench_sgp4_cpu.py [--nsat 1000] [--ntime 1440]

Both run single-threaded on the same constellation and times: python-sgp4's
``SatrecArray.sgp4`` (Vallado's C++ in its C extension) and
``qsat.orbits.sgp4_gpu.propagate_host`` (the kernel body built with g++ -O2). The
host build exists for tests and CPU-only machines; the GPU figures are in
``benchmarks/gpu_checks/sgp4.py``. Writes ``benchmarks/results/sgp4_cpu.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from _common import best_of  # noqa: E402
TWOPI = 2.0 * np.pi
EPOCH_1949 = 27000.5  # days since 1949 Dec 31 00:00 UT (2023 Dec 3 12:00)

#: Orbit classes of the benchmark constellation:
#: (share, revs/day, eccentricity, inclination deg, bstar) ranges.
MIX = {
    "LEO": (0.80, (14.0, 15.8), (0.0, 0.01), (0.0, 100.0), (0.0, 3e-4)),
    "MEO": (0.10, (1.8, 2.2), (0.0, 0.02), (50.0, 65.0), (0.0, 1e-5)),
    "GEO": (0.05, (0.99, 1.01), (0.0, 0.001), (0.0, 15.0), (0.0, 1e-5)),
    "HEO": (0.05, (1.98, 2.03), (0.65, 0.74), (62.0, 65.0), (0.0, 1e-4)),
}


def constellation(nsat: int, seed: int = 1):
    """``nsat`` python-sgp4 Satrecs (WGS-72, 'i'), drawn from :data:`MIX` with a fixed seed."""
    from sgp4.api import WGS72, Satrec

    rng = np.random.default_rng(seed)
    shares = np.array([m[0] for m in MIX.values()])
    kinds = rng.choice(len(MIX), size=nsat, p=shares / shares.sum())
    classes = list(MIX.values())
    sats = []
    for i, k in enumerate(kinds):
        _, rev, ecc, inc, bstar = classes[k]
        s = Satrec()
        s.sgp4init(WGS72, "i", i, EPOCH_1949 + rng.uniform(-2, 0), rng.uniform(*bstar), 0.0, 0.0,
                   rng.uniform(*ecc), rng.uniform(0, TWOPI), np.radians(rng.uniform(*inc)),
                   rng.uniform(0, TWOPI), rng.uniform(*rev) * TWOPI / 1440.0, rng.uniform(0, TWOPI))
        sats.append(s)
    return sats


def times(ntime: int, step_s: float):
    """``ntime`` two-part UTC Julian dates from the constellation's reference day."""
    jd = np.full(ntime, 2433281.5 + EPOCH_1949)
    fr = np.arange(ntime) * (step_s / 86400.0)
    return jd, fr


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nsat", type=int, default=1000)
    parser.add_argument("--ntime", type=int, default=1440)
    parser.add_argument("--step-s", type=float, default=60.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "sgp4_cpu.json")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    import sgp4
    from sgp4.api import SatrecArray, accelerated

    from qsat.orbits.sgp4_gpu import pack_elements, propagate_host

    sats = constellation(args.nsat)
    jd, fr = times(args.ntime, args.step_s)
    t = time.perf_counter()
    packed = pack_elements(sats)
    pack_s = time.perf_counter() - t
    array = SatrecArray(sats)
    propagate_host(packed[:2], jd[:2], fr[:2])  # build the host library outside the timing

    n = args.nsat * args.ntime
    ref_s = best_of(lambda: array.sgp4(jd, fr), args.repeat)
    host_s = best_of(lambda: propagate_host(packed, jd, fr), args.repeat)
    e0, r0, v0 = array.sgp4(jd, fr)
    e1, r1, v1 = propagate_host(packed, jd, fr)
    ok = (e0 == 0) & ~np.isnan(r0).any(axis=-1)  # code 6 values can be unphysical
    result = {
        "date_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {"platform": platform.platform(), "processor": _cpu_name(), "python": platform.python_version()},
        "backend": "numpy (host build of kernels/sgp4.cu, g++ -O2 -ffp-contract=off, 1 thread)",
        "baseline": f"python-sgp4 {sgp4.__version__} SatrecArray.sgp4 (C++ extension: {accelerated}), 1 thread",
        "nsat": args.nsat,
        "ntime": args.ntime,
        "step_s": args.step_s,
        "constellation_mix": {k: v[0] for k, v in MIX.items()},
        "pack_elements_s": pack_s,
        "python_sgp4_propagations_per_s": n / ref_s,
        "host_build_propagations_per_s": n / host_s,
        "host_over_python_sgp4": ref_s / host_s,
        "agreement": {
            "same_error_codes": bool((e0 == e1).all()),
            "same_nan_rows": bool((np.isnan(r0) == np.isnan(r1)).all()),
            "max_position_difference_km": float(np.abs(r1 - r0)[ok].max(initial=0.0)),
            "max_velocity_difference_km_s": float(np.abs(v1 - v0)[ok].max(initial=0.0)),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


if __name__ == "__main__":
    sys.exit(main())
