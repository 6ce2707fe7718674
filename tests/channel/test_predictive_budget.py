"""Predictive budgets: divergence conventions, stated optics, AOD extinction, the calibrated residual."""

import math
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from qsat.channel import atmosphere as atm
from qsat.channel.budget import EARTH_RADIUS_M, LinkParameters, link_budget
from qsat.channel.calibration import budget_along_ranges, elevation_for_range, fit_residual
from qsat.channel.config import FULL_1E2_PER_FWHM, LinkConfig, TransmitterConfig
from qsat.cli import main
from qsat.detection.detectors import PRESETS
from qsat.scenario import load

from .conftest import make_config

ROOT = Path(__file__).resolve().parents[2]
CURVE = ROOT / "ephemerides" / "reference" / "micius2017_link_loss_vs_range.csv"


def _waist(**tx):
    return TransmitterConfig.model_validate({"aperture": "30 cm", "pointing_jitter": "1 urad", **tx}).waist_m(850e-9)


def test_divergence_conventions_describe_the_same_beam():
    fwhm = 10e-6
    w_fwhm = _waist(divergence_fwhm=fwhm)
    assert _waist(divergence_full_1e2=fwhm * FULL_1E2_PER_FWHM) == pytest.approx(w_fwhm, rel=1e-12)
    assert _waist(divergence_half_1e2=fwhm * FULL_1E2_PER_FWHM / 2) == pytest.approx(w_fwhm, rel=1e-12)
    # the earlier field keeps its meaning: the full 1/e^2 angle
    assert _waist(divergence="10 urad") == pytest.approx(_waist(divergence_full_1e2="10 urad"), rel=1e-12)


def test_fwhm_divergence_is_the_far_field_half_maximum():
    # the irradiance exp(-2 r^2 / w^2) at the range z falls to one half at r = (FWHM / 2) z
    cfg = make_config(transmitter={"divergence": None, "divergence_fwhm": "10 urad"})
    p = LinkParameters.from_config(cfg)
    z = 1.0e6
    w = float(link_budget(np.array(math.pi / 2), np.array(z), p)["beam_radius_m"])
    r = 0.5 * 10e-6 * z
    assert math.exp(-2 * r * r / (w * w)) == pytest.approx(0.5, rel=1e-3)


@pytest.mark.parametrize("tx", [{"divergence_fwhm": "10 urad", "divergence_full_1e2": "17 urad"},
                                {"divergence_half_1e2": "5 urad", "waist": "2 cm"},
                                {"divergence": "10 urad", "divergence_fwhm": "10 urad"}])
def test_two_beam_descriptions_are_refused(tx):
    with pytest.raises(ValidationError, match="only one of divergence_full_1e2, divergence_half_1e2, divergence_fwhm"):
        make_config(transmitter={"divergence": None, **tx})


def test_wider_convention_reading_costs_diffraction():
    # the same printed 10 urad: as FWHM the beam is 1.7x wider than as full 1/e^2: ~4.6 dB at small apertures
    full = LinkParameters.from_config(make_config())
    fwhm = LinkParameters.from_config(make_config(transmitter={"divergence": None, "divergence_fwhm": "10 urad"}))
    a = link_budget(np.array(0.5), np.array(1.2e6), full)["loss_geometric_db"]
    b = link_budget(np.array(0.5), np.array(1.2e6), fwhm)["loss_geometric_db"]
    assert float(b - a) == pytest.approx(20 * math.log10(FULL_1E2_PER_FWHM), abs=0.1)


def test_optics_defaults_are_typical_not_ideal_and_stated_values_win():
    cfg = make_config()
    assert cfg.defaulted_terms()[:2] == ["transmitter.optical_efficiency = 0.8 (1.0 dB)",
                                        "receiver.optical_efficiency = 0.5 (3.0 dB)"]
    stated = make_config(transmitter={"optical_efficiency": 0.7}, receiver={"optical_efficiency": 0.16},
                         atmosphere={"visibility": "40 km"})
    assert stated.defaulted_terms() == []
    p = LinkParameters.from_config(stated)
    assert p.optics_efficiency == pytest.approx(0.7 * 0.16)


def test_aerosol_optical_depth_follows_angstrom_and_adds_to_rayleigh():
    lam = 850e-9
    assert atm.aerosol_optical_depth_at(550e-9, 0.2, 1.3) == pytest.approx(0.2)
    assert atm.aerosol_optical_depth_at(1100e-9, 0.2, 1.0) == pytest.approx(0.1)
    p0 = LinkParameters.from_config(make_config(atmosphere={"aerosol_optical_depth": 0.0}), station_altitude_m=960.0)
    rayleigh = float(atm.rayleigh_optical_depth(lam)) * float(atm.pressure_ratio(960.0))
    assert p0.tau_zenith == pytest.approx(rayleigh, rel=1e-12)
    p = LinkParameters.from_config(make_config(atmosphere={"aerosol_optical_depth": 0.3, "angstrom_exponent": 1.3}),
                                   station_altitude_m=960.0)
    assert p.tau_zenith == pytest.approx(rayleigh + 0.3 * (lam / 550e-9) ** -1.3, rel=1e-12)


@pytest.mark.parametrize("atmosphere,fragment", [({"aerosol_optical_depth": -0.1}, "aerosol optical depth"),
                                                 ({"aerosol_optical_depth": 0.2, "site": "clear"}, "only one of"),
                                                 ({"aerosol_optical_depth": 0.2, "angstrom_exponent": 9}, "Angstrom")])
def test_bad_aerosol_inputs_fail_clearly(atmosphere, fragment):
    with pytest.raises(ValidationError, match=fragment):
        make_config(atmosphere=atmosphere)


def test_residual_adds_exactly_its_decibels():
    base = LinkParameters.from_config(make_config())
    more = LinkParameters.from_config(make_config(residual_loss_db=4.5))
    a = link_budget(np.array(0.7), np.array(9e5), base)
    b = link_budget(np.array(0.7), np.array(9e5), more)
    assert float(b["loss_total_db"] - a["loss_total_db"]) == pytest.approx(4.5, abs=1e-9)
    assert float(b["loss_optics_db"] - a["loss_optics_db"]) == pytest.approx(4.5, abs=1e-9)
    with pytest.raises(ValidationError, match="residual loss"):
        make_config(residual_loss_db=float("nan"))


def test_elevation_for_range_closes_the_triangle():
    h_sat, h_st = 500e3, 960.0
    assert float(elevation_for_range(h_sat - h_st, h_st, h_sat)) == pytest.approx(math.pi / 2, abs=1e-6)
    el = float(elevation_for_range(1.2e6, h_st, h_sat))
    rs, d = EARTH_RADIUS_M + h_st, 1.2e6
    # satellite position in the station's vertical plane: its distance from the centre is the orbit radius
    x, y = d * math.cos(el), rs + d * math.sin(el)
    assert math.hypot(x, y) == pytest.approx(EARTH_RADIUS_M + h_sat, rel=1e-12)


def test_fit_recovers_a_known_residual():
    cfg = make_config(receiver={"optical_efficiency": 0.2})
    rng = np.linspace(600e3, 1200e3, 25)
    truth = budget_along_ranges(cfg, rng, 960.0, 500e3)["loss_total_db"] + 3.7
    cal = fit_residual(cfg.model_copy(update={"residual_loss_db": 9.0}), rng, truth, 960.0, 500e3)
    assert cal.residual_loss_db == pytest.approx(3.7, abs=1e-9)
    assert cal.rms_db == pytest.approx(0.0, abs=1e-9)
    # a slope the constant cannot absorb shows in the rms and the residuals, with zero mean
    tilted = truth + np.linspace(-1.0, 1.0, rng.size)
    cal = fit_residual(cfg, rng, tilted, 960.0, 500e3)
    assert cal.residual_loss_db == pytest.approx(3.7, abs=1e-9)
    assert cal.rms_db == pytest.approx(np.std(np.linspace(-1.0, 1.0, rng.size)), rel=1e-9)
    assert abs(float(np.mean(cal.residuals_db))) < 1e-9


def test_micius_preset_carries_the_published_noise():
    det = PRESETS["micius-xinglong-2016"]
    assert (det.efficiency, det.dark_count_rate_cps, det.window_s) == (0.5, 25.0, 2e-9)
    assert float(det.extraneous_probability(np.array(0.0))) == pytest.approx(25.0 * 2e-9, rel=1e-6)
    assert "Liao" in det.provenance and "assumed" in det.provenance
    assert PRESETS["si-spad"].dark_count_rate_cps == 500.0  # the datasheet preset keeps its values


@pytest.mark.parametrize("example,spec,station", [
    ("micius_xinglong.toml", "MICIUS_XINGLONG_LINK", ("XINGLONG_ALTITUDE_M", "XINGLONG_APERTURE_M")),
    ("micius_dual_downlink.toml", "YIN2017_DELINGHA_LINK", ("DELINGHA_ALTITUDE_M", "DELINGHA_APERTURE_M")),
])
def test_examples_state_the_validated_links(example, spec, station):
    from qsat.validation import channel as vc

    path = ROOT / "examples" / example
    if not path.is_file():
        pytest.skip("examples not present")
    alt, ap = (getattr(vc, n) for n in station)
    mine = LinkParameters.from_config(load(path).link, station_altitude_m=alt, station_aperture_m=ap).packed()
    theirs = LinkParameters.from_config(LinkConfig.model_validate(getattr(vc, spec)), station_altitude_m=alt,
                                        station_aperture_m=ap).packed()
    np.testing.assert_allclose(mine, theirs, rtol=1e-12)  # unit strings parse to within rounding
    assert load(path).link.residual_loss_db == 0.0  # no fitted term in an example


def test_calibrate_cli_reports_the_fit_and_refuses_bad_curves(tmp_path, capsys):
    from qsat.validation.channel import liao_residual_db

    example = ROOT / "examples" / "micius_xinglong.toml"
    if not example.is_file():
        pytest.skip("examples not present")
    assert main(["calibrate", str(example), "--curve", str(CURVE)]) == 0
    out = capsys.readouterr().out
    assert f"residual_loss_db = {liao_residual_db():.2f}" in out
    bad = tmp_path / "c.csv"
    bad.write_text("range_km,loss_db\n700,30\n800,abc\n")
    assert main(["calibrate", str(example), "--curve", str(bad)]) == 2
    assert "--curve line 3" in capsys.readouterr().err
    bad.write_text("elevation,loss_db\n30,30\n")
    assert main(["calibrate", str(example), "--curve", str(bad)]) == 2
    assert "a range column" in capsys.readouterr().err
    assert main(["calibrate", str(example), "--curve", str(CURVE), "--station", "Graz"]) == 2
    assert "--station: Graz" in capsys.readouterr().err
    assert main(["calibrate", str(example), "--curve", str(CURVE), "--orbit-altitude", "3 km"]) == 2
    assert "--orbit-altitude" in capsys.readouterr().err


def test_unstated_atmosphere_uses_the_station_climatology_else_the_clear_preset():
    lam = 850e-9
    cfg = make_config()
    row = atm.aerosol_climatology()["XINGLONG"]
    p = LinkParameters.from_config(cfg, station_altitude_m=960.0, station_name="Xinglong")
    rayleigh = float(atm.rayleigh_optical_depth(lam)) * float(atm.pressure_ratio(960.0))
    assert p.tau_zenith == pytest.approx(rayleigh + row["aod_500nm"] * (lam / 500e-9) ** -row["angstrom_exponent"])
    assert any("Xinglong's climatological aerosol optical depth" in t for t in cfg.defaulted_terms("Xinglong"))
    # no row: the 'clear' preset, and the warning says so
    clear = LinkParameters.from_config(make_config(atmosphere={"site": "clear"}), station_altitude_m=960.0)
    assert LinkParameters.from_config(cfg, station_altitude_m=960.0, station_name="Graz").tau_zenith == clear.tau_zenith
    assert any("no aerosol climatology for Graz" in t for t in cfg.defaulted_terms("Graz"))
    # a stated extinction wins over the climatology
    stated = make_config(atmosphere={"site": "clear"})
    assert LinkParameters.from_config(stated, station_altitude_m=960.0, station_name="Xinglong").tau_zenith == \
        clear.tau_zenith
    # every row is a plausible annual-mean column inside its published range
    for name, r in atm.aerosol_climatology().items():
        assert r["aod_500nm_low"] <= r["aod_500nm"] <= r["aod_500nm_high"] < 1.0, name
        assert 0.0 < r["angstrom_exponent"] < 2.5 and r["source"], name
