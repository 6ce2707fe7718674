"""Gaussian beams: waist from divergence, beam radius at range, power collected by an aperture.

Conventions: ``w`` is the 1/e^2 irradiance radius, ``I(r) = 2P/(pi w^2) exp(-2 r^2/w^2)``;
a divergence is the **full** far-field angle at 1/e^2 irradiance (2 theta, theta = w(z)/z
for z >> z_R); M^2 is the embedded-Gaussian beam-quality factor.

References: B. E. A. Saleh & M. C. Teich, *Fundamentals of Photonics* (Wiley, 1991), Sec. 3.1
(eqs. (3.1-8), (3.1-11), (3.1-19)†); A. E. Siegman, "New developments in laser resonators",
Proc. SPIE 1224, 2 (1990) (M^2: w0 theta = M^2 lambda / pi). († equation numbers not
re-checked against the book while writing.)
"""

from __future__ import annotations

import math

from ..backend import array_namespace


def waist_from_divergence(divergence_full_rad, wavelength_m, m2=1.0):
    """1/e^2 waist radius w0 (m) of a beam with the given full divergence.

    Saleh & Teich eq. (3.1-19)† with Siegman's M^2: ``theta = M^2 lambda / (pi w0)``,
    theta the half-angle, so ``w0 = 2 M^2 lambda / (pi divergence_full)``.
    """
    return 2.0 * m2 * wavelength_m / (math.pi * divergence_full_rad)


def divergence_from_waist(waist_m, wavelength_m, m2=1.0):
    """Full 1/e^2 far-field divergence (rad) of a beam of waist ``waist_m``; inverse of the above."""
    return 2.0 * m2 * wavelength_m / (math.pi * waist_m)


def rayleigh_range(waist_m, wavelength_m, m2=1.0):
    """Rayleigh range z_R = pi w0^2 / (M^2 lambda) (Saleh & Teich eq. (3.1-11)†)."""
    return math.pi * waist_m * waist_m / (m2 * wavelength_m)


def beam_radius(range_m, waist_m, wavelength_m, m2=1.0):
    """Beam radius w(z) = w0 sqrt(1 + (z/z_R)^2) (Saleh & Teich eq. (3.1-8)†), waist at the transmitter."""
    xp = array_namespace(range_m)
    z = xp.asarray(range_m, dtype=xp.float64) / rayleigh_range(waist_m, wavelength_m, m2)
    return waist_m * xp.sqrt(1.0 + z * z)


def annulus_fraction(beam_radius_m, outer_radius_m, obscuration_ratio=0.0):
    """Fraction of a centred Gaussian beam's power inside an annular aperture.

    Integral of I(r) over ``eps a <= r <= a``:
    ``exp(-2 (eps a)^2 / w^2) - exp(-2 a^2 / w^2)`` (from the irradiance of Saleh & Teich
    eq. (3.1-7)†). Used both for truncation at the transmit aperture and for collection by
    the receive aperture.
    """
    xp = array_namespace(beam_radius_m)
    w2 = xp.asarray(beam_radius_m, dtype=xp.float64) ** 2
    a2 = outer_radius_m * outer_radius_m
    inner = xp.exp(-2.0 * (obscuration_ratio * obscuration_ratio * a2) / w2)
    return inner - xp.exp(-2.0 * a2 / w2)


def airy_fwhm(wavelength_m, aperture_m):
    """FWHM (rad) of the Airy pattern of a circular aperture, 1.029 lambda / D (Born & Wolf, *Principles of Optics*, Sec. 8.5.2)."""
    return 1.029 * wavelength_m / aperture_m


def diffraction_limited_fov(wavelength_m, aperture_m):
    """Full angle (rad) to the first Airy zero, 2 x 1.2197 lambda / D (Born & Wolf, *Principles of Optics*, Sec. 8.5.2)."""
    return 2.0 * 1.2197 * wavelength_m / aperture_m
