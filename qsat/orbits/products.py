"""The orbit stage's products: the pass table and the per-step geometry Dataset.

Column and variable names are part of qsat's output schema (planning tools and
later stages depend on them); see ``docs/outputs.md``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ..outputs import PlainDataset
from .batch import PassRecords
from .timebase import TimeGrid, iso_utc

PASS_COLUMNS = ["pass_id", "satellite", "station", "rise_utc", "culmination_utc", "set_utc",
                "max_elevation_deg", "duration_s", "min_range_km", "rise_azimuth_deg", "set_azimuth_deg",
                "sun_altitude_max_deg", "dark", "sunlit_fraction", "rise_observed", "set_observed", "n_steps"]

_STEP_VARS = {
    # name in geometry Dataset: (flat key, units, long name, converter)
    "elevation_deg": ("elevation_rad", "deg", "elevation above the geodetic horizon (no refraction)", np.degrees),
    "azimuth_deg": ("azimuth_rad", "deg", "azimuth from north through east", np.degrees),
    "slant_range_m": ("range_m", "m", "station-satellite distance", None),
    "range_rate_m_s": ("range_rate_m_s", "m s-1", "rate of change of slant range", None),
    "sun_altitude_deg": ("sun_altitude_deg", "deg", "apparent Sun altitude at the station", None),
    "moon_altitude_deg": ("moon_altitude_deg", "deg", "apparent Moon altitude at the station", None),
    "moon_separation_deg": ("moon_separation_deg", "deg", "angle between the Moon and the line of sight", None),
}


def _padded(values, cells, npass, width, fill, dtype=None):
    """``values`` at the flat ``cells`` of an ``(npass, width)`` array of ``fill``."""
    out = np.full((npass, width), fill, dtype=dtype or np.asarray(values).dtype)
    out.ravel()[cells] = values  # one flat index for every variable: ~3x faster than out[p, j]
    return out


def build(grid: TimeGrid, sat_names, stations, records: PassRecords, steps: dict, *,
          night_sun_altitude_deg: float) -> tuple[pd.DataFrame, xr.Dataset]:
    """Pass table and (pass, step) geometry Dataset from pass records and flat per-step arrays."""
    table, geometry = build_arrays(grid, sat_names, stations, records, steps,
                                   night_sun_altitude_deg=night_sun_altitude_deg)
    return table, geometry.dataset()


def build_arrays(grid: TimeGrid, sat_names, stations, records: PassRecords, steps: dict, *,
                 night_sun_altitude_deg: float, width: int | None = None) -> tuple[pd.DataFrame, PlainDataset]:
    """:func:`build` with the geometry as plain arrays (:class:`qsat.outputs.PlainDataset`), its
    ``step`` dimension ``width`` wide (default: the longest pass; padding NaN, NaT, False)."""
    npass = len(records)
    p = steps["pass_index"]
    counts = np.bincount(p, minlength=npass)
    starts = np.cumsum(counts) - counts
    j = np.arange(len(p)) - starts[p]
    longest = int(counts.max()) if npass else 0
    if width is None:
        width = longest
    elif width < longest:
        raise ValueError(f"width {width} is narrower than the longest pass ({longest} steps)")

    def per_pass(values, reduce, empty=np.nan):
        out = np.full(npass, empty, dtype=float)
        if len(p):
            has = counts > 0
            out[has] = reduce(values, starts[has])
        return out

    sun_max = per_pass(steps["sun_altitude_deg"], np.maximum.reduceat)
    min_range = per_pass(steps["range_m"], np.minimum.reduceat) / 1000.0
    sunlit_frac = per_pass(steps["sunlit"].astype(float), np.add.reduceat) / np.maximum(counts, 1)
    sunlit_frac[counts == 0] = np.nan
    first_az = np.full(npass, np.nan)
    last_az = np.full(npass, np.nan)
    az_deg = np.degrees(steps["azimuth_rad"])
    if len(p):
        has = counts > 0
        first_az[has] = az_deg[starts[has]]
        last_az[has] = az_deg[starts[has] + counts[has] - 1]

    t0 = grid.datetime64
    station_names = np.array([s.name for s in stations], dtype=object)
    sat_names = np.array(list(sat_names), dtype=object)
    table = pd.DataFrame({
        "pass_id": np.arange(npass),
        "satellite": sat_names[records.sat] if npass else [],
        "station": station_names[records.sta] if npass else [],
        "rise_utc": iso_utc(t0(records.t_rise)) if npass else [],
        "culmination_utc": iso_utc(t0(records.t_culm)) if npass else [],
        "set_utc": iso_utc(t0(records.t_set)) if npass else [],
        "max_elevation_deg": np.degrees(records.el_max_rad),
        "duration_s": records.t_set - records.t_rise,
        "min_range_km": min_range,
        "rise_azimuth_deg": first_az,
        "set_azimuth_deg": last_az,
        "sun_altitude_max_deg": sun_max,
        "dark": sun_max < night_sun_altitude_deg,
        "sunlit_fraction": sunlit_frac,
        "rise_observed": records.rise_observed.astype(bool),
        "set_observed": records.set_observed.astype(bool),
        "n_steps": counts,
    }, columns=PASS_COLUMNS)

    dims = ("pass", "step")
    cells = p * width + j
    valid = _padded(True, cells, npass, width, False, bool)
    time = _padded(t0(grid.seconds(steps["k"])), cells, npass, width, np.datetime64("NaT", "ns"), "datetime64[ns]")
    data = {
        "time_utc": (dims, time, {"long_name": "UTC time of the step"}),
        "valid": (dims, valid, {"long_name": "true where the step lies inside the pass (others are padding)"}),
    }
    for name, (key, units, long_name, convert) in _STEP_VARS.items():
        values = az_deg if key == "azimuth_rad" else steps[key] if convert is None else convert(steps[key])
        data[name] = (dims, _padded(values, cells, npass, width, np.nan, float),
                      {"units": units, "long_name": long_name})
    sunlit = _padded(steps["sunlit"], cells, npass, width, False, bool)
    data["sunlit"] = (dims, sunlit, {"long_name": "satellite outside the Earth's shadow"})
    coords = {
        "pass": (("pass",), np.arange(npass), {}),
        "step": (("step",), np.arange(width), {}),
        "satellite": (("pass",), table["satellite"].to_numpy(dtype=str), {}),
        "station": (("pass",), table["station"].to_numpy(dtype=str), {}),
        "station_altitude_m": (("pass",), np.array([stations[i].altitude_m for i in records.sta], dtype=float),
                               {"units": "m", "long_name": "station height above the WGS84 ellipsoid"}),
    }
    attrs = {"step_s": grid.step_s, "title": "qsat per-step pass geometry"}
    return table, PlainDataset(data, coords, attrs)


def pad_steps(ds: xr.Dataset, width: int) -> xr.Dataset:
    """``ds`` with its ``step`` dimension padded to ``width`` (invalid steps: NaN, NaT, False)."""
    fill = {name: (False if v.dtype.kind == "b" else np.datetime64("NaT", "ns") if v.dtype.kind == "M" else np.nan)
            for name, v in ds.data_vars.items()}
    return ds.reindex(step=np.arange(width), fill_value=fill)
