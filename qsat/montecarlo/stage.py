"""Pipeline stage ``montecarlo``: the Monte Carlo of the scenario's passes, in-process (product ``montecarlo``).

Runs in ``qsat run`` when the scenario has a ``[montecarlo]`` section, after the budget stage
(so ``qsat budget`` does not run it); without ``[link]`` or ``[protocol]`` it records a
warning and adds nothing. Reads
``geometry``, ``link`` and ``passes`` and the ``[montecarlo]``, ``[protocol]``, ``[detector]``
and ``[network]`` sections; adds ``run.products["montecarlo"]``, the statistics Dataset of
:func:`qsat.montecarlo.run.run_montecarlo` with the scenario's seed — the same numbers as
``qsat montecarlo SCENARIO`` without ``--seed``/``--trials`` (no checkpoint: for large or
resumable runs use ``qsat montecarlo SCENARIO --out mc.zarr``). ``qsat run`` writes it like
every Dataset product (:func:`qsat.outputs.write_products`: ``montecarlo.nc`` / ``.zarr``).
"""

from __future__ import annotations


def run_stage(run) -> None:
    from ..errors import QsatError
    from .inputs import inputs_for_run
    from .run import run_montecarlo

    missing = [f"[{name}]" for name in ("link", "protocol") if getattr(run.scenario, name, None) is None]
    if missing:
        run.warn(f"montecarlo: skipped, the scenario has [montecarlo] but no {' or '.join(missing)} "
                 "(the Monte Carlo samples the link and the protocol's keys)")
        return
    for need in ("geometry", "link", "passes"):
        if need not in run.products:
            raise QsatError(f"the montecarlo stage needs the '{need}' product (passes and link stages)")
    scenario = run.scenario
    mc = scenario.montecarlo
    inputs = inputs_for_run(run, mc)
    run.products["montecarlo"] = run_montecarlo(
        inputs, trials=mc.trials, seed=scenario.seed, trial_chunk=mc.trial_chunk, pass_chunk=mc.pass_chunk,
        backend=run.backend, bins=mc.histogram_bins, progress=False, store_counts=mc.store_counts,
        identity={"scenario_sha256": scenario.digest(), "scenario_name": scenario.name})
