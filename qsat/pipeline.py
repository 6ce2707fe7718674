"""``qsat run``: the stages of the data flow, run in order on one scenario.

A stage is a function ``stage(run: Run) -> None`` that reads the products of
earlier stages from ``run.products`` and adds its own; nothing reaches back
upstream. A stage runs when its scenario section is present (``needs``).
Stages are imported lazily so that ``qsat passes`` never loads the key machinery.
"""

from __future__ import annotations

import importlib
import platform
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone

from . import __version__
from .backend import compute_mode, resolve
from .errors import QsatWarning
from .scenario import Scenario


@dataclass(frozen=True)
class Stage:
    name: str
    target: str  # "module:function"
    needs: tuple[str, ...] = ()  # scenario sections that must be present

    def applies(self, scenario: Scenario) -> bool:
        return all(getattr(scenario, s, None) is not None for s in self.needs)

    def function(self):
        module, func = self.target.split(":")
        return getattr(importlib.import_module(module), func)


#: The stages of ``qsat run``, in data-flow order.
STAGES: list[Stage] = [
    Stage("passes", "qsat.orbits.stage:run_stage"),
    Stage("link", "qsat.channel.stage:run_stage", needs=("link",)),
    Stage("keys", "qsat.protocols.stage:run_stage", needs=("protocol",)),
    Stage("budget", "qsat.network.stage:run_stage", needs=("network",)),
    # last: the costliest stage, and `qsat budget` (until="budget") does not run it
    Stage("montecarlo", "qsat.montecarlo.stage:run_stage", needs=("montecarlo",)),
]


@dataclass
class Run:
    """The state of one ``qsat run``: scenario, backend, products so far, provenance."""

    scenario: Scenario
    backend: str
    products: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    data_versions: dict = field(default_factory=dict)
    context: dict = field(default_factory=dict)  # in-memory objects shared between stages, not written
    mode: str | None = None  # the pass engine's compute mode (backend.compute_mode); None: from backend

    def warn(self, message: str, category: type[Warning] = QsatWarning) -> None:
        """Record a warning in the result and show it to the user, once per run (a stage run
        group by group meets the same condition in several groups)."""
        if message in self.warnings:
            return
        self.warnings.append(message)
        warnings.warn(message, category, stacklevel=2)

    def dataset(self, name: str):
        """The Dataset product ``name``: in memory, or (when it was streamed to its file) opened
        lazily from that file (``context["streamed"]``); None when the run has none."""
        product = self.products.get(name)
        return product if product is not None else self.context.get("streamed", {}).get(name)

    def provenance(self) -> dict:
        """Attributes every output file carries."""
        return {
            "qsat_version": __version__,
            "scenario_name": self.scenario.name,
            "scenario_sha256": self.scenario.digest(),
            "backend": self.backend,
            "compute_mode": self.mode or self.backend,
            "seed": self.scenario.seed,
            "created_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "python": platform.python_version(),
            "data_versions": "; ".join(f"{k}={v}" for k, v in sorted(self.data_versions.items())),
            "warnings": " | ".join(self.warnings),
        }


def execute(scenario: Scenario, backend: str | None = None, until: str | None = None, progress=None,
            sink=None, series: bool = True, cluster=None, steps_per_group: int | None = None) -> Run:
    """Run every applicable stage (up to and including ``until``).

    ``sink(name, dataset, provenance)``: where a :func:`streamable` scenario's per-step products go group by
    group of passes (e.g. :class:`qsat.outputs.PieceWriter`); with one, the passes, link and keys
    stages run together through :func:`stream_passes` and hold only the per-pass tables whole.
    ``series=False``: a streamable scenario's per-step products are computed group by group and
    dropped (only the per-pass tables are kept; ``sink`` is not called). ``cluster``
    (:class:`qsat.pipeline_distributed.Cluster`): the streamed stages run as Dask tasks there
    (:func:`qsat.pipeline_distributed.stream_passes_distributed`); refused for a scenario that
    is not streamable. ``steps_per_group``: steps in a group of passes of a streamed run (default
    ``qsat.orbits.stage.STEPS_PER_GROUP``); the numbers are the same for any.
    """
    run = Run(scenario=scenario, backend=resolve(backend), mode=compute_mode(backend))
    if cluster is not None:
        refuse_unstreamable(scenario, "--workers/--scheduler")
    streamed = streamable(scenario) and (sink is not None or not series or cluster is not None)
    for stage in STAGES:
        if streamed and stage.name in STREAMED_STAGES:
            if stage.name == "passes" and cluster is not None:
                from .pipeline_distributed import stream_passes_distributed

                stream_passes_distributed(run, sink, cluster, progress, series=series,
                                          steps_per_group=steps_per_group)
            elif stage.name == "passes":
                stream_passes(run, sink, progress, series=series, steps_per_group=steps_per_group)
        elif stage.applies(scenario):
            if progress is not None:  # e.g. a qsat.progress.Stages: called with each stage's name
                progress(stage.name)
            stage.function()(run)
        if stage.name == until:
            break
    return run


#: The stages :func:`stream_passes` runs together, group by group of passes.
STREAMED_STAGES = ("passes", "link", "keys")


def unstreamable_reason(scenario: Scenario) -> str | None:
    """Why ``qsat run`` cannot compute this scenario's passes, link and keys group by group of
    passes (None when it can): a ``[montecarlo]`` samples the whole window's link product at once,
    BBM92's dual downlink pairs passes overlapping in time anywhere in the window, and keys need
    a link (the whole-window path reports that error)."""
    if scenario.montecarlo is not None:
        return "its [montecarlo] section samples the whole window's link at once"
    if scenario.protocol is not None:
        from .protocols.stage import streamable as keys_streamable

        if scenario.link is None:
            return "its [protocol] has no [link] section"
        if not keys_streamable(scenario.protocol):
            return "BBM92 with dual_downlink pairs passes overlapping anywhere in the window"
    return None


def streamable(scenario: Scenario) -> bool:
    """Whether ``qsat run`` computes this scenario's passes, link and keys group by group of passes
    (:func:`unstreamable_reason`)."""
    return unstreamable_reason(scenario) is None


def refuse_unstreamable(scenario: Scenario, field: str) -> None:
    """One line naming ``field`` (an option that needs the streamed run) and why this scenario
    is run whole-window instead."""
    reason = unstreamable_reason(scenario)
    if reason is not None:
        from .errors import QsatInputError

        raise QsatInputError(field, scenario.name, f"a scenario qsat run streams group by group of passes "
                                                   f"(this one runs whole-window: {reason})")


def stream_passes(run: Run, sink, progress=None, series: bool = True, steps_per_group: int | None = None) -> None:
    """The passes, link and keys stages group by group of passes (``PassJob.blocks``): each group's
    per-step Datasets go to ``sink(name, dataset, run.provenance())`` (padded to the window's step width, ``pass``
    numbered across the window; dropped unsent when not ``series``), its per-pass tables are kept
    and joined into ``run.products``. ``steps_per_group``: the groups' size (``PassJob.groups``).

    Every number is that of the stages run on the whole window: the link's and the optimiser's
    random draws are keyed by the window's pass index (``first_pass``), not the group's.
    """
    job = plan_streamed(run, progress)
    propagator = job.propagator()
    records = job.find(propagator)
    found(run, job, progress)
    tables: dict[str, list] = {}
    first = 0
    n_groups = len(job.groups(records, steps_per_group))
    # Padded to the window's step width even without a sink: a group's sums over steps then
    # run over the same lengths as the whole window's, so its numbers are the same bit for bit.
    blocks = job.blocks(propagator, records, padded=True, steps_per_group=steps_per_group)
    for done, (passes, geometry) in enumerate(blocks, start=1):
        announce_group(run, progress)
        per_pass, per_step = group_products(run, passes, geometry, first)
        keep_group(run, sink if series else None, tables, per_pass, per_step)
        first += len(passes)
        advance(progress, done, n_groups)
    finish_streamed(run, sink if series else None, tables)


def plan_streamed(run: Run, progress):
    """The streamed job of ``run``, planned and checked (refused in one line if it cannot fit)."""
    from .orbits.stage import plan

    if progress is not None:
        progress("passes")
    job = plan(run.scenario, backend=run.backend, mode=run.mode)
    job.check(streamed=True)
    return job


def found(run: Run, job, progress) -> None:
    """After the pass search of ``job``: the pass stage's sources and warnings recorded in ``run``,
    and the link and keys stages readied to be announced at the first group (they run with every group)."""
    import pandas as pd

    from .orbits.stage import PassResult, record_sources

    record_sources(run, PassResult(job.grid, job.satellites, job.stations, pd.DataFrame(), None, job.warnings))
    sc = run.scenario
    run.context["announce"] = [name for name, section in (("link", sc.link), ("keys", sc.protocol))
                               if section is not None and progress is not None]


def advance(progress, done: int, total: int) -> None:
    """``done`` of ``total`` groups of passes finished, for a progress that shows a stage's size
    (:meth:`qsat.progress.Stages.advance`); a plain ``progress(name)`` callback is not told."""
    report = getattr(progress, "advance", None)
    if report is not None:
        report(done, total, "groups of passes")


def announce_group(run: Run, progress) -> None:
    """Announce the link and keys stages at the first group (:func:`found`)."""
    for name in run.context.pop("announce", []):
        progress(name)


def group_products(run: Run, passes, geometry, first_pass: int) -> tuple[dict, dict]:
    """(per-pass tables, per-step Datasets) of one group of passes: its pass table and geometry,
    with the link and keys the scenario describes, whose draws start at the window's pass
    ``first_pass``."""
    import pandas as pd

    from .channel.stage import link_of
    from .protocols.stage import keys_of

    sc = run.scenario
    per_step = {"geometry": geometry}
    per_pass = {"passes": passes}
    if sc.link is not None:
        per_step["link"] = link_of(run, geometry, first_pass=first_pass)
    if sc.protocol is not None:
        for name, product in keys_of(run, geometry, per_step["link"], passes, first_pass=first_pass).items():
            (per_pass if isinstance(product, pd.DataFrame) else per_step)[name] = product
    return per_pass, per_step


def keep_group(run: Run, sink, tables: dict, per_pass: dict, per_step: dict) -> None:
    """A group's per-step Datasets to ``sink`` (None: dropped), its per-pass tables kept in ``tables``."""
    if sink is not None:
        for name, dataset in per_step.items():
            sink(name, dataset, run.provenance())
    for name, table in per_pass.items():
        tables.setdefault(name, []).append(table)


def finish_streamed(run: Run, sink, tables: dict) -> None:
    """The kept per-pass tables joined into ``run.products``; ``sink`` (if any) in ``run.context``."""
    import pandas as pd

    for name, parts in tables.items():
        run.products[name] = pd.concat(parts, ignore_index=True)
    run.context["pass_result"].passes = run.products["passes"]
    if sink is not None:
        run.context["pieces"] = sink  # write_products lists its files (qsat.outputs.PieceWriter)
