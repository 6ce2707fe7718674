"""Production finite-key code against the oracles written from the papers (``oracles.py``).

* Lim et al. (2014) decoy BB84, Rusca et al. (2018) one-decoy and BBM92: a few hundred
  random points of a wide box (intensities, their probabilities, basis bias, dark counts,
  afterpulses, misalignment, 0-20 dB excess loss on SatQuMA's pass, repetition rate, ε,
  every tail bound), compared at 1e-9 relative.
* Bound flips: each direction-carrying choice of the production code (``BOUNDS``) taken
  the non-conservative way must raise the key above the oracle somewhere in the box, so a
  flipped bound cannot pass unnoticed; and every named choice is actually consulted.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from qsat.detection.wcp import expected_counts
from qsat.protocols import bbm92, decoy_bb84, one_decoy, statistics

from tests.protocols import oracles
from tests.protocols.conftest import DATA

SATQUMA_CSV = DATA / "satquma_FS_loss_XI0.csv"

N_POINTS = 300
TAILS = ("chernoff", "hoeffding", "asymptotic")


def _pass_curve(satquma_csv):
    rows = np.loadtxt(satquma_csv, delimiter=",", skiprows=1, usecols=(0, 1, 2))
    keep = np.degrees(rows[:, 1]) >= 10.0
    return rows[keep, 2][::7]  # every 7th second of SatQuMA's pass above 10 degrees: 64 steps


def _box(rng, n, two_intensities=False):
    """``n`` random settings; every 4th is a dark-count-rich block with a weak decoy, where the
    vacuum bounds are positive (so that the vacuum-bound directions matter for the key)."""
    pts = []
    for i in range(n):
        noisy = i % 4 == 3
        mu1 = rng.uniform(0.4, 1.0) if noisy else rng.uniform(0.1, 1.2)
        weak = rng.uniform(0.02, 0.12) if noisy else rng.uniform(0.02, 0.98)
        if two_intensities:
            mu = [mu1, mu1 * weak * 0.9]
            p1 = rng.uniform(0.05, 0.95)
            p = [p1, 1.0 - p1]
        else:
            if noisy:
                mu3 = mu1 * rng.uniform(0.01, 0.1)
            else:
                mu3 = 0.0 if rng.uniform() < 0.4 else mu1 * rng.uniform(0.002, 0.3)
            mu2 = mu3 + (mu1 - 2 * mu3) * weak
            mu = [mu1, mu2, mu3]
            p1 = rng.uniform(0.05, 0.95)
            p2 = (1 - p1) * rng.uniform(0.05, 0.95)
            p = [p1, p2, 1.0 - p1 - p2]
        pts.append(dict(mu=mu, p=p, px=rng.uniform(0.2, 0.99),
                        pdc=10 ** (rng.uniform(-5.6, -4.9) if noisy else rng.uniform(-8, -4.5)),
                        pap=rng.uniform(0, 0.02), e_mis=rng.uniform(0, 0.01 if noisy else 0.03),
                        loss_db=rng.uniform(0, 4) if noisy else rng.uniform(0, 20),
                        pulses=10 ** (rng.uniform(9.5, 10.5) if noisy else rng.uniform(8, 10.5)),
                        tail=TAILS[i % 3], eps_sec=10 ** rng.uniform(-12, -6), f=rng.uniform(1.0, 1.3)))
    return pts


def _counts(pt, curve):
    eta = curve * 10 ** (-pt["loss_db"] / 10)
    return oracles.wcp_counts(eta, pt["pulses"], pt["mu"], pt["p"], pt["px"], pt["pdc"], pt["pap"], pt["e_mis"])


def _production(module, pts, counts):
    """Production key of every point, one vectorised call per tail."""
    out = {}
    for tail in TAILS:
        idx = [i for i, pt in enumerate(pts) if pt["tail"] == tail]
        arr = [np.array([counts[i][j] for i in idx]) for j in range(4)]
        mu = np.array([pts[i]["mu"] for i in idx])
        p = np.array([pts[i]["p"] for i in idx])
        eps = np.array([pts[i]["eps_sec"] for i in idx])
        f = np.array([pts[i]["f"] for i in idx])
        for k, i in enumerate(idx):  # ε and f are scalars in the API: one call per point
            r = module.key_length(*(a[k] for a in arr), mu[k], p[k], eps_sec=float(eps[k]), eps_cor=1e-15,
                                  error_correction_efficiency=float(f[k]), tail=tail, min_z_counts=100.0)
            out[i] = r
    return [out[i] for i in range(len(pts))]


@pytest.fixture(scope="module")
def lim_points():
    rng = np.random.default_rng(20140210)
    curve = _pass_curve(SATQUMA_CSV)
    pts = _box(rng, N_POINTS)
    counts = [_counts(pt, curve) for pt in pts]
    ref = [oracles.lim2014_key(*c, pt["mu"], pt["p"], eps_sec=pt["eps_sec"], f=pt["f"], kind=pt["tail"])
           for pt, c in zip(pts, counts)]
    return pts, counts, ref


@pytest.fixture(scope="module")
def rusca_points():
    rng = np.random.default_rng(20180425)
    curve = _pass_curve(SATQUMA_CSV)
    pts = _box(rng, N_POINTS, two_intensities=True)
    counts = [_counts(pt, curve) for pt in pts]
    ref = [oracles.rusca2018_key(*c, pt["mu"], pt["p"], eps_sec=pt["eps_sec"], f=pt["f"], kind=pt["tail"])
           for pt, c in zip(pts, counts)]
    return pts, counts, ref


def _scale(r):
    """Magnitude of the terms that make up ℓ: the scale of '1e-9 relative'."""
    return abs(r["s_x0"]) + abs(r["s_x1"]) + r["lambda_ec"] + 200.0


def _compare(prod, ref):
    for i, (got, want) in enumerate(zip(prod, ref)):
        assert int(got.status) == want["status"], i
        if want["status"] != 0:
            assert float(got.secret_key_bits) == 0.0
            continue
        tol = 1e-9 * _scale(want)
        for name, key in (("s_x0", "s_x0"), ("s_x1", "s_x1"), ("s_z1", "s_z1"), ("v_z1", "v_z1"),
                          ("key_length_raw", "ell")):
            np.testing.assert_allclose(float(getattr(got, name)), want[key], rtol=1e-9, atol=tol,
                                       err_msg=f"point {i}: {name}")
        np.testing.assert_allclose(float(got.phase_error_x), want["phi"], rtol=1e-9, atol=1e-12)
        assert abs(float(got.secret_key_bits) - want["bits"]) <= 1 + tol, i


def test_wcp_counts_match_paper_model(lim_points):
    pts, counts, _ = lim_points
    curve = _pass_curve(SATQUMA_CSV)
    for pt, want in list(zip(pts, counts))[:40]:
        got = expected_counts(curve * 10 ** (-pt["loss_db"] / 10), pt["pulses"], np.array(pt["mu"]),
                              np.array(pt["p"]), pt["px"], pt["pdc"], pt["pap"], pt["e_mis"])
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=1e-9)


def test_lim2014_matches_oracle(lim_points):
    pts, counts, ref = lim_points
    statuses = [r["status"] for r in ref]
    keyed = [i for i, r in enumerate(ref) if r["bits"] > 0]
    # the box exercises every branch: keys with and without a vacuum decoy, and each status
    assert len(keyed) > N_POINTS // 4
    assert sum(pts[i]["mu"][2] > 0 for i in keyed) > 20
    assert {0, 1, 2, 3} <= set(statuses) or {0, 1, 3} <= set(statuses)
    assert any(r["v_z1"] == sum(c[3]) for r, c in zip(ref, counts))  # the cap v_Z1 <= m_Z binds somewhere
    _compare(_production(decoy_bb84, pts, counts), ref)


def test_rusca2018_matches_oracle(rusca_points):
    pts, counts, ref = rusca_points
    assert sum(r["bits"] > 0 for r in ref) > N_POINTS // 5
    _compare(_production(one_decoy, pts, counts), ref)


def test_bbm92_matches_oracle():
    rng = np.random.default_rng(1992)
    n = 10 ** rng.uniform(2, 10, 300)
    e = rng.uniform(0, 0.2, 300)
    eps = 10 ** rng.uniform(-12, -6, 300)
    for ni, ei, epsi in zip(n, e, eps):
        got = float(bbm92.finite_key_bits(ni, ei, eps_sec=float(epsi), eps_cor=1e-15))
        want = oracles.bbm92_key(float(ni), float(ei), eps_sec=float(epsi))
        assert abs(got - want) <= 1 + 1e-9 * ni


def _flip_raises_key(monkeypatch, name, module, pts, counts, ref):
    monkeypatch.setattr(statistics, "_FLIPPED", frozenset({name}))
    prod = _production(module, pts, counts)
    return any(float(g.secret_key_bits) > r["bits"] + 1 + 1e-9 * r["bits"] for g, r in zip(prod, ref))


@pytest.mark.parametrize("name", decoy_bb84.BOUNDS)
def test_flipping_any_lim_bound_overstates_the_key(monkeypatch, lim_points, name):
    pts, counts, ref = lim_points
    assert _flip_raises_key(monkeypatch, name, decoy_bb84, pts, counts, ref), name


@pytest.mark.parametrize("name", one_decoy.BOUNDS)
def test_flipping_any_rusca_bound_overstates_the_key(monkeypatch, rusca_points, name):
    pts, counts, ref = rusca_points
    assert _flip_raises_key(monkeypatch, name, one_decoy, pts, counts, ref), name


def test_flipping_the_bbm92_bound_overstates_the_key(monkeypatch):
    monkeypatch.setattr(statistics, "_FLIPPED", frozenset(bbm92.BOUNDS))
    assert float(bbm92.finite_key_bits(1e6, 0.02)) > oracles.bbm92_key(1e6, 0.02) + 1


class _Recorder(frozenset):
    """Stands in for the flip set: records every name asked for, flips none."""

    seen: set = set()

    def __contains__(self, name):
        _Recorder.seen.add(name)
        return False


def test_every_direction_choice_is_named(monkeypatch, lim_points, rusca_points):
    _Recorder.seen = set()
    monkeypatch.setattr(statistics, "_FLIPPED", _Recorder())
    for module, (pts, counts, _) in ((decoy_bb84, lim_points), (one_decoy, rusca_points)):
        _production(module, pts[:6], counts[:6])
    bbm92.finite_key_bits(1e6, 0.02)
    assert _Recorder.seen == set(decoy_bb84.BOUNDS) | set(one_decoy.BOUNDS) | set(bbm92.BOUNDS)
