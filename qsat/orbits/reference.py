"""The Skyfield reference engine: ``find_events`` then ``altaz`` per pass.

This is the straightforward approach a Skyfield user writes, kept as qsat's
oracle for the batched engine (tests compare the two) and selectable with
``[engine] passes = "skyfield"``. Sun and Moon here are Skyfield's own apparent
topocentric positions, and sunlit is Skyfield's ``is_sunlit``.
"""

from __future__ import annotations

import warnings

import numpy as np

from .batch import PassRecords
from .timebase import DAY_S, TimeGrid, planets, timescale


def find_passes(grid: TimeGrid, satrecs, stations, mask_deg: float) -> PassRecords:
    from skyfield.api import EarthSatellite, wgs84

    ts = timescale()
    t0 = grid.skyfield_time(0.0)
    t1 = grid.skyfield_time(grid.duration_s)
    parts = []
    for s, satrec in enumerate(satrecs):
        sat = EarthSatellite.from_satrec(satrec, ts)
        for j, st in enumerate(stations):
            topos = wgs84.latlon(st.latitude_deg, st.longitude_deg, elevation_m=st.altitude_m)
            with warnings.catch_warnings():
                # Skyfield <= 1.55 sets an array's dtype in place (searchlib._fix_numpy_deprecation),
                # which NumPy 2.5 deprecates; harmless to the events, not ours to fix.
                warnings.filterwarnings("ignore", "Setting the dtype on a NumPy array", DeprecationWarning)
                times, events = sat.find_events(topos, t0, t1, altitude_degrees=mask_deg)
            parts.extend(_assemble(s, j, times, events, grid, sat, topos, mask_deg))
    records = PassRecords.concat(parts)
    return records.take(records.canonical())


def _seconds(grid: TimeGrid, t) -> np.ndarray:
    start = grid.skyfield_time(0.0)
    return np.atleast_1d((t.tt - start.tt) * DAY_S)


def _assemble(s, j, times, events, grid, sat, topos, mask_deg):
    """Group rise/culminate/set events into passes; edges of the window close open passes."""
    secs = _seconds(grid, times) if len(events) else np.zeros(0)
    diff = sat - topos
    passes, current = [], None
    start_el = diff.at(grid.skyfield_time(0.0)).altaz()[0].degrees
    if start_el >= mask_deg:
        current = {"rise": 0.0, "rise_observed": False, "culm": []}
    for t, ev in zip(secs, events):
        if ev == 0:
            current = {"rise": t, "rise_observed": True, "culm": []}
        elif ev == 1 and current is not None:
            current["culm"].append(t)
        elif ev == 2 and current is not None:
            passes.append((current, t, True))
            current = None
    if current is not None:
        passes.append((current, grid.duration_s, False))
    out = []
    for cur, t_set, set_observed in passes:
        cands = cur["culm"] or []
        cands = list(cands) + [cur["rise"], t_set] if not cands else cands
        el = diff.at(grid.skyfield_time(np.array(cands))).altaz()[0].radians
        best = int(np.argmax(el))
        out.append(PassRecords(np.array([s]), np.array([j]), np.array([cur["rise"]]),
                               np.array([cands[best]]), np.array([t_set]), np.array([el[best]]),
                               np.array([cur["rise_observed"]]), np.array([set_observed])))
    return out


def reference_steps(grid: TimeGrid, satrecs, stations, records: PassRecords) -> dict:
    """Per-step geometry inside each pass, computed pass by pass with Skyfield."""
    from skyfield.api import EarthSatellite, wgs84

    from .steps import pass_steps

    ts = timescale()
    eph = planets()
    earth, sun, moon = eph["earth"], eph["sun"], eph["moon"]
    p, k = pass_steps(grid, records)
    n = len(p)
    keys = ("azimuth_rad", "elevation_rad", "range_m", "range_rate_m_s",
            "sun_altitude_deg", "moon_altitude_deg", "moon_separation_deg")
    out = {name: np.empty(n) for name in keys}
    out["sunlit"] = np.zeros(n, dtype=bool)
    for i in range(len(records)):
        sel = np.nonzero(p == i)[0]
        if not len(sel):
            continue
        st = stations[records.sta[i]]
        sat = EarthSatellite.from_satrec(satrecs[records.sat[i]], ts)
        topos = wgs84.latlon(st.latitude_deg, st.longitude_deg, elevation_m=st.altitude_m)
        t = grid.skyfield_time(grid.seconds(k[sel]))
        rel = (sat - topos).at(t)
        alt, az, dist = rel.altaz()
        _, _, _, _, _, range_rate = rel.frame_latlon_and_rates(topos)
        observer = (earth + topos).at(t)
        sun_alt = observer.observe(sun).apparent().altaz()[0].degrees
        moon_app = observer.observe(moon).apparent()
        out["azimuth_rad"][sel], out["elevation_rad"][sel] = az.radians, alt.radians
        out["range_m"][sel], out["range_rate_m_s"][sel] = dist.m, range_rate.km_per_s * 1000.0
        out["sun_altitude_deg"][sel] = sun_alt
        out["moon_altitude_deg"][sel] = moon_app.altaz()[0].degrees
        out["moon_separation_deg"][sel] = moon_app.separation_from(rel).degrees
        out["sunlit"][sel] = sat.at(t).is_sunlit(eph)
    out["pass_index"], out["k"] = p, k
    return out
