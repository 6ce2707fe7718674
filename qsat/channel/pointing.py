"""Pointing errors: mean pointing loss in closed form and sampled pointing fades.

Farid & Hranilovic, "Outage capacity optimization for free-space optical links with
pointing errors", J. Lightwave Technol. 25, 1702 (2007) (F&H): a Gaussian beam of radius w
offset by r from the centre of a circular aperture of radius a collects approximately
``h(r) = A0 exp(-2 r^2 / w_eq^2)`` (F&H eq. (9)), with ``v = sqrt(pi) a / (sqrt(2) w)``,
``A0 = erf(v)^2`` and ``w_eq^2 = w^2 sqrt(pi) erf(v) / (2 v exp(-v^2))`` (F&H eq. (10)).

With an isotropic Gaussian jitter (Rayleigh radial displacement, std sigma per axis) F&H
eq. (11) gives ``f(h) = gamma^2 / A0^(gamma^2) h^(gamma^2 - 1)``, gamma = w_eq / (2 sigma), of
mean ``A0 gamma^2 / (1 + gamma^2)``. qsat uses the general Gaussian form (bias mu on x,
per-axis sigma_x, sigma_y: Rice when biased, Hoyt when sigma_x != sigma_y):
``E[exp(-2 r^2/w_eq^2)] = prod_i (1 + 4 sigma_i^2/w_eq^2)^(-1/2) exp(-2 mu^2 / (w_eq^2 + 4 sigma_x^2))``,
the moment-generating function of a non-central Gaussian quadratic form, which reduces to
F&H's mean for mu = 0, sigma_x = sigma_y.
"""

from __future__ import annotations

import math

from ..backend import array_namespace


def _erf(x, xp):
    if xp.__name__ == "numpy":
        from scipy.special import erf

        return erf(x)
    import cupyx.scipy.special

    return cupyx.scipy.special.erf(x)


def equivalent_beam_width(beam_radius_m, aperture_radius_m, xp=None):
    """(A0, w_eq) of F&H eqs. (9)-(10) for beam radius w and aperture radius a."""
    xp = xp or array_namespace(beam_radius_m)
    w = xp.asarray(beam_radius_m, dtype=xp.float64)
    v = math.sqrt(math.pi) * aperture_radius_m / (math.sqrt(2.0) * w)
    erf_v = _erf(v, xp)
    w_eq2 = w * w * math.sqrt(math.pi) * erf_v / (2.0 * v * xp.exp(-v * v))
    return erf_v * erf_v, xp.sqrt(w_eq2)


def mean_pointing_factor(w_eq_m, sigma_x_m, sigma_y_m, bias_m=0.0, xp=None):
    """E[exp(-2 r^2 / w_eq^2)] for a Gaussian offset (bias on x, per-axis jitter); see module doc."""
    xp = xp or array_namespace(w_eq_m)
    weq2 = xp.asarray(w_eq_m, dtype=xp.float64) ** 2
    sx2 = 4.0 * sigma_x_m * sigma_x_m
    sy2 = 4.0 * sigma_y_m * sigma_y_m
    return xp.exp(-2.0 * bias_m * bias_m / (weq2 + sx2)) / xp.sqrt((1.0 + sx2 / weq2) * (1.0 + sy2 / weq2))


def pointing_pdf_rayleigh(h, a0, gamma):
    """F&H eq. (11): PDF of the pointing fade h in [0, A0] for zero bias, isotropic jitter."""
    import numpy as np

    h = np.asarray(h, dtype=np.float64)
    g2 = gamma * gamma
    return np.where((h > 0) & (h <= a0), g2 / a0 ** g2 * h ** (g2 - 1.0), 0.0)


def fov_fraction(spot_fwhm_rad, fov_full_rad, xp=None):
    """Fraction of a Gaussian focal spot of the given FWHM inside a circular field stop.

    Encircled energy of a circular Gaussian: ``1 - exp(-4 ln2 rho^2 / FWHM^2)``, rho = FOV/2.
    """
    xp = xp or array_namespace(spot_fwhm_rad)
    f = xp.asarray(spot_fwhm_rad, dtype=xp.float64)
    rho = 0.5 * fov_full_rad
    return -xp.expm1(-4.0 * math.log(2.0) * rho * rho / (f * f))
