"""Per-step geometry inside passes for the batched engine, and the Sun/Moon terms.

Steps are the scenario grid points ``k * step`` between each pass's rise and set.
Each satellite is propagated once over the union of its steps (passes over nearby
stations share times), then paired with each pass's station.
"""

from __future__ import annotations

import numpy as np

from .batch import PassRecords
from .propagate import Propagator
from .sky import SkyTable, altitude_deg, separation_deg, sunlit, up_vector
from .timebase import TimeGrid


def _step_range(grid: TimeGrid, records: PassRecords):
    """First grid index and number of grid steps inside each pass."""
    eps = 1e-6
    k0 = np.ceil(records.t_rise / grid.step_s - eps).astype(np.int64)
    k1 = np.floor(records.t_set / grid.step_s + eps).astype(np.int64)
    return k0, np.maximum(k1 - k0 + 1, 0)


def step_counts(grid: TimeGrid, records: PassRecords) -> np.ndarray:
    """Number of grid steps inside each pass (without computing them)."""
    return _step_range(grid, records)[1]


def pass_steps(grid: TimeGrid, records: PassRecords):
    """(pass index, grid index k) of every step inside every pass, in pass order."""
    k0, counts = _step_range(grid, records)
    p = np.repeat(np.arange(len(records)), counts)
    starts = np.cumsum(counts) - counts
    k = k0[p] + (np.arange(counts.sum()) - starts[p])
    return p, k


def sky_terms(sun_itrs_m, moon_itrs_m, sat_itrs_m, st_itrs_m, st_up):
    """Sun and Moon altitude at the station, Moon–line-of-sight separation, sunlit flag."""
    return {
        "sun_altitude_deg": altitude_deg(sun_itrs_m, st_itrs_m, st_up),
        "moon_altitude_deg": altitude_deg(moon_itrs_m, st_itrs_m, st_up),
        "moon_separation_deg": separation_deg(moon_itrs_m - st_itrs_m, sat_itrs_m - st_itrs_m),
        "sunlit": sunlit(sat_itrs_m, sun_itrs_m),
    }


def batched_steps(grid: TimeGrid, propagator: Propagator, stations_itrs_m, stations_latlon_rad,
                  records: PassRecords, sky: SkyTable) -> dict:
    """Flat per-step arrays for every pass (see :func:`qsat.orbits.products.build`)."""
    p, k = pass_steps(grid, records)
    ups = up_vector(stations_latlon_rad[:, 0], stations_latlon_rad[:, 1])
    # Sun and Moon depend on time only: once per distinct instant, shared by all passes.
    k_all, k_index = np.unique(k, return_inverse=True)
    t_all = grid.seconds(k_all)
    theta_all, omega = grid.gmst(t_all)
    sun_all, moon_all = sky.sun(t_all, theta_all), sky.moon(t_all, theta_all)
    # Each satellite's steps as one contiguous slice (stable: pass order kept within a satellite).
    by_sat = np.argsort(records.sat[p], kind="stable")
    sat_sorted = records.sat[p][by_sat]
    bounds = np.searchsorted(sat_sorted, np.arange(len(propagator.satrecs) + 1))
    out = {name: np.empty(len(p)) for name in ("azimuth_rad", "elevation_rad", "range_m", "range_rate_m_s")}
    sat_itrs = np.empty((len(p), 3))
    for s in range(len(propagator.satrecs)):
        a, b = bounds[s], bounds[s + 1]
        if a == b:
            continue
        rows = by_sat[a:b]
        ks, inverse = np.unique(k[rows], return_inverse=True)
        pos = np.searchsorted(k_all, ks)
        jd, fr = grid.utc_parts(t_all[pos])
        _, r, v = propagator.one(s, jd, fr)
        theta = theta_all[pos]
        values = propagator.topocentric(r, v, theta, omega, inverse, records.sta[p[rows]], stations_itrs_m,
                                        stations_latlon_rad)
        for name, value in zip(out, values):
            out[name][rows] = value
        sat_itrs[rows] = propagator.itrs_positions(r, v, theta, omega)[inverse]
    sta = records.sta[p]
    out.update(sky_terms(sun_all[k_index], moon_all[k_index], sat_itrs, stations_itrs_m[sta], ups[sta]))
    out["pass_index"], out["k"] = p, k
    return out


def concat(parts: list[dict], sizes) -> dict:
    """Flat per-step arrays of consecutive groups of ``sizes`` passes, as if computed together."""
    if len(parts) == 1:
        return parts[0]
    out = {}
    offsets = np.cumsum([0, *sizes[:-1]])
    for name in parts[0]:
        values = [p[name] + off if name == "pass_index" else p[name] for p, off in zip(parts, offsets)]
        out[name] = np.concatenate(values)
    return out
