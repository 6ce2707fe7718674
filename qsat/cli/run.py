"""``qsat run SCENARIO --out DIR``: the main job, every stage the scenario enables.

Writes every product (``--format``: NetCDF/Zarr for Datasets, CSV/Parquet for tables),
the standard figures when matplotlib is installed (a recorded warning otherwise), the
CZML scene and CCSDS OEM ephemerides of the satellites, ``summary.json`` and
``provenance.json``. Everything is written into a temporary folder beside ``DIR`` and
moved into place at the end: a failed run leaves no half-written product, and a folder
that already holds files is refused unless ``--overwrite`` (which replaces it whole).
"""

from __future__ import annotations

from pathlib import Path

from . import add_backend_option, add_quiet_option, require_extra, stage_progress


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
    add_quiet_option(p)
    add_backend_option(p)
    p.set_defaults(func=main)


def main(args) -> int:
    from .. import scenario as scenario_mod
    from ..outputs import PieceWriter, check_output_dir, moved, parse_formats, staged_dir, write_products
    from ..orbits.stage import plan
    from ..pipeline import execute, streamable

    formats = parse_formats(args.format)  # bad input fails before the work starts
    check_output_dir(args.out, overwrite=args.overwrite)
    scenario = scenario_mod.load(args.scenario)
    if scenario.montecarlo is not None and scenario.link is not None and scenario.protocol is not None:
        require_extra("montecarlo", "montecarlo (the scenario's [montecarlo] section)", "distributed")
    # Without a Monte Carlo the passes, link and keys run group by group of passes, their per-step
    # products written into the output as they come (qsat.pipeline.streamable): memory is set by
    # the group. A job that cannot fit is refused before the first stage starts.
    streamed = streamable(scenario)
    plan(scenario, backend=args.backend).check(streamed=streamed)
    with stage_progress(scenario, args, then=("write",)) as progress, staged_dir(args.out) as staged:
        pieces = PieceWriter(staged, formats) if streamed else None
        run = execute(scenario, backend=args.backend, progress=progress.start, sink=pieces)
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


def _figures(run, out_dir: Path) -> list[Path]:
    """The standard figures beside the data; without matplotlib, a recorded warning."""
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        run.warn("figures: matplotlib is not installed, so no figures were drawn "
                 "(pip install 'qsat[plots]')")
        return []
    from ..plots import standard_figures

    return standard_figures(run, Path(out_dir) / "figures")
