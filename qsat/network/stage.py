"""Pipeline stage ``budget``: network key (and entangled-pair) budgets over days and years.

Reads ``passes`` (with the key columns of the ``keys`` stage: ``secret_key_bits``
or ``secret_key_bits_asymptotic``), optionally ``entanglement`` (BBM92 dual
downlink pairs of passes), and the scenario's ``[network]`` section. Adds

* ``budget`` — an xarray Dataset (see :func:`compute_budget` and ``docs/network.md``):
  per item (a pass, or a dual-downlink pair of passes) → per UTC day → per month
  → whole window, per station, per link and per user pair, with weather trials
  and their P5/P50/P95; key inventories at the end of every settle interval;
  demand, delivered and unmet key; the status of every user pair (a
  disconnected pair is reported as such, never as a silent zero); fiber link
  rates next to their PLOB bound; repeater chains;
* ``schedule`` — a table: every item, whether it was used and why not.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import QsatError, QsatInputError
from .config import NetworkConfig, check_references
from .entanglement import chain_results
from .fiber import link_rates
from .schedule import schedule
from .stores import KeyGraph, pair_capacity, pair_status, simulate_stores
from .weather import correlation_matrix, monthly_clear_sky, sample_clear

QUANTILES = (0.05, 0.5, 0.95)
DAY_S = 86400.0


def run_stage(run) -> None:
    """Pipeline entry: adds ``budget`` (Dataset) and ``schedule`` (table)."""
    from ..orbits.stations import resolve_station

    sc = run.scenario
    if "passes" not in run.products:
        raise QsatError("the budget stage needs the 'passes' product (passes stage)")
    stations = [resolve_station(spec, i) for i, spec in enumerate(sc.ground_stations)]
    budget, table = compute_budget(
        sc.network, run.products["passes"], start=sc.time.start, duration_s=sc.time.duration,
        station_names=[s.name for s in stations], station_latlon_deg=[(s.latitude_deg, s.longitude_deg) for s in stations],
        satellite_names=[s.name for s in sc.satellites], entanglement=run.products.get("entanglement"),
        seed=sc.seed, base_dir=sc.base_dir, warn=run.warn)
    run.products["budget"] = budget
    run.products["schedule"] = table


def _naive_utc(values) -> np.ndarray:
    t = pd.to_datetime(pd.Series(values), utc=True)
    return t.dt.tz_convert(None).to_numpy(dtype="datetime64[ns]")


def _items(net: NetworkConfig, passes: pd.DataFrame, entanglement, t0, warn):
    """Schedulable items: passes (key satellite–station) or dual-downlink pairs (key station–station)."""
    column = "secret_key_bits" if net.key == "finite" else "secret_key_bits_asymptotic"
    rise = _naive_utc(passes["rise_utc"]) if len(passes) else np.zeros(0, "datetime64[ns]")
    set_ = _naive_utc(passes["set_utc"]) if len(passes) else np.zeros(0, "datetime64[ns]")
    culm = _naive_utc(passes["culmination_utc"]) if len(passes) else np.zeros(0, "datetime64[ns]")
    sec = lambda t: (t - t0) / np.timedelta64(1, "s")  # noqa: E731
    dual = (entanglement is not None and len(entanglement)
            and (entanglement["station_b"] != "on board").any())
    if dual:
        ent = entanglement[entanglement["station_b"] != "on board"].reset_index(drop=True)
        row = {int(p): i for i, p in enumerate(passes["pass_id"])}
        ia = np.array([row[int(p)] for p in ent["pass_a"]], dtype=int)
        ib = np.array([row[int(p)] for p in ent["pass_b"]], dtype=int)
        key_col = column if column in ent else "secret_key_bits"
        items = pd.DataFrame({
            "kind": "dual-downlink", "satellite": ent["satellite"].to_numpy(),
            "stations": list(zip(ent["station_a"], ent["station_b"])),
            "pass_a": ent["pass_a"].to_numpy(int), "pass_b": ent["pass_b"].to_numpy(int),
            "start_s": np.maximum(sec(rise[ia]), sec(rise[ib])), "end_s": np.minimum(sec(set_[ia]), sec(set_[ib])),
            "mid_utc": culm[ia], "night": passes["dark"].to_numpy(bool)[ia] & passes["dark"].to_numpy(bool)[ib],
            "key_bits": ent[key_col].to_numpy(float),
            "entangled_pairs": ent["entangled_pairs"].to_numpy(float),
            "fidelity": ent["fidelity"].to_numpy(float) if "fidelity" in ent else np.full(len(ent), np.nan),
        })
        return items, (ia, ib)
    if column not in passes:
        warn(f"budget: the pass table has no '{column}' column (no [protocol] section, so no keys stage); "
             "satellite links carry no key")
        key = np.zeros(len(passes))
    else:
        key = passes[column].to_numpy(float)
    pairs = passes["entangled_pairs"].to_numpy(float) if "entangled_pairs" in passes else np.zeros(len(passes))
    items = pd.DataFrame({
        "kind": "pass", "satellite": passes["satellite"].to_numpy(), "stations": [(s,) for s in passes["station"]],
        "pass_a": passes["pass_id"].to_numpy(int), "pass_b": np.full(len(passes), -1),
        "start_s": sec(rise), "end_s": sec(set_), "mid_utc": culm,
        "night": passes["dark"].to_numpy(bool) if "dark" in passes else np.zeros(len(passes), bool),
        "key_bits": np.nan_to_num(key), "entangled_pairs": np.nan_to_num(pairs),
        "fidelity": np.full(len(passes), np.nan),
    })
    return items, (np.arange(len(passes)), None)


def _station_weights(net, kinds, station_names) -> dict[str, float]:
    """Share of demand whose end users are reachable over fiber (no satellite) from each station."""
    if not net.demands:
        return {}
    adj = {n: set() for n in kinds}
    for link in net.fiber_links:
        adj[link.a].add(link.b)
        adj[link.b].add(link.a)
    total = sum(d.rate * d.weight for d in net.demands) or 1.0
    out = {}
    for s in station_names:
        seen, stack = {s}, [s]
        while stack:
            u = stack.pop()
            for v in adj[u]:
                if v not in seen:
                    seen.add(v)
                    if kinds[v] in ("trusted", "station"):
                        stack.append(v)
        out[s] = sum(d.rate * d.weight for d in net.demands if d.a in seen or d.b in seen) / total
    return out


def _tail_matrix(net, users, station_pairs) -> np.ndarray:
    """(U, SP, 2): transmittance from each user to each end of each station pair (1 at the station
    itself, a direct fiber link's η_ch otherwise, 0 when the user has no direct fiber to it)."""
    from .fiber import fiber_transmittance

    out = np.zeros((len(users), len(station_pairs), 2))
    for j, sp in enumerate(station_pairs):
        for i, u in enumerate(users):
            for e, st in enumerate(sp):
                if u == st:
                    out[i, j, e] = 1.0
                for link in net.fiber_links:
                    if {link.a, link.b} == {u, st}:
                        out[i, j, e] = max(out[i, j, e], float(fiber_transmittance(
                            link.length, link.loss_db_per_km, link.extra_loss_db)))
    return out


def compute_budget(net: NetworkConfig, passes: pd.DataFrame, *, start: datetime, duration_s: float,
                   station_names: list[str], station_latlon_deg: list[tuple[float, float]],
                   satellite_names: list[str], entanglement: pd.DataFrame | None = None, seed: int = 0,
                   base_dir=None, warn=None) -> tuple[xr.Dataset, pd.DataFrame]:
    """The budget Dataset and the schedule table from plain inputs (usable without a Run)."""
    warn = warn or (lambda message: None)
    kinds = check_references(net, station_names)
    for i, n in enumerate(net.nodes):
        if n.name in satellite_names:
            raise QsatInputError(f"network.nodes[{i}].name", n.name,
                                 "a name not used by a satellite (satellites are relay nodes of the key graph)")
    t0 = np.datetime64(start.replace(tzinfo=None), "ns")
    n_int = int(np.ceil(duration_s / net.settle_interval - 1e-9))
    interval_len = np.minimum(net.settle_interval, duration_s - net.settle_interval * np.arange(n_int))

    # --- schedule ---
    items, (row_a, row_b) = _items(net, passes, entanglement, t0, warn)
    items = schedule(items, net.schedule.policy, satellite_terminals=net.schedule.satellite_terminals,
                     station_terminals=net.schedule.station_terminals,
                     station_weight=_station_weights(net, kinds, station_names))
    n_items = len(items)
    used = items["selected"].to_numpy(bool)

    # --- weather ---
    st_index = {s: i for i, s in enumerate(station_names)}
    trials = 1
    clear = np.ones((1, n_items), dtype=bool)
    p_item = np.ones(n_items)
    if net.weather is not None:
        trials = net.weather.trials
        monthly, missing = monthly_clear_sky(station_names, net.weather, base_dir)
        if missing:
            warn("budget: no clear-sky climatology for " + ", ".join(missing) + "; treated as always clear")
        lat, lon = np.array(station_latlon_deg, float).T if station_latlon_deg else (np.zeros(0), np.zeros(0))
        corr = correlation_matrix(lat, lon, net.weather.correlation_length)
        month = items["mid_utc"].to_numpy("datetime64[M]").astype(int) % 12 if n_items else np.zeros(0, int)
        window = np.floor((items["mid_utc"].to_numpy("datetime64[ns]") - t0) / np.timedelta64(1, "s")
                          / net.weather.decorrelation_time).astype(np.int64) if n_items else np.zeros(0, np.int64)
        clear = np.ones((trials, n_items), dtype=bool)
        for k in range(2 if row_b is not None else 1):
            sta = np.array([st_index[s[k]] for s in items["stations"]], dtype=int)
            p = monthly[sta, month] if n_items else np.zeros(0)
            clear &= sample_clear(seed, trials, sta, window, p, corr)
            p_item = p_item * p
    item_bits = items["key_bits"].to_numpy(float)[None, :] * used[None, :] * clear        # (trial, item)
    item_pairs = items["entangled_pairs"].to_numpy(float)[None, :] * used[None, :] * clear

    # --- key graph ---
    sat_kind = "satellite" if net.satellite_relay else "satellite-endpoint"
    nodes = list(kinds) + [s for s in satellite_names if s not in kinds]
    node_kinds = [kinds.get(n, sat_kind) for n in nodes]
    node_index = {n: i for i, n in enumerate(nodes)}
    rates = link_rates(net, seed=seed)
    links, link_kinds, ends = [], [], []
    for i, link in enumerate(net.fiber_links):
        links.append(link.label)
        link_kinds.append("fiber" if rates["modelled"][i] else "given")
        ends.append((node_index[link.a], node_index[link.b]))
    chains = chain_results(net.repeater_chains) if net.repeater_chains else None
    for c in net.repeater_chains:
        links.append(c.label)
        link_kinds.append("repeater")
        ends.append((node_index[c.a], node_index[c.b]))
    n_fixed = len(links)  # fiber links then repeater chains: key at a constant rate
    item_link = np.zeros(n_items, dtype=int)
    sat_links: dict[tuple[str, str], int] = {}
    for j, (sat, sts, kind) in enumerate(zip(items["satellite"], items["stations"], items["kind"])):
        key = (sts[0], sts[1]) if kind == "dual-downlink" else (sat, sts[0])
        key = tuple(sorted(key)) if kind == "dual-downlink" else key
        if key not in sat_links:
            sat_links[key] = len(links)
            links.append(f"{key[0]}-{key[1]}")
            link_kinds.append("entanglement" if kind == "dual-downlink" else "satellite")
            ends.append((node_index[key[0]], node_index[key[1]]))
        item_link[j] = sat_links[key]
    ends = np.array(ends, dtype=int).reshape(-1, 2)
    graph = KeyGraph(tuple(nodes), tuple(node_kinds), tuple(links), tuple(link_kinds), ends)
    n_links = len(links)

    # --- generation per interval and link ---
    item_int = np.clip(np.floor(items["end_s"].to_numpy(float) / net.settle_interval).astype(int), 0, max(n_int - 1, 0))
    generated = np.zeros((trials, n_int, n_links))
    n_fiber = len(net.fiber_links)
    fiber_bps = rates["key_rate_bps"].copy()
    for i, link in enumerate(net.fiber_links):
        if "untrusted" in (kinds[link.a], kinds[link.b]):
            fiber_bps[i] = 0.0
            warn(f"budget: fiber link {link.label} ends at an untrusted node, which holds no key: no key counted")
    fixed_bps = np.concatenate([fiber_bps, chains["key_rate_bps"] if chains is not None else np.zeros(0)])
    generated[:, :, :n_fixed] = (interval_len[:, None] * fixed_bps[None, :])[None]
    for tr in range(trials):
        np.add.at(generated[tr], (item_int, item_link), item_bits[tr])

    # --- demands ---
    pairs = np.array([(node_index[d.a], node_index[d.b]) for d in net.demands], dtype=int).reshape(-1, 2)
    pair_labels = [d.label for d in net.demands]
    demand = interval_len[:, None] * np.array([d.rate for d in net.demands])[None, :] if net.demands \
        else np.zeros((n_int, 0))
    weights = np.array([d.weight for d in net.demands])
    status = pair_status(graph, pairs, has_key=generated.sum(axis=(0, 1)) > 0)
    for label, st in zip(pair_labels, status):
        if st != "connected":
            warn(f"budget: user pair {label}: {st}")
    delivered = np.zeros((trials, n_int, len(pairs)))
    inventory = np.zeros((trials, n_int, n_links))
    spent = np.zeros((trials, n_int, n_links))
    capacity = np.zeros((trials, len(pairs)))
    for tr in range(trials):
        res = simulate_stores(graph, generated[tr], pairs, demand, weights=weights,
                              initial_bits=net.initial_key_bits)
        delivered[tr], spent[tr], inventory[tr] = res["delivered"], res["spent"], res["inventory"]
        capacity[tr] = pair_capacity(graph, generated[tr].sum(axis=0), pairs)

    # --- calendar aggregation of station key ---
    days = np.arange(t0.astype("datetime64[D]"), (t0 + np.timedelta64(int(round(duration_s * 1e9)), "ns")
                                                     - np.timedelta64(1, "ns")).astype("datetime64[D]") + np.timedelta64(1, "D"))
    item_day = ((items["mid_utc"].to_numpy("datetime64[ns]").astype("datetime64[D]") - days[0])
                .astype(int) if n_items else np.zeros(0, int))
    item_day = np.clip(item_day, 0, len(days) - 1)
    n_st = len(station_names)
    st_daily = np.zeros((trials, len(days), n_st))
    st_night = np.zeros((trials, len(days), n_st))
    night = items["night"].to_numpy(bool) if n_items else np.zeros(0, bool)
    for k in range(2 if row_b is not None else 1):
        sta = np.array([st_index[s[k]] for s in items["stations"]], dtype=int)
        for tr in range(trials):
            np.add.at(st_daily[tr], (item_day, sta), item_bits[tr])
            np.add.at(st_night[tr], (item_day[night], sta[night]), item_bits[tr][night])
    months = np.unique(days.astype("datetime64[M]"))
    day_month = np.searchsorted(months, days.astype("datetime64[M]"))
    interval_start = t0 + (np.arange(n_int) * net.settle_interval * 1e9).astype("timedelta64[ns]")
    int_month = np.searchsorted(months, interval_start.astype("datetime64[M]"))

    years = np.unique(months.astype("datetime64[Y]"))
    month_year = np.searchsorted(years, months.astype("datetime64[Y]"))

    def by_year(x_monthly):
        return np.stack([x_monthly[:, month_year == y].sum(axis=1) for y in range(len(years))], axis=1)

    def by_month(x, index, axis=1):
        out = np.zeros(x.shape[:axis] + (len(months),) + x.shape[axis + 1:])
        for m in range(len(months)):
            out[:, m] = x[:, index == m].sum(axis=axis)
        return out

    q = np.array(QUANTILES)
    dims_t = ("trial",)
    ds = xr.Dataset(coords={
        "trial": np.arange(trials), "quantile": q, "item": np.arange(n_items), "day": days.astype("datetime64[ns]"),
        "month": months.astype("datetime64[ns]"), "year": years.astype("datetime64[ns]"),
        "interval": interval_start,
        "station": station_names, "link": links, "pair": pair_labels,
    })

    def put(name, dims, data, units, long_name):
        ds[name] = (dims, np.asarray(data), {"units": units, "long_name": long_name})

    # per item
    put("item_satellite", ("item",), items["satellite"].to_numpy(str), "", "satellite of the item")
    put("item_station_a", ("item",), np.array([s[0] for s in items["stations"]], dtype=str), "", "station (first)")
    put("item_station_b", ("item",), np.array([s[1] if len(s) > 1 else "" for s in items["stations"]], dtype=str),
        "", "second station of a dual-downlink pair ('' for a pass)")
    put("item_pass_a", ("item",), items["pass_a"].to_numpy(int), "", "pass_id (first pass)")
    put("item_pass_b", ("item",), items["pass_b"].to_numpy(int), "", "pass_id of the second pass (-1 for a pass)")
    put("item_scheduled", ("item",), used, "", "used by the schedule")
    put("item_night", ("item",), night, "", "Sun below the night threshold during the pass(es)")
    put("item_key_bits", ("item",), items["key_bits"].to_numpy(float), "bit", "key of the item in clear sky")
    put("item_clear_probability", ("item",), p_item, "1", "probability that the item is clear (all its stations)")
    put("item_clear", dims_t + ("item",), clear, "", "item clear of cloud in the trial")
    put("item_delivered_bits", dims_t + ("item",), item_bits, "bit", "key delivered by the item (scheduled and clear)")
    put("item_entangled_pairs", dims_t + ("item",), item_pairs, "1", "entangled pairs delivered by the item")
    put("item_fidelity", ("item",), items["fidelity"].to_numpy(float), "1",
        "Bell-state fidelity of the item's pairs (dual downlink; NaN for a pass)")
    # per station
    put("station_key_bits_daily", dims_t + ("day", "station"), st_daily, "bit", "key held at the station per UTC day")
    put("station_key_bits_night_daily", dims_t + ("day", "station"), st_night, "bit",
        "key from night passes per UTC day")
    st_month = by_month(st_daily, day_month)
    put("station_key_bits_monthly", dims_t + ("month", "station"), st_month, "bit", "key per month")
    put("station_key_bits_yearly", dims_t + ("year", "station"), by_year(st_month), "bit",
        "key per calendar year (the part inside the window)")
    put("station_key_bits_total", dims_t + ("station",), st_daily.sum(axis=1), "bit", "key over the window")
    # per link
    put("link_kind", ("link",), np.array(link_kinds, dtype=str), "",
        "fiber | given | repeater | satellite | entanglement")
    put("link_node_a", ("link",), np.array([nodes[a] for a in ends[:, 0]], dtype=str), "", "first end")
    put("link_node_b", ("link",), np.array([nodes[b] for b in ends[:, 1]], dtype=str), "", "second end")
    fiber_rate = np.full(n_links, np.nan)
    fiber_rate[:n_fixed] = fixed_bps
    fiber_plob = np.full(n_links, np.nan)
    fiber_plob[:n_fiber] = rates["plob_bps"]
    put("link_key_rate_bps", ("link",), fiber_rate, "bit/s",
        "key rate of a fiber link (finite key) or repeater chain (asymptotic BBM92); NaN for satellite links")
    put("link_plob_bps", ("link",), fiber_plob, "bit/s", "PLOB repeaterless bound of the fiber link")
    put("link_generated_bits", dims_t + ("interval", "link"), generated, "bit", "key generated in the interval")
    put("link_spent_bits", dims_t + ("interval", "link"), spent, "bit", "key spent by relays in the interval")
    put("link_inventory_bits", dims_t + ("interval", "link"), inventory, "bit", "key store at the interval's end")
    link_month = by_month(generated, int_month)
    put("link_generated_bits_monthly", dims_t + ("month", "link"), link_month, "bit", "key generated per month")
    put("link_generated_bits_yearly", dims_t + ("year", "link"), by_year(link_month), "bit",
        "key generated per calendar year")
    put("link_generated_bits_total", dims_t + ("link",), generated.sum(axis=1), "bit", "key generated in the window")
    # per user pair
    put("pair_status", ("pair",), np.array(status, dtype=str), "", "connected | disconnected: ... | no key: ...")
    put("pair_connected", ("pair",), np.array([s == "connected" for s in status], dtype=bool), "",
        "a chain of links with key joins the pair")
    put("pair_demand_bits", ("interval", "pair"), demand, "bit", "key wanted in the interval")
    put("pair_delivered_bits", dims_t + ("interval", "pair"), delivered, "bit", "key delivered in the interval")
    put("pair_unmet_bits", dims_t + ("interval", "pair"), demand[None] - delivered, "bit", "demand not met")
    pair_month = by_month(delivered, int_month)
    put("pair_delivered_bits_monthly", dims_t + ("month", "pair"), pair_month, "bit", "key delivered per month")
    put("pair_delivered_bits_yearly", dims_t + ("year", "pair"), by_year(pair_month), "bit",
        "key delivered per calendar year")
    put("pair_delivered_bits_total", dims_t + ("pair",), delivered.sum(axis=1), "bit", "key delivered in the window")
    put("pair_unmet_bits_total", dims_t + ("pair",), demand.sum(axis=0)[None] - delivered.sum(axis=1), "bit",
        "demand not met in the window")
    put("pair_capacity_bits", dims_t + ("pair",), capacity, "bit",
        "max-flow over all key generated in the window (pair alone on the network)")
    # quantiles over weather trials
    for name in ("station_key_bits_monthly", "station_key_bits_yearly", "station_key_bits_total",
                 "link_generated_bits_total", "pair_delivered_bits_monthly", "pair_delivered_bits_yearly",
                 "pair_delivered_bits_total", "pair_unmet_bits_total",
                 "pair_capacity_bits"):
        if ds[name].size:
            qv = ds[name].quantile(q, dim="trial").drop_vars("quantile", errors="ignore").values
        else:  # no pairs or stations: xarray cannot take quantiles of an empty array
            qv = np.zeros((len(q),) + ds[name].shape[1:])
        ds[name + "_quantiles"] = (("quantile",) + ds[name].dims[1:], qv,
                                   {**ds[name].attrs, "long_name": ds[name].attrs["long_name"] + " (P5/P50/P95 over trials)"})
    # dual-downlink entangled pairs per station pair and day
    if row_b is not None and n_items:
        pair_tuples = sorted({tuple(sorted(s)) for s in items["stations"]})
        pair_names = ["-".join(t) for t in pair_tuples]
        ds = ds.assign_coords(station_pair=pair_names)
        sp = np.array([pair_tuples.index(tuple(sorted(s))) for s in items["stations"]], dtype=int)
        ent_daily = np.zeros((trials, len(days), len(pair_names)))
        for tr in range(trials):
            np.add.at(ent_daily[tr], (item_day, sp), item_pairs[tr])
        put("entangled_pairs_daily", dims_t + ("day", "station_pair"), ent_daily, "1",
            "dual-downlink entangled pairs per UTC day")
        if len(pairs):
            tails = _tail_matrix(net, [d.a for d in net.demands] + [d.b for d in net.demands], pair_tuples)
            k = len(net.demands)
            eta_pair = np.maximum(tails[:k, :, 0] * tails[k:, :, 1], tails[:k, :, 1] * tails[k:, :, 0])  # (K, SP)
            user_pairs = ent_daily.sum(axis=1) @ eta_pair.T
            put("pair_entangled_pairs_total", dims_t + ("pair",), user_pairs, "1",
                "dual-downlink pairs delivered to the users over their fiber tails (pairs x eta_a x eta_b)")
    # repeater chains
    if net.repeater_chains:
        ds = ds.assign_coords(chain=[c.label for c in net.repeater_chains])
        res = chains
        units = {"pair_rate_hz": "1/s", "fidelity": "1", "key_rate_bps": "bit/s", "mean_time_per_pair_s": "s", "elementary_success": "1",
                 "direct_fiber_pair_rate_hz": "1/s", "repeaterless_bound_ebit_s": "ebit/s"}
        for k, v in res.items():
            put(f"chain_{k}", ("chain",), v, units[k], f"repeater chain: {k.replace('_', ' ')}")
    ds.attrs.update({"title": "qsat network key budget", "settle_interval_s": net.settle_interval,
                     "schedule_policy": net.schedule.policy, "weather_trials": trials,
                     "key": net.key, "satellite_relay": int(net.satellite_relay)})
    table = items.drop(columns=["mid_utc"]).assign(
        stations=["+".join(s) for s in items["stations"]],
        clear_probability=p_item)
    return ds, table
