"""Decoy BB84 finite key: oracle (SatQuMA output), invariants, statistics guards."""

import numpy as np
import pytest

from qsat.detection.wcp import counts_from_moments, expected_counts, pass_moments, terms_needed
from qsat.protocols.bounds import pass_bound_bits, plob_bits_per_use, tgw_bits_per_use
from qsat.protocols.decoy_bb84 import key_length
from qsat.protocols.losstable import read_loss_table, select

MU = np.array([0.7921, 0.1707, 0.0])
P = np.array([0.7501, 0.1749, 1 - 0.7501 - 0.1749])

# SatQuMA (cnqo-qcomms/SatQuMA, out_Pec_0_QBERI_0_1.0GHz.csv at commit 93ab73a), first row:
# FS_loss_XI0.csv, 0 dB excess, window |t| <= 200 s, 1 GHz, Pec 1e-8, QBER_I 1e-3, Pap 1e-3,
# eps_c 1e-15, eps_s 1e-9, Px 0.7611 and the intensities above, Chernoff tails.
SATQUMA = dict(nX=1.201133446637740731e+08, nZ=1.183423301035785303e+07, sX0=1.555997495824277394e+03,
               sX1=5.104163436049204320e+07, vZ1=1.326026729522807545e+04, sZ1=4.969260505944207311e+06,
               QBERx=1.518301453977265398e-03, SKL=4.759612780656003952e+07, lambdaEC=1.992482639158969978e+06)


def satquma_counts(satquma_csv, excess_db=0.0):
    t = read_loss_table(satquma_csv)
    eta, valid = select(t, 10.0, excess_db)
    valid &= np.abs(t.time_s) <= 200
    return eta, valid, expected_counts(eta, 1e9, MU, P, 0.7611, 1e-8, 1e-3, 1e-3, valid=valid)


def test_counts_match_satquma(satquma_csv):
    # Same detection model (Lim et al. 2014 simulation section): agreement to rounding.
    _, _, (n_x, n_z, m_x, m_z) = satquma_counts(satquma_csv)
    assert n_x.sum() == pytest.approx(SATQUMA["nX"], rel=1e-12)
    assert n_z.sum() == pytest.approx(SATQUMA["nZ"], rel=1e-12)
    # SatQuMA puts R_k (afterpulses included) in the afterpulse error term, Lim et al. D_k: O(p_ap²).
    assert m_x.sum() / n_x.sum() == pytest.approx(SATQUMA["QBERx"], rel=1e-3)


def test_key_matches_satquma(satquma_csv):
    _, _, counts = satquma_counts(satquma_csv)
    f = SATQUMA["lambdaEC"] / (SATQUMA["nX"] * 0.01640513377199039)  # SatQuMA's effective leakage factor
    res = key_length(*counts, MU, P, eps_sec=1e-9, eps_cor=1e-15, error_correction_efficiency=f)
    # s_X0 uses the same Eq. (2) and tails: identical; s_X1 and v_Z1 differ knowingly (docs/keys.md).
    assert float(res.s_x0) == pytest.approx(SATQUMA["sX0"], rel=1e-9)
    assert float(res.s_x1) == pytest.approx(SATQUMA["sX1"], rel=1e-4)
    assert float(res.v_z1) == pytest.approx(SATQUMA["vZ1"], rel=0.02)
    assert float(res.secret_key_bits) == pytest.approx(SATQUMA["SKL"], rel=5e-3)


def test_moments_equal_direct_sum(satquma_csv):
    eta, valid, direct = satquma_counts(satquma_csv)
    mom = pass_moments(eta, 1e9, 1e-8, valid=valid)
    via = counts_from_moments(mom, MU, P, 0.7611, 1e-3, 1e-3, terms_needed(eta.max() * MU.max()))
    for a, b in zip(direct, via):
        np.testing.assert_allclose(b, a, rtol=1e-12)


def test_moments_exact_at_high_transmittance():
    rng = np.random.default_rng(1)
    eta = rng.uniform(0.0, 1.0, size=(4, 50))
    pdc = rng.uniform(0, 1e-3, size=(4, 50))
    mu = np.array([1.5, 0.4, 0.05])
    direct = expected_counts(eta, 1e6, mu, P, 0.6, pdc, 0.01, 0.02)
    via = counts_from_moments(pass_moments(eta, 1e6, pdc), mu, P, np.full(4, 0.6), 0.01, 0.02)
    for a, b in zip(direct, via):
        np.testing.assert_allclose(b, a, rtol=1e-12)


def constant_pass(eta, steps=300, rep=1e8, pdc=1e-8, eint=0.005, pap=1e-3, mu=MU, p=P, px=0.76):
    eta = np.asarray(eta, dtype=float)
    series = np.repeat(eta[..., None], steps, axis=-1)
    return series, expected_counts(series, rep, mu, p, px, pdc, pap, eint)


@pytest.mark.parametrize("tail", ["chernoff", "hoeffding", "asymptotic"])
def test_key_below_plob_and_monotonic_in_loss(tail):
    loss_db = np.linspace(5, 60, 111)
    series, counts = constant_pass(10 ** (-loss_db / 10))
    res = key_length(*counts, MU, P, tail=tail)
    bits = res.secret_key_bits
    plob = pass_bound_bits(series, 1e8)
    assert np.all(bits <= plob)
    assert np.all(np.diff(bits) <= 0), "more loss gave more key"
    assert bits[0] > 0
    if tail != "asymptotic":
        assert bits[-1] == 0


def test_finite_below_asymptotic_and_chernoff_tighter_than_hoeffding():
    _, counts = constant_pass(10 ** (-np.linspace(20, 40, 21) / 10))
    asy = key_length(*counts, MU, P, tail="asymptotic").secret_key_bits
    che = key_length(*counts, MU, P, tail="chernoff").secret_key_bits
    hoe = key_length(*counts, MU, P, tail="hoeffding").secret_key_bits
    assert np.all(che <= asy) and np.all(hoe <= asy)
    assert np.all(che >= hoe)


def test_no_key_without_z_statistics():
    # A short, lossy block: X key counts exist but Z counts are below the minimum.
    series, counts = constant_pass(np.array([1e-3]), steps=1, rep=1e9, px=0.99)
    n_z = counts[1].sum()
    assert 0 < n_z < 100
    res = key_length(*counts, MU, P, tail="asymptotic", min_z_counts=100)
    assert int(res.status[0]) == 1 and float(res.secret_key_bits[0]) == 0.0
    res = key_length(*counts, MU, P, tail="asymptotic", min_z_counts=1)
    assert int(res.status[0]) == 0


def test_bounds_values():
    assert float(plob_bits_per_use(0.5)) == pytest.approx(1.0)
    assert float(tgw_bits_per_use(0.5)) == pytest.approx(np.log2(3.0))
    eta = np.logspace(-8, -0.01, 50)
    assert np.all(plob_bits_per_use(eta) <= tgw_bits_per_use(eta))
    # small-η limit: PLOB ≈ η / ln 2 (Pirandola et al. 2017, after Eq. (19))
    assert float(plob_bits_per_use(1e-9)) == pytest.approx(1.4426950408889634e-9, rel=1e-8)


def test_nonzero_weakest_decoy():
    mu = np.array([0.6, 0.2, 0.02])
    p = np.array([0.7, 0.2, 0.1])
    _, counts = constant_pass(np.array([10 ** -2.8, 10 ** -3.5]), mu=mu, p=p)
    fin = key_length(*counts, mu, p)
    asy = key_length(*counts, mu, p, tail="asymptotic")
    assert np.all(fin.status == 0) and np.all(fin.secret_key_bits > 0)
    assert np.all(fin.secret_key_bits < asy.secret_key_bits)
    assert np.all(fin.s_x0 < asy.s_x0 + 1) and np.all(fin.s_x1 < asy.s_x1)
