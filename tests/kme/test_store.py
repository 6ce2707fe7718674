"""The SQLite key pools on their own: minting from a supply, capacity, delivery, persistence."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from qsat.errors import QsatInputError
from qsat.kme.etsi import KmeError
from qsat.kme.metrics import metrics_dataset
from qsat.kme.store import KeyStore
from qsat.kme.supply import PairSupply, Supply

KEY = 256


def _supply(total_bits: float, at_s: float = 100.0) -> Supply:
    """One pair, Alice-Bob: ``total_bits`` arriving as one step at ``at_s`` (a pass ending)."""
    pair = PairSupply("Alice-Bob", ("Alice", "Bob"), np.array([0.0, at_s, at_s, 1000.0]),
                      np.array([0.0, 0.0, total_bits, total_bits]), np.array([total_bits]))
    return Supply(start=np.datetime64("2024-01-01T00:00:00", "ns"), duration_s=1000.0, settle_interval_s=1000.0,
                  trial=0, pairs={"Alice-Bob": pair}, node_kinds={}, provenance={}, warnings=[])


def _store(path, supply, **kw) -> KeyStore:
    return KeyStore(path, identity=supply.identity(), pairs={k: p.nodes for k, p in supply.pairs.items()},
                    key_size=KEY, **kw)


def test_keys_arrive_with_the_supply_and_a_full_pool_overflows(tmp_path):
    supply = _supply(100 * KEY + 255)
    store = _store(tmp_path / "k.sqlite", supply)
    store.advance(99.0, supply, max_key_count=60, sample_interval_s=10.0)
    assert store.stored("Alice-Bob") == 0
    store.advance(100.0, supply, max_key_count=60, sample_interval_s=10.0)
    c = store.counters("Alice-Bob")
    assert (c["stored"], c["minted"], c["overflow"]) == (60, 60, 40)  # 100 keys, the 255 bits left wait
    samples = store.samples()
    assert samples["sim_s"].tolist() == [10.0 * k for k in range(11)]
    assert samples["minted"].tolist() == [0] * 10 + [60]
    store.close()


def test_delivery_master_then_slave_once_all_or_nothing(tmp_path):
    supply = _supply(10 * KEY)
    store = _store(tmp_path / "k.sqlite", supply)
    store.advance(500.0, supply, max_key_count=100, sample_interval_s=100.0)
    keys = store.take("Alice-Bob", "a", "b", 2, 3 * KEY)  # 3 pool keys each
    assert [len(m) for _, m in keys] == [3 * KEY // 8] * 2
    assert store.stored("Alice-Bob") == 4
    audit = store.audit()["Alice-Bob"]
    assert (audit["issued_rows"], audit["merged_rows"]) == (2, 4)
    with pytest.raises(KmeError) as err:
        store.take("Alice-Bob", "a", "b", 2, 3 * KEY)
    assert err.value.status == 503 and store.stored("Alice-Bob") == 4
    assert store.counters("Alice-Bob")["refused_requests"] == 1
    ids = [k for k, _ in keys]
    with pytest.raises(KmeError) as err:  # a key of another pair of SAEs spoils the whole request
        store.give_to_slave("a", "c", ids)
    assert err.value.status == 401
    assert store.give_to_slave("a", "b", ids) == keys
    with pytest.raises(KmeError) as err:
        store.give_to_slave("a", "b", ids[:1])
    assert err.value.status == 400 and "already delivered" in err.value.message
    audit = store.audit()["Alice-Bob"]
    assert audit["minted"] == audit["stored"] + audit["issued_rows"] + audit["retired_rows"] + audit["merged_rows"]
    assert store.sae_counters() == {"a>b": {"pair": "Alice-Bob", "requests": 2, "served": 2, "served_slave": 2,
                                            "refused_requests": 1, "refused_keys": 2}}
    store.sample_now(supply, 100)
    ds = metrics_dataset(store)
    last = ds.isel(time=-1)
    assert list(ds["sae_pair"].values) == ["a>b"] and ds["sae_pair_master"].values[0] == "a"
    assert (float(last["sae_keys_served_master"][0]), float(last["sae_requests_refused"][0])) == (2.0, 1.0)
    assert float(last["keys_served_slave"].sel(pair="Alice-Bob")) == 2.0
    assert float(last["stored_key_count"].sel(pair="Alice-Bob")) == 4.0
    store.close()


def test_reopening_keeps_the_pools_and_refuses_another_supply(tmp_path):
    supply = _supply(5 * KEY)
    store = _store(tmp_path / "k.sqlite", supply)
    store.advance(200.0, supply, max_key_count=100, sample_interval_s=100.0)
    rows = store.db.execute("SELECT key_id, material FROM pool_keys ORDER BY seq").fetchall()
    store.close()
    again = _store(tmp_path / "k.sqlite", supply)
    assert again.sim_s == 200.0
    assert again.db.execute("SELECT key_id, material FROM pool_keys ORDER BY seq").fetchall() == rows
    again.advance(300.0, supply, max_key_count=100, sample_interval_s=100.0)
    assert again.counters("Alice-Bob")["minted"] == 5  # nothing minted twice
    again.close()
    with pytest.raises(QsatInputError, match="--db"):
        _store(tmp_path / "k.sqlite", dataclasses.replace(supply, trial=3))
