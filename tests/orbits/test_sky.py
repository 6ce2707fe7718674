"""Sun and Moon on coarse nodes: interpolation error against Skyfield at the worst instants."""

from __future__ import annotations

import numpy as np
import pytest

from qsat.orbits.sky import NODE_STEP_S, SkyTable
from qsat.orbits.timebase import TimeGrid, planets

from .orbitsets import START

#: Stated in qsat/orbits/sky.py: linear interpolation between 600 s nodes errs by under 1e-6 rad
#: for the Moon (0.09 deg per interval; chord sagitta ~ angle^2 / 8) and far less for the Sun.
MOON_TOL_RAD = 1e-6
SUN_TOL_RAD = 1e-8


def _angle(a, b):
    cross = np.linalg.norm(np.cross(a, b), axis=-1)
    return np.arctan2(cross, np.einsum("...i,...i->...", a, b))


def test_interpolation_error_at_mid_nodes():
    from skyfield.sgp4lib import TEME

    grid = TimeGrid.from_window(START, 30 * 86400.0, 1.0)
    table = SkyTable.for_grid(grid)
    # Midway between nodes, where linear interpolation errs most; 30 days span the Moon's
    # perigee and apogee (its fastest and slowest motion).
    t = (np.arange(0, 30 * 144) + 0.5) * NODE_STEP_S
    eph = planets()
    at = eph["earth"].at(grid.skyfield_time(t))
    sun = at.observe(eph["sun"]).apparent().frame_xyz(TEME).m.T
    moon = at.observe(eph["moon"]).apparent().frame_xyz(TEME).m.T
    err_sun = _angle(table._interp(table.sun_teme_m, t), sun)
    err_moon = _angle(table._interp(table.moon_teme_m, t), moon)
    assert err_sun.max() < SUN_TOL_RAD
    assert 1e-9 < err_moon.max() < MOON_TOL_RAD  # nonzero: the check does compare interpolated values
    # Distance is interpolated too: the Moon's by under 1 km (of ~384,000).
    assert np.abs(np.linalg.norm(table._interp(table.moon_teme_m, t), axis=1) - np.linalg.norm(moon, axis=1)).max() < 1e3


def test_nodes_identical_whatever_span_asked_for_them():
    grid = TimeGrid.from_window(START, 5 * 86400.0, 1.0)
    whole = SkyTable.for_grid(grid)
    part = SkyTable.for_span(grid, 1.3 * 86400.0, 2.9 * 86400.0)
    idx = np.searchsorted(whole.nodes_s, part.nodes_s)
    np.testing.assert_array_equal(whole.nodes_s[idx], part.nodes_s)
    np.testing.assert_array_equal(whole.sun_teme_m[idx], part.sun_teme_m)
    np.testing.assert_array_equal(whole.moon_teme_m[idx], part.moon_teme_m)
    assert part.nodes_s[0] <= 1.3 * 86400.0 and part.nodes_s[-1] >= 2.9 * 86400.0


def test_ephemeris_loads_quietly_from_many_threads_at_once():
    """Threads of an in-process Dask worker load DE421 together: skyfield-data's warning about its
    own (unused) Earth-orientation file must stay silenced in each, with warnings as errors."""
    import threading
    import warnings

    from qsat.orbits import timebase

    timebase._planets.cache_clear()
    failures, start = [], threading.Barrier(8)

    def load():
        start.wait()
        try:
            for _ in range(20):
                timebase._planets.cache_clear()
                assert timebase.planets() is not None
        except Exception as exc:  # noqa: BLE001 - any failure in a thread is the test's failure
            failures.append(exc)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        threads = [threading.Thread(target=load) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not failures, failures[:3]


@pytest.mark.parametrize("dense", [False, True])
def test_step_slices_change_no_value(monkeypatch, dense):
    """The Sun, Moon and shadow terms are computed in slices of steps: any slice size gives the
    same arrays, with the altitudes per step or tabulated per (instant, station) (``dense``: each
    pass repeated, so steps outnumber instants x stations)."""
    from qsat.orbits import steps as step_mod
    from qsat.orbits.stage import plan
    from qsat.scenario import loads

    from .scenarios import iss_two_stations

    job = plan(loads(iss_two_stations(duration="1 d", step="1 s", mask=10)))
    propagator = job.propagator()
    records = job.find(propagator)
    assert len(records) >= 4
    if dense:
        records = records.take(np.repeat(np.arange(len(records)), 8))
    sky = SkyTable.for_span(job.grid, float(records.t_rise.min()), float(records.t_set.max()))

    def steps():
        return step_mod.batched_steps(job.grid, propagator, job.stations_itrs_m, job.stations_latlon_rad,
                                      records, sky)

    whole = steps()
    assert len(whole["k"]) < step_mod.SLICE_STEPS
    assert (len(np.unique(whole["k"])) * len(job.stations_itrs_m) < len(whole["k"])) == dense
    monkeypatch.setattr(step_mod, "SLICE_STEPS", 97)  # many slices, the last one partial
    sliced = steps()
    for name in ("sun_altitude_deg", "moon_altitude_deg", "moon_separation_deg", "sunlit"):
        np.testing.assert_array_equal(sliced[name], whole[name], err_msg=name)
    for name in ("sun_altitude_deg", "moon_altitude_deg", "moon_separation_deg"):
        assert np.isfinite(whole[name]).all() and np.ptp(whole[name]) > 1.0, name
