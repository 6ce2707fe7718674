"""Scheduling policies, weather correlation, repeater chains and purification."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qsat.network.entanglement import purify, repeater_chain, tail_pairs
from qsat.network.schedule import schedule
from qsat.network.weather import correlation_matrix, great_circle_m, sample_clear


def _items(rows):
    return pd.DataFrame([{"satellite": s, "stations": st, "start_s": a, "end_s": b, "key_bits": k}
                         for s, st, a, b, k in rows])


def test_max_key_picks_the_better_of_two_overlapping_passes():
    out = schedule(_items([("S", ("A",), 0, 100, 5.0), ("S", ("B",), 50, 150, 9.0), ("S", ("A",), 500, 600, 1.0)]),
                   "max-key")
    assert list(out["selected"]) == [False, True, True]
    assert "satellite busy" in out["reason"][0]


def test_two_terminals_serve_both():
    out = schedule(_items([("S", ("A",), 0, 100, 5.0), ("S", ("B",), 50, 150, 9.0)]), "max-key",
                   satellite_terminals=2)
    assert out["selected"].all()


def test_station_busy_with_two_satellites():
    out = schedule(_items([("S1", ("A",), 0, 100, 5.0), ("S2", ("A",), 50, 150, 3.0)]), "max-key")
    assert list(out["selected"]) == [True, False] and "station busy" in out["reason"][1]


def test_round_robin_takes_turns():
    rows = [("S", ("A",), d * 1000, d * 1000 + 100, 10.0) for d in range(4)]
    rows += [("S", ("B",), d * 1000 + 50, d * 1000 + 150, 5.0) for d in range(4)]
    rr = schedule(_items(rows), "round-robin")
    mk = schedule(_items(rows), "max-key")
    served_rr = rr[rr["selected"]]["stations"].map(lambda s: s[0]).value_counts()
    served_mk = mk[mk["selected"]]["stations"].map(lambda s: s[0]).value_counts()
    assert served_rr["A"] == 2 and served_rr["B"] == 2
    assert served_mk.get("B", 0) == 0


def test_demand_weighted_prefers_station_with_demand():
    rows = [("S", ("A",), 0, 100, 10.0), ("S", ("B",), 50, 150, 8.0)]
    out = schedule(_items(rows), "demand-weighted", station_weight={"A": 0.0, "B": 1.0})
    assert list(out["selected"]) == [False, True]


def test_dual_downlink_item_uses_both_stations():
    rows = [("S", ("A", "B"), 0, 100, 10.0), ("T", ("B",), 50, 150, 3.0), ("T", ("C",), 60, 90, 1.0)]
    out = schedule(_items(rows), "max-key")
    assert list(out["selected"]) == [True, False, True]


def test_weather_correlation_with_distance():
    lat, lon = np.array([40.0, 40.0, 40.0]), np.array([0.0, 0.5, 60.0])
    d = great_circle_m(lat, lon)
    assert d[0, 1] == pytest.approx(42.6e3, rel=0.01)  # 0.5 deg of longitude at 40 deg N
    corr = correlation_matrix(lat, lon, 300e3)
    trials = 600
    st = np.array([0, 1, 2])
    clear = sample_clear(5, trials, st, np.zeros(3, int), np.full(3, 0.5), corr)
    same_near = np.mean(clear[:, 0] == clear[:, 1])
    same_far = np.mean(clear[:, 0] == clear[:, 2])
    # Sheppard's formula: P(two standard normals with correlation rho share a sign) = 1 - arccos(rho)/pi
    expected = 1.0 - np.arccos(corr[0, 1]) / np.pi
    assert abs(same_near - expected) < 4 * np.sqrt(expected * (1 - expected) / trials)
    assert same_near > 0.8 and abs(same_far - 0.5) < 0.1
    independent = sample_clear(5, trials, st, np.zeros(3, int), np.full(3, 0.5), np.eye(3))
    assert abs(np.mean(independent[:, 0] == independent[:, 1]) - 0.5) < 0.1


def test_purification_raises_fidelity_and_costs_pairs():
    f, y = purify(0.8, 2)
    assert 0.8 < f < 1.0 and 0 < y < 0.25
    f_low, _ = purify(0.45, 1)
    assert f_low < 0.45  # below 1/2 the recurrence does not help


def test_repeater_chain_behaviour():
    kw = dict(mode_rate_hz=1e9, multiplexed_modes=100, detector_efficiency=0.9, memory_efficiency=0.9,
              coherence_time_s=10.0, swap_success=0.5, initial_fidelity=0.99)
    far = repeater_chain(1000e3, 0.2, 8, **kw)
    assert far["pair_rate_hz"] > far["direct_fiber_pair_rate_hz"]  # repeaters win at 1000 km
    near = repeater_chain(20e3, 0.2, 2, **kw)
    assert near["direct_fiber_pair_rate_hz"] > near["pair_rate_hz"]
    assert repeater_chain(1000e3, 0.2, 16, **kw)["fidelity"] < far["fidelity"]
    short_memory = repeater_chain(1000e3, 0.2, 8, **{**kw, "coherence_time_s": 1e-3})
    assert short_memory["fidelity"] < far["fidelity"]
    assert short_memory["pair_rate_hz"] == pytest.approx(far["pair_rate_hz"])
    assert 0.25 <= float(far["fidelity"]) <= 1.0


def test_tails():
    assert tail_pairs(1000.0, 0.5, 0.1) == pytest.approx(50.0)


def test_chain_key_rate_from_werner_qber():
    kw = dict(mode_rate_hz=1e9, multiplexed_modes=100, detector_efficiency=0.9, memory_efficiency=0.9,
              coherence_time_s=1e9, swap_success=0.5)
    perfect = repeater_chain(600e3, 0.2, 4, initial_fidelity=1.0, **kw)
    assert perfect["key_rate_bps"] == pytest.approx(0.5 * perfect["pair_rate_hz"], rel=1e-6)
    noisy = repeater_chain(600e3, 0.2, 4, initial_fidelity=0.97, **kw)
    assert 0 < noisy["key_rate_bps"] < 0.5 * noisy["pair_rate_hz"]
    assert repeater_chain(600e3, 0.2, 16, initial_fidelity=0.97, **kw)["key_rate_bps"] == 0.0  # w0^16 too low
