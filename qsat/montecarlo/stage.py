"""Pipeline stage ``montecarlo``: the Monte Carlo of the scenario's passes, in-process (product ``montecarlo``).

Reads ``geometry``, ``link`` and ``passes`` and the ``[montecarlo]``, ``[protocol]`` and
``[detector]`` sections; adds ``run.products["montecarlo"]``, the statistics Dataset of
:func:`qsat.montecarlo.run.run_montecarlo` (no checkpoint; for large or resumable runs use
``qsat montecarlo SCENARIO --out mc.zarr``). To run it in ``qsat run``, the stage list gets
``Stage("montecarlo", "qsat.montecarlo.stage:run_stage", needs=("montecarlo", "link", "protocol"))``
after the link stage.
"""

from __future__ import annotations


def run_stage(run) -> None:
    from ..errors import QsatError
    from .inputs import build_inputs
    from .run import run_montecarlo

    for need in ("geometry", "link", "passes"):
        if need not in run.products:
            raise QsatError(f"the montecarlo stage needs the '{need}' product (passes and link stages)")
    scenario = run.scenario
    mc = scenario.montecarlo
    inputs = build_inputs(run.products["geometry"], run.products["link"], run.products["passes"], scenario.protocol,
                          getattr(scenario, "detector", None), mc, getattr(scenario, "network", None), warn=run.warn,
                          base_dir=scenario.base_dir)
    run.products["montecarlo"] = run_montecarlo(
        inputs, trials=mc.trials, seed=scenario.seed, trial_chunk=mc.trial_chunk, pass_chunk=mc.pass_chunk,
        backend=run.backend, bins=mc.histogram_bins, progress=False, store_counts=mc.store_counts,
        identity={"scenario_sha256": scenario.digest(), "scenario_name": scenario.name})
