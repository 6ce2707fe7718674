"""Turbulence at the receiver: the seeing-broadened spot against the field stop, with and without tip-tilt."""

import math

import numpy as np
import pytest

from qsat.channel import turbulence as turb
from qsat.channel.beam import airy_fwhm
from qsat.channel.budget import LinkParameters, link_budget
from qsat.channel.pointing import fov_fraction

from .conftest import make_config

LAM = 850e-9


def _params(fov, tip_tilt, cn2_ground=1.7e-14):
    cfg = make_config(receiver={"field_of_view": fov, "tip_tilt_correction": tip_tilt},
                      atmosphere={"cn2_ground": cn2_ground})
    return LinkParameters.from_config(cfg, station_altitude_m=960.0)


def test_z_tilt_coefficient_from_noll():
    # Noll (1976) Table IV: Delta_1 - Delta_3 = 1.0299 - 0.134 over two tilts; angle = 2 lambda a / (pi D)
    assert turb.Z_TILT_VARIANCE_COEFF == pytest.approx(0.1815, abs=5e-4)
    # D = r0: sigma_t = sqrt(0.1815) lambda / D per axis
    assert turb.tilt_variance_per_axis(LAM, 0.1, 0.1) == pytest.approx(turb.Z_TILT_VARIANCE_COEFF * (LAM / 0.1) ** 2)
    # scales as D^(-1/3) r0^(-5/3)
    ratio = turb.tilt_variance_per_axis(LAM, 8.0, 0.05) / turb.tilt_variance_per_axis(LAM, 1.0, 0.05)
    assert ratio == pytest.approx(8.0 ** (-1.0 / 3.0))


def test_seeing_fwhm_long_and_short_exposure():
    r0 = np.array([0.03, 0.05, 0.1])
    long = turb.seeing_fwhm(LAM, r0)
    assert np.allclose(long, 0.98 * LAM / r0, rtol=1e-15)
    short = turb.seeing_fwhm(LAM, r0, aperture_m=1.0, tip_tilt=True)
    assert np.all(short < long)
    # closed form: FWHM_tt^2 = (0.98 lambda/r0)^2 - 8 ln2 * 0.1815 lambda^2 D^(-1/3) r0^(-5/3)
    expected = np.sqrt((0.98 * LAM / r0) ** 2 - 8 * math.log(2) * turb.Z_TILT_VARIANCE_COEFF * LAM ** 2 * r0 ** (-5 / 3))
    assert np.allclose(short, expected, rtol=1e-14)
    # a tip-tilt loop on a 1 m telescope with r0 = 5 cm narrows the seeing to 0.78 of its width
    assert short[1] / long[1] == pytest.approx(math.sqrt(1 - 8 * math.log(2) * 0.181547 / 0.98 ** 2 * 0.05 ** (1 / 3)), rel=1e-4)
    assert short[1] / long[1] == pytest.approx(0.78, abs=0.005)
    # aperture below ~r0: the motion is the whole seeing spot (floored at 0: diffraction sets the spot)
    assert float(turb.seeing_fwhm(LAM, 0.5, aperture_m=0.1, tip_tilt=True)) == 0.0


@pytest.mark.parametrize("tip_tilt", [False, True])
def test_budget_turbulence_term_is_the_closed_form(tip_tilt):
    p = _params("20 urad", tip_tilt)
    el = np.radians([20.0, 45.0, 80.0])
    b = link_budget(el, np.array([1200e3, 700e3, 510e3]), p)
    spot2 = airy_fwhm(LAM, 1.0) ** 2 + turb.seeing_fwhm(LAM, b["r0_m"], 1.0, tip_tilt) ** 2
    expected = -10 * np.log10(fov_fraction(np.sqrt(spot2), 20e-6) / fov_fraction(airy_fwhm(LAM, 1.0), 20e-6))
    assert np.allclose(b["loss_turbulence_db"], expected, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("tip_tilt", [False, True])
def test_huge_field_of_view_costs_nothing(tip_tilt):
    b = link_budget(np.radians([10.0, 30.0, 90.0]), np.array([1800e3, 900e3, 500e3]), _params("2 mrad", tip_tilt))
    assert np.all(np.abs(b["loss_turbulence_db"]) < 1e-4)


@pytest.mark.parametrize("tip_tilt", [False, True])
def test_loss_grows_as_r0_shrinks(tip_tilt):
    el = np.radians(np.linspace(15.0, 90.0, 40))
    rng = np.full(el.shape, 800e3)
    b = link_budget(el, rng, _params("20 urad", tip_tilt))
    order = np.argsort(b["r0_m"])
    assert np.all(np.diff(b["loss_turbulence_db"][order]) < 0.0)  # larger r0, less loss
    stronger = link_budget(el, rng, _params("20 urad", tip_tilt, cn2_ground=5e-14))
    assert np.all(stronger["r0_m"] < b["r0_m"]) and np.all(stronger["loss_turbulence_db"] > b["loss_turbulence_db"])


def test_tip_tilt_lowers_the_loss_and_leaves_uplinks_alone():
    el, rng = np.radians([20.0, 50.0]), np.array([1200e3, 650e3])
    plain = link_budget(el, rng, _params("20 urad", False))["loss_turbulence_db"]
    corrected = link_budget(el, rng, _params("20 urad", True))["loss_turbulence_db"]
    assert np.all(corrected < plain) and np.all(corrected > 0.0)
    up = dict(direction="uplink", transmitter={"divergence": "20 urad", "aperture": "18 cm"},
              receiver={"aperture": "30 cm"})
    a = LinkParameters.from_config(make_config(**up), station_altitude_m=5047.0)
    up["receiver"] = {"aperture": "30 cm", "tip_tilt_correction": True}
    b = LinkParameters.from_config(make_config(**up), station_altitude_m=5047.0)
    assert b.derived()["tilt_c"] == 0.0
    assert np.array_equal(link_budget(el, rng, a)["loss_total_db"], link_budget(el, rng, b)["loss_total_db"])
