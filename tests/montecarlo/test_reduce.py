"""Keys from sampled counts and the statistics over trials."""

import numpy as np
import pytest

from qsat.detection.detectors import DetectorConfig
from qsat.montecarlo.reduce import QUANTILES, pass_results, statistics
from qsat.montecarlo.sampler import PASS_COLUMNS, sample_trials
from qsat.protocols.config import protocol_from_dict
from qsat.protocols.stage import compute_keys
from tests.montecarlo.conftest import make_inputs, synthetic


@pytest.mark.parametrize("protocol", [{}, {"optimize": True},
                                      {"protocol": "bbm92", "dual_downlink": False, "pair_rate_hz": 5e7}])
def test_nothing_sampled_reproduces_the_keys_stage(protocol):
    """With every fade at its mean and expected counts, a trial is the keys stage's planning result —
    with the source optimised per pass too (the same optimum, from the same seed)."""
    inputs = make_inputs(protocol, {"sample": []}, seed=11)
    out = sample_trials(inputs.steps, inputs.passes, inputs.params, 2, 0, 0, 1)
    res = pass_results(out, inputs.protocol, inputs.key_settings, inputs.passes)
    geometry, link, passes = synthetic()
    table = compute_keys(geometry, link, passes, protocol_from_dict(protocol),
                         DetectorConfig(preset="si-spad"), seed=11)["passes"]
    if protocol.get("optimize"):
        assert "mu1" in table  # the stage's chosen source, per pass, is the Monte Carlo's
        for name in ("mu1", "mu2", "p_mu1", "p_mu2", "basis_probability_x"):
            column = {"p_mu1": "p1", "p_mu2": "p2"}.get(name, name)
            np.testing.assert_array_equal(inputs.passes[:, PASS_COLUMNS.index(column)], table[name].to_numpy())
        assert np.ptp(table["mu1"].to_numpy()) > 0  # passes do get different sources
    # same model; sums over steps in another order: the key may differ by the floor of ~1e-9 relative
    np.testing.assert_allclose(res["secret_key_bits"][0], table["secret_key_bits"].to_numpy(), rtol=1e-8, atol=1)
    np.testing.assert_array_equal(res["secret_key_bits"][0], res["secret_key_bits"][1])
    if protocol:
        np.testing.assert_allclose(res["entangled_pairs"][0], table["entangled_pairs"].to_numpy(), rtol=1e-9)
    assert np.all(table["secret_key_bits"] > 0)


def test_dual_downlink_rows_reproduce_the_keys_stage_entanglement():
    """BBM92 with both photons downlinked: one row per pair of passes seen at once, as the keys stage pairs them."""
    protocol = {"protocol": "bbm92", "dual_downlink": True, "pair_rate_hz": 2e7}
    inputs = make_inputs(protocol, {"sample": []})
    assert inputs.steps_b is not None and inputs.n_passes == 2
    assert list(inputs.row_coords["pass_a"][1]) == [100, 102] and list(inputs.row_coords["pass_b"][1]) == [101, 103]
    assert list(inputs.station) == ["A+B", "A+B"]
    out = sample_trials(inputs.steps, inputs.passes, inputs.params, 1, 0, 0, 1, steps_b=inputs.steps_b)
    res = pass_results(out, inputs.protocol, inputs.key_settings, inputs.passes)
    geometry, link, passes = synthetic()
    ent = compute_keys(geometry, link, passes, protocol_from_dict(protocol),
                       DetectorConfig(preset="si-spad"))["entanglement"]
    np.testing.assert_allclose(res["entangled_pairs"][0], ent["entangled_pairs"].to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(res["sifted_bits"][0], ent["sifted_bits"].to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(res["secret_key_bits"][0], ent["secret_key_bits"].to_numpy(), rtol=1e-8, atol=1)
    assert np.all(ent["secret_key_bits"] > 0)
    # sampled: fades of both downlinks and the counts scatter the pairs around the planning value
    sampled = make_inputs(protocol, {"sample": ["turbulence", "pointing", "counts"],
                                     "turbulence_coherence_time": "0.5 s"})
    pairs = pass_results(sample_trials(sampled.steps, sampled.passes, sampled.params, 300, 0, 0, 5,
                                       steps_b=sampled.steps_b), "bbm92", sampled.key_settings,
                          sampled.passes)["entangled_pairs"]
    assert np.all(np.abs(np.mean(pairs, axis=0) / ent["entangled_pairs"].to_numpy() - 1) < 0.05)
    assert np.all(np.std(pairs, axis=0) > np.sqrt(ent["entangled_pairs"].to_numpy()))  # fades add to Poisson


def test_sampled_keys_scatter_around_the_planning_key():
    inputs = make_inputs({}, {"sample": ["counts", "turbulence", "pointing"], "turbulence_coherence_time": "0.5 s"})
    res = pass_results(sample_trials(inputs.steps, inputs.passes, inputs.params, 200, 0, 0, 3), inputs.protocol,
                       inputs.key_settings, inputs.passes)
    plan = pass_results(_expected(inputs), inputs.protocol, inputs.key_settings, inputs.passes)["secret_key_bits"][0]
    key = res["secret_key_bits"]
    assert np.all(np.isfinite(key)) and np.all(key >= 0)
    assert np.all(np.abs(np.median(key, axis=0) - plan) < 0.1 * plan)
    assert np.all(np.std(key, axis=0) > 0)


def _expected(inputs):
    from qsat.montecarlo.sampler import PARAMS

    prm = inputs.params.copy()
    prm[PARAMS.index("flags")] = 0
    return sample_trials(inputs.steps, inputs.passes, prm, 1, 0, 0, 3)


def test_statistics_are_order_statistics_and_histograms_count_every_trial(monkeypatch):
    rng = np.random.default_rng(2)
    n_trials, n_pass = 101, 3
    key = rng.integers(0, 1000, (n_trials, n_pass)).astype(float)
    samples = {"secret_key_bits": key, "sifted_bits": key * 10, "qber": rng.uniform(0, 0.1, key.shape),
               "mean_transmittance": rng.uniform(0, 1e-3, key.shape), "clear": (key > 300).astype(float),
               "entangled_pairs": key * 3, "errors": key}
    ds = statistics(samples, [5, 6, 7], ["A", "B", "A"], ["S", "S", "S"], "bbm92", bins=7,
                    month=["2024-03", "2024-03", "2024-04"])
    np.testing.assert_array_equal(ds["pass_secret_key_bits_quantile"].values, np.quantile(key, QUANTILES, axis=0))
    np.testing.assert_array_equal(ds["pass_secret_key_bits_mean"].values, key.mean(axis=0))
    assert np.all(ds["pass_secret_key_bits_histogram"].sum("bin").values == n_trials)
    edges = ds["pass_secret_key_bits_bin_edges"].values
    np.testing.assert_array_equal(ds["pass_secret_key_bits_histogram"].values[1],
                                  np.histogram(key[:, 1], bins=edges)[0])
    budget = key.sum(axis=1)
    assert float(ds["budget_secret_key_bits_mean"]) == pytest.approx(budget.mean())
    a = ds["station_budget_secret_key_bits_quantile"].sel(station_name="A").values
    np.testing.assert_array_equal(a, np.quantile(key[:, 0] + key[:, 2], QUANTILES))
    assert "pass_entangled_pairs_histogram" in ds and "budget_entangled_pairs_quantile" in ds
    np.testing.assert_array_equal(ds["pass_clear_fraction"].values, (key > 300).mean(axis=0))
    march, april = key[:, 0] + key[:, 1], key[:, 2]
    assert list(ds["month"].values) == ["2024-03", "2024-04"]
    np.testing.assert_array_equal(ds["month_budget_secret_key_bits_quantile"].sel(month="2024-04").values,
                                  np.quantile(april, QUANTILES))
    np.testing.assert_array_equal(ds["worst_month_budget_secret_key_bits_quantile"].values,
                                  np.quantile(np.minimum(march, april), QUANTILES))
    assert list(ds["pass"].values) == [5, 6, 7] and ds["pass_secret_key_bits_mean"].attrs["units"] == "bit"
    # reading one pass at a time (as from a large store) gives the same Dataset
    import qsat.montecarlo.reduce as reduce

    monkeypatch.setattr(reduce, "_BLOCK_BYTES", 8 * n_trials)
    blockwise = statistics(lambda name, a, b: samples[name][:, a:b], [5, 6, 7], ["A", "B", "A"], ["S", "S", "S"],
                           "bbm92", bins=7, month=["2024-03", "2024-03", "2024-04"])
    assert blockwise.identical(ds)


def test_clear_sky_from_the_shipped_climatology_or_a_warning():
    import pandas as pd

    from qsat.montecarlo.config import MonteCarloConfig
    from qsat.montecarlo.inputs import clear_sky_probabilities
    from qsat.network.weather import load_climatology

    table = pd.DataFrame({"station": ["Xinglong", "Xinglong"],
                          "rise_utc": pd.to_datetime(["2016-12-19T14:00:00Z", "2017-06-01T14:00:00Z"])})
    p = clear_sky_probabilities(table, MonteCarloConfig())
    expected = load_climatology()["XINGLONG"]
    np.testing.assert_array_equal(p, [expected[11], expected[5]])
    unknown = table.assign(station=["Nowhere", "Xinglong"])
    warned = []
    p = clear_sky_probabilities(unknown, MonteCarloConfig(), warn=warned.append)
    assert p[0] == 1.0 and p[1] == expected[5] and "Nowhere" in warned[0]
    assert clear_sky_probabilities(unknown, MonteCarloConfig(sample=["counts"]), warn=warned.append).tolist() == [1, 1]
    with pytest.raises(Exception, match="clear_sky_probability"):
        clear_sky_probabilities(table, MonteCarloConfig(clear_sky_probability={"Graz": 0.5}))
