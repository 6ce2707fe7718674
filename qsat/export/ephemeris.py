"""Satellite states sampled from the run's own propagator (SGP4 through Skyfield).

The exports (CZML, OEM) sample each satellite's ``Satrec`` — the very element set the
pass engine used — on a regular UTC grid. Skyfield turns SGP4's TEME states into

* GCRS (``frame="inertial"``): Skyfield's ``EarthSatellite.at`` (TEME → GCRS with the
  IAU 2000A/2006 precession–nutation and frame bias); written as ``GCRF`` in OEM files;
* ITRS (``frame="fixed"``): the Earth-fixed frame Cesium's ``FIXED`` expects
  (Skyfield's ``framelib.itrs``, without polar motion: ~10 m at the surface).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np

FRAMES = ("inertial", "fixed")


@dataclass(frozen=True)
class States:
    """Positions (m) and velocities (m/s) at ``times`` (UTC, datetime64[ms])."""

    times: np.ndarray
    position_m: np.ndarray  # (n, 3)
    velocity_m_s: np.ndarray  # (n, 3)
    frame: str


def utc_grid(start: datetime, stop: datetime, step_s: float) -> tuple[datetime, np.ndarray]:
    """Offsets (s) from ``start`` every ``step_s`` up to and including ``stop``."""
    span = (stop - start).total_seconds()
    n = int(np.floor(span / step_s + 1e-9)) + 1
    offsets = np.arange(n) * float(step_s)
    if offsets[-1] < span - 1e-6:  # end exactly on the window's end
        offsets = np.append(offsets, span)
    return start, offsets


def sample(satrec, start: datetime, offsets_s: np.ndarray, frame: str = "inertial") -> States:
    """States of one satellite at ``start + offsets_s`` (UTC) in ``frame`` ("inertial" or "fixed")."""
    from skyfield.api import EarthSatellite
    from skyfield.framelib import itrs

    from ..orbits.timebase import timescale

    ts = timescale()
    start = start.astimezone(timezone.utc)
    t = ts.utc(start.year, start.month, start.day, start.hour, start.minute,
               start.second + start.microsecond * 1e-6 + np.asarray(offsets_s, dtype=float))
    geo = EarthSatellite.from_satrec(satrec, ts).at(t)
    if frame == "fixed":
        r, v = geo.frame_xyz_and_velocity(itrs)
        pos, vel = r.m.T, v.m_per_s.T
    else:
        pos, vel = geo.position.m.T, geo.velocity.m_per_s.T
    base = np.datetime64(start.replace(tzinfo=None), "ms")
    times = base + np.round(np.asarray(offsets_s) * 1e3).astype("timedelta64[ms]")
    return States(times, np.ascontiguousarray(pos), np.ascontiguousarray(vel), frame)


def iso(t: np.datetime64) -> str:
    """ISO 8601 UTC to the millisecond, no zone suffix (as CCSDS KVN writes epochs)."""
    return str(np.datetime64(t, "ms"))


def export_window(start: datetime, duration_s: float, max_days: float) -> tuple[datetime, datetime, bool]:
    """The span an export covers: the whole window, or its first ``max_days`` (then ``True``)."""
    span = min(duration_s, max_days * 86400.0)
    return start, start + timedelta(seconds=span), span < duration_s
