"""Synthetic passes of the pipeline's form, and a small scenario file, for the Monte Carlo tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from qsat.detection.detectors import DetectorConfig
from qsat.montecarlo.config import MonteCarloConfig
from qsat.montecarlo.inputs import build_inputs
from qsat.protocols.config import protocol_from_dict

T0 = np.datetime64("2024-03-01T00:00:00", "ns")

SCENARIO = """
name = "mc-test"
seed = 7
[time]
start = "2016-12-19T12:00:00Z"
duration = "2 d"
step = "1 s"
[[satellites]]
name = "Micius"
[[ground_stations]]
name = "Xinglong"
[constraints]
elevation_mask_deg = 10
[link]
wavelength = "850 nm"
[link.transmitter]
divergence = "10 urad"
aperture = "30 cm"
pointing_jitter = "1 urad"
[link.receiver]
field_of_view = "100 urad"
[protocol]
[montecarlo]
trials = 64
trial_chunk = 16
clear_sky_probability = 0.7
"""


def synthetic(n_pass=4, width=120, lengths=(120, 90, 60, 100), stations=("A", "B", "A", "B"),
              offsets=(0, 30, 5000, 5010)):
    """geometry, link (with the fading-sampler inputs) and passes of ``n_pass`` passes.

    One satellite; passes 0 (A) and 1 (B) overlap for 90 s, 2 (A) and 3 (B) for 50 s.
    """
    valid = np.zeros((n_pass, width), bool)
    time = np.full((n_pass, width), np.datetime64("NaT", "ns"), dtype="datetime64[ns]")
    elev = np.full((n_pass, width), np.nan)
    cols = {k: np.full((n_pass, width), np.nan) for k in
            ("transmittance", "fade_t_static", "fade_w_eq_m", "fade_sigma_x_m", "fade_sigma_y_m", "fade_bias_m",
             "fade_sigma_ln2", "background_cps", "scintillation_index")}
    for i in range(n_pass):
        n = lengths[i]
        valid[i, :n] = True
        time[i, :n] = T0 + (np.arange(n) + offsets[i]) * np.timedelta64(1, "s")
        x = np.linspace(-1, 1, n)
        elev[i, :n] = 12 + 70 * (1 - x**2)
        w_eq, sx, bias = 20.0 + 10 * x**2, 6.0 + 2 * x**2, 2.0
        mean_point = np.exp(-2 * bias**2 / (w_eq**2 + 4 * sx**2)) / (1 + 4 * sx**2 / w_eq**2)
        t_static = 10 ** (-(22 + 8 * x**2) / 10)
        cols["fade_t_static"][i, :n] = t_static
        cols["transmittance"][i, :n] = t_static * mean_point
        cols["fade_w_eq_m"][i, :n] = w_eq
        cols["fade_sigma_x_m"][i, :n] = sx
        cols["fade_sigma_y_m"][i, :n] = sx
        cols["fade_bias_m"][i, :n] = bias
        cols["scintillation_index"][i, :n] = 0.2 + 0.1 * x**2
        cols["fade_sigma_ln2"][i, :n] = np.log1p(cols["scintillation_index"][i, :n])
        cols["background_cps"][i, :n] = 3e3
    dims = ("pass", "step")
    sats = ["S1"] * n_pass
    coords = {"pass": np.arange(n_pass) + 100, "step": np.arange(width), "satellite": ("pass", np.array(sats)),
              "station": ("pass", np.array(stations[:n_pass]))}
    geometry = xr.Dataset({"valid": (dims, valid), "elevation_deg": (dims, elev), "time_utc": (dims, time)},
                          coords=coords,
                          attrs={"step_s": 1.0})
    link = xr.Dataset({k: (dims, v) for k, v in cols.items()}, coords=coords)
    culmination = [pd.Timestamp(T0, tz="UTC") + pd.Timedelta(seconds=offsets[i] + lengths[i] // 2)
                   for i in range(n_pass)]
    passes = pd.DataFrame({"pass_id": coords["pass"], "satellite": sats, "station": list(stations[:n_pass]),
                           "rise_utc": pd.to_datetime(["2024-03-01T00:00:00Z"] * n_pass),
                           "culmination_utc": pd.to_datetime(culmination, utc=True)})
    return geometry, link, passes


#: Stations of the synthetic passes (name, latitude, longitude): A and B 40 km apart, C far away.
STATIONS = [("A", 40.0, 116.0), ("B", 40.0, 116.47), ("C", 30.0, 80.0)]
#: Start of the synthetic scenario (weather windows count from it).
START = T0.astype("datetime64[s]").astype(object).replace(tzinfo=None)


def make_inputs(protocol=None, mc=None, network=None, seed=0, **kwargs):
    geometry, link, passes = synthetic(**kwargs)
    cfg = protocol_from_dict(protocol or {})
    mc = MonteCarloConfig.model_validate(mc or {"clear_sky_probability": {"A": 0.8, "B": 0.5},
                                                "turbulence_coherence_time": "0.5 s",
                                                "pointing_coherence_time": "2 s"})
    return build_inputs(geometry, link, passes, cfg, DetectorConfig(preset="si-spad"), mc, network,
                        stations=STATIONS, start=START, seed=seed)


@pytest.fixture
def inputs():
    return make_inputs()


@pytest.fixture
def scenario_file(tmp_path):
    path = tmp_path / "mc.toml"
    path.write_text(SCENARIO)
    return path
