"""Requests per second served by ``qsat kme serve`` on loopback (TLS 1.3 with client certificates).

The server runs as its own process (``python -m qsat kme serve``, clock standing at the
window's end so every pool is full) on the budget of ``tests/kme/relay.toml``; clients
are httpx ``AsyncClient`` s in this process, each with its own certificate and
keep-alive connection. Measured: Get status, Get key (one 256-bit key) followed by Get
key with key IDs for it (the slave's fetch), and Get status on a new TLS connection per
request (the handshake included), for 1, 10 and 50 concurrent clients, with the key store
committed with ``synchronous = "full"`` (fsync per transaction, the default) and
``"normal"``. Also the server's own CPU time per request (from /proc), which tells what
the server costs apart from the Python clients sharing the same two cores.

Run: ``python benchmarks/bench_kme.py`` (8 minutes on the shared 2-core machine); writes
``benchmarks/results/kme_cpu.json``.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from _common import machine, write

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "tests" / "kme" / "relay.toml"
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
SAES = {"beijing-app": "Beijing", "vienna-app": "Vienna"}
REQUESTS = 3000


def _qsat(*args, **kw):
    return subprocess.run([sys.executable, "-m", "qsat", *map(str, args)], env=ENV, check=True,
                          capture_output=True, text=True, **kw)


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _ctx(certs: Path, sae: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(certs / "ca.pem"))
    ctx.load_cert_chain(str(certs / f"{sae}.pem"), str(certs / f"{sae}.key"))
    return ctx


async def _load(url, certs, clients: int, kind: str) -> int:
    per = REQUESTS // clients

    async def one():
        done = 0
        limits = httpx.Limits(max_keepalive_connections=0) if kind == "status, new connection" else None
        kwargs = {"limits": limits} if limits else {}
        async with httpx.AsyncClient(base_url=url, verify=_ctx(certs, "beijing-app"), timeout=120, **kwargs) as m, \
                httpx.AsyncClient(base_url=url, verify=_ctx(certs, "vienna-app"), timeout=120) as s:
            for _ in range(per):
                if kind.startswith("status"):
                    r = await m.get("/api/v1/keys/vienna-app/status")
                    done += r.status_code == 200
                else:
                    r = await m.post("/api/v1/keys/vienna-app/enc_keys", json={"number": 1})
                    kid = r.json()["keys"][0]["key_ID"]
                    r = await s.get("/api/v1/keys/beijing-app/dec_keys", params={"key_ID": kid})
                    done += 2 * (r.status_code == 200)
        return done

    return sum(await asyncio.gather(*(one() for _ in range(clients))))


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench_kme_"))
    _qsat("budget", SCENARIO, "--out", work / "budget.nc")
    from qsat.kme.certs import make_certificates

    make_certificates(work / "certs", list(SAES))
    rows = []
    for sync in ("full", "normal"):
        config = work / f"kme_{sync}.toml"
        config.write_text(f'max_key_count = 200000\nsynchronous = "{sync}"\n'
                          + "".join(f'[[saes]]\nid = "{k}"\nnode = "{v}"\n' for k, v in SAES.items()))
        proc = subprocess.Popen([sys.executable, "-m", "qsat", "kme", "serve", str(work / "budget.nc"),
                                 "--scenario", str(SCENARIO), "--config", str(config), "--certs", str(work / "certs"),
                                 "--db", str(work / f"kme_{sync}.sqlite"), "--port", "0", "--speed", "0",
                                 "--start", "2016-12-21T00:00:00Z"], env=ENV, stdout=subprocess.PIPE, text=True)
        url = next(line.split()[-1] for line in proc.stdout if line.startswith("qsat kme: serving"))
        try:
            for kind in ("status", "enc_keys + dec_keys", "status, new connection"):
                for clients in (1, 10, 50):
                    if kind == "status, new connection" and clients == 50:
                        continue
                    cpu0, t0 = _cpu_s(proc.pid), time.perf_counter()
                    n = asyncio.run(_load(url, work / "certs", clients, kind))
                    wall, cpu = time.perf_counter() - t0, _cpu_s(proc.pid) - cpu0
                    rows.append({"synchronous": sync, "requests": kind, "clients": clients, "served": n,
                                 "wall_s": round(wall, 3), "requests_per_s": round(n / wall, 1),
                                 "server_cpu_ms_per_request": round(1e3 * cpu / n, 3)})
                    print(rows[-1], flush=True)
        finally:
            proc.terminate()
            proc.communicate(timeout=60)
    write("kme_cpu", {
        "benchmark": "qsat kme serve on loopback: requests per second (ETSI GS QKD 014 over TLS with client "
                     "certificates), clients httpx AsyncClient in one process",
        "machine_note": "2 cores shared with other jobs (four other sessions building and testing at the time); "
                        "server and clients share the two cores",
        "scenario": str(SCENARIO.relative_to(ROOT)), "requests_per_run": REQUESTS, "results": rows,
        "machine_detail": machine(),
    })


if __name__ == "__main__":
    main()
