"""One-decoy ("1-decoy") BB84: signal and one decoy intensity, no vacuum; key length from counts.

Finite-key analysis of Rusca, Boaron, Grünenfelder, Martin & Zbinden, "Finite-key
analysis for the 1-decoy state QKD protocol", Appl. Phys. Lett. 112, 171104 (2018)
(arXiv:1801.03443), Appendix A, Eqs. (A1)-(A25) — the analysis Boaron et al.,
PRL 121, 190502 (2018) used for their 421 km record. It is the decoy-state proof of
Lim et al., PRA 89, 022307 (2014) with two intensities μ1 > μ2 > 0 and no vacuum
pulse: the vacuum contribution that Lim et al. measure with μ3 must instead be
bounded from above by the errors (vacuum detections are wrong half of the time).

Basis convention: as in :mod:`qsat.protocols.decoy_bb84`, the key is distilled
from the **X** basis and **Z** is the test basis (Rusca et al. write the key basis
Z; their Z is qsat's X). Counts per intensity are arrays (..., 2) for (μ1, μ2).

Equations (Rusca et al. 2018, Appendix A; n^±_k = e^{μ_k}/p_k (n_k ± δ(n, ε)),
m^±_k likewise with δ(m, ε), δ(n, ε) = sqrt(n ln(1/ε)/2), Eqs. (A2), (A4), (A18)
in the e^{k}/p_k form of Lim et al. Eq. (2)):

* τ_n = Σ_k p_k e^{-μ_k} μ_k^n / n!                                          (A5)
* s_{X,0} ≥ τ_0 (μ1 n^-_{X,μ2} - μ2 n^+_{X,μ1}) / (μ1 - μ2)                  (A19)
* s_{X,0} ≤ s^u_{X,0} = 2 [τ_0 e^{μ2}/p_2 (m_{X,μ2} + δ(m_X, ε)) + δ(n_X, ε)]  (A16)
  (the errors of the decoy intensity, k = μ2, the tighter choice for μ2 < μ1)
* s_{X,1} ≥ τ_1 μ1 / (μ2 (μ1 - μ2)) [n^-_{X,μ2} - (μ2²/μ1²) n^+_{X,μ1}
          - ((μ1² - μ2²)/μ1²) s^u_{X,0}/τ_0]                                  (A17)
* v_{Z,1} ≤ τ_1 (m^+_{Z,μ1} - m^-_{Z,μ2}) / (μ1 - μ2)                        (A22)
* φ_X ≤ v_{Z,1}/s_{Z,1} + γ(ε_sec, v_{Z,1}/s_{Z,1}, s_{Z,1}, s_{X,1})       (A20), (A23)
  with γ of Lim et al. Eq. (5) (the factor 21²/ε² inside its logarithm kept as
  there: it is the larger, more conservative, of 19² and 21²)
* ℓ = s_{X,0} + s_{X,1}(1 - h(φ_X)) - λ_EC - 6 log2(19/ε_sec) - log2(2/ε_cor) (A25)

with ε_sec = 19 ε (Eq. (A24) with every error term equal), so every tail bound
here fails with probability ε_sec/19. ``tail="hoeffding"`` is the paper's own
analysis; ``"chernoff"`` replaces the per-count deviations by the Chernoff
intervals of :mod:`qsat.protocols.statistics` (the deviation δ(n_X, ε) inside
Eq. (A16), between the vacuum errors and half the vacuum events, stays Hoeffding);
``"asymptotic"`` drops every deviation and ε term.
"""

from __future__ import annotations

import math

from ..backend import array_namespace
from .decoy_bb84 import MIN_Z_COUNTS, STATUS, KeyResult, block_arrays, key_from_bounds
from .statistics import expectation_bounds

__all__ = ["key_length", "STATUS", "EPS_PIECES"]

#: Number of equal pieces ε_sec is split into (Rusca et al. 2018, Eq. (A24)).
EPS_PIECES = 19.0


def _bounds(n, m, mu, p, t0, t1, eps, tail):
    """(s_0 lower, s_0 upper, s_1 lower, m⁻, m⁺ scaled, n_tot, m_tot) for one basis."""
    xp = array_namespace(n, m, mu)
    n_tot = xp.sum(n, axis=-1)
    m_tot = xp.sum(m, axis=-1)
    scale = xp.exp(mu) / p                                   # e^{μ_k}/p_k
    n_lo, n_hi = expectation_bounds(n, n_tot[..., None], eps, tail)
    m_lo, m_hi = expectation_bounds(m, m_tot[..., None], eps, tail)
    mu1, mu2 = mu[..., 0], mu[..., 1]
    nm2, np1 = n_lo[..., 1] * scale[..., 1], n_hi[..., 0] * scale[..., 0]
    s0 = t0 * (mu1 * nm2 - mu2 * np1) / (mu1 - mu2)                                  # (A19)
    delta_n = 0.0 if tail == "asymptotic" else xp.sqrt(n_tot / 2.0 * math.log(1.0 / eps))
    s0_upper = 2.0 * (t0 * scale[..., 1] * m_hi[..., 1] + delta_n)                   # (A16)
    s1 = t1 * mu1 / (mu2 * (mu1 - mu2)) * (
        nm2 - mu2**2 / mu1**2 * np1 - (mu1**2 - mu2**2) / mu1**2 * s0_upper / t0)  # (A17)
    return (xp.maximum(s0, 0.0), s0_upper, xp.maximum(s1, 0.0), m_lo * scale, m_hi * scale,
            n_tot, m_tot)


def key_length(n_x, n_z, m_x, m_z, mu, p, *, eps_sec: float = 1e-9, eps_cor: float = 1e-15,
               error_correction_efficiency: float = 1.16, tail: str = "hoeffding",
               min_z_counts: float = MIN_Z_COUNTS) -> KeyResult:
    """Secret key length of one 1-decoy block (Rusca et al. 2018, Eq. (A25)), vectorised.

    Parameters
    ----------
    n_x, n_z : array (..., 2)
        Sifted X (key) and Z (test) basis detections per intensity (μ1, μ2).
    m_x, m_z : array (..., 2)
        Bit errors among them (the key-basis errors are known after error correction).
    mu : array (..., 2)
        Mean photon numbers μ1 > μ2 > 0 (photons per pulse).
    p : array (..., 2)
        Probabilities of the two intensities (each > 0).
    eps_sec, eps_cor : float
        Secrecy and correctness parameters, in (0, 1).
    error_correction_efficiency : float
        f ≥ 1 in λ_EC = f n_X h(Q_X).
    tail : {"hoeffding", "chernoff", "asymptotic"}
        Fluctuation bounds (``hoeffding`` is Rusca et al.'s).
    min_z_counts : float
        No key unless the Z basis holds at least this many counts (status 1).

    Returns
    -------
    KeyResult
        As :func:`qsat.protocols.decoy_bb84.key_length` (``s_x0`` is the lower bound
        of Eq. (A19)); ``secret_key_bits`` is ⌊ℓ⌋ where ℓ > 0 and the status is 0, else 0.
    """
    xp, (n_x, n_z, m_x, m_z, mu, p) = block_arrays(n_x, n_z, m_x, m_z, mu, p)
    eps = eps_sec / EPS_PIECES
    e_mu = xp.exp(-mu)
    t0 = xp.sum(p * e_mu, axis=-1)                                        # τ_0 (A5)
    t1 = xp.sum(p * e_mu * mu, axis=-1)                                   # τ_1
    sx0, _, sx1, _, _, nX, mX = _bounds(n_x, m_x, mu, p, t0, t1, eps, tail)
    _, _, sz1, mz_lo, mz_hi, nZ, mZ = _bounds(n_z, m_z, mu, p, t0, t1, eps, tail)
    vz1 = xp.maximum(t1 * (mz_hi[..., 0] - mz_lo[..., 1]) / (mu[..., 0] - mu[..., 1]), 0.0)  # (A22)
    # φ_X (A20), (A23) and ℓ (A25): the same closing steps as Lim et al., with ε_sec in 19 pieces
    return key_from_bounds(xp, sx0, sx1, sz1, vz1, nX, nZ, mX, mZ, eps_sec=eps_sec, eps_cor=eps_cor,
                           error_correction_efficiency=error_correction_efficiency, tail=tail,
                           min_z_counts=min_z_counts, eps_pieces=EPS_PIECES)
