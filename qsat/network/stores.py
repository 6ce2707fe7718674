"""Key stores on links, XOR relay through trusted nodes, and end-to-end key between users.

Every link (fiber, satellite–station, dual-downlink station pair) holds a store:
the secret key its two ends share and have not spent. Key is generated into the
store (a pass's key when the pass ends; a fiber link's key continuously) and
spent by relays. A trusted node relays k bits from one neighbour to the next by
sending the XOR of those k bits with k bits of the next link's key (one-time
pad; Bennett, Brassard & Ekert, Sci. Am. 267, 50 (1992); the trusted-node
networks of Peev et al., NJP 11, 075001 (2009) and Chen et al., Nature 589, 214
(2021)): delivering k bits end to end spends k bits on every hop — a flow in
the key graph. The satellite itself is such a relay between two stations it
sees at different times (Liao et al., PRL 120, 030501 (2018)): its stores with
each station hold the key until the other pass has happened.

Time is cut into settle intervals (``network.settle_interval``). In each, the
stores receive the interval's key, then the demands are served one pair at a
time (descending ``weight``, then as listed) by a maximum flow on the current
stores, stopped at the pair's demand for the interval (augmenting paths are
added until the demand is routed; the last one is cut to fit, so the flow stays
feasible); the spent key leaves the stores. What is left is
the inventory, carried to the next interval. Unserved demand is reported, not
carried over. A pair's *capacity* is the maximum flow over everything the
links generated in the whole window, as if the pair were alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .flow import capacity_matrix, max_flow

RELAY_KINDS = ("station", "trusted", "satellite")


@dataclass(frozen=True)
class KeyGraph:
    """Nodes and links of the key network (links undirected; parallel links allowed)."""

    nodes: tuple[str, ...]
    kinds: tuple[str, ...]       # station | trusted | user | untrusted | satellite
    links: tuple[str, ...]       # labels
    link_kinds: tuple[str, ...]  # fiber | satellite | entanglement | given
    ends: np.ndarray             # (L, 2) node indices

    @property
    def relay_mask(self) -> np.ndarray:
        return np.array([k in RELAY_KINDS for k in self.kinds], dtype=bool)

    def index(self, name: str) -> int:
        return self.nodes.index(name)

    def link_groups(self) -> np.ndarray:
        """Group id per link: links joining the same two nodes share one."""
        key = np.sort(self.ends, axis=1) if len(self.ends) else np.zeros((0, 2), int)
        _, group = np.unique(key, axis=0, return_inverse=True)
        return group.reshape(-1)


def pair_status(graph: KeyGraph, pairs: np.ndarray, has_key: np.ndarray | None = None) -> list[str]:
    """``connected`` / ``disconnected: ...`` / ``no key: ...`` for each user pair (rows of ``pairs``).

    Topology: links present in the graph (any link kind), relays through
    trusted nodes, stations and (if enabled) satellites only. ``has_key`` marks
    links that generated some key in the window.
    """
    n = len(graph.nodes)
    ones = np.ones(len(graph.ends))
    topo = capacity_matrix(n, graph.ends, ones)
    keyed = capacity_matrix(n, graph.ends, ones if has_key is None else has_key.astype(float))
    out = []
    for s, t in pairs:
        a, b = graph.nodes[s], graph.nodes[t]
        if max_flow(topo, s, t, relay_mask=graph.relay_mask)[0] <= 0:
            out.append(f"disconnected: no chain of links through trusted nodes joins {a} and {b}")
        elif max_flow(keyed, s, t, relay_mask=graph.relay_mask)[0] <= 0:
            out.append(f"no key: {a} and {b} are joined but some link on every path generated no key")
        else:
            out.append("connected")
    return out


def simulate_stores(graph: KeyGraph, generated: np.ndarray, pairs: np.ndarray, demand: np.ndarray,
                    *, weights: np.ndarray | None = None, initial_bits: float = 0.0) -> dict:
    """Serve demands from the link stores over time (one weather trial).

    Parameters
    ----------
    generated : (T, L) array
        Key generated on each link in each interval (bits).
    pairs : (K, 2) int array
        Node indices of the user pairs.
    demand : (T, K) array
        Key wanted by each pair in each interval (bits).
    weights : (K,) array, optional
        Service order: higher first (ties keep the listed order).

    Returns
    -------
    dict
        ``delivered`` (T, K), ``spent`` (T, L), ``inventory`` (T, L) — the
        stores at the end of each interval.
    """
    n_t, n_l = generated.shape
    n_k = len(pairs)
    store = np.full(n_l, float(initial_bits))
    delivered = np.zeros((n_t, n_k))
    spent = np.zeros((n_t, n_l))
    inventory = np.zeros((n_t, n_l))
    order = np.argsort(-(np.ones(n_k) if weights is None else np.asarray(weights)), kind="stable")
    groups = graph.link_groups()
    relay = graph.relay_mask
    n = len(graph.nodes)
    for t in range(n_t):
        store += generated[t]
        for k in order:
            want = demand[t, k]
            if want <= 0:
                continue
            cap = capacity_matrix(n, graph.ends, store)
            give, flow = max_flow(cap, int(pairs[k, 0]), int(pairs[k, 1]), relay_mask=relay, limit=want)
            if give <= 0:
                continue
            use = _spend(flow, graph.ends, groups, store)
            store = np.maximum(store - use, 0.0)
            spent[t] += use
            delivered[t, k] = give
        inventory[t] = store
    return {"delivered": delivered, "spent": spent, "inventory": inventory}


def _spend(flow, ends, groups, store):
    """Per-link key spent: the flow between two nodes, shared by their parallel links by store."""
    if not len(ends):
        return np.zeros(0)
    pair_flow = np.abs(flow[ends[:, 0], ends[:, 1]])
    group_store = np.bincount(groups, weights=store)
    share = np.divide(store, group_store[groups], out=np.zeros_like(store), where=group_store[groups] > 0)
    return pair_flow * share


def pair_capacity(graph: KeyGraph, total_bits: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Max-flow between each pair over the links' total generated key (pair alone on the network)."""
    cap = capacity_matrix(len(graph.nodes), graph.ends, total_bits)
    return np.array([max_flow(cap, int(s), int(t), relay_mask=graph.relay_mask)[0] for s, t in pairs])
