"""One Poisson sampler for every counter-keyed draw (NumPy/CuPy twin of ``kernels/poisson.cuh``).

The caller keys the draws: ``block(selection, attempt)`` returns the four Philox words
(arrays) of the elements ``selection`` (indices into ``lam``) at attempt ``attempt``, so the
counts stage (:mod:`qsat.detection.sampling`) and the Monte Carlo
(:mod:`qsat.montecarlo.sampler`) keep their own counters and share the arithmetic. Each
attempt uses one block: u = u01(x, y), v = u01(z, w).

* λ < 10: inversion by sequential search on u (attempt 0 only, at most
  :data:`MAX_INVERSION` terms);
* λ ≥ 10: Hörmann's PTRS transformed rejection (W. Hörmann, "The transformed rejection
  method for generating Poisson random variables", Insurance: Math. Econ. 12, 39 (1993),
  Sec. 3, algorithm PTRS), at most :data:`MAX_ATTEMPTS` attempts (acceptance > 0.9 each).

Same operations in the same order as the kernel, so samples agree with its builds exactly,
barring last-bit differences of exp/log/lgamma between libraries at an acceptance boundary.
"""

from __future__ import annotations

import numpy as np

from ..backend import array_namespace
from ..random import u01

#: Attempts of PTRS before a draw is reported as failed (-1); each accepts with p > 0.9.
MAX_ATTEMPTS = 64
#: Terms of the inversion search (λ < 10: P(k > 256) is far below 1e-300).
MAX_INVERSION = 256


def _gammaln(x, xp):
    if xp is np:
        from scipy.special import gammaln
    else:  # pragma: no cover - CuPy
        from cupyx.scipy.special import gammaln
    return gammaln(x)


def poisson_draws(lam, block):
    """Poisson samples (float64, same shape as the 1-D ``lam``): 0 where λ = 0, -1 where λ < 0,
    λ is NaN, or PTRS failed."""
    xp = array_namespace(lam)
    lam = xp.asarray(lam, dtype=xp.float64)
    out = xp.where(lam == 0.0, 0.0, -1.0)
    small = xp.nonzero((lam > 0.0) & (lam < 10.0))[0]
    if small.size:
        ls = lam[small]
        r = block(small, 0)
        u = u01(r[0], r[1])
        p = xp.exp(-ls)
        f = p.copy()
        k = xp.zeros(ls.shape)
        active = u > f
        for step in range(1, MAX_INVERSION + 1):
            if not bool(xp.any(active)):
                break
            k = xp.where(active, float(step), k)
            p = xp.where(active, p * ls / float(step), p)
            f = xp.where(active, f + p, f)
            active = active & (u > f)
        out[small] = k
    big = xp.nonzero(lam >= 10.0)[0]
    if big.size:
        lb = lam[big]
        slam, loglam = xp.sqrt(lb), xp.log(lb)
        b = 0.931 + 2.53 * slam
        a = -0.059 + 0.02483 * b
        invalpha = 1.1239 + 1.1328 / (b - 3.4)
        vr = 0.9277 - 3.6224 / (b - 2.0)
        result = xp.full(lb.shape, -1.0)
        pending = xp.ones(lb.shape, dtype=bool)
        for attempt in range(MAX_ATTEMPTS):
            idx = xp.nonzero(pending)[0]
            if not idx.size:
                break
            r = block(big[idx], attempt)
            U = u01(r[0], r[1]) - 0.5
            V = u01(r[2], r[3])
            us = 0.5 - xp.abs(U)
            k = xp.floor((2.0 * a[idx] / us + b[idx]) * U + lb[idx] + 0.43)
            quick = (us >= 0.07) & (V <= vr[idx])
            reject = ~quick & ((k < 0.0) | ((us < 0.013) & (V > us)))
            test = ~quick & ~reject
            kk = xp.where(test, k, 0.0)
            lhs = xp.log(V) + xp.log(invalpha[idx]) - xp.log(a[idx] / (us * us) + b[idx])
            rhs = -lb[idx] + kk * loglam[idx] - _gammaln(kk + 1.0, xp)
            accept = quick | (test & (lhs <= rhs))
            result[idx[accept]] = k[accept]
            pending[idx[accept]] = False
        out[big] = result
    return out
