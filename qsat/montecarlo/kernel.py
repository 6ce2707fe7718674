"""The fused kernel ``kernels/montecarlo.cu``: on the GPU (CuPy) or its host build (g++, ctypes).

Same arguments and outputs as :func:`qsat.montecarlo.sampler.sample_trials`, the NumPy twin.
"""

from __future__ import annotations

import numpy as np

from ..backend import array_namespace
from ..random import check_seed
from .sampler import N_OUT


def _signed(seed: int) -> int:
    """The 64-bit seed as the ``long long`` the kernel takes (same bits)."""
    return seed - 2**64 if seed >= 2**63 else seed


def sample_trials_kernel(steps, passes, params, n_trials: int, first_trial: int, first_pass: int, seed: int,
                         steps_b=None):
    """Outputs (n_trials, n_rows, N_OUT): CuPy input runs on the GPU, NumPy input on the host build."""
    seed = _signed(check_seed(seed))
    xp = array_namespace(steps)
    steps = xp.ascontiguousarray(xp.asarray(steps, dtype=xp.float64))
    steps_b = steps if steps_b is None else xp.ascontiguousarray(xp.asarray(steps_b, dtype=xp.float64))
    if steps_b.shape != steps.shape:
        raise ValueError(f"steps_b {steps_b.shape} must match steps {steps.shape}")
    passes = xp.ascontiguousarray(xp.asarray(passes, dtype=xp.float64))
    params = xp.ascontiguousarray(xp.asarray(params, dtype=xp.float64))
    n_pass, n_step = steps.shape[0], steps.shape[1]
    out = xp.empty((n_trials, n_pass, N_OUT), dtype=xp.float64)
    if xp is np:
        from ..kernels import host_call

        host_call("montecarlo", "montecarlo_trials", steps, steps_b, passes, params, out, n_trials, n_pass, n_step,
                  first_trial, first_pass, seed)
    else:
        from ..kernels import launch

        launch("montecarlo", "montecarlo_trials", n_trials * n_pass,
               (steps, steps_b, passes, params, out, np.int64(n_trials), np.int64(n_pass), np.int64(n_step),
                np.int64(first_trial), np.int64(first_pass), np.int64(seed)))
    return out


def host_kernel_available() -> bool:
    """True when a host C++ compiler can build the kernel (the CPU path's fast engine)."""
    import os
    import shutil

    return bool(os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++"))
