"""Monte Carlo over trials × passes: sampled weather, turbulence, pointing and counts → keys.

* :class:`MonteCarloConfig` — the ``[montecarlo]`` scenario section;
* :func:`build_inputs` — the kernel's arrays from the passes/link products and the sections;
* :func:`sample_trials` (NumPy twin) and :func:`sample_trials_kernel` (``kernels/montecarlo.cu``
  on the GPU or its host build) — one fused trial per (trial, pass);
* :func:`pass_results`, :func:`statistics` — keys from sampled counts, statistics over trials;
* :func:`run_montecarlo` — chunked on Dask, checkpointed to Zarr, resumable.

Importing this package never imports Dask or Zarr; :func:`run_montecarlo` does.
See ``docs/montecarlo.md``.
"""

# The scenario package imports this package's section; importing it first keeps that
# cycle well ordered whichever module a user imports first.
from .. import scenario as _scenario  # noqa: F401
from .config import MonteCarloConfig  # noqa: E402
from .inputs import MonteCarloInputs, build_inputs
from .kernel import sample_trials_kernel
from .reduce import pass_results, statistics
from .sampler import sample_trials, step_mean_statistics


def run_montecarlo(*args, **kwargs):
    """See :func:`qsat.montecarlo.run.run_montecarlo` (imports Dask on first use)."""
    from .run import run_montecarlo as run

    return run(*args, **kwargs)


__all__ = ["MonteCarloConfig", "MonteCarloInputs", "build_inputs", "sample_trials", "sample_trials_kernel",
           "pass_results", "statistics", "step_mean_statistics", "run_montecarlo"]
