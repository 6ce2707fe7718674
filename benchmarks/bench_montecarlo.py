"""CPU benchmark of the Monte Carlo: the NumPy path against a plain NumPy reference, and Dask scaling.

Usage: ``python benchmarks/bench_montecarlo.py [--trials 2000] [--steps 400]``; writes
``benchmarks/results/montecarlo_cpu.json``. A *sample* is one (trial, step) transmittance
realisation carried to the counts. Side by side, in samples/s:

* ``reference_numpy``: a plain NumPy Monte Carlo of the same sampling, as a planning script
  would write it — Gaussian-beam capture and Kasten & Young air-mass extinction per step,
  Rayleigh pointing jitter (``Generator.standard_normal``) and Poisson counts
  (``Generator.poisson``) per sample, all vectorised — the baseline;
* ``reference_matched_numpy``: a plain NumPy Monte Carlo of the fused kernel's own model
  (AR(1) Rice pointing, log-normal turbulence, weather, three-intensity click statistics,
  Poisson counts per pass) with NumPy's Generator instead of Philox — the like-for-like baseline;
* ``host_kernel``: ``kernels/montecarlo.cu`` built for the CPU (g++ -O3, OpenMP over the
  (trial, pass) elements, every core), the engine the NumPy backend runs where g++ exists:
  weather, AR(1) pointing (Rice) and log-normal turbulence, decoy-BB84 click statistics of
  three intensities, Poisson counts per pass; ``host_kernel_one_thread``: the same on one core;
  ``host_kernel_all_clear``: every core, weather not sampled (every pass clear: the kernel skips
  the fades of overcast passes, 30 % of them here, so this is its per-sample speed without that);
* ``numpy_twin``: the NumPy twin (:func:`qsat.montecarlo.sampler.sample_trials`), the engine
  without a compiler;
* ``end_to_end``: :func:`qsat.montecarlo.run.run_montecarlo` in-process (all cores), keys
  from the sampled counts and statistics included — the default CPU path of ``qsat montecarlo``;
* ``elliptic_*``: uplinks with elliptic-beam fades (``montecarlo_trials_elliptic``,
  :func:`elliptic_synthetic_inputs`): host build on every core and on one, and the twin;

The references are NumPy, one core (NumPy does not thread element-wise work or its
Generator); the ``*_per_core`` ratios divide our figure by the cores it used. Paths are
timed interleaved (round-robin, best of ``--repeat``), so a change of load hits them alike.
* ``scaling``: the same run on a ``LocalCluster`` of 1 and of 2 worker processes (one thread
  each); efficiency = t1 / (2 t2).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import timed, write  # noqa: E402


def synthetic_inputs(n_pass: int, n_steps: int):
    """Passes of ``n_steps`` steps with a Micius-like downlink profile (30-75 dB over a pass)."""
    from qsat.montecarlo.config import MonteCarloConfig
    from qsat.montecarlo.inputs import build_inputs
    from qsat.detection.detectors import DetectorConfig
    from qsat.protocols.config import protocol_from_dict

    import pandas as pd
    import xarray as xr

    x = np.linspace(-1, 1, n_steps)[None, :].repeat(n_pass, 0)
    dims = ("pass", "step")
    elev = 12 + 70 * (1 - x**2)
    w_eq, sx = 20.0 + 10 * x**2, 6.0 + 2 * x**2
    point = 1 / (1 + 4 * sx**2 / w_eq**2)
    t_static = 10 ** (-(25 + 10 * x**2) / 10)
    link = xr.Dataset({"transmittance": (dims, t_static * point), "fade_t_static": (dims, t_static),
                       "fade_w_eq_m": (dims, w_eq), "fade_sigma_x_m": (dims, sx), "fade_sigma_y_m": (dims, sx),
                       "fade_bias_m": (dims, 0 * x), "fade_sigma_ln2": (dims, 0.2 + 0 * x),
                       "background_cps": (dims, 3e3 + 0 * x)})
    geometry = xr.Dataset({"valid": (dims, np.ones_like(x, dtype=bool)), "elevation_deg": (dims, elev)},
                          coords={"pass": np.arange(n_pass)}, attrs={"step_s": 1.0})
    passes = pd.DataFrame({"pass_id": np.arange(n_pass), "station": ["A"] * n_pass, "satellite": ["S"] * n_pass})
    mc = MonteCarloConfig(clear_sky_probability=0.7, turbulence_coherence_time=0.5, pointing_coherence_time=2.0)
    return build_inputs(geometry, link, passes, protocol_from_dict({}), DetectorConfig(), mc)


def elliptic_synthetic_inputs(n_pass: int, n_steps: int):
    """(steps, passes, params) of elliptic-beam uplink passes (``montecarlo_trials_elliptic``).

    A 0.3 m on-board aperture; short-term beam radius 4-10 m, centroid rms 1.5-2.5 m (beam
    wander and jitter), bias 0.3 m, Theta variance 0.08 and covariance -0.05 over a pass; decoy
    BB84 at 1e8 pulses per 1 s step; weather, turbulence (0.5 s), pointing (2 s) and counts sampled.
    """
    from qsat.montecarlo.sampler import (FLAG_ELLIPTIC, FLAGS, PARAMS, PASS_COLUMNS, STEP_COLUMNS,
                                         step_mean_statistics)

    x = np.linspace(-1, 1, n_steps)[None, :].repeat(n_pass, 0)
    cols = dict(eta_static=10 ** (-(3 + 2 * x**2) / 10) * 0.5, pointing_mean=0.0, w_eq_m=4.0 + 6.0 * x**2,
                sigma_x_m=1.5 + x**2, sigma_y_m=1.5 + x**2, bias_m=0.3 + 0 * x, sigma_ln2=0.08 + 0 * x,
                noise=1e-6 + 0 * x, weight=1e8 + 0 * x, theta_cov=-0.05 + 0 * x)
    steps = np.ascontiguousarray(np.stack([np.broadcast_to(cols[k], x.shape) for k in STEP_COLUMNS], axis=-1))
    passes = np.zeros((n_pass, len(PASS_COLUMNS)))
    for k, v in dict(clear_sky_probability=0.7, n_steps=n_steps, pass_a=np.arange(n_pass),
                     clear_sky_probability_b=1.0, aperture_radius_m=0.15, obscuration_ratio=0.0, mu1=0.8, mu2=0.1,
                     mu3=0.0, p1=0.5, p2=0.25, p3=0.25, basis_probability_x=0.5).items():
        passes[:, PASS_COLUMNS.index(k)] = v
    rho_t, v_t = step_mean_statistics(1.0, 0.5)
    rho_p, v_p = step_mean_statistics(1.0, 2.0)
    values = dict(mode=0, flags=sum(FLAGS.values()) | FLAG_ELLIPTIC, rho_t=rho_t, v_t=v_t, rho_p=rho_p, v_p=v_p,
                  afterpulse_probability=0.005, intrinsic_qber=0.01, pair_rate_hz=0.0, coincidence_window_s=0.0,
                  source_qber=0.0, eta_b=0.0, noise_b_cps=0.0, sift_fraction=0.5)
    params = np.array([float(values[k]) for k in PARAMS])
    return steps, np.ascontiguousarray(passes), params


def reference_numpy(n_trials: int, n_steps: int, rng, chunk: int = 256) -> float:
    """Plain NumPy MC of a pass: capture, air mass, Rayleigh jitter, Poisson counts; returns total counts."""
    lam, w0, a = 850e-9, 0.15, 0.5          # wavelength, waist, receive radius (m)
    tau, sigma_rad = 0.1, 1e-6              # zenith optical depth, jitter per axis (rad)
    pulses, mu, eff = 1e8, 0.5, 0.5
    el = np.radians(np.linspace(10, 80, n_steps))
    d = 500e3 / np.sin(el) ** 0.8
    zr = math.pi * w0**2 / lam
    w = w0 * np.sqrt(1 + (d / zr) ** 2)
    capture = -np.expm1(-2 * a * a / (w * w))                                   # Gaussian-beam capture
    z = np.pi / 2 - el
    air_mass = 1 / (np.cos(z) + 0.50572 * (96.07995 - np.degrees(z)) ** -1.6364)  # Kasten & Young (1989)
    static = capture * np.exp(-tau * air_mass) * eff
    total = 0.0
    for t0 in range(0, n_trials, chunk):
        n = min(chunk, n_trials - t0)
        g = rng.standard_normal((2, n, n_steps))
        r2 = (sigma_rad * d) ** 2 * (g[0] ** 2 + g[1] ** 2)                     # Rayleigh radial offset
        eta = static * np.exp(-2 * r2 / (w * w))
        total += float(rng.poisson(pulses * mu * eta).sum())
    return total


def reference_matched(inputs, n_trials: int, rng) -> np.ndarray:
    """Plain NumPy MC of the fused kernel's model with NumPy's Generator (PCG64) instead of Philox.

    Vectorised over (trial, pass), a loop over steps (the AR(1) recursion needs it): weather,
    AR(1) step-mean pointing (Rice) and log-normal turbulence, three-intensity decoy click
    statistics, then 12 Poisson counts per pass. Same arithmetic as the twin; no key.
    """
    st, ps = inputs.steps, inputs.passes
    layout = __import__("qsat.montecarlo.sampler", fromlist=["PARAMS"])
    prm = dict(zip(layout.PARAMS, inputs.params))
    prm.update(zip(layout.PASS_COLUMNS, inputs.passes[0]))  # one source for every pass here
    n_pass, n_step = st.shape[:2]
    shape = (n_trials, n_pass)
    clear = (rng.random(shape) < ps[None, :, 0]).astype(float)
    rt, rp, vt, vp = prm["rho_t"], prm["rho_p"], prm["v_t"], prm["v_p"]
    it, ip = math.sqrt(1 - rt * rt), math.sqrt(1 - rp * rp)
    mu, pk = [prm["mu1"], prm["mu2"], prm["mu3"]], [prm["p1"], prm["p2"], prm["p3"]]
    acc = np.zeros((6,) + shape)
    g = rng.standard_normal((3,) + shape)
    for s in range(n_step):
        if s:
            z = rng.standard_normal((3,) + shape)
            g[0] = rp * g[0] + ip * z[0]
            g[1] = rp * g[1] + ip * z[1]
            g[2] = rt * g[2] + it * z[2]
        f = st[:, s, :]
        w2 = f[:, 2] ** 2
        dx = w2 + 4 * f[:, 3] ** 2 * (1 - vp)
        dy = w2 + 4 * f[:, 4] ** 2 * (1 - vp)
        x0 = f[:, 5] + f[:, 3] * math.sqrt(vp) * g[0]
        y0 = f[:, 4] * math.sqrt(vp) * g[1]
        s2 = f[:, 6] * vt
        eta = f[:, 0] * clear / np.sqrt(dx * dy / (w2 * w2)) * np.exp(
            -2 * (x0 * x0 / dx + y0 * y0 / dy) + np.sqrt(s2) * g[2] - 0.5 * s2)
        eta = np.minimum(eta, 1.0)
        pdc, weight = f[:, 7], f[:, 8]
        for k in range(3):
            signal = -np.expm1(-eta * mu[k])
            d = signal + 2 * pdc * (1 - signal)
            acc[k] += weight * pk[k] * (1 + prm["afterpulse_probability"]) * d
            acc[3 + k] += weight * pk[k] * (pdc + prm["intrinsic_qber"] * signal
                                             + 0.5 * prm["afterpulse_probability"] * d)
    px = prm["basis_probability_x"]
    lam = np.concatenate([px * px * acc[3:], px * px * (acc[:3] - acc[3:]),
                          (1 - px) ** 2 * acc[3:], (1 - px) ** 2 * (acc[:3] - acc[3:])])
    return rng.poisson(lam)


def scaling(inputs, trials: int, trial_chunk: int) -> dict:
    from distributed import Client, LocalCluster

    from qsat.montecarlo.run import run_montecarlo

    times = {}
    for n in (1, 2):
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
                Client(cluster) as client:
            client.wait_for_workers(n)
            run_montecarlo(inputs, trials=trial_chunk, seed=1, trial_chunk=trial_chunk, client=client)  # warm-up
            times[n], _ = timed(run_montecarlo, inputs, trials=trials, seed=1, trial_chunk=trial_chunk, client=client)
    return {"workers_1_s": times[1], "workers_2_s": times[2], "speedup": times[1] / times[2],
            "efficiency": times[1] / (2 * times[2]), "trials": trials, "trial_chunk": trial_chunk}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=2000)
    ap.add_argument("--passes", type=int, default=8)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--twin-trials", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3, help="rounds of interleaved timings (best of)")
    args = ap.parse_args(argv)
    from qsat.montecarlo.kernel import host_cores, sample_trials_kernel
    from qsat.montecarlo.run import run_montecarlo
    from qsat.montecarlo.sampler import FLAGS, PARAMS, sample_trials

    inputs = synthetic_inputs(args.passes, args.steps)
    st, ps, prm = inputs.steps, inputs.passes, inputs.params
    samples = args.trials * args.passes * args.steps
    result = {"passes": args.passes, "steps_per_pass": args.steps, "trials": args.trials,
              "load_average_1min": os.getloadavg()[0]}
    rng = np.random.default_rng(1)
    reference_numpy(64, args.steps, rng)
    sample_trials_kernel(st, ps, prm, 4, 0, 0, 1)  # build
    cores = host_cores()
    all_clear = prm.copy()
    all_clear[PARAMS.index("flags")] = int(prm[PARAMS.index("flags")]) & ~FLAGS["weather"]
    twin_samples = args.twin_trials * args.passes * args.steps
    paths = {
        "reference_numpy": (samples, lambda: reference_numpy(args.trials * args.passes, args.steps, rng)),
        "reference_matched_numpy": (samples, lambda: reference_matched(inputs, args.trials, rng)),
        "host_kernel": (samples, lambda: sample_trials_kernel(st, ps, prm, args.trials, 0, 0, 1)),
        "host_kernel_one_thread": (samples, lambda: sample_trials_kernel(st, ps, prm, args.trials, 0, 0, 1, threads=1)),
        "host_kernel_all_clear": (samples, lambda: sample_trials_kernel(st, ps, all_clear, args.trials, 0, 0, 1)),
        "end_to_end_in_process": (samples, lambda: run_montecarlo(inputs, trials=args.trials, seed=1, trial_chunk=500)),
    }
    best = {name: math.inf for name in paths}
    for _ in range(args.repeat):  # interleaved: each round times every path once
        for name, (_, fn) in paths.items():
            best[name] = min(best[name], timed(fn)[0])
    for name, (n, _) in paths.items():
        result[f"{name}_samples_per_s"] = n / best[name]
    t_twin = min(timed(sample_trials, st, ps, prm, args.twin_trials, 0, 0, 1)[0] for _ in range(2))
    result["numpy_twin_samples_per_s"] = twin_samples / t_twin
    result["host_kernel_threads"] = cores
    # elliptic-beam uplink fades (own kernel entry): host build on every core and on one, and the twin
    e_st, e_ps, e_prm = elliptic_synthetic_inputs(args.passes, args.steps)
    e_trials = max(1, args.trials // 20)
    sample_trials_kernel(e_st, e_ps, e_prm, 2, 0, 0, 1)  # build
    e_samples = e_trials * args.passes * args.steps
    for name, threads in (("elliptic_host_kernel", None), ("elliptic_host_kernel_one_thread", 1)):
        t = min(timed(sample_trials_kernel, e_st, e_ps, e_prm, e_trials, 0, 0, 1, threads=threads)[0]
                for _ in range(args.repeat))
        result[f"{name}_samples_per_s"] = e_samples / t
    t = min(timed(sample_trials, e_st, e_ps, e_prm, max(1, e_trials // 10), 0, 0, 1)[0] for _ in range(2))
    result["elliptic_numpy_twin_samples_per_s"] = max(1, e_trials // 10) * args.passes * args.steps / t
    ref, matched = result["reference_numpy_samples_per_s"], result["reference_matched_numpy_samples_per_s"]
    for name, used in (("host_kernel", cores), ("host_kernel_one_thread", 1), ("host_kernel_all_clear", cores),
                       ("numpy_twin", 1),
                       ("end_to_end_in_process", cores)):
        rate = result[f"{name}_samples_per_s"]
        result[f"{name}_over_reference"] = rate / ref
        result[f"{name}_over_matched_reference"] = rate / matched
        if used > 1:
            result[f"{name}_over_reference_per_core"] = rate / used / ref
    result["scaling"] = scaling(inputs, 4 * args.trials, 500)
    result["load_average_1min_after"] = os.getloadavg()[0]
    for k, v in result.items():
        print(f"{k}: {v}")
    write("montecarlo_cpu", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
