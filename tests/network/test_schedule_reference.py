"""The scheduler against a plain reference of the rules in :mod:`qsat.network.schedule`.

The reference is written from the module's rules, not from its code: conflicting items
form clusters (connected components of "overlap in time on a shared satellite or
station"); clusters are visited in order of their first start; in each, items are taken
greedily in the policy's order while every resource they need has fewer overlapping
taken items than it has terminals. It scans every taken item for every candidate (fine
for a few hundred items), so it checks the bisection the production code uses.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qsat.network.schedule import schedule


def _reference(items: pd.DataFrame, policy: str, sat_terminals: int, gs_terminals: int, weight: dict):
    n = len(items)
    start, end, key = items.start_s.to_numpy(), items.end_s.to_numpy(), items.key_bits.to_numpy()
    res = [{f"sat:{s}"} | {f"gs:{g}" for g in st} for s, st in zip(items.satellite, items.stations)]
    conflict = [[j for j in range(n) if j != i and res[i] & res[j] and start[i] < end[j] and start[j] < end[i]]
                for i in range(n)]
    cluster = [-1] * n
    for i in range(n):  # connected components by depth-first search
        if cluster[i] < 0:
            cluster[i], todo = i, [i]
            while todo:
                for j in conflict[todo.pop()]:
                    if cluster[j] < 0:
                        cluster[j] = i
                        todo.append(j)
    clusters = sorted(set(cluster), key=lambda c: min(start[i] for i in range(n) if cluster[i] == c))
    selected, reason, served = [False] * n, ["selected"] * n, {}
    limit = {"sat": sat_terminals, "gs": gs_terminals}
    for c in clusters:
        members = [i for i in range(n) if cluster[i] == c]
        stations = lambda i: items.stations[i]  # noqa: E731
        if policy == "max-key":
            order = sorted(members, key=lambda i: (-key[i], start[i]))
        elif policy == "demand-weighted":
            order = sorted(members, key=lambda i: (-key[i] * (1 + sum(weight.get(g, 0) for g in stations(i))),
                                                   start[i]))
        else:
            order = sorted(members, key=lambda i: (sum(served.get(g, 0) for g in stations(i)), -key[i], start[i]))
        taken = []
        for i in order:
            for r in sorted(res[i], key=lambda r: (not r.startswith("sat:"), r)):
                users = [j for j in taken if r in res[j] and start[j] < end[i] and start[i] < end[j]]
                if len(users) >= limit[r.split(":")[0]]:
                    reason[i] = f"{'satellite' if r.startswith('sat:') else 'station'} busy with item {users[0]} ({policy})"
                    break
            else:
                taken.append(i)
                selected[i] = True
                for g in stations(i):
                    served[g] = served.get(g, 0) + 1
    return selected, reason


def _random_items(rng, n):
    rows = []
    for _ in range(n):
        a = rng.uniform(0.0, 20_000.0)
        stations = tuple(sorted(rng.choice(["A", "B", "C", "D"], size=rng.integers(1, 3), replace=False)))
        rows.append({"satellite": f"S{rng.integers(0, 5)}", "stations": stations, "start_s": a,
                     "end_s": a + rng.uniform(100.0, 900.0), "key_bits": float(rng.integers(1, 10**6))})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("policy", ["max-key", "demand-weighted", "round-robin"])
@pytest.mark.parametrize("terminals", [(1, 1), (1, 2), (2, 1)])
def test_schedule_equals_the_reference(policy, terminals):
    rng = np.random.default_rng(11)
    weight = {"A": 0.5, "C": 2.0}
    for n in (1, 2, 30, 200):
        items = _random_items(rng, n)
        out = schedule(items, policy, satellite_terminals=terminals[0], station_terminals=terminals[1],
                       station_weight=weight)
        selected, reason = _reference(items, policy, *terminals, weight)
        assert out["selected"].tolist() == selected
        assert out["reason"].tolist() == reason
        assert 0 < sum(selected) <= n
