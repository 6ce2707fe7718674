"""``qsat run SCENARIO --out DIR``: the main job, every stage the scenario enables.

Writes every product (``--format``: NetCDF/Zarr for Datasets, CSV/Parquet for tables),
the standard figures when matplotlib is installed (a recorded warning otherwise), the
CZML scene and CCSDS OEM ephemerides of the satellites, ``summary.json`` and
``provenance.json``. Everything is written into a temporary folder beside ``DIR`` and
moved into place at the end: a failed run leaves no half-written product, and a folder
that already holds files is refused unless ``--overwrite`` (which replaces it whole).

``--no-series`` writes no per-step Dataset (geometry, link, per-step keys): the per-pass
tables, budgets, summary and provenance only. ``--workers``/``--scheduler`` run the passes,
link and keys as Dask tasks (:mod:`qsat.pipeline_distributed`), with the same results.
"""

from __future__ import annotations

from pathlib import Path

from . import (add_backend_option, add_cluster_options, add_quiet_option, cluster_partition, pipeline_cluster,
               refuse_unstreamed_cluster, require_extra, stage_progress)


def register(sub) -> None:
    p = sub.add_parser("run", help="run every stage the scenario enables and write all products",
                       description="Run the pipeline (passes and geometry, then link, keys and budgets "
                                   "where the scenario describes them) and write every product into DIR, "
                                   "with figures, a CZML scene, CCSDS OEM ephemerides and summary.json.")
    p.add_argument("scenario", type=Path, help="scenario file (TOML)")
    p.add_argument("--out", type=Path, required=True,
                   help="output folder (created if missing; one that holds files needs --overwrite)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the whole content of an --out folder that already holds files")
    p.add_argument("--format", default=None, metavar="LIST",
                   help="comma-separated formats among netcdf, zarr (Datasets), csv, parquet (tables), "
                        "or 'all' (default: netcdf,csv; zarr and parquet need 'pip install qsat[outputs]')")
    p.add_argument("--no-figures", action="store_true", help="do not draw the standard figures")
    p.add_argument("--no-export", action="store_true", help="do not write the CZML scene and OEM ephemerides")
    p.add_argument("--no-series", action="store_true",
                   help="do not write the per-step Datasets (geometry, link, per-step keys): per-pass tables, "
                        "budgets, summary and provenance only")
    p.add_argument("--group-steps", type=int, default=None, metavar="N",
                   help="steps per group of passes computed together (default 1000000, ~0.3 GB of per-step "
                        "arrays; smaller groups spread a short window over more workers); same numbers for any")
    add_cluster_options(p)
    add_quiet_option(p)
    add_backend_option(p)
    p.set_defaults(func=main)


def main(args) -> int:
    import contextlib

    from .. import scenario as scenario_mod
    from ..errors import QsatInputError
    from ..outputs import PieceWriter, check_output_dir, moved, parse_formats, staged_dir, write_products
    from ..orbits.stage import plan
    from ..pipeline import execute, streamable

    formats = parse_formats(args.format)  # bad input fails before the work starts
    check_output_dir(args.out, overwrite=args.overwrite)
    partition = cluster_partition(args)  # checked with or without a cluster: a stray flag is an error
    if args.group_steps is not None and args.group_steps < 1:
        raise QsatInputError("--group-steps", args.group_steps, "a positive number of steps")
    scenario = scenario_mod.load(args.scenario)
    if scenario.montecarlo is not None and scenario.link is not None and scenario.protocol is not None:
        require_extra("montecarlo", "montecarlo (the scenario's [montecarlo] section)", "distributed")
    refuse_unstreamed_cluster(args, scenario)
    # Without a Monte Carlo the passes, link and keys run group by group of passes, their per-step
    # products written into the output as they come (qsat.pipeline.streamable): memory is set by
    # the group. A job that cannot fit in memory, or whose files cannot fit on the disk, is
    # refused before the first stage starts.
    streamed = streamable(scenario)
    estimate = plan(scenario, backend=args.backend).check(streamed=streamed)
    if not args.no_series:
        check_series_disk(args.out, estimate, scenario, formats)
    with contextlib.ExitStack() as stack:
        cluster = pipeline_cluster(stack, args, partition)
        progress = stack.enter_context(stage_progress(scenario, args, then=("write",)))
        staged = stack.enter_context(staged_dir(args.out))
        pieces = PieceWriter(staged, formats) if streamed and not args.no_series else None
        run = execute(scenario, backend=args.backend, progress=progress, sink=pieces,
                      series=not args.no_series, cluster=cluster, steps_per_group=args.group_steps)
        progress.start("write")
        views = pieces.open() if pieces is not None else {}
        run.context["streamed"] = views
        try:
            extra = []
            if not args.no_export:
                from ..export import write_exports

                extra += write_exports(run, staged)
            if not args.no_figures:
                extra += _figures(run, staged)
            if args.no_series:
                _without_series(run, figures=not args.no_figures, scene=not args.no_export)
        finally:
            for view in views.values():
                view.close()
        written = write_products(run, staged, formats=formats, extra_files=extra)
    files = moved([*written, *extra], staged, args.out)
    print(f"wrote {len(files)} files into {args.out}:")
    for path in files:
        print(f"  {path}")
    summary = run.products.get("passes")
    if summary is not None:
        print(f"{len(summary)} passes of {len(scenario.satellites)} satellite(s) over "
              f"{len(scenario.ground_stations)} station(s)")
    return 0


#: Written size of a per-step product relative to the geometry file (sizing.BYTES_PER_CELL_FILE a
#: cell): NetCDF of examples/leo_constellation_year.toml over 2 days (55 passes x 65 steps; geometry
#: 0.24 MB, link 0.52 MB with its 22 loss and fade variables, keys 0.21 MB).
SERIES_FILE_RATIO = {"geometry": 1.0, "link": 2.2, "keys": 0.9}


def check_series_disk(out: Path, estimate, scenario, formats) -> None:
    """Refuse (``--out``, one line) an output folder whose disk cannot hold the estimated per-step
    files: geometry, link and keys as the scenario has them, in every Dataset format asked for."""
    from ..orbits.sizing import check_disk
    from ..outputs import DATASET_FORMATS

    products = ["geometry"] + (["link"] if scenario.link is not None else []) \
        + (["keys"] if scenario.protocol is not None else [])
    n_formats = sum(1 for f in formats if f in DATASET_FORMATS)
    size_bytes = estimate.table_file_bytes + n_formats * estimate.geometry_file_bytes * sum(
        SERIES_FILE_RATIO[name] for name in products)
    check_disk("--out", out, size_bytes, hint="--no-series, a coarser time.step or a shorter window")


def _without_series(run, figures: bool, scene: bool) -> None:
    """``--no-series``: the per-step Datasets (those with a ``step`` dimension) left out of the
    products to write. A whole-window run drew its ``figures`` and ``scene`` from them; a streamed
    run kept none, so what needs them was left out of those: a recorded warning says what."""
    import xarray as xr

    per_step = [name for name, product in run.products.items()
                if isinstance(product, xr.Dataset) and "step" in product.dims]
    for name in per_step:
        del run.products[name]
    missing = (["no per-pass sky plots or time series were drawn"] if figures else []) \
        + (["the CZML scene shows no pass arcs"] if scene else [])
    if missing and not per_step and run.context.get("pass_result") is not None:
        run.warn("--no-series: the run kept no per-step data, so " + " and ".join(missing))


def _figures(run, out_dir: Path) -> list[Path]:
    """The standard figures beside the data; without matplotlib, a recorded warning."""
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        run.warn("figures: matplotlib is not installed, so no figures were drawn "
                 "(pip install 'qsat[plots]')")
        return []
    from ..plots import standard_figures

    return standard_figures(run, Path(out_dir) / "figures")
