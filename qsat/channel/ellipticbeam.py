"""Probability distribution of transmittance (PDT) of an uplink beam: beam wander and elliptic beam.

A Gaussian beam arriving at a circular receive aperture of radius ``a`` is described by its
centroid ``(x0, y0)`` relative to the aperture centre and, in the elliptic-beam model, by the
semi-axes ``W1, W2`` (1/e^2 irradiance radii) of its elliptic spot and the angle ``phi``
between the x axis and the ``W1`` semi-axis:
``I(x) = 2 / (pi W1 W2) exp(-2 (x - x0)^T S^-1 (x - x0))``, ``S = R(phi) diag(W1^2, W2^2) R(phi)^T``.
The transmittance is the fraction of the beam's power inside the aperture.

* **Beam wander** (circular beam, ``W1 = W2 = W``): D. Yu. Vasylyev, A. A. Semenov & W. Vogel,
  "Toward global quantum communication: beam wandering preserves nonclassicality",
  PRL 108, 220501 (2012) (VSV 2012): ``eta(r) = eta0 exp(-(r/R)^lambda)`` with
  ``eta0 = 1 - exp(-2 a^2/W^2)`` and ``lambda, R`` fixed by matching the exact ``eta`` and its
  slope at ``r = a``; with a Gaussian deflection (Rayleigh/Rice ``r``) this gives the
  log-negative Weibull PDT. (The paper writes these for the amplitude transmission coefficient
  ``T = sqrt(eta)``; here everything is written for the transmittance ``eta = T^2``.)
* **Elliptic beam**: D. Vasylyev, A. A. Semenov & W. Vogel, "Atmospheric quantum channels with
  weak and strong turbulence", PRL 117, 090501 (2016) (VSV 2016) and its Supplemental Material:
  the same form with an effective width ``W_eff(phi - phi0)`` (a Lambert-W expression) and
  ``eta0(W1, W2)``; the beam parameters ``(x0, y0, Theta1, Theta2)``,
  ``Theta_i = ln(W_i^2 / W0^2)``, are jointly Gaussian and ``phi`` is uniform.
  For the uplink, qsat takes the centroid statistics (jitter, bias, beam wander) and ``<W^2>``
  (the short-term radius) from its Andrews-Phillips budget and only the ratios of the shape
  fluctuations from C. Liorni, H. Kampermann & D. Bruss, NJP 21, 093055 (2019) (LKB 2019; after
  D. Vasylyev, W. Vogel & F. Moll, "Satellite-mediated quantum atmospheric links", PRA 99,
  053830 (2019)), see :func:`elliptic_inputs` and :func:`uplink_shape_statistics`.

Equation numbers marked † could not be re-checked against the papers while writing (only
secondary sources were at hand); the formulas are checked against an exact quadrature over the
aperture (:func:`gaussian_disk_probability`) in ``tests/channel/test_ellipticbeam.py``.

Numerics: ``1 - exp(-x) I0(x)`` and ``ln(2 (1 - exp(-x/2)) / (1 - exp(-x) I0(x)))`` cancel badly
for the small ``x = 4 a^2 / W^2`` of satellite links (beams of metres on apertures of
decimetres); below ``x = 1`` both are summed as series without cancellation
(``exp(-x) I0(x) = M(1/2, 1, -2x)``, Kummer's function, Abramowitz & Stegun 13.6.3†). The
transmittance is evaluated as ``eta0 exp(-ell (r/a)^lambda)`` with ``ell = (a/R)^lambda``, which
stays finite for ``W1 = W2`` (where ``R`` of the ellipticity term is infinite).

Randomness: Philox4x32-10 (:mod:`qsat.random`) keyed by the seed with counter
``(sample index, stream, tag)`` as in :mod:`.sampling`: the sample index of step i, realisation j
is ``i * n_samples + j``, so draws depend on the seed only, never on chunking.
:func:`sample_elliptic_beam` is the NumPy/CuPy twin of ``kernels/fading.cu: elliptic_sample``.
"""

from __future__ import annotations

import math

import numpy as np

from ..backend import array_namespace
from ..errors import QsatInputError
from ..random import check_seed, normal2, u01
from .sampling import sample_rows

#: Philox tags of the elliptic-beam sampler ("EB"): centroid, shape (Theta1, Theta2), orientation.
TAG_CENTROID = 0x45420000
TAG_SHAPE = 0x45420001
TAG_ANGLE = 0x45420002

#: Columns of the elliptic-beam sampler input (:func:`elliptic_inputs`), one row per step.
ELLIPTIC_COLUMNS = ("t_rest", "aperture_radius_m", "obscuration_ratio", "w_st_m", "sigma_x_m", "sigma_y_m",
                    "bias_m", "theta_var", "theta_cov")

#: Beam-shape fluctuation coefficients of the uplink (LKB 2019, eqs. (14)-(16)†, after Vasylyev,
#: Vogel & Moll 2019): <W^2> = W_d^2 (1 + 2.6 q), <(dW_i^2)^2> = 1.2 q W_d^4,
#: <dW_1^2 dW_2^2> = -0.8 q W_d^4, q the path-integrated turbulence strength (no extinction term).
#: VSV 2016 (weak turbulence, horizontal path) has 2.96 in place of 2.6.
BROADENING_COEFF = 2.6
SHAPE_VAR_COEFF = 1.2
SHAPE_COV_COEFF = -0.8

#: Ways to evaluate a realisation's transmittance in :func:`sample_elliptic_beam`.
METHODS = ("closed_form", "exact")

_SERIES_TERMS = 30
_LAMBERT_ITERATIONS = 12


def _special(xp):
    if xp.__name__ == "numpy":
        import scipy.special as sp

        return sp
    import cupyx.scipy.special as sp

    return sp


def _series_g_d(x, xp):
    """(g, d) = (1 - e^-x I0(x), 2(1 - e^(-x/2)) - g) as series for 0 <= x <= 1, no cancellation.

    ``e^-x I0(x) = sum_n (1/2)_n / (n!)^2 (-2x)^n`` and ``1 - e^(-x/2) = -sum_{n>=1} (-x/2)^n / n!``;
    the n = 1 terms of d cancel exactly, so d starts at x^2 / 2.
    """
    g = xp.zeros_like(x)
    d = xp.zeros_like(x)
    c_kummer = 1.0  # (1/2)_n / (n!)^2 (-2)^n
    c_exp = 1.0  # (-1/2)^n / n!
    xn = xp.ones_like(x)
    for n in range(1, _SERIES_TERMS + 1):
        c_kummer *= (n - 0.5) / (n * n) * -2.0
        c_exp *= -0.5 / n
        xn = xn * x
        g = g - c_kummer * xn
        if n >= 2:
            d = d + (-2.0 * c_exp + c_kummer) * xn
    return g, d


def _shape_scale(x, xp):
    """(lambda, ell) of VSV 2012 for ``x = a^2 xi^2`` (``xi = 2/W`` for a circular beam).

    VSV 2012 eqs. (7)-(8)† (VSV 2016 Supplement, ``R(xi)``, ``lambda(xi)``†):
    ``ell = ln[2 (1 - e^(-x/2)) / (1 - e^-x I0(x))] = (a/R)^lambda`` and
    ``lambda = 2 x e^-x I1(x) / (1 - e^-x I0(x)) / ell``. As x -> 0: lambda -> 2, ell -> x/2.
    """
    sp = _special(xp)
    x = xp.asarray(x, dtype=xp.float64)
    small = x < 1.0
    xs = xp.where(small, x, 0.5)
    g_s, d_s = _series_g_d(xs, xp)
    xl = xp.where(small, 1.0, x)
    g_l = 1.0 - sp.i0e(xl)
    ell_l = xp.log(-2.0 * xp.expm1(-0.5 * xl) / g_l)
    with np.errstate(divide="ignore", invalid="ignore"):
        ell_s = xp.log1p(d_s / g_s)
        g = xp.where(small, g_s, g_l)
        ell = xp.where(small, ell_s, ell_l)
        lam = 2.0 * x * sp.i1e(x) / g / ell
    lam = xp.where(x > 0.0, lam, 2.0)
    ell = xp.where(x > 0.0, ell, 0.0)
    return lam, ell


def beam_wander_parameters(aperture_radius_m, beam_radius_m):
    """(eta0, lambda, R_m) of the beam-wander transmittance ``eta(r) = eta0 exp(-(r/R)^lambda)``.

    VSV 2012 eqs. (6)-(8)† for a circular Gaussian beam of 1/e^2 radius ``W`` on an aperture of
    radius ``a``: ``eta0 = 1 - exp(-2a^2/W^2)``,
    ``lambda = 8 (a^2/W^2) e^(-4a^2/W^2) I1(4a^2/W^2) / [1 - e^(-4a^2/W^2) I0(4a^2/W^2)]
    / ln{2 eta0 / [1 - e^(-4a^2/W^2) I0(4a^2/W^2)]}``,
    ``R = a ln{2 eta0 / [1 - e^(-4a^2/W^2) I0(4a^2/W^2)]}^(-1/lambda)``.
    """
    xp = array_namespace(aperture_radius_m, beam_radius_m)
    a = xp.asarray(aperture_radius_m, dtype=xp.float64)
    w = xp.asarray(beam_radius_m, dtype=xp.float64)
    lam, ell = _shape_scale(4.0 * a * a / (w * w), xp)
    with np.errstate(divide="ignore"):
        scale = a * ell ** (-1.0 / lam)
    return -xp.expm1(-2.0 * a * a / (w * w)), lam, scale


def beam_wander_transmittance(deflection_m, aperture_radius_m, beam_radius_m):
    """Transmittance of a circular Gaussian beam whose centre is ``deflection_m`` off the aperture centre.

    VSV 2012 eq. (5)†: ``eta = eta0 exp(-(r/R)^lambda)`` (:func:`beam_wander_parameters`),
    evaluated as ``eta0 exp(-ell (r/a)^lambda)``. Exact at r = 0 and r = a by construction.
    """
    xp = array_namespace(deflection_m, aperture_radius_m, beam_radius_m)
    a = xp.asarray(aperture_radius_m, dtype=xp.float64)
    w = xp.asarray(beam_radius_m, dtype=xp.float64)
    r = xp.abs(xp.asarray(deflection_m, dtype=xp.float64))
    lam, ell = _shape_scale(4.0 * a * a / (w * w), xp)
    with np.errstate(over="ignore"):  # (r/a)^lambda -> inf far outside: eta -> 0
        return -xp.expm1(-2.0 * a * a / (w * w)) * xp.exp(-ell * (r / a) ** lam)


def beam_wander_cdf(eta, aperture_radius_m, beam_radius_m, sigma_m):
    """CDF of the beam-wander PDT for an unbiased isotropic deflection (Rayleigh r, std ``sigma_m`` per axis).

    From VSV 2012 eq. (9)† (the log-negative Weibull distribution), integrated:
    ``F(eta) = exp[-(R^2 / (2 sigma^2)) ln(eta0/eta)^(2/lambda)]`` for ``0 < eta < eta0``, 1 above.
    """
    xp = array_namespace(eta)
    e = xp.asarray(eta, dtype=xp.float64)
    eta0, lam, scale = beam_wander_parameters(aperture_radius_m, beam_radius_m)
    with np.errstate(divide="ignore", invalid="ignore"):
        inner = xp.exp(-(scale * scale / (2.0 * sigma_m * sigma_m)) * xp.log(eta0 / e) ** (2.0 / lam))
    return xp.where(e >= eta0, 1.0, xp.where(e > 0.0, inner, 0.0))


def beam_wander_pdf(eta, aperture_radius_m, beam_radius_m, sigma_m, bias_m=0.0):
    """PDT of the beam-wander model: Rice-distributed deflection (bias ``d``, std ``sigma`` per axis).

    VSV 2012 eq. (9)†: with ``r(eta) = R ln(eta0/eta)^(1/lambda)``,
    ``P(eta) = R^2 / (sigma^2 lambda eta) ln(eta0/eta)^(2/lambda - 1)
    exp[-(r^2 + d^2) / (2 sigma^2)] I0(r d / sigma^2)`` on ``0 < eta < eta0`` (zero elsewhere);
    d = 0 is the log-negative Weibull law. (Written for ``eta = T^2``; the paper's is for T.)
    """
    xp = array_namespace(eta)
    sp = _special(xp)
    e = xp.asarray(eta, dtype=xp.float64)
    eta0, lam, scale = beam_wander_parameters(aperture_radius_m, beam_radius_m)
    inside = (e > 0.0) & (e < eta0)
    es = xp.where(inside, e, 0.5 * eta0)
    lg = xp.log(eta0 / es)
    r = scale * lg ** (1.0 / lam)
    s2 = sigma_m * sigma_m
    dens = (scale * scale / (s2 * lam * es) * lg ** (2.0 / lam - 1.0)
            * xp.exp(-(r - bias_m) ** 2 / (2.0 * s2)) * sp.i0e(r * bias_m / s2))
    return xp.where(inside, dens, 0.0)


def sample_beam_wander(n_samples: int, aperture_radius_m: float, beam_radius_m: float, sigma_m: float,
                       bias_m: float = 0.0, seed: int = 0, stream: int = 0, first_sample: int = 0):
    """``n_samples`` beam-wander transmittances: Gaussian centroid (bias on x, std sigma per axis).

    Philox counter ``(first_sample + j, stream, TAG_CENTROID)``: the same centroid draws as
    :func:`sample_elliptic_beam` for one step.
    """
    _check_positive("aperture_radius_m", aperture_radius_m)
    _check_positive("beam_radius_m", beam_radius_m)
    _check_non_negative("sigma_m", sigma_m)
    _check_non_negative("bias_m", bias_m)
    if not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise QsatInputError("n_samples", n_samples, "a positive integer")
    seed = check_seed(seed)
    index = np.arange(n_samples, dtype=np.uint64) + np.uint64(first_sample)
    z0, z1 = normal2(_block(index, stream, TAG_CENTROID, seed, np))
    r = np.hypot(bias_m + sigma_m * z0, sigma_m * z1)
    return beam_wander_transmittance(r, np.float64(aperture_radius_m), np.float64(beam_radius_m))


def _lambert_w_exp(u, xp):
    """Principal Lambert W of ``exp(u)``: solves ``w + ln w = u`` (no overflow for large u).

    Newton on the concave ``f(w) = w + ln w - u``: started at ``u - ln u`` (below the root) for
    u >= 1 and at ``ln(1 + e^u)`` (above it, first step lands below) otherwise, it increases
    monotonically to the root; 12 steps reach double precision for any u.
    """
    big = u >= 1.0
    w = xp.where(big, u - xp.log(xp.where(big, u, 1.0)), xp.log1p(xp.exp(xp.minimum(u, 1.0))))
    for _ in range(_LAMBERT_ITERATIONS):
        w = w - (w + xp.log(w) - u) * w / (1.0 + w)
        w = xp.maximum(w, 1e-300)
    return w


def _one_minus_i0e_times(p, s, xp):
    """``1 - I0(p) exp(-s)`` for 0 <= p <= s, without cancellation: ``-expm1(p - s) + e^(p-s) (1 - e^-p I0(p))``."""
    small = p < 1.0
    g_s, _ = _series_g_d(xp.where(small, p, 0.5), xp)
    g = xp.where(small, g_s, 1.0 - _special(xp).i0e(xp.where(small, 1.0, p)))
    return -xp.expm1(p - s) + xp.exp(p - s) * g


def _elliptic_disk(x0, y0, w1, w2, phi, a, xp):
    """Closed-form transmittance of an elliptic beam through a disk of radius a > 0 (see module doc)."""
    inv1 = 1.0 / (w1 * w1)
    inv2 = 1.0 / (w2 * w2)
    a2 = a * a
    # eta0, VSV 2016 eq. (5)† / Supplement eq. (S27)†: 1 - I0(a^2 |1/W1^2 - 1/W2^2|) e^(-a^2 (1/W1^2 + 1/W2^2))
    #   - 2 [1 - e^(-a^2 xi^2 / 2)] exp{-[(W1 + W2)^2 / |W1^2 - W2^2| / R(xi)]^lambda(xi)}, xi = 1/W1 - 1/W2
    first = _one_minus_i0e_times(a2 * xp.abs(inv1 - inv2), a2 * (inv1 + inv2), xp)
    xi2 = (1.0 / w1 - 1.0 / w2) ** 2
    lam_e, ell_e = _shape_scale(a2 * xi2, xp)
    round_beam = xi2 == 0.0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = xp.where(round_beam, 1.0, (w1 + w2) / xp.abs(w1 - w2))  # (W1 + W2)^2 / |W1^2 - W2^2|
        ecc = -2.0 * xp.expm1(-0.5 * a2 * xi2) * xp.exp(-ell_e * ratio ** lam_e)
    eta0 = first - xp.where(round_beam, 0.0, ecc)
    # W_eff(chi), chi = phi - phi0, VSV 2016 eq. (4)†:
    # W_eff^2 = 4 a^2 / W_L{(4 a^2 / (W1 W2)) exp[(a^2/W1^2)(1 + 2 cos^2 chi) + (a^2/W2^2)(1 + 2 sin^2 chi)]},
    # so 4 a^2 / W_eff^2 = W_L, and lambda, R are those of a circular beam of width W_eff.
    r0 = xp.hypot(x0, y0)
    chi = phi - xp.arctan2(y0, x0)
    c2 = xp.cos(chi) ** 2
    u = xp.log(4.0 * a2 / (w1 * w2)) + a2 * inv1 * (1.0 + 2.0 * c2) + a2 * inv2 * (3.0 - 2.0 * c2)
    lam, ell = _shape_scale(_lambert_w_exp(u, xp), xp)
    # VSV 2016 eq. (3)†: eta = eta0 exp{-[r0 / (a R(2/W_eff))]^lambda(2/W_eff)}
    with np.errstate(over="ignore"):  # (r0/a)^lambda -> inf far outside: eta -> 0, as it should
        return xp.clip(eta0, 0.0, 1.0) * xp.exp(-ell * (r0 / a) ** lam)


def elliptic_beam_transmittance(x0_m, y0_m, w1_m, w2_m, phi_rad, aperture_radius_m, obscuration_ratio=0.0):
    """Transmittance of an elliptic Gaussian beam through a circular (optionally annular) aperture.

    The approximate closed form of VSV 2016 eqs. (3)-(5)† (see the module doc). An annulus
    ``[eps a, a]`` is taken as the disk of radius a minus the disk of radius eps a, each by the
    closed form. Arrays broadcast; results lie in [0, 1]. Reduces to
    :func:`beam_wander_transmittance` for ``W1 = W2``. For the exact value see
    :func:`elliptic_beam_transmittance_exact`.
    """
    xp = array_namespace(x0_m, y0_m, w1_m, w2_m, phi_rad)
    x0, y0, w1, w2, phi = (xp.asarray(v, dtype=xp.float64) for v in (x0_m, y0_m, w1_m, w2_m, phi_rad))
    a = xp.asarray(aperture_radius_m, dtype=xp.float64)
    eps = xp.asarray(obscuration_ratio, dtype=xp.float64)
    outer = _elliptic_disk(x0, y0, w1, w2, phi, a, xp)
    has_inner = eps > 0.0
    if bool(xp.any(has_inner)):  # the inner disk only where there is one (twin: qe_annulus)
        outer = xp.where(has_inner, outer - _elliptic_disk(x0, y0, w1, w2, phi, xp.where(has_inner, eps * a, a), xp),
                         outer)
    return xp.clip(outer, 0.0, 1.0)


def gaussian_disk_probability(mean_x_m, mean_y_m, var_x_m2, var_y_m2, cov_xy_m2, radius_m, panels=32, nodes=16):
    """P(|X| <= radius) for a bivariate normal X: the exact reference of the transmittance.

    The inner integral over y across the chord ``|y| <= sqrt(a^2 - x^2)`` is done in closed form
    with the conditional normal of y given x (erf); the outer over x = a sin(t),
    t in [-pi/2, pi/2], by composite Gauss-Legendre (``panels`` x ``nodes``; the integrand is
    smooth, so the error falls exponentially once the narrowest marginal std is resolved:
    below 1e-12 for std > a/100 with the defaults). A Gaussian beam of covariance ``S`` has
    irradiance proportional to the N(x0, S/4) density, so its transmittance is this with
    covariance S/4 (plus any centroid covariance when averaging over a Gaussian centroid).
    """
    from scipy.special import ndtr

    mx, my, vx, vy, cxy, a = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (
        mean_x_m, mean_y_m, var_x_m2, var_y_m2, cov_xy_m2, radius_m)))
    g, gw = np.polynomial.legendre.leggauss(nodes)
    edges = np.linspace(-0.5 * math.pi, 0.5 * math.pi, panels + 1)
    half = 0.5 * (edges[1:] - edges[:-1])
    t = ((edges[:-1] + edges[1:])[:, None] * 0.5 + half[:, None] * g[None, :]).reshape(-1)
    wt = (half[:, None] * gw[None, :]).reshape(-1)
    x = a[..., None] * np.sin(t)
    chord = a[..., None] * np.cos(t)
    sx = np.sqrt(vx)[..., None]
    px = np.exp(-0.5 * ((x - mx[..., None]) / sx) ** 2) / (math.sqrt(2.0 * math.pi) * sx)
    m = my[..., None] + (cxy / vx)[..., None] * (x - mx[..., None])
    s = np.sqrt(np.maximum(vy - cxy * cxy / vx, 1e-300))[..., None]
    inner = ndtr((chord - m) / s) - ndtr((-chord - m) / s)
    return np.sum(px * inner * chord * wt, axis=-1)


def _beam_covariance(w1, w2, phi):
    """(S_xx, S_yy, S_xy) / 4 of an elliptic beam (semi-axis W1 at angle phi to the x axis)."""
    c, s = np.cos(phi), np.sin(phi)
    return (0.25 * (w1 * w1 * c * c + w2 * w2 * s * s), 0.25 * (w1 * w1 * s * s + w2 * w2 * c * c),
            0.25 * (w1 * w1 - w2 * w2) * s * c)


def elliptic_beam_transmittance_exact(x0_m, y0_m, w1_m, w2_m, phi_rad, aperture_radius_m, obscuration_ratio=0.0,
                                      panels=32, nodes=16):
    """Exact transmittance of the elliptic beam by quadrature over the aperture (NumPy; tests, references).

    ``eta = (2 / (pi W1 W2)) int_aperture exp(-2 (x - x0)^T S^-1 (x - x0)) d^2x`` (VSV 2016 eq. (1)†)
    via :func:`gaussian_disk_probability`; an annulus is the outer minus the inner disk.
    """
    x0, y0, w1, w2, phi = (np.asarray(v, dtype=np.float64) for v in (x0_m, y0_m, w1_m, w2_m, phi_rad))
    vx, vy, cxy = _beam_covariance(w1, w2, phi)
    a = np.asarray(aperture_radius_m, dtype=np.float64)
    outer = gaussian_disk_probability(x0, y0, vx, vy, cxy, a, panels, nodes)
    eps = np.asarray(obscuration_ratio, dtype=np.float64)
    if np.any(eps > 0.0):
        outer = outer - np.where(eps > 0.0, gaussian_disk_probability(x0, y0, vx, vy, cxy, eps * a, panels, nodes),
                                 0.0)
    return outer


def uplink_shape_statistics(diffraction_radius_m, short_term_radius_m, xp=None):
    """(theta_var, theta_cov) of Theta_i = ln(W_i^2 / <W^2>) for an uplink beam, from its broadening.

    LKB 2019 eqs. (14)-(16)† give, for a turbulent layer traversed at the start of the path,
    ``<W_i^2> = W_d^2 (1 + 2.6 q)``, ``<(dW_i^2)^2> = 1.2 q W_d^4`` and
    ``<dW_1^2 dW_2^2> = -0.8 q W_d^4`` (W_d the vacuum beam radius, q the path-integrated
    turbulence strength, sigma_R^2 (h/L) Omega^(5/6) in their notation). qsat takes the broadening
    ``2.6 q = <W^2>/W_d^2 - 1`` from its A&P uplink formulas (``short_term_radius_m``, the
    budget's W_ST, over the Cn2 profile) and keeps LKB's ratios, so
    ``<(dW^2)^2>/<W^2>^2 = (1.2/2.6) t / (1 + t)^2`` and the covariance ``(-0.8/2.6) t/(1 + t)^2``,
    ``t = W_ST^2 / W_d^2 - 1``. The log-normal moment matching of VSV 2016 eqs. (8)-(9)†
    (``<Theta> = ln[<W^2> / (W0^2 sqrt(1 + <(dW^2)^2>/<W^2>^2))]``,
    ``<dTheta_i dTheta_j> = ln(1 + <dW_i^2 dW_j^2> / (<W_i^2><W_j^2>))``) with ``W0^2 = <W^2>``
    gives ``<Theta> = -theta_var / 2``.
    """
    xp = xp or array_namespace(diffraction_radius_m, short_term_radius_m)
    wd = xp.asarray(diffraction_radius_m, dtype=xp.float64)
    wst = xp.asarray(short_term_radius_m, dtype=xp.float64)
    t = xp.maximum(wst * wst / (wd * wd) - 1.0, 0.0)
    f = t / ((1.0 + t) ** 2 * BROADENING_COEFF)
    return xp.log1p(SHAPE_VAR_COEFF * f), xp.log1p(SHAPE_COV_COEFF * f)


def elliptic_inputs(budget, range_m, params) -> np.ndarray:
    """The elliptic-beam sampler input ``(n, 9)`` (columns :data:`ELLIPTIC_COLUMNS`) for uplink steps.

    ``budget`` is a ``channel_step`` result ``(n, N_OUT)`` or a ``link_budget`` dict, ``range_m``
    the slant ranges of its steps and ``params`` the :class:`~.budget.LinkParameters` of the
    link. Columns: ``t_rest`` = the budget's static transmittance without the collection of the
    centred short-term beam (atmosphere, transmit truncation, field stop, optics); the receive
    aperture radius and obscuration; the mean short-term radius W_ST; the centroid rms per axis
    (transmitter jitter and beam wander, as the budget's ``fade_sigma_*``) and bias; and the
    Theta statistics of :func:`uplink_shape_statistics`.
    """
    from .beam import annulus_fraction, beam_radius
    from .budget import OUTPUTS

    if not params.uplink:
        raise QsatInputError("link.fading", "elliptic_beam", "an uplink (the elliptic-beam model is an uplink model)")
    if hasattr(budget, "keys"):
        col = {c: getattr(budget[c], "data", budget[c]) for c in OUTPUTS}
        xp = array_namespace(*col.values())
        col = {k: xp.asarray(v, dtype=xp.float64).reshape(-1) for k, v in col.items()}
    else:
        xp = array_namespace(budget)
        col = {c: budget[:, j] for j, c in enumerate(OUTPUTS)}
    d = xp.asarray(range_m, dtype=xp.float64).reshape(-1)
    w_st = col["beam_radius_m"]
    a, eps = params.rx_radius_m, params.rx_obscuration
    t_rest = col["fade_t_static"] / annulus_fraction(w_st, a, eps)
    w_d = beam_radius(d, params.waist_m, params.wavelength_m, params.m2)
    var, cov = uplink_shape_statistics(w_d, w_st, xp=xp)
    ones = xp.ones_like(w_st)
    return xp.stack([t_rest, a * ones, eps * ones, w_st, col["fade_sigma_x_m"], col["fade_sigma_y_m"],
                     col["fade_bias_m"], var, cov], axis=-1)


def _block(index, stream, tag, seed, xp):
    from .sampling import _block as block

    return block(index, stream, tag, seed, xp)


def sample_elliptic_beam(inputs, n_samples: int, seed: int, stream: int = 0, first_step: int = 0,
                         method: str = "closed_form"):
    """``n_samples`` elliptic-beam transmittance realisations per step: array (n_steps, n_samples).

    Per realisation (VSV 2016, model of eqs. (6)-(9)†): centroid ``x0 = bias + sigma_x z0``,
    ``y0 = sigma_y z1``; ``(Theta1, Theta2)`` bivariate normal with mean ``-theta_var/2``,
    variance ``theta_var`` and covariance ``theta_cov``, ``W_i = W_ST exp(Theta_i / 2)``;
    orientation ``phi`` uniform in [0, pi). The value is ``min(1, t_rest eta)`` with eta of
    :func:`elliptic_beam_transmittance`. NaN rows (padding) stay NaN.

    Parameters
    ----------
    inputs : array (n_steps, 9)
        Columns :data:`ELLIPTIC_COLUMNS` (:func:`elliptic_inputs`).
    n_samples : int
        Realisations per step.
    seed : int
        64-bit seed (the Philox key).
    stream : int
        32-bit stream number (e.g. Monte Carlo trial or pass), part of the counter.
    first_step : int
        Global index of the first row when sampling a chunk of a longer series.
    method : {"closed_form", "exact"}
        Transmittance of each realisation: the VSV 2016 closed form or the quadrature
        (:func:`elliptic_beam_transmittance_exact`, NumPy only, ~30x slower).
    """
    if method not in METHODS:
        raise QsatInputError("method", method, f"one of {', '.join(METHODS)}")
    seed = check_seed(seed)
    xp = array_namespace(inputs)
    inputs = xp.asarray(inputs, dtype=xp.float64)
    if inputs.ndim != 2 or inputs.shape[1] != len(ELLIPTIC_COLUMNS):
        raise QsatInputError("inputs", f"array of shape {tuple(inputs.shape)}",
                             f"shape (n_steps, {len(ELLIPTIC_COLUMNS)}) with columns {', '.join(ELLIPTIC_COLUMNS)}")
    n_steps = inputs.shape[0]
    index, f = sample_rows(xp, inputs, n_samples, first_step)
    t_rest, a, eps, w_st, sx, sy, bias, var, cov = (f[:, k] for k in range(len(ELLIPTIC_COLUMNS)))
    ok = xp.all(xp.isfinite(f), axis=1)
    a = xp.where(ok, a, 1.0)
    w_st = xp.where(ok, w_st, 1.0)
    z0, z1 = normal2(_block(index, stream, TAG_CENTROID, seed, xp))
    u0, u1 = normal2(_block(index, stream, TAG_SHAPE, seed, xp))
    ra = _block(index, stream, TAG_ANGLE, seed, xp)
    phi = math.pi * u01(ra[0], ra[1])
    sd = xp.sqrt(xp.maximum(var, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = xp.where(var > 0.0, cov / var, 0.0)
    theta1 = -0.5 * var + sd * u0
    theta2 = -0.5 * var + sd * (rho * u0 + xp.sqrt(xp.maximum(1.0 - rho * rho, 0.0)) * u1)
    transmittance = elliptic_beam_transmittance if method == "closed_form" else elliptic_beam_transmittance_exact
    eta = transmittance(bias + sx * z0, sy * z1, w_st * xp.exp(0.5 * theta1), w_st * xp.exp(0.5 * theta2), phi, a,
                        xp.where(ok, eps, 0.0))
    value = xp.where(ok, xp.minimum(t_rest * eta, 1.0), xp.nan)
    return value.reshape(n_steps, n_samples)


def sample_elliptic_beam_host(inputs, n_samples: int, seed: int, stream: int = 0, first_step: int = 0) -> np.ndarray:
    """The same draws from the host build of ``kernels/fading.cu: elliptic_sample`` (tests, CPU reference)."""
    from ..kernels import host_call

    inputs = np.ascontiguousarray(inputs, dtype=np.float64)
    out = np.empty((inputs.shape[0], n_samples))
    seed = check_seed(seed)
    host_call("fading", "elliptic_sample", inputs, out, inputs.shape[0], n_samples, first_step,
              seed - 2**64 if seed >= 2**63 else seed, stream)
    return out


def _check_positive(field, value):
    if not (isinstance(value, (int, float, np.floating, np.integer)) and math.isfinite(value) and value > 0):
        raise QsatInputError(field, value, "a positive finite number (SI units)")


def _check_non_negative(field, value):
    if not (isinstance(value, (int, float, np.floating, np.integer)) and math.isfinite(value) and value >= 0):
        raise QsatInputError(field, value, "a non-negative finite number (SI units)")
