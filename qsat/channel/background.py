"""Background light reaching the detector: sky radiance by condition, photon counts.

Downlinks see the sky behind the satellite; the condition of each step follows the Sun and
Moon altitudes from the pass engine: **day** (Sun above the horizon), **twilight** (Sun
between 0 and -18 deg: log(radiance) interpolated linearly in Sun altitude between the day
value at 0 deg and the night value at -18 deg, the astronomical-twilight limit), **night**
(Sun below -18 deg; the full-Moon value when the Moon is above the horizon). Uplink
receivers look down at the Earth: sunlit albedo ``rho E_sun sin(h_sun) / pi`` (Lambertian
ground, attenuated by the zenith transmittance twice) plus the ground's own night light.

Counts at the detector input (before detector efficiency), for a field of view of full angle
``FOV`` (solid angle ``Omega = 2 pi (1 - cos(FOV/2))``), collecting area A, filter width
``dlambda`` and receive efficiency ``eta``:
``N = L_lambda Omega A dlambda eta lambda / (h c)`` (photons/s), the radiometric equation of
e.g. Miao et al., New J. Phys. 7, 215 (2005), eq. (1)†, and Bourgoin et al., New J. Phys. 15,
023006 (2013), Sec. 4 († equation number not re-checked).

Radiances come from ``ephemerides/atmosphere/sky_radiance.csv`` (indicative values; see its
provenance header) unless the scenario overrides them.
"""

from __future__ import annotations

import csv
import math
from functools import cache

import numpy as np

from .._paths import ephemerides_dir
from ..backend import array_namespace

PLANCK_J_S = 6.62607015e-34  # exact, SI 2019
SPEED_OF_LIGHT_M_S = 299792458.0  # exact
TWILIGHT_LIMIT_RAD = math.radians(-18.0)

#: Wavelength range covered by the sky-radiance table (m).
TABLE_MIN_M = 550e-9
TABLE_MAX_M = 1650e-9


@cache
def radiance_table() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """condition -> (wavelength_m, value in SI: W m^-2 sr^-1 m^-1, or W m^-2 m^-1 for solar_toa)."""
    rows: dict[str, list[tuple[float, float]]] = {}
    with open(ephemerides_dir() / "atmosphere" / "sky_radiance.csv", encoding="utf-8") as fh:
        for r in csv.DictReader(line for line in fh if not line.startswith("#")):
            # per nm -> per m of wavelength
            rows.setdefault(r["condition"], []).append(
                (float(r["wavelength_nm"]) * 1e-9, float(r["radiance_W_m2_sr_nm"]) * 1e9))
    return {k: tuple(np.array(sorted(v)).T) for k, v in rows.items()}


def tabulated(condition: str, wavelength_m: float) -> float:
    """Table value at ``wavelength_m`` (log-log interpolation, flat outside the nodes of a row)."""
    lam, val = radiance_table()[condition]
    return float(np.exp(np.interp(math.log(wavelength_m), np.log(lam), np.log(val))))


def photon_energy_j(wavelength_m: float) -> float:
    return PLANCK_J_S * SPEED_OF_LIGHT_M_S / wavelength_m


def fov_solid_angle(fov_full_rad: float) -> float:
    """Solid angle (sr) of a circular field of view of full angle ``fov_full_rad``."""
    return 2.0 * math.pi * (1.0 - math.cos(0.5 * fov_full_rad))


def counts_coefficient(wavelength_m, fov_full_rad, area_m2, filter_width_m, efficiency):
    """Photons/s per unit spectral radiance (W m^-2 sr^-1 m^-1): Omega A dlambda eta / (h c / lambda)."""
    return fov_solid_angle(fov_full_rad) * area_m2 * filter_width_m * efficiency / photon_energy_j(wavelength_m)


def downlink_sky_radiance(sun_altitude_rad, moon_altitude_rad, day, night, moon, xp=None):
    """Sky spectral radiance by condition (see module doc); same units as the inputs."""
    xp = xp or array_namespace(sun_altitude_rad)
    sun = xp.asarray(sun_altitude_rad, dtype=xp.float64)
    night_now = xp.where(xp.asarray(moon_altitude_rad) > 0.0, moon, night)
    frac = xp.clip((sun - TWILIGHT_LIMIT_RAD) / (0.0 - TWILIGHT_LIMIT_RAD), 0.0, 1.0)
    return xp.exp(xp.log(night_now) + frac * (math.log(day) - xp.log(night_now)))


def uplink_ground_radiance(sun_altitude_rad, albedo_coefficient, ground_night, xp=None):
    """Upward spectral radiance of the ground seen from orbit: albedo term + night light."""
    xp = xp or array_namespace(sun_altitude_rad)
    return albedo_coefficient * xp.maximum(xp.sin(sun_altitude_rad), 0.0) + ground_night
