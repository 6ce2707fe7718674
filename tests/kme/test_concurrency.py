"""Many SAEs at once against the real server: no key_ID handed out twice, no key lost.

50 clients (each its own TLS connection and certificate) make 10 000 requests: masters
ask for keys (enc_keys), slaves fetch them (dec_keys) as the masters pass the key_IDs
on. The run is bounded by its request count and stops by itself.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import Counter

import httpx
import pytest

from qsat.kme.store import KeyStore

from .conftest import client, config_text

REQUESTS = 10_000
CLIENTS = 50
# (master, slave): the three pools; the Urumqi-Vienna pool runs dry during the run (503s)
ROUTES = [("beijing-app", "vienna-app"), ("urumqi-app", "vienna-app"), ("tianjin-app", "beijing-app")]


def _context(certs, sae):
    ctx = ssl.create_default_context(cafile=str(certs / "ca.pem"))
    ctx.load_cert_chain(str(certs / f"{sae}.pem"), str(certs / f"{sae}.key"))
    return ctx


async def _run(url, certs):
    budget = {"left": REQUESTS}
    issued, fetched, refused = [], [], Counter()
    queues = [asyncio.Queue() for _ in ROUTES]
    n_masters = CLIENTS // 2

    def take_budget() -> bool:
        if budget["left"] <= 0:
            return False
        budget["left"] -= 1
        return True

    async def master(i):
        route = i % len(ROUTES)
        m, s = ROUTES[route]
        number = 1 + i % 3 if route != 1 else 16  # the Urumqi-Vienna masters drain their pool
        size = 256 if route != 1 else 512
        async with httpx.AsyncClient(base_url=url, verify=_context(certs, m), timeout=120) as c:
            while take_budget():
                r = await c.post(f"/api/v1/keys/{s}/enc_keys", json={"number": number, "size": size})
                if r.status_code == 503:
                    refused[route] += 1
                    continue
                assert r.status_code == 200, r.text
                keys = r.json()["keys"]
                issued.extend((route, k["key_ID"], k["key"]) for k in keys)
                await queues[route].put([k["key_ID"] for k in keys])

    async def slave(i):
        route = i % len(ROUTES)
        m, s = ROUTES[route]
        async with httpx.AsyncClient(base_url=url, verify=_context(certs, s), timeout=120) as c:
            while (ids := await queues[route].get()) is not None:  # None: the masters are done
                # the slave's fetches are requests too; once the budget is spent they still run,
                # so that every issued key is fetched (counted apart below)
                budget["left"] -= 1
                r = await c.post(f"/api/v1/keys/{m}/dec_keys", json={"key_IDs": [{"key_ID": k} for k in ids]})
                assert r.status_code == 200, r.text
                fetched.extend((route, k["key_ID"], k["key"]) for k in r.json()["keys"])

    n_slaves = CLIENTS - n_masters

    async def masters():
        await asyncio.gather(*(master(i) for i in range(n_masters)))
        for i in range(n_slaves):
            await queues[i % len(ROUTES)].put(None)

    await asyncio.gather(masters(), *(slave(i) for i in range(n_slaves)))
    return issued, fetched, refused, REQUESTS - budget["left"]


@pytest.mark.slow
def test_fifty_clients_ten_thousand_requests_no_key_twice_none_lost(start_server, certs):
    server = start_server(config_text(max_key_count=200_000, max_key_per_request=64, synchronous="normal"))
    with client(certs, "beijing-app", server.url) as c:
        before = c.get("/qsat/v1/metrics").json()["pools"]
    issued, fetched, refused, made = asyncio.run(_run(server.url, certs))
    assert made >= REQUESTS
    ids = [k for _, k, _ in issued]
    assert len(ids) == len(set(ids)), "a key_ID was delivered to masters twice"
    # every key a master got reached its slave, once, with the same material
    assert sorted(issued) == sorted(fetched)
    assert refused[1] > 0 and refused[0] == refused[2] == 0
    with client(certs, "beijing-app", server.url) as c:
        after_all = c.get("/qsat/v1/metrics").json()
    after = after_all["pools"]
    assert server.stop() == 0
    labels = {0: "Beijing-Vienna", 1: "Urumqi-Vienna", 2: "Tianjin-Beijing"}
    per_route = Counter(route for route, _, _ in issued)
    for route, label in labels.items():
        units = 2 if route == 1 else 1
        a, b = after[label], before[label]
        assert a["served"] - b["served"] == a["served_slave"] - b["served_slave"] == per_route[route]
        assert b["stored"] - a["stored"] == units * per_route[route]
        assert a["refused_requests"] - b["refused_requests"] == refused[route]
    sae_pairs = after_all["sae_pairs"]
    for route, (m, s) in enumerate(ROUTES):
        counts = sae_pairs[f"{m}>{s}"]
        assert counts["served"] == counts["served_slave"] == per_route[route]
        assert counts["refused_requests"] == refused[route]
    # nothing lost: every minted key is in the pool, waiting for a slave, or retired (once)
    store = KeyStore.open_existing(server.db)
    try:
        for label, row in store.audit().items():
            assert row["minted"] == row["stored"] + row["issued_rows"] + row["retired_rows"] + row["merged_rows"]
            assert row["pool_rows"] == row["stored"] and row["issued_rows"] == 0
    finally:
        store.close()
