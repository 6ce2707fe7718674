"""Fiber QKD links: never above PLOB, more loss never more key, given rates."""

from __future__ import annotations

import numpy as np
import pytest

from qsat.network.config import FiberSystem
from qsat.network.fiber import fiber_key_rate, fiber_transmittance, plob_rate_bps
from qsat.protocols.config import protocol_from_dict

SYSTEMS = [
    FiberSystem(name="a"),
    FiberSystem(name="b", detector_efficiency=0.8, protocol=protocol_from_dict(
        {"rep_rate_hz": 2.5e9, "dark_count_probability": 1e-10, "intrinsic_qber": 0.002})),
    FiberSystem(name="c", detector_efficiency=0.1, receiver_loss_db=2.0, protocol=protocol_from_dict(
        {"rep_rate_hz": 1e8, "dark_count_probability": 1e-6, "tail_bound": "hoeffding"})),
    FiberSystem(name="one-decoy", key_protocol="one-decoy-bb84", detector_efficiency=0.6,
                one_decoy={"mean_photon_numbers": [0.45, 0.17], "intensity_probabilities": [0.6, 0.4]},
                protocol=protocol_from_dict({"rep_rate_hz": 2.5e9, "dark_count_probability": 1e-10,
                                             "intrinsic_qber": 0.003, "tail_bound": "hoeffding"})),
]
LENGTHS_M = np.linspace(0.0, 400e3, 41)


@pytest.mark.parametrize("system", SYSTEMS, ids=lambda s: s.name)
@pytest.mark.parametrize("accumulation_s", [60.0, 3600.0, 86400.0])
def test_no_fiber_key_rate_above_plob(system, accumulation_s):
    r = fiber_key_rate(LENGTHS_M, 0.2, 1.0, system, accumulation_s)
    assert np.all(r["key_rate_bps"] <= r["plob_bps"])
    assert np.all(r["key_rate_asymptotic_bps"] <= r["plob_bps"])
    assert np.all(r["key_rate_bps"] >= 0)


@pytest.mark.parametrize("system", SYSTEMS, ids=lambda s: s.name)
def test_more_loss_never_more_key(system):
    by_length = fiber_key_rate(LENGTHS_M, 0.2, 0.0, system, 3600.0)["key_rate_bps"]
    assert np.all(np.diff(by_length) <= 0)
    extra = fiber_key_rate(50e3, 0.2, np.linspace(0, 40, 41), system, 3600.0)["key_rate_bps"]
    assert np.all(np.diff(extra) <= 0)
    alpha = fiber_key_rate(80e3, np.linspace(0.15, 0.4, 26), 0.0, system, 3600.0)["key_rate_bps"]
    assert np.all(np.diff(alpha) <= 0)
    assert by_length[0] > 0 and by_length[-1] < by_length[0]


def test_longer_blocks_never_less_rate():
    rates = [float(fiber_key_rate(150e3, 0.2, 0.0, SYSTEMS[0], t)["key_rate_bps"]) for t in (10, 100, 1e3, 1e4, 1e5)]
    assert np.all(np.diff(rates) >= 0) and rates[-1] > 0


def test_transmittance_and_plob():
    assert fiber_transmittance(100e3, 0.2, 0.0) == pytest.approx(0.01)
    assert fiber_transmittance(0.0, 0.2, 3.0) == pytest.approx(10 ** -0.3)
    eta = 1e-6
    assert plob_rate_bps(eta, 1e9) == pytest.approx(1e9 * eta / np.log(2), rel=1e-6)


def test_far_link_has_no_key():
    r = fiber_key_rate(600e3, 0.2, 0.0, SYSTEMS[0], 3600.0)
    assert r["key_rate_bps"] == 0 and r["status"] != 0


def test_one_decoy_system_differs_from_three_intensity_system_only_by_its_analysis():
    # Same hardware; the one-decoy link ends where its Z statistics run out, and its
    # short-distance rate stays within a factor of two of the three-intensity one.
    one = SYSTEMS[3]
    three = FiberSystem(name="three", detector_efficiency=0.6, protocol=one.protocol)
    r1 = fiber_key_rate(LENGTHS_M, 0.16, 0.0, one, 3600.0)
    r3 = fiber_key_rate(LENGTHS_M, 0.16, 0.0, three, 3600.0)
    assert 0.5 < r1["key_rate_bps"][1] / r3["key_rate_bps"][1] < 2.0
    assert np.all(r1["plob_bps"] == r3["plob_bps"])
    assert set(np.unique(r1["status"])) <= {0, 1, 2, 3}
