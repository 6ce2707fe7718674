"""The key manager's HTTPS server: ETSI GS QKD 014 key delivery on a simulated clock (aiohttp).

Routes (clause 5 of the standard; ``docs/kme.md`` lists what is implemented):

* ``GET /api/v1/keys/{slave_SAE_ID}/status`` — Status (clauses 5.2, 6.1);
* ``GET|POST /api/v1/keys/{slave_SAE_ID}/enc_keys`` — Get key (5.3): Key request (6.2)
  as query parameters or JSON body, Key container (6.3) back;
* ``GET|POST /api/v1/keys/{master_SAE_ID}/dec_keys`` — Get key with key IDs (5.4):
  ``?key_ID=`` or a Key IDs object (6.4), Key container back;
* ``GET /qsat/v1/metrics`` — not part of the standard: the simulated time and every
  pool's counters as JSON.

Errors are Error objects (6.5) with 400, 401 or 503 (an empty pool). Transport is
TLS 1.2+ with client certificates required and checked against the CA; the SAE is
the common name of its certificate, and it may only ask for keys between itself and
another SAE (a key of another SAE pair is refused with 401).

The simulated clock: ``sim = start + (wall - wall at start) * speed`` seconds from the
window start, clamped to the window's end (the replay stops there). A background
task fills the pools from the supply every ``TICK_S`` of wall time; every step is
committed to the key store, so a restart continues from where the pools stood.
"""

from __future__ import annotations

import asyncio
import json
import signal
import ssl
import time
import weakref
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from . import etsi
from .etsi import BAD_REQUEST, UNAUTHORIZED, KmeError

TICK_S = 0.1


@dataclass
class Tls:
    """Files of the server's TLS identity and the CA its clients' certificates must chain to."""

    ca: Path
    cert: Path
    key: Path

    @classmethod
    def from_dir(cls, folder) -> "Tls":
        folder = Path(folder)
        return cls(folder / "ca.pem", folder / "kme.pem", folder / "kme.key")

    def context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(self.ca))
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(str(self.cert), str(self.key))
        ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx


class KeyManager:
    """The state behind the routes: configuration, supply, key store and simulated clock."""

    def __init__(self, config, supply, store, *, speed: float, start_s: float = 0.0):
        self.config = config
        self.limits = config.limits
        self.supply = supply
        self.store = store
        self.speed = float(speed)
        self.sim0 = min(max(store.sim_s, float(start_s)), supply.duration_s)
        self.wall0 = time.monotonic()
        self._names = weakref.WeakKeyDictionary()
        self.tick()

    def now_s(self) -> float:
        return min(self.sim0 + (time.monotonic() - self.wall0) * self.speed, self.supply.duration_s)

    def tick(self) -> None:
        self.store.advance(self.now_s(), self.supply, max_key_count=self.limits.max_key_count,
                           sample_interval_s=self.config.sample_interval)

    # --- who is asking, for which pool ---

    def caller(self, request: web.Request):
        transport = request.transport
        cn = self._names.get(transport) if transport is not None else None
        if cn is None and transport is not None:  # once per connection: the verified client certificate's CN
            cert = transport.get_extra_info("peercert") or {}
            cn = next((v for rdn in cert.get("subject", ()) for k, v in rdn if k == "commonName"), "")
            self._names[transport] = cn
        sae = self.config.sae(cn) if cn else None
        if sae is None:
            raise KmeError(UNAUTHORIZED, f"client certificate CN={cn!r}: not an SAE of this key manager")
        return sae

    def pool(self, caller, other_id: str, role: str):
        other = self.config.sae(other_id)
        if other is None:
            raise KmeError(BAD_REQUEST, f"{role}_SAE_ID {other_id!r}: not an SAE of this key manager; expected one of "
                                        + ", ".join(s.id for s in self.config.saes))
        if other.id == caller.id:
            raise KmeError(BAD_REQUEST, f"{role}_SAE_ID {other_id!r}: the caller itself; expected another SAE")
        pair = self.supply.pair_of(caller.node, other.node)
        if pair is None:
            raise KmeError(BAD_REQUEST, f"{role}_SAE_ID {other_id!r}: no key is supplied between nodes {caller.node} "
                                        f"and {other.node} (not a user pair of the budget)")
        return other, pair

    def metrics(self) -> dict:
        start = self.supply.start
        return {"sim_time_s": self.store.sim_s, "sim_time_utc": f"{start + int(self.store.sim_s * 1e9)}Z",
                "speed": self.speed, "trial": self.supply.trial, "key_size": self.limits.key_size,
                "pools": {label: {"nodes": list(p.nodes), **self.store.counters(label),
                                  "supply_bits": p.bits_at(self.store.sim_s)}
                          for label, p in self.supply.pairs.items()},
                "sae_pairs": self.store.sae_counters()}


async def _json_body(request: web.Request):
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise KmeError(BAD_REQUEST, "request body: not JSON; expected a JSON object") from None


def _query(request: web.Request, allowed: tuple[str, ...]) -> dict:
    for name in request.query:
        if name not in allowed:
            raise KmeError(BAD_REQUEST, f"query parameter {name!r}: unknown; expected only {', '.join(allowed)}")
        if len(request.query.getall(name)) > 1:
            raise KmeError(BAD_REQUEST, f"query parameter {name!r}: given twice; expected it once")
    return dict(request.query)


def make_app(km: KeyManager) -> web.Application:
    """The aiohttp application of the key manager ``km``."""

    @web.middleware
    async def errors(request, handler):
        try:
            return await handler(request)
        except KmeError as exc:
            return web.json_response(exc.body(), status=exc.status)
        except web.HTTPException as exc:  # unknown route or method: an Error object too
            if exc.status < 400:
                raise
            return web.json_response({"message": f"{request.method} {request.path}: {exc.reason}"}, status=exc.status)

    async def status(request):
        caller = km.caller(request)
        other, pair = km.pool(caller, request.match_info["sae"], "slave")
        return web.json_response(etsi.status(source_kme=caller.node, target_kme=other.node, master=caller.id,
                                             slave=other.id, stored=km.store.stored(pair.label), limits=km.limits))

    async def enc_keys(request):
        caller = km.caller(request)
        other, pair = km.pool(caller, request.match_info["sae"], "slave")
        obj = await _json_body(request) if request.method == "POST" else _query(request, ("number", "size"))
        number, size = etsi.key_request(obj, km.limits)
        keys = km.store.take(pair.label, caller.id, other.id, number, size)
        return web.json_response(etsi.key_container(keys))

    async def dec_keys(request):
        caller = km.caller(request)
        other, _ = km.pool(caller, request.match_info["sae"], "master")
        if request.method == "POST":
            ids = etsi.key_ids(await _json_body(request))
        else:
            query = _query(request, ("key_ID",))
            if "key_ID" not in query:
                raise KmeError(BAD_REQUEST, "query parameter key_ID: missing; expected ?key_ID=<UUID>")
            ids = [etsi.uuid_string(query["key_ID"])]
        keys = km.store.give_to_slave(other.id, caller.id, ids)
        return web.json_response(etsi.key_container(keys))

    async def metrics(request):
        km.caller(request)
        return web.json_response(km.metrics())

    app = web.Application(middlewares=[errors])
    base = "/api/v1/keys/{sae}"
    app.router.add_get(base + "/status", status)
    app.router.add_route("GET", base + "/enc_keys", enc_keys)
    app.router.add_route("POST", base + "/enc_keys", enc_keys)
    app.router.add_route("GET", base + "/dec_keys", dec_keys)
    app.router.add_route("POST", base + "/dec_keys", dec_keys)
    app.router.add_get("/qsat/v1/metrics", metrics)
    return app


async def serve(km: KeyManager, ssl_context: ssl.SSLContext, *, host: str = "127.0.0.1", port: int = 8443, on_stop=None,
                announce=None) -> None:
    """Serve until SIGINT or SIGTERM; fills the pools every ``TICK_S`` meanwhile."""
    runner = web.AppRunner(make_app(km), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=ssl_context, reuse_address=True)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    bound = runner.addresses[0]
    (announce or _announce)(f"https://{host if ':' not in host else f'[{host}]'}:{bound[1]}")
    try:
        while not stop.is_set():
            km.tick()
            try:
                await asyncio.wait_for(stop.wait(), TICK_S)
            except asyncio.TimeoutError:
                pass
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await runner.cleanup()
        km.tick()
        if on_stop is not None:
            on_stop()


def _announce(url: str) -> None:
    print(f"qsat kme: serving {url}", flush=True)
