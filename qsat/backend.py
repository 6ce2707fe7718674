"""Array backends: ``numpy`` everywhere, ``cupy`` where a GPU is usable.

The choice comes from an explicit argument, else the ``QSAT_BACKEND`` environment
variable, else ``auto`` (CuPy only when it imports and sees a working device).
CuPy is imported only when asked for, never by ``import qsat``.
"""

from __future__ import annotations

import os
from functools import cache
from types import ModuleType

import numpy as np

from .errors import QsatInputError

BACKENDS = ("numpy", "cupy", "auto")
ENV_VAR = "QSAT_BACKEND"


@cache
def gpu_available() -> bool:
    """True when CuPy imports and at least one CUDA device answers."""
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0 and _device_works(cupy)
    except Exception:  # ImportError, CUDARuntimeError, driver or library missing
        return False


def _device_works(cupy) -> bool:
    return float(cupy.arange(4.0).sum()) == 6.0


def resolve(name: str | None = None) -> str:
    """Name of the backend to use: ``'numpy'`` or ``'cupy'``."""
    source = "backend" if name is not None else ENV_VAR
    name = name if name is not None else os.environ.get(ENV_VAR, "auto")
    name = name.strip().lower()
    if name not in BACKENDS:
        raise QsatInputError(source, name, "one of numpy, cupy, auto")
    if name == "auto":
        return "cupy" if gpu_available() else "numpy"
    if name == "cupy" and not gpu_available():
        raise QsatInputError(source, name, "a usable CUDA GPU with CuPy installed (pip install 'qsat[gpu]')")
    return name


#: Compute modes of the pass engine (:class:`qsat.orbits.propagate.Propagator`).
MODES = ("numpy", "host", "cupy")
#: The kernels the pass engine runs in ``host`` mode.
HOST_KERNELS = ("sgp4", "geometry")


def compute_mode(name: str | None = None) -> str:
    """How the pass engine computes for backend ``name``: ``'cupy'``, ``'host'`` or ``'numpy'``.

    ``auto`` on a CPU means the CUDA kernels built for the host (g++) when a compiler
    builds them, else the NumPy twin; an explicit ``numpy`` is always the twin. The
    two agree to the tolerances of ``tests/orbits/test_engines_agree.py``.
    """
    requested = (name if name is not None else os.environ.get(ENV_VAR, "auto")).strip().lower()
    resolved = resolve(name)
    if resolved == "cupy":
        return "cupy"
    if requested == "auto":
        from .kernels import host_kernels_usable

        if host_kernels_usable(HOST_KERNELS) is None:
            return "host"
    return "numpy"


def namespace(name: str | None = None) -> ModuleType:
    """The array module (numpy or cupy) for a backend name."""
    if resolve(name) == "cupy":
        import cupy

        return cupy
    return np


def array_namespace(*arrays) -> ModuleType:
    """The array module of the given arrays (CuPy if any of them lives on a GPU)."""
    for a in arrays:
        if type(a).__module__.split(".")[0] == "cupy":
            import cupy

            return cupy
    return np


def to_numpy(a) -> np.ndarray:
    """Bring an array to host memory (no copy for NumPy arrays)."""
    return a.get() if hasattr(a, "get") and not isinstance(a, np.ndarray) else np.asarray(a)
