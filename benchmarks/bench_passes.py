"""Pass finding + per-step geometry: qsat against the Skyfield loop a user would write.

Two cases, as the pass-engine issue asks (side by side, same process, same machine):

1. ``single``: one satellite (ISS), one station, 7 days, geometry at 1 s inside passes.
2. ``constellation``: 100 satellites (Walker 100/10/1 at 550 km, 53 deg) x 20 stations x
   30 days. qsat's batched engine runs the whole case (passes over the whole window, per-step
   arrays in groups, so they stay within memory); the naive Skyfield loop is run on a subset of
   satellite-station pairs over the same 30 days and scaled by the pair count (its cost
   is per pair: one ``find_events`` and one ``altaz`` per pass), and qsat is also timed
   on that same subset for a like-for-like ratio.

Usage: ``python benchmarks/bench_passes.py [--quick]``; writes benchmarks/results/passes_cpu.json.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import timed, write  # noqa: E402

START = datetime(2026, 6, 8, tzinfo=timezone.utc)


def skyfield_pair_events(satrecs, stations, start, days, mask_deg=10.0):
    """For every satellite-station pair: (timescale, satellite - topos, rise/set times as TT
    Julian dates in pairs) from ``find_events``, as a Skyfield user gets them."""
    from skyfield.api import EarthSatellite, load, wgs84

    ts = load.timescale(builtin=True)
    t0, t1 = ts.from_datetime(start), ts.from_datetime(start + timedelta(days=days))
    for satrec in satrecs:
        sat = EarthSatellite.from_satrec(satrec, ts)
        for st in stations:
            topos = wgs84.latlon(st.latitude_deg, st.longitude_deg, elevation_m=st.altitude_m)
            times, events = sat.find_events(topos, t0, t1, altitude_degrees=mask_deg)
            spans, rise = [], None
            for t, e in zip(times, events):
                if e == 0:
                    rise = t.tt
                elif e == 2 and rise is not None:
                    spans.append((rise, t.tt))
                    rise = None
            yield ts, sat - topos, topos, spans


def naive_skyfield(satrecs, stations, start, days, mask_deg=10.0):
    """find_events, then altaz + range rate at every second of each pass."""
    n_pass = n_step = 0
    for ts, rel_of, topos, spans in skyfield_pair_events(satrecs, stations, start, days, mask_deg):
        for rise, set_ in spans:
            n = int((set_ - rise) * 86400)
            rel = rel_of.at(ts.tt_jd(rise + np.arange(n + 1) / 86400.0))
            alt, az, dist = rel.altaz()
            rel.frame_latlon_and_rates(topos)
            n_pass += 1
            n_step += len(alt.degrees)
    return n_pass, n_step


def walker(n_sat=100, planes=10, phasing=1, alt_km=550.0, inc_deg=53.0, epoch=START):
    from sgp4.api import WGS72, Satrec

    mu, re = 398600.8, 6378.135
    n_rad_min = np.sqrt(mu / (re + alt_km) ** 3) * 60.0
    jd = (epoch - datetime(1949, 12, 31, tzinfo=timezone.utc)).total_seconds() / 86400.0
    per = n_sat // planes
    sats = []
    for p in range(planes):
        for k in range(per):
            s = Satrec()
            s.sgp4init(WGS72, "i", 90000 + len(sats), jd, 2.8e-5, 0.0, 0.0, 0.0001, 0.0,
                       np.radians(inc_deg), np.radians((360.0 / per) * k + phasing * 360.0 / n_sat * p),
                       n_rad_min, np.radians(360.0 / planes * p))
            sats.append(s)
    return sats


def station_grid(n=20):
    from qsat.orbits.stations import Station

    rng = np.random.default_rng(1)
    lats = rng.uniform(-50, 55, n)
    lons = rng.uniform(-180, 180, n)
    return [Station(f"S{i:02d}", float(a), float(o), 500.0) for i, (a, o) in enumerate(zip(lats, lons))]


def qsat_passes(satrecs, stations, start, days, mask_deg=10.0, mode="numpy"):
    """qsat's batched engine: passes (the whole window, searched in one-day blocks, so a pass
    over midnight counts once), per-step geometry at 1 s in groups of ~1e6 steps, products."""
    from qsat.orbits import batch, steps as step_mod
    from qsat.orbits.products import build
    from qsat.orbits.propagate import Propagator
    from qsat.orbits.sky import SkyTable
    from qsat.orbits.timebase import TimeGrid

    st_itrs = np.array([s.itrs_m() for s in stations])
    st_latlon = np.array([s.latlon_rad for s in stations])
    propagator = Propagator(satrecs, mode)
    grid = TimeGrid.from_window(start, days * 86400.0, 1.0)
    screen = batch.screen_plan(satrecs, np.radians(mask_deg))
    records, _ = batch.find_passes(grid, propagator, st_itrs, st_latlon, np.radians(mask_deg), screen.step_s,
                                   block_s=86400.0, halo_s=screen.max_pass_s)
    cum = np.cumsum(step_mod.step_counts(grid, records))
    edges = np.unique(np.concatenate([[0], np.searchsorted(cum, np.arange(1e6, cum[-1], 1e6)), [len(records)]]))
    n_pass = n_step = 0
    for a, b in zip(edges[:-1], edges[1:]):
        part = records.take(np.arange(a, b))
        sky = SkyTable.for_span(grid, float(part.t_rise.min()), float(part.t_set.max()))
        steps = step_mod.batched_steps(grid, propagator, st_itrs, st_latlon, part, sky)
        table, ds = build(grid, [f"SAT{i}" for i in range(len(satrecs))], stations, part, steps,
                          night_sun_altitude_deg=-12.0)
        n_pass += len(table)
        n_step += int(ds.valid.sum())
    return n_pass, n_step


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller constellation case (smoke run)")
    args = parser.parse_args(argv)
    from qsat.orbits.elements import catalog
    from qsat.orbits.stations import catalog as stations

    iss = next(s for s in catalog() if s.norad_id == 25544).satrec
    tenerife = [stations()["TENERIFE"]]
    # Warm up both (imports, Skyfield's tables, kernel host builds) so neither pays one-off costs.
    naive_skyfield([iss], tenerife, START, 0.2)
    qsat_passes([iss], tenerife, START, 0.2)
    qsat_passes([iss], tenerife, START, 0.2, mode="host")
    t_naive, (np_naive, ns_naive) = timed(naive_skyfield, [iss], tenerife, START, 7)
    t_qsat, (np_q, ns_q) = timed(qsat_passes, [iss], tenerife, START, 7)
    single = {"naive_skyfield_s": t_naive, "qsat_s": t_qsat, "speedup": t_naive / t_qsat,
              "passes": [np_naive, np_q], "steps": [ns_naive, ns_q]}
    print("single", single)

    sats, sts = walker(), station_grid()
    days = 2 if args.quick else 30
    sub_sats, sub_sts = sats[::25], sts[::5]  # 4 x 4 = 16 of the 2000 pairs
    t_sub_naive, (p_sub_naive, s_sub_naive) = timed(naive_skyfield, sub_sats, sub_sts, START, days)
    t_sub_q, (p_sub_q, s_sub_q) = timed(qsat_passes, sub_sats, sub_sts, START, days)
    scale = (len(sats) * len(sts)) / (len(sub_sats) * len(sub_sts))
    t_full_q, (p_full, s_full) = timed(qsat_passes, sats, sts, START, days)
    t_full_h, (p_full_h, s_full_h) = timed(qsat_passes, sats, sts, START, days, mode="host")
    constellation = {
        "satellites": len(sats), "stations": len(sts), "days": days,
        "subset_pairs": len(sub_sats) * len(sub_sts),
        "subset_naive_skyfield_s": t_sub_naive, "subset_qsat_s": t_sub_q,
        "subset_speedup": t_sub_naive / t_sub_q,
        "subset_passes": [p_sub_naive, p_sub_q], "subset_steps": [s_sub_naive, s_sub_q],
        "naive_skyfield_estimated_full_s": t_sub_naive * scale,
        "qsat_full_s": t_full_q, "full_passes": p_full, "full_steps": s_full,
        "full_speedup_vs_scaled_naive": t_sub_naive * scale / t_full_q,
        "qsat_steps_per_s": s_full / t_full_q,
        "qsat_host_kernels_full_s": t_full_h, "qsat_host_kernels_passes_steps": [p_full_h, s_full_h],
        "full_speedup_host_kernels_vs_scaled_naive": t_sub_naive * scale / t_full_h,
    }
    print("constellation", constellation)
    write("passes_cpu" + ("_quick" if args.quick else ""), {
        "note": "naive = Skyfield find_events then altaz+range rate per pass at 1 s; qsat = batched engine "
                "with Sun/Moon/sunlit terms and the pass table and (pass, step) Dataset built; qsat runs "
                "day by day (passes crossing midnight count twice, hence more passes); host_kernels = "
                "the CUDA SGP4 and geometry kernels built for the CPU (g++). Machine shared with other "
                "jobs while measured: ratios are same-process, absolute times are noisy.",
        "single_iss_tenerife_7d": single, "constellation": constellation})


if __name__ == "__main__":
    main()
