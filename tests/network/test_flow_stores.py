"""Max-flow against SciPy, XOR relay through trusted nodes, stores and their bookkeeping."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import maximum_flow

from qsat.network.flow import capacity_matrix, max_flow
from qsat.network.stores import KeyGraph, pair_capacity, pair_status, simulate_stores


@pytest.mark.parametrize("seed", range(8))
def test_max_flow_matches_scipy_on_integer_graphs(seed):
    rng = np.random.default_rng(seed)
    n = 30
    ends = rng.integers(0, n, (80, 2))
    ends = ends[ends[:, 0] != ends[:, 1]]
    cap = capacity_matrix(n, ends, rng.integers(1, 1000, len(ends)).astype(float))
    value, flow = max_flow(cap, 0, n - 1)
    ref = maximum_flow(sp.csr_array(cap.astype(np.int32)), 0, n - 1).flow_value
    assert value == pytest.approx(ref)
    assert np.allclose(flow, -flow.T)
    assert np.all(np.abs(flow) <= cap + 1e-9)
    net = flow.sum(axis=1)  # conservation away from source and sink
    assert np.allclose(np.delete(net, [0, n - 1]), 0.0, atol=1e-9)
    assert net[0] == pytest.approx(value)


def test_relay_mask_blocks_paths():
    ends = np.array([[0, 1], [1, 2]])
    cap = capacity_matrix(3, ends, np.array([5.0, 5.0]))
    assert max_flow(cap, 0, 2)[0] == 5.0
    assert max_flow(cap, 0, 2, relay_mask=np.array([True, False, True]))[0] == 0.0


def _chain():
    # Alice - T1 - Sat - T2 - Bob; T1/T2 trusted stations, Sat a trusted satellite
    return KeyGraph(("Alice", "T1", "Sat", "T2", "Bob"), ("user", "station", "satellite", "station", "user"),
                    ("A-T1", "T1-Sat", "Sat-T2", "T2-B"), ("fiber", "satellite", "satellite", "fiber"),
                    np.array([[0, 1], [1, 2], [2, 3], [3, 4]]))


def test_xor_relay_spends_key_on_every_hop():
    g = _chain()
    gen = np.array([[100.0, 50.0, 0.0, 100.0], [0.0, 0.0, 30.0, 0.0], [0.0, 0.0, 40.0, 0.0]])
    demand = np.full((3, 1), 35.0)
    res = simulate_stores(g, gen, np.array([[0, 4]]), demand)
    # day 0: the satellite holds key with T1 only -> nothing end to end (it waits in the store)
    # day 1: 30 bits reach T2 -> 30 delivered; day 2: 40 more with T2, 20 left with T1 -> 20
    assert res["delivered"][:, 0] == pytest.approx([0.0, 30.0, 20.0])
    for link in range(4):
        assert res["spent"][:, link] == pytest.approx(res["delivered"][:, 0])
    # bookkeeping: inventory = initial + generated - spent, cumulatively
    assert res["inventory"] == pytest.approx(np.cumsum(gen - res["spent"], axis=0))
    assert pair_capacity(g, gen.sum(axis=0), np.array([[0, 4]]))[0] == pytest.approx(50.0)


def test_user_never_relays_and_disconnected_pair_is_reported():
    g = KeyGraph(("A", "U", "B", "C", "D"), ("user", "user", "user", "trusted", "user"),
                 ("A-U", "U-B", "C-D"), ("fiber",) * 3, np.array([[0, 1], [1, 2], [3, 4]]))
    status = pair_status(g, np.array([[0, 2], [0, 4], [3, 4]]), has_key=np.array([True, True, False]))
    assert status[0].startswith("disconnected") and "A and B" in status[0]
    assert status[1].startswith("disconnected")
    assert status[2].startswith("no key")
    res = simulate_stores(g, np.ones((2, 3)) * 10, np.array([[0, 2]]), np.ones((2, 1)) * 5)
    assert np.all(res["delivered"] == 0)


def test_parallel_links_and_demand_cap():
    g = KeyGraph(("A", "B"), ("trusted", "trusted"), ("l1", "l2"), ("fiber", "fiber"), np.array([[0, 1], [1, 0]]))
    res = simulate_stores(g, np.array([[30.0, 10.0]]), np.array([[0, 1]]), np.array([[20.0]]))
    assert res["delivered"][0, 0] == pytest.approx(20.0)
    assert res["spent"][0] == pytest.approx([15.0, 5.0])  # shared by what each store holds
    assert res["inventory"][0] == pytest.approx([15.0, 5.0])


def test_order_by_weight():
    g = KeyGraph(("A", "T", "B", "C"), ("user", "trusted", "user", "user"), ("A-T", "T-B", "T-C"),
                 ("fiber",) * 3, np.array([[0, 1], [1, 2], [1, 3]]))
    gen = np.array([[10.0, 100.0, 100.0]])
    pairs = np.array([[0, 2], [0, 3]])
    first = simulate_stores(g, gen, pairs, np.array([[8.0, 8.0]]), weights=np.array([1.0, 2.0]))
    assert first["delivered"][0] == pytest.approx([2.0, 8.0])


def test_limit_stops_at_demand_with_a_feasible_flow():
    rng = np.random.default_rng(3)
    n = 20
    ends = rng.integers(0, n, (60, 2))
    ends = ends[ends[:, 0] != ends[:, 1]]
    cap = capacity_matrix(n, ends, rng.random(len(ends)) * 100)
    full, _ = max_flow(cap, 0, n - 1)
    for limit in (0.3 * full, full, 2 * full):
        value, flow = max_flow(cap, 0, n - 1, limit=limit)
        assert value == pytest.approx(min(limit, full))
        assert np.all(np.abs(flow) <= cap + 1e-9)
        assert np.allclose(np.delete(flow.sum(axis=1), [0, n - 1]), 0.0, atol=1e-9)
