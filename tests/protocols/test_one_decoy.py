"""One-decoy BB84 (Rusca et al. 2018): reductions to the three-intensity bound, PLOB, loss monotonicity."""

from __future__ import annotations

import numpy as np
import pytest

from qsat.detection.wcp import expected_counts
from qsat.protocols import decoy_bb84, one_decoy
from qsat.protocols.bounds import plob_bits_per_use

MU = np.array([0.5, 0.15])
P2 = np.array([0.5, 0.3])          # signal, decoy shares of a three-intensity source ...
P3 = np.array([0.5, 0.3, 0.2])     # ... whose third intensity is the vacuum (μ3 = 0)
PX = 0.9
N_PULSES = 1e12
LOSS_DB = np.linspace(0.2, 50.2, 26)


def _counts(eta, n_pulses, mu, p, pdc, e_int, afterpulse=0.0):
    eta = np.atleast_1d(np.asarray(eta, dtype=float))
    return expected_counts(eta[:, None], n_pulses, mu, p, np.full(eta.shape, PX), pdc, afterpulse, e_int)


def _pair(eta, pdc, e_int):
    """Asymptotic results of the same block analysed with and without its vacuum pulses.

    The one-decoy block is the three-intensity block less its vacuum pulses: same
    counts per (μ1, μ2), probabilities renormalised to p_k / (p1 + p2).
    """
    mu3 = np.append(MU, 0.0)
    three = decoy_bb84.key_length(*_counts(eta, N_PULSES, mu3, P3, pdc, e_int), mu3, P3, tail="asymptotic")
    p = P2 / P2.sum()
    one = one_decoy.key_length(*_counts(eta, N_PULSES * P2.sum(), MU, p, pdc, e_int), MU, p, tail="asymptotic")
    return one, three


def test_noiseless_asymptotic_equals_three_intensity_bound_with_vacuum_decoy():
    # No errors, no dark counts: both vacuum bounds are 0, and Rusca's Eq. (A17) is Lim
    # et al.'s Eq. (3) at μ3 = 0 term by term; the keys are s_{X,1} in both analyses.
    eta = 10 ** (-LOSS_DB / 10)
    one, three = _pair(eta, 0.0, 0.0)
    np.testing.assert_allclose(one.s_x1, three.s_x1, rtol=1e-12)
    np.testing.assert_allclose(one.key_length_raw, three.key_length_raw, rtol=1e-12)
    assert np.all(one.key_length_raw > 0)


def test_vacuum_upper_bound_costs_exactly_the_decoy_errors():
    # With intrinsic errors and no dark counts the true vacuum yield is 0 (Lim's s_{X,0}
    # and vacuum term vanish), while Eq. (A16) charges the decoy's expected errors
    # m_{X,μ2} = N p_X² p_2 e_int (1 - e^{-η μ2}) to the vacuum. Eq. (A17) then differs
    # from Lim's Eq. (3) by the closed form below.
    eta = 10 ** (-LOSS_DB / 10)
    e_int = 0.01
    one, three = _pair(eta, 0.0, e_int)
    mu1, mu2 = MU
    n_pulses_decoy = N_PULSES * P2.sum()
    s0_upper_over_tau0 = 2 * np.exp(mu2) * n_pulses_decoy * PX**2 * e_int * -np.expm1(-eta * mu2)
    tau1 = np.sum(P2 / P2.sum() * np.exp(-MU) * MU)
    expected_gap = tau1 * mu1 / (mu2 * (mu1 - mu2)) * (mu1**2 - mu2**2) / mu1**2 * s0_upper_over_tau0
    np.testing.assert_allclose(three.s_x1 - one.s_x1, expected_gap, rtol=1e-9)


@pytest.mark.parametrize("pdc, e_int", [(1e-8, 0.005), (1e-7, 0.01)])
def test_asymptotic_key_within_ten_percent_of_three_intensity_key(pdc, e_int):
    # Rusca et al. (abstract): asymptotically the 2-decoy protocol outperforms the
    # 1-decoy one. The gap comes from the error-based vacuum bound (A16) and the
    # two-intensity phase-error estimate (A22), both proportional to the error rate:
    # with errors of 0.5-1 % it stays below 10 % (5 % and 10 % measured at 20-150 km).
    eta = 0.5 * 10 ** (-0.2 * np.array([20.0, 50.0, 100.0, 150.0]) / 10)
    one, three = _pair(eta, pdc, e_int)
    assert np.all(one.s_x1 <= three.s_x1) and np.all(one.s_x0 <= three.s_x0 + 1e-6)
    ratio = one.key_length_raw / three.key_length_raw
    assert np.all((ratio > 0.88) & (ratio <= 1.0))


@pytest.mark.parametrize("tail", ["hoeffding", "chernoff", "asymptotic"])
@pytest.mark.parametrize("n_pulses", [1e9, 1e11, 1e13])
def test_key_never_above_plob_and_never_grows_with_loss(tail, n_pulses):
    eta = 10 ** (-LOSS_DB / 10)      # detector efficiency 1: the channel is all the loss
    r = one_decoy.key_length(*_counts(eta, n_pulses, MU, P2 / P2.sum(), 1e-7, 0.01, 1e-3),
                             MU, P2 / P2.sum(), tail=tail)
    assert np.all(r.secret_key_bits <= n_pulses * plob_bits_per_use(eta))
    assert np.all(np.diff(r.secret_key_bits) <= 0)
    assert r.secret_key_bits[0] > 0


def test_finite_key_below_asymptotic_and_grows_with_block():
    eta = np.array([1e-3])
    p = P2 / P2.sum()
    keys = []
    for n in (1e9, 1e10, 1e11, 1e12):
        c = _counts(eta, n, MU, p, 1e-8, 0.005)
        fin = one_decoy.key_length(*c, MU, p, tail="hoeffding")
        asy = one_decoy.key_length(*c, MU, p, tail="asymptotic")
        assert fin.key_length_raw[0] < asy.key_length_raw[0]
        keys.append(fin.key_length_raw[0] / asy.key_length_raw[0])
    assert np.all(np.diff(keys) > 0) and keys[0] < 0.9 < keys[-1] < 1.0


def test_status_codes():
    p = P2 / P2.sum()
    few = one_decoy.key_length(*_counts(1e-9, 1e6, MU, p, 1e-8, 0.005), MU, p)
    assert few.status[0] == 1 and few.secret_key_bits[0] == 0
    noisy = one_decoy.key_length(*_counts(1e-2, 1e10, MU, p, 1e-8, 0.15), MU, p)
    assert noisy.status[0] == 3 and noisy.secret_key_bits[0] == 0
    # so many errors that the vacuum upper bound (A16) leaves no single photons in the test basis
    swamped = one_decoy.key_length(*_counts(1e-2, 1e10, MU, p, 1e-8, 0.3), MU, p)
    assert swamped.status[0] == 1 and swamped.secret_key_bits[0] == 0
    assert one_decoy.STATUS[2].startswith("decoy bounds")



@pytest.mark.parametrize("eta, pdc, n_pulses", [(1e-3, 1e-7, 1e11), (1e-5, 1e-6, 1e13)])
def test_finite_key_matches_appendix_a_term_by_term(eta, pdc, n_pulses):
    # Scalar oracle written from Rusca et al. (2018), Appendix A, with every deviation
    # δ(n, ε) = sqrt(n ln(1/ε)/2) inside the e^{μk}/p_k factor (Eq. (A18) in Lim et al.'s
    # form), ε = ε_sec/19 per tail (Eq. (A24)) and 6 log2(19/ε_sec) in ℓ (Eq. (A25)).
    # The first block yields a key; in the second, dark counts make the vacuum lower
    # bound (A19) positive. Both are large enough that no n_k − δ or m_k − δ is clipped at 0.
    mu1, mu2 = MU
    p = P2 / P2.sum()
    n_x, n_z, m_x, m_z = (a[0] for a in _counts(eta, n_pulses, MU, p, pdc, 0.01))
    eps_sec, eps_cor, f = 1e-9, 1e-15, 1.16
    eps = eps_sec / 19

    def delta(n):
        return np.sqrt(n * np.log(1 / eps) / 2)

    t0, t1 = np.sum(p * np.exp(-MU)), np.sum(p * np.exp(-MU) * MU)
    scale = np.exp(MU) / p

    def photon_bounds(n, m):
        lo, hi = scale * (n - delta(n.sum())), scale * (n + delta(n.sum()))
        s0 = t0 * (mu1 * lo[1] - mu2 * hi[0]) / (mu1 - mu2)                               # (A19)
        s0_u = 2 * (t0 * scale[1] * (m[1] + delta(m.sum())) + delta(n.sum()))             # (A16)
        s1 = t1 * mu1 / (mu2 * (mu1 - mu2)) * (
            lo[1] - mu2**2 / mu1**2 * hi[0] - (mu1**2 - mu2**2) / mu1**2 * s0_u / t0)    # (A17)
        return s0, s1

    sx0, sx1 = photon_bounds(n_x, m_x)
    _, sz1 = photon_bounds(n_z, m_z)
    assert min(n_z[1] - delta(n_z.sum()), m_z[1] - delta(m_z.sum())) > 0
    vz1 = t1 / (mu1 - mu2) * (scale[0] * (m_z[0] + delta(m_z.sum()))
                              - scale[1] * (m_z[1] - delta(m_z.sum())))                    # (A22)
    vz1 = min(vz1, m_z.sum())                       # single-photon errors are among the Z errors
    b = vz1 / sz1
    gamma = np.sqrt((sz1 + sx1) * (1 - b) * b / (sz1 * sx1 * np.log(2))
                    * np.log2((sz1 + sx1) / (sz1 * sx1 * (1 - b) * b) * 21**2 / eps_sec**2))  # (A21)
    phi = b + gamma                                                                        # (A23)

    def h(x):
        return -x * np.log2(x) - (1 - x) * np.log2(1 - x)

    q_x = m_x.sum() / n_x.sum()
    ell = (max(sx0, 0.0) + sx1 * (1 - h(phi)) - f * n_x.sum() * h(q_x)
           - 6 * np.log2(19 / eps_sec) - np.log2(2 / eps_cor))                            # (A25)
    r = one_decoy.key_length(n_x, n_z, m_x, m_z, MU, p, eps_sec=eps_sec, eps_cor=eps_cor,
                             error_correction_efficiency=f, tail="hoeffding")
    assert r.status == 0 and sx1 > 0 and phi < 0.5
    assert (ell > 0) if eta > 1e-4 else (sx0 > 0)
    for got, want in ((r.s_x0, max(sx0, 0.0)), (r.s_x1, sx1), (r.s_z1, sz1), (r.v_z1, vz1),
                      (r.phase_error_x, phi), (r.key_length_raw, ell)):
        np.testing.assert_allclose(got, want, rtol=1e-12)
