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

    def warn(self, message: str) -> None:
        """Record a warning in the result and show it to the user."""
        self.warnings.append(message)
        warnings.warn(message, QsatWarning, stacklevel=2)

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


def execute(scenario: Scenario, backend: str | None = None, until: str | None = None, progress=None) -> Run:
    """Run every applicable stage (up to and including ``until``)."""
    run = Run(scenario=scenario, backend=resolve(backend), mode=compute_mode(backend))
    for stage in STAGES:
        if stage.applies(scenario):
            if progress is not None:  # e.g. qsat.progress.Stages.start: called with each stage's name
                progress(stage.name)
            stage.function()(run)
        if stage.name == until:
            break
    return run
