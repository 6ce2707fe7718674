"""Elliptic-beam uplink fades of the Monte Carlo: the twin of ``montecarlo_trials_elliptic``.

Uplinks with ``[link] fading = "elliptic_beam"`` replace the Gaussian-beam pointing fade and the
log-normal scintillation by the elliptic-beam PDT of D. Vasylyev, A. A. Semenov & W. Vogel,
PRL 117, 090501 (2016) (:mod:`qsat.channel.ellipticbeam`, whose closed form this evaluates):
per step a beam centroid (pointing drivers), the spot's semi-axes ``W_i^2 = W_ST^2 exp(Theta_i)``
(shape drivers) and its orientation ``phi = atan2(g_b, g_a) / 2`` (orientation drivers), the
drivers AR(1) across steps as in :mod:`qsat.montecarlo.sampler`. The share of the centroid
jitter averaged within a step is added to the spot's covariance (exact for the mean
transmittance, see :func:`transmittance`). Layout: :mod:`qsat.montecarlo.layout`; kernel:
``kernels/montecarlo.cuh`` (``qmc_arm_eb``, ``qmc_eta``).
"""

from __future__ import annotations

import math

import numpy as np

from ..channel.ellipticbeam import elliptic_beam_transmittance
from .layout import FLAGS, PARAMS, STEP_COLUMNS


def step_constants(f, a, prm, xp):
    """The elliptic-beam step constants (kernels/montecarlo.cuh, QMC_F_ELLIPTIC), lengths over the aperture radius a.

    ``f``: the step inputs (n_rows, n_steps, len(STEP_COLUMNS)); ``a``: the rows' aperture radii
    (n_rows, 1); ``prm``: the scalar parameters as floats.

    ``eta`` (static transmittance), ``x0 = bias/a``; the step-mean centroid rms ``sqrt(v_p) sigma / a``
    and the residual jitter ``(1 - v_p) sigma^2`` as ``kx = 2 (1 - v_p)(sx^2 + sy^2)/a^2``,
    ``ky = 2 (1 - v_p)(sx^2 - sy^2)/a^2`` (half the sum and difference of 4 x its variances, added to
    the spot covariance); ``ln(W_i^2/a^2) ~ N(hs, st^2)`` with ``st^2 = v_t theta_var`` and
    ``hs = ln(W_ST^2/a^2) - st^2/2`` (so ``<W_i^2> = W_ST^2``), correlation ``rho`` and
    ``rc = sqrt(1 - rho^2)``. What is not sampled has zero rms: the centroid jitter is then all
    residual (its exact mean), the beam keeps its short-term radius W_ST (the link budget's).
    Returned in the order eta, x0, ax, ay, kx, ky, st, hs, rho, rc.
    """
    flags, v_t, v_p = (int(prm[PARAMS.index("flags")]), prm[PARAMS.index("v_t")], prm[PARAMS.index("v_p")])
    if not bool(xp.all(a > 0.0)):
        raise ValueError("aperture_radius_m of the rows must be > 0 for the elliptic-beam Monte Carlo")
    eta_s, _, w_st, sx, sy, bias, var, _, _, cov = (f[..., k] for k in range(len(STEP_COLUMNS)))
    v_p = v_p if flags & FLAGS["pointing"] else 0.0
    v_t = v_t if flags & FLAGS["turbulence"] else 0.0
    sv_p, res_p = math.sqrt(v_p), 2.0 * (1.0 - v_p)
    a2 = a * a
    sx2, sy2 = sx * sx / a2, sy * sy / a2
    s2 = var * v_t
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = xp.where(var > 0.0, cov / var, 0.0)
        hs = xp.log(w_st * w_st / a2) - 0.5 * s2
    rc = xp.sqrt(xp.maximum(1.0 - rho * rho, 0.0))
    return [eta_s, bias / a, sx * sv_p / a, sy * sv_p / a, (sx2 + sy2) * res_p, (sx2 - sy2) * res_p, xp.sqrt(s2),
            hs, rho, rc]


def transmittance(c, clear, g, eps, xp):
    """Elliptic-beam transmittance of one step (twin of ``qmc_eta`` for ``qmc_arm_eb``).

    ``c``: the step's constants (n_rows, len(STEP_CONSTANTS)); ``clear``: weather outcomes;
    ``g``: the six Gaussian drivers (centroid x, y; shape 1, 2; orientation a, b); ``eps``: the
    rows' obscuration ratios.

    The spot covariance plus 4 x the residual centroid covariance of the step is the spot averaged
    over that jitter (exact: the transmittance is linear in the irradiance, and the convolution of
    two Gaussians is Gaussian); its eigenvalues and axis go into the closed form
    (:func:`qsat.channel.ellipticbeam.elliptic_beam_transmittance`, lengths over the aperture radius).
    """
    gx, gy, g1, g2, ga, gb = g
    x0 = c[:, 1] + c[:, 2] * gx
    y0 = c[:, 3] * gy
    e1 = xp.exp(c[:, 7] + c[:, 6] * g1)
    e2 = xp.exp(c[:, 7] + c[:, 6] * (c[:, 12] * g1 + c[:, 13] * g2))
    r = xp.hypot(ga, gb)
    with np.errstate(divide="ignore", invalid="ignore"):
        cos2 = xp.where(r > 0.0, ga / r, 1.0)
        sin2 = xp.where(r > 0.0, gb / r, 0.0)
    half = 0.5 * (e1 - e2)
    m = 0.5 * (e1 + e2) + c[:, 4]
    dx = half * cos2 + c[:, 5]
    dy = half * sin2
    d = xp.hypot(dx, dy)
    lo = m - d
    w1, w2 = xp.sqrt(m + d), xp.sqrt(xp.where(lo > 0.0, lo, 1e-300))
    phi = 0.5 * xp.arctan2(dy, dx)
    eta = c[:, 0] * clear * elliptic_beam_transmittance(x0, y0, w1, w2, phi, 1.0, eps)
    return xp.where(eta < 1.0, eta, 1.0)


__all__ = ["step_constants", "transmittance"]
