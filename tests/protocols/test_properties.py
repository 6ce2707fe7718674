"""Invariants of the finite-key formulas, as property tests (hypothesis).

Over random source settings, noise and loss (counts from the WCP model of
:mod:`qsat.detection.wcp` on SatQuMA's pass):

* the key never exceeds the sifted key-basis events n_X, nor the PLOB bound for the
  pulses sent (Pirandola et al. 2017, Eq. (19), detector efficiency included);
* the finite key never exceeds the asymptotic key of the same counts;
* the key never grows with more excess loss, more dark counts or a larger intrinsic QBER;
* no key when the test basis holds (next to) no data, as the basis bias p_X → 1 (the
  artefact of a P_X → 1 optimum, which an s_{Z,1} without data behind it would allow).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qsat.detection.wcp import expected_counts
from qsat.protocols import decoy_bb84, one_decoy
from qsat.protocols.bounds import pass_bound_bits
from tests.protocols.conftest import DATA

_ROWS = np.loadtxt(DATA / "satquma_FS_loss_XI0.csv", delimiter=",", skiprows=1, usecols=(0, 1, 2))
CURVE = _ROWS[np.degrees(_ROWS[:, 1]) >= 10.0, 2][::5]  # SatQuMA's pass above 10 degrees, every 5 s
STEP_S = 5.0

# hypothesis's failure report touches a deprecated mypy_extensions name; with warnings as
# errors that would turn a falsified property into an internal error instead of a failure
pytestmark = pytest.mark.filterwarnings("ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning")

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def blocks(draw, two_intensities=False):
    mu1 = draw(st.floats(0.1, 1.2))
    if two_intensities:
        mu = np.array([mu1, mu1 * draw(st.floats(0.02, 0.9))])
        p1 = draw(st.floats(0.05, 0.95))
        p = np.array([p1, 1.0 - p1])
    else:
        mu3 = draw(st.sampled_from([0.0, mu1 * draw(st.floats(0.002, 0.3))]))
        mu2 = mu3 + (mu1 - 2 * mu3) * draw(st.floats(0.02, 0.98))
        mu = np.array([mu1, mu2, mu3])
        p1 = draw(st.floats(0.05, 0.95))
        p2 = (1 - p1) * draw(st.floats(0.05, 0.95))
        p = np.array([p1, p2, 1.0 - p1 - p2])
    return dict(mu=mu, p=p, px=draw(st.floats(0.2, 0.99)), pdc=10 ** draw(st.floats(-9.0, -4.5)),
                e_int=draw(st.floats(0.0, 0.05)), pap=draw(st.floats(0.0, 0.02)),
                loss_db=draw(st.floats(0.0, 20.0)), rep_hz=10 ** draw(st.floats(7.0, 9.5)),
                tail=draw(st.sampled_from(["chernoff", "hoeffding"])), eps_sec=10 ** draw(st.floats(-12.0, -6.0)))


def _eta(b, loss_db=None):
    return CURVE * 10 ** (-(b["loss_db"] if loss_db is None else loss_db) / 10)


def key(b, module=decoy_bb84, *, loss_db=None, pdc=None, e_int=None, px=None, tail=None, min_z=100.0):
    counts = expected_counts(_eta(b, loss_db), b["rep_hz"] * STEP_S, b["mu"], b["p"], b["px"] if px is None else px,
                             b["pdc"] if pdc is None else pdc, b["pap"], b["e_int"] if e_int is None else e_int)
    return module.key_length(*counts, b["mu"], b["p"], eps_sec=b["eps_sec"], tail=tail or b["tail"],
                             min_z_counts=min_z)


@PROPERTY
@given(blocks())
def test_key_at_most_n_x_and_plob(b):
    r = key(b)
    bits = float(r.secret_key_bits)
    assert bits <= float(r.n_x)
    assert bits <= float(pass_bound_bits(_eta(b), b["rep_hz"] * STEP_S, bound="plob"))
    asy = key(b, tail="asymptotic")
    assert bits <= float(asy.secret_key_bits)
    assert float(asy.secret_key_bits) <= float(pass_bound_bits(_eta(b), b["rep_hz"] * STEP_S, bound="plob"))


@PROPERTY
@given(blocks(two_intensities=True))
def test_one_decoy_key_at_most_n_x_plob_and_asymptotic(b):
    r = key(b, one_decoy)
    bits = float(r.secret_key_bits)
    assert bits <= float(r.n_x)
    assert bits <= float(pass_bound_bits(_eta(b), b["rep_hz"] * STEP_S, bound="plob"))
    assert bits <= float(key(b, one_decoy, tail="asymptotic").secret_key_bits)


@PROPERTY
@given(blocks(), st.floats(0.01, 10.0))
def test_key_non_increasing_in_excess_loss(b, more_db):
    assert float(key(b, loss_db=b["loss_db"] + more_db).secret_key_bits) <= float(key(b).secret_key_bits)


@PROPERTY
@given(blocks(), st.floats(1.01, 100.0))
def test_key_non_increasing_in_dark_counts(b, factor):
    assert float(key(b, pdc=min(b["pdc"] * factor, 0.1)).secret_key_bits) <= float(key(b).secret_key_bits)


@PROPERTY
@given(blocks(), st.floats(1e-4, 0.1))
def test_key_non_increasing_in_intrinsic_qber(b, more):
    assert float(key(b, e_int=b["e_int"] + more).secret_key_bits) <= float(key(b).secret_key_bits)


@PROPERTY
@given(blocks(), st.floats(6.0, 14.0))
def test_no_key_without_test_basis_data(b, digits):
    # p_X = 1 - 10^-digits leaves n_Z ~ 1e-12 .. 1e-2 counts: even with no minimum of Z counts,
    # s_Z1 has nothing behind it, so there is no phase-error estimate and no key.
    r = key(b, px=1.0 - 10 ** -digits, min_z=0.0)
    assert float(r.n_z) < 1.0
    assert float(r.secret_key_bits) == 0.0 and int(r.status) == 1
