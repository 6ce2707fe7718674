"""``qsat run``'s streamed passes, link and keys as Dask tasks, results identical to one process.

The client finds the window's passes (:func:`qsat.orbits.distributed.find_passes_distributed`:
satellite blocks × time blocks, canonical order), cuts them into the groups of passes that
:func:`qsat.pipeline.stream_passes` would compute (``PassJob.groups``) and submits, per group,
two tasks:

1. :func:`geometry_task`: the group's per-step geometry and pass table, with the scenario's pass
   constraints applied (``night_only`` and ``min_pass_duration`` drop passes by their per-step
   data, so the count a group keeps is known only once it is computed);
2. :func:`group_task`: the group numbered from its window-level first pass index, padded to
   the window's step width, then its link and keys. The link's elliptic-beam draws and the
   per-pass optimiser's draws are keyed by that index, so a group draws what the whole window
   would. The index is a future, the sum of the counts the earlier groups kept
   (:func:`kept`, :func:`next_first`), so no task waits on the client.

The client takes the results in window order: it records each group's warnings and data
versions in the run, hands its per-step Datasets to the sink (unless ``series`` is off, in which
case the workers do not send them) and keeps its per-pass tables; at most :attr:`Cluster.in_flight`
groups are submitted and not yet taken, so memory is set by the groups in flight, not the window.
Every number is the in-process run's (``tests/outputs/test_distributed_run.py``, bit for bit).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from .errors import QsatWarning
from .pipeline import (Run, advance, announce_group, finish_streamed, found, group_products, keep_group,
                       plan_streamed)


@dataclass(frozen=True)
class Cluster:
    """Where and how ``qsat run`` distributes its streamed stages.

    ``sat_block``/``time_block_s``: the pass search's partition
    (:func:`qsat.orbits.distributed.partition`; default all satellites, the whole window).
    ``in_flight``: groups of passes submitted and not yet taken by the client (default: twice
    the cluster's worker threads).
    """

    client: object
    sat_block: int | None = None
    time_block_s: float | None = None
    in_flight: int | None = None

    def groups_in_flight(self) -> int:
        if self.in_flight is not None:
            return max(1, int(self.in_flight))
        return max(2, 2 * sum(self.client.nthreads().values()))


@dataclass
class _TaskRun(Run):
    """A worker's view of the run: warnings are kept with their category for the client to
    record in window order, not shown on the worker."""

    raised: list = field(default_factory=list)

    def warn(self, message: str, category: type[Warning] = QsatWarning) -> None:
        if message not in self.warnings:
            self.warnings.append(message)
            self.raised.append((message, category))


def geometry_task(scenario, mode: str, block_s: float, records):
    """(pass table, geometry Dataset) of pass records ``records`` (global satellite indices), the
    scenario's pass constraints applied; passes not yet numbered, steps not yet padded."""
    from .orbits.distributed import _job

    job = _job(scenario, mode, block_s)
    # a propagator per task: tasks of an in-process cluster run in threads side by side
    return job.products(records, job.steps(job.propagator(), records))


def kept(piece) -> int:
    """Passes a :func:`geometry_task` ``piece`` kept (run where the piece is: only the count moves)."""
    return len(piece[0])


def next_first(first: int, count: int) -> int:
    """The window's index of the first pass after a group that starts at ``first`` and keeps ``count``."""
    return int(first) + int(count)


def group_task(scenario, backend: str, mode: str | None, piece, first: int, width: int, series: bool):
    """A group's products from its :func:`geometry_task` ``piece``, numbered from the window's pass
    ``first`` and padded to ``width`` steps, as :meth:`qsat.orbits.stage.PassJob.blocks` does:
    (per-pass tables, per-step Datasets or {} without ``series``, warnings with their category,
    data versions)."""
    from .orbits.products import pad_steps

    table, geometry = piece
    ids = np.arange(first, first + len(table))
    table = table.copy()
    table["pass_id"] = ids
    geometry = pad_steps(geometry.assign_coords({"pass": ids}), width)
    run = _TaskRun(scenario=scenario, backend=backend, mode=mode)
    per_pass, per_step = group_products(run, table, geometry, int(first))
    return per_pass, (per_step if series else {}), run.raised, dict(run.data_versions)


def stream_passes_distributed(run: Run, sink, cluster: Cluster, progress=None, series: bool = True,
                              steps_per_group: int | None = None) -> None:
    """:func:`qsat.pipeline.stream_passes` as Dask tasks on ``cluster.client``: the same products,
    sink calls and warnings, in the same order, for the same ``steps_per_group``."""
    from .orbits import steps as step_mod
    from .orbits.distributed import find_passes_distributed

    client = cluster.client
    job = plan_streamed(run, progress)
    records = find_passes_distributed(job, client, sat_block=cluster.sat_block, time_block_s=cluster.time_block_s)
    found(run, job, progress)
    announce_group(run, progress)  # the link and keys start with the first group's tasks
    width = int(step_mod.step_counts(job.grid, records).max(initial=0))
    payload = (run.scenario, job.mode, job.block_s)
    limit = cluster.groups_in_flight()
    pending: deque = deque()
    tables: dict[str, list] = {}
    first = 0  # the window's index of the next group's first pass: an int, then a future
    groups = job.groups(records, steps_per_group)
    done = 0
    for rows in groups:
        piece = client.submit(geometry_task, *payload, records.take(rows), pure=False)
        pending.append(client.submit(group_task, run.scenario, run.backend, run.mode, piece, first, width,
                                     series, pure=False))
        # Only counts travel along the chain of first indices: a piece's per-step geometry stays on
        # its worker, where its group_task runs.
        first = client.submit(next_first, first, client.submit(kept, piece, pure=False), pure=False)
        while len(pending) >= limit:
            _take(run, pending.popleft(), sink if series else None, tables)
            done += 1
            advance(progress, done, len(groups))
    while pending:
        _take(run, pending.popleft(), sink if series else None, tables)
        done += 1
        advance(progress, done, len(groups))
    finish_streamed(run, sink if series else None, tables)


def _take(run: Run, future, sink, tables: dict) -> None:
    """One group's result, in window order: its warnings and data versions recorded in ``run``
    (as the in-process run records them while computing the group), then its products kept."""
    per_pass, per_step, raised, versions = future.result()
    future.release()
    for message, category in raised:
        run.warn(message, category)
    run.data_versions.update(versions)
    keep_group(run, sink, tables, per_pass, per_step)


__all__ = ["Cluster", "stream_passes_distributed", "geometry_task", "group_task", "kept", "next_first"]
