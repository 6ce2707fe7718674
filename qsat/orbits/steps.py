"""Per-step geometry inside passes for the batched engine, and the Sun/Moon terms.

Steps are the scenario grid points ``k * step`` between each pass's rise and set.
Every step is one (satellite, instant) propagation, all in one call.
"""

from __future__ import annotations

import numpy as np

from ..backend import to_numpy
from .batch import PassRecords
from .propagate import Propagator
from .sky import SkyTable, _rotate_z, altitude_deg, separation_deg, sunlit, unit, up_vector
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


def _distinct(k: np.ndarray):
    """(sorted distinct values of ``k``, index of each element in them): a dense range when the
    steps fill most of their span (no sort), else ``np.unique``."""
    if not len(k):
        return k, k
    k_min, k_max = int(k.min()), int(k.max())
    if k_max - k_min + 1 <= 4 * len(k):
        return np.arange(k_min, k_max + 1, dtype=k.dtype), k - k_min
    return np.unique(k, return_inverse=True)


def _columns(table: np.ndarray, rows: np.ndarray):
    """Rows ``rows`` of a small (m, 3) table as (x, y, z) arrays."""
    return tuple(np.take(np.ascontiguousarray(table[:, c]), rows) for c in range(3))


def _minus(a, b):
    return tuple(x - y for x, y in zip(a, b))


def batched_steps(grid: TimeGrid, propagator: Propagator, stations_itrs_m, stations_latlon_rad,
                  records: PassRecords, sky: SkyTable) -> dict:
    """Flat per-step arrays for every pass (see :func:`qsat.orbits.products.build`).

    One propagation and one geometry call for all steps of all passes ((satellite, instant)
    pairs); time-only terms (GMST and its cosine and sine, UTC parts, Sun and Moon) once per
    distinct instant. Vectors are kept as (x, y, z) component arrays: no (n, 3) temporaries.
    """
    p, k = pass_steps(grid, records)
    k_all, k_index = _distinct(k)
    t_all = grid.seconds(k_all)
    theta_all, omega = grid.gmst(t_all)
    jd_all, fr_all = grid.utc_parts(t_all)
    sat, sta = records.sat[p], records.sta[p]
    _, r, v = propagator.pairs(sat, jd_all[k_index], fr_all[k_index])
    names = ("azimuth_rad", "elevation_rad", "range_m", "range_rate_m_s")
    values = propagator.topocentric(r, v, theta_all[k_index], omega, np.arange(len(p)), sta, stations_itrs_m,
                                    stations_latlon_rad)
    out = dict(zip(names, values))
    r = to_numpy(r)
    # TEME -> ITRS (Vallado et al. 2006, eq. C-1), the rotation's cos/sin once per instant.
    cos_all, sin_all = np.cos(theta_all), np.sin(theta_all)
    sun_all, moon_all = sky.sun_moon_itrs(t_all, cos_all, sin_all)
    ct, st = cos_all[k_index], sin_all[k_index]
    sat_itrs = tuple(1000.0 * c for c in _rotate_z((r[:, 0], r[:, 1], r[:, 2]), ct, st))
    del ct, st
    station = _columns(stations_itrs_m, sta)
    to_moon = _minus((c[k_index] for c in moon_all), station)
    # Sun and Moon altitudes depend on (instant, station) only: tabulate them when that is smaller.
    nsta = len(stations_itrs_m)
    ups = up_vector(stations_latlon_rad[:, 0], stations_latlon_rad[:, 1])
    if len(t_all) * nsta < len(p):
        at = np.arange(len(t_all) * nsta)
        i_t, i_s = at // nsta, at % nsta
        sta_t, up_t = _columns(stations_itrs_m, i_s), _columns(ups, i_s)
        cell = k_index * nsta + sta
        sun_alt = altitude_deg(_minus((c[i_t] for c in sun_all), sta_t), up_t)[cell]
        moon_alt = altitude_deg(_minus((c[i_t] for c in moon_all), sta_t), up_t)[cell]
    else:
        up = _columns(ups, sta)
        sun_alt = altitude_deg(_minus((c[k_index] for c in sun_all), station), up)
        moon_alt = altitude_deg(to_moon, up)
    out["sun_altitude_deg"], out["moon_altitude_deg"] = sun_alt, moon_alt
    out["moon_separation_deg"] = separation_deg(to_moon, _minus(sat_itrs, station))
    out["sunlit"] = sunlit(sat_itrs, tuple(c[k_index] for c in unit(sun_all)))
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
