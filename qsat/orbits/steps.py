"""Per-step geometry inside passes for the batched engine, and the Sun/Moon terms.

Steps are the scenario grid points ``k * step`` between each pass's rise and set.
Each satellite is propagated once over the union of its steps (passes over nearby
stations share times), then paired with each pass's station.
"""

from __future__ import annotations

import numpy as np

from .batch import PassRecords
from .geometry import teme_to_itrs, topocentric
from .propagate import propagate_one
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


def sky_terms(sky: SkyTable, t_s, sat_itrs_m, st_itrs_m, st_up):
    """Sun and Moon altitude at the station, Moon–line-of-sight separation, sunlit flag."""
    sun = sky.sun(t_s)
    moon = sky.moon(t_s)
    return {
        "sun_altitude_deg": altitude_deg(sun, st_itrs_m, st_up),
        "moon_altitude_deg": altitude_deg(moon, st_itrs_m, st_up),
        "moon_separation_deg": separation_deg(moon - st_itrs_m, sat_itrs_m - st_itrs_m),
        "sunlit": sunlit(sat_itrs_m, sun),
    }


def batched_steps(grid: TimeGrid, satrecs, stations_itrs_m, stations_latlon_rad,
                  records: PassRecords, sky: SkyTable) -> dict:
    """Flat per-step arrays for every pass (see :func:`qsat.orbits.products.build`)."""
    p, k = pass_steps(grid, records)
    n = len(p)
    out = {name: np.empty(n) for name in ("azimuth_rad", "elevation_rad", "range_m", "range_rate_m_s",
                                          "sun_altitude_deg", "moon_altitude_deg", "moon_separation_deg")}
    out["sunlit"] = np.zeros(n, dtype=bool)
    ups = up_vector(stations_latlon_rad[:, 0], stations_latlon_rad[:, 1])
    sat_of_step = records.sat[p]
    order = np.argsort(sat_of_step, kind="stable")
    bounds = np.searchsorted(sat_of_step[order], np.arange(len(satrecs) + 1))
    for s, satrec in enumerate(satrecs):
        sel = order[bounds[s]:bounds[s + 1]]
        if not len(sel):
            continue
        ks, inverse = np.unique(k[sel], return_inverse=True)
        t_s = grid.seconds(ks)
        jd, fr = grid.utc_parts(t_s)
        _, r, v = propagate_one(satrec, jd, fr)
        theta, omega = grid.gmst(t_s)
        sta = records.sta[p[sel]]
        az, el, rng, rr, _ = topocentric(r, v, theta, omega, inverse, sta, stations_itrs_m, stations_latlon_rad)
        out["azimuth_rad"][sel], out["elevation_rad"][sel] = az, el
        out["range_m"][sel], out["range_rate_m_s"][sel] = rng, rr
        sat_itrs, _ = teme_to_itrs(r[inverse], v[inverse], theta[inverse], omega)
        for name, value in sky_terms(sky, t_s[inverse], sat_itrs, stations_itrs_m[sta], ups[sta]).items():
            out[name][sel] = value
    out["pass_index"], out["k"] = p, k
    return out
