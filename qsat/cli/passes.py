"""``qsat passes SCENARIO --out passes.csv [--series geometry.nc|.zarr]``: the pass table.

The job is sized before it runs and refused with one line if it cannot fit. The
batched engine computes and writes the per-step geometry (NetCDF or Zarr) group by
group of passes, so memory is set by the group, not by the window; only the pass
table (one row per pass) is held whole. Progress (``--quiet`` hides it): the pass search,
the per-step geometry group by group (done/total, with an ETA), then writing.
"""

from __future__ import annotations

from pathlib import Path

from . import (add_backend_option, add_cluster_options, add_quiet_option, cluster_client, cluster_partition,
               cluster_requested)


def register(sub) -> None:
    p = sub.add_parser("passes", help="find every pass of every satellite over every station",
                       description="Find every pass above the elevation mask and write the pass table "
                                   "(CSV) and, optionally, the per-step geometry (NetCDF .nc or Zarr .zarr), "
                                   "written as it is computed.")
    p.add_argument("scenario", type=Path, help="scenario file (TOML)")
    p.add_argument("--out", type=Path, required=True, help="pass table to write (.csv, or .parquet with qsat[outputs])")
    p.add_argument("--series", type=Path, default=None, help="per-step geometry to write (.nc or .zarr)")
    p.add_argument("--engine", choices=("batched", "skyfield"), default=None,
                   help="pass engine (default: the scenario's [engine] passes, else batched)")
    add_cluster_options(p)
    add_quiet_option(p)
    add_backend_option(p)
    p.set_defaults(func=main)


def main(args) -> int:
    import contextlib

    from .. import scenario as scenario_mod
    from ..backend import compute_mode, resolve
    from ..errors import QsatInputError
    from ..orbits.stage import compute_passes, plan
    from ..orbits.timebase import data_versions
    from ..outputs import check_product_path, write_dataset, write_table
    from ..pipeline import Run
    from ..progress import Stages

    check_product_path(args.out, "table")
    if args.series is not None:
        check_product_path(args.series, "dataset", "--series")
    scenario = scenario_mod.load(args.scenario)
    run = Run(scenario=scenario, backend=resolve(args.backend), mode=compute_mode(args.backend))
    run.data_versions.update(data_versions())
    distributed = cluster_requested(args)
    streamed = (args.engine or scenario.engine.passes) == "batched" and not distributed
    if distributed and args.engine == "skyfield":
        raise QsatInputError("--engine", "skyfield", "the batched engine with --scheduler/--workers")
    partition = cluster_partition(args)  # checked with or without a cluster: a stray flag is an error
    # Every refusal (bad stations or elements, a job too big, a cluster that does not answer) comes
    # as one line before the first progress line.
    job = plan(scenario, mode=run.mode)
    outputs = {"--out": args.out, "--series": args.series} if streamed else None
    job.check(streamed=streamed, outputs=outputs)
    names = ["passes", "geometry", "write"] if streamed else ["passes", "write"]
    with contextlib.ExitStack() as stack:
        client = stack.enter_context(cluster_client(args)) if distributed else None
        progress = stack.enter_context(Stages(names, label="qsat passes", quiet=args.quiet))
        progress("passes")
        if streamed:
            table = _streamed(args, job, run, progress)
        else:
            if distributed:
                from ..orbits.distributed import compute_passes_distributed

                result = compute_passes_distributed(scenario, client, mode=run.mode, sat_block=partition[0],
                                                    time_block_s=partition[1])
            else:
                result = compute_passes(scenario, engine=args.engine, mode=run.mode)
            for message in result.warnings:
                run.warn(message)
            table = result.passes
        progress("write")
        if args.series is not None and not streamed:
            write_dataset(result.geometry, args.series, run.provenance())
        write_table(table, args.out, run.provenance())
    print(f"{len(table)} passes -> {args.out}")
    return 0


def _streamed(args, job, run, progress):
    """The batched engine group by group of passes, each group's geometry appended to ``--series``
    as it comes: the pass table."""
    import pandas as pd

    propagator = job.propagator()
    records = job.find(propagator)
    for message in job.warnings:
        run.warn(message)
    progress("geometry")
    n_groups = len(job.groups(records))
    tables = []
    for table, geometry in job.pieces(propagator, records, padded=args.series is not None):
        if args.series is not None:
            _append_series(geometry, args.series, run.provenance(), first=not tables)
        tables.append(table)
        progress.advance(len(tables), n_groups, "groups of passes")
    return pd.concat(tables, ignore_index=True)


def _append_series(geometry, path: Path, provenance: dict, *, first: bool) -> None:
    """One group's geometry appended along ``pass``: NetCDF written from the arrays directly (no
    xarray Dataset: its first one costs a process ~0.8 s of imports), Zarr through xarray."""
    from ..outputs import append_dataset, append_netcdf

    if path.suffix == ".zarr":
        append_dataset(geometry.dataset(), path, provenance, dim="pass", first=first)
    else:
        append_netcdf(geometry, path, provenance, dim="pass", first=first)
