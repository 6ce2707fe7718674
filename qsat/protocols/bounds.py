"""Fundamental limits of repeaterless key distribution over a pure-loss channel.

* PLOB: secret-key capacity −log2(1 − η) bits per channel use (Pirandola,
  Laurenza, Ottaviani & Banchi, Nat. Commun. 8, 15043 (2017), Eq. (19)).
* TGW: the earlier upper bound log2((1 + η)/(1 − η)) (Takeoka, Guha & Wilde,
  Nat. Commun. 5, 5235 (2014), Eq. (4)).

For a pass the per-use bound is summed over pulses: Σ_t N_t · bound(η_t).
"""

from __future__ import annotations

from ..backend import array_namespace


def plob_bits_per_use(transmittance):
    """−log2(1 − η), computed as −log1p(−η)/ln 2 (accurate for small η); +inf at η = 1."""
    xp = array_namespace(transmittance)
    eta = xp.asarray(transmittance, dtype=xp.float64)
    return -xp.log1p(-xp.minimum(eta, 1.0)) / xp.log(xp.asarray(2.0))


def tgw_bits_per_use(transmittance):
    """log2((1 + η)/(1 − η)) = (log1p(η) − log1p(−η))/ln 2."""
    xp = array_namespace(transmittance)
    eta = xp.minimum(xp.asarray(transmittance, dtype=xp.float64), 1.0)
    return (xp.log1p(eta) - xp.log1p(-eta)) / xp.log(xp.asarray(2.0))


def pass_bound_bits(transmittance, pulses_per_step, valid=None, bound: str = "plob"):
    """Σ_t N_t · bound(η_t) over the last axis (bits per pass)."""
    xp = array_namespace(transmittance)
    f = plob_bits_per_use if bound == "plob" else tgw_bits_per_use
    eta = xp.asarray(transmittance, dtype=xp.float64)
    w = xp.asarray(pulses_per_step, dtype=xp.float64) * (
        xp.ones_like(eta) if valid is None else xp.asarray(valid, dtype=xp.float64))
    return xp.sum(w * xp.where(w > 0, f(xp.where(w > 0, eta, 0.0)), 0.0), axis=-1)
