"""``qsat link SCENARIO --out link.nc``: the per-step optical channel of every pass."""

from __future__ import annotations

from pathlib import Path

from . import add_backend_option, require_sections


def register(sub) -> None:
    p = sub.add_parser("link", help="per-step channel of every pass: losses, transmittance, background",
                       description="Find the passes, then compute every step's loss terms, mean "
                                   "transmittance, background rate, r0, Rytov variance and scintillation "
                                   "index for the scenario's [link] section; writes a NetCDF Dataset "
                                   "with dims (pass, step).")
    p.add_argument("scenario", type=Path, help="scenario file (TOML) with a [link] section")
    p.add_argument("--out", type=Path, required=True, help="Dataset to write (.nc)")
    add_backend_option(p)
    p.set_defaults(func=main)


def main(args) -> int:
    from .. import scenario as scenario_mod
    from ..outputs import check_product_path, write_dataset
    from ..pipeline import execute

    check_product_path(args.out, "dataset")
    scenario = scenario_mod.load(args.scenario)
    require_sections(scenario, "link", "link")
    run = execute(scenario, backend=args.backend, until="link")
    ds = run.products["link"]
    write_dataset(ds, args.out, run.provenance())
    npass = ds.sizes["pass"]
    print(f"{npass} passes, {int(ds['valid'].sum())} steps -> {args.out}")
    return 0
