"""Sampled photon counts: Poisson draws from counter-based Philox streams (NumPy twin of kernels/counts.cu).

:func:`sample_poisson` is the element-for-element twin of ``sample_poisson`` in
``kernels/counts.cu``: element i, attempt a uses the Philox block of counter
(i_lo, i_hi, stream, tag + (a << 24)) and key ``seed`` (:func:`qsat.random.blocks`),
u = u01(x, y), v = u01(z, w). λ < 10: inversion by sequential search on u; λ ≥ 10:
Hörmann's PTRS transformed rejection (Insurance: Math. Econ. 12, 39 (1993), Sec. 3).
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
from ..random import blocks, u01

MAX_ATTEMPTS = 64
MAX_INVERSION = 256
TAG_LIMIT = 1 << 24
TAG_CORRECT, TAG_ERRORS = 0x10, 0x11


def _block(index, seed, stream, tag, attempt):
    return blocks(index, seed, stream, (tag + (attempt << 24)) & 0xFFFFFFFF)


def _lgamma(x):
    from scipy.special import gammaln

    return gammaln(x)


def sample_poisson(lam, seed: int, stream: int = 0, tag: int = 0):
    """Poisson samples (int64) of means ``lam`` (flat index = element index); -1 marks a failure."""
    if not 0 <= tag < TAG_LIMIT:
        raise ValueError(f"tag {tag}: expected 0 <= tag < 2**24")
    xp = array_namespace(lam)
    lam = xp.asarray(lam, dtype=xp.float64)
    flat = lam.reshape(-1)
    out = xp.full(flat.shape, -1, dtype=xp.int64)
    out = xp.where(flat == 0.0, 0, out)
    index = xp.arange(flat.size, dtype=xp.uint64)
    # inversion, λ < 10
    small = xp.nonzero((flat > 0.0) & (flat < 10.0))[0]
    if small.size:
        lam_s = flat[small]
        r = _block(index[small], seed, stream, tag, 0)
        u = u01(r[0], r[1])
        p = xp.exp(-lam_s)
        f = p.copy()
        k = xp.zeros(small.shape, dtype=xp.int64)
        active = u > f
        for step in range(1, MAX_INVERSION + 1):
            if not bool(xp.any(active)):
                break
            p = xp.where(active, p * lam_s / float(step), p)
            f = xp.where(active, f + p, f)
            k = xp.where(active, step, k)
            active = active & (u > f)
        out[small] = k
    # PTRS, λ >= 10
    big = xp.nonzero(flat >= 10.0)[0]
    if big.size:
        lam_b = flat[big]
        slam, loglam = xp.sqrt(lam_b), xp.log(lam_b)
        b = 0.931 + 2.53 * slam
        a = -0.059 + 0.02483 * b
        invalpha = 1.1239 + 1.1328 / (b - 3.4)
        vr = 0.9277 - 3.6224 / (b - 2.0)
        result = xp.full(big.shape, -1, dtype=xp.int64)
        pending = xp.ones(big.shape, dtype=bool)
        for attempt in range(MAX_ATTEMPTS):
            idx = xp.nonzero(pending)[0]
            if not idx.size:
                break
            r = _block(index[big[idx]], seed, stream, tag, attempt)
            U = u01(r[0], r[1]) - 0.5
            V = u01(r[2], r[3])
            us = 0.5 - xp.abs(U)
            k = xp.floor((2.0 * a[idx] / us + b[idx]) * U + lam_b[idx] + 0.43)
            quick = (us >= 0.07) & (V <= vr[idx])
            reject = ~quick & ((k < 0.0) | ((us < 0.013) & (V > us)))
            test = ~quick & ~reject
            kk = xp.where(test, k, 0.0)
            with np.errstate(divide="ignore", invalid="ignore"):
                lhs = xp.log(V) + xp.log(invalpha[idx]) - xp.log(a[idx] / (us * us) + b[idx])
                rhs = -lam_b[idx] + kk * loglam[idx] - _lgamma(kk + 1.0)
            accept = quick | (test & (lhs <= rhs))
            result[idx[accept]] = k[accept].astype(xp.int64)
            pending[idx[accept]] = False
        out[big] = result
    return out.reshape(lam.shape)


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
