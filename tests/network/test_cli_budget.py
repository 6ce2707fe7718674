"""``qsat budget``: the Micius relay example end to end, and bad input before any pass search."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from qsat.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_budget_example_micius_relay(tmp_path, capsys):
    out = tmp_path / "budget.nc"
    with warnings.catch_warnings():  # the CLI prints qsat warnings on stderr
        warnings.simplefilter("always")
        assert main(["budget", str(EXAMPLES / "network_micius_relay.toml"), "--out", str(out)]) == 0
    assert (tmp_path / "budget.schedule.csv").is_file()
    with xr.open_dataset(out) as ds:
        assert ds.attrs["scenario_sha256"] and ds["station_key_bits_total"].attrs["units"] == "bit"
        assert set(ds["pair"].values) == {"Beijing-Vienna", "Urumqi-Vienna"}
        assert np.all(ds["pair_connected"].values)
        # Beijing-Vienna can only be served through Micius as a trusted relay
        assert float(ds["pair_delivered_bits_total_quantiles"].sel(pair="Beijing-Vienna", quantile=0.5)) > 0
    captured = capsys.readouterr()
    assert "Beijing-Vienna: delivered" in captured.out
    assert "no clear-sky climatology for Nanshan, Graz" in captured.err


def test_budget_unknown_node_fails_fast(tmp_path, capsys):
    text = (EXAMPLES / "network_micius_relay.toml").read_text().replace('b = "Vienna"\nlength = "150 km"',
                                                                         'b = "Wien"\nlength = "150 km"')
    path = tmp_path / "bad.toml"
    path.write_text(text)
    assert main(["budget", str(path), "--out", str(tmp_path / "b.nc")]) == 2
    err = capsys.readouterr().err
    assert "network.fiber_links[1].b: Wien; expected a node of network.nodes or a ground station" in err


def test_budget_needs_network_section(tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text('[time]\nstart = "2024-01-01T00:00:00Z"\nduration = "1 h"\n[[satellites]]\nname = "Micius"\n'
                    '[[ground_stations]]\nname = "Graz"\n')
    assert main(["budget", str(path), "--out", str(tmp_path / "b.nc")]) == 2
    assert "network: missing" in capsys.readouterr().err


@pytest.mark.slow
def test_budget_streams_groups_of_passes_and_equals_the_whole_window_budget(tmp_path):
    """`qsat budget` keeps only the per-pass tables (groups of ~3 passes here); its budget and
    schedule are those of the stages run on the whole window."""
    import subprocess
    import sys

    import pandas as pd
    import xarray as xr

    from qsat.pipeline import execute
    from qsat.scenario import load

    from ..outputs.test_streamed_run import _two_days_of_the_constellation_year

    scenario = _two_days_of_the_constellation_year(tmp_path)
    code = ("import qsat.orbits.stage as s; s.STEPS_PER_GROUP = 200; "
            "import qsat.cli, sys; sys.exit(qsat.cli.main())")
    out = tmp_path / "budget.nc"
    proc = subprocess.run([sys.executable, "-c", code, "budget", str(scenario), "--out", str(out), "--quiet",
                           "--backend", "numpy"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    whole = execute(load(scenario), backend="numpy", until="budget")  # no sink, series kept: whole window
    assert "pass" in whole.products["geometry"].dims  # the reference really held the whole window
    with xr.open_dataset(out) as got:
        want = whole.products["budget"]
        assert set(got.data_vars) == set(want.data_vars)
        for name in want.data_vars:
            assert got[name].equals(want[name].load()), name
    schedule = pd.read_csv(tmp_path / "budget.schedule.csv")
    assert len(schedule) > 10
    pd.testing.assert_frame_equal(schedule, pd.read_csv(_csv(whole.products["schedule"], tmp_path)))


def _csv(table, folder):
    path = folder / "whole.schedule.csv"
    table.to_csv(path, index=False)
    return path
