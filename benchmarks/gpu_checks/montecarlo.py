"""GPU check: the fused Monte Carlo kernel (kernels/montecarlo.cu) — samples/s, roofline, CPU ratio, agreement.

A *sample* is one (trial, step) transmittance realisation carried through the click
statistics (per-step samples; the per-pass Poisson draws and keys are included in the time).

Figures (``run(budget_s) -> dict``):

* ``fused_samples_per_s`` — best of 3 over ``trials x passes x steps`` (2^14 x 64 x 400 =
  4.2e8 samples), all fades and counts sampled (target >= 2e10 on an H100);
* ``fp64_flops_per_s`` — measured FP64 FMA throughput of the card (a register-resident FMA
  chain), and ``fraction_of_fp64_roofline`` = samples/s x ``FLOPS_PER_SAMPLE`` / that rate.
  Per sample the kernel reads 112 B of step constants shared by every trial of the pass (one
  address per warp: consecutive threads take consecutive trials of a pass; served from L1/L2),
  writes 128 B per (trial, pass) once, so DRAM traffic is
  < 1 B/sample; ``dram_bytes_per_sample`` and ``fraction_of_memory_roofline`` show it;
* ``FLOPS_PER_SAMPLE`` (estimate, stated): Box-Muller 2 log + 2 sqrt + sincos + cos
  (~150 FP64 operations in libdevice), one exp for both fades (~30), AR(1) and pointing
  arithmetic on the per-step constants (~15; the divisions and square roots of a step are
  computed once per chunk, ``qsat.montecarlo.sampler.step_constants``), three expm1 and the
  click statistics (~80): ~275;
* ``host_kernel_samples_per_s`` (one CPU core) and ``host_kernel_all_cores_samples_per_s``
  (the host build on every core, OpenMP threads over elements), ``numpy_twin_samples_per_s``;
  ``gpu_over_*`` ratios (target >= 1000x the CPU NumPy path);
* ``end_to_end_samples_per_s`` — :func:`qsat.montecarlo.run.run_montecarlo` with the cupy
  backend in-process (keys on the GPU, Dask, no checkpoint);
* ``agreement_counts_identical`` — fraction of (trial, pass) elements whose 12 sampled counts
  equal the host build's (same Philox counters; FMA contraction and libdevice may move a
  Poisson acceptance test by an ulp), ``agreement_sum_eta_max_rel_diff``;
* ``cost_breakdown`` — samples/s with nothing, only the fades, only the counts, or both sampled
  (weather off), and the per-sample cost of the fades and of the counts by difference;
* ``elliptic_samples_per_s`` — the elliptic-beam uplink entry (``montecarlo_trials_elliptic``,
  ``bench_montecarlo.elliptic_synthetic_inputs``, 2^12 trials x 64 passes x 400 steps),
  ``elliptic_host_kernel_samples_per_s`` (one core), ``elliptic_gpu_over_host_kernel``, and its
  agreement with the host build (``elliptic_agreement_*``, as above);
* ``kernel_attributes`` — ``montecarlo_trials`` as launched (NVRTC build, 256 threads/block):
  ``num_regs``, ``local_size_bytes`` (stack frame and spills), ``max_threads_per_block``, the
  driver's occupancy (``driver_blocks_per_sm``, ``driver_occupancy``) and the calculator's
  (``computed_*``, benchmarks/kernel_resources.py);
* ``launch_sweep`` — when the budget allows, samples/s of the same problem for the default build
  and NVRTC ``--maxrregcount=64`` / ``80`` / ``96`` builds at 128, 256 and 512 threads/block, each with its
  attributes and ``identical_to_reference`` (bit-for-bit against default/256: the register cap
  changes the register allocation, not the arithmetic). Which variant wins tells register
  pressure (capped builds faster) from fp64 or integer throughput (all alike).

``python benchmarks/gpu_checks/montecarlo.py --profile-launch`` makes one small launch (2^12
trials x 64 passes x 400 steps), the one gpu_check.py profiles with ncu.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gpu_check import (fp64_flops_per_s, gpu_best_s, launched_kernel_attributes,  # noqa: E402  (shared probes)
                       measured_bandwidth_bytes_s, sweep_if_budget)


sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

FLOPS_PER_SAMPLE = 275.0
DRAM_BYTES_PER_ELEMENT = 16 * 8  # one output row per (trial, pass)
KERNEL = ("montecarlo", "montecarlo_trials")


def sweep(out: dict, st, ps, prm, trials: int, t_start: float, budget_s: float) -> None:
    """The launch sweep of the fused kernel on device inputs ``st, ps, prm`` (``trials`` per call)."""
    from qsat.montecarlo.kernel import sample_trials_kernel

    samples = trials * st.shape[0] * st.shape[1]
    sweep_if_budget(out, lambda: sample_trials_kernel(st, ps, prm, trials, 0, 0, 1), samples, "samples", KERNEL,
                    t_start, budget_s)


#: What each breakdown run samples (the flags of ``[montecarlo] sample``); weather is left out of
#: all of them, so every pass is walked.
BREAKDOWN = {"nothing": (), "fades": ("turbulence", "pointing"), "counts": ("counts",),
             "fades_and_counts": ("turbulence", "pointing", "counts")}


def breakdown(out: dict, st, ps, prm, trials: int) -> None:
    """Samples/s of the fused kernel with parts of the sampling switched off (``cost_breakdown``).

    ``nothing``: the walk, one exp and the expm1s of the click statistics per step; ``fades``
    adds a Philox block, Box-Muller and the AR(1) update per step; ``counts`` adds the 12
    Poisson draws per pass. The differences of the per-sample times are what each part costs —
    a profile from timings alone, for where ncu is not at hand.
    """
    from qsat.montecarlo.kernel import sample_trials_kernel
    from qsat.montecarlo.sampler import FLAGS, PARAMS

    samples = trials * st.shape[0] * st.shape[1]
    k = PARAMS.index("flags")
    result = {}
    for name, sampled in BREAKDOWN.items():
        flags_prm = prm.copy()
        flags_prm[k] = float(sum(FLAGS[f] for f in sampled))
        t = gpu_best_s(lambda: sample_trials_kernel(st, ps, flags_prm, trials, 0, 0, 1))
        result[name] = {"samples_per_s": samples / t, "ns_per_sample": t / samples * 1e9}
    base = result["nothing"]["ns_per_sample"]
    result["fades_cost_ns_per_sample"] = result["fades"]["ns_per_sample"] - base
    result["counts_cost_ns_per_sample"] = result["counts"]["ns_per_sample"] - base
    out["cost_breakdown"] = result


def profile_launch(trials: int = 1 << 12) -> None:
    """One launch of the fused kernel on a small problem (what ncu profiles)."""
    import cupy

    from bench_montecarlo import synthetic_inputs
    from qsat.montecarlo.kernel import sample_trials_kernel

    inputs = synthetic_inputs(64, 400)
    st, ps, prm = (cupy.asarray(a) for a in (inputs.steps, inputs.passes, inputs.params))
    sample_trials_kernel(st, ps, prm, trials, 0, 0, 1)
    cupy.cuda.Device().synchronize()


def agreement(out: dict, gpu, host, prefix: str = "") -> None:
    """GPU against host-build outputs: the fraction of elements with identical counts, and the largest
    relative difference of the transmittance sums."""
    from qsat.montecarlo.sampler import OUT_SUM_ETA

    out[prefix + "agreement_counts_identical"] = float(np.mean(np.all(gpu[..., :12] == host[..., :12], axis=-1)))
    ref = host[..., OUT_SUM_ETA]
    ok = ref > 0
    out[prefix + "agreement_sum_eta_max_rel_diff"] = float(np.max(np.abs(gpu[..., OUT_SUM_ETA][ok] - ref[ok])
                                                                   / ref[ok]))


def elliptic(out: dict, trials: int = 1 << 12, n_pass: int = 64, n_step: int = 400) -> None:
    """The elliptic-beam uplink entry: GPU samples/s, one host core, and agreement with the host build."""
    import cupy

    from bench_montecarlo import elliptic_synthetic_inputs
    from qsat.montecarlo.kernel import sample_trials_kernel

    host_in = elliptic_synthetic_inputs(n_pass, n_step)
    dev_in = [cupy.asarray(a) for a in host_in]
    t = gpu_best_s(lambda: sample_trials_kernel(*dev_in, trials, 0, 0, 1))
    out["elliptic_samples_per_s"] = trials * n_pass * n_step / t
    cpu_trials = min(16, trials)
    sample_trials_kernel(*host_in, 2, 0, 0, 1)  # build
    t0 = time.perf_counter()
    host = sample_trials_kernel(*host_in, cpu_trials, 0, 0, 1, threads=1)
    out["elliptic_host_kernel_samples_per_s"] = cpu_trials * n_pass * n_step / (time.perf_counter() - t0)
    out["elliptic_gpu_over_host_kernel"] = out["elliptic_samples_per_s"] / out["elliptic_host_kernel_samples_per_s"]
    agreement(out, sample_trials_kernel(*dev_in, cpu_trials, 0, 0, 1).get(), host, "elliptic_")


def run(budget_s: float, out: dict | None = None) -> dict:
    import cupy

    from bench_montecarlo import synthetic_inputs
    from qsat.montecarlo.kernel import sample_trials_kernel
    from qsat.montecarlo.run import run_montecarlo
    from qsat.montecarlo.sampler import STEP_COLUMNS, STEP_CONSTANTS, sample_trials

    t_start = time.perf_counter()
    out = {} if out is None else out
    out["flops_per_sample_estimate"] = FLOPS_PER_SAMPLE
    n_pass, n_step, trials = 64, 400, 1 << 14
    inputs = synthetic_inputs(n_pass, n_step)
    st, ps, prm = (cupy.asarray(a) for a in (inputs.steps, inputs.passes, inputs.params))
    samples = trials * n_pass * n_step
    t = gpu_best_s(lambda: sample_trials_kernel(st, ps, prm, trials, 0, 0, 1))
    out["fused_samples_per_s"] = samples / t
    out["fused_seconds"] = t
    out["kernel_attributes"] = launched_kernel_attributes(KERNEL)
    out["fp64_flops_per_s"] = fp64_flops_per_s()
    out["fraction_of_fp64_roofline"] = out["fused_samples_per_s"] * FLOPS_PER_SAMPLE / out["fp64_flops_per_s"]
    out["copy_bandwidth_bytes_s"] = measured_bandwidth_bytes_s()
    const_bytes = inputs.steps.nbytes // len(STEP_COLUMNS) * len(STEP_CONSTANTS)  # what the kernel reads per step
    out["dram_bytes_per_sample"] = (DRAM_BYTES_PER_ELEMENT * trials * n_pass + const_bytes) / samples
    out["fraction_of_memory_roofline"] = (out["fused_samples_per_s"] * out["dram_bytes_per_sample"]
                                          / out["copy_bandwidth_bytes_s"])

    # CPU: host build on one core, on every core, and the NumPy twin (fewer trials, same passes)
    cpu_trials = 256
    cpu_samples = cpu_trials * n_pass * n_step
    sample_trials_kernel(inputs.steps, inputs.passes, inputs.params, 2, 0, 0, 1)  # build
    t0 = time.perf_counter()
    host = sample_trials_kernel(inputs.steps, inputs.passes, inputs.params, cpu_trials, 0, 0, 1, threads=1)
    out["host_kernel_samples_per_s"] = cpu_samples / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    sample_trials_kernel(inputs.steps, inputs.passes, inputs.params, cpu_trials * 4, 0, 0, 1)  # every core
    out["host_kernel_all_cores_samples_per_s"] = cpu_trials * 4 * n_pass * n_step / (time.perf_counter() - t0)
    twin_trials = 16
    t0 = time.perf_counter()
    sample_trials(inputs.steps, inputs.passes, inputs.params, twin_trials, 0, 0, 1)
    out["numpy_twin_samples_per_s"] = twin_trials * n_pass * n_step / (time.perf_counter() - t0)
    for name in ("host_kernel", "host_kernel_all_cores", "numpy_twin"):
        out[f"gpu_over_{name}"] = out["fused_samples_per_s"] / out[f"{name}_samples_per_s"]

    agreement(out, sample_trials_kernel(st, ps, prm, cpu_trials, 0, 0, 1).get(), host)

    breakdown(out, st, ps, prm, trials)
    elliptic(out)

    if time.perf_counter() - t_start < 0.6 * budget_s:
        e2e_trials = 1 << 14
        try:
            run_montecarlo(inputs, trials=4096, seed=2, trial_chunk=4096, pass_chunk=n_pass, backend="cupy")
            t0 = time.perf_counter()
            run_montecarlo(inputs, trials=e2e_trials, seed=2, trial_chunk=4096, pass_chunk=n_pass, backend="cupy")
            out["end_to_end_samples_per_s"] = e2e_trials * n_pass * n_step / (time.perf_counter() - t0)
        except Exception as exc:  # recorded, the kernel figures above still stand
            out["end_to_end_error"] = f"{type(exc).__name__}: {exc}"[:2000]

    sweep(out, st, ps, prm, trials, t_start, budget_s)
    return out


if __name__ == "__main__":
    import json

    if "--profile-launch" in sys.argv[1:]:
        profile_launch()
    else:
        print(json.dumps(run(300.0), indent=2, default=float))
