"""Constellation scale: the rows of the streaming/compiled/distributed issue, side by side.

Rows (each against its reference in the same run, on the same machine):

* ``passes_cli``: ``qsat passes --series geometry.nc`` as a whole process, 24 satellites
  (Walker 24/6/1, 550 km, 53 deg) x 8 stations at 1 s, this tree vs the tree at ``--base``
  (extracted with ``git archive``), and two Skyfield loops on a subset of pairs, scaled by
  the pair count: the issue's competent loop (find_events, then altaz at 1 s inside each
  pass) and bench_passes' loop (the same plus range rate); pass counts of all.
* ``memory``: peak resident memory of the same command at ``D`` and ``4 D`` days.
* ``engine``: 100 satellites x 20 stations at 1 s, passes + per-step geometry in process
  (compute_passes) vs python-sgp4 ``SatrecArray`` propagation alone at every 1 s.
* ``workers``: the same 100 x 20 job at 10 s on a local Dask cluster, 2 workers vs 1.
* ``refusal``: ``qsat passes`` on a 1000 yr window at 1 s: time to the one-line refusal.
* ``imports``: ``import qsat.api`` and ``qsat --help`` as whole processes, both trees.

With ``--full``, the issue's full-size rows instead, this tree only, each a whole process
(wall time, peak RSS of the process tree, pass count, load average before and after):

* ``full_passes``: 100 x 20 x ``--full-days`` (30) at 1 s, ``qsat passes --series g.nc``
  (streamed): target under 3 GB.
* ``full_memory``: 24 x 8 at 1 s, ``qsat passes --series``, peak RSS at 3 d and 12 d: target
  ratio <= 1.5.
* ``full_run``: 100 x 20 at 10 s with link, detector, decoy-BB84 and a daily-settled network
  (passes + link + keys + daily budgets), ``qsat run``, first at 365 d, then at each of
  ``--run-days`` (30) while the previous one was refused: the one-line refusal is recorded.
* ``full_workers``: 100 x 20 x ``--workers-days`` (30) at 10 s, ``qsat passes`` in process,
  ``--workers 1`` (one in-process worker, threads = cores) and ``--workers 2`` (two
  single-threaded worker processes).
* ``full_run_workers`` (only when named in ``--rows``): 100 x 20 x ``--workers-days`` (3) at 10 s,
  ``qsat run --no-series --no-figures --no-export`` (passes + link + keys + daily budgets) in
  process, ``--workers 1 --threads-per-worker 1`` and ``--workers 2`` (one thread each), with the
  default groups of passes (3 d: one group) and with ``--group-steps 100000``, under GNU
  ``time -v`` (peak RSS: the largest single process of the tree), pass tables compared.

    python benchmarks/bench_scale.py --days 12 --engine-days 7 --name scale_cpu      # the issue's sizes
    python benchmarks/bench_scale.py --days 2 --engine-days 1 --name scale_cpu_quick  # what a shared 2-core machine allows
    python benchmarks/bench_scale.py --full --name scale_fullsize                    # the full-size rows (~30 min, 2 cores)
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from _common import write  # noqa: E402
from bench_passes import START, naive_skyfield, skyfield_pair_events, station_grid, walker  # noqa: E402


def scenario_text(n_sat: int, planes: int, n_sta: int, days: float, step: str) -> str:
    from sgp4.exporter import export_tle

    lines = [f'name = "walker{n_sat}"', "[time]", f'start = "{START:%Y-%m-%dT%H:%M:%SZ}"',
             f'duration = "{days} d"', f'step = "{step}"']
    for i, sat in enumerate(walker(n_sat, planes)):
        l1, l2 = export_tle(sat)
        lines += ["[[satellites]]", f'name = "W{i:03d}"', f'tle = ["{l1}", "{l2}"]']
    for st in station_grid(n_sta):
        lines += ["[[ground_stations]]", f'name = "{st.name}"', f"latitude_deg = {st.latitude_deg}",
                  f"longitude_deg = {st.longitude_deg}", f"altitude_m = {st.altitude_m}"]
    lines += ["[constraints]", "elevation_mask_deg = 10.0"]
    return "\n".join(lines) + "\n"


def competent_skyfield(satrecs, stations, start, days, mask_deg=10.0):
    """The issue's reference: find_events, then altaz at every second inside the passes, one
    vectorised call for all passes of a satellite-station pair; passes and steps counted."""
    n_pass = n_step = 0
    for ts, rel, _, spans in skyfield_pair_events(satrecs, stations, start, days, mask_deg):
        if spans:
            tt = np.concatenate([a + np.arange(int((b - a) * 86400) + 1) / 86400.0 for a, b in spans])
            alt, _, _ = rel.at(ts.tt_jd(tt)).altaz()
            n_pass += len(spans)
            n_step += len(alt.degrees)
    return n_pass, n_step


RUN_EXTRA = """
[engine]
epoch_warning = "366 d"

[link]
direction = "downlink"
wavelength = "785 nm"
[link.transmitter]
aperture = "8 cm"
pointing_jitter = "2 urad"
[link.receiver]
aperture = "60 cm"
field_of_view = "100 urad"
filter_width = "1 nm"
optical_efficiency = 0.5
[link.atmosphere]
site = "clear"

[detector]
preset = "si-spad"

[protocol]
protocol = "decoy-bb84"
rep_rate_hz = 1e9

[network]
settle_interval = "1 d"
[network.schedule]
policy = "max-key"
"""


def run_scenario_text(n_sat: int, planes: int, n_sta: int, days: float, step: str) -> str:
    """The Walker constellation with link, detector, decoy-BB84 and a daily-settled network."""
    return scenario_text(n_sat, planes, n_sta, days, step) + RUN_EXTRA


def run_cli(tree: Path, args: list[str], cwd: Path, timeout: float | None = None) -> dict:
    """Wall time, peak RSS and exit status of ``python -m qsat ARGS`` importing ``tree``."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    if timeout is not None:  # killed (rc 124) past ``timeout`` seconds
        wrapper_cmd = ["timeout", str(int(timeout)), sys.executable, "-m", "qsat", *args]
    else:
        wrapper_cmd = [sys.executable, "-m", "qsat", *args]
    wrapper = ("import resource, subprocess, sys, time\n"
               "t = time.perf_counter(); r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
               "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
               "print(time.perf_counter() - t, u.ru_maxrss, u.ru_utime + u.ru_stime, "
               "r.returncode, repr(r.stdout.strip().splitlines()[-1:] + r.stderr.strip().splitlines()[-1:]))")
    out = subprocess.run([sys.executable, "-c", wrapper, *wrapper_cmd], env=env,
                         cwd=cwd, capture_output=True, text=True, check=True).stdout.split(maxsplit=4)
    # cpu_s: user + system time of the process tree; on a shared machine closer than wall time to
    # what a quiet one would show (qsat and the Skyfield loops are single-threaded)
    return {"wall_s": float(out[0]), "peak_rss_gb": int(out[1]) / 1e6, "cpu_s": float(out[2]), "rc": int(out[3]),
            "tail": out[4].strip()}


def base_tree(commit: str, into: Path) -> Path:
    """The package at ``commit`` (git archive), for the before/after rows."""
    archive = into / "base.tar"
    subprocess.run(["git", "-C", str(ROOT), "archive", "-o", str(archive), commit], check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into / "base", filter="data")
    return into / "base"


def passes_of(csv: Path) -> int:
    return sum(1 for _ in open(csv)) - 1


def passes_of_pairs(csv_path: Path, pairs: set) -> int:
    """Rows of a pass table whose (satellite, station) is one of ``pairs``."""
    import csv

    with open(csv_path, newline="") as f:
        return sum((row["satellite"], row["station"]) in pairs for row in csv.DictReader(f))


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=float, default=12.0, help="window of the passes_cli row [d]")
    parser.add_argument("--engine-days", type=float, default=7.0, help="window of the engine row [d]")
    parser.add_argument("--workers-days", type=float, default=None, help="window of the workers row [d]")
    parser.add_argument("--base", default="08c43f0", help="commit of the 'before' column")
    parser.add_argument("--name", default="scale_cpu")
    parser.add_argument("--rows", default="passes_cli,memory,engine,workers,refusal",
                        help="comma-separated rows to run")
    parser.add_argument("--full", action="store_true",
                        help="the full-size rows instead (full_passes,full_memory,full_run,full_workers)")
    parser.add_argument("--full-days", type=float, default=30.0, help="window of the full_passes row [d]")
    parser.add_argument("--run-days", default="30", help="fallback windows of full_run after 365 d [d, comma-separated]")
    parser.add_argument("--timeout", type=float, default=1800.0, help="limit of each full-size process [s]")
    parser.add_argument("--repeats", type=int, default=1, help="timed runs of each tree in passes_cli (the fastest kept)")
    parser.add_argument("--note", default=None, help="what else ran on the machine meanwhile (recorded)")
    args = parser.parse_args(argv)
    rows = set(args.rows.split(","))
    results = {"command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])}
    if args.note:
        results["note"] = args.note
    tmp = Path(tempfile.mkdtemp(prefix="qsat-bench-"))
    if args.full:
        results["commit"] = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                                           text=True).stdout.strip()
        rows = rows if args.rows.startswith("full_") else {"full_passes", "full_memory", "full_run", "full_workers"}
        if "full_passes" in rows:
            results["full_passes"] = full_passes(tmp, args.full_days, args.timeout)
        if "full_memory" in rows:
            results["full_memory"] = full_memory(tmp, args.timeout)
        if "full_run" in rows:
            results["full_run"] = full_run(tmp, [365.0] + [float(d) for d in args.run_days.split(",")], args.timeout)
        if "full_workers" in rows:
            results["full_workers"] = full_workers(tmp, args.workers_days or 30.0, args.timeout)
        if "full_run_workers" in rows:
            results["full_run_workers"] = full_run_workers(tmp, args.workers_days or 3.0, args.timeout)
        write(args.name, results)
        return
    base = base_tree(args.base, tmp)

    days = args.days
    if "passes_cli" in rows:
        results["passes_cli"] = passes_cli(tmp, base, days, args.repeats)
    if "memory" in rows:
        results["memory"] = memory(tmp, base, days)
    if "engine" in rows:
        results["engine"] = engine(args.engine_days)
    if "workers" in rows:
        results["workers"] = workers(args.workers_days or args.engine_days)
    if "refusal" in rows:
        results.update(refusal_and_imports(tmp, base))
    write(args.name, results)


def passes_cli(tmp, base, days, repeats=1):
    """Whole processes, both trees, and the Skyfield loops on a subset of pairs, scaled; the pass
    counts of both trees, and of each Skyfield loop against this tree's on the same pairs.

    With ``repeats`` > 1 the two trees and the competent Skyfield loop take turns that many
    times and the fastest of each is kept (wall and CPU time each): on a shared machine every
    contender then meets the same spread of load.
    """
    (tmp / "c24.toml").write_text(scenario_text(24, 6, 8, days, "1 s"))
    row = {"satellites": 24, "stations": 8, "days": days, "load_1min_before": os.getloadavg()[0]}
    sats, sts = walker(24, 6), station_grid(8)
    sub_sats, sub_sts = sats[::6], sts[::4]  # 4 x 2 of the 192 pairs
    scale = len(sats) * len(sts) / (len(sub_sats) * len(sub_sts))
    pairs = {(f"W{i:03d}", st.name) for i in range(0, len(sats), 6) for st in sub_sts}  # scenario_text's names

    def keep(label, r):
        best = row.setdefault(label, dict(r))  # the fastest of the repeats
        best["wall_s"], best["cpu_s"] = min(best["wall_s"], r["wall_s"]), min(best["cpu_s"], r["cpu_s"])
        best.setdefault("walls_s", []).append(r["wall_s"])
        best.setdefault("cpus_s", []).append(r["cpu_s"])

    def skyfield(loop):
        t, c = time.perf_counter(), time.process_time()
        n_pass, n_step = loop(sub_sats, sub_sts, START, days)
        t_sub, c_sub = time.perf_counter() - t, time.process_time() - c
        return {"pairs": len(sub_sats) * len(sub_sts), "wall_s": t_sub, "cpu_s": c_sub, "passes": n_pass,
                "steps": n_step}

    for label, tree in (("after", ROOT), ("before", base)):
        run_cli(tree, ["passes", "c24.toml", "--out", "w.csv"], tmp)  # warm: kernel builds, caches
    for _ in range(repeats):
        for label, tree in (("after", ROOT), ("before", base)):
            r = run_cli(tree, ["passes", "c24.toml", "--out", f"{label}.csv", "--series", f"{label}.nc"], tmp)
            r["passes"] = passes_of(tmp / f"{label}.csv")
            keep(label, r)
        keep("skyfield_competent", skyfield(competent_skyfield))
    keep("skyfield_with_range_rate", skyfield(naive_skyfield))
    row["after"]["passes_of_subset"] = passes_of_pairs(tmp / "after.csv", pairs)
    row["passes_equal_before_after"] = row["after"]["passes"] == row["before"]["passes"]
    for label in ("skyfield_competent", "skyfield_with_range_rate"):
        ref = row[label]
        ref.update(scaled_wall_s=ref["wall_s"] * scale, scaled_cpu_s=ref["cpu_s"] * scale,
                   passes_equal_qsat=ref["passes"] == row["after"]["passes_of_subset"])
        for tree, prefix in (("after", ""), ("before", "before_")):
            row[f"{prefix}speedup_vs_{label}"] = ref["scaled_wall_s"] / row[tree]["wall_s"]
            row[f"{prefix}cpu_speedup_vs_{label}"] = ref["scaled_cpu_s"] / row[tree]["cpu_s"]
    row["speedup_vs_before"] = row["before"]["wall_s"] / row["after"]["wall_s"]
    row["cpu_speedup_vs_before"] = row["before"]["cpu_s"] / row["after"]["cpu_s"]
    row["load_1min_after"] = os.getloadavg()[0]
    print("passes_cli", row, flush=True)
    return row


def memory(tmp, base, days):
    """Peak RSS of the same command at D/4 and D days, both trees, and with a Zarr series."""
    mem = {}
    for d in (days / 4, days):
        (tmp / "m.toml").write_text(scenario_text(24, 6, 8, d, "1 s"))
        for label, tree in (("after", ROOT), ("before", base)):
            mem.setdefault(label, {})[f"{d:g} d"] = run_cli(
                tree, ["passes", "m.toml", "--out", "m.csv", "--series", "m.nc"], tmp)["peak_rss_gb"]
        mem.setdefault("after_zarr", {})[f"{d:g} d"] = run_cli(
            ROOT, ["passes", "m.toml", "--out", "m.csv", "--series", "m.zarr"], tmp)["peak_rss_gb"]
    print("memory", mem, flush=True)
    return mem


def engine(ed):
    """100 x 20 at 1 s in process vs python-sgp4 SatrecArray propagation alone at every second."""
    from sgp4.api import SatrecArray

    from qsat.orbits.stage import compute_passes
    from qsat.scenario import loads

    sc = loads(scenario_text(100, 10, 20, ed, "1 s"))
    t = time.perf_counter()
    res = compute_passes(sc)
    t_q = time.perf_counter() - t
    sats = walker(100, 10)
    t = time.perf_counter()
    for day in range(int(np.ceil(ed))):
        span = min(1.0, ed - day) * 86400
        sec = np.arange(0.0, span, 1.0)
        jd0 = (START + timedelta(days=day)).timestamp() / 86400.0 + 2440587.5
        for k in range(0, len(sec), 3600):
            SatrecArray(sats).sgp4(np.full(len(sec[k:k + 3600]), jd0), sec[k:k + 3600] / 86400.0)
    t_prop = time.perf_counter() - t
    row = {"satellites": 100, "stations": 20, "days": ed, "qsat_s": t_q, "passes": len(res.passes),
           "steps": int(res.geometry.valid.sum()), "satrecarray_propagation_s": t_prop,
           "ratio_qsat_over_propagation": t_q / t_prop}
    print("engine", row, flush=True)
    return row


def workers(wd):
    """A local Dask cluster, 2 worker processes vs 1, the 100 x 20 job at 10 s."""
    from qsat.montecarlo.run import open_client
    from qsat.orbits.distributed import compute_passes_distributed

    from qsat.scenario import loads

    sc = loads(scenario_text(100, 10, 20, wd, "10 s"))
    work = {"satellites": 100, "stations": 20, "days": wd, "step_s": 10}
    for n in (1, 2):
        client, _ = open_client(workers=n) if n > 1 else open_client(workers=1, threads=1)
        try:
            compute_passes_distributed(sc, client, sat_block=10, time_block_s=86400.0 / 4)  # warm workers
            t = time.perf_counter()
            r = compute_passes_distributed(sc, client, sat_block=10, time_block_s=86400.0)
            work[f"{n}_workers_s"] = time.perf_counter() - t
            work[f"{n}_workers_passes"] = len(r.passes)
        finally:
            cluster = client.cluster
            client.close()
            cluster.close()
    work["speedup_2_over_1"] = work["1_workers_s"] / work["2_workers_s"]
    print("workers", work, flush=True)
    return work


def _loaded(fn):
    """``fn()``'s row with the 1-min load average before and after (the machine may be shared)."""
    before = os.getloadavg()[0]
    row = fn()
    row["load_1min_before_after"] = [before, os.getloadavg()[0]]
    print(row, flush=True)
    return row


def full_passes(tmp, days, timeout):
    """100 x 20 x ``days`` at 1 s, ``qsat passes --series g.nc``, streamed: under 3 GB?"""
    (tmp / "f100.toml").write_text(scenario_text(100, 10, 20, days, "1 s"))

    def go():
        r = run_cli(ROOT, ["passes", "f100.toml", "--out", "f.csv", "--series", "f.nc"], tmp, timeout)
        r.update(satellites=100, stations=20, days=days, step_s=1.0, target_peak_gb=3.0)
        r["passes"] = passes_of(tmp / "f.csv") if r["rc"] == 0 else None
        r["met"] = r["rc"] == 0 and r["peak_rss_gb"] < 3.0
        (tmp / "f.nc").unlink(missing_ok=True)
        return r
    return _loaded(go)


def full_memory(tmp, timeout):
    """24 x 8 at 1 s, ``qsat passes --series m.nc``: peak RSS at 3 d and 12 d (target ratio <= 1.5)."""
    def go():
        row = {"satellites": 24, "stations": 8, "step_s": 1.0}
        for d in (3.0, 12.0):
            (tmp / "fm.toml").write_text(scenario_text(24, 6, 8, d, "1 s"))
            r = run_cli(ROOT, ["passes", "fm.toml", "--out", "fm.csv", "--series", "fm.nc"], tmp, timeout)
            r["passes"] = passes_of(tmp / "fm.csv") if r["rc"] == 0 else None
            row[f"{d:g} d"] = r
        row["ratio_12_over_3"] = row["12 d"]["peak_rss_gb"] / row["3 d"]["peak_rss_gb"]
        row["met"] = row["ratio_12_over_3"] <= 1.5
        return row
    return _loaded(go)


def full_run(tmp, windows, timeout):
    """100 x 20 at 10 s, passes + link + keys + daily budgets (``qsat run``): the first window that runs."""
    def go():
        row = {"satellites": 100, "stations": 20, "step_s": 10.0, "tries": []}
        for d in windows:
            (tmp / "fr.toml").write_text(run_scenario_text(100, 10, 20, d, "10 s"))
            r = run_cli(ROOT, ["run", "fr.toml", "--out", "fr", "--overwrite", "--no-figures", "--no-export",
                               "--quiet"], tmp, timeout)
            r["days"] = d
            r["passes"] = passes_of(tmp / "fr" / "passes.csv") if r["rc"] == 0 else None
            row["tries"].append(r)
            if r["rc"] == 0:
                break
        row["met_365_d"] = row["tries"][0]["rc"] == 0
        return row
    return _loaded(go)


def full_workers(tmp, days, timeout):
    """100 x 20 x ``days`` at 10 s, ``qsat passes``: in process, --workers 1, --workers 2."""
    (tmp / "fw.toml").write_text(scenario_text(100, 10, 20, days, "10 s"))

    def go():
        row = {"satellites": 100, "stations": 20, "days": days, "step_s": 10.0}
        for label, extra in (("in_process", []), ("workers_1", ["--workers", "1"]), ("workers_2", ["--workers", "2"])):
            r = run_cli(ROOT, ["passes", "fw.toml", "--out", f"{label}.csv", *extra], tmp, timeout)
            r["passes"] = passes_of(tmp / f"{label}.csv") if r["rc"] == 0 else None
            row[label] = r
        row["speedup_2_over_1"] = row["workers_1"]["wall_s"] / row["workers_2"]["wall_s"]
        row["met"] = row["speedup_2_over_1"] >= 1.7
        return row
    return _loaded(go)


def time_v(args: list[str], cwd: Path, timeout: float) -> dict:
    """``python -m qsat ARGS`` (this tree) under GNU ``time -v``: wall time, peak RSS (the largest
    single process: GNU time reports the maximum, not the sum, over the process tree), exit
    status, and the 1/5/15-min load averages before and after."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    before = Path("/proc/loadavg").read_text().split()[:3]
    proc = subprocess.run(["timeout", str(int(timeout)), "/usr/bin/time", "-v", sys.executable, "-m", "qsat", *args],
                          cwd=cwd, env=env, capture_output=True, text=True)
    after = Path("/proc/loadavg").read_text().split()[:3]
    fields = dict(line.strip().rsplit(": ", 1) for line in proc.stderr.splitlines() if ": " in line.strip()
                  and line.startswith("\t"))
    h_m_s = [float(x) for x in fields.get("Elapsed (wall clock) time (h:mm:ss or m:ss)", "nan").split(":")]
    wall_s = sum(v * 60 ** i for i, v in enumerate(reversed(h_m_s)))
    return {"command": "qsat " + " ".join(args), "rc": proc.returncode, "wall_s": wall_s,
            "peak_rss_gb": int(fields.get("Maximum resident set size (kbytes)", 0)) / 1e6,
            "cpu_percent": fields.get("Percent of CPU this job got"), "loadavg_before": before,
            "loadavg_after": after}


def full_run_workers(tmp, days, timeout, group_steps=(None, 100_000)):
    """100 x 20 x ``days`` at 10 s, ``qsat run --no-series``: in process, one single-threaded worker,
    two single-threaded workers, with the default groups of passes and with each of ``group_steps``;
    the pass tables must be identical."""
    (tmp / "rw.toml").write_text(run_scenario_text(100, 10, 20, days, "10 s"))
    row = {"satellites": 100, "stations": 20, "days": days, "step_s": 10.0}
    labels = []
    for steps in group_steps:
        grouping = [] if steps is None else ["--group-steps", str(steps)]
        suffix = "" if steps is None else f"_groups_{steps}"
        for label, extra in (("in_process", []),
                             ("workers_1_thread_1", ["--workers", "1", "--threads-per-worker", "1"]),
                             ("workers_2_thread_1", ["--workers", "2", "--threads-per-worker", "1"])):
            label += suffix
            row[label] = time_v(["run", "rw.toml", "--out", label, "--no-series", "--no-figures", "--no-export",
                                 "--quiet", *grouping, *extra], tmp, timeout)
            row[label]["passes"] = passes_of(tmp / label / "passes.csv") if row[label]["rc"] == 0 else None
            labels.append(label)
            print(label, row[label], flush=True)
        row["speedup_2_over_1" + suffix] = (row["workers_1_thread_1" + suffix]["wall_s"]
                                            / row["workers_2_thread_1" + suffix]["wall_s"])
        row["speedup_2_over_in_process" + suffix] = (row["in_process" + suffix]["wall_s"]
                                                     / row["workers_2_thread_1" + suffix]["wall_s"])
    tables = [(tmp / label / "passes.csv").read_bytes() for label in labels]
    row["identical_pass_tables"] = all(t == tables[0] for t in tables)
    return row


def refusal_and_imports(tmp, base):
    """Time to the one-line refusal of a 1000 yr window; import times of both trees."""
    results = {}
    (tmp / "k.toml").write_text(scenario_text(24, 6, 8, 1000 * 365.25, "1 s"))
    results["refusal"] = run_cli(ROOT, ["passes", "k.toml", "--out", "k.csv", "--series", "k.nc"], tmp)
    imports = {}
    for label, tree in (("after", ROOT), ("before", base)):
        env = dict(os.environ, PYTHONPATH=str(tree))
        for what, cmd in (("import_api_s", ["-c", "import qsat.api"]), ("help_s", ["-m", "qsat", "--help"])):
            ts = []
            for _ in range(5):
                t = time.perf_counter()
                subprocess.run([sys.executable, *cmd], env=env, cwd=tmp, capture_output=True, check=True)
                ts.append(time.perf_counter() - t)
            imports.setdefault(label, {})[what] = min(ts)
    results["imports"] = imports
    print("refusal", results["refusal"], "imports", imports, flush=True)
    return results


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    main()
