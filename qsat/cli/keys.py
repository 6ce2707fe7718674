"""``qsat keys``: secret key per pass, from loss tables or from a scenario.

* ``qsat keys --loss-table FILE.csv --protocol PROTOCOL.toml --out keys.json`` — decoy
  BB84: one block from an external per-step efficiency table (SatQuMA's layout);
* ``qsat keys --loss-table A.csv --loss-table B.csv --protocol PROTOCOL.toml --out keys.json``
  — BBM92 (``protocol = "bbm92"``): one entangled-pair block over two downlinks, one table
  per arm, steps matched on their time column;
* ``qsat keys SCENARIO --out keys.csv`` — the pass table with keys, through the
  pipeline's passes → link → keys stages.

Options are checked as a scenario's are: ``--seed`` an integer in [0, 2^64), the protocol
file by the ``[protocol]`` schema (strict types), every file UTF-8 text; bad input ends in
one line naming the option, file or field (exit 2) before anything is computed.
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
    p.add_argument("--loss-table", type=Path, action="append",
                   help="per-step loss table: time (s), elevation (rad), efficiency; give it twice for BBM92 "
                        "(one table per downlink)")
    p.add_argument("--protocol", type=Path, help="PROTOCOL.toml (required with --loss-table)")
    p.add_argument("--out", type=Path, required=True, help="keys.json (loss table) or keys.csv (scenario)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the optimiser's random draws with --loss-table, an integer in [0, 2^64) (default 0)")
    add_backend_option(p)
    p.set_defaults(func=main)


def main(args) -> int:
    from ..random import check_seed

    check_seed(args.seed, "--seed")
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
    from ..protocols.config import load_protocol
    from ..protocols.losstable import read_loss_table

    cfg = load_protocol(args.protocol)
    tables = args.loss_table
    if cfg.protocol == "bbm92":
        if len(tables) != 2 or not cfg.dual_downlink:
            raise QsatInputError("--loss-table", f"{len(tables)} given", "two loss tables (one per downlink) for "
                                 "protocol 'bbm92' with dual_downlink = true")
        return _bbm92_tables(args, cfg, [read_loss_table(t) for t in tables])
    if len(tables) != 1:
        raise QsatInputError("--loss-table", f"{len(tables)} given", "one loss table for protocol 'decoy-bb84' "
                             "(two are for 'bbm92')")
    return _decoy_table(args, cfg, read_loss_table(tables[0]))


def _provenance(args) -> dict:
    from .. import __version__
    from ..backend import resolve

    tables = [{"path": str(t), "sha256": hashlib.sha256(t.read_bytes()).hexdigest()} for t in args.loss_table]
    return {
        "qsat_version": __version__,
        "backend": resolve(args.backend),
        "loss_table": str(args.loss_table[0]),
        "loss_table_sha256": tables[0]["sha256"],
        **({"loss_tables": tables} if len(tables) > 1 else {}),
        "protocol_file": str(args.protocol),
        "seed": args.seed,
        "created_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _write(args, doc: dict) -> None:
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n")


def _decoy_table(args, cfg, table) -> int:
    from ..backend import namespace
    from ..protocols.losskeys import block_summary, decoy_bb84_blocks
    from ..protocols.losstable import select

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
        "provenance": _provenance(args),
    }
    _write(args, doc)
    print(f"wrote {args.out}: {doc['secret_key_bits']} secret bits in {doc['window_s']:g} s "
          f"(QBER_X {doc['qber_x']:.4%}, phase error {doc['phase_error_x']:.4%}, {doc['status']})")
    return 0


def _bbm92_tables(args, cfg, tables) -> int:
    """BBM92 over two downlinks given as loss tables (detector efficiency included in each).

    Steps are matched on equal time values; a step counts when both arms are at or above
    ``elevation_mask_deg``. Extraneous clicks per receiver N = 4 p / τ_c with p =
    ``dark_count_probability`` read per detector per coincidence window τ_c
    (``coincidence_window_s``), four detectors per receiver (docs/keys.md).
    """
    import numpy as np

    from ..detection.spdc import pair_statistics
    from ..protocols.bounds import pass_bound_bits
    from ..protocols.losskeys import bbm92_block
    from ..protocols.losstable import select

    a, b = tables
    if not np.isclose(a.step_s, b.step_s, rtol=1e-9, atol=0.0):
        raise QsatInputError(f"{Path(b.source).name} time_s", f"step {b.step_s:g} s",
                             f"the step of {Path(a.source).name} ({a.step_s:g} s): both tables on one time grid")
    eta_a, valid_a = select(a, cfg.elevation_mask_deg, cfg.excess_loss_db)
    eta_b, valid_b = select(b, cfg.elevation_mask_deg, cfg.excess_loss_db)
    common, ia, ib = np.intersect1d(a.time_s[valid_a], b.time_s[valid_b], return_indices=True)
    ea, eb = eta_a[valid_a][ia], eta_b[valid_b][ib]
    noise_cps = 4.0 * cfg.dark_count_probability / cfg.coincidence_window_s
    stats = pair_statistics(cfg.pair_rate_hz, ea, eb, cfg.coincidence_window_s, noise_cps, noise_cps,
                            cfg.pair_source_qber)
    block = bbm92_block(stats, a.step_s, cfg)
    pulses = cfg.pair_rate_hz * a.step_s
    doc = {
        "protocol": cfg.protocol,
        **block,
        "qber": block["qber"] if np.isfinite(block["qber"]) else None,
        "overlap_s": float(common.size * a.step_s),
        "steps_used": int(common.size),
        "step_s": a.step_s,
        "extraneous_cps_per_receiver": noise_cps,
        "plob_bound_bits": float(pass_bound_bits(ea * eb, pulses)) if common.size else 0.0,
        "parameters": cfg.model_dump(mode="json"),
        "units": {"secret_key_bits": "bit", "coincidences": "count", "entangled_pairs": "count",
                  "sifted_bits": "count", "overlap_s": "s", "qber": "1", "extraneous_cps_per_receiver": "1/s",
                  "plob_bound_bits": "bit (PLOB for the pairs emitted, through eta_A eta_B)"},
        "provenance": _provenance(args),
    }
    _write(args, doc)
    qber = f"{doc['qber']:.4%}" if doc["qber"] is not None else "n/a"
    print(f"wrote {args.out}: {doc['secret_key_bits']} secret bits from {doc['coincidences']:.6g} coincidences "
          f"in {doc['overlap_s']:g} s of overlap (QBER {qber})")
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
