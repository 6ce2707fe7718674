"""Bad input at the boundary: QsatInputError naming the field or row; CLI exit 2."""

import json

import numpy as np

import pytest

from qsat.cli import main
from qsat.errors import QsatInputError
from qsat.protocols.config import load_protocol, protocol_from_dict
from qsat.protocols.losstable import read_loss_table

GOOD = """protocol = "decoy-bb84"
rep_rate_hz = 1e8
mean_photon_numbers = [0.79, 0.17, 0.0]
intensity_probabilities = [0.75, 0.175, 0.075]
basis_probability_x = 0.76
dark_count_probability = 1e-8
intrinsic_qber = 0.005
afterpulse_probability = 1e-3
eps_sec = 1e-9
eps_cor = 1e-15
error_correction_efficiency = 1.16
tail_bound = "chernoff"
optimize = false
elevation_mask_deg = 10
excess_loss_db = 0.0
"""


@pytest.mark.parametrize("change, field", [
    ({"intensity_probabilities": [0.75, 0.3, -0.05]}, "intensity_probabilities"),
    ({"intensity_probabilities": [0.7, 0.2, 0.2]}, "intensity_probabilities"),
    ({"intensity_probabilities": [1.0, 0.0, 0.0]}, "intensity_probabilities"),
    ({"basis_probability_x": 1.0}, "basis_probability_x"),
    ({"basis_probability_x": 1.2}, "basis_probability_x"),
    ({"mean_photon_numbers": [0.17, 0.79, 0.0]}, "mean_photon_numbers"),
    ({"mean_photon_numbers": [0.5, 0.5, 0.0]}, "mean_photon_numbers"),
    ({"mean_photon_numbers": [0.3, 0.2, 0.15]}, "mean_photon_numbers"),
    ({"eps_sec": 0.0}, "eps_sec"),
    ({"eps_cor": 1.0}, "eps_cor"),
    ({"dark_count_probability": -1e-8}, "dark_count_probability"),
    ({"tail_bound": "gaussian"}, "tail_bound"),
    ({"rep_rate_hz": 0}, "rep_rate_hz"),
    ({"error_correction_efficiency": 0.9}, "error_correction_efficiency"),
    ({"basis_probabilty_x": 0.5}, "basis_probabilty_x"),
])
def test_bad_protocol_fields(change, field):
    with pytest.raises(QsatInputError) as info:
        protocol_from_dict(change)
    assert info.value.field.startswith(field)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("rows, where", [
    ("0,0.5\n1,0.5\n", "row 1"),                          # missing column
    ("0,0.5,1e-3\n1,0.5,-1e-3\n", "row 2 efficiency"),    # negative efficiency
    ("0,0.5,1e-3\n1,0.5,1.5\n", "row 2 efficiency"),      # efficiency above 1 (dB given?)
    ("0,0.5,1e-3\n2,0.5,1e-3\n1,0.5,1e-3\n", "row 3 time_s"),  # non-monotonic time
    ("0,0.5,1e-3\n0,0.5,1e-3\n", "row 2 time_s"),         # repeated time
    ("0,0.5,1e-3\n1,0.5,abc\n", "row 2"),                 # not a number
    ("0,0.5,1e-3\n1,0.5,1e-3\n3,0.5,1e-3\n", "row 3 time_s"),  # uneven spacing
])
def test_bad_loss_tables(tmp_path, rows, where):
    path = write(tmp_path, "loss.csv", rows)
    with pytest.raises(QsatInputError) as info:
        read_loss_table(path)
    assert where in info.value.field


def test_satquma_layout_read_as_is(satquma_csv):
    t = read_loss_table(satquma_csv)
    assert len(t.time_s) == 693 and t.step_s == 1.0
    assert t.time_s[0] == 346 and t.time_s[-1] == -346  # decreasing time is fine
    assert t.efficiency[346] == pytest.approx(10 ** -2.6989700043360187)


def test_cli_loss_table(tmp_path, satquma_csv):
    proto = write(tmp_path, "p.toml", GOOD)
    out = tmp_path / "keys.json"
    assert main(["keys", "--loss-table", str(satquma_csv), "--protocol", str(proto), "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    for key in ("secret_key_bits", "qber_x", "phase_error_x", "n_x", "n_z", "window_s"):
        assert key in doc
    assert doc["secret_key_bits"] > 0 and "chosen_parameters" not in doc
    assert doc["secret_key_bits"] <= doc["secret_key_bits_asymptotic"] <= doc["plob_bound_bits"]
    assert doc["window_s"] == 443.0  # rows at or above 10 degrees
    opt = write(tmp_path, "o.toml", GOOD.replace("optimize = false", "optimize = true"))
    out2 = tmp_path / "keys2.json"
    assert main(["keys", "--loss-table", str(satquma_csv), "--protocol", str(opt), "--out", str(out2)]) == 0
    doc2 = json.loads(out2.read_text())
    assert doc2["secret_key_bits"] >= doc["secret_key_bits"]
    chosen = doc2["chosen_parameters"]
    assert 0 < chosen["basis_probability_x"] < 1
    assert sum(chosen["intensity_probabilities"]) == pytest.approx(1.0)


@pytest.mark.parametrize("text, needle", [
    (GOOD.replace("eps_sec = 1e-9", "eps_sec = 2"), "eps_sec"),
    (GOOD.replace("[0.75, 0.175, 0.075]", "[0.75, 0.175, 0.175]"), "intensity_probabilities"),
])
def test_cli_exit_2_names_field(tmp_path, satquma_csv, capsys, text, needle):
    proto = write(tmp_path, "p.toml", text)
    code = main(["keys", "--loss-table", str(satquma_csv), "--protocol", str(proto),
                 "--out", str(tmp_path / "k.json")])
    assert code == 2
    assert needle in capsys.readouterr().err


def test_cli_exit_2_bad_table(tmp_path, capsys):
    proto = write(tmp_path, "p.toml", GOOD)
    table = write(tmp_path, "t.csv", "# time, elevation, efficiency\n0,0.5,1e-3\n1,0.5\n")
    code = main(["keys", "--loss-table", str(table), "--protocol", str(proto), "--out", str(tmp_path / "k.json")])
    assert code == 2
    assert "t.csv row 3" in capsys.readouterr().err


def test_protocol_file_under_section(tmp_path):
    path = write(tmp_path, "p.toml", "[protocol]\n" + GOOD)
    assert load_protocol(path).basis_probability_x == 0.76


# --- options and files checked as a scenario's are (issue 16) -----------------------------------

def _keys(tmp_path, protocol_text, tables, extra=()):
    proto = write(tmp_path, "p.toml", protocol_text) if isinstance(protocol_text, str) else protocol_text
    args = ["keys", "--protocol", str(proto), "--out", str(tmp_path / "k.json"), *extra]
    for t in tables:
        args += ["--loss-table", str(t)]
    return main(args)


def _one_line_error(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("qsat: error: "), err
    return err[0]


@pytest.mark.parametrize("seed", ["-5", str(2**64)])
def test_seed_out_of_range_refused(tmp_path, satquma_csv, capsys, seed):
    assert _keys(tmp_path, GOOD, [satquma_csv], ["--seed", seed]) == 2
    assert "--seed" in _one_line_error(capsys)
    assert not (tmp_path / "k.json").exists()


@pytest.mark.parametrize("line, field", [
    ("elevation_mask_deg = -10", "elevation_mask_deg"),
    ("elevation_mask_deg = 90", "elevation_mask_deg"),
    ('elevation_mask_deg = "10"', "elevation_mask_deg"),      # strict: a string is not a number
    ('optimize = "yes"', "optimize"),                          # strict: a string is not a boolean
    ("optimize = 1", "optimize"),
    ("excess_loss_db = true", "excess_loss_db"),
])
def test_protocol_file_strict_fields(tmp_path, satquma_csv, capsys, line, field):
    key = line.split(" = ")[0]
    text = "\n".join(l for l in GOOD.splitlines() if not l.startswith(key + " ")) + "\n" + line + "\n"
    assert _keys(tmp_path, text, [satquma_csv]) == 2
    assert field in _one_line_error(capsys)


def test_optimiser_box_without_room_for_mu2_refused(tmp_path, satquma_csv, capsys):
    text = GOOD.replace("[0.79, 0.17, 0.0]", "[0.79, 0.3, 0.15]").replace("optimize = false", "optimize = true")
    assert _keys(tmp_path, text, [satquma_csv]) == 2
    assert "mu1 low bound" in _one_line_error(capsys)


ENCODINGS = {
    "binary": bytes(range(256)) * 4,
    "latin-1": "# température\n0,0.5,1e-3\n1,0.5,1e-3\n".encode("latin-1"),
    "utf-16": "0,0.5,1e-3\n1,0.5,1e-3\n".encode("utf-16"),
}


@pytest.mark.parametrize("kind", sorted(ENCODINGS))
def test_undecodable_protocol_file_one_line(tmp_path, satquma_csv, capsys, kind):
    proto = tmp_path / "p.toml"
    proto.write_bytes(ENCODINGS[kind] if kind != "latin-1" else GOOD.replace("chernoff", "chérnoff").encode("latin-1"))
    assert _keys(tmp_path, proto, [satquma_csv]) == 2
    assert "p.toml" in _one_line_error(capsys)


@pytest.mark.parametrize("kind", sorted(ENCODINGS))
def test_undecodable_loss_table_one_line(tmp_path, capsys, kind):
    table = tmp_path / "t.csv"
    table.write_bytes(ENCODINGS[kind])
    assert _keys(tmp_path, GOOD, [table]) == 2
    assert "t.csv" in _one_line_error(capsys)


def test_nul_bytes_in_utf8_loss_table(tmp_path, capsys):
    table = tmp_path / "t.csv"
    table.write_bytes(b"0,0.5,1e-3\n\x00\x001,0.5,1e-3\n")
    assert _keys(tmp_path, GOOD, [table]) == 2
    assert "t.csv" in _one_line_error(capsys)


def test_utf8_bom_loss_table_is_read(tmp_path, satquma_csv):
    table = tmp_path / "bom.csv"
    table.write_bytes(b"\xef\xbb\xbf" + satquma_csv.read_bytes())
    assert _keys(tmp_path, GOOD, [table]) == 0


# --- BBM92 from two loss tables ------------------------------------------------------------------

BBM92 = """protocol = "bbm92"
pair_rate_hz = 3e7
coincidence_window_s = 1e-9
pair_source_qber = 0.01
dark_count_probability = 1e-8
elevation_mask_deg = 10
"""


def _shifted(tmp_path, satquma_csv, shift_rows, scale=1.0, name="b.csv"):
    """SatQuMA's table for a second station: the same pass ``shift_rows`` steps later, scaled."""
    rows = np.loadtxt(satquma_csv, delimiter=",", skiprows=1, usecols=(0, 1, 2))
    el, eff = np.roll(rows[:, 1], shift_rows), np.roll(rows[:, 2], shift_rows) * scale
    path = tmp_path / name
    path.write_text("# time, elevation, efficiency\n" + "".join(
        f"{t:.17g},{e:.17g},{x:.17g}\n" for t, e, x in zip(rows[:, 0], el, eff)))
    return path


def test_bbm92_two_loss_tables(tmp_path, satquma_csv):
    b = _shifted(tmp_path, satquma_csv, 30, scale=0.5)
    assert _keys(tmp_path, BBM92, [satquma_csv, b]) == 0
    doc = json.loads((tmp_path / "k.json").read_text())
    assert doc["protocol"] == "bbm92" and doc["coincidences"] > 0
    assert 0 < doc["secret_key_bits"] <= doc["secret_key_bits_asymptotic"] <= doc["plob_bound_bits"]
    assert doc["sifted_bits"] == pytest.approx(0.5 * doc["coincidences"])
    # the overlap is the steps where both arms are at or above the mask (10 degrees)
    t = read_loss_table(satquma_csv)
    tb = read_loss_table(b)
    both = (t.elevation_deg >= 10) & (tb.elevation_deg >= 10)
    assert doc["overlap_s"] == pytest.approx(both.sum() * t.step_s)
    assert len(doc["provenance"]["loss_tables"]) == 2
    # more loss on one arm: fewer coincidences, no more key
    c = _shifted(tmp_path, satquma_csv, 30, scale=0.05, name="c.csv")
    assert _keys(tmp_path, BBM92, [satquma_csv, c]) == 0
    lossy = json.loads((tmp_path / "k.json").read_text())
    assert lossy["coincidences"] < doc["coincidences"] and lossy["secret_key_bits"] <= doc["secret_key_bits"]


def test_bbm92_loss_table_count_and_grid_checked(tmp_path, satquma_csv, capsys):
    assert _keys(tmp_path, BBM92, [satquma_csv]) == 2
    assert "two loss tables" in _one_line_error(capsys)
    assert _keys(tmp_path, GOOD, [satquma_csv, satquma_csv]) == 2
    assert "one loss table" in _one_line_error(capsys)
    coarse = tmp_path / "coarse.csv"
    coarse.write_text("0,0.5,1e-3\n2,0.5,1e-3\n4,0.5,1e-3\n")
    assert _keys(tmp_path, BBM92, [satquma_csv, coarse]) == 2
    assert "coarse.csv" in _one_line_error(capsys)
