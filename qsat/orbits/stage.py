"""The orbit/pass stage: scenario → satellites and stations → passes → per-step geometry."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from ..backend import resolve as resolve_backend
from ..errors import QsatInputError
from ..scenario import Scenario
from . import batch, reference, steps as step_mod
from .elements import Satellite, resolve_satellite
from .products import build
from .propagate import Propagator
from .sky import SkyTable
from .stations import Station, resolve_station
from .timebase import TimeGrid, data_versions

# python-sgp4's error codes (sgp4.api.SGP4_ERRORS), for reports.
SGP4_MESSAGES = {
    1: "mean eccentricity outside [0, 1)", 2: "mean motion below zero",
    3: "perturbed eccentricity outside [0, 1]", 4: "semi-latus rectum below zero",
    6: "satellite has decayed",
}


@dataclass
class PassResult:
    grid: TimeGrid
    satellites: list[Satellite]
    stations: list[Station]
    passes: pd.DataFrame
    geometry: xr.Dataset
    warnings: list[str]


def resolve(scenario: Scenario) -> tuple[TimeGrid, list[Satellite], list[Station], list[str]]:
    """Time grid, satellites and stations of a scenario; warnings for aged elements."""
    grid = TimeGrid.from_window(scenario.time.start, scenario.time.duration, scenario.time.step)
    sats = [resolve_satellite(spec, i, scenario.base_dir, near=scenario.time.start)
            for i, spec in enumerate(scenario.satellites)]
    stations = [resolve_station(spec, i) for i, spec in enumerate(scenario.ground_stations)]
    for field, items in (("satellites", [s.name for s in sats]), ("ground_stations", [s.name for s in stations])):
        dup = sorted({n for n in items if items.count(n) > 1})
        if dup:
            raise QsatInputError(f"{field}.name", dup[0], "unique names (each name appears once)")
    warnings = []
    limit_days = scenario.engine.epoch_warning / 86400.0
    t_mid = scenario.time.start.timestamp() + scenario.time.duration / 2
    for sat in sats:
        age_days = abs(sat.epoch.timestamp() - t_mid) / 86400.0
        if age_days > limit_days:
            warnings.append(f"satellite {sat.name}: element epoch {sat.epoch:%Y-%m-%d} is {age_days:.0f} days "
                            f"from the scenario window; SGP4 errors grow by ~1-3 km per day from epoch")
    return grid, sats, stations, warnings


def compute_passes(scenario: Scenario, engine: str | None = None, backend: str | None = None,
                   mode: str | None = None) -> PassResult:
    """Every pass of every satellite over every station, with per-step geometry.

    ``engine``: "batched" (default) or "skyfield" (the reference). ``backend``:
    numpy/cupy/auto, as everywhere; ``mode`` overrides the batched engine's compute
    mode ("numpy", "cupy", or "host": the CUDA kernels built for the CPU).
    """
    grid, sats, stations, warnings = resolve(scenario)
    engine = engine or scenario.engine.passes
    mask_deg = scenario.constraints.elevation_mask_deg
    satrecs = [s.satrec for s in sats]
    st_itrs = np.array([s.itrs_m() for s in stations])
    st_latlon = np.array([s.latlon_rad for s in stations])
    if engine == "skyfield":
        records = reference.find_passes(grid, satrecs, stations, mask_deg)
        records = _drop_short(records)
        steps = reference.reference_steps(grid, satrecs, stations, records)
    else:
        propagator = Propagator(satrecs, mode or resolve_backend(backend))
        records, errors = batch.find_passes(grid, propagator, st_itrs, st_latlon, np.radians(mask_deg),
                                            scenario.engine.coarse_step)
        records = _drop_short(records)
        for s, codes in errors.items():
            warnings.append(f"satellite {sats[s].name}: SGP4 failed over part of the window ("
                            + "; ".join(SGP4_MESSAGES.get(c, f"code {c}") for c in codes)
                            + "); no passes reported while it fails")
        steps = step_mod.batched_steps(grid, propagator, st_itrs, st_latlon, records, SkyTable.for_grid(grid))
    table, ds = build(grid, [s.name for s in sats], stations, records, steps,
                      night_sun_altitude_deg=scenario.constraints.night_sun_altitude_deg)
    keep = np.ones(len(table), dtype=bool)
    if scenario.constraints.night_only:
        keep &= table["dark"].to_numpy()
    if scenario.constraints.min_pass_duration is not None:
        keep &= table["duration_s"].to_numpy() >= scenario.constraints.min_pass_duration
    if not keep.all():
        table, ds = _select(table, ds, keep)
    return PassResult(grid, sats, stations, table, ds, warnings)


def _drop_short(records: batch.PassRecords) -> batch.PassRecords:
    """Passes shorter than one second carry no usable link; both engines drop them alike."""
    keep = (records.t_set - records.t_rise) >= 1.0
    return batch.PassRecords(*(getattr(records, f)[keep] for f in records.__dataclass_fields__))


def _select(table: pd.DataFrame, ds: xr.Dataset, keep: np.ndarray):
    idx = np.nonzero(keep)[0]
    table = table.iloc[idx].reset_index(drop=True)
    table["pass_id"] = np.arange(len(table))
    ds = ds.isel({"pass": idx}).assign_coords({"pass": np.arange(len(idx))})
    return table, ds


def run_stage(run) -> None:
    """Pipeline stage: adds products ``passes`` (table) and ``geometry`` (Dataset)."""
    result = compute_passes(run.scenario, backend=run.backend)
    for message in result.warnings:
        run.warn(message)
    run.data_versions.update(data_versions())
    for sat in result.satellites:
        run.data_versions[f"elements[{sat.name}]"] = f"{sat.source} epoch {sat.epoch:%Y-%m-%dT%H:%M:%SZ}"
    run.products["passes"] = result.passes
    run.products["geometry"] = result.geometry
    run.context["pass_result"] = result
