"""Streaming in time: the same passes and geometry for any block size and any grouping of passes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from qsat.orbits import batch, stage
from qsat.orbits.propagate import Propagator
from qsat.orbits.stage import compute_passes, plan
from qsat.orbits.timebase import TimeGrid
from qsat.scenario import loads

from .orbitsets import START, STATIONS, walker
from .scenarios import iss_two_stations

BLOCK_EDGE_S = 3600.0


@pytest.fixture(scope="module")
def scenario():
    return loads(iss_two_stations(duration="2 d", step="10 s", mask=10))


@pytest.fixture(scope="module")
def whole(scenario):
    return compute_passes(scenario, block_s=1e9)


@pytest.mark.parametrize("block_s", [BLOCK_EDGE_S, 6 * 3600.0, 86400.0])
def test_tables_and_geometry_identical_for_any_block_size(scenario, whole, block_s):
    blocked = compute_passes(scenario, block_s=block_s)
    pd.testing.assert_frame_equal(blocked.passes, whole.passes)
    xr.testing.assert_identical(blocked.geometry, whole.geometry)


def test_passes_across_block_edges_are_found_once(whole):
    rise = pd.to_datetime(whole.passes["rise_utc"].str.rstrip("Z"))
    set_ = pd.to_datetime(whole.passes["set_utc"].str.rstrip("Z"))
    start = pd.Timestamp(START.replace(tzinfo=None))
    edge_r = np.floor((rise - start).dt.total_seconds() / BLOCK_EDGE_S)
    edge_s = np.floor((set_ - start).dt.total_seconds() / BLOCK_EDGE_S)
    assert (edge_s > edge_r).sum() >= 2  # some passes straddle a 1 h block edge ...
    key = whole.passes[["satellite", "station", "rise_utc"]]
    assert not key.duplicated().any()  # ... and each is reported once


def test_constellation_records_independent_of_blocks_and_halo():
    sats = walker(6, 3)
    grid = TimeGrid.from_window(START, 86400.0, 1.0)
    st_itrs = np.array([s.itrs_m() for s in STATIONS])
    st_latlon = np.array([s.latlon_rad for s in STATIONS])
    mask = np.radians(10.0)
    screen = batch.screen_plan(sats, mask)
    prop = Propagator(sats, "numpy")
    ref, _ = batch.find_passes(grid, prop, st_itrs, st_latlon, mask, screen.step_s)
    assert len(ref) > 20
    # A 1 s halo is far too short: every block is redone with a wider one, the result unchanged.
    for block_s, halo_s in [(1800.0, screen.max_pass_s), (7200.0, 1.0), (600.0, screen.max_pass_s)]:
        got, _ = batch.find_passes(grid, prop, st_itrs, st_latlon, mask, screen.step_s, block_s=block_s,
                                   halo_s=halo_s)
        for f in batch.PassRecords.__dataclass_fields__:
            np.testing.assert_array_equal(getattr(got, f), getattr(ref, f), err_msg=f"{f} at block {block_s} s")


def test_streamed_blocks_reassemble_the_whole(scenario, whole, monkeypatch):
    monkeypatch.setattr(stage, "STEPS_PER_GROUP", 50)  # many small groups of passes
    parts = list(plan(scenario).blocks())
    assert len(parts) > 3
    table = pd.concat([t for t, _ in parts], ignore_index=True)
    pd.testing.assert_frame_equal(table, whole.passes)
    for t, ds in parts:
        ref = whole.geometry.sel({"pass": t["pass_id"].to_numpy()}).isel(step=slice(0, ds.sizes["step"]))
        assert whole.geometry.valid.sel({"pass": t["pass_id"].to_numpy()}).sum() == ds.valid.sum()
        for name in ("elevation_deg", "slant_range_m", "sun_altitude_deg", "moon_separation_deg", "sunlit"):
            np.testing.assert_array_equal(ds[name].values, ref[name].values)


@pytest.mark.parametrize("step_s, end_s", [(300.0, 86400.0), (300.0, 86399.5), (0.1, 7.05), (7.0, 7.0)])
def test_screen_grid_samples(step_s, end_s):
    grid = batch.ScreenGrid(step_s, end_s)
    expected = np.unique(np.append(np.arange(0.0, end_s, step_s), end_s))
    assert len(grid) == len(expected)
    np.testing.assert_array_equal(grid.times(0, len(grid)), expected)
    np.testing.assert_array_equal(grid.times(1, min(3, len(grid))), expected[1:3])
    for t in expected[:-1]:
        assert grid.first_at_or_after(t) == int(np.searchsorted(expected, t))
        assert grid.first_at_or_after(t + 1e-6) == int(np.searchsorted(expected, t + 1e-6))
