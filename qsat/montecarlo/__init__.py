"""Monte Carlo over trials × passes: sampled weather, turbulence, pointing and counts → keys.

* :class:`MonteCarloConfig` — the ``[montecarlo]`` scenario section;
* :func:`build_inputs` — the kernel's arrays from the passes/link products and the sections;
* :func:`sample_trials` (NumPy twin) and :func:`sample_trials_kernel` (``kernels/montecarlo.cu``
  on the GPU or its host build) — one fused trial per (trial, pass);
* :func:`pass_results`, :func:`statistics` — keys from sampled counts, statistics over trials;
* :func:`run_montecarlo` — chunked on Dask, checkpointed to Zarr, resumable.

Importing this package never imports xarray, Dask or Zarr: the names above load their
modules on first use, and :func:`run_montecarlo` imports Dask.
See ``docs/montecarlo.md``.
"""

# The scenario package imports this package's section; importing it first keeps that
# cycle well ordered whichever module a user imports first.
from .. import scenario as _scenario  # noqa: F401
from .config import MonteCarloConfig  # noqa: E402

# Loaded on first use: every scenario load imports this package (for its section), and
# ``reduce`` imports xarray (~0.4 s with pandas), which ``qsat passes`` and ``qsat link`` need not.
_LAZY = {"MonteCarloInputs": "inputs", "build_inputs": "inputs", "sample_trials_kernel": "kernel",
         "pass_results": "reduce", "statistics": "reduce", "sample_trials": "sampler",
         "step_mean_statistics": "sampler"}


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


def run_montecarlo(*args, **kwargs):
    """See :func:`qsat.montecarlo.run.run_montecarlo` (imports Dask on first use)."""
    from .run import run_montecarlo as run

    return run(*args, **kwargs)


__all__ = ["MonteCarloConfig", "MonteCarloInputs", "build_inputs", "sample_trials", "sample_trials_kernel",
           "pass_results", "statistics", "step_mean_statistics", "run_montecarlo"]
