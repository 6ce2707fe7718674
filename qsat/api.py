"""qsat's public API in one place.

>>> import qsat.api as q
>>> scenario = q.load_scenario("examples/micius_xinglong.toml")  # doctest: +SKIP
>>> result = q.compute_passes(scenario)                          # doctest: +SKIP
"""

from .backend import gpu_available, namespace, resolve as resolve_backend
from .errors import QsatError, QsatInputError, QsatWarning
from .orbits.stage import PassResult, compute_passes
from .pipeline import Run, execute
from .scenario import Scenario, load as load_scenario, loads as loads_scenario

__all__ = [
    "Scenario", "load_scenario", "loads_scenario", "compute_passes", "PassResult", "Run", "execute",
    "QsatError", "QsatInputError", "QsatWarning", "gpu_available", "namespace", "resolve_backend",
]
