"""The supply replayed from a real budget product: totals, pass times, fiber ramps, trials."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from qsat.errors import QsatInputError
from qsat.kme.supply import load_supply

from .conftest import SCENARIO


@pytest.fixture(scope="module")
def budget(products):
    return xr.load_dataset(products, engine="h5netcdf")


def test_every_interval_ends_with_the_budgets_delivered_key(supply, budget):
    settle = supply.settle_interval_s
    for k, label in enumerate(budget["pair"].values):
        pair = supply.pairs[str(label)]
        delivered = budget["pair_delivered_bits"].values[supply.trial, :, k]
        ends = settle * np.arange(1, len(delivered) + 1)
        # just before each interval's end (a step at the next interval's start may follow at it)
        got = np.array([pair.bits_at(t - 1e-6) for t in ends])
        np.testing.assert_allclose(got, np.cumsum(delivered), rtol=0, atol=1e-2)  # 1 us of a fiber ramp
        assert np.all(np.diff(pair.cumulative_bits) >= 0) and np.all(np.diff(pair.times_s) >= 0)
        assert pair.total_bits > 0


def test_satellite_key_arrives_when_a_pass_ends(supply, products):
    """Where the supply jumps inside an interval, it jumps at the end of a scheduled pass."""
    schedule = pd.read_csv(products.with_name("budget.schedule.csv"))
    ends = set(schedule.loc[schedule["selected"], "end_s"].round(3))
    settle = supply.settle_interval_s
    jumps = 0
    for label in ("Beijing-Vienna", "Urumqi-Vienna"):
        pair = supply.pairs[label]
        for i in np.nonzero(np.diff(pair.times_s) == 0)[0]:
            t, rise = pair.times_s[i], pair.cumulative_bits[i + 1] - pair.cumulative_bits[i]
            if rise <= 0 or math.isclose(t % settle, 0.0, abs_tol=1e-6):
                continue  # a step at an interval's start: key already in the stores
            assert round(t, 3) in ends, (label, t)
            jumps += 1
    assert jumps >= 1


def test_fiber_key_arrives_continuously(supply, budget):
    """Tianjin-Beijing runs over two fiber links only: in the first interval (empty stores) the
    supply is the slower link's rate times the elapsed time, until the budget's delivered key."""
    rates = budget["link_key_rate_bps"].sel(link=["Tianjin-Xinglong", "Xinglong-Beijing"]).values
    pair = supply.pairs["Tianjin-Beijing"]
    delivered = float(budget["pair_delivered_bits"].sel(pair="Tianjin-Beijing").values[supply.trial, 0])
    crossing = delivered / rates.min()
    assert 0 < crossing < supply.settle_interval_s
    for t in (0.1 * crossing, 0.5 * crossing, 0.99 * crossing):
        assert pair.bits_at(t) == pytest.approx(rates.min() * t, rel=1e-6)
    assert pair.bits_at(1.01 * crossing) == pytest.approx(delivered, rel=1e-9)


def test_a_weather_trial_is_a_choice_and_the_default_is_the_median(products, budget):
    totals = budget["pair_delivered_bits"].sum(("interval", "pair")).values
    default = load_supply(products, SCENARIO)
    assert totals[default.trial] == pytest.approx(np.median(totals), abs=np.ptp(totals) / 2)
    cloudy = int(np.argmin(totals))
    other = load_supply(products, SCENARIO, trial=cloudy)
    assert sum(p.total_bits for p in other.pairs.values()) == pytest.approx(totals[cloudy], abs=1e-6)
    with pytest.raises(QsatInputError, match=r"--trial: 99; expected a weather trial"):
        load_supply(products, SCENARIO, trial=99)


def test_the_scenario_must_be_the_budgets(products, tmp_path):
    other = tmp_path / "other.toml"
    other.write_text(SCENARIO.read_text().replace('rate = "2 Mbit/d"', 'rate = "3 Mbit/d"'))
    with pytest.raises(QsatInputError, match=r"--scenario: .*other.toml; expected the scenario budget.nc was made"):
        load_supply(products, other)
    lonely = tmp_path / "lonely" / "budget.nc"
    lonely.parent.mkdir()
    lonely.write_bytes(products.read_bytes())
    with pytest.raises(QsatInputError, match="no schedule table beside it"):
        load_supply(lonely, SCENARIO)
