"""Optical turbulence along slant paths: Cn2 profiles, r0, isoplanatic angle, Rytov variance,
scintillation with aperture averaging, uplink beam spread and beam wander, fading laws.

A profile is a set of layers ``(height_m, weight)`` with ``weight = Cn2 dh`` (m^(1/3)),
heights above the station. The Hufnagel-Valley model is discretised once by Gauss-Legendre
quadrature (:func:`hufnagel_valley_layers`); a user's layered profile is used as given. The
path integrals every step needs reduce to a few profile moments (:class:`ProfileMoments`)
because, inside the turbulent layer (< 30 km), the path is straight with
``dz = sec(zeta) dh`` (plane-parallel). The one integral that does not factor, the
aperture-averaged scintillation, is tabulated once per profile in the single variable
``c = k D^2 cos(zeta) / 16`` (:meth:`ProfileMoments.aperture_table`).

Main reference: L. C. Andrews & R. L. Phillips, *Laser Beam Propagation through Random
Media*, 2nd ed. (SPIE Press, 2005), ch. 12 ("Propagation through the atmosphere:
uplink/downlink"), cited as A&P with the equation number; numbers marked † could not be
re-checked against the book while writing (formulas were cross-checked with ITU-R P.1621/
P.1622 and the validation cases).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ..backend import array_namespace

#: Turbulence is integrated up to this height above the station (m); HV-5/7 above 40 km
#: contributes < 1e-4 of any moment used here.
PROFILE_TOP_M = 40_000.0

#: Elevation below which the plane-parallel sec(zeta) is held constant (rad): the weak-path
#: formulas diverge at the horizon and the flat-layer geometry is wrong there anyway.
SEC_ELEVATION_FLOOR_RAD = math.radians(1.0)

# Gauss-Legendre panels (m): fine near the ground (100 m scale of the HV ground term).
_PANELS_M = (0.0, 300.0, 1000.0, 3000.0, 7000.0, 12000.0, 20000.0, PROFILE_TOP_M)
_NODES_PER_PANEL = 16


def hufnagel_valley_cn2(height_m, ground_cn2=1.7e-14, rms_wind_m_s=21.0):
    """Hufnagel-Valley Cn2(h) (m^(-2/3)), h above ground.

    A&P eq. (12.1)† (also ITU-R P.1621-2 eq. (6)†):
    ``Cn2 = 0.00594 (v/27)^2 (1e-5 h)^10 exp(-h/1000) + 2.7e-16 exp(-h/1500) + A exp(-h/100)``.
    With A = 1.7e-14 m^(-2/3) and v = 21 m/s this is HV-5/7 (r0 = 5 cm, theta0 = 7 urad at 0.5 um).
    """
    xp = array_namespace(height_m)
    h = xp.asarray(height_m, dtype=xp.float64)
    return (0.00594 * (rms_wind_m_s / 27.0) ** 2 * (1e-5 * h) ** 10 * xp.exp(-h / 1000.0)
            + 2.7e-16 * xp.exp(-h / 1500.0) + ground_cn2 * xp.exp(-h / 100.0))


def hufnagel_valley_layers(ground_cn2=1.7e-14, rms_wind_m_s=21.0):
    """HV profile as (heights_m, weights = Cn2 dh) on Gauss-Legendre nodes (112 layers)."""
    x, w = np.polynomial.legendre.leggauss(_NODES_PER_PANEL)
    heights, weights = [], []
    for lo, hi in zip(_PANELS_M[:-1], _PANELS_M[1:]):
        h = 0.5 * (hi - lo) * x + 0.5 * (hi + lo)
        heights.append(h)
        weights.append(0.5 * (hi - lo) * w * hufnagel_valley_cn2(h, ground_cn2, rms_wind_m_s))
    return np.concatenate(heights), np.concatenate(weights)


@dataclass(frozen=True)
class ProfileMoments:
    """Moments of a layered Cn2 profile used by the per-step formulas.

    ``mu0 = sum(w)``, ``mu1 = sum(w h)``, ``mu53 = sum(w h^(5/3))``, ``mu56 = sum(w h^(5/6))``
    (SI units: m^(1/3), m^(4/3), m^2, m^(7/6)).
    """

    heights_m: np.ndarray
    weights: np.ndarray
    aperture_c_m: np.ndarray = field(init=False, repr=False)
    aperture_j: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        c, j = self._aperture_table()
        object.__setattr__(self, "aperture_c_m", c)
        object.__setattr__(self, "aperture_j", j)

    @cached_property
    def mu0(self) -> float:
        return float(np.sum(self.weights))

    @cached_property
    def mu1(self) -> float:
        return float(np.sum(self.weights * self.heights_m))

    @cached_property
    def mu53(self) -> float:
        return float(np.sum(self.weights * self.heights_m ** (5.0 / 3.0)))

    @cached_property
    def mu56(self) -> float:
        return float(np.sum(self.weights * self.heights_m ** (5.0 / 6.0)))

    def _aperture_table(self, n: int = 96):
        """J(c) = Re sum w [(c + i h)^(5/6) - c^(5/6)] on log-spaced c (m), c -> 0 first.

        From A&P eq. (12.39)† for the downlink (plane wave) aperture-averaged irradiance
        variance, sigma_I^2(D) = 8.70 k^(7/6) sec^(11/6)(zeta) (H - h0)^(5/6) Re int Cn2
        {[kD^2/(16L) + i (h-h0)/(H-h0)]^(5/6) - [kD^2/(16L)]^(5/6)} dh, with L = (H - h0) sec(zeta):
        factoring (H - h0)^(-5/6) out of the brackets leaves J(c) with c = k D^2 cos(zeta)/16,
        so sigma_I^2(D) = 8.70 k^(7/6) sec^(11/6)(zeta) J(c) for any satellite height.
        """
        c = np.concatenate([[0.0], np.geomspace(1e-3, 1e6, n - 1)])
        h = self.heights_m[None, :]
        z = c[:, None] + 1j * h
        j = np.sum(self.weights[None, :] * (np.real(z ** (5.0 / 6.0)) - c[:, None] ** (5.0 / 6.0)), axis=1)
        return c, j


def profile_moments(heights_m, weights) -> ProfileMoments:
    return ProfileMoments(np.asarray(heights_m, dtype=np.float64), np.asarray(weights, dtype=np.float64))


def sec_zenith(zenith_rad, xp=None):
    """sec(zeta) for the plane-parallel path integrals, held at its 1-degree-elevation value below."""
    xp = xp or array_namespace(zenith_rad)
    cos_z = xp.maximum(xp.cos(xp.asarray(zenith_rad, dtype=xp.float64)), math.sin(SEC_ELEVATION_FLOOR_RAD))
    return 1.0 / cos_z


def fried_parameter(wavelength_m, sec_z, mu0):
    """Fried parameter r0 (m) of a plane wave along the slant path.

    A&P eq. (12.25)†: ``r0 = [0.423 k^2 sec(zeta) int Cn2 dh]^(-3/5)``
    (Fried, J. Opt. Soc. Am. 56, 1372 (1966)).
    """
    k = 2.0 * math.pi / wavelength_m
    return (0.423 * k * k * sec_z * mu0) ** (-0.6)


#: Long-exposure seeing FWHM in units of lambda / r0 (Roddier, Prog. Opt. 19, 281 (1981), Sec. 3.3†).
SEEING_FWHM_COEFF = 0.98

#: Variance of the Zernike (Z-)tilt angle per axis in units of (lambda/D)^2 (D/r0)^(5/3). From
#: Noll, J. Opt. Soc. Am. 66, 207 (1976), Table IV: the residual phase variance after removing
#: piston is Delta_1 = 1.0299 (D/r0)^(5/3) and after removing both tilts Delta_3 = 0.134 (D/r0)^(5/3),
#: so each tilt coefficient a_2, a_3 (Noll's Z_2 = 2 rho cos theta) carries (Delta_1 - Delta_3)/2 rad^2;
#: a phase a_2 2 rho cos theta over radius D/2 tilts the wavefront by the angle 2 lambda a_2 / (pi D),
#: hence 4/pi^2 (Delta_1 - Delta_3)/2 = 0.1815 (the G-tilt value of Tyler, J. Opt. Soc. Am. A 11,
#: 358 (1994) is 0.170).
Z_TILT_VARIANCE_COEFF = 4.0 / math.pi ** 2 * 0.5 * (1.0299 - 0.134)


def tilt_variance_per_axis(wavelength_m, aperture_m, r0_m):
    """Variance (rad^2) per axis of the image motion (Z-tilt) in an aperture of diameter D.

    ``sigma_t^2 = 0.1815 (lambda/D)^2 (D/r0)^(5/3)`` (:data:`Z_TILT_VARIANCE_COEFF`, from Noll 1976).
    """
    return Z_TILT_VARIANCE_COEFF * (wavelength_m / aperture_m) ** 2 * (aperture_m / r0_m) ** (5.0 / 3.0)


def seeing_fwhm(wavelength_m, r0_m, aperture_m=None, tip_tilt: bool = False, xp=None):
    """FWHM (rad) of the seeing part of the focal spot of a ground telescope.

    Long exposure: ``0.98 lambda / r0`` (:data:`SEEING_FWHM_COEFF`). With the image motion
    removed by a tip-tilt loop (``tip_tilt``, aperture ``aperture_m``), the long-exposure spot
    is the short-exposure spot convolved with the Gaussian motion of per-axis variance
    :func:`tilt_variance_per_axis`; treating both spots as Gaussians, their variances subtract:
    ``FWHM_tt^2 = FWHM^2 - 8 ln2 sigma_t^2`` (floored at 0: for D below ~r0 the spot is set by
    diffraction, added separately by the budget). The correction is perfect (no loop residual).
    """
    xp = xp or array_namespace(r0_m)
    r0 = xp.asarray(r0_m, dtype=xp.float64)
    f2 = (SEEING_FWHM_COEFF * wavelength_m / r0) ** 2
    if tip_tilt:
        f2 = xp.maximum(f2 - 8.0 * math.log(2.0) * tilt_variance_per_axis(wavelength_m, aperture_m, r0), 0.0)
    return xp.sqrt(f2)


def isoplanatic_angle(wavelength_m, sec_z, mu53):
    """Isoplanatic angle theta0 (rad).

    A&P eq. (12.26)†: ``theta0 = [2.914 k^2 sec^(8/3)(zeta) int Cn2 h^(5/3) dh]^(-3/5)``
    (Fried, J. Opt. Soc. Am. 72, 52 (1982)).
    """
    k = 2.0 * math.pi / wavelength_m
    return (2.914 * k * k * sec_z ** (8.0 / 3.0) * mu53) ** (-0.6)


def rytov_variance(wavelength_m, sec_z, mu56):
    """Rytov variance sigma_R^2 of a plane wave (downlink), point receiver.

    A&P eq. (12.38)†, ITU-R P.1622 eq. (4a)†:
    ``sigma_R^2 = 2.25 k^(7/6) sec^(11/6)(zeta) int Cn2 (h - h0)^(5/6) dh``.
    Used for uplinks too (spherical-wave weighting (1 - h/H)^(5/6) ~ 1 for H >> 20 km).
    """
    k = 2.0 * math.pi / wavelength_m
    return 2.25 * k ** (7.0 / 6.0) * sec_z ** (11.0 / 6.0) * mu56


def scintillation_log_variances(rytov, spherical: bool = False, xp=None):
    """Large- and small-scale log-irradiance variances (sigma_lnX^2, sigma_lnY^2), weak to strong.

    A&P Sec. 9.6 and eqs. (12.44)-(12.45)† (extended Rytov theory, zero inner scale): plane wave
    ``sigma_lnX^2 = 0.49 s / (1 + 1.11 s^(6/5))^(7/6)``, ``sigma_lnY^2 = 0.51 s / (1 + 0.69 s^(6/5))^(5/6)``
    with ``s = sigma_R^2``; spherical wave uses 0.56 in place of 1.11 (and
    sigma_R^2 of the spherical wave). Point-receiver scintillation index
    ``sigma_I^2 = exp(sigma_lnX^2 + sigma_lnY^2) - 1``.
    """
    xp = xp or array_namespace(rytov)
    s = xp.asarray(rytov, dtype=xp.float64)
    s65 = s ** 1.2
    c = 0.56 if spherical else 1.11
    return 0.49 * s / (1.0 + c * s65) ** (7.0 / 6.0), 0.51 * s / (1.0 + 0.69 * s65) ** (5.0 / 6.0)


def scintillation_index_point(rytov, spherical: bool = False, xp=None):
    """Point-receiver scintillation index sigma_I^2 (A&P extended Rytov, see above)."""
    xp = xp or array_namespace(rytov)
    lx, ly = scintillation_log_variances(rytov, spherical, xp=xp)
    return xp.expm1(lx + ly)


def aperture_averaging_factor(wavelength_m, aperture_m, sec_z, moments: ProfileMoments, xp=None):
    """Downlink aperture-averaging factor A = sigma_I^2(D) / sigma_I^2(0) in weak turbulence.

    Ratio of A&P eq. (12.39)† at aperture D to its D -> 0 limit, J(c)/J(0) with
    c = k D^2 cos(zeta)/16 (see :meth:`ProfileMoments._aperture_table`); interpolated
    log-linearly in c. Applied to the extended-Rytov point index as a multiplicative
    factor (weak-theory averaging; an approximation in moderate turbulence).
    """
    xp = xp or array_namespace(sec_z)
    k = 2.0 * math.pi / wavelength_m
    c = k * aperture_m ** 2 / (16.0 * xp.asarray(sec_z, dtype=xp.float64))
    table_c = xp.asarray(moments.aperture_c_m[1:])
    table_j = xp.asarray(moments.aperture_j[1:] / moments.aperture_j[0])
    x = xp.log(xp.clip(c, float(moments.aperture_c_m[1]), float(moments.aperture_c_m[-1])))
    return xp.exp(xp.interp(x, xp.log(table_c), xp.log(table_j)))


def gamma_gamma_parameters(rytov, aperture_factor=1.0, spherical: bool = False, xp=None):
    """Gamma-gamma (1/alpha, 1/beta) with unit mean and aperture-averaged variance.

    Point receiver: alpha = 1/expm1(sigma_lnX^2), beta = 1/expm1(sigma_lnY^2)
    (Al-Habash, Andrews & Phillips, Opt. Eng. 40, 1554 (2001), eqs. (14)-(15)†).
    Aperture averaging is applied to the small-scale term only (an aperture of the order
    of the coherence radius averages the small eddies first): 1/beta' is chosen so that
    (1 + 1/alpha)(1 + 1/beta') - 1 equals A sigma_I^2(0); when A sigma_I^2(0) < 1/alpha the
    small-scale term is dropped and 1/alpha' = A sigma_I^2(0).
    """
    xp = xp or array_namespace(rytov)
    lx, ly = scintillation_log_variances(rytov, spherical, xp=xp)
    inv_a = xp.expm1(lx)
    target = aperture_factor * xp.expm1(lx + ly)
    inv_b = (1.0 + target) / (1.0 + inv_a) - 1.0
    small = inv_b <= 0.0
    inv_a = xp.where(small, target, inv_a)
    inv_b = xp.where(small, 0.0, inv_b)
    return inv_a, inv_b


def uplink_long_term_spread(wavelength_m, waist_m, range_m, sec_z, mu0, mu1, satellite_height_m, xp=None):
    """Uplink long-term beam-spread term T (W_LT^2 = W^2 (1 + T)) and beam-wander variance <r_c^2>.

    A&P eq. (12.48)†: ``T = 4.35 mu_2u Lambda^(5/6) k^(7/6) (H-h0)^(5/6) sec^(11/6)(zeta)``,
    ``mu_2u = int Cn2 (1 - h/H)^(5/3) dh ~ mu0 - (5/3) mu1 / H``, Lambda = Lambda0/(1+Lambda0^2),
    Lambda0 = 2L/(k W0^2) (collimated beam).
    A&P eq. (12.59)†: ``<r_c^2> = 0.54 (H-h0)^2 sec^2(zeta) (lambda/(2W0))^2 (2W0/r0)^(5/3)``
    with r0 from mu_2u. (H - h0) sec(zeta) is taken as the slant range L.
    """
    xp = xp or array_namespace(range_m)
    k = 2.0 * math.pi / wavelength_m
    L = xp.asarray(range_m, dtype=xp.float64)
    mu2u = xp.maximum(mu0 - (5.0 / 3.0) * mu1 / satellite_height_m, 0.0)
    lam0 = 2.0 * L / (k * waist_m * waist_m)
    lam = lam0 / (1.0 + lam0 * lam0)
    t_lt = 4.35 * mu2u * lam ** (5.0 / 6.0) * k ** (7.0 / 6.0) * L ** (5.0 / 6.0) * sec_z
    r0_up = (0.423 * k * k * sec_z * mu2u) ** (-0.6)
    wander = 0.54 * L * L * (wavelength_m / (2.0 * waist_m)) ** 2 * (2.0 * waist_m / r0_up) ** (5.0 / 3.0)
    return t_lt, wander


def lognormal_pdf(x, sigma_ln2):
    """Unit-mean log-normal irradiance PDF (A&P Sec. 11.1†, log-normal model): ln I ~ N(-s/2, s), s = sigma_lnI^2."""
    x = np.asarray(x, dtype=np.float64)
    return np.exp(-(np.log(x) + 0.5 * sigma_ln2) ** 2 / (2 * sigma_ln2)) / (x * np.sqrt(2 * np.pi * sigma_ln2))


def gamma_gamma_pdf(x, alpha, beta):
    """Unit-mean gamma-gamma irradiance PDF, Al-Habash et al. (2001) eq. (6)†:
    ``p(I) = 2 (ab)^((a+b)/2) / (G(a) G(b)) I^((a+b)/2 - 1) K_(a-b)(2 sqrt(ab I))``."""
    from scipy.special import gammaln, kv

    x = np.asarray(x, dtype=np.float64)
    ab = alpha * beta
    log_pref = math.log(2.0) + 0.5 * (alpha + beta) * math.log(ab) - gammaln(alpha) - gammaln(beta)
    return np.exp(log_pref + (0.5 * (alpha + beta) - 1.0) * np.log(x)) * kv(alpha - beta, 2.0 * np.sqrt(ab * x))
