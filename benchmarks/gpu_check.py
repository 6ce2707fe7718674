"""One call on a GPU machine: every GPU agreement test and every GPU benchmark.

Usage (on the device machine, from the repository root)::

    python benchmarks/gpu_check.py --out $OUT/gpu_check.json [--budget-s 420]

Runs ``pytest -m gpu`` (the real-kernel agreement tests), then each module in
``benchmarks/gpu_checks/`` (each exposes ``run(budget_s) -> dict``), and writes one
JSON file with the card's name (from the driver), the date, and every figure.
Commit that file under ``benchmarks/results/`` as ``gpu_check_<card>_<date>.json``.
Without a GPU it writes a file saying so and exits 1.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def card_info() -> dict:
    import cupy

    props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
    return {
        "name": props["name"].decode() if isinstance(props["name"], bytes) else props["name"],
        "compute_capability": f"{props['major']}.{props['minor']}",
        "multiprocessors": props["multiProcessorCount"],
        "memory_bytes": props["totalGlobalMem"],
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
    result["benchmarks"] = {}
    for path in modules:
        if path.name.startswith("_"):
            continue
        spec = importlib.util.spec_from_file_location(f"gpu_checks.{path.stem}", path)
        mod = importlib.util.module_from_spec(spec)
        t = time.perf_counter()
        try:
            spec.loader.exec_module(mod)
            figures = mod.run(per_module)
        except Exception:
            figures = {"error": traceback.format_exc()[-3000:]}
        figures["seconds"] = time.perf_counter() - t
        result["benchmarks"][path.stem] = figures
        print(path.stem, json.dumps(figures, default=float)[:400], flush=True)
        _write(args.out, result)  # after every module: a run cut short keeps what it measured

    _write(args.out, result)
    print(f"wrote {args.out}")
    return 0 if tests.returncode in (0, 5) else 1


if __name__ == "__main__":
    sys.exit(main())
