"""The keys stage on synthetic geometry/link Datasets of the pipeline's form."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from qsat.detection.detectors import DetectorConfig
from qsat.protocols.config import protocol_from_dict
from qsat.protocols.stage import compute_keys, pair_passes, run_stage

T0 = np.datetime64("2024-03-01T00:00:00", "ns")


def synthetic(n_pass=3, width=400, stations=("A", "B", "A"), sats=("S1", "S1", "S2"), offsets=(0, 100, 0),
              lengths=(400, 300, 200)):
    valid = np.zeros((n_pass, width), bool)
    time = np.full((n_pass, width), np.datetime64("NaT", "ns"), dtype="datetime64[ns]")
    elev = np.full((n_pass, width), np.nan)
    eta = np.full((n_pass, width), np.nan)
    bg = np.full((n_pass, width), np.nan)
    for i in range(n_pass):
        n = lengths[i]
        valid[i, :n] = True
        k = np.arange(n) + offsets[i]
        time[i, :n] = T0 + k * np.timedelta64(1, "s")
        x = np.linspace(-1, 1, n)
        elev[i, :n] = 10 + 70 * (1 - x**2)
        eta[i, :n] = 10 ** (-(25 + 8 * x**2) / 10)
        bg[i, :n] = 2e3
    dims = ("pass", "step")
    coords = {"pass": np.arange(n_pass), "step": np.arange(width),
              "satellite": ("pass", np.array(sats)), "station": ("pass", np.array(stations))}
    geometry = xr.Dataset({"valid": (dims, valid), "time_utc": (dims, time), "elevation_deg": (dims, elev)},
                          coords=coords, attrs={"step_s": 1.0})
    link = xr.Dataset({"transmittance": (dims, eta), "background_cps": (dims, bg)}, coords=coords)
    passes = pd.DataFrame({"pass_id": np.arange(n_pass), "satellite": list(sats), "station": list(stations),
                           "max_elevation_deg": np.nanmax(elev, axis=1), "duration_s": np.array(lengths, float)})
    return geometry, link, passes


def test_decoy_stage_adds_columns_and_dataset():
    geometry, link, passes = synthetic()
    cfg = protocol_from_dict({})
    out = compute_keys(geometry, link, passes, cfg, DetectorConfig(preset="si-spad"))
    table, ds = out["passes"], out["keys"]
    for col in ("sifted_bits", "qber", "secret_key_bits", "secret_key_bits_asymptotic", "entangled_pairs"):
        assert col in table
    assert np.all(table["secret_key_bits"] <= table["secret_key_bits_asymptotic"])
    assert np.all(table["secret_key_bits"] <= table["plob_bound_bits"])
    assert table["secret_key_bits"].iloc[0] > table["secret_key_bits"].iloc[2] > 0  # longer pass, more key
    for var in ("click_rate_cps", "sifted_rate_cps", "qber", "key_rate_asymptotic_bps"):
        assert ds[var].dims == ("pass", "step") and "units" in ds[var].attrs
    assert np.isnan(ds["qber"].values[2, 250])  # padding stays NaN
    # every per-step key rate at or below PLOB at the same (detected) transmittance
    from qsat.protocols.bounds import plob_bits_per_use

    ok = np.isfinite(ds["key_rate_asymptotic_bps"].values)
    plob_rate = cfg.rep_rate_hz * plob_bits_per_use(ds["transmittance_detected"].values[ok])
    assert np.all(ds["key_rate_asymptotic_bps"].values[ok] <= plob_rate)
    # per-step asymptotic key summed over the pass ≈ the asymptotic pass key (same bounds, no fluctuations)
    s = float(np.nansum(ds["key_rate_asymptotic_bps"].values[0]))
    assert s == pytest.approx(float(table["secret_key_bits_asymptotic"].iloc[0]), rel=0.02)


def test_excess_loss_and_mask_reduce_key():
    geometry, link, passes = synthetic()
    base = compute_keys(geometry, link, passes, protocol_from_dict({}))["passes"]["secret_key_bits"]
    lossy = compute_keys(geometry, link, passes, protocol_from_dict({"excess_loss_db": 3}))["passes"]["secret_key_bits"]
    masked = compute_keys(geometry, link, passes, protocol_from_dict({"elevation_mask_deg": 40}))["passes"]["secret_key_bits"]
    assert np.all(lossy <= base) and np.all(masked <= base) and lossy.iloc[0] < base.iloc[0]


def test_bbm92_dual_downlink_pairs_by_time():
    geometry, link, passes = synthetic()
    assert pair_passes(passes, geometry) == [(0, 1)]
    cfg = protocol_from_dict({"protocol": "bbm92", "pair_rate_hz": 5.9e7})
    out = compute_keys(geometry, link, passes, cfg, DetectorConfig(preset="si-spad"))
    ent = out["entanglement"]
    assert len(ent) == 1 and ent["overlap_s"].iloc[0] == 300.0
    row = ent.iloc[0]
    assert row["entangled_pairs"] > 0 and 0 < row["qber"] < 0.5 and row["chsh_s"] < 2 * np.sqrt(2)
    assert row["secret_key_bits"] <= row["secret_key_bits_asymptotic"]
    table = out["passes"]
    assert table["entangled_pairs"].iloc[0] == table["entangled_pairs"].iloc[1] > 0
    assert table["entangled_pairs"].iloc[2] == 0


def test_run_stage_with_run_object():
    geometry, link, passes = synthetic()
    warnings = []
    run = SimpleNamespace(products={"geometry": geometry, "link": link, "passes": passes}, backend="numpy",
                          scenario=SimpleNamespace(protocol=protocol_from_dict({"optimize": True}), detector=None,
                                                   seed=3), warn=warnings.append)
    run_stage(run)
    assert "keys" in run.products and "mu1" in run.products["passes"]
    assert np.all(run.products["passes"]["secret_key_bits"] > 0)


SCENARIO = """
name = "micius-keys"
[time]
start = "2016-12-19T16:30:00Z"
duration = "40 min"
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
[link.receiver]
aperture = "1 m"
field_of_view = "100 urad"
[detector]
preset = "si-spad"
[protocol]
mean_photon_numbers = [0.8, 0.1, 0.0]
intensity_probabilities = [0.5, 0.25, 0.25]
basis_probability_x = 0.5
"""


def test_qsat_keys_scenario_mode(tmp_path):
    from qsat.cli import main

    path = tmp_path / "s.toml"
    path.write_text(SCENARIO)
    out = tmp_path / "keys.csv"
    assert main(["keys", str(path), "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert len(table) == 1 and table["secret_key_bits"].iloc[0] > 0
    assert table["sifted_bits"].iloc[0] > table["secret_key_bits_asymptotic"].iloc[0] >= table["secret_key_bits"].iloc[0]


def test_scenario_protocol_errors_name_field(tmp_path):
    from qsat.errors import QsatInputError
    from qsat.scenario import loads

    with pytest.raises(QsatInputError, match="protocol.intensity_probabilities"):
        loads(SCENARIO.replace("[0.5, 0.25, 0.25]", "[0.5, 0.25, 0.5]"))
    with pytest.raises(QsatInputError, match="detector"):
        loads(SCENARIO.replace('preset = "si-spad"', 'preset = "photomultiplier"'))
