import math

import numpy as np
import pytest

from qsat.channel import atmosphere as atm


def test_kasten_young_zenith_and_horizon():
    assert atm.kasten_young_air_mass(0.0) == pytest.approx(1.0, abs=5e-4)  # the fit is 0.9997 at zenith
    horizon = atm.kasten_young_air_mass(math.pi / 2)
    assert 37.0 < horizon < 39.0 and np.isfinite(horizon)
    # below the horizon the value is held, never NaN
    assert atm.kasten_young_air_mass(math.pi / 2 + 0.1) == horizon


def test_air_mass_grows_with_zenith_angle():
    z = np.linspace(0, math.pi / 2, 500)
    m = atm.kasten_young_air_mass(z)
    assert np.all(np.diff(m) > 0)
    # plane-parallel sec(z) is a good approximation up to ~60 deg (within 0.5 %)
    z60 = np.radians(np.arange(0, 61))
    assert np.allclose(atm.kasten_young_air_mass(z60), 1 / np.cos(z60), rtol=5e-3)


def test_pressure_ratio_standard_atmosphere():
    assert atm.pressure_ratio(0.0) == 1.0
    # US Std Atm 1976, Table I (geometric altitude): 5 km -> 540.48 hPa, 10 km -> 264.99 hPa;
    # 2e-4 relative covers the 5-digit table and the rounded constants of eq. (33a)
    assert atm.pressure_ratio(5000.0) * 1013.25 == pytest.approx(540.48, rel=2e-4)
    assert atm.pressure_ratio(10000.0) * 1013.25 == pytest.approx(264.99, rel=2e-4)


def test_rayleigh_optical_depth_lambda4():
    # Bucholtz, Appl. Opt. 34, 2765 (1995), Table 4 (US Std 1962): 0.0973 at 550 nm and 8.645e-3 at 1 um
    assert atm.rayleigh_optical_depth(550e-9) == pytest.approx(0.0973, rel=0.01)
    assert atm.rayleigh_optical_depth(1000e-9) == pytest.approx(8.645e-3, rel=0.02)


def test_kim_exponent_branches():
    q = atm.kim_size_exponent(np.array([100e3, 20e3, 3e3, 0.8e3, 0.2e3]))
    assert q == pytest.approx([1.6, 1.3, 0.16 * 3 + 0.34, 0.8 - 0.5, 0.0])
    # Koschmieder: at 550 nm the coefficient is 3.91/V whatever q
    assert atm.kim_extinction_coefficient(550e-9, 23e3) == pytest.approx(3.91 / 23e3)


def test_shipped_presets_match_their_formulas():
    table = atm.site_presets()
    assert {"clear", "hazy", "very_clear"} <= set(table)
    vis = {"very_clear": 50e3, "clear": 23e3, "hazy": 5e3}
    for name, t in table.items():
        assert np.allclose(t["tau_rayleigh"], atm.rayleigh_optical_depth(t["wavelength_m"]), rtol=1e-5)
        assert np.allclose(t["tau_aerosol"], atm.aerosol_optical_depth_from_visibility(t["wavelength_m"], vis[name]),
                           rtol=1e-5)
    # interpolation between nodes is exact for these power laws
    tau_r, tau_a = atm.preset_optical_depths("clear", 830e-9)
    assert tau_r == pytest.approx(float(atm.rayleigh_optical_depth(830e-9)), rel=2e-3)
    assert tau_a == pytest.approx(float(atm.aerosol_optical_depth_from_visibility(830e-9, 23e3)), rel=1e-5)


def test_hazier_and_lower_sites_lose_more():
    clear = atm.preset_optical_depths("clear", 850e-9)
    hazy = atm.preset_optical_depths("hazy", 850e-9)
    assert sum(hazy) > sum(clear)
    sea = atm.zenith_optical_depth(*clear, 0.0)
    high = atm.zenith_optical_depth(*clear, 3000.0)
    assert high < sea
    # a clear sea-level site at 850 nm transmits 80-95 % at zenith (MODTRAN-like rural 23 km)
    assert 0.80 < math.exp(-sea) < 0.95


def test_absorption_bands():
    assert atm.absorption_band(765e-9) is not None
    assert atm.absorption_band(850e-9) is None and atm.absorption_band(1550e-9) is None
