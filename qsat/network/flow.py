"""Maximum flow over the key graph (Edmonds–Karp on a dense capacity matrix).

Key held on a link (shared by its two end nodes) can be spent in either
direction, so links are undirected: capacity ``c`` on both arcs, flow kept
antisymmetric (F[u, v] = −F[v, u]) and the key a link spends is |F[u, v]|.
Trusted-node relay by XOR (one-time pad of the key of the next hop) spends,
for k bits delivered end to end, k bits on every hop of the path: a flow.

Algorithm: Edmonds & Karp, J. ACM 19, 248 (1972) — shortest augmenting paths
found by breadth-first search in the residual graph R = C − F; the maximum flow
equals the minimum cut (Ford & Fulkerson, Can. J. Math. 8, 399 (1956), Theorem 1).
Capacities are floats (bits); a residual below ``tol`` counts as saturated, so
the result is exact to ``tol`` per augmentation. Graphs here have tens to a
few hundred nodes; the BFS is vectorised over the frontier with NumPy.
"""

from __future__ import annotations

import numpy as np


def max_flow(capacity: np.ndarray, source: int, sink: int, *, tol: float = 1e-9,
             relay_mask: np.ndarray | None = None, limit: float | None = None) -> tuple[float, np.ndarray]:
    """Maximum flow from ``source`` to ``sink``.

    Parameters
    ----------
    capacity : (n, n) float array
        Arc capacities (bits), non-negative; symmetric for undirected links.
    source, sink : int
        Node indices.
    relay_mask : (n,) bool array, optional
        Nodes allowed to relay (carry flow through them). Source and sink are
        always allowed. Default: every node.
    limit : float, optional
        Stop once this much flow is routed (the last augmentation is cut to
        fit): the result is min(maximum flow, limit), still a feasible flow.

    Returns
    -------
    value : float
        Flow value (bits).
    flow : (n, n) float array
        Antisymmetric flow; ``max(flow, 0)`` is the flow on each arc.
    """
    cap = np.asarray(capacity, dtype=np.float64)
    n = cap.shape[0]
    if relay_mask is not None:
        blocked = ~np.asarray(relay_mask, dtype=bool)
        blocked[[source, sink]] = False
        if blocked.any():
            cap = cap.copy()
            cap[blocked, :] = 0.0
            cap[:, blocked] = 0.0
    flow = np.zeros((n, n))
    if source == sink:
        return 0.0, flow
    scale = max(float(cap.max()) if cap.size else 0.0, 1.0)
    eps = tol * scale
    total = 0.0
    limit = np.inf if limit is None else float(limit)
    while total < limit:
        residual = cap - flow
        parent = np.full(n, -1)
        parent[source] = source
        frontier = np.array([source])
        while frontier.size and parent[sink] < 0:
            rows, cols = np.nonzero(residual[frontier] > eps)
            new = parent[cols] < 0
            rows, cols = rows[new], cols[new]
            if not cols.size:
                break
            cols, first = np.unique(cols, return_index=True)
            parent[cols] = frontier[rows[first]]
            frontier = cols
        if parent[sink] < 0:
            break
        path = [sink]
        while path[-1] != source:
            path.append(int(parent[path[-1]]))
        path.reverse()
        u, v = np.array(path[:-1]), np.array(path[1:])
        delta = min(float(residual[u, v].min()), limit - total)
        flow[u, v] += delta
        flow[v, u] -= delta
        total += delta
    return total, flow


def spent_per_link(flow: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Key spent on each undirected link (rows of ``ends`` = (a, b) node indices): |F[a, b]|."""
    if not len(ends):
        return np.zeros(0)
    return np.abs(flow[ends[:, 0], ends[:, 1]])


def capacity_matrix(n_nodes: int, ends: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """Symmetric capacity matrix from per-link bits (parallel links between two nodes add up)."""
    cap = np.zeros((n_nodes, n_nodes))
    if len(ends):
        np.add.at(cap, (ends[:, 0], ends[:, 1]), bits)
        np.add.at(cap, (ends[:, 1], ends[:, 0]), bits)
    return cap


def connected(adjacency: np.ndarray, source: int, sink: int, relay_mask: np.ndarray | None = None) -> bool:
    """Whether ``sink`` is reachable from ``source`` over links (adjacency > 0) through relay nodes."""
    cap = np.asarray(adjacency, dtype=float) > 0
    value, _ = max_flow(cap.astype(float), source, sink, relay_mask=relay_mask)
    return value > 0
