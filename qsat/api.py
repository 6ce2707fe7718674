"""qsat's public API in one place.

>>> import qsat.api as q
>>> scenario = q.load_scenario("examples/micius_xinglong.toml")  # doctest: +SKIP
>>> result = q.compute_passes(scenario)                          # doctest: +SKIP

Names are imported on first use (PEP 562), so ``import qsat.api`` costs nothing and
a script pays only for what it touches (the scenario layer brings pydantic and
astropy, the pass stage pandas and xarray).
"""

from __future__ import annotations

import importlib

#: public name -> (module, attribute)
_EXPORTS = {
    "Scenario": ("qsat.scenario", "Scenario"),
    "load_scenario": ("qsat.scenario", "load"),
    "loads_scenario": ("qsat.scenario", "loads"),
    "compute_passes": ("qsat.orbits.stage", "compute_passes"),
    "plan_passes": ("qsat.orbits.stage", "plan"),
    "PassResult": ("qsat.orbits.stage", "PassResult"),
    "Run": ("qsat.pipeline", "Run"),
    "execute": ("qsat.pipeline", "execute"),
    "QsatError": ("qsat.errors", "QsatError"),
    "QsatInputError": ("qsat.errors", "QsatInputError"),
    "QsatWarning": ("qsat.errors", "QsatWarning"),
    "gpu_available": ("qsat.backend", "gpu_available"),
    "namespace": ("qsat.backend", "namespace"),
    "resolve_backend": ("qsat.backend", "resolve"),
    "compute_mode": ("qsat.backend", "compute_mode"),
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    try:
        module, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'qsat.api' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
