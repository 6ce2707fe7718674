"""``qsat passes``: sized before it runs, streamed to Zarr, fast (host kernels) by default."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from qsat import kernels
from qsat.backend import compute_mode
from qsat.errors import QsatInputError
from qsat.orbits import sizing
from qsat.orbits.stage import compute_passes, plan
from qsat.pipeline import streamable
from qsat.scenario import loads

from .scenarios import iss_two_stations


def _cli(tmp_path, text, *args):
    path = tmp_path / "s.toml"
    path.write_text(text)
    return subprocess.run([sys.executable, "-m", "qsat", "passes", str(path), "--out", str(tmp_path / "p.csv"),
                           *args], capture_output=True, text=True)


#: Too big for memory, yet within the planetary ephemeris (a 1000 yr window is refused at load
#: for running past DE421, tests/orbits/test_scenario_errors.py).
HUGE = dict(duration="25 yr", step="0.1 s")


def test_thousand_years_refused_in_one_line(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(iss_two_stations(duration="1000 yr"))
    result = subprocess.run([sys.executable, "-m", "qsat", "run", str(path), "--out", str(tmp_path / "o")],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.startswith("qsat: error: time.duration: 365250 d from 2026-06-08; expected a window "
                                    "that ends within the planetary ephemeris")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


#: Keys that pair passes across the window (BBM92 dual downlink): ``qsat run`` holds it whole.
WHOLE_WINDOW_KEYS = """
[link]
direction = "downlink"
wavelength = "810 nm"
[link.transmitter]
aperture = "30 cm"
divergence_fwhm = "10 urad"
pointing_jitter = "1.2 urad"
[protocol]
protocol = "bbm92"
pair_rate_hz = 5.9e6
coincidence_window_s = 2.5e-9
dual_downlink = true
"""


def test_job_too_big_for_memory_refused_in_one_line(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(iss_two_stations(**HUGE) + WHOLE_WINDOW_KEYS)
    result = subprocess.run([sys.executable, "-m", "qsat", "run", str(path), "--out", str(tmp_path / "o")],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.startswith("qsat: error: time.duration: 25 yr; expected a job that fits in memory")
    assert "coarser time.step" in result.stderr and "qsat passes, which streams" in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_run_without_montecarlo_sized_as_streamed():
    job = plan(loads(iss_two_stations(**HUGE)))
    memory_bytes = sizing.estimate(job).memory_streamed_bytes * 10
    with pytest.raises(QsatInputError, match="fits in memory"):
        sizing.check(job, streamed=False, memory_bytes=memory_bytes)
    assert streamable(loads(iss_two_stations(**HUGE)))
    assert not streamable(loads(iss_two_stations(**HUGE) + WHOLE_WINDOW_KEYS))
    sizing.check(job, streamed=True, memory_bytes=memory_bytes)


def test_streamed_series_refused_when_the_disk_cannot_hold_it(tmp_path, monkeypatch):
    job = plan(loads(iss_two_stations(**HUGE)))
    est = sizing.estimate(job)
    free = est.geometry_file_bytes / 10

    class Usage:
        def __init__(self, _path):
            self.free = free

    monkeypatch.setattr(sizing.shutil, "disk_usage", Usage)
    with pytest.raises(QsatInputError, match=r"^--series: .*g\.nc; expected room for ~\S+ GB of output"):
        sizing.check(job, streamed=True, memory_bytes=1e12,
                     outputs={"--out": tmp_path / "p.csv", "--series": tmp_path / "g.nc"})


def test_api_refuses_before_computing():
    with pytest.raises(QsatInputError, match=r"^time\.duration: 25 yr; expected a job that fits"):
        compute_passes(loads(iss_two_stations(**HUGE)))
    with pytest.raises(QsatInputError, match=r"^time\.duration: 1 d; expected a job that fits"):
        compute_passes(loads(iss_two_stations(duration="1 d", step="1 us")))


def test_streamed_job_refused_only_for_what_streaming_cannot_help():
    job = plan(loads(iss_two_stations(**HUGE)))
    with pytest.raises(QsatInputError, match="a shorter time.duration") as info:
        sizing.check(job, streamed=True, memory_bytes=1e7)
    assert "coarser time.step" not in str(info.value)
    est = sizing.check(job, streamed=True, memory_bytes=1e12)
    assert est.memory_streamed_bytes < est.memory_whole_bytes / 50


@pytest.mark.parametrize("duration, step", [("2 d", "1 s"), ("3 d", "10 s")])
def test_estimate_within_a_factor_of_three(duration, step):
    scenario = loads(iss_two_stations(duration=duration, step=step))
    est = sizing.estimate(plan(scenario))
    result = compute_passes(scenario)
    assert len(result.passes) / 3 < est.passes < 3 * len(result.passes)
    steps = int(result.geometry.valid.sum())
    assert steps / 3 < est.steps < 3 * steps
    assert est.width >= result.geometry.sizes["step"]


def test_streamed_series_equal_the_whole_window_product(tmp_path, monkeypatch):
    text = iss_two_stations(duration="2 d", step="5 s")
    whole = compute_passes(loads(text))
    # Small groups, so that the files are written in many pieces.
    env_code = "import qsat.orbits.stage as s; s.STEPS_PER_GROUP = 300; import qsat.cli, sys; sys.exit(qsat.cli.main())"
    for suffix, open_ in ((".nc", xr.open_dataset), (".zarr", xr.open_zarr)):
        (tmp_path / "s.toml").write_text(text)
        out = subprocess.run([sys.executable, "-c", env_code, "passes", str(tmp_path / "s.toml"), "--out",
                              str(tmp_path / "p.csv"), "--series", str(tmp_path / f"g{suffix}")],
                             capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        table = pd.read_csv(tmp_path / "p.csv")
        assert len(table) == len(whole.passes) > 10
        np.testing.assert_array_equal(table["rise_utc"], whole.passes["rise_utc"])
        with open_(tmp_path / f"g{suffix}") as got:
            assert dict(got.sizes) == dict(whole.geometry.sizes), suffix
            for name in ("elevation_deg", "slant_range_m", "time_utc", "valid", "sunlit", "moon_altitude_deg"):
                np.testing.assert_array_equal(got[name].values, whole.geometry[name].values, err_msg=name)
            assert list(got.station.values) == list(whole.geometry.station.values)


@pytest.mark.skipif(shutil.which("g++") is None and shutil.which("c++") is None, reason="no host C++ compiler")
def test_default_backend_runs_host_kernels_and_agrees_with_the_twin(tmp_path):
    assert compute_mode("auto") == "host" and compute_mode("numpy") == "numpy"
    text = iss_two_stations(duration="1 d", step="1 s")
    assert _cli(tmp_path, text).returncode == 0
    fast = pd.read_csv(tmp_path / "p.csv")
    assert json.loads((tmp_path / "p.provenance.json").read_text())["compute_mode"] == "host"
    assert _cli(tmp_path, text, "--backend", "numpy").returncode == 0
    twin = pd.read_csv(tmp_path / "p.csv")
    assert json.loads((tmp_path / "p.provenance.json").read_text())["compute_mode"] == "numpy"
    assert len(fast) == len(twin) > 5
    # host build vs NumPy twin: libm vs NumPy transcendental functions (docs/sgp4.md, tolerances)
    for col, tol in (("max_elevation_deg", 1e-6), ("min_range_km", 1e-6), ("duration_s", 1e-2)):
        assert np.abs(fast[col] - twin[col]).max() < tol, col


def test_no_compiler_falls_back_to_the_twin(monkeypatch, tmp_path):
    monkeypatch.delenv("CXX", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no g++ / c++ on it
    kernels.host_kernels_usable.cache_clear()
    try:
        assert kernels.host_kernels_usable(("sgp4", "geometry")) == "no host C++ compiler (g++)"
        assert compute_mode("auto") == "numpy"
    finally:
        kernels.host_kernels_usable.cache_clear()


def test_progress_names_each_stage_and_counts_the_groups(tmp_path, monkeypatch, capsys):
    """The pass search, the geometry group by group (done/total) and the writing are reported on
    stderr; --quiet shows none of it."""
    import qsat.orbits.stage
    from qsat.cli import main
    from qsat.progress import Stages

    monkeypatch.setattr(qsat.orbits.stage, "STEPS_PER_GROUP", 300)
    parts = []
    monkeypatch.setattr(Stages, "advance", lambda self, done, total, unit="groups": parts.append((done, total)))
    (tmp_path / "s.toml").write_text(iss_two_stations(duration="2 d", step="5 s"))
    args = ["passes", str(tmp_path / "s.toml"), "--out", str(tmp_path / "p.csv"), "--series", str(tmp_path / "g.nc")]
    assert main(args) == 0
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(" (")[0] for line in lines] == ["qsat passes: [1/3] passes", "qsat passes: [2/3] geometry",
                                                       "qsat passes: [3/3] write"]
    n = len(parts)
    assert n > 3 and parts == [(i, n) for i in range(1, n + 1)]
    (tmp_path / "p.csv").unlink()
    (tmp_path / "g.nc").unlink()
    assert main([*args, "--quiet"]) == 0
    assert capsys.readouterr().err == ""
