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


def pass_steps(grid: TimeGrid, records: PassRecords):
    """(pass index, grid index k) of every step inside every pass, in pass order."""
    eps = 1e-6
    k0 = np.ceil(records.t_rise / grid.step_s - eps).astype(np.int64)
    k1 = np.floor(records.t_set / grid.step_s + eps).astype(np.int64)
    counts = np.maximum(k1 - k0 + 1, 0)
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
    # Passes are ordered by satellite (PassRecords.order), so each satellite's steps are
    # one contiguous slice.
    if np.any(np.diff(records.sat) < 0):
        raise ValueError("pass records must be ordered by satellite (PassRecords.order)")
    bounds = np.searchsorted(records.sat[p], np.arange(len(propagator.satrecs) + 1))
    out = {name: np.empty(len(p)) for name in ("azimuth_rad", "elevation_rad", "range_m", "range_rate_m_s")}
    sat_itrs = np.empty((len(p), 3))
    for s in range(len(propagator.satrecs)):
        a, b = bounds[s], bounds[s + 1]
        if a == b:
            continue
        ks, inverse = np.unique(k[a:b], return_inverse=True)
        pos = np.searchsorted(k_all, ks)
        jd, fr = grid.utc_parts(t_all[pos])
        _, r, v = propagator.one(s, jd, fr)
        theta = theta_all[pos]
        sta = records.sta[p[a:b]]
        values = propagator.topocentric(r, v, theta, omega, inverse, sta, stations_itrs_m, stations_latlon_rad)
        for name, value in zip(out, values):
            out[name][a:b] = value
        sat_itrs[a:b] = propagator.itrs_positions(r, v, theta, omega)[inverse]
    sta = records.sta[p]
    out.update(sky_terms(sun_all[k_index], moon_all[k_index], sat_itrs, stations_itrs_m[sta], ups[sta]))
    out["pass_index"], out["k"] = p, k
    return out
