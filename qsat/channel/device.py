"""GPU launches of the channel kernels (CuPy); imported only on the ``cupy`` backend."""

from __future__ import annotations

import numpy as np

from ..kernels import launch
from .budget import N_OUT, LinkParameters


def channel_step_gpu(elevation_rad, range_m, sun_altitude_rad, moon_altitude_rad, valid, params: LinkParameters):
    """``kernels/channel_step.cu: channel_step`` on the current device; a CuPy (n, N_OUT) view.

    The kernel writes one contiguous row per output (``(N_OUT, n)``, coalesced stores); the
    transposed view has the twin's ``(n, N_OUT)`` layout.
    """
    import cupy as cp

    arrays = [cp.ascontiguousarray(cp.asarray(a, dtype=cp.float64))
              for a in (elevation_rad, range_m, sun_altitude_rad, moon_altitude_rad)]
    v = cp.ascontiguousarray(cp.asarray(valid, dtype=cp.uint8))
    n = arrays[0].size
    out = cp.empty((N_OUT, n), dtype=cp.float64)
    p = cp.asarray(params.packed())
    table = cp.asarray(params.aperture_table)
    launch("channel_step", "channel_step", n, (*arrays, v, p, table, out, np.int64(n)))
    return out.T


def sample_gpu(fade, n_samples: int, seed: int, stream: int = 0, model: str = "auto", first_step: int = 0):
    """``kernels/fading.cu: fading_sample`` on the current device; returns CuPy (n_steps, n_samples)."""
    import cupy as cp

    from ..random import check_seed
    from .sampling import MODELS

    seed = check_seed(seed)
    fade = cp.ascontiguousarray(cp.asarray(fade, dtype=cp.float64))
    n_steps = fade.shape[0]
    out = cp.empty((n_steps, n_samples), dtype=cp.float64)
    total = n_steps * n_samples
    launch("fading", "fading_sample", total,
           (fade, out, np.int64(n_steps), np.int64(n_samples), np.int64(first_step),
            np.int64(seed - 2**64 if seed >= 2**63 else seed), np.int64(stream), np.int64(MODELS[model])))
    return out


def sample_elliptic_gpu(inputs, n_samples: int, seed: int, stream: int = 0, first_step: int = 0):
    """``kernels/fading.cu: elliptic_sample`` on the current device; returns CuPy (n_steps, n_samples)."""
    import cupy as cp

    from ..random import check_seed

    seed = check_seed(seed)
    inputs = cp.ascontiguousarray(cp.asarray(inputs, dtype=cp.float64))
    n_steps = inputs.shape[0]
    out = cp.empty((n_steps, n_samples), dtype=cp.float64)
    launch("fading", "elliptic_sample", n_steps * n_samples,
           (inputs, out, np.int64(n_steps), np.int64(n_samples), np.int64(first_step),
            np.int64(seed - 2**64 if seed >= 2**63 else seed), np.int64(stream)))
    return out
