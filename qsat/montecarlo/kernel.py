"""The fused kernel ``kernels/montecarlo.cu``: on the GPU (CuPy) or its host build (g++, ctypes, OpenMP).

Same arguments and outputs as :func:`qsat.montecarlo.sampler.sample_trials`, the NumPy twin.
The per-step constants (:func:`qsat.montecarlo.sampler.step_constants`) are computed here, in
the array namespace of the inputs, by the twin's own function, so both read the same numbers.
"""

from __future__ import annotations

import os

import numpy as np

from ..backend import array_namespace
from ..random import check_seed
from .sampler import FLAG_CLEAR_GIVEN, FLAG_ELLIPTIC, N_OUT, PARAMS, row_sums, scalar_params, step_constants


def _signed(seed: int) -> int:
    """The 64-bit seed as the ``long long`` the kernel takes (same bits)."""
    return seed - 2**64 if seed >= 2**63 else seed


def host_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - platforms without affinity
        return os.cpu_count() or 1


def sample_trials_kernel(steps, passes, params, n_trials: int, first_trial: int, first_pass: int, seed: int,
                         steps_b=None, clear=None, threads: int | None = None):
    """Outputs (n_trials, n_rows, N_OUT): CuPy input runs on the GPU, NumPy input on the host build.

    ``clear`` as in :func:`~qsat.montecarlo.sampler.sample_trials`. ``threads``: OpenMP threads of
    the host build (default: every core of the process); the result does not depend on it.
    """
    seed = _signed(check_seed(seed))
    xp = array_namespace(steps)
    steps = xp.asarray(steps, dtype=xp.float64)
    if steps_b is not None:
        steps_b = xp.asarray(steps_b, dtype=xp.float64)
        if steps_b.shape != steps.shape:
            raise ValueError(f"steps_b {steps_b.shape} must match steps {steps.shape}")
    passes = xp.ascontiguousarray(xp.asarray(passes, dtype=xp.float64))
    prm = scalar_params(params)  # on the host once: the chunk's constants and the entry depend on them
    consts = step_constants(steps, prm, passes)
    consts_b = consts if steps_b is None else step_constants(steps_b, prm, passes)
    sums = row_sums(steps, passes, prm)
    params = xp.ascontiguousarray(xp.asarray(params, dtype=xp.float64))
    n_pass, n_step = steps.shape[0], steps.shape[1]
    flags = int(prm[PARAMS.index("flags")])
    if flags & FLAG_CLEAR_GIVEN:
        clear = xp.ascontiguousarray(xp.asarray(clear, dtype=xp.float64))
        if clear.shape != (n_trials, n_pass, 2):
            raise ValueError(f"clear {clear.shape} must be (n_trials, n_rows, 2) = {(n_trials, n_pass, 2)}")
    else:
        clear = xp.zeros(1)
    out = xp.empty((n_trials, n_pass, N_OUT), dtype=xp.float64)
    if xp is np:
        from ..kernels import host_call

        host_call("montecarlo", "montecarlo_trials_host", consts, consts_b, passes, sums, params, clear, out, n_trials,
                  n_pass, n_step, first_trial, first_pass, seed, host_cores() if threads is None else max(1, threads))
    else:
        from ..kernels import launch

        entry = "montecarlo_trials_elliptic" if flags & FLAG_ELLIPTIC else "montecarlo_trials"
        launch("montecarlo", entry, n_trials * n_pass,
               (consts, consts_b, passes, sums, params, clear, out, np.int64(n_trials), np.int64(n_pass),
                np.int64(n_step), np.int64(first_trial), np.int64(first_pass), np.int64(seed)))
    return out


def host_kernel_available() -> bool:
    """True when a host C++ compiler can build the kernel (the CPU path's fast engine)."""
    import shutil

    return bool(os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++"))
