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
