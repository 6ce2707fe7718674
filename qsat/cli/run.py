"""``qsat run SCENARIO --out DIR``: the main job, every stage the scenario enables."""

from __future__ import annotations

from pathlib import Path

from . import add_backend_option


def register(sub) -> None:
    p = sub.add_parser("run", help="run every stage the scenario enables and write all products",
                       description="Run the pipeline (passes and geometry, then link, keys and budgets "
                                   "where the scenario describes them) and write every product into DIR.")
    p.add_argument("scenario", type=Path, help="scenario file (TOML)")
    p.add_argument("--out", type=Path, required=True, help="output folder (created if missing)")
    add_backend_option(p)
    p.set_defaults(func=main)


def main(args) -> int:
    from .. import scenario as scenario_mod
    from ..outputs import write_products
    from ..pipeline import execute

    scenario = scenario_mod.load(args.scenario)
    run = execute(scenario, backend=args.backend)
    written = write_products(run, args.out)
    for path in written:
        print(f"wrote {path}")
    summary = run.products.get("passes")
    if summary is not None:
        print(f"{len(summary)} passes of {len(scenario.satellites)} satellite(s) over "
              f"{len(scenario.ground_stations)} station(s)")
    return 0
