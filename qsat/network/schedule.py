"""Which passes are used when a satellite sees several stations, or a station several satellites.

A satellite has ``satellite_terminals`` optical terminals (a decoy-BB84 source
serves one station at a time; a BBM92 dual downlink serves two at once and is
scheduled as one item using both stations), a station ``station_terminals``
telescopes. Items (a pass, or a dual-downlink pair of passes) whose time
intervals overlap and that need the same satellite or station conflict.

Conflicting items form clusters (connected components of the conflict graph);
in each cluster items are taken greedily in the policy's order while they fit
the terminals:

* ``max-key``: most key first;
* ``demand-weighted``: key × (1 + w_station), w the share of the demand whose
  users sit behind the station (reachable over fiber without a satellite);
* ``round-robin``: the station(s) served least so far first, then most key
  (so stations take turns over the window).

Greedy selection is not guaranteed optimal (weighted interval scheduling on
several shared resources is NP-hard in general); it is exact for clusters of
two items, the common case of one satellite over two nearby stations.
"""

from __future__ import annotations

import bisect

import numpy as np
import pandas as pd


def _clusters(start, end, resources) -> np.ndarray:
    """Union-find over items overlapping in time on a shared resource; returns a cluster id per item."""
    n = len(start)
    parent = np.arange(n)

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_resource: dict[str, list[int]] = {}
    for i, res in enumerate(resources):
        for r in res:
            by_resource.setdefault(r, []).append(i)
    for items in by_resource.values():
        items = sorted(items, key=lambda i: start[i])
        reach, last = -np.inf, -1
        for i in items:
            if start[i] < reach:
                a, b = find(i), find(last)
                if a != b:
                    parent[a] = b
            if end[i] > reach:
                reach, last = end[i], i
    return np.array([find(i) for i in range(n)])


class _Taken:
    """The items taken so far in one cluster, per resource, sorted by start: which of them
    overlap an interval is found by bisection over starts within the longest taken item's
    length, not by scanning every item taken (a cluster can hold tens of thousands)."""

    def __init__(self):
        self._starts: dict[str, list[float]] = {}
        self._items: dict[str, list[tuple[float, int, int]]] = {}  # (end, rank taken, item)
        self._longest: dict[str, float] = {}
        self._count = 0

    def add(self, item: int, resources, start_s: float, end_s: float) -> None:
        for r in resources:
            starts = self._starts.setdefault(r, [])
            k = bisect.bisect_right(starts, start_s)
            starts.insert(k, start_s)
            self._items.setdefault(r, []).insert(k, (end_s, self._count, item))
            self._longest[r] = max(self._longest.get(r, 0.0), end_s - start_s)
        self._count += 1

    def overlapping(self, resource: str, start_s: float, end_s: float) -> list[int]:
        """Items taken on ``resource`` whose interval overlaps [start_s, end_s), in the order taken."""
        starts = self._starts.get(resource)
        if not starts:
            return []
        k = bisect.bisect_left(starts, start_s - self._longest[resource])
        hits = []
        entries = self._items[resource]
        while k < len(starts) and starts[k] < end_s:
            item_end, rank, item = entries[k]
            if start_s < item_end:
                hits.append((rank, item))
            k += 1
        return [item for _, item in sorted(hits)]


def schedule(items: pd.DataFrame, policy: str, *, satellite_terminals: int = 1, station_terminals: int = 1,
             station_weight: dict[str, float] | None = None) -> pd.DataFrame:
    """Select items; returns ``items`` with ``selected`` (bool) and ``reason`` columns.

    ``items`` columns: ``satellite``, ``stations`` (tuple of station names),
    ``start_s``, ``end_s`` (seconds from the window start), ``key_bits``.
    """
    items = items.reset_index(drop=True).copy()
    n = len(items)
    selected = np.zeros(n, dtype=bool)
    reason = np.array(["selected"] * n, dtype=object)
    if n == 0:
        items["selected"], items["reason"] = selected, reason
        return items
    start = items["start_s"].to_numpy(float)
    end = items["end_s"].to_numpy(float)
    key = items["key_bits"].to_numpy(float)
    sats = items["satellite"].to_numpy()
    stations = list(items["stations"])
    resources = [(f"sat:{s}",) + tuple(f"gs:{g}" for g in st) for s, st in zip(sats, stations)]
    cluster = _clusters(start, end, resources)
    weight = station_weight or {}
    served: dict[str, int] = {}
    # Clusters in order of their first start, each with its members in item order: one sort
    # of the whole window instead of a scan per cluster (a year of a large constellation has
    # hundreds of thousands of clusters).
    by_cluster = np.lexsort((np.arange(n), cluster))
    bounds = np.flatnonzero(np.diff(cluster[by_cluster])) + 1
    groups = np.split(by_cluster, bounds)
    groups.sort(key=lambda members: start[members].min())
    limits = {"sat": satellite_terminals, "gs": station_terminals}
    for members in groups:
        if members.size == 1:
            i = members[0]
            selected[i] = True
            for g in stations[i]:
                served[g] = served.get(g, 0) + 1
            continue
        if policy == "max-key":
            ranked = sorted(members, key=lambda i: (-key[i], start[i]))
        elif policy == "demand-weighted":
            ranked = sorted(members, key=lambda i: (-key[i] * (1.0 + sum(weight.get(g, 0.0) for g in stations[i])),
                                                    start[i]))
        else:  # round-robin
            ranked = sorted(members, key=lambda i: (sum(served.get(g, 0) for g in stations[i]), -key[i], start[i]))
        taken = _Taken()
        for i in ranked:
            clash = None
            for r in resources[i]:
                users = taken.overlapping(r, start[i], end[i])
                if len(users) >= limits[r.split(":")[0]]:
                    clash = (r, users[0])
                    break
            if clash is None:
                taken.add(i, resources[i], start[i], end[i])
                selected[i] = True
                for g in stations[i]:
                    served[g] = served.get(g, 0) + 1
            else:
                what = "satellite" if clash[0].startswith("sat:") else "station"
                reason[i] = f"{what} busy with item {int(clash[1])} ({policy})"
    items["selected"], items["reason"] = selected, reason
    return items
