"""Bad scenario input: one line naming the field, the value and what was expected; CLI exit 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

from qsat.errors import QsatInputError
from qsat.scenario import loads

GOOD = {
    "time": '[time]\nstart = "2026-06-08T00:00:00Z"\nduration = "1 d"\nstep = "1 s"\n',
    "sat": '[[satellites]]\nname = "ISS"\n',
    "station": '[[ground_stations]]\nname = "Tenerife"\n',
    "constraints": "[constraints]\nelevation_mask_deg = 10\n",
}


def scenario(**replace):
    return "\n".join(replace.get(k, v) for k, v in GOOD.items())


BAD = [
    ("negative duration", dict(time=GOOD["time"].replace('"1 d"', '"-3 d"')),
     "time.duration: -3 d; expected a positive duration"),
    ("zero step", dict(time=GOOD["time"].replace('"1 s"', '"0 s"')),
     "time.step: 0 s; expected a positive duration"),
    ("step in metres", dict(time=GOOD["time"].replace('"1 s"', '"1 m"')),
     "time.step: 1 m; expected a duration in units convertible to 's'"),
    ("start without zone", dict(time=GOOD["time"].replace("00:00:00Z", "00:00:00")),
     "time.start"),
    ("mask of 90", dict(constraints="[constraints]\nelevation_mask_deg = 90\n"),
     "constraints.elevation_mask_deg: 90; expected an elevation mask in [0, 90) degrees"),
    ("negative mask", dict(constraints="[constraints]\nelevation_mask_deg = -1\n"),
     "constraints.elevation_mask_deg: -1"),
    ("typo in a key", dict(constraints="[constraints]\nelevation_mask = 10\n"),
     "constraints.elevation_mask: 10; expected no such key here"),
    ("unknown section", dict(constraints="[constriants]\nelevation_mask_deg = 10\n"),
     "constriants"),
    ("negative aperture", dict(station='[[ground_stations]]\nname = "X"\nlatitude_deg = 1\nlongitude_deg = 2\n'
                                       'aperture = "-0.5 m"\n'),
     "ground_stations[0].aperture: -0.5 m; expected a positive length"),
    ("latitude only", dict(station='[[ground_stations]]\nname = "X"\nlatitude_deg = 1\n'),
     "ground_stations[0]"),
    ("no satellites", dict(sat='[[satellites]]\nname = "ISS"\nnorad_id = -1\ntle_file = 3\n'),
     "satellites[0]"),
    ("dual downlink on an uplink",
     dict(constraints=GOOD["constraints"] + '[protocol]\nprotocol = "bbm92"\n[link]\ndirection = "uplink"\n'
                                            'wavelength = "850 nm"\n[link.transmitter]\ndivergence = "20 urad"\n'
                                            'pointing_jitter = "1 urad"\n[link.receiver]\naperture = "30 cm"\n'),
     "protocol.dual_downlink: True; expected false with [link] direction = 'uplink'"),
]


@pytest.mark.parametrize("label, replace, message", BAD, ids=[b[0] for b in BAD])
def test_bad_scenario_names_field(label, replace, message):
    with pytest.raises(QsatInputError) as err:
        loads(scenario(**replace))
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_empty_satellite_list():
    text = "satellites = []\n" + scenario(sat="")
    with pytest.raises(QsatInputError, match=r"^satellites: \[\]; expected"):
        loads(text)


def _cli(tmp_path, text, *args):
    path = tmp_path / "s.toml"
    path.write_text(text)
    return subprocess.run([sys.executable, "-m", "qsat", "passes", str(path), "--out", str(tmp_path / "p.csv"),
                           *args], capture_output=True, text=True)


@pytest.mark.parametrize("replace, message", [
    (dict(station='[[ground_stations]]\nname = "Atlantis"\n'), "ground_stations[0].name: Atlantis; expected a station"),
    (dict(sat='[[satellites]]\nname = "X"\ntle = ["1 25544U 98067A", "2 25544"]\n'), "satellites[0].tle line 1"),
    (dict(time=GOOD["time"].replace('"1 d"', '"-3 d"')), "time.duration: -3 d"),
    (dict(constraints="[constraints]\nelevaton_mask_deg = 10\n"), "constraints.elevaton_mask_deg"),
])
def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, replace, message):
    result = _cli(tmp_path, scenario(**replace))
    assert result.returncode == 2
    assert result.stderr.startswith(f"qsat: error: {message}")
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
    assert not (tmp_path / "p.csv").exists()


def test_cli_missing_scenario_file(tmp_path):
    result = subprocess.run([sys.executable, "-m", "qsat", "run", str(tmp_path / "nope.toml"), "--out",
                             str(tmp_path / "o")], capture_output=True, text=True)
    assert result.returncode == 2 and "scenario:" in result.stderr and "Traceback" not in result.stderr


def test_old_elements_warn(tmp_path):
    text = scenario(time=GOOD["time"].replace("2026-06-08", "2027-06-08"))
    result = _cli(tmp_path, text)
    assert result.returncode == 0
    assert "qsat: warning: satellite ISS: element epoch 2026-06-07" in result.stderr
