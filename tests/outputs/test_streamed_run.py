"""``qsat run`` group by group of passes gives the products of the whole-window run."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from .conftest import ROOT

#: Provenance that differs between any two runs (the time of writing), not between the two paths.
_RUN_ATTRS = ("created_utc", "history")


def _two_days_of_the_constellation_year(folder):
    """examples/leo_constellation_year.toml over 2 days, with the per-pass optimiser (its draws are
    keyed by the window's pass index, which a group must keep)."""
    shutil.copytree(ROOT / "examples" / "elements", folder / "elements")
    text = (ROOT / "examples" / "leo_constellation_year.toml").read_text(encoding="utf-8")
    text = text.replace('duration = "365 d"', 'duration = "2 d"')
    text = text.replace('rep_rate_hz = 1e9', 'rep_rate_hz = 1e9\noptimize = true')
    assert 'duration = "2 d"' in text and "optimize = true" in text
    path = folder / "s.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _qsat_run(scenario, out, setup):
    code = f"{setup}; import qsat.cli, sys; sys.exit(qsat.cli.main())"
    proc = subprocess.run([sys.executable, "-c", code, "run", str(scenario), "--out", str(out), "--no-figures",
                           "--no-export", "--format", "netcdf,zarr,csv", "--quiet", "--backend", "numpy"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def _same_dataset(got: xr.Dataset, want: xr.Dataset, label: str) -> None:
    assert dict(got.sizes) == dict(want.sizes), label
    assert set(got.variables) == set(want.variables), label
    for name in want.variables:
        np.testing.assert_array_equal(got[name].values, want[name].values, err_msg=f"{label}: {name}")
        assert got[name].attrs == want[name].attrs, f"{label}: {name}"
    drop = lambda attrs: {k: v for k, v in attrs.items() if k not in _RUN_ATTRS}  # noqa: E731
    assert drop(got.attrs) == drop(want.attrs), label


@pytest.mark.slow
def test_run_group_by_group_equals_the_whole_window_run(tmp_path):
    scenario = _two_days_of_the_constellation_year(tmp_path)
    whole = _qsat_run(scenario, tmp_path / "whole", "import qsat.pipeline as p; p.streamable = lambda s: False")
    # Groups of ~3 passes: every product is written in many pieces.
    grouped = _qsat_run(scenario, tmp_path / "grouped", "import qsat.orbits.stage as s; s.STEPS_PER_GROUP = 200")
    passes = pd.read_csv(whole / "passes.csv")
    assert len(passes) > 10 and passes["secret_key_bits"].gt(0).any() and "basis_probability_x" in passes
    pd.testing.assert_frame_equal(pd.read_csv(grouped / "passes.csv"), passes)
    for table in ("schedule",):
        pd.testing.assert_frame_equal(pd.read_csv(grouped / f"{table}.csv"), pd.read_csv(whole / f"{table}.csv"))
    for product in ("geometry", "link", "keys", "budget"):
        for suffix, open_ in ((".nc", xr.open_dataset), (".zarr", xr.open_zarr)):
            with open_(grouped / f"{product}{suffix}") as got, open_(whole / f"{product}{suffix}") as want:
                _same_dataset(got, want, product + suffix)
    summaries = [json.loads((out / "summary.json").read_text()) for out in (grouped, whole)]
    for summary in summaries:
        summary["provenance"].pop("created_utc")
        summary["files"] = sorted(summary["files"])
    assert summaries[0] == summaries[1]
