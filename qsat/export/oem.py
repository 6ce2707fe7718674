"""CCSDS Orbit Ephemeris Message (OEM), KVN form, of the satellites a run used.

Layout per CCSDS 502.0-B-2, "Orbit Data Messages", section 5 (OEM version 2.0): a header
(``CCSDS_OEM_VERS``, ``CREATION_DATE``, ``ORIGINATOR``), then one segment per satellite:
metadata between ``META_START``/``META_STOP`` (``OBJECT_NAME``, ``OBJECT_ID`` as the
international designator, ``CENTER_NAME = EARTH``, ``REF_FRAME = GCRF``, ``TIME_SYSTEM = UTC``,
``START_TIME``/``STOP_TIME``, ``INTERPOLATION``/``INTERPOLATION_DEGREE``) and data lines
``epoch x y z x_dot y_dot z_dot`` in km and km/s.

The states are SGP4 (the run's own element sets) rotated from TEME to GCRS by Skyfield
(:mod:`qsat.export.ephemeris`). Positions are written to 1 mm and velocities to 1 µm/s,
far below SGP4's own error (about a kilometre at epoch).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .. import __version__
from ..errors import QsatInputError
from .ephemeris import iso, sample, utc_grid

OEM_VERSION = "2.0"
INTERPOLATION = "LAGRANGE"
INTERPOLATION_DEGREE = 7  # with 60 s spacing, LEO states interpolate to well below SGP4's error


def object_id(satrec) -> str:
    """International designator as ``YYYY-NNNP`` (e.g. 16051A → 2016-051A); NORAD number if absent."""
    d = (getattr(satrec, "intldesg", "") or "").strip()
    if len(d) >= 5 and d[:5].isdigit():
        yy = int(d[:2])
        return f"{1900 + yy if yy >= 57 else 2000 + yy}-{d[2:5]}{d[5:]}"
    return f"NORAD {int(satrec.satnum)}"


def format_oem(segments: list[dict], comments: list[str] = (), created: datetime | None = None) -> str:
    """KVN text; each segment: ``name``, ``object_id``, ``states`` (:class:`States`), ``comments``."""
    created = created or datetime.now(timezone.utc)
    lines = [f"CCSDS_OEM_VERS = {OEM_VERSION}"]
    lines += [f"COMMENT {c}" for c in comments]
    lines += [f"CREATION_DATE = {created.strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3]}",
              f"ORIGINATOR = QSAT {__version__}"]
    for seg in segments:
        st = seg["states"]
        lines += ["", "META_START", f"OBJECT_NAME = {seg['name']}", f"OBJECT_ID = {seg['object_id']}",
                  "CENTER_NAME = EARTH", "REF_FRAME = GCRF", "TIME_SYSTEM = UTC",
                  f"START_TIME = {iso(st.times[0])}", f"STOP_TIME = {iso(st.times[-1])}",
                  f"INTERPOLATION = {INTERPOLATION}", f"INTERPOLATION_DEGREE = {INTERPOLATION_DEGREE}",
                  "META_STOP", ""]
        lines += [f"COMMENT {c}" for c in seg.get("comments", ())]
        r_km, v_km_s = st.position_m / 1e3, st.velocity_m_s / 1e3
        for t, r, v in zip(st.times, r_km, v_km_s):
            lines.append(f"{iso(t)} {r[0]:.6f} {r[1]:.6f} {r[2]:.6f} {v[0]:.9f} {v[1]:.9f} {v[2]:.9f}")
    return "\n".join(lines) + "\n"


def write_oem(satellites, path: Path, start: datetime, stop: datetime, step_s: float = 60.0,
              comments: list[str] = ()) -> Path:
    """Write the OEM of ``satellites`` (objects with ``name``, ``satrec``, ``source``) over [start, stop]."""
    if not step_s > 0:
        raise QsatInputError("step_s", step_s, "a positive sampling step in seconds")
    t0, offsets = utc_grid(start, stop, step_s)
    segments = []
    for sat in satellites:
        st = sample(sat.satrec, t0, offsets, frame="inertial")
        segments.append({"name": sat.name, "object_id": object_id(sat.satrec), "states": st,
                         "comments": [f"SGP4 from element set {getattr(sat, 'source', '?')}, "
                                      "TEME to GCRF by Skyfield"]})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(format_oem(segments, comments), encoding="utf-8")
    return path


def read_oem(path: Path) -> list[dict]:
    """Segments of a KVN OEM (metadata dict, ``times`` datetime64[ms], ``position_m``, ``velocity_m_s``).

    Reads what :func:`write_oem` writes (and other OEMs without covariance or accelerations).
    """
    text = Path(path).read_text(encoding="utf-8")
    segments, meta, rows, in_meta = [], None, [], False

    def close():
        if meta is not None:
            data = np.array([[float(x) for x in r[1:7]] for r in rows]).reshape(-1, 6)
            times = np.array([np.datetime64(r[0], "ms") for r in rows], dtype="datetime64[ms]")
            segments.append({"meta": meta, "times": times, "position_m": data[:, :3] * 1e3,
                             "velocity_m_s": data[:, 3:] * 1e3})

    header = {}
    for number, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s.startswith("COMMENT"):
            continue
        if s == "META_START":
            close()
            meta, rows, in_meta = {}, [], True
        elif s == "META_STOP":
            in_meta = False
        elif "=" in s and (in_meta or meta is None):
            key, value = (x.strip() for x in s.split("=", 1))
            (meta if in_meta else header)[key] = value
        elif meta is not None:
            parts = s.split()
            if len(parts) not in (7, 10):
                raise QsatInputError(f"{path}:{number}", s[:60], "an ephemeris line 'epoch x y z vx vy vz'")
            rows.append(parts)
        else:
            raise QsatInputError(f"{path}:{number}", s[:60], "a KVN header line 'KEY = value'")
    close()
    if header.get("CCSDS_OEM_VERS") is None:
        raise QsatInputError(str(path), "no CCSDS_OEM_VERS", "a CCSDS OEM in KVN form")
    for seg in segments:
        seg["header"] = header
    return segments
