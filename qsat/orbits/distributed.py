"""The pass stage on Dask: satellite blocks × time blocks, results identical to one process.

Each task resolves the scenario itself (the elements are parsed by the same code
from the same files, so a worker's satellites are bit for bit the client's; SGP4's
``Satrec`` cannot be pickled), searches the passes of its satellites that culminate
in its time span and computes their per-step geometry. The client puts the pieces
in canonical order (:meth:`PassRecords.canonical`) and builds the products. Every
number is per-element arithmetic on global grids (screen samples, steps, Sun/Moon
nodes), so the result is identical for any partitioning (``tests/orbits/test_distributed.py``).
"""

from __future__ import annotations

import numpy as np

from . import steps as step_mod
from .batch import PassRecords
from .propagate import Propagator


#: Planned jobs of this worker process, by (scenario digest, base folder, mode, block): tasks of one
#: run share the resolved satellites, stations and Sun/Moon nodes.
_JOBS: dict = {}


def _job(scenario, mode: str, block_s: float):
    from .stage import plan

    key = (scenario.digest(), str(scenario.base_dir), mode, block_s)
    if key not in _JOBS:
        _JOBS.clear()
        _JOBS[key] = plan(scenario, mode=mode, block_s=block_s)
    return _JOBS[key]


def pass_task(scenario, mode: str, block_s: float, sats: list[int], span_s: tuple[float, float]):
    """Passes of satellites ``sats`` culminating in ``span_s``, with their per-step geometry.

    Returns (records with global satellite indices, per-step arrays, SGP4 errors by global index).
    """
    job = _job(scenario, mode, block_s)
    propagator = Propagator([job.satellites[i].satrec for i in sats], mode)
    records, errors = job.search(propagator, span_s)
    steps = job.steps(propagator, records)
    records, errors = _global(records, errors, sats)
    return records, steps, errors


def search_task(scenario, mode: str, block_s: float, sats: list[int], span_s: tuple[float, float]):
    """:func:`pass_task` without the per-step geometry: (records, SGP4 errors), global indices."""
    job = _job(scenario, mode, block_s)
    records, errors = job.search(Propagator([job.satellites[i].satrec for i in sats], mode), span_s)
    return _global(records, errors, sats)


def _global(records: PassRecords, errors: dict, sats: list[int]):
    """``records`` and ``errors`` of a task's satellites ``sats`` with the window's satellite indices."""
    index = np.asarray(sats)
    records.sat = index[records.sat] if len(records) else records.sat
    return records, {int(index[s]): codes for s, codes in errors.items()}


def partition(n_sat: int, duration_s: float, screen_step_s: float, sat_block: int | None,
              time_block_s: float | None):
    """(satellite index lists, time spans) of a partition; spans start on screen samples."""
    sat_block = n_sat if not sat_block else int(sat_block)
    sats = [list(range(a, min(a + sat_block, n_sat))) for a in range(0, n_sat, sat_block)]
    if not time_block_s or time_block_s >= duration_s:
        return sats, [(0.0, duration_s)]
    per = max(1, int(time_block_s // screen_step_s)) * screen_step_s
    edges = list(np.arange(0.0, duration_s, per)) + [duration_s]
    return sats, [(float(a), float(b)) for a, b in zip(edges[:-1], edges[1:])]


def compute_passes_distributed(scenario, client, *, backend: str | None = None, mode: str | None = None,
                               sat_block: int | None = None, time_block_s: float | None = None):
    """:func:`qsat.orbits.stage.compute_passes` (batched engine) as Dask tasks on ``client``.

    ``sat_block``: satellites per task (default: all); ``time_block_s``: window per task
    (default: the whole window). The result is the same for any choice.
    """
    from .stage import PassResult, plan

    job = plan(scenario, backend=backend, mode=mode)
    job.check(streamed=False)
    sats, spans = partition(len(job.satellites), job.grid.duration_s, job.screen.step_s, sat_block,
                            time_block_s)
    payload = (scenario, job.mode, job.block_s)
    futures = [client.submit(pass_task, *payload, s, span, pure=False) for s in sats for span in spans]
    parts = client.gather(futures)
    records = PassRecords.concat([p[0] for p in parts])
    steps = step_mod.concat([p[1] for p in parts], [len(p[0]) for p in parts])
    errors: dict[int, set] = {}
    for _, _, errs in parts:
        for s, codes in errs.items():
            errors.setdefault(s, set()).update(codes)
    job.report({s: sorted(c) for s, c in errors.items()})
    order = records.canonical()
    records, steps = records.take(order), _reorder_steps(steps, order, len(records))
    table, ds = job.products(records, steps)
    return PassResult(job.grid, job.satellites, job.stations, table, ds, job.warnings)


def find_passes_distributed(job, client, *, sat_block: int | None = None,
                            time_block_s: float | None = None) -> PassRecords:
    """:meth:`qsat.orbits.stage.PassJob.find` as Dask tasks (:func:`search_task`, no per-step
    geometry): the window's pass records in canonical order, SGP4 failures reported in ``job``."""
    sats, spans = partition(len(job.satellites), job.grid.duration_s, job.screen.step_s, sat_block,
                            time_block_s)
    payload = (job.scenario, job.mode, job.block_s)
    parts = client.gather([client.submit(search_task, *payload, s, span, pure=False)
                           for s in sats for span in spans])
    records = PassRecords.concat([p[0] for p in parts])
    errors: dict[int, set] = {}
    for _, errs in parts:
        for s, codes in errs.items():
            errors.setdefault(s, set()).update(codes)
    job.report({s: sorted(c) for s, c in errors.items()})
    return records.take(records.canonical())


def _reorder_steps(steps: dict, order: np.ndarray, n_pass: int) -> dict:
    """Per-step arrays for passes ``order`` (old indices, in their new order); other passes' steps dropped."""
    new_index = np.full(n_pass, -1)
    new_index[order] = np.arange(len(order))
    p = new_index[steps["pass_index"]] if n_pass else steps["pass_index"]
    keep = np.nonzero(p >= 0)[0]
    keep = keep[np.argsort(p[keep], kind="stable")]  # steps of a pass stay in time order
    out = {name: values[keep] for name, values in steps.items()}
    out["pass_index"] = p[keep]
    return out


__all__ = ["compute_passes_distributed", "pass_task", "search_task", "find_passes_distributed", "partition"]
