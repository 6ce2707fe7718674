"""Fading sampler: per-step transmittance realisations, the NumPy/CuPy twin of ``kernels/fading.cu``.

A realisation of step i is ``min(1, t_static * P * I)`` where

* ``P = exp(-2 r^2 / w_eq^2)`` is the pointing fade of Farid & Hranilovic (2007) eq. (9),
  with the beam offset ``r = (mu + sigma_x z0, sigma_y z1)`` Gaussian (Rice when biased, Hoyt
  when sigma_x != sigma_y; uplinks add beam wander to the jitter);
* ``I`` is the unit-mean scintillation: log-normal ``exp(sqrt(s) z - s/2)``, s = sigma_lnI^2
  (weak turbulence), or gamma-gamma ``G(alpha) G(beta)`` with unit-mean gamma variates
  (Al-Habash, Andrews & Phillips, Opt. Eng. 40, 1554 (2001)), drawn by Marsaglia & Tsang's
  method (ACM TOMS 26, 363 (2000)); ``auto`` picks log-normal where sigma_R^2 < 1.

The mean over realisations is the budget's mean transmittance (up to the clip at 1, which
only acts on non-physical t_static * I > 1). Random numbers are Philox4x32-10 with key = seed
and counter ``(sample index, stream, tag)`` exactly as in the kernel, so the twin and the
host-built kernel agree sample for sample; the sample index of step i, realisation j is
``i * n_samples + j``, so results do not depend on chunking.
"""

from __future__ import annotations

import numpy as np

from ..backend import array_namespace
from ..errors import QsatInputError
from ..random import check_seed, normal2, philox4x32_10, u01
from .budget import FADE_COLUMNS, OUTPUTS

MODELS = {"none": 0, "lognormal": 1, "gamma_gamma": 2, "auto": 3}
TAG_POINTING = 0x50540000
TAG_LOGNORMAL = 0x4C4E0000
TAG_GAMMA_1 = 0x47310000
TAG_GAMMA_2 = 0x47320000
TAG_BOOST = 0x1000
GAMMA_TRIES = 16
_MASK32 = 0xFFFFFFFF


def sample_rows(xp, table, n_samples, first_step):
    """(global sample index, rows repeated n_samples times) of a per-step table.

    Sample j of step s (global step first_step + s) has index (first_step + s) · n_samples + j:
    the counter of its Philox draws, so a draw never depends on how the series was chunked.
    """
    if not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise QsatInputError("n_samples", n_samples, "a positive integer")
    n_steps = table.shape[0]
    index = xp.arange(n_steps * n_samples, dtype=xp.uint64) + xp.uint64(first_step * n_samples)
    return index, xp.repeat(table, n_samples, axis=0)


def fade_inputs(budget) -> np.ndarray:
    """The sampler's (n, 9) input (columns ``budget.FADE_COLUMNS``) from a budget.

    ``budget`` is a ``channel_step`` result (n, N_OUT), a ``link_budget`` dict, or the ``link``
    Dataset of the stage (its steps flattened in (pass, step) order, padding included as NaN).
    """
    if hasattr(budget, "keys"):
        cols = [getattr(budget[c], "data", budget[c]) for c in FADE_COLUMNS]
        xp = array_namespace(*cols)
        return xp.stack([xp.asarray(c, dtype=xp.float64).reshape(-1) for c in cols], axis=-1)
    xp = array_namespace(budget)
    return xp.ascontiguousarray(budget[:, [OUTPUTS.index(c) for c in FADE_COLUMNS]])


def _block(index, stream, tag, seed, xp):
    """Philox blocks for 64-bit sample indices with a fixed (stream, tag) — the kernel's qf_block."""
    u64 = xp.uint64
    lo = index & u64(_MASK32)
    hi = index >> u64(32)
    return philox4x32_10(lo, hi, xp.full(index.shape, stream & _MASK32, dtype=u64),
                         xp.full(index.shape, tag & _MASK32, dtype=u64), seed & _MASK32, seed >> 32)


def _gamma_unit_mean(a, index, stream, tag, seed, xp):
    """Vectorised twin of qf_gamma_unit_mean: same tries, same counters, same operations."""
    boost = a < 1.0
    aa = xp.where(boost, a + 1.0, a)
    d = aa - 1.0 / 3.0
    c = 1.0 / xp.sqrt(9.0 * d)
    g = aa.copy()
    pending = xp.ones(a.shape, dtype=bool)
    for m in range(GAMMA_TRIES):
        idx = xp.nonzero(pending)[0]
        if idx.size == 0:
            break
        z0, _ = normal2(_block(index[idx], stream, tag + 2 * m, seed, xp))
        r = _block(index[idx], stream, tag + 2 * m + 1, seed, xp)
        u = u01(r[0], r[1])
        v = 1.0 + c[idx] * z0
        ok = v > 0.0
        v3 = v * v * v
        with np.errstate(invalid="ignore", divide="ignore"):
            accept = ok & (xp.log(u) < 0.5 * z0 * z0 + d[idx] - d[idx] * v3 + d[idx] * xp.log(xp.where(ok, v3, 1.0)))
        done = idx[accept]
        g[done] = d[done] * v3[accept]
        pending[done] = False
    b = xp.nonzero(boost)[0]
    if b.size:
        r = _block(index[b], stream, tag + TAG_BOOST, seed, xp)
        g[b] = g[b] * u01(r[0], r[1]) ** (1.0 / a[b])
    return g / a


def sample_transmittance(fade, n_samples: int, seed: int, stream: int = 0, model: str = "auto", first_step: int = 0):
    """``n_samples`` transmittance realisations per step: array (n_steps, n_samples).

    Parameters
    ----------
    fade : array (n_steps, 9)
        Per-step sampler inputs (:func:`fade_inputs` of a budget), columns ``budget.FADE_COLUMNS``.
    n_samples : int
        Realisations per step.
    seed : int
        64-bit seed (the Philox key).
    stream : int
        A 32-bit stream number (e.g. the Monte Carlo trial or pass), part of the counter.
    model : {"auto", "lognormal", "gamma_gamma", "none"}
        Scintillation law.
    first_step : int
        Global index of the first step of ``fade`` when sampling a chunk of a longer series:
        the draws of a step never depend on how the series was chunked.
    """
    if model == "elliptic_beam":
        raise QsatInputError("model", model, "a law of this sampler; the elliptic-beam model samples with "
                             "qsat.channel.ellipticbeam.sample_elliptic_beam(elliptic_inputs(...), ...)")
    if model not in MODELS:
        raise QsatInputError("model", model, f"one of {', '.join(MODELS)}")
    seed = check_seed(seed)
    xp = array_namespace(fade)
    fade = xp.asarray(fade, dtype=xp.float64)
    n_steps = fade.shape[0]
    index, f = sample_rows(xp, fade, n_samples, first_step)
    t_static, w_eq, sx, sy, bias, s_ln2, inv_a, inv_b, rytov = (f[:, k] for k in range(9))

    z0, z1 = normal2(_block(index, stream, TAG_POINTING, seed, xp))
    x = bias + sx * z0
    y = sy * z1
    value = t_static * xp.exp(-2.0 * (x * x + y * y) / (w_eq * w_eq))
    law = xp.full(index.shape, MODELS[model])
    if model == "auto":
        law = xp.where(rytov < 1.0, MODELS["lognormal"], MODELS["gamma_gamma"])
    ln = xp.nonzero(law == MODELS["lognormal"])[0]
    if ln.size:
        n0, _ = normal2(_block(index[ln], stream, TAG_LOGNORMAL, seed, xp))
        s = s_ln2[ln]
        value[ln] = value[ln] * xp.exp(xp.sqrt(s) * n0 - 0.5 * s)
    gg = law == MODELS["gamma_gamma"]
    for inv, tag in ((inv_a, TAG_GAMMA_1), (inv_b, TAG_GAMMA_2)):
        sel = xp.nonzero(gg & (inv > 0.0))[0]
        if sel.size:
            value[sel] = value[sel] * _gamma_unit_mean(1.0 / inv[sel], index[sel], stream, tag, seed, xp)
    value = xp.where(xp.isnan(t_static), t_static, xp.minimum(value, 1.0))
    return value.reshape(n_steps, n_samples)


def sample_transmittance_host(fade, n_samples: int, seed: int, stream: int = 0, model: str = "auto",
                              first_step: int = 0) -> np.ndarray:
    """The same draws from the host build of ``kernels/fading.cu`` (tests, CPU reference)."""
    from ..kernels import host_call

    fade = np.ascontiguousarray(fade, dtype=np.float64)
    out = np.empty((fade.shape[0], n_samples))
    seed = check_seed(seed)
    signed_seed = seed - 2**64 if seed >= 2**63 else seed
    host_call("fading", "fading_sample", fade, out, fade.shape[0], n_samples, first_step, signed_seed, stream,
              MODELS[model])
    return out
