"""Conformance of the real server with ETSI GS QKD 014 (clauses 5.2-5.4, 6.1-6.5), mutual TLS,
and supply matching the budget: real certificates, real HTTP client (httpx), loopback only."""

from __future__ import annotations

import base64
import math
import ssl
import uuid

import httpx
import numpy as np
import pytest
import xarray as xr

from .conftest import Server, client, config_text

KEY_SIZE = 256
STATUS_FIELDS = {"source_KME_ID", "target_KME_ID", "master_SAE_ID", "slave_SAE_ID", "key_size", "stored_key_count",
                 "max_key_count", "max_key_per_request", "max_key_size", "min_key_size", "max_SAE_ID_count"}


@pytest.fixture(scope="module")
def full(products, certs, tmp_path_factory):
    """A server whose clock stands at the window's end: every pool holds the whole supply."""
    server = Server(products, certs, tmp_path_factory.mktemp("full"),
                    config=config_text(max_key_count=200_000, max_key_per_request=64))
    yield server
    server.stop()


def expected_keys(supply, label):
    return math.floor(supply.pairs[label].total_bits / KEY_SIZE + 1e-9)


def test_status_reports_the_pool_the_budget_filled(full, certs, supply):
    with client(certs, "beijing-app", full.url) as c:
        r = c.get("/api/v1/keys/vienna-app/status")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == STATUS_FIELDS
    assert body["source_KME_ID"] == "Beijing" and body["target_KME_ID"] == "Vienna"
    assert body["master_SAE_ID"] == "beijing-app" and body["slave_SAE_ID"] == "vienna-app"
    assert (body["key_size"], body["max_key_count"], body["max_key_per_request"]) == (KEY_SIZE, 200_000, 64)
    assert (body["min_key_size"], body["max_key_size"], body["max_SAE_ID_count"]) == (64, 4096, 0)
    # the supply matches the budget's predicted bits to rounding (one key of 256 bits)
    assert body["stored_key_count"] == expected_keys(supply, "Beijing-Vienna") > 1000


def test_every_pool_holds_the_budgets_delivered_key(full, certs, supply, products):
    budget = xr.load_dataset(products, engine="h5netcdf")
    delivered = budget["pair_delivered_bits"].isel(trial=supply.trial).sum("interval")
    pairs = {"Beijing-Vienna": ("beijing-app", "vienna-app"), "Urumqi-Vienna": ("urumqi-app", "vienna-app"),
             "Tianjin-Beijing": ("tianjin-app", "beijing-app")}
    for label, (master, slave) in pairs.items():
        with client(certs, master, full.url) as c:
            stored = c.get(f"/api/v1/keys/{slave}/status").json()["stored_key_count"]
        predicted = float(delivered.sel(pair=label))
        assert stored == math.floor(predicted / KEY_SIZE + 1e-9), label
        assert -1e-6 <= predicted - stored * KEY_SIZE < KEY_SIZE  # float sums of the budget: to 1e-6 bit


def test_enc_keys_then_dec_keys_deliver_the_same_key_once_to_each(full, certs):
    with client(certs, "urumqi-app", full.url) as master, client(certs, "vienna-app", full.url) as slave:
        before = master.get("/api/v1/keys/vienna-app/status").json()["stored_key_count"]
        r = master.post("/api/v1/keys/vienna-app/enc_keys", json={"number": 3, "size": 512})
        assert r.status_code == 200
        keys = r.json()["keys"]
        assert len(keys) == 3
        for k in keys:
            assert str(uuid.UUID(k["key_ID"])) == k["key_ID"]
            assert len(base64.b64decode(k["key"], validate=True)) == 512 // 8
        # a 512-bit key is made of two 256-bit pool keys
        assert master.get("/api/v1/keys/vienna-app/status").json()["stored_key_count"] == before - 6
        r = master.get("/api/v1/keys/vienna-app/enc_keys", params={"number": "2"})
        assert r.status_code == 200 and len(r.json()["keys"]) == 2
        assert all(len(base64.b64decode(k["key"])) == KEY_SIZE // 8 for k in r.json()["keys"])
        keys += r.json()["keys"]
        assert len({k["key_ID"] for k in keys}) == 5

        got = slave.post("/api/v1/keys/urumqi-app/dec_keys",
                         json={"key_IDs": [{"key_ID": k["key_ID"]} for k in keys[:4]]})
        assert got.status_code == 200
        assert got.json() == {"keys": keys[:4]}
        one = slave.get("/api/v1/keys/urumqi-app/dec_keys", params={"key_ID": keys[4]["key_ID"]})
        assert one.status_code == 200 and one.json() == {"keys": [keys[4]]}
        # delivered to the slave once, then deleted
        again = slave.get("/api/v1/keys/urumqi-app/dec_keys", params={"key_ID": keys[0]["key_ID"]})
        assert again.status_code == 400 and "already delivered" in again.json()["message"]


def test_another_saes_keys_are_refused_with_401(full, certs):
    with client(certs, "beijing-app", full.url) as master:
        kid = master.post("/api/v1/keys/vienna-app/enc_keys", json={}).json()["keys"][0]["key_ID"]
    body = {"key_IDs": [{"key_ID": kid}]}
    # same pool (Vienna), another SAE
    with client(certs, "vienna-backup", full.url) as other:
        r = other.post("/api/v1/keys/beijing-app/dec_keys", json=body)
        assert r.status_code == 401 and kid in r.json()["message"]
    # the master asking for its own key as if it were the slave
    with client(certs, "beijing-app", full.url) as master:
        assert master.post("/api/v1/keys/vienna-app/dec_keys", json=body).status_code == 401
    # a valid certificate of this CA that names no SAE of the configuration
    with client(certs, "stranger", full.url) as stranger:
        r = stranger.get("/api/v1/keys/vienna-app/status")
        assert r.status_code == 401 and "stranger" in r.json()["message"]
    # the refusals delivered nothing: the slave still gets the key, once
    with client(certs, "vienna-app", full.url) as slave:
        assert slave.post("/api/v1/keys/beijing-app/dec_keys", json=body).status_code == 200


@pytest.mark.parametrize("who", ["no certificate", "another CA"])
def test_tls_without_a_client_certificate_of_the_ca_is_refused(full, certs, who):
    kwargs = {"ca_dir": certs / "other-ca"} if who == "another CA" else {}
    sae = None if who == "no certificate" else "vienna-app"
    with client(certs, sae, full.url, **kwargs) as c:
        with pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError, ssl.SSLError)):
            c.get("/api/v1/keys/beijing-app/status")


def test_a_client_that_does_not_trust_the_kme_refuses_it(full, certs):
    with httpx.Client(base_url=full.url, verify=ssl.create_default_context(), timeout=30) as c:
        with pytest.raises(httpx.ConnectError):
            c.get("/api/v1/keys/beijing-app/status")


@pytest.mark.parametrize("method, path, kwargs, expect", [
    ("post", "/api/v1/keys/vienna-app/enc_keys", {"json": {"number": 65}}, "max_key_per_request"),
    ("post", "/api/v1/keys/vienna-app/enc_keys", {"json": {"number": 0}}, "number: 0"),
    ("post", "/api/v1/keys/vienna-app/enc_keys", {"json": {"size": 100}}, "multiple of 8"),
    ("post", "/api/v1/keys/vienna-app/enc_keys", {"json": {"size": 8192}}, "max_key_size"),
    ("post", "/api/v1/keys/vienna-app/enc_keys", {"json": {"number": "two"}}, "number"),
    ("post", "/api/v1/keys/vienna-app/enc_keys", {"json": {"additional_slave_SAE_IDs": ["urumqi-app"]}},
     "max_SAE_ID_count"),
    ("post", "/api/v1/keys/vienna-app/enc_keys", {"json": {"extension_mandatory": [{"x": 1}]}},
     "extension_mandatory"),
    ("post", "/api/v1/keys/vienna-app/enc_keys", {"json": {"colour": "red"}}, "unknown field"),
    ("post", "/api/v1/keys/vienna-app/enc_keys", {"content": b"{not json"}, "not JSON"),
    ("post", "/api/v1/keys/vienna-app/enc_keys", {"json": [1, 2]}, "JSON object"),
    ("get", "/api/v1/keys/vienna-app/enc_keys", {"params": {"count": "2"}}, "unknown"),
    ("get", "/api/v1/keys/nobody/status", {}, "not an SAE"),
    ("get", "/api/v1/keys/beijing-app/status", {}, "the caller itself"),
    ("get", "/api/v1/keys/urumqi-app/status", {}, "no key is supplied"),
    ("get", "/api/v1/keys/vienna-app/dec_keys", {}, "key_ID"),
    ("get", "/api/v1/keys/vienna-app/dec_keys", {"params": {"key_ID": "abc"}}, "UUID"),
    ("post", "/api/v1/keys/vienna-app/dec_keys", {"json": {"key_IDs": []}}, "key_IDs"),
    ("post", "/api/v1/keys/vienna-app/dec_keys",
     {"json": {"key_IDs": [{"key_ID": str(uuid.UUID(int=7))}] * 2}}, "twice"),
    ("post", "/api/v1/keys/vienna-app/dec_keys", {"json": {"key_IDs": [{"key_ID": str(uuid.uuid4())}]}},
     "unknown key_ID"),
])
def test_bad_requests_get_400_with_an_error_object(full, certs, method, path, kwargs, expect):
    with client(certs, "beijing-app", full.url) as c:
        before = c.get("/api/v1/keys/vienna-app/status").json()["stored_key_count"]
        r = getattr(c, method)(path, **kwargs)
        assert r.status_code == 400, r.text
        assert expect in r.json()["message"]
        assert c.get("/api/v1/keys/vienna-app/status").json()["stored_key_count"] == before


def test_unknown_routes_answer_json(full, certs):
    with client(certs, "beijing-app", full.url) as c:
        r = c.get("/api/v2/keys/vienna-app/status")
        assert r.status_code == 404 and "message" in r.json()
        r = c.delete("/api/v1/keys/vienna-app/enc_keys")
        assert r.status_code == 405 and "message" in r.json()


def test_draining_a_pool_ends_in_503_counted_per_pair(full, certs):
    """Runs last on the shared server: empties the Urumqi-Vienna pool."""
    with client(certs, "urumqi-app", full.url) as c:
        served = 0
        for _ in range(200):  # 1024 pool keys a request; the pool holds about 12 000
            r = c.post("/api/v1/keys/vienna-app/enc_keys", json={"number": 64, "size": 4096})
            if r.status_code == 503:
                break
            assert r.status_code == 200
            served += 64
        else:
            pytest.fail("the pool never ran dry")
        assert "not enough key between urumqi-app and vienna-app" in r.json()["message"]
        stored = c.get("/api/v1/keys/vienna-app/status").json()["stored_key_count"]
        assert 0 <= stored < 1024
        # smaller requests are still served from what is left
        assert c.post("/api/v1/keys/vienna-app/enc_keys", json={"number": 1}).status_code == (200 if stored else 503)
        pool = c.get("/qsat/v1/metrics").json()["pools"]["Urumqi-Vienna"]
    assert pool["refused_requests"] >= 1 and pool["refused_keys"] >= 64
    assert pool["served"] >= served
