"""The output schema: formats, Zarr and Parquet round trips, units filled only where known."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from qsat.errors import QsatInputError
from qsat.outputs import (DEFAULT_FORMATS, SCHEMA_VERSION, conform_dataset, parse_formats, read_parquet_metadata,
                          write_dataset, write_table)

PROVENANCE = {"qsat_version": "0.1.0", "scenario_sha256": "ab" * 32, "backend": "numpy", "seed": 3,
              "created_utc": "2026-11-26T08:00:00Z", "data_versions": "sgp4=2.27", "warnings": ""}


def test_parse_formats():
    assert parse_formats(None) == DEFAULT_FORMATS == ("netcdf", "csv")
    assert parse_formats("all") == ("netcdf", "zarr", "csv", "parquet")
    assert parse_formats("parquet, NetCDF,parquet") == ("parquet", "netcdf")
    with pytest.raises(QsatInputError, match="--format: hdf4; expected a comma-separated list"):
        parse_formats("netcdf,hdf4")
    with pytest.raises(QsatInputError, match="at least one table format"):
        parse_formats("netcdf")


def _product():
    valid = np.array([[True, True, False]])
    return xr.Dataset(
        {"key_rate": (("pass", "step"), np.array([[1.0, 2.0, np.nan]]), {"units": "bit/s", "long_name": "k"}),
         "valid": (("pass", "step"), valid),
         "pass_secret_key_bits": ("pass", np.array([42])),
         "mystery": ("pass", np.array([1.5])),
         "time_utc": (("pass", "step"), np.array([["2024-01-01T00:00:00", "2024-01-01T00:00:01", "NaT"]],
                                                  dtype="datetime64[ns]"))},
        coords={"pass": [0], "step": [0, 1, 2], "satellite": ("pass", ["Micius"])},
        attrs={"title": "test product", "flag": True})


def test_conform_fills_known_units_and_reports_the_rest():
    ds = conform_dataset(_product(), PROVENANCE, "keys")
    assert ds["pass_secret_key_bits"].attrs["units"] == "bit"  # from the pass-table column
    assert ds["valid"].attrs["units"] == "1" and ds["pass"].attrs["units"] == "1"
    assert ds["key_rate"].attrs["units"] == "bit/s"  # the producer's own unit is kept
    assert "units" not in ds["mystery"].attrs
    assert ds.attrs["schema_missing_units"] == "mystery"
    assert "pass_secret_key_bits" in ds.attrs["schema_filled_units"]
    assert ds.attrs["schema_version"] == SCHEMA_VERSION and ds.attrs["product"] == "keys"
    assert ds.attrs["flag"] == 1 and ds.attrs["title"] == "test product"
    assert "units" not in _product()["valid"].attrs  # the producer's Dataset is left alone


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_dataset_round_trip(tmp_path, suffix):
    pytest.importorskip("zarr")
    path = write_dataset(_product(), tmp_path / f"keys{suffix}", PROVENANCE)
    opener = xr.open_zarr if suffix == ".zarr" else xr.open_dataset
    with opener(path) as back:
        back = back.load()
    assert back.attrs["scenario_sha256"] == PROVENANCE["scenario_sha256"]
    assert back.attrs["schema_version"] == SCHEMA_VERSION and back.attrs["product"] == "keys"
    np.testing.assert_array_equal(back["key_rate"].values, _product()["key_rate"].values)
    np.testing.assert_array_equal(back["valid"].values, _product()["valid"].values)
    np.testing.assert_array_equal(back["time_utc"].values, _product()["time_utc"].values)
    assert list(back["satellite"].values) == ["Micius"]
    assert back["key_rate"].attrs["units"] == "bit/s" and back["pass_secret_key_bits"].attrs["units"] == "bit"
    write_dataset(_product(), path, PROVENANCE)  # overwriting an existing store works


def _table():
    return pd.DataFrame({"pass_id": [0, 1], "satellite": ["Micius", "Micius"], "station": ["Xinglong", "Nanshan"],
                         "rise_utc": ["2016-12-19T16:48:43.766Z", "2016-12-20T16:00:00.000Z"],
                         "secret_key_bits": [10883632, 0], "qber": [0.0128, np.nan], "dark": [True, False],
                         "custom": [1.0, 2.0]})


def test_parquet_round_trip(tmp_path):
    pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    path = write_table(_table(), tmp_path / "passes.parquet", PROVENANCE)
    back = pd.read_parquet(path)
    pd.testing.assert_frame_equal(back, _table(), check_dtype=False)
    meta = read_parquet_metadata(path)
    assert meta["schema_version"] == SCHEMA_VERSION and meta["scenario_sha256"] == PROVENANCE["scenario_sha256"]
    assert meta["columns"]["secret_key_bits"]["units"] == "bit" and meta["columns"]["custom"]["units"] is None
    field = pq.read_schema(path).field("rise_utc")
    assert field.metadata[b"units"] == b"UTC"


def test_csv_sidecar(tmp_path):
    path = write_table(_table(), tmp_path / "passes.csv", PROVENANCE)
    back = pd.read_csv(path)
    assert list(back.columns) == list(_table().columns)
    meta = json.loads(path.with_suffix(".provenance.json").read_text())
    assert meta["schema_version"] == SCHEMA_VERSION and meta["columns"]["qber"]["units"] == "1"


def test_parquet_metadata_of_a_foreign_file(tmp_path):
    pytest.importorskip("pyarrow")
    path = tmp_path / "other.parquet"
    _table().to_parquet(path)
    with pytest.raises(QsatInputError, match="no 'qsat' metadata"):
        read_parquet_metadata(path)


def test_write_products_all_formats(tmp_path):
    """A short in-process run written in every format; summary lists each file."""
    pytest.importorskip("zarr")
    pytest.importorskip("pyarrow")
    from qsat.outputs import write_products
    from qsat.pipeline import execute
    from qsat.scenario import loads

    run = execute(loads(SHORT), backend="numpy")
    written = write_products(run, tmp_path, formats="all")
    names = {p.name for p in written}
    assert {"passes.csv", "passes.parquet", "geometry.nc", "geometry.zarr", "keys.nc", "keys.zarr"} <= names
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert set(summary["files"]) == names
    assert summary["keys"]["secret_key_bits"] == pd.read_parquet(tmp_path / "passes.parquet")["secret_key_bits"].sum()
    with xr.open_zarr(tmp_path / "link.zarr") as z, xr.open_dataset(tmp_path / "link.nc") as n:
        np.testing.assert_allclose(z["transmittance"].values, n["transmittance"].values)


SHORT = """
name = "micius-short"
[time]
start = "2016-12-19T16:45:00Z"
duration = "15 min"
step = "1 s"
[[satellites]]
name = "Micius"
[[ground_stations]]
name = "Xinglong"
[link]
[link.transmitter]
divergence = "10 urad"
aperture = "30 cm"
pointing_jitter = "1 urad"
[protocol]
mean_photon_numbers = [0.8, 0.1, 0.0]
intensity_probabilities = [0.5, 0.25, 0.25]
basis_probability_x = 0.5
"""


def test_run_with_a_bad_format_fails_before_the_work(tmp_path, capsys):
    from qsat.cli import main

    from .conftest import EXAMPLE

    assert main(["run", str(EXAMPLE), "--out", str(tmp_path / "out"), "--format", "netcdf,xlsx"]) == 2
    assert "--format: xlsx; expected a comma-separated list of netcdf, zarr, csv, parquet" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_summary_of_a_run_with_monte_carlo():
    reduce = pytest.importorskip("qsat.montecarlo.reduce")
    from qsat.outputs import summarize
    from qsat.pipeline import execute
    from qsat.scenario import loads

    run = execute(loads(SHORT), backend="numpy")
    n = len(run.products["passes"])
    rng = np.random.default_rng(0)
    samples = {k: rng.random((50, n)) for k in ("sifted_bits", "errors", "qber", "mean_transmittance", "clear")}
    samples["secret_key_bits"] = rng.normal(1e6, 1e5, (50, n))
    samples["entangled_pairs"] = np.full((50, n), np.nan)
    mc = reduce.statistics(samples, run.products["passes"]["pass_id"], run.products["passes"]["station"],
                           run.products["passes"]["satellite"], "decoy-bb84", 10)
    run.products["montecarlo"] = mc
    summary = summarize(run)
    q = summary["montecarlo"]["budget_secret_key_bits_quantiles"]
    assert set(q) == {"p5", "p50", "p95"} and q["p5"] <= q["p50"] <= q["p95"]
    assert summary["datasets"]["montecarlo"]["dims"]["pass"] == n
    assert conform_dataset(mc, PROVENANCE, "montecarlo").attrs["schema_missing_units"] == ""
