"""GPU check: the fused per-step channel kernel and the fading sampler against the roofline.

Figures (``run(budget_s) -> dict``):

* ``step_kernel_steps_per_s`` — steps/s of ``kernels/channel_step.cu`` over 2^24 steps;
  ``step_bytes_per_step`` = 4 doubles + 1 byte in, 22 doubles out (209 B); the achieved
  bytes/s over the measured device copy bandwidth is ``step_kernel_fraction_of_roofline``
  (target >= 0.30); ``step_kernel_uplink_*`` the same for an uplink (beam spread and wander too);
* ``step_kernel_max_rel_diff`` — GPU vs NumPy twin on 2^17 steps, relative where |value| > 1e-6
  (expect ~1e-11), and ``step_kernel_max_abs_diff`` (loss terms near 0 dB carry only absolute
  rounding, ~1e-16);
* ``sampler_samples_per_s[model]`` — realisations/s of ``kernels/fading.cu`` for 2^26 samples
  (log-normal: 2 Philox blocks/sample; gamma-gamma: >= 4), ``sampler_fraction_of_roofline``
  against writing 8 B/sample at the copy bandwidth (target: >= 2e10 samples/s on an H100);
* ``sampler_agreement`` — fraction of GPU samples equal to the twin's to 1e-10 (same Philox
  counters; a gamma rejection may flip where libdevice and glibc differ by an ulp);
* ``step_kernel_attributes`` — ``channel_step`` as launched (256 threads/block): registers, local
  memory, driver and calculator occupancy (see gpu_check.kernel_attributes);
* ``step_kernel_launch_sweep`` — when the budget allows, steps/s over the same 2^24 steps for the
  default build and NVRTC ``--maxrregcount=64`` / ``80`` / ``96`` builds at 128, 256 and 512 threads/block,
  with ``identical_to_reference`` (bit-for-bit against default/256). A memory-bound kernel gains
  from more resident warps (more loads in flight): capped builds faster means occupancy limits it.

``python benchmarks/gpu_checks/channel.py --profile-launch`` makes one launch over 2^22 steps,
the one gpu_check.py profiles with ncu.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gpu_check import (gpu_best_s, launched_kernel_attributes, measured_bandwidth_bytes_s,  # noqa: E402
                       sweep_if_budget)


sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

STEP_BYTES = 4 * 8 + 1 + 22 * 8
SAMPLE_BYTES = 8
KERNEL = ("channel_step", "channel_step")


def _params(direction: str = "downlink"):
    """A Micius-like downlink (Xinglong 1 m receiver), or an uplink to a 0.3 m on-board receiver."""
    from qsat.channel.budget import LinkParameters
    from qsat.channel.config import LinkConfig

    if direction == "uplink":
        link = {"direction": "uplink", "transmitter": {"divergence": 20e-6, "aperture": 0.18, "pointing_jitter": 1e-6},
                "receiver": {"aperture": 0.3, "field_of_view": 100e-6}}
    else:
        link = {"transmitter": {"divergence": 10e-6, "aperture": 0.3, "pointing_jitter": 1e-6},
                "receiver": {"aperture": 1.0, "field_of_view": 100e-6}}
    cfg = LinkConfig.model_validate({"wavelength": 850e-9, "atmosphere": {"site": "clear"}, **link})
    return LinkParameters.from_config(cfg, station_altitude_m=960.0)


def _steps(n: int):
    """``n`` steps of a pass-like spread of elevations and ranges (device arrays)."""
    import cupy as cp

    rng = cp.random.default_rng(0)
    el = rng.uniform(math.radians(5), math.pi / 2, n)
    d = 500e3 / cp.sin(el) ** 0.8
    sun = rng.uniform(-1.0, 0.3, n)
    moon = rng.uniform(-1.0, 1.0, n)
    return el, d, sun, moon, cp.ones(n, dtype=cp.uint8)


def sweep(out: dict, steps: tuple, p, t_start: float, budget_s: float) -> None:
    """The launch sweep of the step kernel over ``steps`` = (elevation, range, sun, moon, valid)."""
    from qsat.channel.device import channel_step_gpu

    sweep_if_budget(out, lambda: channel_step_gpu(*steps, p), steps[0].size, "steps", KERNEL, t_start, budget_s,
                    prefix="step_kernel_")


def profile_launch(n: int = 1 << 22) -> None:
    """One launch of the step kernel (what ncu profiles)."""
    import cupy as cp

    from qsat.channel.device import channel_step_gpu

    channel_step_gpu(*_steps(n), _params())
    cp.cuda.Device().synchronize()


def run(budget_s: float, out: dict | None = None) -> dict:
    import cupy as cp

    from qsat.channel.budget import channel_step
    from qsat.channel.device import channel_step_gpu, sample_gpu
    from qsat.channel.sampling import fade_inputs, sample_transmittance

    t_start = time.perf_counter()
    out = {} if out is None else out
    bw = measured_bandwidth_bytes_s()
    out["copy_bandwidth_bytes_s"] = bw
    p = _params()

    n = 1 << 24
    el, d, sun, moon, valid = _steps(n)
    t = gpu_best_s(lambda: channel_step_gpu(el, d, sun, moon, valid, p))
    out["step_kernel_steps_per_s"] = n / t
    out["step_bytes_per_step"] = STEP_BYTES
    out["step_kernel_fraction_of_roofline"] = n * STEP_BYTES / t / bw
    out["step_kernel_attributes"] = launched_kernel_attributes(KERNEL)
    p_up = _params("uplink")  # beam spread and wander terms on top (the same bytes per step)
    t = gpu_best_s(lambda: channel_step_gpu(el, d, sun, moon, valid, p_up))
    out["step_kernel_uplink_steps_per_s"] = n / t
    out["step_kernel_uplink_fraction_of_roofline"] = n * STEP_BYTES / t / bw

    m = 1 << 17
    host = [cp.asnumpy(a[:m]) for a in (el, d, sun, moon, valid)]
    ref = channel_step(*host, p)
    got = cp.asnumpy(channel_step_gpu(el[:m], d[:m], sun[:m], moon[:m], valid[:m], p))
    ok = np.isfinite(ref)
    diff = np.abs(got[ok] - ref[ok])
    big = np.abs(ref[ok]) > 1e-6
    out["step_kernel_max_rel_diff"] = float(np.max(diff[big] / np.abs(ref[ok][big]), initial=0.0))
    out["step_kernel_max_abs_diff"] = float(np.max(diff, initial=0.0))

    # sampler: 1024 steps spread over the pass, 2^16 samples each
    steps = 1024
    res = channel_step_gpu(el[:steps], d[:steps], sun[:steps], moon[:steps], valid[:steps], p)
    fade = fade_inputs(res)
    samples = 1 << 16
    out["sampler_samples_per_s"] = {}
    out["sampler_fraction_of_roofline"] = {}
    for model in ("lognormal", "gamma_gamma", "auto"):
        if time.perf_counter() - t_start > 0.8 * budget_s:
            out["sampler_skipped"] = f"time budget reached before {model}"
            break
        t = gpu_best_s(lambda: sample_gpu(fade, samples, 12345, 0, model))
        rate = steps * samples / t
        out["sampler_samples_per_s"][model] = rate
        out["sampler_fraction_of_roofline"][model] = rate * SAMPLE_BYTES / bw

    fade_h = cp.asnumpy(fade[:64])
    twin = sample_transmittance(fade_h, 2000, 12345, 0, "auto")
    gpu = cp.asnumpy(sample_gpu(cp.asarray(fade_h), 2000, 12345, 0, "auto"))
    ok = np.isfinite(twin)
    out["sampler_agreement"] = float(np.mean(np.abs(gpu[ok] - twin[ok]) <= 1e-10 * np.abs(twin[ok])))

    sweep(out, (el, d, sun, moon, valid), p, t_start, budget_s)
    return out


if __name__ == "__main__":
    import json

    if "--profile-launch" in sys.argv[1:]:
        profile_launch()
    else:
        print(json.dumps(run(120.0), indent=2, default=float))
