"""CPU benchmark of the channel: the vectorised NumPy path against a per-step reference.

Usage: ``python benchmarks/bench_channel.py [--steps 1000000]``; writes
``benchmarks/results/channel_cpu.json``. Side by side, per step:

* ``reference_loop``: a straightforward per-step loop (``link_budget`` called on one step at a
  time, as a planning script would) — the baseline;
* ``numpy``: ``channel_step`` over all steps at once (the NumPy twin);
* ``host_kernel``: the CUDA kernel's body built for the CPU (g++ -O2, one thread);
* and the fading sampler, twin vs host kernel, in samples/s.

``--baseline REV`` also times the twin and the host kernel of git revision ``REV`` (its
``qsat/channel/budget.py`` and ``kernels/channel*``) in the same process, interleaved with the
current ones, for a downlink and an uplink, and records both (``hoisting``: before / after).
"""

from __future__ import annotations

import argparse
import ctypes
import importlib.util
import math
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import best_of, timed, write  # noqa: E402

from qsat.channel.budget import N_OUT, LinkParameters, channel_step, link_budget  # noqa: E402
from qsat.channel.config import LinkConfig  # noqa: E402
from qsat.channel.sampling import fade_inputs, sample_transmittance, sample_transmittance_host  # noqa: E402
from qsat.kernels import host_call, host_flags  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _git_show(rev, path):
    return subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{path}"], check=True, capture_output=True,
                          text=True).stdout


def baseline(rev, tmp: Path):
    """(budget module, host channel_step function) of git revision ``rev``."""
    for name in ("qsat_cuda.cuh", "channel.cuh", "channel_step.cu"):
        (tmp / name).write_text(_git_show(rev, f"kernels/{name}"))
    compiler = shutil.which("g++") or shutil.which("c++")
    subprocess.run([compiler, "-x", "c++", *host_flags("channel_step"), "-shared", "-fPIC", "-I", str(tmp),
                    str(tmp / "channel_step.cu"), "-o", str(tmp / "channel_step.so"), "-lm"], check=True)
    lib = ctypes.CDLL(str(tmp / "channel_step.so"))
    (tmp / "budget.py").write_text(_git_show(rev, "qsat/channel/budget.py"))
    spec = importlib.util.spec_from_file_location("qsat.channel._budget_baseline", tmp / "budget.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)

    def host(*args):
        lib.channel_step(*(ctypes.c_void_p(a.ctypes.data) if isinstance(a, np.ndarray) else ctypes.c_longlong(a)
                           for a in args))

    return module, host


def config(uplink=False):
    if uplink:  # tests/channel/conftest.py: uplink_params
        return LinkConfig.model_validate({
            "wavelength": 850e-9, "direction": "uplink",
            "transmitter": {"divergence": 20e-6, "aperture": 0.18, "pointing_jitter": 1e-6},
            "receiver": {"aperture": 0.3, "field_of_view": 100e-6}, "atmosphere": {"site": "clear"}})
    return LinkConfig.model_validate({
        "wavelength": 850e-9, "transmitter": {"divergence": 10e-6, "aperture": 0.3, "pointing_jitter": 1e-6},
        "receiver": {"aperture": 1.0, "field_of_view": 100e-6}, "atmosphere": {"site": "clear"}})


def params(cls=LinkParameters, uplink=False):
    return cls.from_config(config(uplink), station_altitude_m=5047.0 if uplink else 960.0)


def steps(n, seed=1):
    rng = np.random.default_rng(seed)
    el = rng.uniform(math.radians(10), math.pi / 2, n)
    d = 500e3 / np.sin(el) ** 0.8
    sun = rng.uniform(-1.0, 0.2, n)
    moon = rng.uniform(-1.0, 1.0, n)
    return el, d, sun, moon, np.ones(n, dtype=np.uint8)


def compare(rev, el, d, sun, moon, valid, out, args) -> dict:
    """Twin and host kernel of git revision ``rev`` against the current ones, interleaved.

    The twins run over chunks of ``args.chunk`` steps: whole-array temporaries of 10^6 steps
    make their timing a matter of page faults (run-to-run spread of 2x on a small VM).
    """
    tmp = Path(tempfile.mkdtemp(prefix="qsat-bench-"))
    old, old_host = baseline(rev, tmp)
    n, chunk = el.size, args.chunk

    def twin(module, p):
        for s in range(0, n, chunk):
            module.channel_step(el[s:s + chunk], d[s:s + chunk], sun[s:s + chunk], moon[s:s + chunk],
                                valid[s:s + chunk], p)

    current = sys.modules[channel_step.__module__]
    result = {"note": "per-step arithmetic cut: per-scenario constants hoisted into the packed parameters, one "
                      "ln(sec zeta) and exp(c + a ln sec zeta) in place of the powers of sec zeta, no repeated "
                      "work when the turbulent and vacuum beams are the same (downlinks); before = git revision "
                      "baseline_revision, after = this tree, same process, interleaved, best of repeat",
              "baseline_revision": subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", rev], check=True,
                                                  capture_output=True, text=True).stdout.strip(),
              "repeat": args.repeat, "numpy_chunk_steps": chunk}
    for direction in ("downlink", "uplink"):
        p, q = params(uplink=direction == "uplink"), params(old.LinkParameters, uplink=direction == "uplink")
        runs = {
            "numpy_before": lambda: twin(old, q),
            "numpy_after": lambda: twin(current, p),
            "host_kernel_before": lambda: old_host(el, d, sun, moon, valid, q.packed(), q.aperture_table, out, n),
            "host_kernel_after": lambda: host_call("channel_step", "channel_step", el, d, sun, moon, valid,
                                                   p.packed(), p.aperture_table, out, n),
        }
        runs["host_kernel_before"]()
        ref = out.copy()
        runs["host_kernel_after"]()
        ok = np.isfinite(ref)
        worst = float(np.max(np.abs(out[ok] - ref[ok]) / np.maximum(np.abs(ref[ok]), 1e-12)))
        times = {key: math.inf for key in runs}
        for _ in range(args.repeat):
            for key, fn in runs.items():
                times[key] = min(times[key], timed(fn)[0])
        per_step = {key: t / n for key, t in times.items()}
        result[direction] = {
            "per_step_seconds": per_step,
            "speedup_after_vs_before": {"numpy": per_step["numpy_before"] / per_step["numpy_after"],
                                        "host_kernel": per_step["host_kernel_before"] / per_step["host_kernel_after"]},
            "max_relative_difference_after_vs_before": worst,
        }
        print(direction, result[direction])
    return result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=1_000_000)
    ap.add_argument("--loop-steps", type=int, default=2000)
    ap.add_argument("--sampler-steps", type=int, default=200)
    ap.add_argument("--samples", type=int, default=5000)
    ap.add_argument("--baseline", metavar="REV", help="also time the channel step of this git revision")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--chunk", type=int, default=10_000, help="steps per twin call in the --baseline comparison")
    args = ap.parse_args(argv)
    p = params()

    el, d, sun, moon, valid = steps(args.steps)
    out = np.empty((N_OUT, args.steps))
    host_call("channel_step", "channel_step", el[:10], d[:10], sun[:10], moon[:10], valid[:10], p.packed(),
              p.aperture_table, np.empty((N_OUT, 10)), 10)  # build once outside the timing
    runs = {"numpy": lambda: channel_step(el, d, sun, moon, valid, p),
            "host_kernel": lambda: host_call("channel_step", "channel_step", el, d, sun, moon, valid, p.packed(),
                                             p.aperture_table, out, args.steps)}
    times = {key: math.inf for key in runs}
    for _ in range(args.repeat):  # interleaved, best of
        for key, fn in runs.items():
            times[key] = min(times[key], timed(fn)[0])
    t_numpy, t_host = times["numpy"], times["host_kernel"]
    hoisting = compare(args.baseline, el, d, sun, moon, valid, out, args) if args.baseline else None

    m = args.loop_steps

    def loop():
        for i in range(m):
            link_budget(el[i], d[i], p, sun_altitude_rad=sun[i], moon_altitude_rad=moon[i])

    t_loop = best_of(loop, repeat=1)

    fade = fade_inputs(channel_step(*(a[:args.sampler_steps] for a in (el, d, sun, moon, valid)), p))
    n_samp = args.sampler_steps * args.samples
    sample_transmittance_host(fade[:2], 10, 1)  # build
    t_s_twin = best_of(lambda: sample_transmittance(fade, args.samples, 7, model="auto"), repeat=2)
    t_s_host = best_of(lambda: sample_transmittance_host(fade, args.samples, 7, model="auto"), repeat=2)

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
    if hoisting:
        result["hoisting"] = hoisting
    for k, v in result.items():
        print(k, v)
    write("channel_cpu", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
