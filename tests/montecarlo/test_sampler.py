"""The fused Monte Carlo kernel against its NumPy twin, and the twin against analytic laws."""

import math
import re

import numpy as np
import pytest
from scipy import stats

from qsat._paths import kernels_dir
from qsat.backend import gpu_available
from qsat.montecarlo.kernel import sample_trials_kernel
from qsat.montecarlo.sampler import (FLAG_CLEAR_GIVEN, FLAG_ELLIPTIC, FLAGS, N_OUT, OUT_CLEAR, OUT_N_USED,
                                     OUT_SUM_ETA, PARAMS, PASS_COLUMNS, ROW_SUMS, STEP_COLUMNS, STEP_CONSTANTS,
                                     TAG_COUNTS, TAG_ORIENT, TAG_PAIR_COUNTS, TAG_STEP, TAG_WEATHER, sample_trials,
                                     step_mean_statistics)
from tests.montecarlo.conftest import make_inputs

# Same counters, same operations in the same order: the counts (integers) must be identical and the
# realised transmittance sums agree to libm-vs-NumPy rounding of exp/log/cos (a few ulp per step).
RTOL_SUM = 1e-12
# Statistical tests: reject only below this p-value (a false failure 1 run in 10^4).
P_MIN = 1e-4


#: A decoy-BB84 source: mean photon numbers, their probabilities, X-basis probability.
SOURCE = [0.8, 0.15, 0.0, 0.7, 0.2, 0.1, 0.75]


def _params(**over):
    base = dict(mode=0, flags=0, rho_t=0.0, v_t=1.0, rho_p=0.0, v_p=1.0, afterpulse_probability=1e-3, intrinsic_qber=0.01,
                pair_rate_hz=2e7, coincidence_window_s=1e-9, source_qber=0.01, eta_b=0.5, noise_b_cps=2e3,
                sift_fraction=0.5)
    base.update(over)
    return np.array([float(base[k]) for k in PARAMS])


def _one_step(n_pass=1, **cols):
    """Passes of one step each; columns by name."""
    steps = np.zeros((n_pass, 1, len(STEP_COLUMNS)))
    defaults = dict(eta_static=1e-3, pointing_mean=1.0, w_eq_m=10.0, sigma_x_m=0.0, sigma_y_m=0.0, bias_m=0.0,
                    sigma_ln2=0.0, noise=0.0, weight=1e8)
    defaults.update(cols)
    for k, v in defaults.items():
        steps[:, 0, STEP_COLUMNS.index(k)] = v
    return steps, _rows(np.ones(n_pass), np.ones(n_pass))


def _rows(p_clear, n_steps):
    """Per-row inputs of single passes 0, 1, ... (PASS_COLUMNS)."""
    n = len(p_clear)
    rows = np.zeros((n, len(PASS_COLUMNS)))
    rows[:, :7] = np.stack([p_clear, n_steps, np.arange(n, dtype=float), np.zeros(n), np.zeros(n), np.zeros(n),
                            np.ones(n)], axis=-1)
    rows[:, PASS_COLUMNS.index("mu1"):] = SOURCE  # the decoy source of every pass
    return rows


def test_layout_matches_header():
    header = (kernels_dir() / "montecarlo.cuh").read_text()
    defined = {k: int(v) for k, v in re.findall(r"#define QMC_(\w+) (\d+)\s", header)}
    assert defined["N_STEP_COLS"] == len(STEP_COLUMNS) and defined["N_PASS_COLS"] == len(PASS_COLUMNS)
    assert [defined[k] for k in ("P_CLEAR", "N_STEPS", "PASS_A", "OFFSET_A", "PASS_B", "OFFSET_B", "P_CLEAR_B")] == [
        PASS_COLUMNS.index(k) for k in ("clear_sky_probability", "n_steps", "pass_a", "offset_a", "pass_b",
                                         "offset_b", "clear_sky_probability_b")]
    assert defined["N_PARAMS"] == len(PARAMS) and defined["N_OUT"] == N_OUT
    assert (defined["OUT_SUM_ETA"], defined["OUT_N_USED"], defined["OUT_CLEAR"]) == (OUT_SUM_ETA, OUT_N_USED, OUT_CLEAR)
    assert defined["N_CONSTS"] == len(STEP_CONSTANTS)
    assert [defined[f"C_{c.upper()}"] for c in STEP_CONSTANTS] == list(range(len(STEP_CONSTANTS)))
    assert [defined[k] for k in ("MODE", "FLAGS", "RHO_T", "V_P", "P_AP", "E_INT", "PAIR_RATE", "WINDOW", "E_SRC",
                                 "ETA_B", "NOISE_B", "SIFT")] == [
        PARAMS.index(k) for k in ("mode", "flags", "rho_t", "v_p", "afterpulse_probability", "intrinsic_qber",
                                  "pair_rate_hz", "coincidence_window_s", "source_qber", "eta_b", "noise_b_cps",
                                  "sift_fraction")]
    assert [defined[k] for k in ("MU", "PROB", "PX", "APERTURE", "OBSCURATION")] == [
        PASS_COLUMNS.index(k) for k in ("mu1", "p1", "basis_probability_x", "aperture_radius_m", "obscuration_ratio")]
    assert [defined[f] for f in ("F_WEATHER", "F_TURB", "F_POINT", "F_COUNTS")] == [
        FLAGS[k] for k in ("weather", "turbulence", "pointing", "counts")]
    assert defined["F_CLEAR_GIVEN"] == FLAG_CLEAR_GIVEN and defined["F_ELLIPTIC"] == FLAG_ELLIPTIC
    assert defined["N_SUMS"] == len(ROW_SUMS) and [defined["S_R0"], defined["S_E0"]] == [0, 1] == [
        ROW_SUMS.index("r0"), ROW_SUMS.index("e0")]
    tags = {k: int(v, 16) for k, v in re.findall(r"#define QMC_(TAG_\w+) 0x([0-9A-Fa-f]+)u", header)}
    assert tags == {"TAG_STEP": TAG_STEP, "TAG_WEATHER": TAG_WEATHER, "TAG_ORIENT": TAG_ORIENT,
                    "TAG_COUNTS": TAG_COUNTS, "TAG_PAIR_COUNTS": TAG_PAIR_COUNTS}


PROTOCOLS = {"decoy-bb84": {}, "bbm92": {"protocol": "bbm92", "dual_downlink": False},
             "bbm92-dual": {"protocol": "bbm92", "dual_downlink": True}}


@pytest.mark.parametrize("protocol", list(PROTOCOLS))
@pytest.mark.parametrize("sampled", [["weather", "turbulence", "pointing", "counts"], ["counts"], []])
def test_host_kernel_matches_twin(protocol, sampled):
    inputs = make_inputs(PROTOCOLS[protocol], {"sample": sampled, "clear_sky_probability": 0.6,
                                               "turbulence_coherence_time": "0.3 s", "pointing_coherence_time": "3 s"})
    rows = slice(1, None) if inputs.steps_b is None else slice(None)
    steps_b = None if inputs.steps_b is None else inputs.steps_b[rows]
    args = (inputs.steps[rows], inputs.passes[rows], inputs.params, 24, 1000, rows.start or 0, 2**64 - 12345)
    twin = sample_trials(*args, steps_b=steps_b)
    host = sample_trials_kernel(*args, steps_b=steps_b)
    assert twin.shape == host.shape == (24, 3 if inputs.steps_b is None else 2, N_OUT)
    counts = slice(0, 12)
    if "counts" in sampled:
        assert np.array_equal(twin[..., counts], host[..., counts])
    else:
        np.testing.assert_allclose(host[..., counts], twin[..., counts], rtol=RTOL_SUM, atol=0)
    np.testing.assert_allclose(host[..., OUT_SUM_ETA], twin[..., OUT_SUM_ETA], rtol=RTOL_SUM, atol=0)
    assert np.array_equal(host[..., OUT_N_USED], twin[..., OUT_N_USED])
    assert np.array_equal(host[..., OUT_CLEAR], twin[..., OUT_CLEAR])
    assert np.all(twin[..., :12] >= 0)


def test_chunks_draw_what_the_whole_run_draws(inputs):
    whole = sample_trials(inputs.steps, inputs.passes, inputs.params, 10, 0, 0, 99)
    parts = np.empty_like(whole)
    for t0, t1 in ((0, 3), (3, 10)):
        for p0, p1 in ((0, 1), (1, 4)):
            parts[t0:t1, p0:p1] = sample_trials(inputs.steps[p0:p1], inputs.passes[p0:p1], inputs.params,
                                                t1 - t0, t0, p0, 99)
    assert np.array_equal(whole, parts)
    other = sample_trials(inputs.steps, inputs.passes, inputs.params, 10, 0, 0, 100)
    assert not np.array_equal(whole[..., :12], other[..., :12])


def test_step_mean_statistics_against_a_simulated_ou_process():
    """v and rho of the step means against block means of a finely sampled OU (AR(1)) series."""
    rng = np.random.default_rng(5)
    tau, T, fine = 0.5, 1.0, 200  # 200 samples per step
    dt = T / fine
    a = math.exp(-dt / tau)
    n_steps, n_series = 40, 400
    x = np.empty((n_series, n_steps * fine))
    x[:, 0] = rng.standard_normal(n_series)
    z = rng.standard_normal(x.shape) * math.sqrt(1 - a * a)
    for i in range(1, x.shape[1]):
        x[:, i] = a * x[:, i - 1] + z[:, i]
    means = x.reshape(n_series, n_steps, fine).mean(axis=-1)
    rho, v = step_mean_statistics(T, tau)
    assert np.var(means) == pytest.approx(v, rel=0.05)  # 16000 block means: ~3% sampling error
    lag1 = np.mean(means[:, 1:] * means[:, :-1]) / np.var(means)
    assert lag1 == pytest.approx(rho, abs=0.03)
    # limits: instantaneous (x -> 0) and fully averaged (x -> inf)
    assert step_mean_statistics(1e-6, 1.0)[1] == pytest.approx(1.0, abs=1e-6)
    assert step_mean_statistics(1e-6, 1.0)[0] == pytest.approx(1 - 2e-6 / 3, abs=1e-11)  # series of rho
    assert step_mean_statistics(1e4, 1.0)[1] == pytest.approx(2e-4, rel=1e-3)


def test_rayleigh_pointing_fade_law():
    """No bias, isotropic jitter: exp(-2 r^2/w^2) = U^(4 s^2/w^2) with U uniform (Farid & Hranilovic eq. (11))."""
    w, s = 10.0, 4.0
    steps, passes = _one_step(eta_static=1.0, w_eq_m=w, sigma_x_m=s, sigma_y_m=s, weight=1.0)
    out = sample_trials(steps, passes, _params(flags=FLAGS["pointing"]), 20000, 0, 0, 11)
    fade = out[:, 0, OUT_SUM_ETA]
    assert stats.kstest(fade ** (w * w / (4 * s * s)), "uniform").pvalue > P_MIN
    assert np.mean(fade) == pytest.approx(1 / (1 + 4 * s * s / (w * w)), rel=0.02)


def test_rice_pointing_mean_and_step_averaging_keep_the_mean():
    """Biased (Rice/Hoyt) jitter, with and without step averaging: the mean fade is the closed form."""
    w, sx, sy, mu = 10.0, 3.0, 4.0, 2.5
    mean = math.exp(-2 * mu**2 / (w**2 + 4 * sx**2)) / math.sqrt((1 + 4 * sx**2 / w**2) * (1 + 4 * sy**2 / w**2))
    steps, passes = _one_step(eta_static=1.0, w_eq_m=w, sigma_x_m=sx, sigma_y_m=sy, bias_m=mu, weight=1.0)
    for v_p in (1.0, 0.3):
        fade = sample_trials(steps, passes, _params(flags=FLAGS["pointing"], v_p=v_p), 20000, 0, 0, 3)[:, 0, OUT_SUM_ETA]
        sem = np.std(fade) / math.sqrt(fade.size)
        assert abs(np.mean(fade) - mean) < 5 * sem
    assert np.std(fade) < 0.8 * np.std(sample_trials(steps, passes, _params(flags=FLAGS["pointing"]), 20000, 0, 0,
                                                     3)[:, 0, OUT_SUM_ETA])  # averaging narrows the spread


def test_lognormal_turbulence_law_and_ar1_correlation():
    s2, rho = 0.3, 0.6
    eta0 = 1e-3
    prm = _params(flags=FLAGS["turbulence"], rho_t=rho)
    steps = np.zeros((1, 2, len(STEP_COLUMNS)))
    steps[0, :, STEP_COLUMNS.index("eta_static")] = eta0
    steps[0, :, STEP_COLUMNS.index("pointing_mean")] = 1.0
    steps[0, :, STEP_COLUMNS.index("w_eq_m")] = 1.0
    steps[0, :, STEP_COLUMNS.index("sigma_ln2")] = s2
    passes = _rows(np.ones(1), np.array([2.0]))
    first, second = steps.copy(), steps.copy()
    w = STEP_COLUMNS.index("weight")
    first[0, 0, w], second[0, 1, w] = 1.0, 1.0  # the same draws, one step counted at a time
    n = 20000
    g0 = np.log(sample_trials(first, passes, prm, n, 0, 0, 21)[:, 0, OUT_SUM_ETA] / eta0)
    g1 = np.log(sample_trials(second, passes, prm, n, 0, 0, 21)[:, 0, OUT_SUM_ETA] / eta0)
    for g in (g0, g1):
        assert stats.kstest(g, stats.norm(-s2 / 2, math.sqrt(s2)).cdf).pvalue > P_MIN
    assert np.corrcoef(g0, g1)[0, 1] == pytest.approx(rho, abs=0.03)
    assert np.mean(np.exp(g1)) == pytest.approx(1.0, abs=4 * math.sqrt(math.expm1(s2) / n))  # unit mean


@pytest.mark.parametrize("eta", [2e-9, 4e-7, 1e-4])
def test_counts_are_poisson_of_the_expected_counts(eta):
    steps, passes = _one_step(eta_static=eta, noise=1e-7)
    expected = sample_trials(steps, passes, _params(flags=0), 1, 0, 0, 1)[0, 0, :12]
    out = sample_trials(steps, passes, _params(flags=FLAGS["counts"]), 6000, 0, 0, 8)[:, 0, :12]
    for j in (0, 1, 3, 6):  # inversion and PTRS regimes
        lam, x = expected[j], out[:, j]
        assert np.all(x == np.floor(x)) and np.all(x >= 0)
        assert abs(np.mean(x) - lam) < 5 * math.sqrt(lam / x.size)
        assert np.var(x) == pytest.approx(lam, rel=0.12)
        values = np.arange(x.min(), x.max() + 1)
        ecdf = np.searchsorted(np.sort(x), values, side="right") / x.size
        assert np.max(np.abs(ecdf - stats.poisson.cdf(values, lam))) < 1.95 / math.sqrt(x.size)  # KS 0.1 %
    # errors are a thinning of clicks: independent of the correct clicks
    ok = out[:, 0] - out[:, 6]
    assert abs(np.corrcoef(ok, out[:, 6])[0, 1]) < 5 / math.sqrt(out.shape[0])


def test_weather_clear_fraction():
    steps, passes = _one_step(n_pass=3)
    passes[:, 0] = [0.2, 0.5, 0.9]
    clear = sample_trials(steps, passes, _params(flags=FLAGS["weather"]), 8000, 0, 0, 4)[..., OUT_CLEAR]
    for j, p in enumerate(passes[:, 0]):
        assert abs(clear[:, j].mean() - p) < 5 * math.sqrt(p * (1 - p) / 8000)
    both = clear[:, 0] * clear[:, 1]  # independent passes
    assert abs(both.mean() - 0.1) < 5 * math.sqrt(0.09 / 8000)


@pytest.mark.gpu
def test_gpu_kernel_matches_host_build(inputs):
    import cupy

    args = (inputs.steps, inputs.passes, inputs.params, 64, 5, 0, 77)
    host = sample_trials_kernel(*args)
    gpu = sample_trials_kernel(cupy.asarray(args[0]), cupy.asarray(args[1]), cupy.asarray(args[2]), *args[3:]).get()
    assert gpu_available()
    # fused multiply-add and CUDA's libdevice: a Poisson draw at an acceptance boundary may differ in
    # rare elements; the sums agree to rounding
    same = np.all(gpu[..., :12] == host[..., :12], axis=-1)
    assert same.mean() > 0.999
    np.testing.assert_allclose(gpu[..., OUT_SUM_ETA], host[..., OUT_SUM_ETA], rtol=1e-10)
