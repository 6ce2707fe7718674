"""One call on a GPU machine: every GPU agreement test and every GPU benchmark.

Usage (on the device machine, from the repository root)::

    python benchmarks/gpu_check.py --out $OUT/gpu_check.json [--budget-s 420]

Runs ``pytest -m gpu`` (the real-kernel agreement tests), then each module in
``benchmarks/gpu_checks/`` (each exposes ``run(budget_s) -> dict``; a ``run(budget_s, out)``
fills ``out`` as it goes, so what it measured before an error is kept), then, where ``ncu``
(Nsight Compute) is installed and budget is left, profiles one small launch of the Monte Carlo
and of the channel kernel. It writes one JSON file with the card's name (from the driver), the
date, and every figure, after every step. Commit that file under ``benchmarks/results/`` as
``gpu_check_<card>_<date>.json``. Without a GPU it writes a file saying so and exits 1.

The Monte Carlo and channel checks also record the launched kernels' registers, local memory and
occupancy (:func:`kernel_attributes`) and time them at other block sizes and register caps
(:func:`launch_sweep`), for the diagnosis of a kernel below its roofline.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import traceback
from contextlib import contextmanager
from datetime import datetime, timezone
from glob import glob
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "benchmarks") not in sys.path:
    sys.path.insert(0, str(ROOT / "benchmarks"))  # kernel_resources (occupancy rule)
if str(ROOT) not in sys.path:
    sys.path.insert(1, str(ROOT))

from qsat.kernels import THREADS_PER_BLOCK, launch_function, nvrtc_options  # noqa: E402  (the launch itself)


def card_info() -> dict:
    import cupy

    props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
    return {
        "name": props["name"].decode() if isinstance(props["name"], bytes) else props["name"],
        "compute_capability": f"{props['major']}.{props['minor']}",
        "multiprocessors": props["multiProcessorCount"],
        "memory_bytes": props["totalGlobalMem"],
        "registers_per_multiprocessor": props.get("regsPerMultiprocessor"),
        "max_threads_per_multiprocessor": props.get("maxThreadsPerMultiProcessor"),
        "shared_memory_per_multiprocessor": props.get("sharedMemPerMultiprocessor"),
        "driver_version": cupy.cuda.runtime.driverGetVersion(),
        "runtime_version": cupy.cuda.runtime.runtimeGetVersion(),
        "cupy_version": cupy.__version__,
    }


def gpu_times_s(fn, repeat: int = 3, deadline: float = float("inf")) -> list[float]:
    """Seconds of ``fn()`` by CUDA events, ``repeat`` times (at least once; fewer past ``deadline``,
    a ``time.perf_counter()`` value). Every GPU check times its kernels through this."""
    import cupy

    times = []
    for _ in range(repeat):
        if times and time.perf_counter() > deadline:
            break
        start, stop = cupy.cuda.Event(), cupy.cuda.Event()
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(cupy.cuda.get_elapsed_time(start, stop) / 1e3)
    return times


def gpu_best_s(fn, repeat: int = 3) -> float:
    """Best of ``repeat`` timings of ``fn()`` after one untimed call (compilation, caches)."""
    import cupy

    fn()
    cupy.cuda.Device().synchronize()
    return min(gpu_times_s(fn, repeat))


def measured_bandwidth_bytes_s(n_bytes: int = 1 << 30) -> float:
    """Device-to-device copy bandwidth (read + write), best of 5: the roofline's memory leg."""
    import cupy

    a = cupy.empty(n_bytes // 8, dtype=cupy.float64)
    b = cupy.empty_like(a)
    return 2 * a.nbytes / min(gpu_times_s(lambda: cupy.copyto(b, a), 5))


_FMA_SOURCE = r"""
extern "C" __global__ void fma_chains(double* out, long long iters) {
    double a0 = threadIdx.x * 1e-9, a1 = a0 + 1.0, a2 = a0 + 2.0, a3 = a0 + 3.0;
    double a4 = a0 + 4.0, a5 = a0 + 5.0, a6 = a0 + 6.0, a7 = a0 + 7.0;
    const double b = 0.9999999, c = 1.0e-7;
    for (long long k = 0; k < iters; ++k) {
        a0 = fma(a0, b, c); a1 = fma(a1, b, c); a2 = fma(a2, b, c); a3 = fma(a3, b, c);
        a4 = fma(a4, b, c); a5 = fma(a5, b, c); a6 = fma(a6, b, c); a7 = fma(a7, b, c);
    }
    out[(long long)blockIdx.x * blockDim.x + threadIdx.x] = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
}
"""


def fp64_flops_per_s() -> float:
    """Measured fp64 FMA throughput (8 independent chains per thread, 2 flops per FMA), best of 3:
    the roofline's compute leg."""
    import cupy
    import numpy as np

    kernel = cupy.RawKernel(_FMA_SOURCE, "fma_chains")
    sm = cupy.cuda.Device().attributes["MultiProcessorCount"]
    blocks, threads, iters = sm * 16, 256, 1 << 14
    out = cupy.empty(blocks * threads, dtype=cupy.float64)
    best = gpu_best_s(lambda: kernel((blocks,), (threads,), (out, np.int64(iters))))
    return 2.0 * 8 * iters * blocks * threads / best


# --- kernel diagnosis: attributes, occupancy, launch sweep -------------------------------------

#: The sweep: each build at each block size; the first pair (default build, 256) is what
#: qsat.kernels.launch runs and the reference the others' outputs are compared with. Register caps
#: of 64, 80 and 96 give 4, 3 and 2 blocks of 256 threads per SM (50, 37.5, 25 % occupancy; 96 at
#: 128 threads: 5 blocks, 31 %); benchmarks/kernel_resources.py shows the spills each costs.
SWEEP_BUILDS = {"default": (), "maxrregcount_64": ("--maxrregcount=64",), "maxrregcount_80": ("--maxrregcount=80",),
                "maxrregcount_96": ("--maxrregcount=96",)}
SWEEP_BLOCK_SIZES = (256, 128, 512)
#: Budget a sweep needs to start (three NVRTC builds and 12 x 5 launches of ~0.03 s).
SWEEP_MIN_S = 12.0


_VARIANT_MODULES: dict = {}


def variant_module(name: str, extra: tuple[str, ...] = ()):
    """Kernel ``name`` built with ``extra`` NVRTC options: ``qsat.kernels.module(name)`` itself when
    there are none, else a separate ``cupy.RawModule`` (memoised per device)."""
    import cupy

    from qsat import kernels

    if not extra:
        return kernels.module(name)
    key = (name, tuple(extra), cupy.cuda.Device().id)
    if key not in _VARIANT_MODULES:
        _VARIANT_MODULES[key] = cupy.RawModule(code=kernels.source(name), options=nvrtc_options(tuple(extra)))
    return _VARIANT_MODULES[key]


@contextmanager
def launch_variant(threads: int = THREADS_PER_BLOCK, extra: tuple[str, ...] = ()):
    """Inside the block, qsat's kernel launches run the build of :func:`variant_module` ``(name, extra)``
    with ``threads`` per block. qsat.kernels.launch is replaced in every qsat module that holds it
    (``from ..kernels import launch``) and put back on exit. Yields ``{(name, function): kernel}``
    of the kernels launched inside the block."""
    from qsat import kernels

    original = kernels.launch
    used: dict = {}

    def launch(name: str, function: str, n: int, args: tuple) -> None:
        kernel = variant_module(name, extra).get_function(function)
        used[(name, function)] = kernel
        launch_function(kernel, n, args, threads)

    holders = [m for m in list(sys.modules.values())
               if getattr(m, "__name__", "").startswith("qsat") and getattr(m, "launch", None) is original]
    for m in holders:
        m.launch = launch
    try:
        yield used
    finally:
        for m in holders:
            m.launch = original


def kernel_attributes(kernel, threads: int = THREADS_PER_BLOCK) -> dict:
    """Registers, local memory (stack and spills) and occupancy at ``threads`` per block of a compiled
    ``cupy.RawKernel``: the driver's figures, each error recorded instead of raised, and the
    occupancy the CUDA calculator's rules give for its register count (kernel_resources.occupancy)."""
    import cupy

    out: dict = {"threads_per_block": threads}
    for attr in ("num_regs", "local_size_bytes", "max_threads_per_block", "shared_size_bytes", "const_size_bytes",
                 "binary_version", "ptx_version"):
        try:
            out[attr] = int(getattr(kernel, attr))
        except Exception as exc:
            out[f"{attr}_error"] = f"{type(exc).__name__}: {exc}"[:500]
    try:
        device = cupy.cuda.Device()
        blocks = cupy.cuda.driver.occupancyMaxActiveBlocksPerMultiprocessor(kernel.kernel.ptr, threads, 0)
        out["driver_blocks_per_sm"] = int(blocks)
        out["driver_occupancy"] = int(blocks) * threads / device.attributes["MaxThreadsPerMultiProcessor"]
    except Exception as exc:
        out["driver_occupancy_error"] = f"{type(exc).__name__}: {exc}"[:500]
    try:
        from kernel_resources import ARCH_LIMITS, occupancy

        arch = f"sm_{cupy.cuda.Device().compute_capability}"
        if "num_regs" in out and arch in ARCH_LIMITS:
            occ = occupancy(out["num_regs"], threads, arch, out.get("shared_size_bytes", 0))
            out["computed_blocks_per_sm"] = occ["blocks_per_sm"]
            out["computed_occupancy"] = occ["occupancy"]
            out["computed_limited_by"] = occ["limited_by"]
    except Exception as exc:
        out["computed_occupancy_error"] = f"{type(exc).__name__}: {exc}"[:500]
    return out


def compare_outputs(got, reference) -> dict:
    """Bit-for-bit equality of two device arrays, and how far apart they are where they differ."""
    import cupy

    got, reference = cupy.ascontiguousarray(got), cupy.ascontiguousarray(reference)
    if got.shape != reference.shape or got.dtype != reference.dtype:
        return {"identical_to_reference": False, "mismatch": f"{got.shape} {got.dtype} vs {reference.shape} "
                                                                f"{reference.dtype}"}
    same = bool(cupy.array_equal(got.view(cupy.uint8), reference.view(cupy.uint8)))
    out: dict = {"identical_to_reference": same}
    if not same:
        both_nan = cupy.isnan(got) & cupy.isnan(reference)
        differ = (got != reference) & ~both_nan
        out["elements_differing"] = int(cupy.count_nonzero(differ))
        out["max_abs_diff"] = float(cupy.max(cupy.where(differ, cupy.abs(got - reference), 0.0)))
    return out


def launch_sweep(call, work: float, kernel: tuple[str, str], deadline: float, out: dict | None = None,
                 builds: dict = SWEEP_BUILDS, block_sizes=SWEEP_BLOCK_SIZES) -> dict:
    """Time ``call()`` (a qsat function that launches ``kernel`` = (file, function) and returns its
    output) for every build in ``builds`` at every block size; ``work`` units per call.

    Fills ``out`` (returned) with ``"<build>/<threads>"`` -> ``seconds`` (best of 3), ``per_s``,
    :func:`kernel_attributes` of the build launched, and :func:`compare_outputs` against the first
    variant's output (``reference: true``). Past ``deadline`` (a ``time.perf_counter()`` value) the
    remaining variants are recorded as skipped; an error in one variant is recorded and the sweep goes on.
    """
    import cupy

    out = {} if out is None else out
    reference = None
    for build, extra in builds.items():
        for threads in block_sizes:
            key = f"{build}/{threads}"
            if time.perf_counter() > deadline:
                out[key] = {"skipped": "time budget reached"}
                continue
            try:
                with launch_variant(threads, tuple(extra)) as used:
                    seconds = gpu_best_s(call)
                    got = call()
                    cupy.cuda.Device().synchronize()
                entry: dict = {"seconds": seconds, "per_s": work / seconds, "options": list(extra)}
                if kernel not in used:
                    raise RuntimeError(f"{kernel[1]} was not launched (launched: {sorted(used)})")
                entry.update(kernel_attributes(used[kernel], threads))
                if reference is None:
                    reference = cupy.ascontiguousarray(got)
                    entry["reference"] = True
                else:
                    entry.update(compare_outputs(got, reference))
                del got
            except Exception as exc:
                entry = {"error": f"{type(exc).__name__}: {exc}"[:1000]}
            out[key] = entry
    return out


def launched_kernel_attributes(kernel: tuple[str, str]) -> dict:
    """:func:`kernel_attributes` of ``kernel`` = (file, function) as qsat.kernels.launch runs it."""
    from qsat import kernels

    return kernel_attributes(kernels.module(kernel[0]).get_function(kernel[1]), THREADS_PER_BLOCK)


def sweep_if_budget(out: dict, call, work: float, unit: str, kernel: tuple[str, str], t_start: float,
                    budget_s: float, prefix: str = "") -> None:
    """When at least :data:`SWEEP_MIN_S` of a check's budget (started at ``t_start``) is left, its
    :func:`launch_sweep` into ``out[prefix + "launch_sweep"]`` (filled as it goes; ``per_s`` in
    ``unit``/s), else the reason in ``out[prefix + "launch_sweep_skipped"]``."""
    left = budget_s - (time.perf_counter() - t_start)
    if left < SWEEP_MIN_S:
        out[prefix + "launch_sweep_skipped"] = f"{left:.1f} s of the budget left, the sweep needs {SWEEP_MIN_S:.0f} s"
        return
    out[prefix + "launch_sweep_unit"] = f"{unit}/s"
    out[prefix + "launch_sweep"] = {}
    launch_sweep(call, work, kernel, t_start + budget_s, out[prefix + "launch_sweep"])


def diagnosis_lines(name: str, figures: dict) -> list[str]:
    """One line per kernel attribute set and per sweep variant of a check's figures (for the log)."""
    def fmt(a: dict) -> str:
        return (f"regs={a.get('num_regs')} local={a.get('local_size_bytes')}B "
                f"occupancy driver={a.get('driver_occupancy')} computed={a.get('computed_occupancy')}")

    lines = []
    for key, value in figures.items():
        if key.endswith("kernel_attributes") and isinstance(value, dict):
            lines.append(f"{name} {key}: {fmt(value)}")
        elif key.endswith("launch_sweep") and isinstance(value, dict):
            unit = figures.get(key + "_unit", "/s")
            for variant, e in value.items():
                if "per_s" in e:
                    same = "reference" if e.get("reference") else f"identical={e.get('identical_to_reference')}"
                    lines.append(f"{name} {variant}: {e['per_s']:.4g} {unit} {fmt(e)} {same}")
                else:
                    lines.append(f"{name} {variant}: {e}")
        elif key.endswith("launch_sweep_skipped"):
            lines.append(f"{name} {key}: {value}")
    return lines


# --- Nsight Compute ------------------------------------------------------------------------------

NCU_SECTIONS = ("SpeedOfLight", "Occupancy", "ComputeWorkloadAnalysis")
NCU_TIMEOUT_S = 60.0
#: Budget left (of --budget-s) for an ncu run to start.
NCU_MIN_BUDGET_S = 20.0
NCU_TEXT_CHARS = 20_000
#: (gpu_checks module run with --profile-launch, kernel function profiled), in order.
NCU_TARGETS = (("montecarlo", "montecarlo_trials"), ("channel", "channel_step"))


def find_ncu() -> str | None:
    """Path of Nsight Compute's ``ncu``: on PATH, else in the CUDA toolkit or an Nsight Compute install."""
    found = shutil.which("ncu")
    if found:
        return found
    for pattern in ("/usr/local/cuda/bin/ncu", "/usr/local/cuda-*/bin/ncu", "/opt/nvidia/nsight-compute/*/ncu"):
        hits = sorted(glob(pattern))
        if hits:
            return hits[-1]
    return None


def _clip(text: str, limit: int = NCU_TEXT_CHARS) -> str:
    """``text`` within ``limit`` characters: its start (the command's own messages) and its end (the report)."""
    if len(text) <= limit:
        return text
    head = limit // 10
    return text[:head] + f"\n[... {len(text) - limit} characters left out ...]\n" + text[-(limit - head):]


_NCU_ROW = re.compile(r"^\s+(\S.*?)\s{2,}(?:(\S+)\s+)?([-+]?[\d,]*\.?\d+(?:e[-+]?\d+)?)\s*$")


def parse_ncu_metrics(text: str) -> dict:
    """``{metric name: {"unit": ..., "value": float}}`` from the section tables of ncu's text report
    (rows ``Name   Unit   Value``; the last value wins where a name repeats)."""
    metrics: dict = {}
    for line in text.splitlines():
        m = _NCU_ROW.match(line)
        if m is None:
            continue
        name, unit, value = m.group(1), m.group(2) or "", m.group(3).replace(",", "")
        try:
            metrics[name] = {"unit": unit, "value": float(value)}
        except ValueError:
            continue
    return metrics


def ncu_profile(ncu: str, module: str, kernel: str, timeout_s: float = NCU_TIMEOUT_S) -> dict:
    """Profile the first launch of ``kernel`` in ``benchmarks/gpu_checks/<module>.py --profile-launch``
    with ``ncu`` (sections :data:`NCU_SECTIONS`), killed after ``timeout_s``; the text report
    (clipped to :data:`NCU_TEXT_CHARS`) and the metrics :func:`parse_ncu_metrics` reads from it."""
    cmd = [ncu, *(a for section in NCU_SECTIONS for a in ("--section", section)), "--launch-count", "1",
           "--kernel-name", kernel, sys.executable, str(ROOT / "benchmarks" / "gpu_checks" / f"{module}.py"),
           "--profile-launch"]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
                            start_new_session=True)
    timed_out = False
    try:
        text, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(proc.pid, signal.SIGKILL)  # ncu and the profiled process
        text, _ = proc.communicate()
    return {"command": " ".join(cmd[1:]), "returncode": proc.returncode, "timed_out": timed_out,
            "seconds": time.perf_counter() - t, "text": _clip(text or ""), "metrics": parse_ncu_metrics(text or "")}


def ncu_step(out: dict, budget_left, ncu: str | None = None, write=lambda: None) -> dict:
    """Into ``out`` (returned): profiles of :data:`NCU_TARGETS` while ``budget_left()`` (seconds)
    allows, or why there are none. Calls ``write()`` after each profile."""
    ncu = ncu or find_ncu()
    if ncu is None:
        out.update(available=False, reason="ncu not on PATH (nor in /usr/local/cuda or /opt/nvidia)")
        return out
    out.update(available=True, path=ncu, profiles={})
    for module, kernel in NCU_TARGETS:
        left = budget_left()
        if left < NCU_MIN_BUDGET_S:
            out["profiles"][kernel] = {"skipped": f"{left:.1f} s of the budget left, needs {NCU_MIN_BUDGET_S:.0f} s"}
            continue
        try:
            out["profiles"][kernel] = ncu_profile(ncu, module, kernel)
        except Exception as exc:
            out["profiles"][kernel] = {"error": f"{type(exc).__name__}: {exc}"[:2000]}
        write()
    return out


def _write(path: Path, result: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=float) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "gpu_check.json")
    parser.add_argument("--budget-s", type=float, default=420.0, help="time for the benchmark modules")
    parser.add_argument("--tests-timeout-s", type=float, default=300.0, help="limit of the pytest -m gpu run")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    result = {"date_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    from qsat.backend import gpu_available

    if not gpu_available():
        result["error"] = "no usable CUDA device (CuPy missing or no GPU)"
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
        print(result["error"])
        return 1
    result["card"] = card_info()
    result["bandwidth_bytes_s"] = measured_bandwidth_bytes_s()

    t0 = time.perf_counter()
    try:
        tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-m", "gpu", "-p", "no:cacheprovider",
                                str(ROOT / "tests")], capture_output=True, text=True, cwd=ROOT,
                               timeout=args.tests_timeout_s)
    except subprocess.TimeoutExpired as err:
        out = err.stdout.decode() if isinstance(err.stdout, bytes) else (err.stdout or "")
        tests = subprocess.CompletedProcess(err.cmd, 124, out + f"\ntimed out after {args.tests_timeout_s} s", "")
    result["gpu_tests"] = {"returncode": tests.returncode, "seconds": time.perf_counter() - t0,
                           "summary": tests.stdout.strip().splitlines()[-1:] if tests.stdout else [],
                           "failures": tests.stdout[-4000:] if tests.returncode else ""}
    print("gpu tests:", result["gpu_tests"]["summary"], flush=True)
    _write(args.out, result)

    modules = sorted((ROOT / "benchmarks" / "gpu_checks").glob("*.py"))
    per_module = args.budget_s / max(len(modules), 1)
    t_modules = time.perf_counter()
    result["benchmarks"] = {}
    for path in modules:
        if path.name.startswith("_"):
            continue
        spec = importlib.util.spec_from_file_location(f"gpu_checks.{path.stem}", path)
        mod = importlib.util.module_from_spec(spec)
        t = time.perf_counter()
        figures: dict = {}
        try:
            spec.loader.exec_module(mod)
            if "out" in inspect.signature(mod.run).parameters:
                mod.run(per_module, out=figures)  # fills figures as it goes: kept if it fails later
            else:
                figures = mod.run(per_module)
        except Exception:
            figures["error"] = traceback.format_exc()[-3000:]
        figures["seconds"] = time.perf_counter() - t
        result["benchmarks"][path.stem] = figures
        print(path.stem, json.dumps(figures, default=float)[:400], flush=True)
        for line in diagnosis_lines(path.stem, figures):
            print(line, flush=True)
        _write(args.out, result)  # after every module: a run cut short keeps what it measured

    result["ncu"] = {}
    ncu_step(result["ncu"], lambda: args.budget_s - (time.perf_counter() - t_modules),
             write=lambda: _write(args.out, result))
    print("ncu:", json.dumps({k: v for k, v in result["ncu"].items() if k != "profiles"}), flush=True)
    for kernel, profile in result["ncu"].get("profiles", {}).items():
        metrics = {k: v["value"] for k, v in profile.get("metrics", {}).items()}
        print(f"ncu {kernel}:", json.dumps({k: v for k, v in profile.items() if k not in ("text", "metrics")}),
              json.dumps(metrics)[:3000], flush=True)
    _write(args.out, result)
    print(f"wrote {args.out}")
    return 0 if tests.returncode in (0, 5) else 1


if __name__ == "__main__":
    sys.exit(main())
