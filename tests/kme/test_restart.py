"""A crash (SIGKILL) in the middle of a run, then a restart on the same key store: nothing that was
delivered is lost, nothing is delivered twice, the simulated clock and the pools resume."""

from __future__ import annotations

import asyncio
import math
import os
import signal
import ssl
import time

import httpx
import numpy as np
import pytest
import xarray as xr

from qsat.kme.store import KeyStore

from .conftest import client


def _ctx(certs, sae):
    ctx = ssl.create_default_context(cafile=str(certs / "ca.pem"))
    ctx.load_cert_chain(str(certs / f"{sae}.pem"), str(certs / f"{sae}.key"))
    return ctx


async def _until_killed(server, certs, kill_after: int):
    """Ten masters take keys until the server is killed after ``kill_after`` answers."""
    received = []

    async def master():
        async with httpx.AsyncClient(base_url=server.url, verify=_ctx(certs, "beijing-app"), timeout=30) as c:
            for _ in range(10 * kill_after):  # bounded; ends at the first failure after the kill
                try:
                    r = await c.post("/api/v1/keys/vienna-app/enc_keys", json={"number": 2})
                except httpx.HTTPError:
                    return
                assert r.status_code == 200, r.text
                received.extend((k["key_ID"], k["key"]) for k in r.json()["keys"])
                if len(received) >= 2 * kill_after and server.proc.poll() is None:
                    os.kill(server.proc.pid, signal.SIGKILL)

    await asyncio.gather(*(master() for _ in range(10)))
    return received


def _audit(db):
    store = KeyStore.open_existing(db)
    try:
        return store.audit(), store.sim_s
    finally:
        store.close()


@pytest.mark.slow
def test_a_crash_mid_run_loses_nothing_and_reissues_nothing(start_server, certs, tmp_path):
    first = start_server(workdir=tmp_path / "run")
    received = asyncio.run(_until_killed(first, certs, kill_after=150))
    assert first.stop() == -signal.SIGKILL
    assert len(received) >= 300
    audit, _ = _audit(first.db)
    pool = audit["Beijing-Vienna"]
    # every key a master received was committed before its answer left the server
    assert pool["issued_rows"] >= len(received)
    assert pool["minted"] == pool["stored"] + pool["issued_rows"] + pool["retired_rows"] + pool["merged_rows"]

    second = start_server(workdir=tmp_path / "run", db=first.db)
    with client(certs, "vienna-app", second.url) as slave, client(certs, "beijing-app", second.url) as master:
        # the restart minted nothing new (the clock stands where it stood) and lost nothing
        assert master.get("/api/v1/keys/vienna-app/status").json()["stored_key_count"] == pool["stored"]
        for i in range(0, len(received), 50):
            batch = received[i:i + 50]
            r = slave.post("/api/v1/keys/beijing-app/dec_keys", json={"key_IDs": [{"key_ID": k} for k, _ in batch]})
            assert r.status_code == 200
            assert [(k["key_ID"], k["key"]) for k in r.json()["keys"]] == batch
        later = master.post("/api/v1/keys/vienna-app/enc_keys", json={"number": 64}).json()["keys"]
    assert second.stop() == 0
    assert not {k["key_ID"] for k in later} & {k for k, _ in received}
    audit, _ = _audit(first.db)
    after = audit["Beijing-Vienna"]
    assert after["minted"] == pool["minted"]
    assert after["stored"] == pool["stored"] - 64
    assert after["minted"] == after["stored"] + after["issued_rows"] + after["retired_rows"] + after["merged_rows"]


#: Bound of each wait on the simulated clock, in wall seconds: the waits are bounded by time,
#: not by a count of polls, which a fast machine runs through before the clock gets there.
WAIT_S = 60.0


def _polls(limit_s: float, interval_s: float = 0.02):
    """Yield until ``limit_s`` of wall time has passed, pausing ``interval_s`` between polls."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        yield
        time.sleep(interval_s)


@pytest.mark.slow
def test_the_clock_and_the_pools_follow_the_supply_across_a_crash(start_server, certs, supply, tmp_path):
    """Fill on the simulated clock from the window start, crash after a simulated day, restart
    where the store stopped and run to the window's end: every sample of the metrics product
    (before and after the crash) holds the supply's keys at its instant."""
    first = start_server(workdir=tmp_path / "run", speed=60_000, start=None)
    with client(certs, "beijing-app", first.url) as c:
        for _ in _polls(WAIT_S):  # a simulated day is ~1.5 s of wall time at this speed
            if c.get("/qsat/v1/metrics").json()["sim_time_s"] > 86_400:
                break
    first.stop(signal.SIGKILL)
    before, sim_s = _audit(first.db)
    assert 86_400 <= sim_s < supply.duration_s
    for label, pair in supply.pairs.items():
        assert before[label]["minted"] + before[label]["overflow"] == math.floor(pair.bits_at(sim_s) / 256 + 1e-9)

    second = start_server(workdir=tmp_path / "run", db=first.db, start=None, speed=400_000)
    with client(certs, "beijing-app", second.url) as c:
        resumed = c.get("/qsat/v1/metrics").json()["sim_time_s"]
        for _ in _polls(WAIT_S):  # bounded wait for the window's end
            if c.get("/qsat/v1/metrics").json()["sim_time_s"] >= supply.duration_s:
                break
        else:
            pytest.fail("simulated clock did not reach the window's end")
    assert second.stop() == 0
    assert sim_s <= resumed < supply.duration_s  # resumed where the store stopped, not at the window start
    ds = xr.load_dataset(second.metrics, engine="h5netcdf")
    assert ds.attrs["product"] == "kme_metrics"
    t = ds["sim_time_s"].values
    assert t[0] == 0 and t[-1] == supply.duration_s and (t < sim_s).sum() >= 24  # hourly samples of day 1
    for label, pair in supply.pairs.items():
        row = ds.sel(pair=label)
        want = np.floor(np.array([pair.bits_at(x) for x in t]) / 256 + 1e-9)
        np.testing.assert_array_equal(row["keys_minted"].values + row["keys_overflow"].values, want)
        np.testing.assert_array_equal(row["supply_keys"].values, want)
        assert row["keys_minted"].values[-1] == math.floor(pair.total_bits / 256 + 1e-9)
        assert len(np.unique(row["keys_minted"].values)) > 2  # filled in steps over the window
