"""TLE/OMM loading: malformed input fails with the field and line; good input matches python-sgp4."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from qsat.errors import QsatInputError
from qsat.orbits.elements import catalog, parse_omm_json, parse_tle_text, resolve_satellite, tle_checksum
from qsat.scenario.orbit import SatelliteSpec

L1 = "1 25544U 98067A   26158.90128688  .00007994  00000+0  14961-3 0  9996"
L2 = "2 25544  51.6338 346.0598 0006926 145.2709 214.8733 15.49660544570312"


def _with_checksum(line: str) -> str:
    return line[:68] + str(tle_checksum(line))


def test_checksums_of_real_lines():
    assert tle_checksum(L1) == int(L1[68]) and tle_checksum(L2) == int(L2[68])


@pytest.mark.parametrize("lines, message", [
    ([L1[:-1] + "0", L2], "checksum"),
    ([L1, L2[:-2]], "69 characters"),
    ([L2, L1], "swapped"),
    ([L1, _with_checksum(L2.replace("2 25544", "2 25545", 1))], "same catalog number"),
    (["x" + L1[1:], L2], "starting with '1 '"),
])
def test_malformed_tle_names_field_and_problem(lines, message):
    spec = SatelliteSpec(name="X", tle=lines)
    with pytest.raises(QsatInputError) as err:
        resolve_satellite(spec, 3, base_dir=".")
    text = str(err.value)
    assert text.startswith("satellites[3].tle") and message in text


def test_catalog_lookup_by_alias_and_nearest_epoch():
    spec = SatelliteSpec(name="Micius")
    early = resolve_satellite(spec, 0, ".", near=datetime(2016, 12, 19, tzinfo=timezone.utc))
    late = resolve_satellite(spec, 0, ".", near=datetime(2025, 12, 1, tzinfo=timezone.utc))
    assert early.norad_id == late.norad_id == 41731
    assert early.epoch.year == 2016 and late.epoch.year == 2025


def test_unknown_catalog_name_lists_what_exists():
    with pytest.raises(QsatInputError, match=r"satellites\[1\].name: NoSuchSat; expected a satellite in the shipped catalog"):
        resolve_satellite(SatelliteSpec(name="NoSuchSat"), 1, ".")


def test_omm_json_matches_its_tle():
    """The shipped ISS OMM and TLE describe the same elements: same state at +1 day."""
    from qsat._paths import ephemerides_dir

    omm = parse_omm_json((ephemerides_dir() / "tle" / "iss_omm.json").read_text(), "iss_omm.json", "f")[0]
    tle = parse_tle_text((ephemerides_dir() / "tle" / "stations_2026.tle").read_text(), "s.tle", "f")[0]
    jd, fr = np.array([omm.satrec.jdsatepoch + 1.0]), np.array([omm.satrec.jdsatepochF])
    _, r1, _ = omm.satrec.sgp4_array(jd, fr)
    _, r2, _ = tle.satrec.sgp4_array(jd, fr)
    assert np.abs(r1 - r2).max() < 1e-3  # km: OMM carries the same digits as the TLE


def test_every_shipped_element_set_propagates():
    for sat in catalog():
        e, r, _ = sat.satrec.sgp4_array(np.array([sat.satrec.jdsatepoch]), np.array([sat.satrec.jdsatepochF]))
        assert e[0] == 0 and 6500 < np.linalg.norm(r[0]) < 7500, sat.name


def test_tle_file_with_several_satellites_picks_by_name(tmp_path):
    from qsat._paths import ephemerides_dir

    text = (ephemerides_dir() / "tle" / "stations_2026.tle").read_text()
    (tmp_path / "two.tle").write_text(text)
    sat = resolve_satellite(SatelliteSpec(name="Tianhe", tle_file="two.tle"), 0, tmp_path)
    assert sat.norad_id == 48274
    with pytest.raises(QsatInputError, match=r"satellites\[0\].name: Hubble"):
        resolve_satellite(SatelliteSpec(name="Hubble", tle_file="two.tle"), 0, tmp_path)
