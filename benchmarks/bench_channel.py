"""CPU benchmark of the channel: the vectorised NumPy path against a per-step reference.

Usage: ``python benchmarks/bench_channel.py [--steps 1000000]``; writes
``benchmarks/results/channel_cpu.json``. Side by side, per step:

* ``reference_loop``: a straightforward per-step loop (``link_budget`` called on one step at a
  time, as a planning script would) — the baseline;
* ``numpy``: ``channel_step`` over all steps at once (the NumPy twin);
* ``host_kernel``: the CUDA kernel's body built for the CPU (g++ -O2, one thread);
* and the fading sampler, twin vs host kernel, in samples/s.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import timed, write  # noqa: E402

from qsat.channel.budget import N_OUT, LinkParameters, channel_step, link_budget  # noqa: E402
from qsat.channel.config import LinkConfig  # noqa: E402
from qsat.channel.sampling import fade_inputs, sample_transmittance, sample_transmittance_host  # noqa: E402
from qsat.kernels import host_call  # noqa: E402


def params():
    cfg = LinkConfig.model_validate({
        "wavelength": 850e-9, "transmitter": {"divergence": 10e-6, "aperture": 0.3, "pointing_jitter": 1e-6},
        "receiver": {"aperture": 1.0, "field_of_view": 100e-6}, "atmosphere": {"site": "clear"}})
    return LinkParameters.from_config(cfg, station_altitude_m=960.0)


def steps(n, seed=1):
    rng = np.random.default_rng(seed)
    el = rng.uniform(math.radians(10), math.pi / 2, n)
    d = 500e3 / np.sin(el) ** 0.8
    sun = rng.uniform(-1.0, 0.2, n)
    moon = rng.uniform(-1.0, 1.0, n)
    return el, d, sun, moon, np.ones(n, dtype=np.uint8)


def best(fn, repeat=3):
    return min(timed(fn)[0] for _ in range(repeat))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=1_000_000)
    ap.add_argument("--loop-steps", type=int, default=2000)
    ap.add_argument("--sampler-steps", type=int, default=200)
    ap.add_argument("--samples", type=int, default=5000)
    args = ap.parse_args(argv)
    p = params()

    el, d, sun, moon, valid = steps(args.steps)
    t_numpy = best(lambda: channel_step(el, d, sun, moon, valid, p))
    out = np.empty((N_OUT, args.steps))
    host_call("channel_step", "channel_step", el[:10], d[:10], sun[:10], moon[:10], valid[:10], p.packed(),
              p.aperture_table, np.empty((N_OUT, 10)), 10)  # build once outside the timing
    t_host = best(lambda: host_call("channel_step", "channel_step", el, d, sun, moon, valid, p.packed(),
                                    p.aperture_table, out, args.steps))

    m = args.loop_steps

    def loop():
        for i in range(m):
            link_budget(el[i], d[i], p, sun_altitude_rad=sun[i], moon_altitude_rad=moon[i])

    t_loop = best(loop, repeat=1)

    fade = fade_inputs(channel_step(*(a[:args.sampler_steps] for a in (el, d, sun, moon, valid)), p))
    n_samp = args.sampler_steps * args.samples
    sample_transmittance_host(fade[:2], 10, 1)  # build
    t_s_twin = best(lambda: sample_transmittance(fade, args.samples, 7, model="auto"), repeat=2)
    t_s_host = best(lambda: sample_transmittance_host(fade, args.samples, 7, model="auto"), repeat=2)

    per_step = {"reference_loop_s": t_loop / m, "numpy_s": t_numpy / args.steps, "host_kernel_s": t_host / args.steps}
    result = {
        "benchmark": "channel per-step budget (downlink, 850 nm, HV-5/7, clear preset)",
        "steps": args.steps, "loop_steps": m,
        "per_step_seconds": per_step,
        "steps_per_second": {k.replace("_s", ""): 1.0 / v for k, v in per_step.items()},
        "speedup_numpy_vs_reference_loop": per_step["reference_loop_s"] / per_step["numpy_s"],
        "speedup_host_kernel_vs_numpy": per_step["numpy_s"] / per_step["host_kernel_s"],
        "sampler": {"steps": args.sampler_steps, "samples_per_step": args.samples, "model": "auto",
                    "twin_samples_per_second": n_samp / t_s_twin, "host_kernel_samples_per_second": n_samp / t_s_host},
    }
    for k, v in result.items():
        print(k, v)
    write("channel_cpu", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
