"""Correlated weather in the Monte Carlo: the copula of ``[network.weather]``, keyed like the budget stage."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
import zarr
from scipy import stats
from scipy.special import ndtri

from qsat.montecarlo.run import compute_chunk, run_montecarlo
from qsat.montecarlo.sampler import FLAG_CLEAR_GIVEN, OUT_CLEAR, OUT_SUM_ETA, sample_trials
from qsat.network.config import WeatherSpec
from qsat.network.weather import correlation_matrix, sample_clear
from tests.montecarlo.conftest import STATIONS, make_inputs
from tests.twin import assert_twin_close

SEED = 2**40 + 17
# clear-sky probability per month; the synthetic passes rise in March (index 2)
MONTHLY = {"A": [0.3, 0.3, 0.7, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3], "B": [0.55] * 12, "C": [0.9] * 12}
P_PASS = np.array([0.7, 0.55, 0.7, 0.55])  # passes 0, 2 at station A; 1, 3 at B
CORR = correlation_matrix([s[1] for s in STATIONS], [s[2] for s in STATIONS], 300e3)
#: per-(trial, pass) results that are sums of transcendental functions of the draws (the rest are
#: counts, flags and keys computed from the counts)
CONTINUOUS = {"mean_transmittance"}
MC = {"sample": ["weather", "counts"], "turbulence_coherence_time": "0.5 s", "pointing_coherence_time": "2 s"}


def _network(decorrelation_time="6 h"):
    return SimpleNamespace(weather=WeatherSpec(clear_sky=MONTHLY, correlation_length="300 km",
                                               decorrelation_time=decorrelation_time))


def _clear(inputs, trials, first_trial=0):
    res = compute_chunk(inputs.steps, inputs.passes, inputs.params, inputs.protocol, inputs.key_settings,
                        first_trial, first_trial + trials, 0, inputs.n_passes, SEED, weather=inputs.weather)
    return res["clear"]


def test_marginals_follow_the_climatology_and_match_the_budget_stage_draws():
    inputs = make_inputs(mc=MC, network=_network())
    assert inputs.weather is not None and int(inputs.param("flags")) & FLAG_CLEAR_GIVEN
    assert any("correlated" in n for n in inputs.notes)
    np.testing.assert_array_equal(inputs.passes[:, 0], P_PASS)  # the month of the rise picks the value
    trials = 4000
    clear = _clear(inputs, trials)
    # all four passes culminate within 6 h of the start: one weather window; stations A, B, A, B
    network = sample_clear(SEED, trials, [0, 1, 0, 1], [0, 0, 0, 0], P_PASS, CORR)
    np.testing.assert_array_equal(clear, network.astype(float))
    for j, p in enumerate(P_PASS):
        assert abs(clear[:, j].mean() - p) < 5 * math.sqrt(p * (1 - p) / trials)
    # a station's passes in one window share the outcome
    np.testing.assert_array_equal(clear[:, 0], clear[:, 2])
    np.testing.assert_array_equal(clear[:, 1], clear[:, 3])
    # two stations 40 km apart: P(both clear) of the Gaussian copula with rho = exp(-d / L)
    rho = CORR[0, 1]
    assert rho == pytest.approx(math.exp(-40e3 / 300e3), rel=0.02)
    both = stats.multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]]).cdf([ndtri(0.7), ndtri(0.55)])
    assert abs(np.mean(clear[:, 0] * clear[:, 1]) - both) < 5 * math.sqrt(both * (1 - both) / trials)
    assert both > 0.7 * 0.55 + 0.1  # clearly more than independent stations


def test_windows_decorrelate_a_station_and_trial_ranges_draw_the_same_outcomes():
    inputs = make_inputs(mc=MC, network=_network("1 h"))
    np.testing.assert_array_equal(inputs.weather.window[:, 0], [0, 0, 1, 1])
    trials = 4000
    clear = _clear(inputs, trials)
    np.testing.assert_array_equal(clear, sample_clear(SEED, trials, [0, 1, 0, 1], [0, 0, 1, 1], P_PASS, CORR))
    same = np.mean(clear[:, 0] * clear[:, 2])  # station A in two windows: independent
    assert abs(same - 0.49) < 5 * math.sqrt(0.49 * 0.51 / trials)
    np.testing.assert_array_equal(_clear(inputs, 100, first_trial=1234), clear[1234:1334])


def test_kernel_and_twin_read_the_given_outcomes():
    inputs = make_inputs(mc={**MC, "sample": ["weather", "turbulence", "pointing", "counts"]}, network=_network())
    clear = inputs.weather.flags(SEED, 10, 16, 0, 4, inputs.passes)
    args = (inputs.steps, inputs.passes, inputs.params, 16, 10, 0, SEED)
    from qsat.montecarlo.kernel import sample_trials_kernel

    twin = sample_trials(*args, clear=clear)
    host = sample_trials_kernel(*args, clear=clear, threads=2)
    np.testing.assert_array_equal(twin[..., OUT_CLEAR], clear[..., 0])
    np.testing.assert_array_equal(host[..., :12], twin[..., :12])
    np.testing.assert_array_equal(host[..., OUT_CLEAR], twin[..., OUT_CLEAR])
    overcast = clear[..., 0] == 0
    assert overcast.any() and (~overcast).any()
    assert np.all(host[..., OUT_SUM_ETA][overcast] == 0) and np.all(host[..., OUT_SUM_ETA][~overcast] > 0)


def test_same_result_for_any_chunking_workers_and_engine(tmp_path):
    """The reproducibility contract (docs/montecarlo.md): bit for bit within one engine whatever
    the chunking and worker count; host build vs NumPy twin, discrete outcomes identical and
    continuous values within the stated tolerance."""
    from distributed import Client, LocalCluster

    inputs = make_inputs(mc={**MC, "sample": ["weather", "turbulence", "pointing", "counts"]}, network=_network())
    kw = dict(trials=24, seed=SEED, identity={"scenario_sha256": "b" * 64, "scenario_name": "weather"}, bins=8)
    run_montecarlo(inputs, out=tmp_path / "one.zarr", trial_chunk=24, pass_chunk=4, engine="kernel", **kw)
    run_montecarlo(inputs, out=tmp_path / "twin.zarr", trial_chunk=5, pass_chunk=3, engine="twin", **kw)
    run_montecarlo(inputs, out=tmp_path / "twin2.zarr", trial_chunk=24, pass_chunk=1, engine="twin", **kw)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0",
                      host="127.0.0.1") as cluster, Client(cluster) as client:
        run_montecarlo(inputs, out=tmp_path / "two.zarr", trial_chunk=7, pass_chunk=1, client=client,
                       engine="kernel", **kw)
    one, twin, twin2, two = (zarr.open_group(str(tmp_path / f"{n}.zarr"), mode="r")["samples"]
                             for n in ("one", "twin", "twin2", "two"))
    for name in one.array_keys():
        kernel = np.asarray(one[name])
        np.testing.assert_array_equal(kernel, np.asarray(two[name]), err_msg=name)  # same engine
        np.testing.assert_array_equal(np.asarray(twin[name]), np.asarray(twin2[name]), err_msg=name)
        if name in CONTINUOUS:
            assert_twin_close(kernel, np.asarray(twin[name]), what=name)
        else:  # counts and what follows from them by the same NumPy code
            np.testing.assert_array_equal(kernel, np.asarray(twin[name]), err_msg=name)
    assert CONTINUOUS <= set(one.array_keys())
    clear = np.asarray(one["clear"])
    np.testing.assert_array_equal(clear, sample_clear(SEED, 24, [0, 1, 0, 1], [0, 0, 0, 0], P_PASS, CORR))


def test_without_the_stations_the_weather_stays_independent_with_a_warning():
    from qsat.detection.detectors import DetectorConfig
    from qsat.montecarlo.config import MonteCarloConfig
    from qsat.montecarlo.inputs import build_inputs
    from qsat.protocols.config import protocol_from_dict
    from tests.montecarlo.conftest import synthetic

    warnings = []
    inputs = build_inputs(*synthetic(), protocol_from_dict({}), DetectorConfig(), MonteCarloConfig.model_validate(MC),
                          _network(), warn=warnings.append)
    assert inputs.weather is None and not int(inputs.param("flags")) & FLAG_CLEAR_GIVEN
    assert any("independently" in w for w in warnings)


def test_dual_downlink_pairs_take_both_stations_outcomes():
    inputs = make_inputs({"protocol": "bbm92", "dual_downlink": True}, mc=MC, network=_network())
    np.testing.assert_array_equal(inputs.weather.station, [[0, 1], [0, 1]])  # pairs (0, 1) and (2, 3)
    trials = 500
    clear = _clear(inputs, trials)
    network = sample_clear(SEED, trials, [0, 1, 0, 1], [0, 0, 0, 0], P_PASS, CORR)
    np.testing.assert_array_equal(clear, (network[:, [0, 2]] & network[:, [1, 3]]).astype(float))
