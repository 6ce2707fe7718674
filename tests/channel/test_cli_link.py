"""``qsat link``: passes -> per-step channel, written as NetCDF with provenance."""

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from qsat.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "micius_xinglong.toml"

LINK = """
[link]
wavelength = "850 nm"
[link.transmitter]
aperture = "30 cm"
divergence = "10 urad"
pointing_jitter = "1 urad"
[link.receiver]
field_of_view = "100 urad"
[link.atmosphere]
site = "clear"
"""


@pytest.mark.skipif(not EXAMPLE.is_file(), reason="example scenario not present")
def test_qsat_link_writes_dataset(tmp_path, capsys):
    scenario = tmp_path / "s.toml"
    text = EXAMPLE.read_text()
    scenario.write_text(text if "\n[link]" in text else text + LINK)  # the example may carry this [link] already
    out = tmp_path / "link.nc"
    assert main(["link", str(scenario), "--out", str(out), "--backend", "numpy"]) == 0
    with xr.open_dataset(out) as ds:
        valid = ds["valid"].values
        assert valid.sum() > 100
        t = ds["transmittance"].values[valid]
        assert np.all((t > 0) & (t <= 1))
        assert ds["loss_total_db"].attrs["units"] == "dB" and ds["background_cps"].attrs["units"] == "photons/s"
        assert ds.attrs["scenario_sha256"] and ds.attrs["direction"] == "downlink"
        # the Xinglong catalog aperture (1 m) was used: at the pass's best elevation the diffraction
        # loss of a 10 urad beam is 10-20 dB
        assert 10 < float(np.nanmin(ds["loss_geometric_db"].values)) < 20


def test_qsat_link_without_section_is_an_input_error(tmp_path, capsys):
    scenario = tmp_path / "s.toml"
    scenario.write_text('[time]\nstart = "2024-03-01T00:00:00Z"\nduration = "1 h"\n'
                        '[[satellites]]\nname = "ISS"\n[[ground_stations]]\nname = "Graz"\n')
    assert main(["link", str(scenario), "--out", str(tmp_path / "x.nc")]) == 2
    assert "link: missing" in capsys.readouterr().err
