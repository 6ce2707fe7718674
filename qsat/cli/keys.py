"""``qsat keys``: secret key per pass, from a loss table or from a scenario.

* ``qsat keys --loss-table FILE.csv --protocol PROTOCOL.toml --out keys.json`` — one
  block from an external per-second efficiency table (SatQuMA's layout);
* ``qsat keys SCENARIO --out keys.csv`` — the pass table with keys, through the
  pipeline's passes → link → keys stages.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

from . import add_backend_option, require_sections
from ..errors import QsatInputError


def register(sub) -> None:
    p = sub.add_parser("keys", help="secret key and entangled pairs per pass (decoy BB84, BBM92)",
                       description="Key per pass: from a loss table (--loss-table with --protocol, "
                                   "writes JSON) or from a scenario (writes the pass table as CSV).")
    p.add_argument("scenario", type=Path, nargs="?", help="scenario file (TOML) with a [protocol] section")
    p.add_argument("--loss-table", type=Path, help="per-step loss table: time (s), elevation (rad), efficiency")
    p.add_argument("--protocol", type=Path, help="PROTOCOL.toml (required with --loss-table)")
    p.add_argument("--out", type=Path, required=True, help="keys.json (loss table) or keys.csv (scenario)")
    p.add_argument("--seed", type=int, default=0, help="seed of the optimiser's random draws (default 0)")
    add_backend_option(p)
    p.set_defaults(func=main)


def main(args) -> int:
    if args.loss_table is not None:
        if args.scenario is not None:
            raise QsatInputError("SCENARIO", str(args.scenario), "either a scenario or --loss-table, not both")
        if args.protocol is None:
            raise QsatInputError("--protocol", "missing", "a PROTOCOL.toml with --loss-table")
        return _loss_table(args)
    if args.scenario is None:
        raise QsatInputError("SCENARIO", "missing", "a scenario file, or --loss-table FILE --protocol FILE")
    return _scenario(args)


def _loss_table(args) -> int:
    from .. import __version__
    from ..backend import namespace, resolve
    from ..protocols.config import load_protocol
    from ..protocols.losskeys import block_summary, decoy_bb84_blocks
    from ..protocols.losstable import read_loss_table, select

    cfg = load_protocol(args.protocol)
    if cfg.protocol != "decoy-bb84":
        raise QsatInputError(f"{args.protocol.name}: protocol", cfg.protocol,
                             "'decoy-bb84' with --loss-table (BBM92 needs two links: use a scenario)")
    table = read_loss_table(args.loss_table)
    eta, valid = select(table, cfg.elevation_mask_deg, cfg.excess_loss_db)
    xp = namespace(args.backend)
    result = decoy_bb84_blocks(xp.asarray(eta[None, :]), xp.asarray(valid[None, :]), table.step_s, cfg,
                               seed=args.seed)
    summary = block_summary({k: _host(v) for k, v in result.items()})
    params = {"basis_probability_x": float(_host(result["basis_probability_x"])[0]),
              "mean_photon_numbers": [float(x) for x in _host(result["mean_photon_numbers"])[0]],
              "intensity_probabilities": [float(x) for x in _host(result["intensity_probabilities"])[0]]}
    doc = {
        "protocol": cfg.protocol,
        **summary,
        "steps_used": int(valid.sum()),
        "step_s": table.step_s,
        "optimized": cfg.optimize,
        "parameters": cfg.model_dump(mode="json"),
        **({"chosen_parameters": params} if cfg.optimize else {}),
        "units": {"secret_key_bits": "bit", "n_x": "count", "n_z": "count", "window_s": "s",
                  "qber_x": "1", "phase_error_x": "1"},
        "provenance": {
            "qsat_version": __version__,
            "backend": resolve(args.backend),
            "loss_table": str(args.loss_table),
            "loss_table_sha256": hashlib.sha256(args.loss_table.read_bytes()).hexdigest(),
            "protocol_file": str(args.protocol),
            "seed": args.seed,
            "created_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {args.out}: {doc['secret_key_bits']} secret bits in {doc['window_s']:g} s "
          f"(QBER_X {doc['qber_x']:.4%}, phase error {doc['phase_error_x']:.4%}, {doc['status']})")
    return 0


def _host(a):
    from ..backend import to_numpy

    return to_numpy(a)


def _scenario(args) -> int:
    from .. import scenario as scenario_mod
    from ..outputs import write_table
    from ..pipeline import execute

    scenario = scenario_mod.load(args.scenario)
    require_sections(scenario, "keys", "protocol")
    run = execute(scenario, backend=args.backend, until="keys")
    table = run.products.get("passes")
    if table is None or "keys" not in run.products:
        raise QsatInputError("scenario", str(args.scenario),
                             "a scenario whose link stage ran (a [link] section) so keys can be computed")
    write_table(table, args.out, run.provenance())
    print(f"wrote {args.out}: {len(table)} passes, {int(table['secret_key_bits'].sum())} secret bits in total")
    return 0
