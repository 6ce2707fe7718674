"""Sampled photon counts: Poisson draws from counter-based Philox streams (NumPy twin of kernels/counts.cu).

:func:`sample_poisson` is the element-for-element twin of ``sample_poisson`` in
``kernels/counts.cu``: element i, attempt a uses the Philox block of counter
(i_lo, i_hi, stream, tag + (a << 24)) and key ``seed`` (:func:`qsat.random.blocks`),
u = u01(x, y), v = u01(z, w); the sampler (inversion below 10, Hörmann's PTRS above) is
:func:`qsat.detection.poisson.poisson_draws`, the twin of ``kernels/poisson.cuh``.
Samples agree with the host build of the kernel exactly, barring last-bit differences
of exp/log/lgamma between C and NumPy at an acceptance boundary (never seen in the
tests).

:func:`sample_counts` samples a block's per-intensity detections and errors:
errors ~ Poisson(m), correct detections ~ Poisson(n - m), independent — the binomial
split of a Poisson count (thinning), so detections ~ Poisson(n) and errors | detections
~ Binomial(detections, m/n).
"""

from __future__ import annotations

import numpy as np

from ..backend import array_namespace
from ..random import blocks
from .poisson import poisson_draws

TAG_LIMIT = 1 << 24
TAG_CORRECT, TAG_ERRORS = 0x10, 0x11


def _block(index, seed, stream, tag, attempt):
    return blocks(index, seed, stream, (tag + (attempt << 24)) & 0xFFFFFFFF)


def sample_poisson(lam, seed: int, stream: int = 0, tag: int = 0):
    """Poisson samples (int64) of means ``lam`` (flat index = element index); -1 marks a failure."""
    if not 0 <= tag < TAG_LIMIT:
        raise ValueError(f"tag {tag}: expected 0 <= tag < 2**24")
    xp = array_namespace(lam)
    lam = xp.asarray(lam, dtype=xp.float64)
    index = xp.arange(lam.size, dtype=xp.uint64)
    draws = poisson_draws(lam.reshape(-1), lambda sel, attempt: _block(index[sel], seed, stream, tag, attempt))
    return draws.astype(xp.int64).reshape(lam.shape)


def sample_poisson_kernel(lam, seed: int, stream: int = 0, tag: int = 0):
    """The same samples from ``kernels/counts.cu``: on the GPU for CuPy input, else the host build."""
    xp = array_namespace(lam)
    lam = xp.ascontiguousarray(xp.asarray(lam, dtype=xp.float64))
    out = xp.empty(lam.shape, dtype=xp.int64)
    n = lam.size
    if xp is np:
        from ..kernels import host_call

        host_call("counts", "sample_poisson", lam.reshape(-1), out.reshape(-1), n, seed, stream, tag)
    else:
        from ..kernels import launch

        launch("counts", "sample_poisson", n, (lam, out, np.int64(n), np.int64(seed), np.int64(stream), np.int64(tag)))
    return out


def sample_counts(n_expected, m_expected, seed: int, stream: int = 0):
    """Sampled (detections, errors) for expected detections ``n`` and errors ``m`` (same shapes)."""
    xp = array_namespace(n_expected, m_expected)
    n = xp.asarray(n_expected, dtype=xp.float64)
    m = xp.minimum(xp.asarray(m_expected, dtype=xp.float64), n)
    errors = sample_poisson(m, seed, stream, TAG_ERRORS)
    correct = sample_poisson(n - m, seed, stream, TAG_CORRECT)
    return correct + errors, errors
