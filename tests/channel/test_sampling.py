"""The fading sampler: twin vs host-built kernel (same Philox counters), and its statistics."""

import math

import numpy as np
import pytest
from scipy import stats

from qsat.backend import gpu_available
from qsat.channel.budget import channel_step
from qsat.channel.sampling import (_gamma_unit_mean, fade_inputs, sample_transmittance, sample_transmittance_host)
from qsat.errors import QsatInputError
from tests.twin import assert_twin_close

SEED = 2**64 - 12345  # exercises the high key word


def _fade(params):
    el = np.radians([80.0, 40.0, 15.0, 5.0, 2.0, 30.0])
    d = np.array([520e3, 750e3, 1400e3, 2000e3, 2300e3, 1000e3])
    valid = np.array([1, 1, 1, 1, 1, 0], dtype=np.uint8)
    return fade_inputs(channel_step(el, d, np.full(6, -1.0), np.full(6, -1.0), valid, params))


def _synthetic(n_steps=1, t_static=1.0, w_eq=1.0, sx=0.0, sy=0.0, bias=0.0, s_ln2=0.0, inv_a=0.0, inv_b=0.0, rytov=0.5):
    return np.tile([t_static, w_eq, sx, sy, bias, s_ln2, inv_a, inv_b, rytov], (n_steps, 1)).astype(float)


@pytest.mark.parametrize("model", ["auto", "lognormal", "gamma_gamma", "none"])
@pytest.mark.parametrize("which", ["downlink_params", "uplink_params"])
def test_twin_and_host_kernel_agree_sample_for_sample(model, which, request):
    fade = _fade(request.getfixturevalue(which))
    twin = sample_transmittance(fade, 3000, SEED, stream=7, model=model)
    host = sample_transmittance_host(fade, 3000, SEED, stream=7, model=model)
    assert np.array_equal(np.isnan(twin), np.isnan(host)) and np.all(np.isnan(twin[5]))
    ok = np.isfinite(twin)
    assert np.max(np.abs(twin[ok] - host[ok]) / host[ok]) < 1e-12
    assert np.all((twin[ok] >= 0) & (twin[ok] <= 1))


def test_draws_do_not_depend_on_chunking(downlink_params):
    fade = _fade(downlink_params)
    whole = sample_transmittance(fade, 500, SEED, stream=1)
    part = sample_transmittance(fade[2:4], 500, SEED, stream=1, first_step=2)
    assert np.array_equal(whole[2:4], part)  # one engine: bit for bit
    host_whole = sample_transmittance_host(fade, 500, SEED, stream=1)
    host_part = sample_transmittance_host(fade[2:4], 500, SEED, stream=1, first_step=2)
    assert np.array_equal(host_whole[2:4], host_part)
    assert_twin_close(part, host_part, what="host build vs twin")  # across engines: the contract's tolerance
    other = sample_transmittance(fade, 500, SEED, stream=2)
    assert not np.allclose(whole[:5], other[:5])


def test_mean_matches_budget(downlink_params):
    fade = _fade(downlink_params)[:5]
    samples = sample_transmittance(fade, 40_000, SEED)
    expected = fade[:, 0] * np.array([float(v) for v in _pointing_means(fade)])
    se = samples.std(axis=1) / math.sqrt(samples.shape[1])
    assert np.all(np.abs(samples.mean(axis=1) - expected) < 5 * se)


def _pointing_means(fade):
    from qsat.channel.pointing import mean_pointing_factor

    return [mean_pointing_factor(np.array(f[1]), f[2], f[3], f[4]) for f in fade]


def test_pointing_fade_follows_farid_hranilovic(rng):
    # zero bias, isotropic jitter: F(h) = h^(gamma^2), gamma = w_eq / (2 sigma) (F&H eq. (11), A0 = 1)
    w_eq, sigma = 1.0, 0.4
    h = sample_transmittance(_synthetic(sx=sigma, sy=sigma, w_eq=w_eq), 40_000, 11, model="none")[0]
    gamma2 = (w_eq / (2 * sigma)) ** 2
    assert stats.kstest(h, lambda x: np.clip(x, 0, 1) ** gamma2).pvalue > 1e-3


def test_lognormal_scintillation_statistics():
    s = 0.25
    i = sample_transmittance(_synthetic(t_static=1e-3, s_ln2=s), 40_000, 5, model="lognormal")[0] / 1e-3
    assert i.mean() == pytest.approx(1.0, abs=5 * math.sqrt(math.expm1(s) / i.size))
    assert i.var() == pytest.approx(math.expm1(s), rel=0.08)
    assert stats.kstest(np.log(i), stats.norm(-s / 2, math.sqrt(s)).cdf).pvalue > 1e-3


@pytest.mark.parametrize("shape", [0.4, 2.5, 12.0])
def test_gamma_variates(shape):
    index = np.arange(30_000, dtype=np.uint64)
    g = _gamma_unit_mean(np.full(index.size, shape), index, 3, 0x47310000, 99, np)
    assert stats.kstest(g, stats.gamma(shape, scale=1 / shape).cdf).pvalue > 1e-3


def test_gamma_gamma_moments():
    inv_a, inv_b = 0.3, 0.8
    i = sample_transmittance(_synthetic(t_static=1e-3, inv_a=inv_a, inv_b=inv_b, rytov=3.0), 60_000, 8,
                             model="gamma_gamma")[0] / 1e-3
    var = (1 + inv_a) * (1 + inv_b) - 1
    assert i.mean() == pytest.approx(1.0, abs=5 * math.sqrt(var / i.size))
    assert i.var() == pytest.approx(var, rel=0.15)  # heavy tail: the variance estimator converges slowly


def test_bad_arguments():
    with pytest.raises(QsatInputError, match="model"):
        sample_transmittance(_synthetic(), 10, 1, model="rayleigh")
    with pytest.raises(QsatInputError, match="n_samples"):
        sample_transmittance(_synthetic(), 0, 1)
    with pytest.raises(QsatInputError, match="seed"):
        sample_transmittance(_synthetic(), 10, -1)


@pytest.mark.gpu
@pytest.mark.skipif(not gpu_available(), reason="needs a usable CUDA device")
@pytest.mark.parametrize("model", ["auto", "gamma_gamma"])
def test_gpu_sampler_agrees_with_twin(model, downlink_params):
    import cupy as cp

    from qsat.channel.device import sample_gpu

    fade = _fade(downlink_params)
    twin = sample_transmittance(fade, 4000, SEED, stream=7, model=model)
    got = cp.asnumpy(sample_gpu(cp.asarray(fade), 4000, SEED, stream=7, model=model))
    ok = np.isfinite(twin)
    assert np.array_equal(np.isnan(twin), np.isnan(got))
    # libdevice log/exp/cos differ from glibc by a few ulp; a rejection step may flip in rare cases
    close = np.abs(got[ok] - twin[ok]) <= 1e-10 * twin[ok]
    assert close.mean() > 0.9999


def test_sampling_from_the_stage_product():
    from qsat.channel.stage import compute_link
    from tests.channel.conftest import make_config
    from tests.channel.test_config_stage import synthetic_geometry

    ds = compute_link(synthetic_geometry(), make_config())
    fade = fade_inputs(ds)
    assert fade.shape == (ds.sizes["pass"] * ds.sizes["step"], 9)
    samples = sample_transmittance(fade, 4000, 3).reshape(ds.sizes["pass"], ds.sizes["step"], -1)
    valid = ds["valid"].values
    assert np.all(np.isnan(samples[~valid]))
    mean = samples[valid].mean(axis=-1)
    t = ds["transmittance"].values[valid]
    se = samples[valid].std(axis=-1) / math.sqrt(samples.shape[-1])
    assert np.all(np.abs(mean - t) < 5 * se + 1e-15)
