"""Per-step geometry inside passes for the batched engine, and the Sun/Moon terms.

Steps are the scenario grid points ``k * step`` between each pass's rise and set.
Every step is one (satellite, instant) propagation, all in one call.
"""

from __future__ import annotations

import numpy as np

from ..backend import to_numpy
from .batch import PassRecords
from .propagate import Propagator
from .sky import SkyTable, altitude_deg, rotate_z, separation_deg, sunlit, unit, up_vector
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
    # k0 of the pass plus the step's place in it: its flat index minus the pass's first one.
    k = np.repeat(k0 - (np.cumsum(counts) - counts), counts)
    k += np.arange(len(p))
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


#: Steps per slice of the Sun, Moon and shadow terms: their ~30 temporaries of a slice stay in the
#: CPU cache (~0.5 MB each) instead of streaming 1M-step arrays through memory (~2x faster on a
#: 1M-step group); every value is computed element by element, so slicing changes none.
SLICE_STEPS = 1 << 16


def _columns(table: np.ndarray):
    """A small (m, 3) table as three contiguous (m,) columns."""
    return tuple(np.ascontiguousarray(table[:, c]) for c in range(3))


def _take(columns, rows):
    return tuple(np.take(c, rows) for c in columns)


def _minus(a, b):
    return tuple(x - y for x, y in zip(a, b))


def batched_steps(grid: TimeGrid, propagator: Propagator, stations_itrs_m, stations_latlon_rad,
                  records: PassRecords, sky: SkyTable) -> dict:
    """Flat per-step arrays for every pass (see :func:`qsat.orbits.products.build`).

    One propagation and one geometry call for all steps of all passes ((satellite, instant)
    pairs); time-only terms (GMST and its cosine and sine, UTC parts, Sun and Moon) once per
    distinct instant; the Sun, Moon and shadow terms per step in slices (:data:`SLICE_STEPS`).
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
    # TEME -> ITRS (Vallado et al. 2006, eq. C-1), the rotation's cos/sin once per instant.
    cos_all, sin_all = np.cos(theta_all), np.sin(theta_all)
    sun_all, moon_all = sky.sun_moon_itrs(t_all, cos_all, sin_all)
    instants = {"cos": cos_all, "sin": sin_all, "sun": sun_all, "moon": moon_all, "sun_dir": unit(sun_all)}
    ups = up_vector(stations_latlon_rad[:, 0], stations_latlon_rad[:, 1])
    stations = {"itrs": _columns(stations_itrs_m), "up": _columns(ups), "tables": None}
    # Sun and Moon altitudes depend on (instant, station) only: tabulate them when that is smaller.
    nsta = len(stations_itrs_m)
    if len(t_all) * nsta < len(p):
        i_s = np.tile(np.arange(nsta), len(t_all))
        i_t = np.repeat(np.arange(len(t_all)), nsta)
        sta_t, up_t = _take(stations["itrs"], i_s), _take(stations["up"], i_s)
        stations["tables"] = tuple(altitude_deg(_minus((c[i_t] for c in body), sta_t), up_t)
                                   for body in (sun_all, moon_all))
    sky_out = {name: np.empty(len(p)) for name in ("sun_altitude_deg", "moon_altitude_deg", "moon_separation_deg")}
    sky_out["sunlit"] = np.empty(len(p), dtype=bool)
    r = to_numpy(r)
    for start in range(0, len(p), SLICE_STEPS):
        rows = slice(start, start + SLICE_STEPS)
        _sky_slice(r[rows], k_index[rows], sta[rows], instants, stations, {n: a[rows] for n, a in sky_out.items()})
    out.update(sky_out)
    out["pass_index"], out["k"] = p, k
    return out


def _sky_slice(r_km, ki, sta, instants, stations, out) -> None:
    """Sun and Moon altitudes, Moon separation and sunlit of one slice of steps, into ``out``.

    ``r_km``: TEME satellite positions; ``ki``: each step's instant (index into ``instants``'
    arrays); ``sta``: its station; ``stations``: their ITRS positions, zeniths and, if tabulated,
    the (instant, station) altitude tables.
    """
    cos_t, sin_t = instants["cos"][ki], instants["sin"][ki]
    sat_itrs = tuple(1000.0 * c for c in rotate_z((r_km[:, 0], r_km[:, 1], r_km[:, 2]), cos_t, sin_t))
    station = _take(stations["itrs"], sta)
    to_moon = _minus((c[ki] for c in instants["moon"]), station)
    if stations["tables"] is None:
        up = _take(stations["up"], sta)
        out["sun_altitude_deg"][:] = altitude_deg(_minus((c[ki] for c in instants["sun"]), station), up)
        out["moon_altitude_deg"][:] = altitude_deg(to_moon, up)
    else:
        cell = ki * len(stations["itrs"][0]) + sta
        np.take(stations["tables"][0], cell, out=out["sun_altitude_deg"])
        np.take(stations["tables"][1], cell, out=out["moon_altitude_deg"])
    out["moon_separation_deg"][:] = separation_deg(to_moon, _minus(sat_itrs, station))
    out["sunlit"][:] = sunlit(sat_itrs, tuple(c[ki] for c in instants["sun_dir"]))


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
