import math

import numpy as np
import pytest

from qsat.channel.budget import N_OUT, OUTPUTS, LinkParameters, channel_step, link_budget
from qsat.channel import turbulence as turb

LOSS_TERMS = ("loss_geometric_db", "loss_atmosphere_db", "loss_turbulence_db", "loss_pointing_db", "loss_optics_db")


def _grid(rng, n=4000):
    el = rng.uniform(-0.05, math.pi / 2, n)
    rng_m = rng.uniform(300e3, 3500e3, n)
    return el, rng_m


@pytest.mark.parametrize("which", ["downlink_params", "uplink_params"])
def test_transmittance_in_unit_interval_and_finite(which, request, rng):
    p = request.getfixturevalue(which)
    el, d = _grid(rng)
    b = link_budget(el, d, p, sun_altitude_rad=rng.uniform(-1, 1, el.size), moon_altitude_rad=rng.uniform(-1, 1, el.size))
    for name in OUTPUTS:
        assert np.all(np.isfinite(b[name])), name
    assert np.all((b["transmittance"] >= 0) & (b["transmittance"] <= 1))
    total = sum(b[t] for t in LOSS_TERMS)
    assert np.allclose(total, b["loss_total_db"], rtol=1e-10, atol=1e-9)
    assert np.allclose(10 ** (-b["loss_total_db"] / 10), b["transmittance"], rtol=1e-10)
    assert np.all(b["background_cps"] >= 0)


def test_horizon_and_mask(downlink_params):
    el = np.array([0.0, -0.01, 0.3, 0.5])
    d = np.array([2.8e6, 2.9e6, 1.2e6, 0.9e6])
    valid = np.array([1, 1, 0, 1], dtype=np.uint8)
    res = channel_step(el, d, np.full(4, -1.0), np.full(4, -1.0), valid, downlink_params)
    assert res.shape == (4, N_OUT)
    assert np.all(np.isnan(res[2])) and np.all(np.isfinite(res[[0, 1, 3]]))
    # below the horizon a valid step gets the horizon value
    assert np.allclose(res[0, OUTPUTS.index("air_mass")], res[1, OUTPUTS.index("air_mass")])


@pytest.mark.parametrize("which", ["downlink_params", "uplink_params"])
def test_padded_steps_are_nan_without_warnings(which, request):
    """Padding carries zero range and elevation: its rows are NaN, with no divide-by-zero on the way
    (pytest turns warnings into errors), and the valid rows do not depend on the padding."""
    p = request.getfixturevalue(which)
    el = np.array([0.4, 0.0, 0.9, 0.0])
    d = np.array([1.0e6, 0.0, 6.0e5, 0.0])
    valid = np.array([1, 0, 1, 0], dtype=np.uint8)
    res = channel_step(el, d, np.full(4, -1.0), np.full(4, -1.0), valid, p)
    assert np.all(np.isnan(res[[1, 3]])) and np.all(np.isfinite(res[[0, 2]]))
    alone = channel_step(el[[0, 2]], d[[0, 2]], np.full(2, -1.0), np.full(2, -1.0), np.ones(2, np.uint8), p)
    assert np.array_equal(res[[0, 2]], alone)


@pytest.mark.parametrize("which", ["downlink_params", "uplink_params"])
def test_loss_grows_with_range_and_air_mass(which, request):
    p = request.getfixturevalue(which)
    d = np.linspace(400e3, 3000e3, 200)
    b = link_budget(np.full_like(d, 0.6), d, p)
    assert np.all(np.diff(b["loss_total_db"]) > 0)
    assert np.all(np.diff(b["loss_geometric_db"]) > 0)
    el = np.radians(np.linspace(90, 0, 200))
    b = link_budget(el, np.full_like(el, 1e6), p)
    assert np.all(np.diff(b["loss_atmosphere_db"]) > 0)
    assert np.all(np.diff(b["loss_total_db"]) > -1e-12)
    assert np.all(np.diff(b["r0_m"]) < 1e-15) and np.all(np.diff(b["rytov_variance"]) > -1e-15)


def test_downlink_numbers_by_hand(downlink_params):
    p = downlink_params
    b = link_budget(np.array(math.pi / 2), np.array(1.2e6), p)
    w = 5e-6 * 1.2e6  # far field: half the full divergence times range
    assert float(b["beam_radius_m"]) == pytest.approx(w, rel=1e-3)
    collected = 1 - math.exp(-2 * 0.5 ** 2 / w ** 2)
    assert float(b["loss_geometric_db"]) == pytest.approx(-10 * math.log10(collected), abs=0.01)
    assert float(b["loss_atmosphere_db"]) == pytest.approx(10 / math.log(10) * p.tau_zenith * 0.9997, rel=1e-3)
    # no optics stated: qsat's typical defaults (transmit 0.8, receive 0.5), never ideal optics
    assert float(b["loss_optics_db"]) == pytest.approx(-10 * math.log10(0.8 * 0.5), abs=1e-9)


def test_pointing_loss_grows_with_jitter():
    from tests.channel.conftest import make_config

    losses = []
    for jitter in ("0.5 urad", "2 urad", "5 urad"):
        p = LinkParameters.from_config(make_config(transmitter={"pointing_jitter": jitter}))
        losses.append(float(link_budget(np.array(0.8), np.array(1e6), p)["loss_pointing_db"]))
    assert losses[0] < losses[1] < losses[2]


def test_optics_and_fov_terms():
    from tests.channel.conftest import make_config

    p = LinkParameters.from_config(make_config(receiver={"optical_efficiency": 0.5, "filter_transmission": 0.8,
                                                         "fiber_coupling": 0.5}, transmitter={"optical_efficiency": 0.9}))
    b = link_budget(np.array(0.8), np.array(1e6), p)
    assert float(b["loss_optics_db"]) == pytest.approx(-10 * math.log10(0.5 * 0.8 * 0.5 * 0.9))
    # a narrow field stop clips the seeing disc: more turbulence loss at low elevation
    narrow = LinkParameters.from_config(make_config(receiver={"field_of_view": "10 urad"}))
    lo, hi = (link_budget(np.array(e), np.array(1e6), narrow)["loss_turbulence_db"] for e in (0.2, 1.2))
    assert float(lo) > float(hi) > 0.0


def test_background_by_condition(downlink_params):
    sun = np.radians([30.0, -6.0, -12.0, -30.0, -30.0])
    moon = np.radians([-10.0, -10.0, -10.0, -10.0, 40.0])
    b = link_budget(np.full(5, 1.0), np.full(5, 8e5), downlink_params, sun_altitude_rad=sun, moon_altitude_rad=moon)
    day, tw1, tw2, night, moonlit = b["background_cps"]
    assert day > tw1 > tw2 > night and moonlit > night


def test_uplink_turbulence_spread_and_wander(uplink_params):
    b = link_budget(np.radians([80.0, 30.0]), np.array([520e3, 950e3]), uplink_params)
    assert np.all(b["loss_turbulence_db"] > 0.0)
    assert np.all(b["fade_sigma_x_m"] > uplink_params.tx_jitter_x_rad * np.array([520e3, 950e3]))




def test_background_counts_by_hand():
    from tests.channel.conftest import make_config

    p = LinkParameters.from_config(make_config(background={"night_radiance": 1e-8, "moon_radiance": 2e-8,
                                                            "day_radiance": 1e-2},
                                               receiver={"filter_width": "2 nm", "optical_efficiency": 0.5}))
    b = link_budget(np.array(1.0), np.array(8e5), p)  # night, no Moon
    omega = 2 * math.pi * (1 - math.cos(50e-6))
    area = math.pi * 0.5 ** 2
    photon = 6.62607015e-34 * 299792458.0 / 850e-9
    expected = 1e-8 * 1e9 * omega * area * 2e-9 * 0.5 / photon  # W m-2 sr-1 nm-1 -> per m of wavelength
    assert float(b["background_cps"]) == pytest.approx(expected, rel=1e-12)
    assert 100 < expected < 300  # ~264 photons/s: the order of magnitude night QKD receivers see


def test_layered_profile_equals_hv_layers():
    from tests.channel.conftest import make_config

    h, w = turb.hufnagel_valley_layers()
    layered = LinkParameters.from_config(make_config(atmosphere={"site": "clear", "cn2_layers": [[float(a), float(b)]
                                                                                                 for a, b in zip(h, w)]}))
    hv = LinkParameters.from_config(make_config())
    a = link_budget(np.array(0.7), np.array(9e5), layered)
    b = link_budget(np.array(0.7), np.array(9e5), hv)
    for k in ("r0_m", "rytov_variance", "scintillation_index", "transmittance"):
        assert float(a[k]) == pytest.approx(float(b[k]), rel=1e-12)
    weak = LinkParameters.from_config(make_config(atmosphere={"site": "clear", "cn2_ground": 1e-15, "rms_wind": 10}))
    assert float(link_budget(np.array(0.7), np.array(9e5), weak)["r0_m"]) > float(b["r0_m"])


def test_filled_aperture_transmitter():
    from qsat.channel.config import LinkConfig

    cfg = LinkConfig.model_validate({"transmitter": {"aperture": 0.3, "pointing_jitter": 1e-6},
                                     "receiver": {"aperture": 1.0}})
    p = LinkParameters.from_config(cfg)
    assert p.waist_m == pytest.approx(0.15 / 1.12)
    # Klein & Degnan's a/w0 = 1.12 passes 1 - exp(-2 x 1.12^2) = 91.8 % of the power
    assert p.tx_truncation == pytest.approx(1 - math.exp(-2 * 1.12 ** 2))
