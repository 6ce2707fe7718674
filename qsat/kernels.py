"""Loading qsat's CUDA kernels (CuPy), and building them for the host (tests).

Each ``kernels/NAME.cu`` is element-wise and written against ``qsat_cuda.cuh``:

* :func:`module` compiles it with CuPy's ``RawModule`` (NVRTC), memoised per
  device, for the ``cupy`` backend;
* :func:`compile_ptx` compiles it with the machine's ``nvcc`` for a given
  architecture (CI proves every kernel builds for sm_80 and sm_90);
* :func:`host_library` compiles the same source with the host C++ compiler into a
  shared library loaded through :mod:`ctypes`, so tests run the kernel body itself
  against its NumPy twin on machines without a GPU.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
from functools import cache
from pathlib import Path

import numpy as np

from ._paths import kernels_dir

#: Device architectures every kernel must compile for (A100, H100/H200).
PTX_ARCHS = ("sm_80", "sm_90")
#: Threads per block of every launch, and the grid cap in blocks per multiprocessor (the kernels
#: loop over their elements with a grid stride, so any grid covers them).
THREADS_PER_BLOCK = 256
GRID_BLOCKS_PER_SM = 32


def kernel_names() -> list[str]:
    """Names of all kernels shipped in ``kernels/`` (without ``.cu``)."""
    return sorted(p.stem for p in kernels_dir().glob("*.cu"))


def source(name: str) -> str:
    return (kernels_dir() / f"{name}.cu").read_text()


def _source_digest(name: str) -> str:
    """Hash of a kernel and every header it may include."""
    h = hashlib.sha256()
    for path in sorted(kernels_dir().glob("*.cuh")) + [kernels_dir() / f"{name}.cu"]:
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


@cache
def _module_for_device(name: str, device_id: int):
    import cupy

    with cupy.cuda.Device(device_id):
        return cupy.RawModule(code=source(name), options=nvrtc_options())


def nvrtc_options(extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The NVRTC options every kernel is built with (:func:`nvrtc_extra_options` included), then ``extra``."""
    return ("-I" + str(kernels_dir()), "--std=c++17", *nvrtc_extra_options(), *extra)


def nvrtc_extra_options() -> tuple[str, ...]:
    """Extra NVRTC options from ``QSAT_NVRTC_OPTIONS`` (space-separated, e.g. ``--fmad=false``).

    NVRTC contracts a*b + c into fused multiply-adds by default, so GPU results round differently
    from the host builds (which are compiled with -ffp-contract=off); ``--fmad=false`` removes that
    difference, at some cost in speed, when bit-for-bit comparisons are wanted.
    """
    return tuple(os.environ.get("QSAT_NVRTC_OPTIONS", "").split())


def module(name: str):
    """The compiled CuPy ``RawModule`` for kernel ``name`` on the current device."""
    import cupy

    return _module_for_device(name, cupy.cuda.Device().id)


def launch(name: str, function: str, n: int, args: tuple) -> None:
    """Launch an element-wise kernel over ``n`` elements (grid-stride loop)."""
    launch_function(module(name).get_function(function), n, args)


def grid_blocks(n: int, threads: int, multiprocessors: int) -> int:
    """Blocks of an element-wise launch of ``n`` elements: enough for one element a thread, capped."""
    return int(min((n + threads - 1) // threads, multiprocessors * GRID_BLOCKS_PER_SM))


def launch_function(kernel, n: int, args: tuple, threads: int = THREADS_PER_BLOCK) -> None:
    """Launch a compiled element-wise kernel (a ``cupy.RawKernel``) over ``n`` elements."""
    import cupy

    if n == 0:
        return
    sm = cupy.cuda.Device().attributes["MultiProcessorCount"]
    kernel((grid_blocks(n, threads, sm),), (threads,), args)


def nvcc() -> str | None:
    """Path of the nvcc compiler, or None."""
    found = shutil.which("nvcc")
    if found:
        return found
    for root in (os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH"), "/usr/local/cuda"):
        if root and Path(root, "bin", "nvcc").exists():
            return str(Path(root, "bin", "nvcc"))
    return None


def compile_ptx(name: str, arch: str, out_dir: Path) -> Path:
    """Compile kernel ``name`` to PTX for ``arch`` with nvcc; returns the PTX path."""
    compiler = nvcc()
    if compiler is None:
        raise RuntimeError("nvcc not found (set CUDA_HOME or put nvcc on PATH)")
    out = Path(out_dir) / f"{name}.{arch}.ptx"
    cmd = [compiler, "-ptx", f"-arch={arch}", "--std=c++17", "-I", str(kernels_dir()),
           str(kernels_dir() / f"{name}.cu"), "-o", str(out)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"nvcc failed for {name} ({arch}):\n{result.stderr}")
    return out


#: Serialises host builds between the threads of one process (Dask's threaded workers).
_BUILD_LOCK = threading.Lock()


def _cache_dir() -> Path:
    root = os.environ.get("QSAT_CACHE_DIR") or os.path.join(tempfile.gettempdir(), f"qsat-{os.getuid()}")
    path = Path(root) / "host-kernels"
    path.mkdir(parents=True, exist_ok=True)
    return path


#: Flags of every host build: no fast math and no FMA contraction, so a host build rounds like
#: its NumPy twin (the agreement tests compare them to the last bit where they can).
_HOST_FLAGS = ("-std=c++17", "-O2", "-fno-fast-math", "-ffp-contract=off")
#: Extra host flags per kernel, after the common ones. montecarlo: -O3, no errno from libm (sqrt
#: inlined, correctly rounded as before) and OpenMP threads over its elements
#: (``montecarlo_trials_host``); sgp4, geometry: OpenMP threads over their independent elements
#: ($OMP_NUM_THREADS; Dask workers set it to 1). None changes a result (no reassociation, no contraction).
_HOST_EXTRA = {"montecarlo": ("-O3", "-fno-math-errno", "-fopenmp"), "sgp4": ("-fopenmp",),
               "geometry": ("-fopenmp",)}


def host_flags(name: str) -> tuple[str, ...]:
    """The compiler flags of kernel ``name``'s host build."""
    return _HOST_FLAGS + _HOST_EXTRA.get(name, ())


def _build(compiler: str, name: str, flags: tuple[str, ...], out: Path) -> subprocess.CompletedProcess:
    cmd = [compiler, "-x", "c++", *flags, "-shared", "-fPIC", "-I", str(kernels_dir()),
           str(kernels_dir() / f"{name}.cu"), "-o", str(out), "-lm"]
    return subprocess.run(cmd, capture_output=True, text=True)


def host_compiler() -> str | None:
    """The host C++ compiler (``$CXX``, else g++ or c++ on PATH), or None."""
    return os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++")


@cache
def host_kernels_usable(names: tuple[str, ...]) -> str | None:
    """None when kernels ``names`` build for the host and load; otherwise why not (one line)."""
    if host_compiler() is None:
        return "no host C++ compiler (g++)"
    try:
        for name in names:
            host_library(name)
    except (RuntimeError, OSError) as exc:
        return str(exc).splitlines()[0]
    return None


@cache
def host_library(name: str) -> ctypes.CDLL:
    """Kernel ``name`` built for the host (g++, :func:`host_flags`), loaded with ctypes.

    Every ``QSAT_GLOBAL`` kernel becomes an ``extern "C"`` function of the same name
    and arguments that loops over all elements. Built once per source digest and flags.
    A compiler without OpenMP builds the kernel without it (its host loops run serially).
    """
    compiler = host_compiler()
    if compiler is None:
        raise RuntimeError("no host C++ compiler (g++) to build kernels for the host")
    flags = host_flags(name)
    tag = hashlib.sha256((_source_digest(name) + " ".join(flags)).encode()).hexdigest()[:16]
    lib = _cache_dir() / f"{name}-{tag}.so"
    # Threads of one process (Dask's threaded workers) must not build into the same file, and
    # processes race only to an atomic rename of their own temporary file.
    with _BUILD_LOCK:
        if not lib.exists():
            fd, tmp_name = tempfile.mkstemp(prefix=f"{lib.stem}.", suffix=".tmp", dir=lib.parent)
            os.close(fd)
            tmp = Path(tmp_name)
            try:
                result = _build(compiler, name, flags, tmp)
                if result.returncode != 0 and "-fopenmp" in flags:
                    result = _build(compiler, name, tuple(f for f in flags if f != "-fopenmp"), tmp)
                if result.returncode != 0:
                    raise RuntimeError(f"host build of kernel {name} failed:\n{result.stderr}")
                os.replace(tmp, lib)
            finally:
                tmp.unlink(missing_ok=True)
    return ctypes.CDLL(str(lib))


def host_call(name: str, function: str, *args) -> None:
    """Call a host-built kernel; NumPy arrays are passed by pointer (C-contiguous).

    Integers are passed as ``long long`` and floats as ``double``, matching the
    ``long long n`` / ``double`` convention of qsat kernels' scalar arguments.
    """
    c_args = []
    for a in args:
        if isinstance(a, np.ndarray):
            if not a.flags.c_contiguous:
                raise ValueError(f"{function}: arrays passed to host kernels must be C-contiguous")
            c_args.append(ctypes.c_void_p(a.ctypes.data))
        elif isinstance(a, (int, np.integer)):
            c_args.append(ctypes.c_longlong(int(a)))
        elif isinstance(a, (float, np.floating)):
            c_args.append(ctypes.c_double(float(a)))
        else:
            raise TypeError(f"{function}: cannot pass {type(a).__name__} to a host kernel")
    getattr(host_library(name), function)(*c_args)
