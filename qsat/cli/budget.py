"""``qsat budget SCENARIO --out budget.nc``: network key budgets over days and years.

Runs the passes → link → keys stages the scenario enables, then the ``budget``
stage of its ``[network]`` section, and writes the budget Dataset (NetCDF) and,
next to it, the schedule (``<out>.schedule.csv``). The budget needs only the per-pass
tables, so a scenario ``qsat run`` streams (``qsat.pipeline.streamable``) computes its
passes, link and keys group by group of passes and drops their per-step products: memory
is set by the group and the pass table, not the window; ``--workers``/``--scheduler`` run
those groups on Dask, as ``qsat run`` does.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from . import (add_backend_option, add_cluster_options, add_quiet_option, cluster_partition, pipeline_cluster,
               refuse_unstreamed_cluster, require_sections, stage_progress)


def register(sub) -> None:
    p = sub.add_parser("budget", help="network key budgets: fiber, trusted relays, satellites, weather",
                       description="Key budgets per pass, day, month and year, per station, link and user "
                                   "pair, from a scenario with a [network] section (docs/network.md).")
    p.add_argument("scenario", type=Path, help="scenario file (TOML) with a [network] section")
    p.add_argument("--out", type=Path, required=True, help="budget.nc (NetCDF); the schedule goes next to it")
    add_quiet_option(p)
    add_backend_option(p)
    add_cluster_options(p)
    p.set_defaults(func=main)


def main(args) -> int:
    from .. import scenario as scenario_mod
    from ..network.config import check_references
    from ..orbits.stage import plan
    from ..orbits.stations import resolve_station
    from ..outputs import check_output_file, check_product_path, write_dataset, write_table
    from ..pipeline import execute, streamable

    sched = args.out.with_name(args.out.stem + ".schedule.csv")
    check_product_path(args.out, "dataset")
    check_output_file(sched)
    scenario = scenario_mod.load(args.scenario)
    require_sections(scenario, "budget", "network")
    names = [resolve_station(spec, i).name for i, spec in enumerate(scenario.ground_stations)]
    check_references(scenario.network, names)  # fail before the pass search, not after
    partition = cluster_partition(args)  # checked with or without a cluster: a stray flag is an error
    refuse_unstreamed_cluster(args, scenario)
    plan(scenario, backend=args.backend).check(streamed=streamable(scenario))  # refused before computing
    with contextlib.ExitStack() as stack:
        cluster = pipeline_cluster(stack, args, partition)
        progress = stack.enter_context(stage_progress(scenario, args, until="budget", then=("write",)))
        # series=False: a streamable scenario's per-step products are computed group by group and dropped
        run = execute(scenario, backend=args.backend, until="budget", progress=progress, series=False,
                      cluster=cluster)
        progress.start("write")
        budget = run.products["budget"]
        provenance = run.provenance()
        write_dataset(budget, args.out, provenance)
        write_table(run.products["schedule"], sched, provenance)
    print(f"wrote {args.out} and {sched}")
    for pair in budget["pair"].values:
        row = budget.sel(pair=pair)
        status = str(row["pair_status"].values)
        if status != "connected":
            print(f"  {pair}: {status}")
            continue
        q = row["pair_delivered_bits_total_quantiles"].values
        unmet = row["pair_unmet_bits_total_quantiles"].values
        print(f"  {pair}: delivered {q[1]:.4g} bit (P5 {q[0]:.4g}, P95 {q[2]:.4g}), unmet {unmet[1]:.4g} bit")
    return 0
