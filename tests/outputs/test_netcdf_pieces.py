"""NetCDF written piece by piece: from plain arrays (``qsat passes``) the same file as through xarray,
floats stored plain and exact, times and flags deflated."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import xarray as xr

from qsat.orbits import stage
from qsat.orbits.stage import compute_passes, plan
from qsat.outputs import append_dataset, append_netcdf, netcdf_encoding, write_dataset
from qsat.scenario import loads

from ..orbits.scenarios import iss_two_stations

PROVENANCE = {"qsat_version": "0.1.0", "scenario_sha256": "cd" * 32, "backend": "numpy", "seed": 1,
              "created_utc": "2026-12-07T05:00:00Z", "data_versions": "sgp4=2.27", "warnings": ""}
#: The ISS over two stations for two days at 10 s, night passes only (so the constraint's selection runs).
SCENARIO = iss_two_stations(duration="2 d", step="10 s") + "night_only = true\n"
#: HDF5 attributes that hold object references (different objects in different files).
_REFERENCES = ("DIMENSION_LIST", "REFERENCE_LIST")


@pytest.fixture(scope="module")
def pieces():
    """The scenario's passes in small groups, padded to the window's width."""
    job = plan(loads(SCENARIO))
    old, stage.STEPS_PER_GROUP = stage.STEPS_PER_GROUP, 60
    try:
        parts = list(job.pieces(padded=True))
    finally:
        stage.STEPS_PER_GROUP = old
    assert len(parts) >= 3
    return loads(SCENARIO), parts


def _layout(path):
    """Every variable's storage and attributes, and the global attributes, as HDF5 holds them."""
    out = {}
    with h5py.File(path) as f:
        for name, d in f.items():
            fill = d.fillvalue
            out[name] = (d.dtype.str if d.dtype.kind != "O" else str(h5py.check_string_dtype(d.dtype)), d.shape,
                         d.maxshape, d.chunks, d.compression, d.compression_opts, d.shuffle,
                         "nan" if isinstance(fill, float) and np.isnan(fill) else repr(fill),
                         [(k, repr(v)) for k, v in d.attrs.items() if k not in _REFERENCES])
        out[""] = sorted((k, repr(v)) for k, v in f.attrs.items() if k != "_NCProperties")
    return out


def test_plain_pieces_write_the_file_xarray_writes(tmp_path, pieces):
    _, parts = pieces
    for i, (_, geometry) in enumerate(parts):
        append_netcdf(geometry, tmp_path / "plain.nc", PROVENANCE, dim="pass", first=i == 0, product="geometry")
        append_dataset(geometry.dataset(), tmp_path / "xr.nc", PROVENANCE, dim="pass", first=i == 0,
                       product="geometry")
    plain, ref = _layout(tmp_path / "plain.nc"), _layout(tmp_path / "xr.nc")
    assert sorted(plain) == sorted(ref)
    for name in ref:
        assert plain[name] == ref[name], name
    with xr.open_dataset(tmp_path / "plain.nc") as a, xr.open_dataset(tmp_path / "xr.nc") as b:
        xr.testing.assert_identical(a.load(), b.load())
        assert a.sizes["pass"] == sum(len(t) for t, _ in parts)


def test_plain_pieces_hold_the_whole_window_geometry(tmp_path, pieces):
    scenario, parts = pieces
    whole = compute_passes(scenario).geometry
    for i, (table, geometry) in enumerate(parts):
        assert table["dark"].all()
        append_netcdf(geometry, tmp_path / "g.nc", PROVENANCE, dim="pass", first=i == 0)
    with xr.open_dataset(tmp_path / "g.nc") as got:
        assert dict(got.sizes) == dict(whole.sizes)
        for name in whole.variables:
            np.testing.assert_array_equal(got[name].values, whole[name].values, err_msg=name)


def test_plain_pieces_must_keep_their_width(tmp_path, pieces):
    _, parts = pieces
    append_netcdf(parts[0][1], tmp_path / "g.nc", PROVENANCE, dim="pass", first=True)
    narrow = parts[1][1].take("step", np.arange(3))
    with pytest.raises(ValueError, match="dimension step"):
        append_netcdf(narrow, tmp_path / "g.nc", PROVENANCE, dim="pass", first=False)


def test_floats_stored_plain_and_exact_times_and_flags_deflated(tmp_path, pieces):
    _, parts = pieces
    ds = parts[0][1].dataset()
    enc = netcdf_encoding(ds)
    assert {"time_utc", "valid", "sunlit"} <= set(enc) and "elevation_deg" not in enc
    write_dataset(ds, tmp_path / "g.nc", PROVENANCE)
    with h5py.File(tmp_path / "g.nc") as f:
        assert f["elevation_deg"].compression is None and f["time_utc"].compression == "gzip"
        assert f["valid"].compression == "gzip" and f["valid"].shuffle
    with xr.open_dataset(tmp_path / "g.nc") as back:
        for name in ds.data_vars:
            np.testing.assert_array_equal(back[name].values, ds[name].values, err_msg=name)


def test_a_dataset_read_back_from_a_file_is_written_again(tmp_path, pieces):
    _, parts = pieces
    for i, (_, geometry) in enumerate(parts):
        append_netcdf(geometry, tmp_path / "g.nc", PROVENANCE, dim="pass", first=i == 0)
    with xr.open_dataset(tmp_path / "g.nc") as back:
        part = back.isel({"pass": slice(0, 2)}).load()  # encodings of the file: chunks, coordinates, ...
    write_dataset(part, tmp_path / "again.nc", PROVENANCE)
    with xr.open_dataset(tmp_path / "again.nc") as again:
        xr.testing.assert_equal(again.load(), part)
        assert again["time_utc"].encoding["units"] == "nanoseconds since 1970-01-01"
