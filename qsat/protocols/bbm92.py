"""BBM92 (entanglement-based BB84) key and entanglement budget.

Both parties measure in Z or X with probability 1/2 each (passive basis choice),
so a fraction q = 1/2 of the coincidences is sifted. With sifted events n and
bit error rate E (equal in both bases):

* Asymptotic key (Ma, Fung & Lo, PRA 76, 012307 (2007), Sec. III key-rate formula
  R ≥ q Q [1 - f H(E) - H(E)] for a PDC source with the squashing model):
  K_∞ = n [1 - h(E) - f h(E)].
* Finite key, in the structure used by Yin et al., Nature 582, 501 (2020), Methods
  (phase error from the other basis' bit errors by random sampling, leftover hash):
  ℓ = n [1 - h(E + γ)] - f n h(E) - log2(2/ε_cor) - 2 log2(1/(2 ε_PA)),
  γ = γ(ε_PE, E, n/2, n/2) of Lim et al. 2014 Eq. (5) with k = 1
  (:func:`~qsat.protocols.statistics.sampling_deviation`), ε_PE = ε_PA = ε_sec/2;
  the sifted events of each basis are tested by those of the other.

Direction: the phase error E + γ is an *upper* bound (it enters ℓ through -n h(·), h
rising on [0, 1/2]); values at or above 1/2 are capped at 1/2 (no key). The choice is
named in :data:`BOUNDS` (test hook of :func:`qsat.protocols.statistics.conservative`).
"""

from __future__ import annotations

import math

from ..backend import array_namespace
from .statistics import binary_entropy, conservative, sampling_deviation

SIFT_FRACTION = 0.5

#: Direction-carrying choices of :func:`finite_key_bits` (test hook).
BOUNDS = ("bbm92.phase.gamma",)


def asymptotic_key_bits(sifted_events, qber, error_correction_efficiency: float = 1.16):
    xp = array_namespace(sifted_events, qber)
    n = xp.asarray(sifted_events, dtype=xp.float64)
    h = binary_entropy(qber)
    return xp.maximum(n * (1.0 - h - error_correction_efficiency * h), 0.0)


def finite_key_bits(sifted_events, qber, *, eps_sec: float = 1e-10, eps_cor: float = 1e-15,
                    error_correction_efficiency: float = 1.16):
    """⌊ℓ⌋ (≥ 0) of the finite-key formula above; 0 without statistics."""
    xp = array_namespace(sifted_events, qber)
    n = xp.asarray(sifted_events, dtype=xp.float64)
    e = xp.asarray(qber, dtype=xp.float64)
    eps_pe = eps_pa = eps_sec / 2.0
    gamma = sampling_deviation(eps_pe, e, n / 2.0, n / 2.0, pieces=1.0)
    phase = xp.minimum(conservative("bbm92.phase.gamma", e + gamma, e - gamma), 0.5)  # upper bound
    ell = (n * (1.0 - binary_entropy(phase)) - error_correction_efficiency * n * binary_entropy(e)
           - math.log2(2.0 / eps_cor) - 2.0 * math.log2(1.0 / (2.0 * eps_pa)))
    return xp.where((ell > 0) & (n > 0), xp.floor(xp.where(ell > 0, ell, 0.0)), 0.0)
