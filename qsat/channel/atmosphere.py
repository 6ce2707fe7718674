"""Atmospheric extinction along the slant path: air mass, zenith optical depth, transmittance.

The zenith optical depth at the station is the sum of a molecular (Rayleigh) part and an
aerosol part, each scaled to the station altitude, from either

* a **site preset** (``clear``, ``hazy``, ...), read from the shipped table
  ``ephemerides/atmosphere/zenith_extinction.csv`` (sea-level optical depths per wavelength,
  with provenance), or
* a **visibility** (Kim, McArthur & Korevaar 2001, as adopted by ITU-R P.1814), or
* a measured **aerosol optical depth** above the station at 550 nm (Angstrom's law in
  wavelength), or the station's row of the shipped annual-mean climatology
  ``ephemerides/atmosphere/aerosol_climatology.csv`` when nothing is stated, or
* a measured **zenith transmittance** at the station (taken as given).

The slant transmittance is ``exp(-tau_zenith * m(zeta))`` with the relative optical air
mass ``m`` of Kasten & Young (1989). Molecular absorption lines are not modelled: the
QKD wavelengths (785-850 nm, 1550 nm) sit in windows; wavelengths inside the strong
O2/H2O bands are flagged by :func:`absorption_band`.

Equation numbers marked † could not be re-checked against the original paper when this
module was written (only secondary copies were at hand); the formulas themselves were.
"""

from __future__ import annotations

import csv
import math
from functools import cache

import numpy as np

from .._paths import ephemerides_dir
from ..backend import array_namespace

#: Tabulated wavelength range of the site-preset table and of the Kim model (m).
WAVELENGTH_MIN_M = 400e-9
WAVELENGTH_MAX_M = 2000e-9

#: Aerosol scale height (m) used to turn a ground-level extinction coefficient into a
#: zenith optical depth and to scale it with station altitude. Elterman's (1968)
#: tropospheric aerosol model decays with a scale height of about 1.2 km (AFCRL-68-0153,
#: Table 1 trend); this single number is the main assumption of the visibility model.
AEROSOL_SCALE_HEIGHT_M = 1200.0

#: Strong molecular absorption bands (m) where the table and Kim's model are not valid:
#: O2 A band, H2O 0.94, 1.13, 1.38 and 1.87 um bands (HITRAN band centres, edges rounded).
ABSORPTION_BANDS_M = ((759e-9, 771e-9), (925e-9, 975e-9), (1110e-9, 1165e-9),
                      (1330e-9, 1490e-9), (1780e-9, 1990e-9))


def kasten_young_air_mass(zenith_rad, xp=None):
    """Relative optical air mass m(zeta), Kasten & Young (1989).

    Kasten & Young, "Revised optical air mass tables and approximation formula",
    Appl. Opt. 28, 4735 (1989), eq. (3)†:
    ``m = 1 / (cos(zeta) + 0.50572 (96.07995 deg - zeta)^-1.6364)`` with zeta in degrees.
    Finite at the horizon (about 37.9); zenith angles are clipped to [0, 90] deg, so a
    step slightly below the geometric horizon gets the horizon value, never NaN.

    Parameters
    ----------
    zenith_rad : array_like
        Zenith angle (rad).
    """
    xp = xp or array_namespace(zenith_rad)
    z = xp.clip(xp.asarray(zenith_rad, dtype=xp.float64), 0.0, 0.5 * math.pi)
    z_deg = z * (180.0 / math.pi)
    return 1.0 / (xp.cos(z) + 0.50572 * (96.07995 - z_deg) ** -1.6364)


def pressure_ratio(altitude_m, xp=None):
    """p(h)/p0 in the troposphere of the U.S. Standard Atmosphere 1976.

    U.S. Standard Atmosphere 1976 (NOAA-S/T 76-1562), eq. (33a) with the layer-0 lapse
    rate -6.5 K/km from 288.15 K: ``p/p0 = (1 - 2.25577e-5 H)^5.25588``, with the geopotential
    height ``H = r0 h / (r0 + h)``, r0 = 6356766 m (ibid. eq. (18)).
    """
    xp = xp or array_namespace(altitude_m)
    h = xp.asarray(altitude_m, dtype=xp.float64)
    geopotential = 6356766.0 * h / (6356766.0 + h)
    return (1.0 - 2.25577e-5 * geopotential) ** 5.25588


def rayleigh_optical_depth(wavelength_m):
    """Sea-level zenith Rayleigh optical depth.

    Hansen & Travis, "Light scattering in planetary atmospheres", Space Sci. Rev. 16, 527
    (1974), eq. (2.29)†: ``tau_R = 0.008569 lambda^-4 (1 + 0.0113 lambda^-2 + 0.00013 lambda^-4)``
    with lambda in micrometres, for p0 = 1013.25 hPa.
    """
    lam_um = np.asarray(wavelength_m, dtype=np.float64) * 1e6
    return 0.008569 * lam_um ** -4 * (1.0 + 0.0113 * lam_um ** -2 + 0.00013 * lam_um ** -4)


def kim_size_exponent(visibility_m):
    """Size-distribution exponent q(V) of Kim, McArthur & Korevaar (2001).

    Kim, McArthur & Korevaar, "Comparison of laser beam propagation at 785 nm and
    1550 nm in fog and haze for optical wireless communications", Proc. SPIE 4214, 26
    (2001), eq. (3)† (also ITU-R P.1814 Sec. 2.2.1): q = 1.6 (V > 50 km), 1.3 (6-50 km),
    0.16 V + 0.34 (1-6 km), V - 0.5 (0.5-1 km), 0 (V < 0.5 km), V in km.
    """
    v_km = np.asarray(visibility_m, dtype=np.float64) / 1000.0
    return np.select([v_km > 50.0, v_km > 6.0, v_km > 1.0, v_km > 0.5],
                     [1.6, 1.3, 0.16 * v_km + 0.34, v_km - 0.5], 0.0)


def kim_extinction_coefficient(wavelength_m, visibility_m):
    """Ground-level aerosol extinction coefficient (1/m) from the visibility.

    Kim et al. (2001) eq. (2)†: ``sigma = (3.91 / V) (lambda / 550 nm)^-q(V)``; 3.91 is the
    Koschmieder constant for a 2 % contrast threshold.
    """
    q = kim_size_exponent(visibility_m)
    return 3.91 / np.asarray(visibility_m, dtype=np.float64) * (
        np.asarray(wavelength_m, dtype=np.float64) / 550e-9) ** (-q)


def aerosol_optical_depth_from_visibility(wavelength_m, visibility_m):
    """Sea-level zenith aerosol optical depth: Kim's coefficient times the aerosol scale height."""
    return kim_extinction_coefficient(wavelength_m, visibility_m) * AEROSOL_SCALE_HEIGHT_M


def aerosol_optical_depth_at(wavelength_m, aod_550, angstrom_exponent=1.3):
    """Aerosol optical depth at ``wavelength_m`` from the 550 nm value: Angstrom's law.

    Angstrom, "On the atmospheric transmission of sun radiation and on dust in the air",
    Geogr. Ann. 11, 156 (1929): ``tau_a(lambda) = tau_a(550 nm) (lambda / 550 nm)^-alpha``; alpha = 1.3
    is Angstrom's mean for continental air (ibid.), the value AERONET sites scatter around.
    """
    return float(aod_550) * (float(wavelength_m) / 550e-9) ** (-float(angstrom_exponent))


def zenith_optical_depth(tau_rayleigh_0, tau_aerosol_0, station_altitude_m):
    """Zenith optical depth above a station: Rayleigh scaled by pressure, aerosol by its scale height."""
    return (tau_rayleigh_0 * pressure_ratio(station_altitude_m)
            + tau_aerosol_0 * np.exp(-np.asarray(station_altitude_m, dtype=np.float64) / AEROSOL_SCALE_HEIGHT_M))


def slant_transmittance(tau_zenith, zenith_rad, xp=None):
    """Beer-Lambert transmittance along the slant path, ``exp(-tau_zenith * m(zeta))``."""
    xp = xp or array_namespace(zenith_rad)
    return xp.exp(-tau_zenith * kasten_young_air_mass(zenith_rad, xp=xp))


def absorption_band(wavelength_m) -> tuple[float, float] | None:
    """The strong absorption band containing ``wavelength_m``, or None."""
    for lo, hi in ABSORPTION_BANDS_M:
        if lo <= wavelength_m <= hi:
            return lo, hi
    return None


def _table_path():
    return ephemerides_dir() / "atmosphere" / "zenith_extinction.csv"


@cache
def site_presets() -> dict[str, dict[str, np.ndarray]]:
    """The shipped site-preset table: preset -> {wavelength_m, tau_rayleigh, tau_aerosol} (sea level)."""
    rows: dict[str, list[tuple[float, float, float]]] = {}
    with open(_table_path(), encoding="utf-8") as fh:
        reader = csv.DictReader(line for line in fh if not line.startswith("#"))
        for r in reader:
            rows.setdefault(r["preset"], []).append(
                (float(r["wavelength_nm"]) * 1e-9, float(r["tau_rayleigh_sea_level"]),
                 float(r["tau_aerosol_sea_level"])))
    out = {}
    for name, values in rows.items():
        arr = np.array(sorted(values))
        out[name] = {"wavelength_m": arr[:, 0], "tau_rayleigh": arr[:, 1], "tau_aerosol": arr[:, 2]}
    return out


def preset_optical_depths(preset: str, wavelength_m: float) -> tuple[float, float]:
    """Sea-level (Rayleigh, aerosol) zenith optical depths of a preset at ``wavelength_m``.

    Interpolated linearly in log(tau) vs log(lambda) between tabulated wavelengths (both
    terms are power laws in lambda, so this is exact for them). The caller checks the range.
    """
    table = site_presets()[preset]
    lam = np.log(table["wavelength_m"])
    x = math.log(wavelength_m)
    tau_r = float(np.exp(np.interp(x, lam, np.log(table["tau_rayleigh"]))))
    tau_a = float(np.exp(np.interp(x, lam, np.log(table["tau_aerosol"]))))
    return tau_r, tau_a


@cache
def aerosol_climatology() -> dict[str, dict]:
    """Station (upper case) -> {aod_500nm, aod_500nm_low, aod_500nm_high, angstrom_exponent, kind, source}.

    From ``ephemerides/atmosphere/aerosol_climatology.csv`` (annual means of sun-photometer networks;
    its header gives the sources and what the values are not).
    """
    out = {}
    with open(ephemerides_dir() / "atmosphere" / "aerosol_climatology.csv", encoding="utf-8") as fh:
        for r in csv.DictReader(line for line in fh if not line.startswith("#")):
            row = {k: float(r[k]) for k in ("aod_500nm", "aod_500nm_low", "aod_500nm_high", "angstrom_exponent")}
            out[r["station"].strip().upper()] = {**row, "kind": r["kind"], "source": r["source"]}
    return out


def station_aerosol_optical_depth(station: str | None, wavelength_m: float) -> float | None:
    """Climatological aerosol optical depth above a catalogued station at ``wavelength_m``, or None."""
    row = aerosol_climatology().get((station or "").upper())
    if row is None:
        return None
    return row["aod_500nm"] * (wavelength_m / 500e-9) ** (-row["angstrom_exponent"])


def write_preset_table(path) -> None:
    """Regenerate the shipped preset table from the formulas above (see its header)."""
    presets = {"very_clear": 50e3, "clear": 23e3, "hazy": 5e3}
    wavelengths_nm = [400, 450, 500, 550, 600, 650, 700, 750, 785, 800, 810, 850, 900, 1000,
                      1064, 1100, 1200, 1300, 1550, 1600, 1700, 2000]
    header = (_TABLE_HEADER.strip() + "\n")
    lines = ["preset,visibility_km,wavelength_nm,tau_rayleigh_sea_level,tau_aerosol_sea_level"]
    for name, vis in presets.items():
        for nm in wavelengths_nm:
            lam = nm * 1e-9
            lines.append(f"{name},{vis / 1e3:g},{nm},{float(rayleigh_optical_depth(lam)):.6e},"
                         f"{float(aerosol_optical_depth_from_visibility(lam, vis)):.6e}")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(header + "\n".join(lines) + "\n")


_TABLE_HEADER = """
# ephemerides/atmosphere/zenith_extinction.csv -- sea-level zenith optical depths for qsat site presets
# Columns: preset, visibility_km, wavelength_nm, tau_rayleigh_sea_level, tau_aerosol_sea_level
# tau_rayleigh: Hansen & Travis, Space Sci. Rev. 16, 527 (1974), eq. (2.29), p0 = 1013.25 hPa.
# tau_aerosol: Kim, McArthur & Korevaar, Proc. SPIE 4214, 26 (2001), eqs. (2)-(3) (as in ITU-R P.1814)
#   for the preset's meteorological visibility, times an aerosol scale height of 1.2 km (Elterman 1968).
# Presets: very_clear (V = 50 km), clear (V = 23 km, the 'clear' rural standard of LOWTRAN/MODTRAN),
#   hazy (V = 5 km). qsat scales tau_rayleigh with the station pressure (US Std Atm 1976) and
#   tau_aerosol with exp(-h/1.2 km). Molecular absorption lines are NOT included: values inside the
#   O2 A band and the H2O bands (0.76, 0.94, 1.13, 1.38, 1.87 um) are not valid (qsat warns there).
# These are model values, computed by qsat.channel.atmosphere.write_preset_table (2026-11-26);
#   they are not measurements. Replace them with a site's measured zenith transmittance
#   ([link.atmosphere] zenith_transmittance) for precision work.
"""
