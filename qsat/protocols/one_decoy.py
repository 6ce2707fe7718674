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
  then v_{Z,1} ≤ m_Z (single-photon errors are a subset of the Z errors; deterministic)
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

Directions: s_{X,1} (A17) needs the **upper** bound s^u_{X,0} (A16) because s_0 enters it
with a negative coefficient -(μ1² - μ2²)/μ1² (no vacuum intensity measures it, so the
errors bound it: vacuum events err half the time); the key's own s_{X,0} is the lower
bound (A19). Each choice is named in :data:`BOUNDS` and commented where it is made; the
tests flip each in turn against an oracle written from the paper. s^u_{X,0} is also
capped at n_X (the vacuum events are among the X events).
"""

from __future__ import annotations

import math

from ..backend import array_namespace
from .decoy_bb84 import MIN_Z_COUNTS, STATUS, KeyResult, block_arrays, key_from_bounds
from .statistics import conservative, expectation_bounds

__all__ = ["key_length", "STATUS", "EPS_PIECES", "BOUNDS"]

#: Number of equal pieces ε_sec is split into (Rusca et al. 2018, Eq. (A24)).
EPS_PIECES = 19.0


#: Direction-carrying choices of :func:`key_length`, by name (test hook; see
#: :func:`qsat.protocols.statistics.conservative`).
BOUNDS = ("rusca.s0.n_mu2", "rusca.s0.n_mu1", "rusca.s0u.m_mu2", "rusca.s0u.delta", "rusca.s1.n_mu2",
          "rusca.s1.n_mu1", "rusca.s1.s0", "rusca.v1.m_mu1", "rusca.v1.m_mu2", "rusca.phase.gamma")


def _bounds(n, m, mu, p, t0, t1, eps, tail):
    """(s_0 lower, s_0 upper, s_1 lower, m⁻, m⁺ scaled, n_tot, m_tot) for one basis."""
    xp = array_namespace(n, m, mu)
    n_tot = xp.sum(n, axis=-1)
    m_tot = xp.sum(m, axis=-1)
    scale = xp.exp(mu) / p                                   # e^{μ_k}/p_k
    n_lo, n_hi = expectation_bounds(n, n_tot[..., None], eps, tail)
    m_lo, m_hi = expectation_bounds(m, m_tot[..., None], eps, tail)
    n_lo, n_hi = n_lo * scale, n_hi * scale
    mu1, mu2 = mu[..., 0], mu[..., 1]
    # (A19): n_{μ2} enters with +μ1 (lower bound), n_{μ1} with -μ2 (upper bound); μ1 - μ2 > 0.
    n2_s0 = conservative("rusca.s0.n_mu2", n_lo[..., 1], n_hi[..., 1])
    n1_s0 = conservative("rusca.s0.n_mu1", n_hi[..., 0], n_lo[..., 0])
    s0 = xp.maximum(t0 * (mu1 * n2_s0 - mu2 * n1_s0) / (mu1 - mu2), 0.0)
    # (A16), an upper bound: the decoy's errors (upper) and the Hoeffding term between the vacuum
    # errors and half the vacuum events (+δ(n_X, ε), Hoeffding in every finite tail).
    delta_n = 0.0 if tail == "asymptotic" else xp.sqrt(n_tot / 2.0 * math.log(1.0 / eps))
    m2_s0u = conservative("rusca.s0u.m_mu2", m_hi[..., 1], m_lo[..., 1])
    delta_s0u = conservative("rusca.s0u.delta", delta_n, -delta_n)
    s0_upper = xp.minimum(2.0 * (t0 * scale[..., 1] * m2_s0u + delta_s0u), n_tot)  # s_0 ≤ n (subset)
    # (A17): bracket n^-_{μ2} (+, lower), -(μ2²/μ1²) n^+_{μ1} (upper), -((μ1² - μ2²)/μ1²) s_0/τ_0
    # (upper bound: s_0 enters with a negative sign); prefactor τ_1 μ1/(μ2 (μ1 - μ2)) > 0.
    nm2 = conservative("rusca.s1.n_mu2", n_lo[..., 1], n_hi[..., 1])
    np1 = conservative("rusca.s1.n_mu1", n_hi[..., 0], n_lo[..., 0])
    s0_in_s1 = conservative("rusca.s1.s0", s0_upper, s0)
    s1 = t1 * mu1 / (mu2 * (mu1 - mu2)) * (
        nm2 - mu2**2 / mu1**2 * np1 - (mu1**2 - mu2**2) / mu1**2 * s0_in_s1 / t0)  # (A17)
    return (s0, s0_upper, xp.maximum(s1, 0.0), m_lo * scale, m_hi * scale, n_tot, m_tot)


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
    # (A22): m_{μ1} enters with + (upper bound), m_{μ2} with - (lower bound); μ1 - μ2 > 0.
    m1 = conservative("rusca.v1.m_mu1", mz_hi[..., 0], mz_lo[..., 0])
    m2 = conservative("rusca.v1.m_mu2", mz_lo[..., 1], mz_hi[..., 1])
    vz1 = xp.maximum(t1 * (m1 - m2) / (mu[..., 0] - mu[..., 1]), 0.0)
    vz1 = xp.minimum(vz1, mZ)  # v_{Z,1} ≤ m_Z: single-photon errors are among the observed Z errors
    # φ_X (A20), (A23) and ℓ (A25): the same closing steps as Lim et al., with ε_sec in 19 pieces
    return key_from_bounds(xp, sx0, sx1, sz1, vz1, nX, nZ, mX, mZ, eps_sec=eps_sec, eps_cor=eps_cor,
                           error_correction_efficiency=error_correction_efficiency, tail=tail,
                           min_z_counts=min_z_counts, eps_pieces=EPS_PIECES, name="rusca")
