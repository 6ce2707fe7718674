"""The batched pass engine: vectorised SGP4, coarse screening, exact refinement.

For every satellite, all stations are screened together on a coarse grid
(``coarse_step_s``, 30 s by default) where elevation *and its time derivative* are
computed exactly (``geometry.topocentric_pairs``). Then:

* a pass culminates where the elevation rate changes sign from + to − between two
  coarse samples — found from the exact rate, so a pass whose whole visible arc
  falls between two samples is still found; the culmination is bisected on the
  sign of the rate;
* rise and set lie in the coarse interval where the elevation crosses the mask on
  either side of the culmination, and are bisected on ``elevation - mask``.

This assumes at most one elevation extremum per coarse interval, true for any
orbit whose period exceeds ~20 coarse steps (10 min at 30 s). Roots are refined
by regula falsi (Illinois) to ``ROOT_TOL_S``; every evaluation is a full SGP4 +
geometry evaluation, so the result is exact to that tolerance rather than an
interpolation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..backend import to_numpy
from .propagate import Propagator
from .timebase import TimeGrid

ROOT_TOL_S = 1e-3
ILLINOIS_ITERATIONS = 12


@dataclass
class PassRecords:
    """Found passes, one entry per pass (times in seconds after the grid start)."""

    sat: np.ndarray
    sta: np.ndarray
    t_rise: np.ndarray
    t_culm: np.ndarray
    t_set: np.ndarray
    el_max_rad: np.ndarray
    rise_observed: np.ndarray
    set_observed: np.ndarray

    @classmethod
    def concat(cls, parts: list["PassRecords"]) -> "PassRecords":
        if not parts:
            empty = np.zeros(0)
            return cls(empty.astype(int), empty.astype(int), empty, empty, empty, empty,
                       empty.astype(bool), empty.astype(bool))
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in cls.__dataclass_fields__))

    def order(self) -> "PassRecords":
        """Sorted by satellite, then rise time, then station: each satellite's passes
        (and so its per-step rows) are contiguous, which the step stage relies on."""
        idx = np.lexsort((self.sta, self.t_rise, self.sat))
        return PassRecords(*(getattr(self, f)[idx] for f in self.__dataclass_fields__))

    def __len__(self) -> int:
        return len(self.sat)


class Evaluator:
    """Exact geometry of one satellite at arbitrary (time, station) pairs."""

    def __init__(self, propagator: Propagator, grid: TimeGrid, stations_itrs_m, stations_latlon_rad,
                 omega_rad_s):
        self.propagator = propagator
        self.grid = grid
        self.st_itrs = stations_itrs_m
        self.st_latlon = stations_latlon_rad
        self.omega = omega_rad_s

    def __call__(self, s, t_s, sta):
        """(az, el, range, range_rate, el_rate) of satellite ``s`` at times ``t_s`` from stations ``sta``."""
        t_s = np.asarray(t_s, dtype=np.float64)
        _, r, v = self.propagator.one(s, *self.grid.utc_parts(t_s))
        theta, _ = self.grid.gmst(t_s)
        rows = np.arange(len(t_s))
        return self.propagator.topocentric(r, v, theta, self.omega, rows, np.asarray(sta),
                                           self.st_itrs, self.st_latlon)


def _illinois(f, lo, hi, f_lo, f_hi, iterations: int = ILLINOIS_ITERATIONS):
    """Roots of ``f`` in brackets [lo, hi] where ``f_lo``, ``f_hi`` differ in sign; vectorised.

    Regula falsi with the Illinois modification (Dowell & Jarratt, BIT 11, 168 (1971)):
    superlinear (order ~1.44) and never leaves the bracket. Each iteration is one
    exact evaluation of ``f`` for all brackets at once.
    """
    lo, hi, f_lo, f_hi = (np.array(a, dtype=float) for a in (lo, hi, f_lo, f_hi))
    side = np.zeros(len(lo), dtype=np.int8)  # which end was kept last: -1 lo, +1 hi
    for _ in range(iterations):
        denom = f_hi - f_lo
        t = np.where(denom != 0, hi - f_hi * (hi - lo) / np.where(denom != 0, denom, 1.0), 0.5 * (lo + hi))
        t = np.clip(t, lo, hi)
        f_t = f(t)
        left = np.sign(f_t) == np.sign(f_lo)
        # Root in [t, hi]: move lo; halve f_hi if hi was kept twice running (Illinois).
        f_hi = np.where(left & (side == 1), 0.5 * f_hi, f_hi)
        f_lo = np.where(~left & (side == -1), 0.5 * f_lo, f_lo)
        lo, f_lo = np.where(left, t, lo), np.where(left, f_t, f_lo)
        hi, f_hi = np.where(left, hi, t), np.where(left, f_hi, f_t)
        side = np.where(left, 1, -1).astype(np.int8)
        if np.all(hi - lo < ROOT_TOL_S):
            break
    return np.where(np.abs(f_lo) < np.abs(f_hi), lo, hi)


def find_passes(grid: TimeGrid, propagator: Propagator, stations_itrs_m, stations_latlon_rad, mask_rad: float,
                coarse_step_s: float = 30.0) -> tuple[PassRecords, dict]:
    """Every pass of every satellite over every station above ``mask_rad``.

    Returns the passes and ``{satellite index: sorted set of SGP4 error codes}`` for
    satellites SGP4 could not propagate over part of the window.
    """
    nsta = len(stations_itrs_m)
    end = grid.duration_s
    t_c = np.unique(np.append(np.arange(0.0, end, coarse_step_s), end))
    nc = len(t_c)
    theta_c, omega = grid.gmst(t_c)
    evaluate = Evaluator(propagator, grid, stations_itrs_m, stations_latlon_rad, omega)
    nsat = len(propagator.satrecs)
    jd, fr = grid.utc_parts(t_c)
    errors = {}
    parts = []
    rows = np.tile(np.arange(nc), nsta)
    sta_rows = np.repeat(np.arange(nsta), nc)
    # Propagate satellites in chunks sharing the coarse times.
    chunk = max(1, 2_000_000 // nc)  # satellites per propagation call: ~100 MB of states
    for first in range(0, nsat, chunk):
        e_all, r_all, v_all = propagator.many(jd, fr, first, first + chunk)
        e_all = to_numpy(e_all)
        for j in range(len(e_all)):
            s = first + j
            if np.any(e_all[j]):
                errors[s] = sorted(set(int(c) for c in np.unique(e_all[j]) if c))
            _, el, _, _, eld = propagator.topocentric(r_all[j], v_all[j], theta_c, omega, rows, sta_rows,
                                                      stations_itrs_m, stations_latlon_rad)
            el = np.nan_to_num(el.reshape(nsta, nc), nan=-np.pi)
            eld = np.nan_to_num(eld.reshape(nsta, nc), nan=0.0)
            parts.append(_passes_of_satellite(s, t_c, el, eld, mask_rad, evaluate))
    return PassRecords.concat(parts).order(), errors


def _passes_of_satellite(s, t_c, el, eld, mask, evaluate) -> PassRecords:
    nsta, nc = el.shape
    end = t_c[-1]
    # Culminations inside coarse intervals: elevation rate + then −.
    sta_i, i = np.nonzero((eld[:, :-1] > 0) & (eld[:, 1:] <= 0))
    if len(i):
        t_m = _illinois(lambda t: evaluate(s, t, sta_i)[4], t_c[i], t_c[i + 1],
                        eld[sta_i, i], eld[sta_i, i + 1])
    else:
        t_m = np.zeros(0)
    # Passes already descending at the start, or still rising at the end, culminate at the edge.
    start_sta = np.nonzero((el[:, 0] >= mask) & (eld[:, 0] <= 0))[0]
    end_sta = np.nonzero((el[:, -1] >= mask) & (eld[:, -1] > 0))[0]
    sta_i = np.concatenate([sta_i, start_sta, end_sta])
    i = np.concatenate([i, np.zeros(len(start_sta), int), np.full(len(end_sta), nc - 1)])
    t_m = np.concatenate([t_m, np.zeros(len(start_sta)), np.full(len(end_sta), end)])
    if not len(t_m):
        return PassRecords.concat([])
    el_m = evaluate(s, t_m, sta_i)[1]
    keep = el_m >= mask
    sta_i, i, t_m, el_m = sta_i[keep], i[keep], t_m[keep], el_m[keep]
    if not len(t_m):
        return PassRecords.concat([])

    below = el < mask
    idx = np.arange(nc)
    last_below = np.maximum.accumulate(np.where(below, idx, -1), axis=1)
    next_below = np.minimum.accumulate(np.where(below, idx, nc)[:, ::-1], axis=1)[:, ::-1]

    # Rise: in the interval after the last coarse sample below the mask before the culmination.
    j = last_below[sta_i, i]
    rise_observed = j >= 0
    j = np.maximum(j, 0)
    j1 = np.minimum(j + 1, nc - 1)
    rise_hi_is_culm = t_c[j1] > t_m
    # Set: in the interval before the first coarse sample below the mask after the culmination.
    k = np.where(i + 1 >= nc, nc, next_below[sta_i, np.minimum(i + 1, nc - 1)])
    set_observed = k < nc
    k = np.minimum(k, nc - 1)
    set_lo_is_culm = t_c[k - 1] < t_m
    # Both crossings of every pass are refined together: one evaluation per iteration.
    r, s_ = np.nonzero(rise_observed)[0], np.nonzero(set_observed)[0]
    lo = np.concatenate([t_c[j[r]], np.where(set_lo_is_culm[s_], t_m[s_], t_c[k[s_] - 1])])
    hi = np.concatenate([np.where(rise_hi_is_culm[r], t_m[r], t_c[j1[r]]), t_c[k[s_]]])
    f_lo = np.concatenate([el[sta_i[r], j[r]], np.where(set_lo_is_culm[s_], el_m[s_], el[sta_i[s_], k[s_] - 1])])
    f_hi = np.concatenate([np.where(rise_hi_is_culm[r], el_m[r], el[sta_i[r], j1[r]]), el[sta_i[s_], k[s_]]])
    stas = np.concatenate([sta_i[r], sta_i[s_]])
    roots = _illinois(lambda t: evaluate(s, t, stas)[1] - mask, lo, hi, f_lo - mask, f_hi - mask)
    t_rise = np.zeros(len(t_m))
    t_rise[r] = roots[:len(r)]
    t_set = np.full(len(t_m), end)
    t_set[s_] = roots[len(r):]
    # One pass may culminate twice (rare, long high passes): keep the highest per (station, rise).
    order = np.lexsort((-el_m, np.round(t_rise, 3), sta_i))
    first = np.ones(len(order), bool)
    key = np.stack([sta_i[order], np.round(t_rise[order], 3)], axis=1)
    first[1:] = np.any(key[1:] != key[:-1], axis=1)
    o = order[first]
    n = len(o)
    return PassRecords(np.full(n, s), sta_i[o], t_rise[o], t_m[o], t_set[o], el_m[o],
                       rise_observed[o], set_observed[o])
