"""Network budget benchmark: a year of 10 satellites, 20 stations, 50 users, 1 s steps inside passes.

The whole chain runs on the CPU (NumPy backend): passes and per-step geometry at
1 s inside passes → link budget → decoy-BB84 key per pass (per-chunk pipeline,
``until="keys"``), then one budget stage over the year: schedule, weather
sampled for every pass in every trial (Gaussian copula, Philox), key stores and
max-flow relay for 25 user pairs per day, inventories. The orbit-to-key chain
runs in chunks of ``--chunk-days`` so the (pass, step) arrays stay small.

Satellites: 10 Micius-like element sets (the shipped 2021 Micius TLE with the
RAAN and mean anomaly spread; checksums recomputed). Stations: the 8 catalog
stations plus 12 synthetic sites. Users: 50, two per station on 20-60 km metro
fiber plus 10 on a trusted backbone ring; 25 demands. Weather: 20 trials with
user-given clear-sky probabilities (benchmark values, not climatology).

    python benchmarks/bench_budget.py                 # the full year (writes results/budget_cpu.json)
    python benchmarks/bench_budget.py --days 4 --name budget_cpu_quick
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write  # noqa: E402

MICIUS_2021 = ("1 41731U 16051A   21117.42314584  .00000696  00000-0  30260-4 0  9998",
               "2 41731  97.3499  30.8507 0012844 347.0485 124.2616 15.25507799261429")
SYNTHETIC_SITES = [(35.0 + 2 * k, -100.0 + 23 * k) for k in range(12)]


def _tle(raan_deg: float, mean_anomaly_deg: float) -> list[str]:
    from qsat.orbits.elements import tle_checksum

    l1, l2 = MICIUS_2021
    body = l2[:17] + f"{raan_deg % 360:8.4f}" + l2[25:43] + f"{mean_anomaly_deg % 360:8.4f}" + l2[51:68]
    return [l1, body + str(tle_checksum(body))]


def scenario_dict(start: datetime, days: float, n_sat: int = 10) -> dict:
    from qsat.orbits.stations import catalog

    stations = [{"name": s.name} for s in catalog().values()]
    stations += [{"name": f"Site{k:02d}", "latitude_deg": lat, "longitude_deg": lon, "altitude_m": 500.0}
                 for k, (lat, lon) in enumerate(SYNTHETIC_SITES)]
    names = [s["name"] for s in stations]
    nodes, links, demands = [], [], []
    users = []
    for i, st in enumerate(names):
        for j in range(2):
            u = f"U{i:02d}{j}"
            users.append(u)
            nodes.append({"name": u, "kind": "user"})
            links.append({"a": st, "b": u, "length": f"{20 + 20 * j + i % 3 * 5} km"})
    ring = [f"T{k}" for k in range(5)]
    nodes += [{"name": t} for t in ring]
    for k, t in enumerate(ring):
        links.append({"a": t, "b": ring[(k + 1) % 5], "length": "90 km"})
        links.append({"a": t, "b": names[k], "length": "60 km"})
        for j in range(2):
            u = f"R{k}{j}"
            users.append(u)
            nodes.append({"name": u, "kind": "user"})
            links.append({"a": t, "b": u, "length": "15 km"})
    rng = np.random.default_rng(1)
    order = rng.permutation(len(users))
    for k in range(25):
        a, b = users[order[2 * k]], users[order[2 * k + 1]]
        demands.append({"a": a, "b": b, "rate": "1 Mbit/d"})
    clear = {s: [float(p)] * 12 for s, p in zip(names, np.linspace(0.3, 0.8, len(names)))}
    return {
        "name": "bench-budget", "seed": 7,
        "time": {"start": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "duration": f"{days} d", "step": "1 s"},
        "satellites": [{"name": f"Q{k}", "tle": _tle(30.8507 + 36 * k, 124.2616 + 97 * k)} for k in range(n_sat)],
        "ground_stations": stations,
        "constraints": {"elevation_mask_deg": 15, "night_only": True},
        "engine": {"epoch_warning": "400 d"},
        "link": {"transmitter": {"divergence": "10 urad", "aperture": "30 cm", "pointing_jitter": "1 urad"},
                 "receiver": {"aperture": "1 m", "field_of_view": "100 urad"}},
        "detector": {"preset": "si-spad"},
        "protocol": {"mean_photon_numbers": [0.8, 0.1, 0.0], "intensity_probabilities": [0.5, 0.25, 0.25],
                     "basis_probability_x": 0.5},
        "network": {"nodes": nodes, "fiber_links": links, "demands": demands,
                    "weather": {"trials": 20, "clear_sky": clear}},
    }


def main() -> int:
    from qsat.network.stage import compute_budget
    from qsat.orbits.stations import resolve_station
    from qsat.pipeline import execute
    from qsat.scenario import from_dict

    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=float, default=365.0)
    ap.add_argument("--chunk-days", type=float, default=5.0)
    ap.add_argument("--name", default="budget_cpu")
    args = ap.parse_args()
    start = datetime(2021, 4, 27, tzinfo=timezone.utc)
    full = from_dict(scenario_dict(start, args.days))
    t_all = time.perf_counter()
    tables, steps, t_chain = [], 0, 0.0
    day = 0.0
    while day < args.days - 1e-9:
        span = min(args.chunk_days, args.days - day)
        sc = from_dict(scenario_dict(start + timedelta(days=day), span))
        t = time.perf_counter()
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run = execute(sc, backend="numpy", until="keys")
        t_chain += time.perf_counter() - t
        tab = run.products["passes"]
        steps += int(tab["n_steps"].sum()) if len(tab) else 0
        tables.append(tab)
        day += span
        print(f"day {day:6.1f}: {len(tab)} passes, chain {t_chain:7.1f} s", flush=True)
    passes = pd.concat(tables, ignore_index=True)
    passes["pass_id"] = np.arange(len(passes))
    stations = [resolve_station(s, i) for i, s in enumerate(full.ground_stations)]
    t = time.perf_counter()
    budget, table = compute_budget(full.network, passes, start=full.time.start, duration_s=full.time.duration,
                                   station_names=[s.name for s in stations],
                                   station_latlon_deg=[(s.latitude_deg, s.longitude_deg) for s in stations],
                                   satellite_names=[s.name for s in full.satellites], seed=full.seed)
    t_budget = time.perf_counter() - t
    total = time.perf_counter() - t_all
    connected = int(budget["pair_connected"].sum())
    result = {
        "benchmark": "network budget: passes -> link -> keys (1 s steps inside passes, chunked) -> budget",
        "days": args.days, "chunk_days": args.chunk_days, "satellites": len(full.satellites),
        "stations": len(stations), "users": sum(n.kind == "user" for n in full.network.nodes),
        "demands": len(full.network.demands), "weather_trials": full.network.weather.trials,
        "passes": int(len(passes)), "scheduled_passes": int(table["selected"].sum()),
        "steps_inside_passes": steps, "links": int(budget.sizes["link"]), "intervals": int(budget.sizes["interval"]),
        "pairs_connected": connected,
        "seconds": {"passes_link_keys": t_chain, "budget_stage": t_budget, "total": total},
        "target_s": 600.0,
        "median_delivered_bits_total": float(budget["pair_delivered_bits_total_quantiles"].sel(quantile=0.5).sum()),
    }
    path = write(args.name, result)
    print(f"wrote {path}: total {total:.1f} s (chain {t_chain:.1f} s, budget {t_budget:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
