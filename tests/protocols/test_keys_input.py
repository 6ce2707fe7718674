"""Bad input at the boundary: QsatInputError naming the field or row; CLI exit 2."""

import json

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
