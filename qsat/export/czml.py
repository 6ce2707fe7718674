"""CZML scene for Cesium: satellite tracks, ground stations, link intervals coloured by key rate.

A CZML document is a JSON array of packets; the first has ``"id": "document"`` and sets the
clock. qsat writes (entity ids in brackets):

* one packet per satellite (``satellite/NAME``): positions sampled from the run's SGP4 element
  sets every ``step_s`` (default 60 s) in the Earth-fixed frame (``referenceFrame: FIXED``,
  ITRS in metres), Lagrange interpolation, a point, a label and a trailing orbit path;
* one packet per ground station (``station/NAME``): ``cartographicDegrees`` (longitude,
  latitude, height above the WGS84 ellipsoid);
* one packet per pass (``link/PASS_ID``): a polyline between the satellite and the station,
  available from rise to set, its colour sampled along the pass from red (low) through yellow
  to green (high) by the step's asymptotic key rate (log scale over the run), or by
  elevation (0–90°) when the run has no keys; the pass figures in its description.

Cesium interpolates sampled positions and colours between samples.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .. import __version__
from .ephemeris import sample, utc_grid

#: colour ramp stops (RGBA), low → high
RAMP = ((215, 48, 39), (254, 224, 50), (26, 152, 80))
LINK_COLOR_STEP_S = 10.0


def ramp(x: np.ndarray) -> np.ndarray:
    """RGBA (0–255) for ``x`` in [0, 1] (clipped; NaN → grey)."""
    x = np.clip(np.asarray(x, dtype=float), 0.0, 1.0)
    stops = np.array(RAMP, dtype=float)
    pos = np.linspace(0.0, 1.0, len(stops))
    rgb = np.stack([np.interp(np.nan_to_num(x), pos, stops[:, k]) for k in range(3)], axis=-1)
    rgb[np.isnan(np.asarray(x, dtype=float))] = 128
    return np.concatenate([np.round(rgb), np.full(rgb.shape[:-1] + (1,), 255.0)], axis=-1).astype(int)


def _z(t) -> str:
    """ISO 8601 UTC with Z, to the millisecond."""
    if isinstance(t, datetime):
        t = np.datetime64(t.astimezone(timezone.utc).replace(tzinfo=None), "ms")
    return str(np.datetime64(t, "ms")) + "Z"


def _satellite_packet(sat, start: datetime, offsets: np.ndarray, interval: str, color) -> dict:
    rgba = [*color[:3], 255]  # CZML colours have four components: three would read as time samples
    st = sample(sat.satrec, start, offsets, frame="fixed")
    flat = np.column_stack([offsets, st.position_m]).ravel()
    period_s = 2.0 * np.pi / sat.satrec.no_kozai * 60.0  # no_kozai: rad/min
    return {
        "id": f"satellite/{sat.name}", "name": sat.name, "availability": interval,
        "description": f"<p>{sat.name} (NORAD {int(sat.satrec.satnum)}), SGP4 from {getattr(sat, 'source', '?')}</p>",
        "position": {"epoch": _z(start), "referenceFrame": "FIXED", "interpolationAlgorithm": "LAGRANGE",
                     "interpolationDegree": 5, "cartesian": [round(float(v), 3) for v in flat]},
        "point": {"pixelSize": 8, "color": {"rgba": rgba}, "outlineColor": {"rgba": [0, 0, 0, 255]},
                  "outlineWidth": 1},
        "label": {"text": sat.name, "font": "12pt sans-serif", "pixelOffset": {"cartesian2": [10, 0]},
                  "horizontalOrigin": "LEFT", "fillColor": {"rgba": rgba}},
        "path": {"leadTime": 0, "trailTime": round(float(period_s), 1), "resolution": 60, "width": 1.5,
                 "material": {"solidColor": {"color": {"rgba": [*color[:3], 160]}}}},
    }


def _station_packet(station) -> dict:
    return {
        "id": f"station/{station.name}", "name": station.name,
        "description": f"<p>{station.name}: {station.latitude_deg:.5f}°, {station.longitude_deg:.5f}°, "
                       f"{station.altitude_m:.0f} m</p>",
        "position": {"cartographicDegrees": [station.longitude_deg, station.latitude_deg, station.altitude_m]},
        "point": {"pixelSize": 10, "color": {"rgba": [30, 120, 255, 255]},
                  "outlineColor": {"rgba": [255, 255, 255, 255]}, "outlineWidth": 2},
        "label": {"text": station.name, "font": "12pt sans-serif", "pixelOffset": {"cartesian2": [12, -4]},
                  "horizontalOrigin": "LEFT", "fillColor": {"rgba": [255, 255, 255, 255]}},
    }


def _link_colour_samples(t_steps, values, lo, hi, log: bool, rise) -> list:
    """Sampled rgba ``[t, r, g, b, a, ...]`` every LINK_COLOR_STEP_S along a pass."""
    if t_steps.size == 0:
        return []
    dt_s = np.diff(t_steps) / np.timedelta64(1, "s")
    every = max(1, int(round(LINK_COLOR_STEP_S / max(float(np.median(dt_s)), 1e-3)))) if dt_s.size else 1
    idx = np.unique(np.append(np.arange(0, t_steps.size, every), t_steps.size - 1))
    v = values[idx]
    if log:
        with np.errstate(divide="ignore", invalid="ignore"):
            x = (np.log10(np.where(v > 0, v, np.nan)) - np.log10(lo)) / max(np.log10(hi) - np.log10(lo), 1e-9)
        x = np.where(v > 0, x, 0.0)
    else:
        x = (v - lo) / max(hi - lo, 1e-9)
    rgba = ramp(x)
    offsets = (t_steps[idx] - np.datetime64(rise, "ms")) / np.timedelta64(1, "s")
    return [round(float(o), 3) if k == 0 else int(c) for o, row in zip(offsets, rgba)
            for k, c in enumerate([o, *row])]


def build(satellites, stations, start: datetime, stop: datetime, *, step_s: float = 60.0, passes=None,
          geometry=None, keys=None, name: str = "qsat", note: str = "") -> list[dict]:
    """The CZML packets (a list of dicts) of a scene over [start, stop]."""
    t0, offsets = utc_grid(start, stop, step_s)
    interval = f"{_z(start)}/{_z(stop)}"
    palette = [(255, 200, 0), (255, 120, 200), (120, 255, 255), (200, 160, 255), (160, 255, 120), (255, 160, 80)]
    colour_by = "key rate" if keys is not None and "key_rate_asymptotic_bps" in keys else "elevation"
    doc = {"id": "document", "name": name, "version": "1.0",
           "description": f"qsat {__version__}: {name}. Link colours: {colour_by} (red low, green high). {note}".strip(),
           "clock": {"interval": interval, "currentTime": _z(start), "multiplier": 60,
                     "range": "LOOP_STOP", "step": "SYSTEM_CLOCK_MULTIPLIER"}}
    packets = [doc]
    packets += [_satellite_packet(s, t0, offsets, interval, palette[i % len(palette)])
                for i, s in enumerate(satellites)]
    packets += [_station_packet(s) for s in stations]
    if passes is None or geometry is None or len(passes) == 0:
        return packets
    if colour_by == "key rate":
        field, log = keys["key_rate_asymptotic_bps"].values, True
        pos = field[np.isfinite(field) & (field > 0)]
        lo, hi = (float(pos.min()), float(pos.max())) if pos.size else (1.0, 10.0)
        if hi <= lo:
            lo = hi / 10.0
    else:
        field, log, lo, hi = geometry["elevation_deg"].values, False, 0.0, 90.0
    times = geometry["time_utc"].values
    valid = geometry["valid"].values if "valid" in geometry else np.isfinite(field)
    ids = list(np.asarray(geometry["pass"].values))
    start64, stop64 = np.datetime64(_z(start)[:-1], "ms"), np.datetime64(_z(stop)[:-1], "ms")
    for _, row in passes.iterrows():
        pid = int(row["pass_id"])
        if pid not in ids:
            continue
        i = ids.index(pid)
        ok = valid[i].astype(bool)
        t_steps = times[i][ok].astype("datetime64[ms]")
        inside = (t_steps >= start64) & (t_steps <= stop64)
        if not inside.any():
            continue
        t_steps, values = t_steps[inside], field[i][ok][inside]
        rise, set_ = t_steps[0], t_steps[-1]
        desc = [f"{k}: {row[k]}" for k in ("rise_utc", "set_utc", "max_elevation_deg", "secret_key_bits",
                                           "qber", "sifted_bits") if k in row and row[k] == row[k]]
        packets.append({
            "id": f"link/{pid}", "name": f"{row['satellite']} → {row['station']} (pass {pid})",
            "availability": f"{_z(rise)}/{_z(set_)}", "description": "<br>".join(desc),
            "polyline": {"positions": {"references": [f"satellite/{row['satellite']}#position",
                                                      f"station/{row['station']}#position"]},
                         "width": 3, "arcType": "NONE",
                         "material": {"solidColor": {"color": {
                             "epoch": _z(rise), "rgba": _link_colour_samples(t_steps, values, lo, hi, log, rise)}}}},
        })
    return packets


def write_czml(packets: list[dict], path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(packets, separators=(",", ":"), ensure_ascii=False) + "\n", encoding="utf-8")
    return path
