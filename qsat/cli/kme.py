"""``qsat kme``: an ETSI GS QKD 014 key manager fed by a budget's predicted key supply.

* ``qsat kme certs --config kme.toml --out certs/`` — a local test CA, the KME's server
  certificate and a client certificate per SAE;
* ``qsat kme serve BUDGET --scenario S.toml --config kme.toml --certs certs/`` — serve keys
  over HTTPS with client certificates, pools filled on a simulated clock (``--speed``);
* ``qsat kme metrics --db kme.sqlite --out kme_metrics.nc`` — the metrics product of a key store.

Needs the optional extra: ``pip install 'qsat[kme]'`` (docs/kme.md).
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

from ..errors import QsatInputError


def register(sub) -> None:
    p = sub.add_parser("kme", help="ETSI GS QKD 014 key manager fed by a budget's key supply (qsat[kme])",
                       description="A key manager (KME) serving ETSI GS QKD 014 key delivery over HTTPS with "
                                   "client certificates, its pools filled by the key a budget predicts for each "
                                   "user pair, replayed on a simulated clock (docs/kme.md).")
    kme = p.add_subparsers(dest="kme_command", metavar="ACTION")
    kme.required = True

    certs = kme.add_parser("certs", help="make a test CA, the KME's certificate and one per SAE")
    certs.add_argument("--config", type=Path, required=True, help="key manager configuration (TOML) naming the SAEs")
    certs.add_argument("--out", type=Path, required=True, help="folder for ca.pem, kme.pem/.key, <SAE>.pem/.key")
    certs.add_argument("--host", action="append", default=[],
                       help="another name or address the server certificate covers (repeatable; "
                            "localhost, 127.0.0.1 and ::1 always)")
    certs.add_argument("--days", type=int, default=30, help="validity in days (default 30)")
    certs.set_defaults(func=main_certs)

    serve = kme.add_parser("serve", help="serve keys from a budget's supply")
    serve.add_argument("budget", type=Path, help="budget.nc (qsat budget or qsat run), with its schedule table beside it")
    serve.add_argument("--scenario", type=Path, required=True, help="the scenario the budget was made from")
    serve.add_argument("--config", type=Path, required=True, help="key manager configuration (TOML)")
    serve.add_argument("--certs", type=Path, required=True, help="folder with ca.pem, kme.pem and kme.key")
    serve.add_argument("--db", type=Path, default=None, help="key store (SQLite; default kme.sqlite beside BUDGET)")
    serve.add_argument("--metrics", type=Path, default=None,
                       help="metrics product written on stop (default kme_metrics.nc beside the key store)")
    serve.add_argument("--speed", type=float, default=3600.0,
                       help="simulated seconds per wall-clock second (default 3600: an hour a second; 1: real "
                            "time; 0: the clock stands still)")
    serve.add_argument("--start", default=None,
                       help="simulated start, ISO 8601 UTC inside the window (default: the window start, or "
                            "where the key store stopped)")
    serve.add_argument("--trial", type=int, default=None,
                       help="weather trial of the budget (default: the trial with the median delivered key)")
    serve.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8443, help="port (default 8443; 0 picks a free one)")
    serve.set_defaults(func=main_serve)

    metrics = kme.add_parser("metrics", help="write the metrics product of a key store")
    metrics.add_argument("--db", type=Path, required=True, help="key store written by qsat kme serve")
    metrics.add_argument("--out", type=Path, required=True, help="kme_metrics.nc")
    metrics.set_defaults(func=main_metrics)


def _need_extra() -> None:
    for module in ("aiohttp", "cryptography"):
        if importlib.util.find_spec(module) is None:
            raise QsatInputError("qsat kme", f"{module} not installed", "pip install 'qsat[kme]'")


def main_certs(args) -> int:
    _need_extra()
    from ..kme import config as config_mod
    from ..kme.certs import DEFAULT_HOSTS, make_certificates

    cfg = config_mod.load(args.config)
    if args.days < 1:
        raise QsatInputError("--days", args.days, "a validity of at least 1 day")
    paths = make_certificates(args.out, [s.id for s in cfg.saes], hosts=list(DEFAULT_HOSTS) + args.host,
                              days=args.days)
    print(f"wrote {paths['ca']}, {paths['kme'][0]} and {len(paths['saes'])} SAE certificates in {args.out} "
          "(test certificates: the CA key is not protected)")
    return 0


def _start_offset(text: str | None, supply) -> float:
    import numpy as np
    import pandas as pd

    if text is None:
        return 0.0
    try:
        t = pd.Timestamp(text)
    except ValueError:
        raise QsatInputError("--start", text, "an ISO 8601 UTC time such as 2016-12-19T12:00:00Z") from None
    if t.tzinfo is not None:
        t = t.tz_convert("UTC").tz_localize(None)
    offset = (t.to_datetime64() - supply.start) / np.timedelta64(1, "s")
    if not 0 <= offset <= supply.duration_s:
        end = supply.start + np.timedelta64(int(supply.duration_s * 1e9), "ns")
        raise QsatInputError("--start", text, f"a time inside the budget's window, {supply.start}Z to {end}Z")
    return float(offset)


def main_serve(args) -> int:
    _need_extra()
    import asyncio
    import ssl

    from ..kme import config as config_mod
    from ..kme.metrics import write_metrics
    from ..kme.server import KeyManager, Tls, serve
    from ..kme.store import KeyStore
    from ..kme.supply import load_supply

    cfg = config_mod.load(args.config)
    if not (math.isfinite(args.speed) and args.speed >= 0):
        raise QsatInputError("--speed", args.speed, "simulated seconds per second >= 0")
    if not 0 <= args.port <= 65535:
        raise QsatInputError("--port", args.port, "a port number from 0 to 65535")
    tls = Tls.from_dir(args.certs)
    for path in (tls.ca, tls.cert, tls.key):
        if not path.is_file():
            raise QsatInputError("--certs", str(args.certs), f"a folder with {path.name} (qsat kme certs makes one)")
    try:
        context = tls.context()
    except (ssl.SSLError, ValueError) as exc:
        raise QsatInputError("--certs", str(args.certs), f"a CA, certificate and key that load ({exc})") from None
    supply = load_supply(args.budget, args.scenario, trial=args.trial, resolution_s=cfg.supply_resolution)
    ends = sorted({n for p in supply.pairs.values() for n in p.nodes})
    for i, sae in enumerate(cfg.saes):
        if sae.node not in ends:
            raise QsatInputError(f"saes[{i}].node", sae.node,
                                 f"an end of a user pair of the budget ({', '.join(ends) or 'none'})")
    start_s = _start_offset(args.start, supply)
    for message in supply.warnings:
        print(f"qsat: warning: {message}", file=sys.stderr)
    db = args.db or args.budget.with_name("kme.sqlite")
    store = KeyStore(db, identity=supply.identity(), pairs={k: p.nodes for k, p in supply.pairs.items()},
                     key_size=cfg.key_size, synchronous=cfg.synchronous,
                     info={"start": str(supply.start), "provenance": supply.provenance, "trial": supply.trial,
                           "max_key_count": cfg.max_key_count, "speed": args.speed})
    metrics_path = args.metrics or Path(db).with_name("kme_metrics.nc")
    if args.start is not None and start_s < store.sim_s:
        print(f"qsat: warning: --start {args.start} is before where the key store {db} stopped "
              f"({store.sim_s:g} s into the window); continuing from there", file=sys.stderr)

    def on_stop():
        store.sample_now(supply, cfg.max_key_count)
        write_metrics(store, metrics_path)
        print(f"qsat kme: stopped; wrote {metrics_path}", flush=True)

    try:
        km = KeyManager(cfg, supply, store, speed=args.speed, start_s=start_s)
        print(f"qsat kme: {len(supply.pairs)} user pairs, trial {supply.trial}, key store {db}, "
              f"speed {args.speed:g}", flush=True)
        asyncio.run(serve(km, context, host=args.host, port=args.port, on_stop=on_stop))
    except OSError as exc:
        if exc.errno is None:
            raise
        raise QsatInputError("--port", args.port, f"a free port on {args.host} ({exc.strerror})") from None
    finally:
        store.close()
    return 0


def main_metrics(args) -> int:
    from ..kme.metrics import write_metrics
    from ..kme.store import KeyStore

    store = KeyStore.open_existing(args.db)
    try:
        write_metrics(store, args.out)
    finally:
        store.close()
    print(f"wrote {args.out}")
    return 0
