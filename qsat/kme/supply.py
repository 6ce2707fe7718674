"""Key supply of each user pair over time, replayed from a network budget (``budget.nc``).

The budget (``docs/network.md``) says how much key each user pair receives in every
settle interval of one weather trial, ``pair_delivered_bits[trial, interval, pair]``:
what the link stores could give the pair after relays through trusted nodes spent
their key. It does not say *when* inside the interval the key became available. The
supply here places it: at time t of interval i the pair holds

    A_i(t) = min(D_i, F_i(t)),

D_i the budget's delivered key, F_i(t) the maximum flow between the pair's nodes (the
budget's own max-flow over the key graph, trusted relays and satellites as relays) on
the stores as they stand at t: the inventory at the end of interval i-1, plus the key
of every pass that has ended by t (a satellite pass's key arrives when the pass ends,
exactly as the budget books it), plus the fiber and repeater links' key of the
interval pro rata (they deliver continuously). At the interval's end A_i = D_i, so the
supply over the window equals the budget's delivered key to rounding.

Pairs are served alone here; the budget serves them in turn (by weight) from shared
stores, so two pairs competing for the same link may see their key a little earlier
here than in a strictly sequential service; the totals per interval are the budget's.
Between the instants evaluated (pass ends, and a grid of ``resolution_s`` where fixed-
rate links exist) the supply is interpolated linearly.

A user pair is the unordered pair of nodes of a ``[[network.demands]]`` entry; two
demands between the same nodes share one supply (their sum).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import QsatInputError
from ..network.flow import capacity_matrix, max_flow
from ..network.stores import RELAY_KINDS

FIXED_KINDS = ("fiber", "given", "repeater")


@dataclass
class PairSupply:
    """Cumulative key (bits) a user pair has received by each instant (seconds from the window start)."""

    label: str                   # "A-B", nodes in the order of the first demand between them
    nodes: tuple[str, str]
    times_s: np.ndarray          # non-decreasing; a repeated instant is a step (a pass ending)
    cumulative_bits: np.ndarray  # same length, non-decreasing
    interval_bits: np.ndarray    # the budget's delivered key per settle interval

    def bits_at(self, t_s: float) -> float:
        """Cumulative key by ``t_s`` (after any step at exactly ``t_s``)."""
        i = int(np.searchsorted(self.times_s, t_s, side="right")) - 1
        if i < 0:
            return 0.0
        if i >= len(self.times_s) - 1:
            return float(self.cumulative_bits[-1])
        t0, t1 = self.times_s[i], self.times_s[i + 1]
        c0, c1 = self.cumulative_bits[i], self.cumulative_bits[i + 1]
        return float(c0 + (c1 - c0) * (t_s - t0) / (t1 - t0))

    @property
    def total_bits(self) -> float:
        return float(self.interval_bits.sum())


@dataclass
class Supply:
    """The supply of every user pair of one weather trial of a budget."""

    start: np.datetime64          # window start (UTC, naive)
    duration_s: float
    settle_interval_s: float
    trial: int
    pairs: dict[str, PairSupply]  # by label
    node_kinds: dict[str, str]
    provenance: dict
    warnings: list[str]

    def pair_of(self, node_a: str, node_b: str) -> PairSupply | None:
        for p in self.pairs.values():
            if set(p.nodes) == {node_a, node_b}:
                return p
        return None

    def identity(self) -> dict:
        """What a key store must have been made for to continue from it."""
        return {"scenario_sha256": str(self.provenance.get("scenario_sha256", "")), "trial": self.trial,
                "pairs": sorted(self.pairs), "start": str(self.start), "duration_s": self.duration_s}


PROVENANCE_KEYS = ("schema_version", "qsat_version", "scenario_name", "scenario_sha256", "backend", "seed",
                   "data_versions", "warnings")


def _schedule_table(budget_path: Path, n_items: int) -> pd.DataFrame:
    stem = budget_path.stem
    candidates = [budget_path.with_name(f"{stem}.schedule.csv"), budget_path.with_name("schedule.csv"),
                  budget_path.with_name(f"{stem}.schedule.parquet"), budget_path.with_name("schedule.parquet")]
    for path in candidates:
        if path.exists():
            table = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
            if "end_s" not in table or len(table) != n_items:
                raise QsatInputError(str(path), f"{len(table)} rows, columns {', '.join(map(str, table.columns))}",
                                     f"the schedule written with {budget_path.name} ({n_items} rows with end_s)")
            return table
    raise QsatInputError(str(budget_path), "no schedule table beside it",
                         f"{candidates[0].name} (qsat budget) or schedule.csv (qsat run) in the same folder")


def _pick_trial(delivered: np.ndarray, trial: int | None, source: str) -> int:
    n = delivered.shape[0]
    if trial is None:
        if n == 1:
            return 0
        totals = delivered.sum(axis=(1, 2))
        return int(np.argmin(np.abs(totals - np.median(totals))))
    if not 0 <= trial < n:
        raise QsatInputError("--trial", trial, f"a weather trial of {source}: 0 to {n - 1}")
    return trial


def _crossing(flow, lo: float, hi: float, target: float, iterations: int = 30) -> float:
    """The instant in (lo, hi] at which the non-decreasing ``flow(t)`` reaches ``target`` (bisection)."""
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        if flow(mid) >= target:
            hi = mid
        else:
            lo = mid
    return hi


def load_supply(budget_path, scenario_path, *, trial: int | None = None, resolution_s: float = 3600.0) -> Supply:
    """The supply of every user pair from ``budget.nc`` and the scenario it was made from.

    ``trial``: the weather trial (default: the only one, else the trial whose total
    delivered key is the median). The scenario gives what the budget does not store:
    the node kinds (who may relay) and the two nodes of every user pair; its SHA-256
    must be the budget's ``scenario_sha256``.
    """
    import xarray as xr

    from .. import scenario as scenario_mod

    budget_path = Path(budget_path)
    if not budget_path.is_file():
        raise QsatInputError("BUDGET", str(budget_path), "an existing budget product (budget.nc from qsat budget or qsat run)")
    try:
        ds = xr.load_dataset(budget_path, engine="h5netcdf")
    except (OSError, ValueError) as exc:
        raise QsatInputError("BUDGET", str(budget_path), f"a readable NetCDF budget product ({exc.__class__.__name__})") from None
    needed = ("pair_delivered_bits", "link_inventory_bits", "link_generated_bits", "item_delivered_bits",
              "link_node_a", "link_node_b", "link_kind")
    missing = [n for n in needed if n not in ds]
    if missing:
        raise QsatInputError(str(budget_path), f"no variable {missing[0]!r}", "a budget product (budget.nc)")
    sc = scenario_mod.load(scenario_path)
    if sc.network is None:
        raise QsatInputError("--scenario", str(scenario_path), "the scenario of the budget, with a [network] section")
    sha = str(ds.attrs.get("scenario_sha256", ""))
    if sha and sc.digest() != sha:
        raise QsatInputError("--scenario", str(scenario_path),
                             f"the scenario {budget_path.name} was made from (scenario_sha256 {sha[:12]}..., "
                             f"this one is {sc.digest()[:12]}...)")
    net = sc.network
    if len(net.demands) != ds.sizes["pair"]:
        raise QsatInputError(str(budget_path), f"{ds.sizes['pair']} user pairs",
                             f"the {len(net.demands)} demands of the scenario")
    delivered_all = ds["pair_delivered_bits"].values
    trial = _pick_trial(delivered_all, trial, budget_path.name)
    schedule = _schedule_table(budget_path, ds.sizes["item"])

    settle = float(ds.attrs.get("settle_interval_s", net.settle_interval))
    duration = float(sc.time.duration)
    n_int = ds.sizes["interval"]
    interval_len = np.minimum(settle, duration - settle * np.arange(n_int))
    start = np.datetime64(pd.Timestamp(ds["interval"].values[0]).to_datetime64(), "ns")

    # key graph: nodes, kinds, links
    kinds = {str(s): "station" for s in ds["station"].values}
    kinds.update({n.name: n.kind for n in net.nodes})
    sat_kind = "satellite" if int(ds.attrs.get("satellite_relay", 1)) else "satellite-endpoint"
    link_a = [str(x) for x in ds["link_node_a"].values]
    link_b = [str(x) for x in ds["link_node_b"].values]
    link_kind = [str(x) for x in ds["link_kind"].values]
    for a, b, k in zip(link_a, link_b, link_kind):
        if k == "satellite":
            kinds.setdefault(a, sat_kind)
        kinds.setdefault(a, "trusted")
        kinds.setdefault(b, "trusted")
    nodes = list(kinds)
    index = {n: i for i, n in enumerate(nodes)}
    relay = np.array([kinds[n] in RELAY_KINDS for n in nodes])
    ends = np.array([(index[a], index[b]) for a, b in zip(link_a, link_b)], dtype=int).reshape(-1, 2)
    fixed = np.array([k in FIXED_KINDS for k in link_kind])

    # passes and dual-downlink pairs: their link and the instant their key arrives
    item_bits = ds["item_delivered_bits"].values[trial]
    item_link = np.full(len(item_bits), -1)
    by_ends = {}
    for li, (a, b, k) in enumerate(zip(link_a, link_b, link_kind)):
        by_ends[(k, a, b)] = li
    sat = ds["item_satellite"].values
    st_a, st_b = ds["item_station_a"].values, ds["item_station_b"].values
    for j in range(len(item_bits)):
        if str(st_b[j]):
            a, b = sorted((str(st_a[j]), str(st_b[j])))
            item_link[j] = by_ends.get(("entanglement", a, b), -1)
        else:
            item_link[j] = by_ends.get(("satellite", str(sat[j]), str(st_a[j])), -1)
    item_end = np.clip(schedule["end_s"].to_numpy(float), 0.0, duration)
    item_int = np.clip(np.floor(schedule["end_s"].to_numpy(float) / settle).astype(int), 0, max(n_int - 1, 0))

    generated = ds["link_generated_bits"].values[trial]   # (interval, link)
    inventory = ds["link_inventory_bits"].values[trial]
    initial = np.full(len(link_kind), float(net.initial_key_bits))

    groups: dict[frozenset, list[int]] = {}
    for k, d in enumerate(net.demands):
        groups.setdefault(frozenset((d.a, d.b)), []).append(k)
    pairs, warnings = {}, []
    for key, members in groups.items():
        first = net.demands[members[0]]
        label = first.label if len(members) == 1 else f"{first.a}-{first.b}"
        bits = delivered_all[trial][:, members].sum(axis=1)
        s, t = index.get(first.a), index.get(first.b)
        times, cum, total = [0.0], [0.0], 0.0
        for i in range(n_int):
            t_i = settle * i
            d_i = float(bits[i])
            if d_i <= 0:
                continue
            base = initial if i == 0 else inventory[i - 1]
            rate = np.where(fixed, generated[i] / interval_len[i], 0.0)
            mine = np.nonzero((item_int == i) & (item_bits > 0) & (item_link >= 0))[0]
            events = sorted(set(item_end[mine].tolist()))
            grid = (t_i + np.arange(1, int(math.ceil(interval_len[i] / resolution_s))) * resolution_s).tolist() \
                if fixed.any() and (rate > 0).any() else []
            instants = sorted(set(events) | set(grid))

            def held(at: float, strict: bool) -> float:
                store = base + rate * (at - t_i)
                arrived = mine[(item_end[mine] < at) if strict else (item_end[mine] <= at)]
                np.add.at(store, item_link[arrived], item_bits[arrived])
                if s is None or t is None:
                    return 0.0
                cap = capacity_matrix(len(nodes), ends, store)
                return min(d_i, max_flow(cap, s, t, relay_mask=relay, limit=d_i)[0])

            a = held(t_i, strict=False)
            pts = [(t_i, a)]
            before = t_i
            for at in instants:
                if a >= d_i:
                    break
                ramp = held(at, strict=True)  # fixed-rate links only since the last instant
                if ramp >= d_i:  # crossed on the ramp: find when (max-flow is concave in t)
                    pts.append((_crossing(lambda x: held(x, strict=True), before, at, d_i), d_i))
                    a = d_i
                    break
                if at in events:
                    pts.append((at, ramp))
                a = held(at, strict=False)
                pts.append((at, a))
                before = at
            if a < d_i * (1 - 1e-6):
                a = held(t_i + interval_len[i], strict=False)
            if a < d_i * (1 - 1e-6):
                warnings.append(f"supply: {label} interval {i}: the stores hold {a:.6g} bit for the pair at the "
                                f"interval's end, the budget delivered {d_i:.6g} bit; the rest arrives at the end")
            pts.append((t_i + interval_len[i], d_i))
            vals = np.minimum(np.maximum.accumulate(np.array([p[1] for p in pts])), d_i)
            times.extend(p[0] for p in pts)
            cum.extend((total + vals).tolist())
            total += d_i
        pairs[label] = PairSupply(label, (first.a, first.b), np.array(times), np.array(cum), bits.astype(float))

    provenance = {k: ds.attrs[k] for k in PROVENANCE_KEYS if k in ds.attrs}
    return Supply(start=start, duration_s=duration, settle_interval_s=settle, trial=trial, pairs=pairs,
                  node_kinds=kinds, provenance=provenance, warnings=warnings)
