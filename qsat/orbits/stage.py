"""The orbit/pass stage: scenario → satellites and stations → passes → per-step geometry."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from ..backend import compute_mode
from ..errors import QsatInputError
from ..outputs import PlainDataset
from ..scenario import Scenario
from . import batch, reference, sizing, steps as step_mod
from .elements import Satellite, resolve_satellite
from .products import build_arrays
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
    geometry: xr.Dataset | None  # None where the geometry was streamed group by group (qsat run)
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


#: Time blocks of the pass search [s]: one day of screen samples per block.
DEFAULT_BLOCK_S = 86400.0
#: Steps computed together in one group of passes: ~0.3 GB of per-step arrays at a time.
STEPS_PER_GROUP = 1_000_000


@dataclass
class PassJob:
    """A scenario's pass computation, resolved and planned but not yet run."""

    scenario: Scenario
    grid: TimeGrid
    satellites: list[Satellite]
    stations: list[Station]
    warnings: list[str]
    mode: str
    screen: batch.ScreenPlan
    block_s: float

    @property
    def mask_rad(self) -> float:
        return float(np.radians(self.scenario.constraints.elevation_mask_deg))

    @property
    def stations_itrs_m(self) -> np.ndarray:
        return np.array([s.itrs_m() for s in self.stations])

    @property
    def stations_latlon_rad(self) -> np.ndarray:
        return np.array([s.latlon_rad for s in self.stations])

    def propagator(self) -> Propagator:
        return Propagator([s.satrec for s in self.satellites], self.mode)

    def find(self, propagator: Propagator | None = None) -> batch.PassRecords:
        """Pass records of the whole window, searched block by block; SGP4 failures become warnings."""
        records, errors = self.search(propagator or self.propagator())
        self.report(errors)
        return records

    def search(self, propagator: Propagator, span_s: tuple[float, float] | None = None):
        """(pass records without sub-second passes, SGP4 errors) of ``propagator``'s satellites."""
        records, errors = batch.find_passes(self.grid, propagator, self.stations_itrs_m, self.stations_latlon_rad,
                                            self.mask_rad, self.screen.step_s, block_s=self.block_s,
                                            halo_s=self.screen.max_pass_s, span_s=span_s)
        return _drop_short(records), errors

    def report(self, errors: dict) -> None:
        """Warnings for satellites SGP4 could not propagate (``{satellite index: codes}``)."""
        for s, codes in sorted(errors.items()):
            self.warnings.append(f"satellite {self.satellites[s].name}: SGP4 failed over part of the window ("
                                 + "; ".join(SGP4_MESSAGES.get(c, f"code {c}") for c in codes)
                                 + "); no passes reported while it fails")

    def groups(self, records: batch.PassRecords, steps_per_group: int | None = None) -> list[np.ndarray]:
        """Consecutive slices of ``records`` holding about ``steps_per_group`` (default
        ``STEPS_PER_GROUP``) steps each."""
        size = STEPS_PER_GROUP if steps_per_group is None else max(1, int(steps_per_group))
        counts = step_mod.step_counts(self.grid, records)
        cum = np.cumsum(counts)
        cuts = np.searchsorted(cum, np.arange(size, cum[-1] if len(cum) else 0, size), side="right")
        edges = np.unique(np.concatenate([[0], cuts, [len(records)]]))
        if len(edges) == 1:
            return [np.arange(0)]
        return [np.arange(a, b) for a, b in zip(edges[:-1], edges[1:])]

    def steps(self, propagator: Propagator, records: batch.PassRecords) -> dict:
        """Per-step geometry of ``records`` (Sun/Moon nodes over just their span)."""
        sky = SkyTable.for_span(self.grid, float(records.t_rise.min(initial=0.0)),
                                float(records.t_set.max(initial=0.0)))
        return step_mod.batched_steps(self.grid, propagator, self.stations_itrs_m, self.stations_latlon_rad,
                                      records, sky)

    def products(self, records: batch.PassRecords, steps: dict):
        """Pass table and geometry Dataset of ``records``, with the scenario's pass constraints applied."""
        table, geometry = self.arrays(records, steps)
        return table, geometry.dataset()

    def arrays(self, records: batch.PassRecords, steps: dict, width: int | None = None):
        """:meth:`products` with the geometry as plain arrays (:class:`qsat.outputs.PlainDataset`),
        ``width`` steps wide (default: the longest of ``records``)."""
        c = self.scenario.constraints
        table, geometry = build_arrays(self.grid, [s.name for s in self.satellites], self.stations, records, steps,
                                       night_sun_altitude_deg=c.night_sun_altitude_deg, width=width)
        keep = np.ones(len(table), dtype=bool)
        if c.night_only:
            keep &= table["dark"].to_numpy()
        if c.min_pass_duration is not None:
            keep &= table["duration_s"].to_numpy() >= c.min_pass_duration
        if not keep.all():
            table, geometry = _select(table, geometry, keep)
        return table, geometry

    def check(self, *, streamed: bool, outputs: dict | None = None) -> sizing.Estimate:
        """Refuse the job with one line if it cannot fit in memory or on disk (:func:`sizing.check`)."""
        return sizing.check(self, streamed=streamed, outputs=outputs)

    def blocks(self, propagator: Propagator | None = None, records: batch.PassRecords | None = None, *,
               padded: bool = False, steps_per_group: int | None = None):
        """(table, geometry) per group of passes, in pass order: memory set by the group, not the window.

        ``pass_id`` runs on across groups; each group's ``step`` width is its own longest pass, or
        with ``padded`` the window's longest (padding NaN, NaT, False), so the pieces append
        along ``pass`` into one file. ``records``: the passes from :meth:`find`, if already found;
        ``steps_per_group``: the groups' size (:meth:`groups`).
        """
        for table, geometry in self.pieces(propagator, records, padded=padded, steps_per_group=steps_per_group):
            yield table, geometry.dataset()

    def pieces(self, propagator: Propagator | None = None, records: batch.PassRecords | None = None, *,
               padded: bool = False, steps_per_group: int | None = None):
        """:meth:`blocks` with each group's geometry as plain arrays (:class:`qsat.outputs.PlainDataset`),
        for writers that need no xarray Dataset (:func:`qsat.outputs.append_netcdf`)."""
        propagator = propagator or self.propagator()
        records = self.find(propagator) if records is None else records
        width = int(step_mod.step_counts(self.grid, records).max(initial=0)) if padded else None
        first = 0
        for rows in self.groups(records, steps_per_group):
            part = records.take(rows)
            table, geometry = self.arrays(part, self.steps(propagator, part), width)
            ids = np.arange(first, first + len(table))
            table["pass_id"] = ids
            yield table, geometry.assign_coord("pass", ids)
            first += len(table)


def plan(scenario: Scenario, backend: str | None = None, mode: str | None = None,
         block_s: float | None = None) -> PassJob:
    """Resolve a scenario's satellites, stations and time grid, and choose how to compute its passes.

    ``mode`` overrides the compute mode that ``backend`` implies (``backend.compute_mode``):
    "numpy", "cupy", or "host" (the CUDA kernels built for the CPU).
    """
    grid, sats, stations, warnings = resolve(scenario)
    mask_rad = float(np.radians(scenario.constraints.elevation_mask_deg))
    configured = scenario.engine.coarse_step if "coarse_step" in scenario.engine.model_fields_set else None
    screen = batch.screen_plan([s.satrec for s in sats], mask_rad, configured)
    if configured is not None and np.isfinite(screen.separation_s) \
            and configured > screen.separation_s / batch.SCREEN_SAFETY:
        warnings.append(f"engine.coarse_step: {configured:g} s is longer than the proven safe screen step "
                        f"({screen.separation_s / batch.SCREEN_SAFETY:.0f} s) for these orbits; passes may be missed")
    return PassJob(scenario, grid, sats, stations, warnings, mode or compute_mode(backend), screen,
                   DEFAULT_BLOCK_S if block_s is None else float(block_s))


def compute_passes(scenario: Scenario, engine: str | None = None, backend: str | None = None,
                   mode: str | None = None, block_s: float | None = None) -> PassResult:
    """Every pass of every satellite over every station, with per-step geometry.

    ``engine``: "batched" (default) or "skyfield" (the reference). ``backend``:
    numpy/cupy/auto, as everywhere (auto on a CPU runs the host-built kernels when a
    compiler is present); ``mode`` overrides the batched engine's compute mode
    ("numpy", "cupy", or "host"); ``block_s``: length of the pass search's time
    blocks (the result is the same for any length). For bounded memory over long
    windows use :meth:`PassJob.blocks` (``plan(scenario).blocks()``).
    """
    job = plan(scenario, backend=backend, mode=mode, block_s=block_s)
    job.check(streamed=False)
    engine = engine or scenario.engine.passes
    if engine == "skyfield":
        satrecs = [s.satrec for s in job.satellites]
        records = reference.find_passes(job.grid, satrecs, job.stations, scenario.constraints.elevation_mask_deg)
        records = _drop_short(records)
        steps = reference.reference_steps(job.grid, satrecs, job.stations, records)
    else:
        propagator = job.propagator()
        records = job.find(propagator)
        groups = job.groups(records)
        steps = step_mod.concat([job.steps(propagator, records.take(rows)) for rows in groups],
                                [len(rows) for rows in groups])
    table, ds = job.products(records, steps)
    return PassResult(job.grid, job.satellites, job.stations, table, ds, job.warnings)


def _drop_short(records: batch.PassRecords) -> batch.PassRecords:
    """Passes shorter than one second carry no usable link; both engines drop them alike."""
    keep = (records.t_set - records.t_rise) >= 1.0
    return records.take(keep)


def _select(table: pd.DataFrame, geometry: PlainDataset, keep: np.ndarray):
    idx = np.nonzero(keep)[0]
    table = table.iloc[idx].reset_index(drop=True)
    table["pass_id"] = np.arange(len(table))
    return table, geometry.take("pass", idx).assign_coord("pass", np.arange(len(idx)))


def run_stage(run) -> None:
    """Pipeline stage: adds products ``passes`` (table) and ``geometry`` (Dataset)."""
    result = compute_passes(run.scenario, backend=run.backend, mode=run.mode)
    record_sources(run, result)
    run.products["passes"] = result.passes
    run.products["geometry"] = result.geometry


def record_sources(run, result: PassResult) -> None:
    """The pass stage's warnings and data versions (time scales, element sets) in ``run``, and
    ``result`` in ``run.context["pass_result"]`` for the exports and figures."""
    for message in result.warnings:
        run.warn(message)
    run.data_versions.update(data_versions())
    for sat in result.satellites:
        run.data_versions[f"elements[{sat.name}]"] = f"{sat.source} epoch {sat.epoch:%Y-%m-%dT%H:%M:%SZ}"
    run.context["pass_result"] = result
