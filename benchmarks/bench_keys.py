"""Finite-key decoy BB84 + per-pass source optimisation: batched qsat vs a scipy.optimize loop.

Both sides maximise the same key-length function (:func:`qsat.protocols.decoy_bb84.key_length`
on the counts of :mod:`qsat.detection.wcp`) over the same box and parametrisation
(:func:`qsat.protocols.optimize._from_cube`), starting from the same setting:

* baseline: per pass, ``scipy.optimize.minimize(method="Nelder-Mead", bounds=unit cube)``
  on -ℓ, counts summed over the pass's steps at every evaluation (the straightforward way);
* qsat: :func:`qsat.protocols.optimize.optimize_decoy_bb84` on all passes at once.

Passes: SatQuMA's example loss table (ephemerides/reference) under excess losses 0-15 dB and
elevation masks 10-30 degrees. The baseline runs on a subset (``--baseline-passes``)
and is compared per pass. Writes benchmarks/results/keys_cpu.json.

    python benchmarks/bench_keys.py [--passes 1000] [--baseline-passes 20]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import _common  # noqa: E402  (machine facts shared by the CPU benchmarks)


def machine() -> dict:
    import scipy

    return {**_common.machine(), "scipy": scipy.__version__}


FIXED = dict(afterpulse_probability=1e-3, intrinsic_qber=0.005, eps_sec=1e-9, eps_cor=1e-15,
             error_correction_efficiency=1.16, tail="chernoff", min_z_counts=100.0)
BOUNDS = ((0.5, 0.99), (0.2, 1.0), (0.01, 0.98))
REP_HZ, PDC = 1e8, 1e-8
INITIAL = (0.76, [0.79, 0.17, 0.0], [0.75, 0.175, 0.075])


def make_passes(n: int, xp=np):
    from qsat.protocols.losstable import read_loss_table

    t = read_loss_table(ROOT / "ephemerides" / "reference" / "satquma_FS_loss_XI0.csv")
    rng = np.random.default_rng(7)
    loss = rng.uniform(0.0, 15.0, n)
    mask = rng.uniform(10.0, 30.0, n)
    eta = t.efficiency[None, :] * 10 ** (-loss[:, None] / 10)
    valid = t.elevation_deg[None, :] >= mask[:, None]
    return xp.asarray(eta), xp.asarray(valid)


def batched(eta, valid, xp=np):
    from qsat.detection.wcp import pass_moments
    from qsat.protocols.optimize import SourceSetting, optimize_decoy_bb84

    n = eta.shape[0]
    mom = pass_moments(eta, REP_HZ, PDC, valid=valid)
    init = SourceSetting(xp.full(n, INITIAL[0]), xp.tile(xp.asarray(INITIAL[1]), (n, 1)),
                         xp.tile(xp.asarray(INITIAL[2]), (n, 1)))
    return optimize_decoy_bb84(mom, init, FIXED, BOUNDS)


def scipy_one(eta, valid):
    from scipy.optimize import minimize

    from qsat.detection.wcp import expected_counts
    from qsat.protocols.decoy_bb84 import key_length
    from qsat.protocols.optimize import _from_cube, _to_cube

    evals = 0

    def neg_key(u):
        nonlocal evals
        evals += 1
        px, mu, p = _from_cube(np.clip(np.asarray(u), 0, 1), 0.0, BOUNDS)
        counts = expected_counts(eta, REP_HZ, mu, p, px, PDC, FIXED["afterpulse_probability"],
                                 FIXED["intrinsic_qber"], valid=valid)
        r = key_length(*counts, mu, p, eps_sec=FIXED["eps_sec"], eps_cor=FIXED["eps_cor"],
                       error_correction_efficiency=FIXED["error_correction_efficiency"], tail=FIXED["tail"],
                       min_z_counts=FIXED["min_z_counts"])
        return -float(r.key_length_raw) if int(r.status) == 0 else 1e12

    u0 = _to_cube(np.asarray(INITIAL[0]), np.asarray(INITIAL[1]), np.asarray(INITIAL[2]), 0.0, BOUNDS)
    res = minimize(neg_key, u0, method="Nelder-Mead", bounds=[(0.0, 1.0)] * 5,
                   options={"xatol": 1e-4, "fatol": 1.0, "maxfev": 4000})
    return -res.fun, evals


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--passes", type=int, default=1000)
    ap.add_argument("--baseline-passes", type=int, default=20)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "keys_cpu.json")
    args = ap.parse_args(argv)
    eta, valid = make_passes(args.passes)
    batched(eta[:8], valid[:8])  # warm-up (imports, allocations)
    t0 = time.perf_counter()
    setting, best = batched(eta, valid)
    t_batched = time.perf_counter() - t0
    idx = np.linspace(0, args.passes - 1, args.baseline_passes).astype(int)
    t0 = time.perf_counter()
    base = [scipy_one(eta[i], valid[i]) for i in idx]
    t_base = time.perf_counter() - t0
    base_key = np.array([b[0] for b in base])
    ratio = np.asarray(best)[idx] / base_key
    per_pass_batched = t_batched / args.passes
    per_pass_base = t_base / len(idx)
    result = {
        "machine": machine(),
        "what": "decoy BB84 finite key (Chernoff) + optimisation of (p_X, mu1, mu2, p_mu1, p_mu2) per pass",
        "passes": args.passes,
        "steps_per_pass": int(eta.shape[1]),
        "batched_total_s": t_batched,
        "batched_per_pass_s": per_pass_batched,
        "scipy_passes": len(idx),
        "scipy_total_s": t_base,
        "scipy_per_pass_s": per_pass_base,
        "scipy_mean_evaluations": float(np.mean([b[1] for b in base])),
        "speedup_per_pass": per_pass_base / per_pass_batched,
        "key_ratio_batched_over_scipy": {"min": float(ratio.min()), "median": float(np.median(ratio)),
                                         "max": float(ratio.max())},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
