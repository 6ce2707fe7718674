"""``qsat plot PRODUCT --out FIGURE.png``: a figure of a product file written by ``qsat run``.

PRODUCT is a file of a run's output folder: ``geometry.nc`` (sky plot), ``link.nc`` /
``keys.nc`` (pass time series; the run's other products in the same folder are used too),
``passes.csv`` / ``.parquet`` (overview), ``budget.nc`` (budget bars), or the Monte Carlo
store of ``qsat montecarlo`` (``mc.zarr``: distributions). ``--kind`` picks another figure, ``--pass`` the pass.
"""

from __future__ import annotations

from pathlib import Path

KINDS = ("sky", "series", "overview", "budget-daily", "budget-monthly", "distributions", "kme")


def register(sub) -> None:
    p = sub.add_parser("plot", help="draw a figure of a product file (needs matplotlib: qsat[plots])",
                       description="Draw a figure of a product written by 'qsat run': sky plot of a pass "
                                   "(geometry), pass time series (link/keys, with the run's other products "
                                   "found beside it), pass overview (pass table), budget bars (budget), "
                                   "Monte Carlo distributions (Datasets over trials).")
    p.add_argument("product", type=Path, help="product file (.nc, .zarr, .csv, .parquet)")
    p.add_argument("--out", type=Path, required=True, help="figure to write (.png)")
    p.add_argument("--kind", choices=KINDS, default=None, help="figure (default: the product's natural one)")
    p.add_argument("--pass", dest="pass_id", type=int, default=None,
                   help="pass_id of the pass to draw (default: the pass with most key, else most steps)")
    p.add_argument("--var", action="append", default=None,
                   help="variable for --kind distributions (repeatable; default: up to four over 'trial')")
    p.set_defaults(func=main)


def _open(path: Path):
    """(kind of object, object): a Dataset or a table, with clear errors for what is not a product."""
    import pandas as pd
    import xarray as xr

    from ..errors import QsatInputError

    if not path.exists():
        raise QsatInputError("PRODUCT", str(path), "an existing product file written by 'qsat run'")
    suffix = path.suffix.lower()
    try:
        if suffix == ".nc":
            return "dataset", xr.load_dataset(path, engine="h5netcdf")
        if suffix == ".zarr":
            return "dataset", xr.open_zarr(path).load()
        if suffix == ".csv":
            return "table", pd.read_csv(path)
        if suffix == ".parquet":
            return "table", pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise QsatInputError("PRODUCT", str(path), f"a readable product file ({exc.__class__.__name__}: {exc})") from None
    raise QsatInputError("PRODUCT", str(path), "a product file: .nc or .zarr (Datasets), .csv or .parquet (tables)")


def _sibling(path: Path, name: str, ds):
    """The run's product ``name`` beside ``path`` (same scenario hash), or None."""
    import xarray as xr

    for suffix in (".nc", ".zarr"):
        other = path.with_name(name + suffix)
        if other.exists() and other != path:
            sib = xr.load_dataset(other, engine="h5netcdf") if suffix == ".nc" else xr.open_zarr(other).load()
            if sib.attrs.get("scenario_sha256") == ds.attrs.get("scenario_sha256"):
                return sib
    return None


def _product_name(ds) -> str:
    name = str(ds.attrs.get("product", ""))
    if name:
        return name
    for var, product in (("station_key_bits_daily", "budget"), ("key_rate_asymptotic_bps", "keys"),
                         ("loss_total_db", "link"), ("elevation_deg", "geometry")):
        if var in ds:
            return product
    if "trial" in ds.dims or any(str(n).endswith("_histogram") for n in ds.data_vars):
        return "montecarlo"
    return ""


def main(args) -> int:
    from ..errors import QsatInputError
    from ..outputs import check_output_file
    from . import require_extra

    require_extra("plots", "qsat plot", "matplotlib")
    if args.out.suffix.lower() != ".png":
        raise QsatInputError("--out", str(args.out), "a .png file name")
    check_output_file(args.out)
    from .. import plots

    what, obj = _open(args.product)
    source = str(args.product)
    if what == "table":
        if args.kind not in (None, "overview"):
            raise QsatInputError("--kind", args.kind, "'overview' for a table (pass table)")
        fig = plots.passes_overview(obj, source=source)
    else:
        product = _product_name(obj)
        kind = args.kind or {"geometry": "sky", "link": "series", "keys": "series",
                             "budget": "budget-daily", "kme_metrics": "kme"}.get(product, "distributions")
        if kind == "sky":
            geometry = obj if product == "geometry" else _sibling(args.product, "geometry", obj)
            if geometry is None:
                raise QsatInputError(source, "no azimuth/elevation", "geometry.nc (or a file beside geometry.nc)")
            keys = obj if product == "keys" else _sibling(args.product, "keys", obj)
            fig = plots.sky_plot(geometry, args.pass_id, keys, source=source)
        elif kind == "series":
            found = {name: (obj if product == name else _sibling(args.product, name, obj))
                     for name in ("geometry", "link", "keys")}
            fig = plots.pass_series(found["geometry"], found["link"], found["keys"], args.pass_id, source=source)
        elif kind in ("budget-daily", "budget-monthly"):
            fig = plots.budget_bars(obj, kind.split("-")[1], source=source)
        elif kind == "kme":  # kme_metrics.nc of qsat kme
            from ..plots.kme import kme_metrics

            fig = kme_metrics(obj, source=source)
        elif kind == "distributions":
            fig = plots.distributions(obj, args.var, source=source, pass_id=args.pass_id)
        else:
            raise QsatInputError("--kind", kind, "'overview' only for a pass table")
    plots.save(fig, args.out)
    print(f"wrote {args.out}")
    return 0
