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
    ("quoted number", dict(constraints='[constraints]\nelevation_mask_deg = "10"\n'),
     "constraints.elevation_mask_deg: '10'; expected a number (not quoted)"),
    ("yes as a boolean", dict(constraints='[constraints]\nnight_only = "yes"\n'),
     "constraints.night_only: 'yes'; expected true or false"),
    ("1 as a boolean", dict(constraints="[constraints]\nnight_only = 1\n"),
     "constraints.night_only: 1; expected true or false"),
    ("true as a number", dict(constraints="[constraints]\nelevation_mask_deg = true\n"),
     "constraints.elevation_mask_deg: True; expected a number"),
    ("fractional seed", dict(time="seed = 1.5\n" + GOOD["time"]), "seed: 1.5; expected a whole number"),
    ("number as a name", dict(sat="[[satellites]]\nname = 25544\n"),
     "satellites[0].name: 25544; expected a string"),
    ("start before the ephemeris", dict(time=GOOD["time"].replace("2026-06-08", "1850-01-01")),
     "time.start: 1850-01-01T00:00:00Z; expected a start within the planetary ephemeris (DE421: 1899-07-30"),
    ("start after the ephemeris", dict(time=GOOD["time"].replace("2026-06-08", "2060-01-01")),
     "time.start: 2060-01-01T00:00:00Z; expected a start within the planetary ephemeris"),
    ("window running past the ephemeris",
     dict(time=GOOD["time"].replace("2026-06-08", "2053-10-01").replace('"1 d"', '"30 d"')),
     "time.duration: 30 d from 2053-10-01; expected a window that ends within the planetary ephemeris"),
    ("absurd duration", dict(time=GOOD["time"].replace('"1 d"', '"1e30 s"')),
     "time.duration: 1.15741e+25 d from 2026-06-08; expected a window that ends within the planetary ephemeris"),
    ("negative seed", dict(time="seed = -5\n" + GOOD["time"]), "seed: -5; expected a value greater than or equal to 0"),
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


def test_strict_types_still_take_arrays_for_fixed_length_pairs():
    text = scenario() + '[protocol]\n[protocol.optimize_bounds]\nmu1 = [0.3, 0.9]\n'
    assert tuple(loads(text).protocol.optimize_bounds.mu1) == (0.3, 0.9)
    with pytest.raises(QsatInputError, match=r"^protocol.optimize_bounds.mu1\[1\]: '0.9'; expected a number"):
        loads(text.replace("0.9]", '"0.9"]'))


def test_ephemeris_span_is_that_of_the_shipped_de421():
    from qsat.orbits.timebase import planets
    from qsat.scenario.orbit import EPHEMERIS_END, EPHEMERIS_START

    segments = planets().spk.segments
    jd = lambda t: 2440587.5 + t.timestamp() / 86400.0  # noqa: E731 (UTC JD; TT differs by < 2 min)
    assert min(s.start_jd for s in segments) + 0.5 < jd(EPHEMERIS_START) < min(s.start_jd for s in segments) + 2
    assert max(s.end_jd for s in segments) - 2 < jd(EPHEMERIS_END) < max(s.end_jd for s in segments) - 0.5


BAD_FILES = [
    ("utf-16", lambda text: text.encode("utf-16"), "in UTF-8 text (this one is UTF-16)"),
    ("latin-1", lambda text: ("# Station de Caf\u00e9\n" + text).encode("latin-1"),
     "in UTF-8 text (byte 0xe9 at offset 16 is not UTF-8"),
    ("binary", lambda text: bytes(range(256)), "in UTF-8 text (byte 0x80 at offset 128 is not UTF-8"),
    ("nul bytes", lambda text: b"\x00\x01\x02" + text.encode(), "it holds NUL bytes"),
]


@pytest.mark.parametrize("label, encode, message", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_undecodable_scenario_file_is_one_line_and_exit_2(tmp_path, label, encode, message):
    path = tmp_path / "s.toml"
    path.write_bytes(encode(scenario()))
    result = subprocess.run([sys.executable, "-m", "qsat", "passes", str(path), "--out", str(tmp_path / "p.csv")],
                            capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"qsat: error: scenario: {path}; expected a scenario file (.toml) ")
    assert message in result.stderr


def test_utf8_with_a_byte_order_mark_is_read(tmp_path):
    from qsat.scenario import load

    path = tmp_path / "s.toml"
    path.write_bytes(b"\xef\xbb\xbf" + scenario().encode())
    assert load(path).constraints.elevation_mask_deg == 10


ELEMENT_FILES = [
    ("tle_file", "sat.tle", "ISS\n1 25544U \xff\n".encode("latin-1"), "in UTF-8 text (byte 0xff"),
    ("omm_file", "sat.json", "[]".encode("utf-16"), "in UTF-8 text (this one is UTF-16)"),
    ("omm_file", "sat.xml", b"<ndm><omm><body>", "expected CCSDS OMM XML with every mean element (ParseError"),
    ("omm_file", "sat.xml", b"<ndm><omm><body><segment><data><meanElements><EPOCH>2026-06-01T00:00:00"
                            b"</EPOCH></meanElements></data></segment></body></omm></ndm>",
     "expected CCSDS OMM XML with every mean element"),
    ("omm_file", "sat.xml", b"<ndm></ndm>", "expected CCSDS OMM XML holding at least one OMM"),
]


@pytest.mark.parametrize("key, name, content, message", ELEMENT_FILES, ids=[e[1] + str(i) for i, e in
                                                                             enumerate(ELEMENT_FILES)])
def test_bad_element_files_are_one_line_and_exit_2(tmp_path, key, name, content, message):
    (tmp_path / name).write_bytes(content)
    result = _cli(tmp_path, scenario(sat=f'[[satellites]]\nname = "ISS"\n{key} = "{name}"\n'))
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"qsat: error: satellites[0].{key}: {tmp_path / name}; expected")
    assert message in result.stderr


@pytest.mark.parametrize("args, message", [
    (["passes"], "the following arguments are required: scenario, --out (see 'qsat passes --help')"),
    (["nope"], "argument COMMAND: invalid choice: 'nope'"),
    (["montecarlo", "s.toml", "--out", "m.zarr", "--trials", "many"], "argument --trials: invalid int value"),
])
def test_usage_errors_are_one_line_and_exit_2(args, message):
    result = subprocess.run([sys.executable, "-m", "qsat", *args], capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("qsat: error: ") and message in result.stderr
