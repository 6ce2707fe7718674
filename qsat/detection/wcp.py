"""Expected detection statistics of a weak-coherent-pulse (WCP) decoy source.

Per pulse of intensity μ_k (Poissonian, phase randomised) through a channel of
transmittance η (detector efficiency included) to a passive-basis receiver with
two detectors per basis (Lim et al., PRA 89, 022307 (2014), Sec. "Simulation";
the same model as SatQuMA, Sidhu et al., npj Quantum Inf. 8, 18 (2022), Methods):

* D_k = 1 - (1 - 2 p_dc) e^{-η μ_k}           click probability (either detector)
* R_k = (1 + p_ap) D_k                         with afterpulses
* E_k = p_dc + e_int (1 - e^{-η μ_k}) + p_ap D_k / 2   error-click probability

with p_dc the extraneous (dark + background) click probability per pulse per
detector, e_int the intrinsic (misalignment) error and p_ap the afterpulse
probability. A pass is the sum over its steps of N_t = f_rep Δt pulses; the
sifted counts are n_{X,k} = Σ_t N_t p_X² p_k R_k(t) and m_{X,k} = Σ_t N_t p_X² p_k E_k(t)
(Z with (1 - p_X)²).

For optimisation the sums over steps are replaced by power moments of the
transmittance (exact series, truncated where the remainder is below 1e-17):
Σ_t (1 - 2p_t)(1 - e^{-η_t μ}) = Σ_{j≥1} (-1)^{j+1} μ^j / j! · W_j with
W_j = Σ_t (1 - 2 p_t) η_t^j, so a pass of any length costs O(J) per candidate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..backend import array_namespace

#: Number of moments kept; with η μ ≤ 1 the remainder is below 1/25! ≈ 6e-26.
N_MOMENTS = 24
#: Largest η·μ for which the moment series is used (remainder 1.6^25/25! < 1e-19).
MOMENT_LIMIT = 1.6


def click_probabilities(transmittance, mu, dark_count_probability, afterpulse_probability,
                        intrinsic_qber):
    """(R_k, E_k): click and error-click probabilities per pulse, shape (..., n_intensities).

    ``transmittance`` (...,) includes the detector efficiency; ``mu`` broadcasts
    against ``transmittance[..., None]``; ``dark_count_probability`` is per pulse
    per detector (scalar or (...,)).
    """
    xp = array_namespace(transmittance, mu)
    eta = xp.asarray(transmittance, dtype=xp.float64)[..., None]
    pdc = xp.asarray(dark_count_probability, dtype=xp.float64)
    pdc = pdc[..., None] if pdc.ndim else pdc
    x = eta * xp.asarray(mu, dtype=xp.float64)
    signal = -xp.expm1(-x)  # 1 - e^{-ημ} without cancellation
    d = signal + 2.0 * pdc * xp.exp(-x)
    r = (1.0 + afterpulse_probability) * d
    e = pdc + intrinsic_qber * signal + 0.5 * afterpulse_probability * d
    return r, e


def expected_counts(transmittance, pulses_per_step, mu, p, basis_probability_x,
                    dark_count_probability, afterpulse_probability, intrinsic_qber, valid=None):
    """Sifted counts of a block summed over its steps (last axis of ``transmittance``).

    Returns ``(n_x, n_z, m_x, m_z)``, each (..., 3) for the leading dims of
    ``transmittance`` (..., steps). ``valid`` (bool, same shape) excludes steps.
    """
    xp = array_namespace(transmittance)
    eta = xp.asarray(transmittance, dtype=xp.float64)
    w = xp.asarray(pulses_per_step, dtype=xp.float64) * (
        xp.ones_like(eta) if valid is None else xp.asarray(valid, dtype=xp.float64))
    eta = xp.where(w > 0, eta, 0.0)
    r, e = click_probabilities(eta, xp.asarray(mu)[..., None, :], dark_count_probability,
                               afterpulse_probability, intrinsic_qber)
    p = xp.asarray(p, dtype=xp.float64)
    sum_r = xp.sum(w[..., None] * r, axis=-2) * p
    sum_e = xp.sum(w[..., None] * e, axis=-2) * p
    px = xp.asarray(basis_probability_x, dtype=xp.float64)[..., None]
    return px**2 * sum_r, (1 - px) ** 2 * sum_r, px**2 * sum_e, (1 - px) ** 2 * sum_e


@dataclass(frozen=True)
class PassMoments:
    """Sufficient statistics of a pass for any source setting (leading dims = passes).

    ``pulses`` = Σ_t N_t, ``dark`` = Σ_t N_t p_t, ``w`` = Σ_t N_t (1-2p_t) η_t^j and
    ``m`` = Σ_t N_t η_t^j for j = 1..J (last axis), ``max_transmittance`` = max_t η_t.
    """

    pulses: object
    dark: object
    w: object
    m: object
    max_transmittance: object

    def take(self, index):
        return PassMoments(self.pulses[index], self.dark[index], self.w[index], self.m[index],
                           self.max_transmittance[index])


def pass_moments(transmittance, pulses_per_step, dark_count_probability, valid=None,
                 n_moments: int | None = None) -> PassMoments:
    """Reduce (..., steps) series to :class:`PassMoments` (one pass per leading index).

    ``n_moments`` defaults to what any μ ≤ :data:`MOMENT_LIMIT` needs at the
    largest transmittance present (:func:`terms_needed`), at most :data:`N_MOMENTS`.
    """
    xp = array_namespace(transmittance)
    eta = xp.asarray(transmittance, dtype=xp.float64)
    w = xp.asarray(pulses_per_step, dtype=xp.float64) * (
        xp.ones_like(eta) if valid is None else xp.asarray(valid, dtype=xp.float64))
    eta = xp.where(w > 0, eta, 0.0)
    pdc = xp.broadcast_to(xp.asarray(dark_count_probability, dtype=xp.float64), eta.shape)
    eta_max = xp.max(eta, axis=-1) if eta.shape[-1] else xp.zeros(eta.shape[:-1])
    if n_moments is None:
        top = float(xp.max(eta_max)) if eta_max.size else 0.0
        n_moments = terms_needed(min(top, 1.0) * MOMENT_LIMIT)
    w_dark = w * (1.0 - 2.0 * pdc)
    power = xp.ones_like(eta)
    w_mom, m_mom = [], []
    for _ in range(n_moments):  # η^j by repeated products (cheaper and exact vs pow)
        power = power * eta
        w_mom.append(xp.sum(w_dark * power, axis=-1))
        m_mom.append(xp.sum(w * power, axis=-1))
    return PassMoments(
        pulses=xp.sum(w, axis=-1),
        dark=xp.sum(w * pdc, axis=-1),
        w=xp.stack(w_mom, axis=-1),
        m=xp.stack(m_mom, axis=-1),
        max_transmittance=eta_max,
    )


def terms_needed(max_x: float, n_moments: int = N_MOMENTS) -> int:
    """Fewest series terms J with x^J/(J+1)! < 1e-17 for x = max η μ (relative remainder)."""
    term, j = 1.0, 0
    while j < n_moments:
        j += 1
        term *= max_x / (j + 1)
        if term < 1e-17:
            break
    return j


def _series(mu, moments, n_terms=None):
    """Σ_{j≥1} (-1)^{j+1} μ^j/j! · moments_j by Horner's rule; ``mu`` (..., K), moments (..., J)."""
    xp = array_namespace(mu, moments)
    n = moments.shape[-1] if n_terms is None else min(n_terms, moments.shape[-1])
    acc = xp.zeros(mu.shape, dtype=xp.float64)
    for j in range(n, 0, -1):
        a = ((-1.0) ** (j + 1) / math.factorial(j)) * moments[..., j - 1]
        acc = (acc + a[..., None]) * mu
    return acc


def counts_from_moments(moments: PassMoments, mu, p, basis_probability_x,
                        afterpulse_probability, intrinsic_qber, n_terms: int | None = None):
    """Same as :func:`expected_counts` from :class:`PassMoments` (valid while η μ ≤ MOMENT_LIMIT).

    ``mu``, ``p`` (..., 3) and ``basis_probability_x`` (...) broadcast against
    the pass dimensions (e.g. (passes, candidates, 3) with moments expanded
    to (passes, 1)). ``n_terms`` (see :func:`terms_needed`) truncates the series.
    """
    xp = array_namespace(mu, moments.w)
    mu = xp.asarray(mu, dtype=xp.float64)
    sum_d = 2.0 * moments.dark[..., None] + _series(mu, moments.w, n_terms)   # Σ_t N_t D_k
    sum_signal = _series(mu, moments.m, n_terms)                              # Σ_t N_t (1 - e^{-ημ})
    sum_r = (1.0 + afterpulse_probability) * sum_d
    sum_e = moments.dark[..., None] + intrinsic_qber * sum_signal + 0.5 * afterpulse_probability * sum_d
    px = xp.asarray(basis_probability_x, dtype=xp.float64)[..., None]
    sum_r, sum_e = sum_r * p, sum_e * p
    return px**2 * sum_r, (1 - px) ** 2 * sum_r, px**2 * sum_e, (1 - px) ** 2 * sum_e
