"""The budget stage on synthetic passes: budgets add up, weather statistics, reports."""

from __future__ import annotations

import numpy as np
import pytest

from qsat.network.config import NetworkConfig
from qsat.network.stage import compute_budget

NET = {
    "nodes": [{"name": "Beijing", "kind": "user"}, {"name": "Vienna", "kind": "user"},
              {"name": "Island", "kind": "user"}, {"name": "Lone", "kind": "user"}],
    "fiber_links": [{"a": "Xinglong", "b": "Beijing", "length": "100 km"},
                    {"a": "Graz", "b": "Vienna", "length": "50 km", "key_rate": "1 kbit/s"}],
    "demands": [{"a": "Beijing", "b": "Vienna", "rate": "200 kbit/d"},
                {"a": "Island", "b": "Lone", "rate": 1.0}],
}


def _budget(passes, stations, start, **overrides):
    names, latlon = stations
    net = NetworkConfig.model_validate({**NET, **overrides})
    warnings = []
    ds, table = compute_budget(net, passes, start=start, duration_s=3 * 86400.0, station_names=names,
                               station_latlon_deg=latlon, satellite_names=["Micius"], seed=11,
                               warn=warnings.append)
    return ds, table, warnings


def test_budgets_add_up(passes_3days, stations, start):
    ds, table, _ = _budget(passes_3days, stations, start,
                           weather={"trials": 16, "clear_sky": {"Xinglong": [0.5] * 12, "Nanshan": [0.7] * 12,
                                                                 "Graz": [0.3] * 12}})
    items = ds["item_delivered_bits"].sum("item")
    daily = ds["station_key_bits_daily"].sum(("day", "station"))
    monthly = ds["station_key_bits_monthly"].sum(("month", "station"))
    total = ds["station_key_bits_total"].sum("station")
    yearly = ds["station_key_bits_yearly"].sum(("year", "station"))
    assert np.allclose(items, daily) and np.allclose(daily, monthly) and np.allclose(monthly, total)
    assert np.allclose(yearly, total)
    assert ds.sizes["month"] == 2  # 30 Jan - 1 Feb
    sat = ds["link_kind"] == "satellite"
    assert np.allclose(ds["link_generated_bits"].where(sat, 0).sum(("interval", "link")), items)
    assert np.allclose(ds["link_generated_bits_monthly"].sum("month"), ds["link_generated_bits_total"])
    # stores: inventory = generated - spent, cumulatively
    inv = (ds["link_generated_bits"] - ds["link_spent_bits"]).cumsum("interval")
    assert np.allclose(inv, ds["link_inventory_bits"])
    # pairs: delivered + unmet = demand; delivered <= capacity
    assert np.allclose(ds["pair_delivered_bits"] + ds["pair_unmet_bits"], ds["pair_demand_bits"])
    assert np.all(ds["pair_delivered_bits_total"] <= ds["pair_capacity_bits"] + 1e-6)
    assert np.allclose(ds["pair_delivered_bits_monthly"].sum("month"), ds["pair_delivered_bits_total"])
    q = ds["station_key_bits_total_quantiles"]
    assert np.all(q.sel(quantile=0.05) <= q.sel(quantile=0.5)) and np.all(q.sel(quantile=0.5) <= q.sel(quantile=0.95))
    assert set(table.columns) >= {"selected", "reason", "key_bits", "clear_probability"}


def test_disconnected_pair_reported_not_silent(passes_3days, stations, start):
    ds, _, warnings = _budget(passes_3days, stations, start)
    status = dict(zip(ds["pair"].values, ds["pair_status"].values))
    assert status["Beijing-Vienna"] == "connected"
    assert status["Island-Lone"].startswith("disconnected")
    assert not bool(ds["pair_connected"].sel(pair="Island-Lone"))
    assert any("Island-Lone" in w and "disconnected" in w for w in warnings)


def test_satellite_relay_serves_intercontinental_pair(passes_3days, stations, start):
    on, _, _ = _budget(passes_3days, stations, start)
    off, _, _ = _budget(passes_3days, stations, start, satellite_relay=False)
    assert float(on["pair_delivered_bits_total"].sel(pair="Beijing-Vienna", trial=0)) > 0
    assert float(off["pair_delivered_bits_total"].sel(pair="Beijing-Vienna", trial=0)) == 0
    assert off["pair_status"].sel(pair="Beijing-Vienna").item().startswith("disconnected")


def test_weather_marginals_and_seed(passes_3days, stations, start):
    weather = {"trials": 400, "clear_sky": {"Xinglong": [0.2] * 12, "Nanshan": [0.9] * 12, "Graz": [0.5] * 12}}
    ds, _, _ = _budget(passes_3days, stations, start, weather=weather)
    clear = ds["item_clear"].values.mean(axis=0)
    p = ds["item_clear_probability"].values
    # 400 Bernoulli trials: 4 standard deviations
    assert np.all(np.abs(clear - p) <= 4 * np.sqrt(p * (1 - p) / 400) + 1e-12)
    again, _, _ = _budget(passes_3days, stations, start, weather=weather)
    assert np.array_equal(again["item_clear"].values, ds["item_clear"].values)
    # fewer passes: the remaining passes keep their weather (draws keyed by window and station)
    sub, _, _ = _budget(passes_3days.iloc[::2].reset_index(drop=True), stations, start, weather=weather)
    assert np.array_equal(sub["item_clear"].values, ds["item_clear"].values[:, ::2])


def test_missing_climatology_is_an_error_unless_allowed(passes_3days, stations, start):
    from qsat.errors import QsatInputError

    with pytest.raises(QsatInputError, match="Nanshan"):
        _budget(passes_3days, stations, start, weather={"trials": 2})
    _, _, warnings = _budget(passes_3days, stations, start, weather={"trials": 2, "missing": "clear"})
    assert any("Nanshan" in w and "always clear" in w for w in warnings)


def test_dual_downlink_pairs_and_fiber_tails(passes_3days, stations, start):
    import pandas as pd

    ent = pd.DataFrame([{"pass_a": 0, "pass_b": 2, "station_a": "Xinglong", "station_b": "Graz", "satellite": "Micius",
                         "secret_key_bits": 1000, "secret_key_bits_asymptotic": 1200, "entangled_pairs": 5000.0,
                         "fidelity": 0.95}])
    names, latlon = stations
    net = NetworkConfig.model_validate(NET)
    ds, table = compute_budget(net, passes_3days, start=start, duration_s=3 * 86400.0, station_names=names,
                               station_latlon_deg=latlon, satellite_names=["Micius"], entanglement=ent)
    assert list(ds["link_kind"].values[-1:]) == ["entanglement"]
    assert float(ds["entangled_pairs_daily"].sum()) == pytest.approx(5000.0)
    assert float(ds["item_fidelity"][0]) == 0.95
    # Beijing: 100 km at 0.2 dB/km from Xinglong (eta 0.01); Vienna: 50 km from Graz (eta 0.1)
    got = float(ds["pair_entangled_pairs_total"].sel(pair="Beijing-Vienna", trial=0))
    assert got == pytest.approx(5000.0 * 0.01 * 0.1)
    assert float(ds["station_key_bits_total"].sel(station="Graz", trial=0)) == 1000
    assert float(ds["pair_delivered_bits_total"].sel(pair="Beijing-Vienna", trial=0)) > 0


def test_repeater_chain_is_a_key_link(passes_3days, stations, start):
    chain = {"a": "Island", "b": "Lone", "length": "800 km", "segments": 8, "coherence_time": "10 s"}
    ds, _, warnings = _budget(passes_3days, stations, start, repeater_chains=[chain])
    assert "repeater" in list(ds["link_kind"].values)
    rate = float(ds["chain_key_rate_bps"][0])
    assert 0 < rate <= 0.5 * float(ds["chain_pair_rate_hz"][0])
    assert ds["pair_status"].sel(pair="Island-Lone").item() == "connected"
    demand = float(ds["pair_demand_bits"].sel(pair="Island-Lone").sum())
    got = float(ds["pair_delivered_bits_total"].sel(pair="Island-Lone", trial=0))
    assert got == pytest.approx(min(demand, rate * 3 * 86400.0))


def test_node_named_like_a_satellite_is_an_error(passes_3days, stations, start):
    from qsat.errors import QsatInputError

    with pytest.raises(QsatInputError, match=r"network.nodes\[4\].name: Micius"):
        _budget(passes_3days, stations, start, nodes=NET["nodes"] + [{"name": "Micius"}])


def test_weather_without_demands_gives_empty_pair_quantiles(passes_3days, stations, start):
    """Regression: quantiles over an empty pair dimension used to raise inside xarray."""
    weather = {"trials": 5, "clear_sky": {"Xinglong": [0.5] * 12, "Nanshan": [0.5] * 12, "Graz": [0.5] * 12}}
    ds, _, _ = _budget(passes_3days, stations, start, weather=weather, demands=[])
    assert ds["pair_delivered_bits_total_quantiles"].shape == (3, 0)
    assert np.isfinite(ds["station_key_bits_total_quantiles"].values).all()
