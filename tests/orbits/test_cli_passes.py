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
from qsat.scenario import loads

from .scenarios import iss_two_stations


def _cli(tmp_path, text, *args):
    path = tmp_path / "s.toml"
    path.write_text(text)
    return subprocess.run([sys.executable, "-m", "qsat", "passes", str(path), "--out", str(tmp_path / "p.csv"),
                           *args], capture_output=True, text=True)


def test_thousand_years_refused_in_one_line(tmp_path):
    result = _cli(tmp_path, iss_two_stations(duration="1000 yr"), "--series", str(tmp_path / "g.nc"))
    assert result.returncode == 2
    assert result.stderr.startswith("qsat: error: time.duration: 1000 yr; expected a job that fits in memory")
    assert "coarser time.step" in result.stderr and "--series FILE.zarr" in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "p.csv").exists()


def test_api_refuses_before_computing():
    with pytest.raises(QsatInputError, match=r"^time\.duration: 1000 yr; expected a job that fits"):
        compute_passes(loads(iss_two_stations(duration="1000 yr")))


def test_streamed_job_refused_only_for_what_streaming_cannot_help():
    job = plan(loads(iss_two_stations(duration="1000 yr")))
    with pytest.raises(QsatInputError, match="a shorter time.duration") as info:
        sizing.check(job, streamed=True, memory_bytes=1e9)
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


def test_zarr_series_streamed_equals_netcdf(tmp_path):
    text = iss_two_stations(duration="2 d", step="5 s")
    a = _cli(tmp_path, text, "--series", str(tmp_path / "g.nc"))
    assert a.returncode == 0, a.stderr
    table_nc = pd.read_csv(tmp_path / "p.csv")
    b = _cli(tmp_path, text, "--series", str(tmp_path / "g.zarr"))
    assert b.returncode == 0, b.stderr
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "p.csv"), table_nc)
    with xr.open_dataset(tmp_path / "g.nc") as nc, xr.open_zarr(tmp_path / "g.zarr") as zr:
        assert nc.sizes == zr.sizes
        for name in ("elevation_deg", "slant_range_m", "time_utc", "valid", "sunlit", "moon_altitude_deg"):
            np.testing.assert_array_equal(zr[name].values, nc[name].values, err_msg=name)
        assert list(zr.station.values) == list(nc.station.values)


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
