import warnings

import numpy as np
import pytest
import xarray as xr

from qsat.channel.config import DefaultsWarning
from qsat.channel.budget import OUTPUTS
from qsat.channel.stage import VARIABLES, compute_link
from qsat.errors import QsatInputError, QsatWarning
from qsat.scenario import loads

BASE = """
[time]
start = "2016-12-19T00:00:00Z"
duration = "1 h"
[[satellites]]
name = "MICIUS"
[[ground_stations]]
name = "Xinglong"
"""

LINK = """
[link]
wavelength = "{wavelength}"
[link.transmitter]
divergence = "10 urad"
aperture = "{tx_aperture}"
pointing_jitter = "{jitter}"
[link.receiver]
aperture = "1 m"
field_of_view = "{fov}"
[link.atmosphere]
{atmosphere}
"""


def scenario(wavelength="850 nm", tx_aperture="30 cm", jitter="1 urad", fov="100 urad", atmosphere='site = "clear"'):
    return loads(BASE + LINK.format(wavelength=wavelength, tx_aperture=tx_aperture, jitter=jitter, fov=fov,
                                    atmosphere=atmosphere))


def test_valid_link_section():
    s = scenario()
    assert s.link.wavelength == pytest.approx(850e-9)
    assert s.link.transmitter.pointing_jitter == pytest.approx(1e-6)
    assert s.link.atmosphere.site == "clear"


@pytest.mark.parametrize("kwargs,field,fragment", [
    ({"wavelength": "3 um"}, "link.wavelength", "tabulated range"),
    ({"wavelength": "300 nm"}, "link.wavelength", "tabulated range"),
    ({"tx_aperture": "-0.3 m"}, "link.transmitter.aperture", "positive length"),
    ({"tx_aperture": "0 m"}, "link.transmitter.aperture", "positive length"),
    ({"jitter": "0 urad"}, "link.transmitter.pointing_jitter", "positive angle"),
    ({"jitter": "-1 urad"}, "link.transmitter.pointing_jitter", "positive angle"),
    ({"jitter": "1 m"}, "link.transmitter.pointing_jitter", "angle"),
    ({"atmosphere": 'site = "marsh"'}, "link.atmosphere.site", "site preset"),
    ({"atmosphere": 'site = "clear"\nvisibility = "20 km"'}, "link.atmosphere", "only one of"),
    ({"atmosphere": "zenith_transmittance = 1.5"}, "link.atmosphere.zenith_transmittance", "(0, 1]"),
])
def test_bad_input_names_field_and_value(kwargs, field, fragment):
    with pytest.raises(QsatInputError) as err:
        scenario(**kwargs)
    assert err.value.field == field
    assert fragment in err.value.expected
    assert str(err.value).startswith(field + ":")


@pytest.mark.parametrize("section,body,field,fragment", [
    ("receiver", 'aperture = "1 m"\noptical_efficiency = 1.5', "link.receiver.optical_efficiency", "(0, 1]"),
    ("receiver", 'aperture = "1 m"\nfiber_coupling = 0', "link.receiver.fiber_coupling", "(0, 1]"),
    ("receiver", 'aperture = "1 m"\nobscuration_ratio = 1.0', "link.receiver.obscuration_ratio", "[0, 1)"),
    ("receiver", 'aperture = "-1 m"', "link.receiver.aperture", "positive length"),
    ("receiver", 'aperture = "1 m"\nfield_of_view = "0 urad"', "link.receiver.field_of_view", "positive angle"),
    ("receiver", 'aperture = "1 m"\npointing_jitter = "-2 urad"', "link.receiver.pointing_jitter", "non-negative"),
])
def test_bad_receiver_values(section, body, field, fragment):
    text = BASE + '[link]\n[link.transmitter]\ndivergence = "10 urad"\npointing_jitter = "1 urad"\n' + \
        f"[link.{section}]\n{body}\n"
    with pytest.raises(QsatInputError) as err:
        loads(text)
    assert err.value.field == field and fragment in err.value.expected


def test_fov_below_diffraction_limit_warns():
    with pytest.warns(QsatWarning, match="diffraction limit"):
        scenario(fov="1 urad")


def test_absorption_band_warns():
    with pytest.warns(QsatWarning, match="absorption band"):
        scenario(wavelength="765 nm")


def test_uplink_needs_receiver_aperture():
    text = BASE + """
[link]
direction = "uplink"
[link.transmitter]
divergence = "20 urad"
pointing_jitter = "2 urad"
[link.receiver]
field_of_view = "100 urad"
"""
    with pytest.raises(QsatInputError, match="uplink"):
        loads(text)


def synthetic_geometry(npass=3, nstep=40, with_altitude=True):
    t = np.linspace(0, 1, nstep)
    el = np.degrees(np.sin(np.pi * t))[None, :] * np.array([[80.0], [40.0], [15.0]])[:npass] / 1.0
    el = np.clip(el, 0, 90)
    rng = 500e3 / np.maximum(np.sin(np.radians(np.maximum(el, 5))), 0.2)
    valid = np.ones((npass, nstep), bool)
    valid[1, 30:] = False  # padding
    el[1, 30:] = np.nan
    dims = ("pass", "step")
    coords = {"pass": np.arange(npass), "step": np.arange(nstep), "satellite": ("pass", ["MICIUS"] * npass),
              "station": ("pass", ["Xinglong"] * npass)}
    if with_altitude:
        coords["station_altitude_m"] = ("pass", np.full(npass, 960.0))
    return xr.Dataset({
        "valid": (dims, valid), "elevation_deg": (dims, el), "azimuth_deg": (dims, np.zeros_like(el)),
        "slant_range_m": (dims, rng), "range_rate_m_s": (dims, np.zeros_like(el)),
        "sun_altitude_deg": (dims, np.full_like(el, -30.0)), "moon_altitude_deg": (dims, np.full_like(el, -5.0)),
        "moon_separation_deg": (dims, np.full_like(el, 90.0)), "sunlit": (dims, np.zeros_like(el, dtype=bool)),
    }, coords=coords, attrs={"step_s": 1.0})


def test_stage_product_layout():
    s = scenario()
    geo = synthetic_geometry()
    ds = compute_link(geo, s.link, {"Xinglong": (1.0, None)})
    required = ("loss_geometric_db", "loss_atmosphere_db", "loss_turbulence_db", "loss_pointing_db",
                "loss_optics_db", "loss_total_db", "transmittance", "background_cps", "r0_m",
                "rytov_variance", "scintillation_index")
    for name in required:
        assert ds[name].dims == ("pass", "step")
        assert ds[name].attrs["units"] and ds[name].attrs["long_name"]
    assert set(OUTPUTS) <= set(ds.data_vars) and set(VARIABLES) == set(OUTPUTS)
    valid = ds["valid"].values
    assert np.all(np.isfinite(ds["transmittance"].values[valid]))
    assert np.all(np.isnan(ds["transmittance"].values[~valid]))
    assert list(ds["station"].values) == ["Xinglong"] * 3


def test_stage_without_station_altitude_warns_and_uses_sea_level():
    s = scenario()
    messages = []
    ds0 = compute_link(synthetic_geometry(with_altitude=False), s.link, warn=messages.append)
    ds1 = compute_link(synthetic_geometry(), s.link)
    assert any("station_altitude_m" in m for m in messages)
    # a sea-level station has more air above it
    assert float(ds0["loss_atmosphere_db"][0, 20]) > float(ds1["loss_atmosphere_db"][0, 20])


def test_stage_downlink_takes_station_aperture():
    text = BASE + """
[link]
[link.transmitter]
divergence = "10 urad"
pointing_jitter = "1 urad"
"""
    s = loads(text)
    ds_small = compute_link(synthetic_geometry(), s.link, {"Xinglong": (0.5, None)})
    ds_big = compute_link(synthetic_geometry(), s.link, {"Xinglong": (1.5, 0.2)})
    assert float(ds_small["loss_geometric_db"][0, 20]) > float(ds_big["loss_geometric_db"][0, 20])
    with pytest.raises(QsatInputError, match="link.receiver.aperture"):
        compute_link(synthetic_geometry(), s.link, {"Xinglong": (None, None)})


def test_run_stage_in_pipeline_context():
    from qsat.channel.stage import run_stage
    from qsat.pipeline import Run

    s = scenario()
    run = Run(scenario=s, backend="numpy")
    run.products["geometry"] = synthetic_geometry()
    # the scenario states no optics: the budget says so, in the result and as a warning
    with pytest.warns(DefaultsWarning, match="transmitter.optical_efficiency = 0.8.*receiver.optical_efficiency = 0.5"):
        run_stage(run)
    assert run.products["link"].sizes == {"pass": 3, "step": 40}
    assert any("typical defaults" in w for w in run.warnings)
    assert "receiver.optical_efficiency" in run.products["link"].attrs["defaulted_terms"]
    # stating them silences it (any other warning would still be an error here)
    stated = loads(BASE + LINK.format(wavelength="850 nm", tx_aperture="30 cm", jitter="1 urad", fov="100 urad",
                                      atmosphere='site = "clear"').replace(
        "[link.receiver]", "[link.receiver]\noptical_efficiency = 0.4").replace(
        "[link.transmitter]", "[link.transmitter]\noptical_efficiency = 0.9"))
    run = Run(scenario=stated, backend="numpy")
    run.products["geometry"] = synthetic_geometry()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run_stage(run)
    assert run.products["link"].attrs["defaulted_terms"] == "none"
    assert float(run.products["link"]["loss_optics_db"][0, 20]) == pytest.approx(-10 * np.log10(0.36))


@pytest.mark.gpu
@pytest.mark.skipif(not __import__("qsat.backend", fromlist=["gpu_available"]).gpu_available(),
                    reason="needs a usable CUDA device")
def test_stage_on_the_gpu_matches_numpy():
    s = scenario()
    geo = synthetic_geometry()
    a = compute_link(geo, s.link, {"Xinglong": (1.0, None)}, backend="numpy")
    b = compute_link(geo, s.link, {"Xinglong": (1.0, None)}, backend="cupy")
    for name in OUTPUTS:
        x, y = a[name].values, b[name].values
        assert np.array_equal(np.isnan(x), np.isnan(y))
        ok = np.isfinite(x)
        assert np.allclose(x[ok], y[ok], rtol=1e-12, atol=1e-12), name


def test_transmitter_needs_a_beam():
    text = BASE + '[link]\n[link.transmitter]\npointing_jitter = "1 urad"\n'
    with pytest.raises(QsatInputError) as err:
        loads(text)
    assert err.value.field == "link.transmitter" and "divergence" in err.value.expected
    text = BASE + '[link]\n[link.transmitter]\npointing_jitter = "1 urad"\ndivergence = "10 urad"\nwaist = "5 cm"\n'
    with pytest.raises(QsatInputError, match="only one of"):
        loads(text)


def test_stage_edge_cases():
    s = scenario()
    empty = compute_link(synthetic_geometry().isel({"pass": slice(0, 0)}), s.link, {"Xinglong": (1.0, None)})
    assert empty.sizes["pass"] == 0 and "transmittance" in empty
    geo = synthetic_geometry()
    el = geo["elevation_deg"].values.copy()
    el[0, 5] = np.nan  # a valid step with broken geometry
    geo["elevation_deg"] = (("pass", "step"), el)
    messages = []
    ds = compute_link(geo, s.link, {"Xinglong": (1.0, None)}, warn=messages.append)
    assert np.isnan(float(ds["transmittance"][0, 5])) and np.isfinite(float(ds["transmittance"][0, 6]))
    assert any("non-finite geometry" in m for m in messages)


def test_fov_check_with_the_station_aperture():
    from qsat.channel.budget import LinkParameters

    text = BASE + '[link]\n[link.transmitter]\ndivergence = "10 urad"\npointing_jitter = "1 urad"\n' \
                  '[link.receiver]\nfield_of_view = "1 urad"\n'
    s = loads(text)  # the aperture is not known yet: no warning at load
    with pytest.warns(QsatWarning, match="station's 1 m aperture"):
        LinkParameters.from_config(s.link, station_aperture_m=1.0)


def test_stage_takes_each_stations_climatology_when_the_atmosphere_is_unstated():
    # same altitude and aperture, different stations: Xinglong has an aerosol row, Graz has none
    geo = synthetic_geometry().assign_coords(station=("pass", ["Xinglong", "Graz", "Xinglong"]))
    unstated = loads(BASE + LINK.format(wavelength="850 nm", tx_aperture="30 cm", jitter="1 urad", fov="100 urad",
                                        atmosphere=""))
    messages = []
    ds = compute_link(geo, unstated.link, {"Xinglong": (1.0, None), "Graz": (1.0, None)}, warn=messages.append)
    ext = ds["loss_atmosphere_db"].values / ds["air_mass"].values
    assert ext[0, 20] == pytest.approx(ext[2, 20]) and ext[0, 20] > 1.5 * ext[1, 20]
    assert "Xinglong's climatological" in messages[0] and "no aerosol climatology for Graz" in messages[0]
    clear = compute_link(geo, scenario().link, {"Xinglong": (1.0, None), "Graz": (1.0, None)})
    assert float(clear["loss_atmosphere_db"][1, 20]) == pytest.approx(float(ds["loss_atmosphere_db"][1, 20]))
