"""End to end: the README's main command, then what a planner opens: data, figures, CZML, OEM."""

from __future__ import annotations

import json
import re
from datetime import timedelta, timezone

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import qsat
from qsat import scenario as scenario_mod
from qsat.outputs import SCHEMA_VERSION

from .conftest import EXAMPLE, ROOT

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ONE_METRE = 1.0  # positions in the exports vs the propagator: written to 1 mm, checked to 1 m


def test_readme_main_command_is_the_one_tested():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "qsat run examples/micius_xinglong.toml --out out/" in readme


def test_outputs_exist(micius_out):
    for name in ("passes.csv", "passes.provenance.json", "geometry.nc", "link.nc", "keys.nc", "summary.json",
                 "provenance.json", "scene.czml", "ephemerides.oem"):
        assert (micius_out / name).is_file(), name


@pytest.mark.parametrize("product", ["geometry", "link", "keys"])
def test_datasets_open_with_units_and_provenance(micius_out, product):
    digest = scenario_mod.load(EXAMPLE).digest()
    with xr.open_dataset(micius_out / f"{product}.nc") as ds:
        assert ds.sizes["pass"] >= 1
        assert ds.attrs["schema_version"] == SCHEMA_VERSION
        assert ds.attrs["scenario_sha256"] == digest
        assert ds.attrs["qsat_version"] == qsat.__version__
        assert ds.attrs["product"] == product and ds.attrs["Conventions"].startswith("CF-")
        for key in ("backend", "seed", "data_versions", "created_utc"):
            assert key in ds.attrs
        assert "sgp4" in ds.attrs["data_versions"] and "elements[Micius]" in ds.attrs["data_versions"]
        for name, var in ds.variables.items():
            if var.dtype.kind in "fiub":
                assert var.attrs.get("units"), f"{product}.{name} has no units"
        assert ds.attrs["schema_missing_units"] == ""


def test_pass_table_and_sidecar(micius_out):
    table = pd.read_csv(micius_out / "passes.csv")
    assert len(table) == 1 and table["secret_key_bits"].iloc[0] > 0
    meta = json.loads((micius_out / "passes.provenance.json").read_text())
    assert meta["schema_version"] == SCHEMA_VERSION and meta["product"] == "passes"
    assert re.fullmatch(r"[0-9a-f]{64}", meta["scenario_sha256"])
    assert set(meta["columns"]) == set(table.columns)
    assert all(c["units"] is not None for c in meta["columns"].values())
    assert meta["columns"]["secret_key_bits"]["units"] == "bit"


def test_summary(micius_out):
    summary = json.loads((micius_out / "summary.json").read_text())
    table = pd.read_csv(micius_out / "passes.csv")
    assert summary["schema_version"] == SCHEMA_VERSION
    assert summary["counts"] == {"satellites": 1, "ground_stations": 1, "passes": len(table)}
    assert summary["keys"]["secret_key_bits"] == table["secret_key_bits"].sum()
    assert summary["per_station"]["Xinglong"]["passes"] == len(table)
    assert summary["provenance"]["scenario_sha256"] == scenario_mod.load(EXAMPLE).digest()
    assert "scene.czml" in summary["files"] and "ephemerides.oem" in summary["files"]


def _png_checks(path):
    import matplotlib.image

    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, path.name
    assert len(data) > 8_000, f"{path.name}: {len(data)} bytes"
    pixels = matplotlib.image.imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] > 200 and pixels.shape[1] > 200
    assert float(pixels[..., :3].var()) > 1e-4, f"{path.name} is blank"


def test_figures_are_images(micius_out):
    pytest.importorskip("matplotlib")
    figures = sorted((micius_out / "figures").glob("*.png"))
    names = {p.name for p in figures}
    assert {"passes_overview.png", "pass_0_sky.png", "pass_0_series.png"} <= names
    for path in figures:
        _png_checks(path)
    summary = json.loads((micius_out / "summary.json").read_text())
    assert "figures/pass_0_sky.png" in summary["files"]


def _sgp4_teme_norm_m(satrec, times):
    """|r| from python-sgp4 directly (TEME): the exports' frames are rotations of TEME, so norms agree."""
    from sgp4.api import jday

    out = []
    for t in times.astype("datetime64[ms]").astype(object):
        jd, fr = jday(t.year, t.month, t.day, t.hour, t.minute, t.second + t.microsecond * 1e-6)
        err, r, _ = satrec.sgp4(jd, fr)
        assert err == 0
        out.append(np.linalg.norm(r) * 1e3)
    return np.array(out)


@pytest.fixture(scope="module")
def micius_satrec():
    from qsat.orbits.stage import resolve

    _, sats, _, _ = resolve(scenario_mod.load(EXAMPLE))
    return sats[0].satrec


def test_oem_parses_back_and_matches_the_propagator(micius_out, micius_satrec):
    from skyfield.api import EarthSatellite

    from qsat.export.oem import read_oem
    from qsat.orbits.timebase import timescale

    sc = scenario_mod.load(EXAMPLE)
    (seg,) = read_oem(micius_out / "ephemerides.oem")
    assert seg["header"]["CCSDS_OEM_VERS"] == "2.0" and "CREATION_DATE" in seg["header"]
    meta = seg["meta"]
    assert meta["OBJECT_NAME"] == "Micius" and meta["OBJECT_ID"] == "2016-051A"
    assert (meta["CENTER_NAME"], meta["REF_FRAME"], meta["TIME_SYSTEM"]) == ("EARTH", "GCRF", "UTC")
    assert meta["START_TIME"] == sc.time.start.strftime("%Y-%m-%dT%H:%M:%S.000")
    end = sc.time.start + timedelta(seconds=sc.time.duration)
    assert meta["STOP_TIME"] == end.strftime("%Y-%m-%dT%H:%M:%S.000")
    times = seg["times"]
    assert np.all(np.diff(times) == np.timedelta64(60_000, "ms"))
    # every 50th state against Skyfield's GCRS position of the same element set, and |r| against sgp4's TEME
    pick = slice(None, None, 50)
    ts = timescale()
    t = ts.from_datetimes([x.replace(tzinfo=timezone.utc) for x in times[pick].astype(object)])
    ref = EarthSatellite.from_satrec(micius_satrec, ts).at(t).position.m.T
    assert np.abs(seg["position_m"][pick] - ref).max() < ONE_METRE
    norms = np.linalg.norm(seg["position_m"][pick], axis=1)
    assert np.abs(norms - _sgp4_teme_norm_m(micius_satrec, times[pick])).max() < ONE_METRE
    assert np.all(np.abs(np.linalg.norm(seg["velocity_m_s"], axis=1) - 7.6e3) < 0.2e3)


def _colours(node):
    """Every CZML colour (a dict with ``rgba``) in a packet tree."""
    if isinstance(node, dict):
        if "rgba" in node:
            yield node
        for value in node.values():
            yield from _colours(value)
    elif isinstance(node, list):
        for value in node:
            yield from _colours(value)


def test_czml_scene(micius_out, micius_satrec):
    packets = json.loads((micius_out / "scene.czml").read_text(encoding="utf-8"))
    doc = packets[0]
    assert doc["id"] == "document" and doc["version"] == "1.0" and "/" in doc["clock"]["interval"]
    ids = [p["id"] for p in packets]
    assert len(ids) == len(set(ids))
    for colour in _colours(packets):  # four components, or time-tagged samples of five after an epoch
        assert len(colour["rgba"]) % 5 == 0 if "epoch" in colour else len(colour["rgba"]) == 4, colour
    assert {"satellite/Micius", "station/Xinglong", "link/0"} <= set(ids)
    sat = packets[ids.index("satellite/Micius")]["position"]
    assert sat["referenceFrame"] == "FIXED"
    samples = np.array(sat["cartesian"]).reshape(-1, 4)
    epoch = np.datetime64(sat["epoch"].rstrip("Z"), "ms")
    times = epoch + (samples[:, 0] * 1e3).astype("timedelta64[ms]")
    pick = slice(None, None, 60)
    norms = np.linalg.norm(samples[pick, 1:], axis=1)
    assert np.abs(norms - _sgp4_teme_norm_m(micius_satrec, times[pick])).max() < ONE_METRE
    station = packets[ids.index("station/Xinglong")]["position"]["cartographicDegrees"]
    assert station[1] == pytest.approx(40.395833) and station[0] == pytest.approx(117.576944)
    link = packets[ids.index("link/0")]
    assert link["polyline"]["positions"]["references"] == ["satellite/Micius#position", "station/Xinglong#position"]
    rgba = link["polyline"]["material"]["solidColor"]["color"]["rgba"]
    assert len(rgba) % 5 == 0 and len(rgba) >= 10
    colours = np.array(rgba).reshape(-1, 5)[:, 1:]
    assert np.all((colours >= 0) & (colours <= 255)) and len(np.unique(colours, axis=0)) > 3
    start, stop = (np.datetime64(x.rstrip("Z"), "ms") for x in link["availability"].split("/"))
    table = pd.read_csv(micius_out / "passes.csv")
    assert abs((start - np.datetime64(table["rise_utc"][0].rstrip("Z"), "ms")) / np.timedelta64(1, "s")) < 1.5
    assert stop > start


def test_czml_track_is_earth_fixed(micius_out):
    """Satellite–station distance from the scene's FIXED positions equals the geometry product's
    slant range at the same instants: an inertial/fixed mix-up would be off by kilometres."""
    from qsat.orbits.stations import catalog

    packets = {p["id"]: p for p in json.loads((micius_out / "scene.czml").read_text(encoding="utf-8"))}
    sat = packets["satellite/Micius"]["position"]
    samples = np.array(sat["cartesian"]).reshape(-1, 4)
    times = np.datetime64(sat["epoch"].rstrip("Z"), "ms") + (samples[:, 0] * 1e3).astype("timedelta64[ms]")
    station = catalog()["XINGLONG"].itrs_m()
    with xr.open_dataset(micius_out / "geometry.nc") as geo:
        ok = geo["valid"].values[0]
        t_geo = geo["time_utc"].values[0][ok].astype("datetime64[ms]")
        r_geo = geo["slant_range_m"].values[0][ok]
    common, i_czml, i_geo = np.intersect1d(times, t_geo, return_indices=True)
    assert len(common) >= 5
    r_czml = np.linalg.norm(samples[i_czml, 1:] - station, axis=1)
    # same element set and Earth rotation as the pass engine, positions written to 1 mm
    assert np.abs(r_czml - r_geo[i_geo]).max() < ONE_METRE
