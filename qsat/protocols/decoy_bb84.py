"""Decoy-state BB84 with biased bases and three intensities: key length from counts.

Convention (the one of Lim et al., PRA 89, 022307 (2014) and of SatQuMA, Sidhu et
al., npj Quantum Inf. 8, 18 (2022)): Alice and Bob each choose the **X basis with
probability** ``basis_probability_x`` (p_X) and Z with 1 - p_X; the secret key is
distilled from the sifted **X** events; the **Z** events serve only to estimate
the phase-error rate of the X key. Intensities μ1 > μ2 > μ3 ≥ 0 with
μ1 > μ2 + μ3 (Lim et al., condition after Eq. (3)).

Everything here is a pure function of per-intensity counts, vectorised over any
leading dimensions (passes, candidates), written against the array namespace
of its inputs (NumPy or CuPy). Counts are expected values in planning mode, or
observed ones when analysing data.

Equations (Lim et al. 2014, PRA 89, 022307, unless noted; equation numbers of the
published version). Every bound carries the direction that keeps ℓ a *lower* bound on
the extractable key; the comment at each use in the code says why:

* τ_n = Σ_k p_k e^{-μ_k} μ_k^n / n!                      (definition after Eq. (2))
* n^±_{X,k} = e^{μ_k}/p_k · [tail bounds of n_{X,k}]       (definition after Eq. (2))
* s_{X,0} ≥ τ_0 (μ2 n^-_{X,μ3} - μ3 n^+_{X,μ2}) / (μ2 - μ3)   Eq. (2) (App. A, Eq. (A4))
* s_{X,1} ≥ τ_1 μ1 [n^-_{X,μ2} - n^+_{X,μ3} - (μ2² - μ3²)/μ1² (n^+_{X,μ1} - s_{X,0}/τ_0)]
          / [μ1 (μ2 - μ3) - μ2² + μ3²]                      Eq. (3) (App. A, Eq. (A5))
  with s_{X,0} the **lower** bound of Eq. (2): s_{X,0} enters with a positive
  coefficient (App. A, Eq. (A5): "+ (μ2² - μ3²)/μ1² (s_{X,0}/τ_0 - ...)"), so the
  smaller s_{X,0} the smaller, i.e. safer, s_{X,1};
* v_{Z,1} ≤ τ_1 (m^+_{Z,μ2} - m^-_{Z,μ3}) / (μ2 - μ3)      Eq. (4) (App. A, Eq. (A6)),
  then v_{Z,1} ≤ m_Z: the single-photon errors are a subset of all Z errors (a
  deterministic cap, no failure probability; SatQuMA applies the same);
* φ_X ≤ v_{Z,1}/s_{Z,1} + γ(ε_sec, v_{Z,1}/s_{Z,1}, s_{Z,1}, s_{X,1})   Eq. (5), capped at 1/2
* ℓ = s_{X,0} + s_{X,1} - s_{X,1} h(φ_X) - λ_EC - 6 log2(21/ε_sec) - log2(2/ε_cor)   Eq. (1)
* λ_EC = f · n_X · h(m_X / n_X)   (leakage of an error-correcting code of efficiency f)

Each of the 21 tail events is given ε_sec/21 (Lim et al., App. B, Eq. (B4) with every
error term equal). The asymptotic key (``tail="asymptotic"``) is the limit without
fluctuations and without the ε terms: the GLLP rate with decoy-state bounds,
R = s_{X,0} + s_{X,1}[1 - h(e_1)] - λ_EC (Lo, Ma & Chen, PRL 94, 230504 (2005), Eq. (1)
in counts rather than rates).

:data:`BOUNDS` names every direction-carrying choice (see
:func:`qsat.protocols.statistics.conservative`); ``tests/protocols`` flips each in turn
and checks that the key then exceeds an independent implementation of the paper.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..backend import array_namespace
from .statistics import binary_entropy, conservative, expectation_bounds, sampling_deviation

#: Status codes of :func:`key_length` (0 means a key was computed, possibly 0 bits).
STATUS = {
    0: "ok",
    1: "too few Z-basis (parameter-estimation) counts for a phase-error estimate",
    2: "decoy bounds give no single-photon events",
    3: "phase-error bound at or above 1/2",
}

#: Default minimum number of Z-basis (test) counts required before any key is reported.
MIN_Z_COUNTS = 100.0


@dataclass(frozen=True)
class KeyResult:
    """Arrays (same leading shape) describing a decoy BB84 block."""

    secret_key_bits: object  # floor(max(ℓ, 0)), 0 where status != 0
    key_length_raw: object   # ℓ before flooring / clipping (bits; may be negative)
    n_x: object
    n_z: object
    m_x: object
    m_z: object
    qber_x: object
    qber_z: object
    s_x0: object
    s_x1: object
    s_z1: object
    v_z1: object
    phase_error_x: object
    lambda_ec: object
    status: object

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def tau(n: int, mu, p):
    """τ_n = Σ_k p_k e^{-μ_k} μ_k^n / n! over the last axis (Lim et al. 2014, after Eq. (2))."""
    xp = array_namespace(mu, p)
    return xp.sum(p * xp.exp(-mu) * mu**n, axis=-1) / math.factorial(n)


#: Direction-carrying choices of :func:`key_length`, by name (test hook, see module docstring).
BOUNDS = ("lim.s0.n_mu3", "lim.s0.n_mu2", "lim.s1.n_mu2", "lim.s1.n_mu3", "lim.s1.n_mu1", "lim.s1.s0",
          "lim.v1.m_mu2", "lim.v1.m_mu3", "lim.phase.gamma")


def _photon_bounds(n, m, mu, scale, t0, t1, eps, tail):
    """Vacuum and single-photon lower bounds for one basis (Eqs. (2), (3)), and m^± scaled.

    ``scale`` = e^{μ_k}/p_k; ``t0``, ``t1`` = τ_0, τ_1. Returns
    (s_0 lower, s_1 lower, m^-, m^+, n total, m total).
    """
    xp = array_namespace(n, m, mu)
    n_tot = xp.sum(n, axis=-1)
    m_tot = xp.sum(m, axis=-1)
    n_lo, n_hi = expectation_bounds(n, n_tot[..., None], eps, tail)
    m_lo, m_hi = expectation_bounds(m, m_tot[..., None], eps, tail)
    n_lo, n_hi, m_lo, m_hi = n_lo * scale, n_hi * scale, m_lo * scale, m_hi * scale
    mu1, mu2, mu3 = mu[..., 0], mu[..., 1], mu[..., 2]
    # Eq. (2): n_{μ3} enters with +μ2 (lower bound), n_{μ2} with -μ3 (upper bound).
    n3_s0 = conservative("lim.s0.n_mu3", n_lo[..., 2], n_hi[..., 2])
    n2_s0 = conservative("lim.s0.n_mu2", n_hi[..., 1], n_lo[..., 1])
    s0 = xp.maximum(t0 * (mu2 * n3_s0 - mu3 * n2_s0) / (mu2 - mu3), 0.0)  # s_0 ≥ 0 holds anyway
    # Eq. (3): the denominator μ1(μ2 - μ3) - μ2² + μ3² = (μ2 - μ3)(μ1 - μ2 - μ3) > 0 (μ1 > μ2 + μ3),
    # so signs are those of the bracket: n_{μ2} + (lower), n_{μ3} - (upper), n_{μ1} - (upper),
    # s_0 + (lower bound of Eq. (2); App. A, Eq. (A5)). The flipped s_0 is the upper bound
    # 2 τ_0 e^{μ3}/p_3 m^+_{μ3} (vacuum events err half the time) that qsat used before.
    n2 = conservative("lim.s1.n_mu2", n_lo[..., 1], n_hi[..., 1])
    n3 = conservative("lim.s1.n_mu3", n_hi[..., 2], n_lo[..., 2])
    n1 = conservative("lim.s1.n_mu1", n_hi[..., 0], n_lo[..., 0])
    s0_in_s1 = conservative("lim.s1.s0", s0, 2.0 * t0 * m_hi[..., 2])
    s1 = t1 * mu1 * (n2 - n3 - (mu2**2 - mu3**2) / mu1**2 * (n1 - s0_in_s1 / t0)) / (
        mu1 * (mu2 - mu3) - mu2**2 + mu3**2)
    return s0, xp.maximum(s1, 0.0), m_lo, m_hi, n_tot, m_tot


def key_length(n_x, n_z, m_x, m_z, mu, p, *, eps_sec: float = 1e-9, eps_cor: float = 1e-15,
               error_correction_efficiency: float = 1.16, tail: str = "chernoff",
               min_z_counts: float = MIN_Z_COUNTS) -> KeyResult:
    """Secret key length of one block (Lim et al. 2014, Eq. (1)), vectorised.

    Parameters
    ----------
    n_x, n_z : array (..., 3)
        Sifted X (key) and Z (test) basis detections per intensity (μ1, μ2, μ3).
    m_x, m_z : array (..., 3)
        Bit errors among them.
    mu : array (..., 3)
        Mean photon numbers μ1 > μ2 > μ3 ≥ 0 with μ1 > μ2 + μ3 (photons per pulse).
    p : array (..., 3)
        Probabilities of the intensities (sum 1, each > 0).
    eps_sec, eps_cor : float
        Secrecy and correctness parameters, in (0, 1).
    error_correction_efficiency : float
        f ≥ 1 in λ_EC = f n_X h(Q_X).
    tail : {"chernoff", "hoeffding", "asymptotic"}
        Fluctuation bounds; ``asymptotic`` gives the GLLP/decoy key without ε terms.
    min_z_counts : float
        No key unless the Z basis holds at least this many counts (status 1).

    Returns
    -------
    KeyResult
        ``secret_key_bits`` is ⌊ℓ⌋ where ℓ > 0 and the status is 0, else 0.
    """
    xp, (n_x, n_z, m_x, m_z, mu, p) = block_arrays(n_x, n_z, m_x, m_z, mu, p)
    eps = eps_sec / 21.0
    e_mu = xp.exp(-mu)
    scale = 1.0 / (e_mu * p)                           # e^{μ_k} / p_k
    t0 = xp.sum(p * e_mu, axis=-1)                     # τ_0
    t1 = xp.sum(p * e_mu * mu, axis=-1)                # τ_1
    sx0, sx1, _, _, nX, mX = _photon_bounds(n_x, m_x, mu, scale, t0, t1, eps, tail)
    _, sz1, mz_lo, mz_hi, nZ, mZ = _photon_bounds(n_z, m_z, mu, scale, t0, t1, eps, tail)
    mu2, mu3 = mu[..., 1], mu[..., 2]
    # Eq. (4): m_{μ2} enters with + (upper bound), m_{μ3} with - (lower bound); μ2 - μ3 > 0.
    m2 = conservative("lim.v1.m_mu2", mz_hi[..., 1], mz_lo[..., 1])
    m3 = conservative("lim.v1.m_mu3", mz_lo[..., 2], mz_hi[..., 2])
    vz1 = xp.maximum(t1 * (m2 - m3) / (mu2 - mu3), 0.0)
    # v_{Z,1} ≤ m_Z: the errors of single-photon Z events are among the m_Z observed Z errors.
    vz1 = xp.minimum(vz1, mZ)
    return key_from_bounds(xp, sx0, sx1, sz1, vz1, nX, nZ, mX, mZ, eps_sec=eps_sec, eps_cor=eps_cor,
                           error_correction_efficiency=error_correction_efficiency, tail=tail,
                           min_z_counts=min_z_counts, eps_pieces=21.0, name="lim")


def block_arrays(*arrays):
    """(namespace, the arrays as float64 broadcast to one shape): the inputs of a key-length call."""
    xp = array_namespace(*arrays)
    arrays = [xp.asarray(a, dtype=xp.float64) for a in arrays]
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    return xp, [xp.broadcast_to(a, shape) for a in arrays]


def key_from_bounds(xp, sx0, sx1, sz1, vz1, nX, nZ, mX, mZ, *, eps_sec, eps_cor, error_correction_efficiency,
                    tail, min_z_counts, eps_pieces, name: str = "lim") -> KeyResult:
    """Key length from the decoy bounds (Lim et al. 2014, Eqs. (1) and (5)), shared by the decoy proofs.

    ``eps_pieces`` is the number of equal parts ε_sec is split into (21 for Lim et al.'s
    three intensities, 19 for Rusca et al.'s 1-decoy Eq. (A24)); it sets the 6 log2(pieces/ε_sec)
    term of ℓ. γ keeps Lim et al.'s 21²/ε_sec² inside its logarithm in both proofs (Rusca et
    al.'s Eq. (A21) prints it unchanged; for 19 pieces it is the larger, safer value).
    ``name`` prefixes the test-hook name of the phase-error direction (``<name>.phase.gamma``).
    """
    # Eq. (5): φ_X is an *upper* bound (it enters ℓ through -s_{X,1} h(φ_X), h rising on [0, 1/2]):
    # + γ, and v_{Z,1}/s_{Z,1} from the upper v and the lower s. γ falls with both sample sizes,
    # so the lower bounds s_{Z,1}, s_{X,1} make it larger, i.e. safer. φ ≥ 1/2 is capped at 1/2
    # (h(1/2) = 1: no single-photon key), which can only lower ℓ.
    # no single-photon Z events (status 1): e1 = 1/2, the most pessimistic rate
    e1 = xp.where(sz1 > 0.0, vz1 / xp.where(sz1 > 0.0, sz1, 1.0), 0.5)
    if tail == "asymptotic":
        phase = xp.minimum(e1, 0.5)
        finite_terms = 0.0
    else:
        gamma = sampling_deviation(eps_sec, e1, sz1, sx1, pieces=21.0)
        phase = xp.minimum(conservative(f"{name}.phase.gamma", e1 + gamma, e1 - gamma), 0.5)
        finite_terms = 6.0 * math.log2(eps_pieces / eps_sec) + math.log2(2.0 / eps_cor)
    qber_x = mX / xp.maximum(nX, 1e-300)
    qber_z = mZ / xp.maximum(nZ, 1e-300)
    lam = error_correction_efficiency * nX * binary_entropy(qber_x)
    ell = sx0 + sx1 - sx1 * binary_entropy(phase) - lam - finite_terms
    status = xp.zeros(ell.shape, dtype=xp.int8)
    status = xp.where(phase >= 0.5, 3, status)
    status = xp.where(sx1 <= 0.0, 2, status)
    status = xp.where((nZ < min_z_counts) | (sz1 <= 0.0), 1, status).astype(xp.int8)
    bits = xp.where((status == 0) & (ell > 0.0), xp.floor(xp.where(ell > 0.0, ell, 0.0)), 0.0)
    return KeyResult(bits, ell, nX, nZ, mX, mZ, qber_x, qber_z, sx0, sx1, sz1, vz1,
                     phase, lam, status)
