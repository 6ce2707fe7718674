"""``qsat run`` on Dask (``--workers``) and without per-step files (``--no-series``): the products of
the in-process run, for any group size; the disk and memory checks before computing."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
import xarray as xr

from qsat.errors import QsatInputError
from qsat.orbits import sizing
from qsat.orbits.stage import plan
from qsat.scenario import loads

from ..orbits.scenarios import iss_two_stations
from .test_streamed_run import _same_dataset, _two_days_of_the_constellation_year

pytest.importorskip("distributed")

PER_STEP = ("geometry", "link", "keys")
TABLES = ("passes", "schedule")


def _run(scenario, out, *args, setup="pass", expect=0):
    code = f"{setup}; import qsat.cli, sys; sys.exit(qsat.cli.main())"
    proc = subprocess.run([sys.executable, "-c", code, "run", str(scenario), "--out", str(out), "--quiet",
                           "--backend", "numpy", "--format", "netcdf,csv", *args],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == expect, proc.stderr[-3000:]
    return proc


def _summary(out):
    summary = json.loads((out / "summary.json").read_text())
    summary["provenance"].pop("created_utc")
    summary["files"] = sorted(summary["files"])
    return summary


def _same_tables(got, want):
    for table in TABLES:
        pd.testing.assert_frame_equal(pd.read_csv(got / f"{table}.csv"), pd.read_csv(want / f"{table}.csv"))


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    """Two days of the constellation year: night_only (a group keeps the passes its per-step
    data allow, so its first pass index is known only once computed), pointing jitter (the
    link's draws) and the per-pass optimiser (its draws), both keyed by the window's pass index."""
    return _two_days_of_the_constellation_year(tmp_path_factory.mktemp("scenario"))


@pytest.fixture(scope="module")
def whole(scenario, tmp_path_factory):
    out = tmp_path_factory.mktemp("in_process") / "out"
    _run(scenario, out, "--no-figures", "--no-export")
    return out


@pytest.mark.slow
@pytest.mark.parametrize("steps_per_group, partition", [(200, ()), (1000, ("--sat-block", "4", "--time-block", "9 h"))])
def test_two_workers_equal_the_in_process_run(scenario, whole, tmp_path, steps_per_group, partition):
    out = tmp_path / "out"
    _run(scenario, out, "--no-figures", "--no-export", "--workers", "2", "--group-steps", str(steps_per_group),
         *partition)
    passes = pd.read_csv(whole / "passes.csv")
    assert len(passes) > 30 and passes["secret_key_bits"].gt(0).any() and "basis_probability_x" in passes
    _same_tables(out, whole)
    for product in (*PER_STEP, "budget"):
        with xr.open_dataset(out / f"{product}.nc") as got, xr.open_dataset(whole / f"{product}.nc") as want:
            _same_dataset(got, want, product)
    assert _summary(out) == _summary(whole)


def test_groups_reach_the_sink_in_window_order_from_a_cluster(scenario):
    """Many groups, at most two in flight: each piece is numbered from its window-level first pass."""
    from qsat.montecarlo.run import open_client
    from qsat.pipeline import execute
    from qsat.pipeline_distributed import Cluster
    from qsat.scenario import load

    sc = load(scenario)
    pieces = []
    progress = _Recorder()
    client, _ = open_client(workers=1, threads=2)
    try:
        run = execute(sc, backend="numpy", sink=lambda name, ds, prov: pieces.append((name, ds.load())),
                      cluster=Cluster(client, sat_block=2, time_block_s=43200.0, in_flight=2), steps_per_group=300,
                      progress=progress)
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()
    reference = execute(sc, backend="numpy", series=False)
    pd.testing.assert_frame_equal(run.products["passes"], reference.products["passes"])
    geometry = [ds for name, ds in pieces if name == "geometry"]
    assert len(geometry) > 5
    ids = [int(i) for ds in geometry for i in ds["pass"].values]
    assert ids == list(range(len(run.products["passes"])))
    assert [name for name, _ in pieces[:3]] == list(PER_STEP)
    assert run.warnings == reference.warnings
    progress.reported_every_group(len(geometry))


class _Recorder:
    """A progress callback that also takes a stage's size, as qsat.progress.Stages does."""

    def __init__(self):
        self.stages, self.parts = [], []

    def __call__(self, name):
        self.stages.append(name)

    def advance(self, done, total, unit):
        self.parts.append((self.stages[-1], done, total))

    def reported_every_group(self, n_groups):
        assert self.stages[:3] == ["passes", "link", "keys"], self.stages
        assert self.parts == [("keys", i, n_groups) for i in range(1, n_groups + 1)], self.parts


def test_in_process_run_reports_each_group_of_passes(scenario):
    from qsat.pipeline import execute
    from qsat.scenario import load

    pieces, progress = [], _Recorder()
    execute(load(scenario), backend="numpy", sink=lambda name, ds, prov: pieces.append(name), steps_per_group=300,
            progress=progress)
    progress.reported_every_group(pieces.count("geometry"))


@pytest.mark.slow
def test_no_series_writes_the_tables_and_budget_but_no_per_step_file(scenario, whole, tmp_path):
    for args in ((), ("--workers", "2")):
        out = tmp_path / f"out{len(args)}"
        _run(scenario, out, *args, "--no-series", "--no-export")
        assert not any((out / f"{product}.nc").exists() for product in PER_STEP)
        _same_tables(out, whole)
        with xr.open_dataset(out / "budget.nc") as got, xr.open_dataset(whole / "budget.nc") as want:
            xr.testing.assert_equal(got, want)  # its warnings attribute has the --no-series one
        summary, reference = _summary(out), _summary(whole)
        assert set(summary["datasets"]) == {"budget"}
        assert summary["keys"] == reference["keys"] and summary["budget"] == reference["budget"]
        warning = [w for w in summary["warnings"] if w.startswith("--no-series")]
        assert warning == ["--no-series: the run kept no per-step data, so no per-pass sky plots or time series "
                           "were drawn"]
        figures = sorted(p.name for p in (out / "figures").iterdir())
        assert "passes_overview.png" in figures and not any(name.startswith("pass_") for name in figures)


def test_no_series_on_a_whole_window_run_draws_from_memory_and_writes_no_per_step_file(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(iss_two_stations(duration="1 d", step="10 s"))
    out = tmp_path / "out"
    _run(path, out, "--no-series", setup="import qsat.pipeline as p; p.streamable = lambda s: False")
    assert not (out / "geometry.nc").exists() and len(pd.read_csv(out / "passes.csv")) > 3
    summary = json.loads((out / "summary.json").read_text())
    assert "datasets" not in summary and not any(w.startswith("--no-series") for w in summary["warnings"])
    assert any(p.name.endswith("_series.png") for p in (out / "figures").iterdir())
    assert (out / "scene.czml").exists()


def test_workers_refused_in_one_line_for_a_whole_window_scenario(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(iss_two_stations(duration="1 d", step="10 s") + "\n[montecarlo]\ntrials = 4\n")
    proc = _run(path, tmp_path / "out", "--workers", "2", expect=2)
    assert proc.stderr.startswith("qsat: error: --workers: ")
    assert "runs whole-window: its [montecarlo] section" in proc.stderr and proc.stderr.count("\n") == 1


@pytest.mark.parametrize("args, field", [(("--threads-per-worker", "2"), "--threads-per-worker"),
                                         (("--workers", "0"), "--workers"),
                                         (("--workers", "2", "--time-block", "-1 h"), "--time-block"),
                                         (("--group-steps", "0"), "--group-steps")])
def test_bad_cluster_options_refused_in_one_line(tmp_path, args, field):
    path = tmp_path / "s.toml"
    path.write_text(iss_two_stations(duration="1 d", step="10 s"))
    proc = _run(path, tmp_path / "out", *args, expect=2)
    assert proc.stderr.startswith(f"qsat: error: {field}: ") and proc.stderr.count("\n") == 1


_NO_ROOM = ("import qsat.orbits.sizing as z, types; "
            "z.shutil = types.SimpleNamespace(disk_usage=lambda p: types.SimpleNamespace(free=1000))")


def test_per_step_files_refused_when_the_disk_cannot_hold_them_unless_no_series(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(iss_two_stations(duration="1 d", step="10 s"))
    proc = _run(path, tmp_path / "out", "--no-figures", "--no-export", setup=_NO_ROOM, expect=2)
    assert proc.stderr.startswith("qsat: error: --out: ") and "expected room for ~" in proc.stderr
    assert "--no-series" in proc.stderr and not (tmp_path / "out").exists()
    _run(path, tmp_path / "out", "--no-figures", "--no-export", "--no-series", setup=_NO_ROOM)
    assert (tmp_path / "out" / "passes.csv").exists()


def test_disk_estimate_counts_every_per_step_product_and_format():
    from qsat.cli.run import check_series_disk

    sc = loads(iss_two_stations(duration="30 d", step="1 s"))
    est = sizing.estimate(plan(sc))

    def refused_at(free_bytes, formats):
        sizing.shutil, saved = type("Disk", (), {"disk_usage": staticmethod(
            lambda p: type("Usage", (), {"free": free_bytes})())}), sizing.shutil
        try:
            check_series_disk(".", est, sc, formats)
            return False
        except QsatInputError:
            return True
        finally:
            sizing.shutil = saved

    need = est.table_file_bytes + est.geometry_file_bytes  # geometry only: no [link], no [protocol]
    assert refused_at(0.99 * need, ["netcdf", "csv"]) and not refused_at(1.01 * need, ["netcdf", "csv"])
    assert refused_at(1.01 * need, ["netcdf", "zarr", "csv"])


def test_streamed_refusal_names_the_pass_table():
    job = plan(loads(iss_two_stations(duration="25 yr", step="0.1 s")))
    with pytest.raises(QsatInputError, match="the pass table, ~0.76 kB a pass, is held whole"):
        sizing.check(job, streamed=True, memory_bytes=1e7)
