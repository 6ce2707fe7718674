"""``qsat run SCENARIO --out DIR``: the main job, every stage the scenario enables.

Writes every product (``--format``: NetCDF/Zarr for Datasets, CSV/Parquet for tables),
the standard figures when matplotlib is installed (a recorded warning otherwise), the
CZML scene and CCSDS OEM ephemerides of the satellites, ``summary.json`` and
``provenance.json``.
"""

from __future__ import annotations

from pathlib import Path

from . import add_backend_option


def register(sub) -> None:
    p = sub.add_parser("run", help="run every stage the scenario enables and write all products",
                       description="Run the pipeline (passes and geometry, then link, keys and budgets "
                                   "where the scenario describes them) and write every product into DIR, "
                                   "with figures, a CZML scene, CCSDS OEM ephemerides and summary.json.")
    p.add_argument("scenario", type=Path, help="scenario file (TOML)")
    p.add_argument("--out", type=Path, required=True, help="output folder (created if missing)")
    p.add_argument("--format", default=None, metavar="LIST",
                   help="comma-separated formats among netcdf, zarr (Datasets), csv, parquet (tables), "
                        "or 'all' (default: netcdf,csv; zarr and parquet need 'pip install qsat[outputs]')")
    p.add_argument("--no-figures", action="store_true", help="do not draw the standard figures")
    p.add_argument("--no-export", action="store_true", help="do not write the CZML scene and OEM ephemerides")
    add_backend_option(p)
    p.set_defaults(func=main)


def main(args) -> int:
    from .. import scenario as scenario_mod
    from ..outputs import parse_formats, write_products
    from ..pipeline import execute

    formats = parse_formats(args.format)  # bad formats fail before the work starts
    scenario = scenario_mod.load(args.scenario)
    run = execute(scenario, backend=args.backend)
    extra = []
    if not args.no_export:
        from ..export import write_exports

        extra += write_exports(run, args.out)
    if not args.no_figures:
        extra += _figures(run, args.out)
    written = write_products(run, args.out, formats=formats, extra_files=extra)
    for path in [*written, *extra]:
        print(f"wrote {path}")
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
