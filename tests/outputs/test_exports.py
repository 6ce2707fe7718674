"""CZML and OEM without the end-to-end run: colours by elevation, long windows cut, bad OEM text."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from qsat.errors import QsatInputError
from qsat.export import CZML_MAX_DAYS, czml, oem
from qsat.export.ephemeris import export_window
from qsat.orbits.stage import compute_passes
from qsat.scenario import loads

PASSES_ONLY = """
name = "iss-graz"
[time]
start = "2026-06-08T00:00:00Z"
duration = "12 h"
step = "1 s"
[[satellites]]
name = "ISS"
[[ground_stations]]
name = "Graz"
"""


def test_czml_links_coloured_by_elevation_without_keys():
    result = compute_passes(loads(PASSES_ONLY), backend="numpy")
    assert len(result.passes) >= 1
    sc = loads(PASSES_ONLY)
    stop = sc.time.start.replace(hour=12)
    packets = czml.build(result.satellites, result.stations, sc.time.start, stop, passes=result.passes,
                         geometry=result.geometry, name="t")
    assert "elevation" in packets[0]["description"]
    links = [p for p in packets if p["id"].startswith("link/")]
    assert len(links) == len(result.passes)
    best = int(np.argmax(result.passes["max_elevation_deg"].to_numpy()))
    colour = links[best]["polyline"]["material"]["solidColor"]["color"]
    samples = np.array(colour["rgba"]).reshape(-1, 5)
    # each sample is the ramp at the step's elevation / 90 deg (red low, green high)
    geo = result.geometry.isel({"pass": best})
    ok = geo["valid"].values
    times = geo["time_utc"].values[ok]
    elevation = geo["elevation_deg"].values[ok]
    offsets = (times - times[0]) / np.timedelta64(1, "s")
    expected = czml.ramp(np.interp(samples[:, 0], offsets, elevation) / 90.0)
    np.testing.assert_array_equal(samples[:, 1:], expected)
    assert samples[-1, 0] == pytest.approx(offsets[-1])


def test_ramp_ends_and_nan():
    c = czml.ramp(np.array([0.0, 1.0, np.nan, 2.0]))
    assert c[0].tolist() == [*czml.RAMP[0], 255] and c[1].tolist() == [*czml.RAMP[-1], 255]
    assert c[2].tolist() == [128, 128, 128, 255] and c[3].tolist() == c[1].tolist()


def test_long_windows_are_cut():
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    s, e, cut = export_window(start, 365 * 86400.0, CZML_MAX_DAYS)
    assert cut and (e - s).total_seconds() == CZML_MAX_DAYS * 86400
    s, e, cut = export_window(start, 3600.0, CZML_MAX_DAYS)
    assert not cut and (e - s).total_seconds() == 3600


def test_oem_round_trip_and_errors(tmp_path):
    result = compute_passes(loads(PASSES_ONLY), backend="numpy")
    start = datetime(2026, 6, 8, tzinfo=timezone.utc)
    path = oem.write_oem(result.satellites, tmp_path / "iss.oem", start, start.replace(minute=30), step_s=60)
    (seg,) = oem.read_oem(path)
    assert seg["meta"]["OBJECT_ID"] == "1998-067A" and len(seg["times"]) == 31
    assert 6.6e6 < np.linalg.norm(seg["position_m"], axis=1).min() < 6.9e6
    with pytest.raises(QsatInputError, match="step_s"):
        oem.write_oem(result.satellites, tmp_path / "x.oem", start, start, step_s=0)
    bad = tmp_path / "bad.oem"
    bad.write_text(path.read_text().replace("META_STOP\n", "META_STOP\n2026-06-08T00:00:00.000 1 2 3\n", 1))
    with pytest.raises(QsatInputError, match=r"bad.oem:\d+: .*expected an ephemeris line"):
        oem.read_oem(bad)
    (tmp_path / "empty.oem").write_text("hello\n")
    with pytest.raises(QsatInputError, match="a KVN header line"):
        oem.read_oem(tmp_path / "empty.oem")
