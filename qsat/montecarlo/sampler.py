"""One Monte Carlo trial of a pass: the NumPy/CuPy twin of ``kernels/montecarlo.cu``.

An element is one (trial, pass). It walks the pass's steps and, per step,

1. **weather** (once per pass): clear with the station's clear-sky probability, else the
   signal transmittance is 0 for the whole pass (background and dark clicks remain); with
   ``[network.weather]`` the outcomes are given (``clear``), correlated across stations and
   weather windows by :func:`qsat.network.weather.clear_flags`;
2. **pointing**: the beam offset at the receiver ``(mu + sigma_x g_x, sigma_y g_y)`` with
   ``g_x, g_y`` standard normal (Rayleigh radial offset without bias, Rice with bias, Hoyt for
   sigma_x != sigma_y) gives the fade ``exp(-2 r^2 / w_eq^2)`` of Farid & Hranilovic,
   J. Lightwave Technol. 25, 1702 (2007), eq. (9);
3. **turbulence**: the unit-mean log-normal irradiance ``exp(sigma g_t - sigma^2/2)`` with
   ``sigma^2 = ln(1 + sigma_I^2)`` (aperture-averaged scintillation index; Andrews & Phillips,
   *Laser Beam Propagation through Random Media*, 2nd ed. (2005), Ch. 12 / ITU-R P.1622);

and accumulates the click statistics of the step conditional on that transmittance: decoy BB84
(``R_k``, ``E_k`` of :mod:`qsat.detection.wcp`, Lim et al., PRA 89, 022307 (2014)) or
BBM92 coincidences (:mod:`qsat.detection.spdc`) — with the partner photon detected on board
(mode 1), or downlinked too (mode 2: a row is a pair of passes over two stations at once,
both downlinks realised step by step, each keyed by its own pass and step index). After the last step the per-pass sums of the
conditional means are **sampled** as independent Poisson counts. Given the fade realisation,
the counts of distinct steps are independent Poisson variables, and a sum of independent
Poisson variables is Poisson with the summed mean, so this draws exactly the distribution of
per-step sampled counts summed over the pass, at one draw per pass and count class. (The
number of clicks among N pulses is binomial; its distance to the Poisson law is at most
``sum p_i^2 / lambda`` ≤ max p_i in total variation, Barbour & Hall, Math. Proc. Camb. Phil.
Soc. 95, 473 (1984), Theorem 1 — below 1e-2 for any satellite link.) Errors and correct
clicks are thinned into independent Poisson classes, so errors | clicks is binomial.

Time correlation and step averaging. The Gaussian drivers ``g`` are AR(1) processes across
steps, ``g_s = rho g_{s-1} + sqrt(1 - rho^2) z_s`` (stationary N(0, 1), ``g_0 = z_0``). They
stand for the *step means* of an Ornstein-Uhlenbeck process of correlation time tau
(``turbulence_coherence_time``, ``pointing_coherence_time``) over a step of length T, x = T/tau:

* variance of the step mean (unit process): ``v = 2 (x - 1 + e^-x) / x^2``, from the variance
  of a time average ``(1/T) int_{-T}^{T} (1 - |u|/T) C(u) du`` with ``C(u) = e^{-|u|/tau}``
  (Papoulis & Pillai, *Probability, Random Variables and Stochastic Processes*, 4th ed.
  (2002), Sec. 12-1, mean-ergodic processes);
* correlation of consecutive step means: ``rho = (1 - e^-x)^2 / (2 (x - 1 + e^-x))``
  (the same integral over adjacent intervals, ``(tau/T)^2 (1 - e^-x)^2``, divided by v);

so a step much longer than tau is averaged (v -> 2/x) and a step much shorter keeps the
instantaneous fade (v -> 1, rho -> 1 - 2x/3). The pointing fade of a step is the mean over the
within-step residual jitter (variance ``(1 - v) sigma^2`` per axis, by the law of total
variance) around the step-mean offset ``(mu + sqrt(v) sigma_x g_x, sqrt(v) sigma_y g_y)``:
the Gaussian integral ``prod_axes exp(-2 x0^2 / (w^2 + 4 s^2)) / sqrt(1 + 4 s^2 / w^2)``
(the moment-generating function used by :func:`qsat.channel.pointing.mean_pointing_factor`).
The log-irradiance of a step has variance ``v sigma^2`` (a log-normal approximation of the
step-mean irradiance, exact in the weak-fluctuation limit where ln I ≈ I - 1).

Random numbers: Philox4x32-10 (:func:`qsat.random.philox4x32_10`) with key = seed and
counter ``(step or attempt, pass, trial, tag)``; three normals per step come from one block
by Box-Muller on 32-bit uniforms; weather and counts use 53-bit uniforms
(:func:`qsat.random.u01`). What a step contributes independently of the trial is computed once
per chunk (:func:`step_constants`) and read by the kernel and this twin alike. Poisson draws:
:func:`qsat.detection.poisson.poisson_draws` (inversion below 10, Hörmann's PTRS at 10 and above),
with the counters (attempt, row, trial, tag).
"""

from __future__ import annotations

import math

import numpy as np

from ..backend import array_namespace, to_numpy
from ..detection.poisson import poisson_draws
from ..random import check_seed, philox4x32_10, u01
from . import elliptic

from .layout import (BBM92_OUTPUTS, DECOY_OUTPUTS, FLAG_CLEAR_GIVEN, FLAG_ELLIPTIC, FLAGS, MODES, N_OUT,  # noqa: F401
                     OUT_CLEAR, OUT_N_USED, OUT_SUM_ETA, PARAMS, PASS_COLUMNS, ROW_SUMS, SOURCE_COLUMNS,
                     STEP_COLUMNS, STEP_CONSTANTS, TAG_COUNTS, TAG_ORIENT, TAG_PAIR_COUNTS, TAG_STEP, TAG_WEATHER)

_P = {name: k for k, name in enumerate(PARAMS)}  # index of each scalar parameter


def scalar_params(params) -> list[float]:
    """The scalar parameters as host floats (``params``: a NumPy or CuPy array of :data:`PARAMS`, or
    this function's own result)."""
    return [float(v) for v in np.asarray(to_numpy(params), dtype=np.float64)]

_TWO_POW_M32 = 2.0**-32


def step_mean_statistics(step_s: float, tau_s: float) -> tuple[float, float]:
    """(rho, v): lag-1 correlation and variance of consecutive step means of a unit OU process.

    See the module docstring: ``v = 2 (x - 1 + e^-x)/x^2`` and
    ``rho = (1 - e^-x)^2 / (2 (x - 1 + e^-x))`` with ``x = step_s / tau_s``.
    """
    x = step_s / tau_s
    if x < 1e-4:  # series, avoiding cancellation: x - 1 + e^-x = x^2/2 - x^3/6 + x^4/24
        core = x * x / 2.0 - x**3 / 6.0 + x**4 / 24.0
    else:
        core = x + math.expm1(-x)
    v = 2.0 * core / (x * x)
    rho = (-math.expm1(-x)) ** 2 / (2.0 * core)
    return min(rho, 1.0), min(v, 1.0)


def _block(word0, pass_index, trial_index, tag, seed, xp):
    return philox4x32_10(word0, pass_index, trial_index, xp.full(pass_index.shape, tag, dtype=xp.uint64),
                         seed & 0xFFFFFFFF, seed >> 32)


def _u32(word, xp):
    return (word.astype(xp.float64) + 0.5) * _TWO_POW_M32


def _normal2(a, b, xp):
    rad = xp.sqrt(-2.0 * xp.log(_u32(a, xp)))
    ang = 2.0 * math.pi * _u32(b, xp)
    return rad * xp.cos(ang), rad * xp.sin(ang)


def _normal3(r, xp):
    rad2 = xp.sqrt(-2.0 * xp.log(_u32(r[2], xp)))
    ang2 = 2.0 * math.pi * _u32(r[3], xp)
    return _normal2(r[0], r[1], xp) + (rad2 * xp.cos(ang2),)


def poisson(lam, row_index, trial_index, tag: int, seed: int):
    """Poisson samples of means ``lam`` drawn with Philox tag ``tag`` (twin of ``qmc_poisson``)."""
    xp = array_namespace(lam)
    lam = xp.asarray(lam, dtype=xp.float64)
    rows, trials = row_index.reshape(-1), trial_index.reshape(-1)

    def block(sel, attempt):
        return _block(xp.full(sel.shape, attempt, dtype=xp.uint64), rows[sel], trials[sel], tag, seed, xp)

    return poisson_draws(lam.reshape(-1), block).reshape(lam.shape)


class _Arm:
    """Gaussian drivers of one link, AR(1) across steps (twin of ``qmc_arm``/``qmc_arm_eb``/``qmc_advance``).

    ``g``: pointing x, y and the turbulence driver; with the elliptic beam, pointing x, y, the shape
    pair and the orientation pair (``phi = atan2(g_b, g_a) / 2``).
    """

    def __init__(self, pass_index, offset, trial_index, shape, flags, prm, seed, xp):
        self.pass_index, self.offset, self.trial_index = pass_index, offset, trial_index
        self.shape, self.flags, self.seed, self.xp = shape, flags, seed, xp
        self.elliptic = bool(flags & FLAG_ELLIPTIC)
        rho_t, rho_p = prm[_P["rho_t"]], prm[_P["rho_p"]]
        inn_t, inn_p = math.sqrt(1.0 - rho_t**2), math.sqrt(1.0 - rho_p**2)
        n_turb = 4 if self.elliptic else 1
        self.rho = [rho_p, rho_p] + [rho_t] * n_turb
        self.inn = [inn_p, inn_p] + [inn_t] * n_turb
        self.g = None

    def _draws(self, s: int):
        xp = self.xp
        if not self.flags & (FLAGS["turbulence"] | FLAGS["pointing"]):
            return (xp.zeros(self.shape),) * len(self.rho)
        word = self.offset + xp.uint64(s)
        r = _block(word, self.pass_index, self.trial_index, TAG_STEP, self.seed, xp)
        if not self.elliptic:
            return _normal3(r, xp)
        q = _block(word, self.pass_index, self.trial_index, TAG_ORIENT, self.seed, xp)
        return _normal2(r[0], r[1], xp) + _normal2(r[2], r[3], xp) + _normal2(q[0], q[1], xp)

    def advance(self, s: int) -> None:
        z = self._draws(s)
        if s == 0:  # the stationary law
            self.g = list(z)
        else:       # AR(1): g_s = rho g_{s-1} + sqrt(1 - rho^2) z_s
            self.g = [rho * g + inn * zk for rho, inn, g, zk in zip(self.rho, self.inn, self.g, z)]


def step_constants(steps, params, passes=None):
    """(n_rows, n_steps, len(STEP_CONSTANTS)): what a step contributes independently of the trial.

    Computed once per chunk (array namespace of ``steps``) and read by both the kernel and the
    twin, so the per-sample work is the draws, the AR(1) update, one exponential and the clicks:

    * pointing: ``dx = w^2 + 4 (1 - v_p) sigma_x^2`` (likewise ``dy``); the step's static
      transmittance over ``sqrt((dx / w^2)(dy / w^2))``, the exponent's factors ``-2/dx``,
      ``-2/dy`` and the step-mean rms ``sqrt(v_p) sigma`` (module docstring);
    * turbulence: ``sqrt(v_t sigma_ln^2)`` and ``-v_t sigma_ln^2 / 2``;
    * decoy clicks, affine in the signal probability ``s = 1 - e^(-eta mu)``:
      ``R = (1 + p_ap) d`` and ``E = p_dc + e_int s + p_ap d / 2`` with ``d = s (1 - 2 p_dc) + 2 p_dc``
      (Lim et al. 2014 simulation model, :mod:`qsat.detection.wcp`), times the step's pulses;
    * elliptic beam (:data:`FLAG_ELLIPTIC`): :func:`qsat.montecarlo.elliptic.step_constants`, which needs ``passes``
      (the receive aperture of each row).
    """
    xp = array_namespace(steps)
    prm = scalar_params(params)
    flags, v_t, v_p = int(prm[_P["flags"]]), prm[_P["v_t"]], prm[_P["v_p"]]
    p_ap, e_int = prm[_P["afterpulse_probability"]], prm[_P["intrinsic_qber"]]
    f = xp.asarray(steps, dtype=xp.float64)
    eta_s, point, w, sx, sy, bias, s_ln, noise, weight, cov = (f[..., k] for k in range(len(STEP_COLUMNS)))
    sv_p, res_p = math.sqrt(v_p), 1.0 - v_p
    clean = 1.0 - 2.0 * noise
    clicks = [noise, weight, weight * ((1.0 + p_ap) * clean), weight * (e_int + 0.5 * p_ap * clean)]
    if flags & FLAG_ELLIPTIC:
        if passes is None:
            raise ValueError("the elliptic-beam step constants need the rows (their aperture radius)")
        a = xp.asarray(passes, dtype=xp.float64)[:, PASS_COLUMNS.index("aperture_radius_m"), None]
        geometry = elliptic.step_constants(f, a, prm, xp)  # eta ... hs, then rho, rc (STEP_CONSTANTS order)
        return xp.ascontiguousarray(xp.stack(geometry[:8] + clicks + geometry[8:], axis=-1))
    with np.errstate(divide="ignore", invalid="ignore"):
        w2 = w * w
        dx = w2 + 4.0 * (sx * sx * res_p)
        dy = w2 + 4.0 * (sy * sy * res_p)
        eta = eta_s / xp.sqrt((dx / w2) * (dy / w2)) if flags & FLAGS["pointing"] else eta_s * point
        s2 = s_ln * v_t
        zero = xp.zeros_like(eta)
        out = xp.stack([eta, bias, sx * sv_p, sy * sv_p, -2.0 / dx, -2.0 / dy, xp.sqrt(s2), -0.5 * s2] + clicks
                       + [zero, zero], axis=-1)
    return xp.ascontiguousarray(out)


def row_sums(steps, passes, params):
    """(n_rows, len(ROW_SUMS)): the clicks without signal of each row, summed over the steps it walks (decoy BB84).

    ``r0 = sum weight 2 (1 + p_ap) p_dc`` and ``e0 = sum weight (1 + p_ap) p_dc`` (see
    :func:`step_constants`); they do not depend on the trial, so they are summed once per chunk.
    Zero for BBM92, which does not read them.
    """
    xp = array_namespace(steps)
    prm = scalar_params(params)
    f = xp.asarray(steps, dtype=xp.float64)
    if int(prm[_P["mode"]]) != MODES["decoy-bb84"]:
        return xp.zeros((f.shape[0], len(ROW_SUMS)))
    p_ap = prm[_P["afterpulse_probability"]]
    walked = xp.arange(f.shape[1])[None, :] < xp.asarray(passes, dtype=xp.float64)[:, 1:2]
    noise, weight = f[..., STEP_COLUMNS.index("noise")], f[..., STEP_COLUMNS.index("weight")]
    e0 = xp.sum(xp.where(walked & (weight > 0.0), weight * ((1.0 + p_ap) * noise), 0.0), axis=1)
    return xp.ascontiguousarray(xp.stack([2.0 * e0, e0], axis=-1))


def _eta(c, clear, arm: _Arm, flags: int, eps, xp):
    """Realised transmittance of one step of one link (twin of ``qmc_eta``); ``c``: step constants,
    ``eps``: the rows' obscuration ratios (elliptic beam only)."""
    if arm.elliptic:
        return elliptic.transmittance(c, clear, arm.g, eps, xp)
    gx, gy, gt = arm.g
    eta = c[:, 0] * clear
    expo = 0.0
    if flags & FLAGS["pointing"]:
        x0 = c[:, 1] + c[:, 2] * gx
        y0 = c[:, 3] * gy
        expo = c[:, 4] * (x0 * x0) + c[:, 5] * (y0 * y0)
    if flags & FLAGS["turbulence"]:
        expo = expo + (c[:, 6] * gt + c[:, 7])
    eta = eta * xp.exp(expo)
    return xp.where(eta < 1.0, eta, 1.0)


def _clear(p_clear, pass_index, trial_index, flags, seed, xp):
    if not flags & FLAGS["weather"]:
        return xp.ones(trial_index.shape)
    r = _block(xp.zeros(trial_index.shape, dtype=xp.uint64), pass_index, trial_index, TAG_WEATHER, seed, xp)
    return xp.where(u01(r[0], r[1]) < p_clear, 1.0, 0.0)


def sample_trials(steps, passes, params, n_trials: int, first_trial: int, first_pass: int, seed: int, steps_b=None,
                  clear=None):
    """Outputs (n_trials, n_rows, N_OUT) of trials ``first_trial ...`` of rows ``first_pass ...``.

    Parameters
    ----------
    steps : array (n_rows, n_steps, len(STEP_COLUMNS))
        Per-step inputs of the chunk's rows — passes, or pass A of each pair of passes for
        dual-downlink BBM92 (:func:`qsat.montecarlo.inputs.build_inputs`).
    passes : array (n_rows, len(PASS_COLUMNS))
        Per-row inputs: clear-sky probabilities, steps, and the pass indices and step offsets
        that key the fades and the weather.
    params : array (len(PARAMS),)
    n_trials, first_trial, first_pass : int
        The chunk: trials ``first_trial + t`` and rows ``first_pass + j`` (global indices,
        which key the random numbers of the counts).
    seed : int
        64-bit seed.
    steps_b : array like ``steps``, optional
        Pass B of each pair (dual-downlink BBM92, mode 2).
    clear : array (n_trials, n_rows, 2), optional
        Given weather outcomes (1 clear, 0 overcast) of passes A and B of each (trial, row),
        read when the flags of ``params`` have :data:`FLAG_CLEAR_GIVEN` (correlated weather,
        :func:`qsat.network.weather.clear_flags`); otherwise each pass draws its own.
    """
    seed = check_seed(seed)
    xp = array_namespace(steps)
    passes = xp.asarray(passes, dtype=xp.float64)
    prm = scalar_params(params)
    consts = step_constants(steps, prm, passes)
    consts_b = step_constants(steps_b, prm, passes) if steps_b is not None else None
    sums = row_sums(steps, passes, prm)
    n_pass, n_step = consts.shape[0], consts.shape[1]
    shape = (n_trials, n_pass)
    u64 = xp.uint64
    trial_index = xp.broadcast_to((xp.arange(n_trials, dtype=u64) + u64(first_trial))[:, None], shape)
    row_index = xp.broadcast_to((xp.arange(n_pass, dtype=u64) + u64(first_pass))[None, :], shape)
    flags = int(prm[_P["flags"]])
    mode = int(prm[_P["mode"]])

    def column(k):
        return xp.broadcast_to(passes[:, k].astype(u64)[None, :], shape)

    pass_a, pass_b = column(2), column(4)
    if flags & FLAG_CLEAR_GIVEN:
        clear = xp.asarray(clear, dtype=xp.float64)
        clear_a = clear[..., 0]
        clear_b = clear[..., 1] if mode == 2 else xp.ones(shape)
    else:
        clear_a = _clear(passes[None, :, 0], pass_a, trial_index, flags, seed, xp)
        clear_b = _clear(passes[None, :, 6], pass_b, trial_index, flags, seed, xp) if mode == 2 else xp.ones(shape)
    source = {name: passes[None, :, PASS_COLUMNS.index(name)] for name in SOURCE_COLUMNS}
    mu = [source["mu1"], source["mu2"], source["mu3"]]
    prob = [source["p1"], source["p2"], source["p3"]]
    n_steps = passes[None, :, 1]
    last = int(xp.max(passes[:, 1])) if n_pass else 0
    sr = [xp.zeros(shape) for _ in range(3)]
    se = [xp.zeros(shape) for _ in range(3)]
    r0 = xp.broadcast_to(sums[None, :, 0], shape)
    e0 = xp.broadcast_to(sums[None, :, 1], shape)
    eps = passes[None, :, PASS_COLUMNS.index("obscuration_ratio")]
    sum_eta = xp.zeros(shape)
    n_used = xp.zeros(shape)
    arm_a = _Arm(pass_a, column(3), trial_index, shape, flags, prm, seed, xp)
    arm_b = _Arm(pass_b, column(5), trial_index, shape, flags, prm, seed, xp)
    for s in range(min(last, n_step)):
        c = consts[:, s, :]
        arm_a.advance(s)
        if mode == 2:
            arm_b.advance(s)
        use = (c[:, 9] > 0.0)[None, :] & (s < n_steps)
        if not bool(xp.any(use)):
            continue
        eta = _eta(c, clear_a, arm_a, flags, eps, xp)
        sum_eta = xp.where(use, sum_eta + eta, sum_eta)
        n_used = xp.where(use, n_used + 1.0, n_used)
        if mode == 0:
            for k in range(3):
                signal = -xp.expm1(-(eta * mu[k]))
                sr[k] = xp.where(use, sr[k] + c[:, 10] * signal, sr[k])
                se[k] = xp.where(use, se[k] + c[:, 11] * signal, se[k])
        else:
            eta_b, noise_b = prm[_P["eta_b"]], prm[_P["noise_b_cps"]]
            if mode == 2:
                cb = consts_b[:, s, :]
                eta_b = _eta(cb, clear_b, arm_b, flags, eps, xp)
                noise_b = cb[:, 8]
            rate = prm[_P["pair_rate_hz"]]
            weight = c[:, 9]
            true_c = rate * eta * eta_b
            sa = rate * eta + c[:, 8]
            sb = rate * eta_b + noise_b
            sr[0] = xp.where(use, sr[0] + weight * true_c, sr[0])
            sr[1] = xp.where(use, sr[1] + weight * (sa * sb * prm[_P["coincidence_window_s"]]), sr[1])

    sample = bool(flags & FLAGS["counts"])

    tag = TAG_PAIR_COUNTS if mode == 2 else TAG_COUNTS

    def count(lam, klass):
        return poisson(lam, row_index, trial_index, tag + klass, seed) if sample else lam

    out = xp.zeros(shape + (N_OUT,))
    if mode == 0:
        px = source["basis_probability_x"]
        fx, fz = px * px, (1.0 - px) * (1.0 - px)
        for k in range(3):
            r, e = prob[k] * (sr[k] + r0), prob[k] * (se[k] + e0)
            ok = xp.where(r - e > 0.0, r - e, 0.0)
            ex = count(fx * e, k)
            cx = count(fx * ok, 3 + k)
            ez = count(fz * e, 6 + k)
            cz = count(fz * ok, 9 + k)
            out[..., k] = cx + ex
            out[..., 3 + k] = cz + ez
            out[..., 6 + k] = ex
            out[..., 9 + k] = ez
    else:
        q, e_src = prm[_P["sift_fraction"]], prm[_P["source_qber"]]
        t, a = sr[0], sr[1]
        te = count(q * e_src * t, 0)
        tc = count(q * (1.0 - e_src) * t, 1)
        tu = count((1.0 - q) * t, 2)
        ae = count(q * 0.5 * a, 3)
        ac = count(q * 0.5 * a, 4)
        au = count((1.0 - q) * a, 5)
        out[..., 0] = te + tc + tu
        out[..., 1] = te + tc + ae + ac
        out[..., 2] = te + ae
        out[..., 3] = te + tc + tu + ae + ac + au
    out[..., OUT_SUM_ETA] = sum_eta
    out[..., OUT_N_USED] = n_used
    out[..., OUT_CLEAR] = clear_a * clear_b
    return out


__all__ = ["sample_trials", "step_constants", "row_sums", "scalar_params", "poisson", "step_mean_statistics",
           "STEP_COLUMNS", "STEP_CONSTANTS", "ROW_SUMS", "PASS_COLUMNS", "PARAMS", "N_OUT", "DECOY_OUTPUTS",
           "BBM92_OUTPUTS", "FLAGS", "FLAG_CLEAR_GIVEN", "FLAG_ELLIPTIC", "MODES"]
