"""Reference finite-key formulas written from the papers, independent of qsat.

Nothing here imports qsat: every formula is transcribed from the source below, in plain
scalar Python (``math``), one block at a time, so that the vectorised production code in
``qsat/protocols`` can be compared with it (``test_oracles.py``).

* :func:`lim2014_key` — decoy-state BB84 with three intensities, C. C. W. Lim, M. Curty,
  N. Walenta, F. Xu & H. Zbinden, PRA 89, 022307 (2014), Eqs. (1)-(5) (Appendix A,
  Eqs. (A1)-(A10), for the directions), with v_{Z,1} ≤ m_Z (single-photon errors are a
  subset of the Z errors).
* :func:`rusca2018_key` — one-decoy BB84, D. Rusca, A. Boaron, F. Grünenfelder, A. Martin
  & H. Zbinden, APL 112, 171104 (2018), Appendix A, Eqs. (A16)-(A25), with n^± in Lim et
  al.'s e^k/p_k form, the same cap on v_{Z,1} and s^u_{X,0} ≤ n_X.
* :func:`bbm92_key` — entanglement-based BB84 in the structure of Yin et al., Nature 582,
  501 (2020), Methods, with Lim et al.'s Eq. (5) sampling bound (k = 1) and
  ε_PE = ε_PA = ε_sec/2 (the allocation docs/keys.md states).
* :func:`wcp_counts` — the expected counts of a pass, Lim et al., Sec. IV (the model
  SatQuMA uses): D_k = 1 - (1 - 2 p_dc) e^{-η k}, R_k = (1 + p_ap) D_k,
  e_k = p_dc + e_mis (1 - e^{-η k}) + p_ap D_k / 2.

Tail bounds of an observed count x (each failing with probability ε):

* Hoeffding (Lim et al., definition after Eq. (2)): x ± sqrt(n/2 · ln(1/ε)), n the basis
  total of the same kind of count (n_X for detections, m_Z for errors);
* Chernoff, "observed → expected" (Yin et al., Sci. Rep. 10, 14312 (2020), Sec. II, the form
  of SatQuMA): [x - β/2 - sqrt(2βx + β²/4), x + β + sqrt(2βx + β²)], β = ln(1/ε);
* asymptotic: x itself, no ε terms in ℓ.

Numerical conventions shared with production (not in the papers; they only make the
formulas total functions): lower bounds of counts are clipped at 0 (a count's expectation
is ≥ 0), s_0 and s_1 at 0, v_1 at 0; the error rate inside γ is floored at 1e-12 and
capped at 1/2; φ is capped at 1/2; ℓ is floored to bits only where the status is 0.
Status codes: 1 no Z statistics (n_Z below the minimum, or s_{Z,1} = 0), 2 no
single-photon X events, 3 φ ≥ 1/2.
"""

from __future__ import annotations

import math


def h(x: float) -> float:
    """Binary entropy (bits); h(0) = h(1) = 0."""
    if x <= 0.0 or x >= 1.0:
        return 0.0
    return -x * math.log2(x) - (1.0 - x) * math.log2(1.0 - x)


def tail(x: float, total: float, eps: float, kind: str) -> tuple[float, float]:
    """(lower, upper) bounds on the expectation of a count observed as ``x``."""
    if kind == "asymptotic":
        return x, x
    if kind == "hoeffding":
        d = math.sqrt(total / 2.0 * math.log(1.0 / eps))
        return max(x - d, 0.0), x + d
    if kind == "chernoff":
        b = math.log(1.0 / eps)
        x = max(x, 0.0)
        return max(x - b / 2.0 - math.sqrt(2.0 * b * x + b * b / 4.0), 0.0), x + b + math.sqrt(2.0 * b * x + b * b)
    raise ValueError(kind)


def gamma(a: float, b: float, c: float, d: float, k: float = 21.0) -> float:
    """Lim et al. Eq. (5): sqrt((c+d)(1-b)b/(c d ln 2) · log2((c+d)/(c d (1-b) b) · k²/a²))."""
    if c <= 0.0 or d <= 0.0:
        return math.inf
    b = min(max(b, 1e-12), 0.5)
    arg = (c + d) / (c * d * (1.0 - b) * b) * k * k / (a * a)
    return math.sqrt(max((c + d) * (1.0 - b) * b / (c * d * math.log(2.0)) * math.log2(max(arg, 1.0)), 0.0))


def _finish(sx0, sx1, sz1, vz1, n_x, n_z, m_x, eps_sec, eps_cor, f, kind, min_z, pieces):
    """φ (Eq. (5)) and ℓ (Eq. (1)) from the decoy bounds: the closing steps shared by both proofs."""
    e1 = vz1 / sz1 if sz1 > 0 else math.inf
    if kind == "asymptotic":
        phi = min(e1, 0.5)
        terms = 0.0
    else:
        phi = min(e1 + gamma(eps_sec, e1, sz1, sx1), 0.5)
        terms = 6.0 * math.log2(pieces / eps_sec) + math.log2(2.0 / eps_cor)
    q_x = m_x / n_x if n_x > 0 else 0.0
    lam = f * n_x * h(q_x)
    ell = sx0 + sx1 - sx1 * h(phi) - lam - terms
    status = 0
    if phi >= 0.5:
        status = 3
    if sx1 <= 0.0:
        status = 2
    if n_z < min_z or sz1 <= 0.0:
        status = 1
    bits = math.floor(ell) if (status == 0 and ell > 0) else 0
    return {"ell": ell, "bits": bits, "s_x0": sx0, "s_x1": sx1, "s_z1": sz1, "v_z1": vz1, "phi": phi,
            "lambda_ec": lam, "status": status}


def lim2014_key(n_x, n_z, m_x, m_z, mu, p, *, eps_sec=1e-9, eps_cor=1e-15, f=1.16, kind="chernoff",
                min_z=100.0) -> dict:
    """Lim et al. (2014) key of one block; n_*, m_* are 3-sequences (μ1, μ2, μ3)."""
    eps = eps_sec / 21.0                     # Eq. (B4) with all 21 error terms equal
    mu1, mu2, mu3 = mu
    tau0 = sum(pk * math.exp(-k) for k, pk in zip(mu, p))
    tau1 = sum(pk * math.exp(-k) * k for k, pk in zip(mu, p))

    def scaled(counts, total):
        # n^±_k = e^k/p_k [n_k ± δ] (definitions after Eqs. (2) and (4))
        out = [tail(c, total, eps, kind) for c in counts]
        return ([math.exp(k) / pk * lo for (lo, _), k, pk in zip(out, mu, p)],
                [math.exp(k) / pk * hi for (_, hi), k, pk in zip(out, mu, p)])

    def s0_s1(n):
        lo, hi = scaled(n, sum(n))
        # Eq. (2): s_0 ≥ τ0 (μ2 n^-_{μ3} - μ3 n^+_{μ2})/(μ2 - μ3)
        s0 = max(tau0 * (mu2 * lo[2] - mu3 * hi[1]) / (mu2 - mu3), 0.0)
        # Eq. (3) with the s_0 of Eq. (2) (it enters (A5) with a + sign)
        s1 = tau1 * mu1 * (lo[1] - hi[2] - (mu2**2 - mu3**2) / mu1**2 * (hi[0] - s0 / tau0)) / (
            mu1 * (mu2 - mu3) - mu2**2 + mu3**2)
        return s0, max(s1, 0.0)

    sx0, sx1 = s0_s1(n_x)
    _, sz1 = s0_s1(n_z)
    mlo, mhi = scaled(m_z, sum(m_z))
    vz1 = max(tau1 * (mhi[1] - mlo[2]) / (mu2 - mu3), 0.0)   # Eq. (4)
    vz1 = min(vz1, sum(m_z))                                 # subset: v_{Z,1} ≤ m_Z
    return _finish(sx0, sx1, sz1, vz1, sum(n_x), sum(n_z), sum(m_x), eps_sec, eps_cor, f, kind, min_z, 21.0)


def rusca2018_key(n_x, n_z, m_x, m_z, mu, p, *, eps_sec=1e-9, eps_cor=1e-15, f=1.16, kind="hoeffding",
                  min_z=100.0) -> dict:
    """Rusca et al. (2018) one-decoy key of one block; n_*, m_* are 2-sequences (μ1, μ2)."""
    eps = eps_sec / 19.0                     # Eq. (A24) with all error terms equal
    mu1, mu2 = mu
    tau0 = sum(pk * math.exp(-k) for k, pk in zip(mu, p))
    tau1 = sum(pk * math.exp(-k) * k for k, pk in zip(mu, p))
    sc = [math.exp(k) / pk for k, pk in zip(mu, p)]

    def bounds(n, m):
        nb = [tail(c, sum(n), eps, kind) for c in n]
        mb = [tail(c, sum(m), eps, kind) for c in m]
        n_lo = [sc[i] * nb[i][0] for i in range(2)]
        n_hi = [sc[i] * nb[i][1] for i in range(2)]
        s0 = max(tau0 / (mu1 - mu2) * (mu1 * n_lo[1] - mu2 * n_hi[0]), 0.0)            # (A19)
        delta_n = 0.0 if kind == "asymptotic" else math.sqrt(sum(n) * math.log(1.0 / eps) / 2.0)
        s0u = min(2.0 * (tau0 * sc[1] * mb[1][1] + delta_n), sum(n))                    # (A16), ≤ n
        s1 = tau1 * mu1 / (mu2 * (mu1 - mu2)) * (
            n_lo[1] - mu2**2 / mu1**2 * n_hi[0] - (mu1**2 - mu2**2) / mu1**2 * s0u / tau0)  # (A17)
        return s0, max(s1, 0.0), [sc[i] * mb[i][0] for i in range(2)], [sc[i] * mb[i][1] for i in range(2)]

    sx0, sx1, _, _ = bounds(n_x, m_x)
    _, sz1, mlo, mhi = bounds(n_z, m_z)
    vz1 = max(tau1 / (mu1 - mu2) * (mhi[0] - mlo[1]), 0.0)                              # (A22)
    vz1 = min(vz1, sum(m_z))
    return _finish(sx0, sx1, sz1, vz1, sum(n_x), sum(n_z), sum(m_x), eps_sec, eps_cor, f, kind, min_z, 19.0)


def bbm92_key(n: float, e: float, *, eps_sec=1e-10, eps_cor=1e-15, f=1.16) -> int:
    """ℓ = n[1 - h(E + γ)] - f n h(E) - log2(2/ε_cor) - 2 log2(1/(2 ε_PA)), floored, ≥ 0."""
    if n <= 0:
        return 0
    eps_pe = eps_pa = eps_sec / 2.0
    phi = min(e + gamma(eps_pe, e, n / 2.0, n / 2.0, k=1.0), 0.5)
    ell = n * (1.0 - h(phi)) - f * n * h(e) - math.log2(2.0 / eps_cor) - 2.0 * math.log2(1.0 / (2.0 * eps_pa))
    return math.floor(ell) if ell > 0 else 0


def wcp_counts(eta_steps, pulses_per_step, mu, p, px, pdc, pap, e_mis):
    """(n_x, n_z, m_x, m_z) per intensity of a pass, Lim et al. Sec. IV, summed over steps."""
    n_x, n_z, m_x, m_z = [], [], [], []
    for k, pk in zip(mu, p):
        r_sum = e_sum = 0.0
        for eta in eta_steps:
            signal = -math.expm1(-eta * k)  # 1 - e^{-ηk}, without cancellation
            d = signal + 2.0 * pdc * math.exp(-eta * k)  # = 1 - (1 - 2 p_dc) e^{-ηk}
            r_sum += (1.0 + pap) * d
            e_sum += pdc + e_mis * signal + pap * d / 2.0
        for out, q, tot in ((n_x, px * px, r_sum), (n_z, (1 - px) ** 2, r_sum), (m_x, px * px, e_sum),
                            (m_z, (1 - px) ** 2, e_sum)):
            out.append(pulses_per_step * q * pk * tot)
    return n_x, n_z, m_x, m_z
