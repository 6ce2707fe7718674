"""The batched pass engine: vectorised SGP4, coarse screening, exact refinement.

For every satellite, all stations are screened together on a coarse grid
``t_i = i * screen_step`` where elevation *and its time derivative* are computed
exactly (``geometry.topocentric_pairs``). Then:

* a pass culminates where the elevation rate changes sign from + to − between two
  screen samples — found from the exact rate, so a pass whose whole visible arc
  falls between two samples is still found; the culmination is bisected on the
  sign of the rate;
* rise and set lie in the screen interval where the elevation crosses the mask on
  either side of the culmination, and are refined on ``elevation - mask``.

This misses no pass as long as no screen interval holds two elevation extrema.
:func:`screen_plan` picks the step from the orbits so that this holds, with the
argument in ``docs/sgp4.md`` ("Screening"); ``tests/orbits/test_screening.py``
checks it on varied LEO/MEO orbits. Roots are refined by regula falsi (Illinois)
to ``ROOT_TOL_S``; every evaluation is a full SGP4 + geometry evaluation, so the
result is exact to that tolerance rather than an interpolation.

The window is processed in time blocks (``block_s``): a block owns the screen
intervals ``[i0, i1)`` and the passes that culminate in them, and looks ``halo``
samples beyond its edges for their rise and set. Every number depends only on the
global screen grid and per-element arithmetic, so the passes are the same for any
block size, and a pass crossing a block edge is found once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..backend import to_numpy
from .propagate import Propagator
from .timebase import TimeGrid

ROOT_TOL_S = 1e-3
#: Enough Illinois iterations for a 600 s bracket to reach ROOT_TOL_S even at bisection's pace.
ILLINOIS_ITERATIONS = 40

#: Earth's rotation rate [rad/s] (IERS Conventions 2010, Table 1.1).
EARTH_ROTATION_RAD_S = 7.292115e-5
#: Smallest geocentric radius of a station [m]: WGS84 polar radius, less the lowest allowed station
#: altitude (-500 m); the lower the station, the wider the cap of orbit it sees above the mask.
MIN_STATION_RADIUS_M = 6356752.3 - 500.0
#: Geodetic minus geocentric zenith is at most 0.193 deg on WGS84; the visibility cap is widened by it.
ZENITH_TILT_RAD = math.radians(0.2)
#: The screen step is this many times shorter than the proven separation of elevation extrema.
SCREEN_SAFETY = 4.0
#: Longest screen step: root brackets stay short enough for ILLINOIS_ITERATIONS.
MAX_SCREEN_STEP_S = 300.0
#: (satellite, station, screen sample) triples screened in one propagation + geometry call (~0.2 GB).
PAIR_SAMPLES_PER_CHUNK = 2_000_000
#: Eccentricity up to which the argument of docs/sgp4.md is made (radial motion enters at O(e)).
PROOF_MAX_ECCENTRICITY = 0.05


@dataclass(frozen=True)
class ScreenPlan:
    """The screen step and what is known about the orbits it was chosen for.

    ``separation_s``: proven lower bound on the time between an elevation maximum
    above the mask and any other extremum (inf when there are no satellites; NaN
    when an orbit falls outside the argument). ``max_pass_s``: upper bound on a
    pass's time above the mask (inf when unbounded or not proven). ``uncovered``:
    indices of satellites outside the argument, screened at the configured step.
    """

    step_s: float
    separation_s: float
    max_pass_s: float
    uncovered: tuple[int, ...]


def orbit_bounds(satrec, mask_rad: float) -> tuple[float, float]:
    """(extremum separation [s], longest pass [s]) for one satellite, NaN/inf where unproven.

    Two-body orbit with eccentricity e, mean motion n, seen from a station on a
    sphere of radius ``MIN_STATION_RADIUS_M`` rotating at ω (docs/sgp4.md,
    "Screening"). The satellite's direction ŝ turns at u' in
    [n(1-e)²/(1-e²)^1.5, n(1+e)²/(1-e²)^1.5]; the station's ĝ at most at ω.
    Above the mask, cos ψ = ŝ·ĝ >= cos ψ_max (ψ_max from the apogee radius). There,
    d²(cos ψ)/dt² <= -u'min² cos ψ_max + 2 u'max ω + ω² < 0 when the orbit is fast
    enough: cos ψ is concave and has one maximum per visit; every other extremum
    needs |t̂·ĝ| <= ω/u'min, which puts it within asin(η/cos ψ_max) of the
    anti-culmination, half a turn away.
    """
    e = float(satrec.ecco)
    n = float(satrec.no_kozai) / 60.0  # rad/min -> rad/s
    a_m = float(satrec.a) * float(satrec.radiusearthkm) * 1000.0
    if not (0.0 <= e <= PROOF_MAX_ECCENTRICITY and n > 0.0 and a_m > 0.0):
        return math.nan, math.inf
    r_apogee = a_m * (1.0 + e)
    m = mask_rad - ZENITH_TILT_RAD
    c = MIN_STATION_RADIUS_M * math.cos(m) / r_apogee
    if c >= 1.0:
        return math.nan, math.inf  # decayed below the station's horizon
    psi_max = math.acos(c) - m
    cos_psi = math.cos(psi_max)
    w = EARTH_ROTATION_RAD_S
    u_min = n * (1.0 - e) ** 2 / (1.0 - e * e) ** 1.5
    u_max = n * (1.0 + e) ** 2 / (1.0 - e * e) ** 1.5
    if cos_psi <= 0.0 or u_min * u_min * cos_psi <= 2.0 * u_max * w + w * w:
        return math.nan, math.inf
    eta = w / u_min / cos_psi
    if eta >= 1.0:
        return math.nan, math.inf
    x_rate_max = u_max + w / cos_psi
    separation_s = (math.pi - 2.0 * math.asin(eta)) / x_rate_max
    # Above the mask |x| <= ψ <= ψ_max, and x = u - φ advances at least at u'min - ω/cos ψ_max.
    x_rate_min = u_min - w / cos_psi
    max_pass_s = 2.0 * psi_max / x_rate_min if x_rate_min > 0 else math.inf
    return separation_s, max_pass_s


def screen_plan(satrecs, mask_rad: float, configured_step_s: float | None = None) -> ScreenPlan:
    """The screen step for a set of satellites sharing one screen grid.

    With ``configured_step_s`` None, the step is ``separation / SCREEN_SAFETY`` of
    the tightest orbit, at most ``MAX_SCREEN_STEP_S``; an orbit outside the
    argument (GEO, HEO, e > 0.05, slow MEO) has the step fall back to 30 s, the
    engine's historical default. A configured step is used as given.
    """
    bounds = [orbit_bounds(s, mask_rad) for s in satrecs]
    uncovered = tuple(i for i, (sep, _) in enumerate(bounds) if math.isnan(sep))
    covered = [b for b in bounds if not math.isnan(b[0])]
    separation = min((b[0] for b in covered), default=math.inf)
    max_pass = max((b[1] for b in covered), default=0.0) if not uncovered else math.inf
    if configured_step_s is not None:
        step = float(configured_step_s)
    elif uncovered:
        step = FALLBACK_SCREEN_STEP_S
    else:
        step = min(MAX_SCREEN_STEP_S, separation / SCREEN_SAFETY)
    return ScreenPlan(step, math.nan if uncovered else separation, max_pass, uncovered)


#: Screen step for orbits outside the argument: the step the engine used before it was proven.
FALLBACK_SCREEN_STEP_S = 30.0


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

    def take(self, idx) -> "PassRecords":
        return PassRecords(*(getattr(self, f)[idx] for f in self.__dataclass_fields__))

    def canonical(self) -> np.ndarray:
        """Indices that put the records in qsat's canonical form, whatever order they came in.

        One record per (satellite, station, rise): a pass that culminates twice (rare, long
        high passes) keeps its highest culmination. Then sorted by culmination time,
        satellite, station: chronological, and the same whether the window was searched
        whole, block by block (a block owns the passes culminating in it) or on a cluster.
        """
        by_key = np.lexsort((-self.el_max_rad, np.round(self.t_rise, 3), self.sta, self.sat))
        key = np.stack([self.sat[by_key], self.sta[by_key], np.round(self.t_rise[by_key], 3)], axis=1)
        first = np.ones(len(by_key), bool)
        first[1:] = np.any(key[1:] != key[:-1], axis=1)
        kept = by_key[first]
        return kept[np.lexsort((self.sta[kept], self.sat[kept], self.t_culm[kept]))]

    def __len__(self) -> int:
        return len(self.sat)


class Evaluator:
    """Exact geometry of arbitrary (satellite, time, station) triples."""

    def __init__(self, propagator: Propagator, grid: TimeGrid, stations_itrs_m, stations_latlon_rad,
                 omega_rad_s):
        self.propagator = propagator
        self.grid = grid
        self.st_itrs = stations_itrs_m
        self.st_latlon = stations_latlon_rad
        self.omega = omega_rad_s

    def __call__(self, sat, t_s, sta):
        """(az, el, range, range_rate, el_rate) of satellites ``sat`` (an index, or one per time) at
        times ``t_s`` from stations ``sta``; one propagation call for all of them."""
        t_s = np.asarray(t_s, dtype=np.float64)
        sat = np.broadcast_to(np.asarray(sat, dtype=np.int64), t_s.shape)
        _, r, v = self.propagator.pairs(sat, *self.grid.utc_parts(t_s))
        theta, _ = self.grid.gmst(t_s)
        rows = np.arange(len(t_s))
        return self.propagator.topocentric(r, v, theta, self.omega, rows, np.asarray(sta),
                                           self.st_itrs, self.st_latlon)


def _illinois(f, lo, hi, f_lo, f_hi, iterations: int = ILLINOIS_ITERATIONS):
    """Roots of ``f`` in brackets [lo, hi] where ``f_lo``, ``f_hi`` differ in sign; vectorised.

    Regula falsi with the Illinois modification (Dowell & Jarratt, BIT 11, 168 (1971)):
    superlinear (order ~1.44) and never leaves the bracket. Each iteration is one
    exact evaluation of ``f`` for the brackets still open; a bracket narrower than
    ``ROOT_TOL_S`` is frozen, so each root depends on its own bracket only, not on
    which other brackets were refined with it.
    """
    lo, hi, f_lo, f_hi = (np.array(a, dtype=float) for a in (lo, hi, f_lo, f_hi))
    side = np.zeros(len(lo), dtype=np.int8)  # which end was kept last: -1 lo, +1 hi
    for _ in range(iterations):
        active = np.nonzero(hi - lo >= ROOT_TOL_S)[0]
        if not len(active):
            break
        a_lo, a_hi, a_flo, a_fhi, a_side = lo[active], hi[active], f_lo[active], f_hi[active], side[active]
        denom = a_fhi - a_flo
        t = np.where(denom != 0, a_hi - a_fhi * (a_hi - a_lo) / np.where(denom != 0, denom, 1.0),
                     0.5 * (a_lo + a_hi))
        t = np.clip(t, a_lo, a_hi)
        f_t = f(t, active)
        left = np.sign(f_t) == np.sign(a_flo)
        # Root in [t, hi]: move lo; halve f_hi if hi was kept twice running (Illinois).
        a_fhi = np.where(left & (a_side == 1), 0.5 * a_fhi, a_fhi)
        a_flo = np.where(~left & (a_side == -1), 0.5 * a_flo, a_flo)
        lo[active], f_lo[active] = np.where(left, t, a_lo), np.where(left, f_t, a_flo)
        hi[active], f_hi[active] = np.where(left, a_hi, t), np.where(left, a_fhi, f_t)
        side[active] = np.where(left, 1, -1).astype(np.int8)
    return np.where(np.abs(f_lo) < np.abs(f_hi), lo, hi)


@dataclass(frozen=True)
class ScreenGrid:
    """The global screen grid: ``t_i = i * step_s`` before the window's end, which is always the
    last sample. Samples are made per block, so a long window never holds them all."""

    step_s: float
    end_s: float

    def __len__(self) -> int:
        return int(math.ceil(self.end_s / self.step_s)) + 1 if self.end_s > 0 else 1

    def times(self, first: int, stop: int) -> np.ndarray:
        """Samples ``first .. stop - 1``."""
        t = np.arange(first, stop) * self.step_s
        if stop == len(self):
            t[-1] = self.end_s
        return t

    def first_at_or_after(self, t_s: float) -> int:
        """Index of the first sample at or after ``t_s`` (exactly, whatever the rounding of t/step)."""
        i = max(0, int(math.ceil(t_s / self.step_s)))
        while i > 0 and (i - 1) * self.step_s >= t_s:
            i -= 1
        while i * self.step_s < t_s:
            i += 1
        return min(i, len(self) - 1)


def find_passes(grid: TimeGrid, propagator: Propagator, stations_itrs_m, stations_latlon_rad, mask_rad: float,
                screen_step_s: float, *, block_s: float | None = None, halo_s: float = math.inf,
                span_s: tuple[float, float] | None = None) -> tuple[PassRecords, dict]:
    """Every pass of every satellite over every station above ``mask_rad``.

    ``screen_step_s``: the screen step (:func:`screen_plan`). ``block_s``: length of
    the time blocks (None: one block); ``halo_s``: how far beyond a block to look
    for the rise and set of its passes at first (a bound on pass length, e.g.
    ``ScreenPlan.max_pass_s``); a block whose passes reach beyond it is redone with
    the halo doubled, so the halo sets the cost, never the result. ``span_s``: only
    the passes culminating in screen intervals that start in ``[t0, t1)`` (a cluster
    task's share; None: the whole window).

    Returns the passes (:meth:`PassRecords.canonical`) and ``{satellite index: sorted
    SGP4 error codes}`` for satellites SGP4 could not propagate over part of the window.
    """
    screen = ScreenGrid(float(screen_step_s), grid.duration_s)
    omega = grid.gmst_rate_rad_s
    evaluate = Evaluator(propagator, grid, stations_itrs_m, stations_latlon_rad, omega)
    n_int = max(len(screen) - 1, 1)  # screen intervals; the last block also owns the end sample
    per_block = n_int if block_s is None else max(1, int(block_s // screen_step_s))
    halo = len(screen) if not math.isfinite(halo_s) else int(math.ceil(halo_s / screen_step_s)) + 1
    first_i, stop_i = 0, n_int
    if span_s is not None:
        first_i, stop_i = (min(screen.first_at_or_after(t), n_int) for t in span_s)
    errors: dict[int, set] = {}
    parts = []
    for i0 in range(first_i, stop_i, per_block):
        i1 = min(i0 + per_block, stop_i)
        while True:
            found = _block_passes(screen, i0, i1, halo, grid, propagator, stations_itrs_m, stations_latlon_rad,
                                  mask_rad, evaluate, errors)
            if found is not None:
                parts.extend(found)
                break
            halo *= 2
    records = PassRecords.concat(parts)
    return records.take(records.canonical()), {s: sorted(c) for s, c in sorted(errors.items())}


def _block_passes(screen, i0, i1, halo, grid, propagator, st_itrs, st_latlon, mask_rad, evaluate, errors):
    """Passes culminating in screen intervals [i0, i1); None when a rise or set lies beyond the halo."""
    nc_all = len(screen)
    lo, hi = max(0, i0 - halo), min(nc_all, i1 + 1 + halo)
    t_c = screen.times(lo, hi)
    nc, nsta = len(t_c), len(st_itrs)
    theta_c, omega = grid.gmst(t_c)
    jd, fr = grid.utc_parts(t_c)
    own = (i0 - lo, i1 - lo, lo == 0, hi == nc_all)
    nsat = len(propagator.satrecs)
    parts = []
    chunk = max(1, PAIR_SAMPLES_PER_CHUNK // (nc * nsta))  # satellites screened together
    for first in range(0, nsat, chunk):
        e_all, r_all, v_all = propagator.many(jd, fr, first, first + chunk)
        e_all = to_numpy(e_all)
        ns = len(e_all)
        for j in np.nonzero(e_all.any(axis=1))[0]:
            errors.setdefault(first + int(j), set()).update(int(c) for c in np.unique(e_all[j]) if c)
        # Rows of (satellite, station) pairs, columns screen samples.
        rows = (np.arange(ns)[:, None, None] * nc + np.arange(nc)[None, None, :]) + np.zeros((1, nsta, 1), int)
        stas = np.broadcast_to(np.arange(nsta)[None, :, None], rows.shape)
        _, el, _, _, eld = propagator.topocentric(r_all.reshape(ns * nc, 3), v_all.reshape(ns * nc, 3),
                                                  np.tile(theta_c, ns), omega, rows.ravel(), stas.ravel(),
                                                  st_itrs, st_latlon)
        el = np.nan_to_num(el.reshape(ns * nsta, nc), nan=-np.pi)
        eld = np.nan_to_num(eld.reshape(ns * nsta, nc), nan=0.0)
        pair_sat = np.repeat(first + np.arange(ns), nsta)
        pair_sta = np.tile(np.arange(nsta), ns)
        found = _passes_of_pairs(pair_sat, pair_sta, t_c, el, eld, mask_rad, evaluate, own, screen.end_s)
        if found is None:
            return None
        parts.append(found)
    return parts


def _passes_of_pairs(pair_sat, pair_sta, t_c, el, eld, mask, evaluate, own, end) -> PassRecords | None:
    """Passes of (satellite, station) pairs (rows of ``el``/``eld``) culminating in the owned
    screen intervals of ``t_c``; the roots of all pairs are refined together.

    ``own = (a, b, at_start, at_end)``: intervals ``[a, b)`` of ``t_c`` are this block's;
    ``at_start``/``at_end``: ``t_c`` begins/ends at the window's edge. Returns None when
    a pass's rise or set lies beyond ``t_c`` although the window goes on.
    """
    a, b, at_start, at_end = own
    npair, nc = el.shape
    owns_start, owns_end = at_start and a == 0, at_end and b == nc - 1
    # Culminations inside owned intervals: elevation rate + then −.
    q, i = np.nonzero((eld[:, a:b] > 0) & (eld[:, a + 1:b + 1] <= 0))
    i = i + a
    if len(i):
        t_m = _illinois(lambda t, sel: evaluate(pair_sat[q[sel]], t, pair_sta[q[sel]])[4], t_c[i], t_c[i + 1],
                        eld[q, i], eld[q, i + 1])
    else:
        t_m = np.zeros(0)
    # Passes already descending at the window's start, or still rising at its end, culminate at the edge.
    start_q = np.nonzero((el[:, 0] >= mask) & (eld[:, 0] <= 0))[0] if owns_start else np.zeros(0, int)
    end_q = np.nonzero((el[:, -1] >= mask) & (eld[:, -1] > 0))[0] if owns_end else np.zeros(0, int)
    q = np.concatenate([q, start_q, end_q])
    i = np.concatenate([i, np.zeros(len(start_q), int), np.full(len(end_q), nc - 1)])
    t_m = np.concatenate([t_m, np.zeros(len(start_q)), np.full(len(end_q), end)])
    if not len(t_m):
        return PassRecords.concat([])
    el_m = evaluate(pair_sat[q], t_m, pair_sta[q])[1]
    keep = el_m >= mask
    q, i, t_m, el_m = q[keep], i[keep], t_m[keep], el_m[keep]
    if not len(t_m):
        return PassRecords.concat([])

    below = el < mask
    idx = np.arange(nc)
    last_below = np.maximum.accumulate(np.where(below, idx, -1), axis=1)
    next_below = np.minimum.accumulate(np.where(below, idx, nc)[:, ::-1], axis=1)[:, ::-1]

    # Rise: in the interval after the last screen sample below the mask before the culmination.
    j = last_below[q, i]
    rise_observed = j >= 0
    # Set: in the interval before the first screen sample below the mask after the culmination.
    k = np.where(i + 1 >= nc, nc, next_below[q, np.minimum(i + 1, nc - 1)])
    set_observed = k < nc
    if (not at_start and not rise_observed.all()) or (not at_end and not set_observed.all()):
        return None
    j = np.maximum(j, 0)
    j1 = np.minimum(j + 1, nc - 1)
    rise_hi_is_culm = t_c[j1] > t_m
    k = np.minimum(k, nc - 1)
    set_lo_is_culm = t_c[k - 1] < t_m
    # Both crossings of every pass are refined together: one evaluation per iteration.
    r, s_ = np.nonzero(rise_observed)[0], np.nonzero(set_observed)[0]
    lo = np.concatenate([t_c[j[r]], np.where(set_lo_is_culm[s_], t_m[s_], t_c[k[s_] - 1])])
    hi = np.concatenate([np.where(rise_hi_is_culm[r], t_m[r], t_c[j1[r]]), t_c[k[s_]]])
    f_lo = np.concatenate([el[q[r], j[r]], np.where(set_lo_is_culm[s_], el_m[s_], el[q[s_], k[s_] - 1])])
    f_hi = np.concatenate([np.where(rise_hi_is_culm[r], el_m[r], el[q[r], j1[r]]), el[q[s_], k[s_]]])
    qs = np.concatenate([q[r], q[s_]])
    roots = _illinois(lambda t, sel: evaluate(pair_sat[qs[sel]], t, pair_sta[qs[sel]])[1] - mask, lo, hi,
                      f_lo - mask, f_hi - mask)
    t_rise = np.zeros(len(t_m))
    t_rise[r] = roots[:len(r)]
    t_set = np.full(len(t_m), end)
    t_set[s_] = roots[len(r):]
    n = len(t_m)
    return PassRecords(pair_sat[q], pair_sta[q], t_rise, t_m, t_set, el_m, rise_observed, set_observed)
