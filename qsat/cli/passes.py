"""``qsat passes SCENARIO --out passes.csv [--series geometry.nc]``: the pass table."""

from __future__ import annotations

from pathlib import Path

from . import add_backend_option


def register(sub) -> None:
    p = sub.add_parser("passes", help="find every pass of every satellite over every station",
                       description="Find every pass above the elevation mask and write the pass table "
                                   "(CSV) and, optionally, the per-step geometry (NetCDF).")
    p.add_argument("scenario", type=Path, help="scenario file (TOML)")
    p.add_argument("--out", type=Path, required=True, help="pass table to write (.csv, or .parquet with qsat[outputs])")
    p.add_argument("--series", type=Path, default=None, help="per-step geometry to write (.nc)")
    p.add_argument("--engine", choices=("batched", "skyfield"), default=None,
                   help="pass engine (default: the scenario's [engine] passes, else batched)")
    add_backend_option(p)
    p.set_defaults(func=main)


def main(args) -> int:
    from .. import scenario as scenario_mod
    from ..outputs import check_product_path, write_dataset, write_table
    from ..pipeline import Run
    from ..backend import resolve
    from ..orbits.stage import compute_passes
    from ..orbits.timebase import data_versions

    check_product_path(args.out, "table")
    if args.series is not None:
        check_product_path(args.series, "dataset", "--series")
    scenario = scenario_mod.load(args.scenario)
    run = Run(scenario=scenario, backend=resolve(args.backend))
    result = compute_passes(scenario, engine=args.engine, backend=run.backend)
    for message in result.warnings:
        run.warn(message)
    run.data_versions.update(data_versions())
    write_table(result.passes, args.out, run.provenance())
    if args.series is not None:
        write_dataset(result.geometry, args.series, run.provenance())
    print(f"{len(result.passes)} passes -> {args.out}")
    return 0
