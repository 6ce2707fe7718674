"""Validation cases of the optical channel.

Code cross-checks (the same formula elsewhere):

* Hufnagel-Valley r0 and isoplanatic angle at 0.5 um, zenith (Sasiela's table, quoted second-hand);
* Kasten & Young (1989) Table II air masses near the horizon (quoted second-hand);
* ITU-R P.1622 point-receiver log-irradiance variance (one cell, quoted second-hand).

Predictions (published hardware in, measured loss out; nothing fitted):

* the Micius downlink of Liao et al., Nature 549, 43 (2017): the digitised loss-vs-range curve at
  645, 800, 1000 and 1200 km, its rise, and the paper's atmosphere and pointing budget terms;
* the single-downlink attenuation of Yin et al., PRL 119, 200501 (2017) at 530 and 1000 km;
* the two-downlink attenuation of Yin et al., Science 356, 1140 (2017) at summed distances of 1600 and
  2400 km, on the Delingha-Lijiang pass of 21 Dec 2016 from the shipped elements (chosen because its
  summed range spans the published one), and its increase;
* the Ngari -> Micius uplink loss of Han et al. (2019, arXiv:1912.06317) at 500 and 1400 km, and its
  increase.

Held-out calibration: the residual term fitted on Liao's curve (:func:`qsat.channel.calibration.fit_residual`)
tested on Yin's two values (another station, wavelength and experiment).

The links are :data:`MICIUS_XINGLONG_LINK`, :data:`YIN2017_DELINGHA_LINK` (both downlinks of the
dual-downlink cases) and :data:`NGARI_UPLINK`; the examples
``micius_xinglong.toml`` and ``micius_dual_downlink.toml`` state the same values (a test keeps
them equal). Values the papers do not give come from qsat's defaults and are named as such.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np

from . import Gap, case

_SASIELA = ("R. J. Sasiela, Electromagnetic Wave Propagation in Turbulence (Springer, 1994), HV moments table as "
            "reproduced in the Arroyo library docs (Hufnagel_Valley_model); the book was not among the searchable "
            "sources, so the values are not re-checked against it")
_KY = "Kasten & Young, Appl. Opt. 28, 4735 (1989)"
_LIAO = "Liao et al., Nature 549, 43 (2017)"
_YIN = "Yin et al., PRL 119, 200501 (2017)"

#: Micius orbit altitude for range -> elevation ("about 500 km", Liao et al. 2017).
MICIUS_ORBIT_ALTITUDE_M = 500e3


def _hv(wind):
    from ..channel import turbulence as turb

    return turb.profile_moments(*turb.hufnagel_valley_layers(1.7e-14, wind))


def _register_hv(wind, r0_cm):
    @case(id=f"channel.hv_r0_v{wind}", topic="channel",
          quantity=f"r0 at 500 nm, zenith, HV (A = 1.7e-14, v = {wind} m/s)", published=r0_cm, unit="cm",
          source=_SASIELA, locator=f"HV-{wind} column", tolerance=0.005, tolerance_kind="abs",
          tolerance_origin="printed to 3 digits: half a unit of the last digit", klass="code cross-check",
          note="differences of ~0.1 % (v = 35, 54 m/s round to the next digit): Sasiela's quadrature and "
               "integration limits are not stated; qsat integrates HV to 40 km above ground")
    def _():
        from ..channel.turbulence import fried_parameter

        return 100.0 * fried_parameter(500e-9, 1.0, _hv(wind).mu0)


for _wind, _r0 in ((21, 4.96), (35, 4.67), (54, 4.18), (72, 3.70)):
    _register_hv(_wind, _r0)


@case(id="channel.hv57_isoplanatic_angle", topic="channel",
      quantity="isoplanatic angle at 500 nm, zenith, HV-5/7 (v = 21 m/s)", published=6.90, unit="urad",
      source=_SASIELA, locator="HV-21 column", tolerance=0.005, tolerance_kind="abs",
      tolerance_origin="printed to 3 digits: half a unit of the last digit", klass="code cross-check",
      note="qsat uses A&P's constant 2.914 in theta0 = (2.914 k^2 mu_5/3)^(-3/5); the rounded 2.91 would give "
           "6.900 urad, so the 0.08 % gap is the constant, not the profile")
def _():
    from ..channel.turbulence import isoplanatic_angle

    return 1e6 * isoplanatic_angle(500e-9, 1.0, _hv(21).mu53)


def _register_ky(elevation_deg, air_mass):
    @case(id=f"channel.kasten_young_el{elevation_deg:g}", topic="channel",
          quantity=f"relative optical air mass at {elevation_deg:g} deg elevation", published=air_mass, unit="1",
          source=_KY, locator="Table II (ISO 1972 standard atmosphere)", tolerance=0.005, tolerance_kind="rel",
          tolerance_origin="qsat uses the paper's approximation formula, not its table; 0.5 % of the air mass is "
                           "< 0.01 dB at 850 nm in a clear atmosphere, the budget's requirement",
          klass="code cross-check",
          note="Table II values as quoted by a public atmosphere-model project citing the paper; the paper itself "
               "was not among the searchable sources (only its abstract), so they are not re-checked")
    def _():
        from ..channel.atmosphere import kasten_young_air_mass

        return float(kasten_young_air_mass(math.radians(90.0 - elevation_deg)))


for _el, _m in ((0.0, 38.0868), (1.0, 26.2595), (5.0, 10.3164), (10.0, 5.5841)):
    _register_ky(_el, _m)


@case(id="channel.itu_p1622_point_variance", topic="channel",
      quantity="point-receiver log-irradiance variance, 75 deg elevation, 1550 nm, HV v = 21 m/s, station 5.5 m",
      published=0.0659, unit="Np^2", source="ITU-R P.1622 (as quoted second-hand)",
      locator="Table 2 (one cell; quoted in a public project's design notes, not read in the Recommendation)",
      tolerance=0.00005, tolerance_kind="abs", tolerance_origin="printed to 3 digits: half a unit of the last digit",
      klass="code cross-check",
      note="the Recommendation's Table 2 could not be consulted; its eq. (4a) reportedly integrates to 20 km and "
           "uses 2.253 for 2.25: qsat integrates HV to 40 km (the 20-40 km layers add ~1 %); with a 20 km "
           "ceiling it gives 0.0663, and 0.0657 with heights measured from a 5.5 m station")
def _():
    from ..channel.turbulence import rytov_variance

    return rytov_variance(1550e-9, 1.0 / math.sin(math.radians(75.0)), _hv(21).mu56)


@case(id="channel.itu_p1622_table2", topic="channel",
      quantity="ITU-R P.1622 Table 2: the other point-receiver log-irradiance variances", published=0.0,
      unit="Np^2", source="ITU-R P.1622", locator="Table 2", tolerance=0.0, tolerance_kind="abs",
      tolerance_origin="n/a", klass="code cross-check")
def _():
    raise Gap("the Recommendation's Table 2 was not available in the sources at hand; qsat implements its "
              "eq. (4a) form (Rytov variance of a plane wave, 2.25 k^(7/6) sec^(11/6) int Cn2 h^(5/6) dh)")


# --- Experiments: published hardware in, measured loss out ------------------------------------------

#: Liao et al. (2017)'s Micius -> Xinglong QKD downlink as qsat inputs (SI); the receive aperture
#: (1 m) and altitude (960 m) come from the station catalog. Published: 850 nm; 300 mm transmitter;
#: divergence "~10 urad"; tracking accuracy ~1.2 urad; Xinglong receiving optics ~16 % (detectors
#: excluded). The paper does not say which convention its divergence uses: qsat reads it as the FWHM,
#: because the paper's own diffraction figure (~22 dB into 1 m at 1200 km) is the geometric spot
#: (10 urad x 1200 km over a 1 m aperture: 21.6 dB), whose Gaussian of equal on-axis irradiance has
#: a full 1/e^2 angle of 14 urad; the FWHM reading gives 17 urad (23.2 dB), the full-1/e^2 reading
#: 10 urad (18.6 dB). The tracking accuracy is taken as rms per axis. Not published, from qsat's
#: defaults: transmit optics, field stop (100 urad), atmosphere (Xinglong's climatological aerosol),
#: turbulence (HV-5/7).
MICIUS_XINGLONG_LINK = {
    "direction": "downlink",
    "wavelength": 850e-9,
    "transmitter": {"aperture": 0.30, "divergence_fwhm": 10e-6, "pointing_jitter": 1.2e-6},
    "receiver": {"optical_efficiency": 0.16},
}
XINGLONG_ALTITUDE_M, XINGLONG_APERTURE_M = 960.0, 1.0

#: Yin et al. (2017)'s single downlinks to Delingha (1.2 m, 3153 m) as qsat inputs: 810 nm photons
#: of the on-board entangled source. Both entanglement transmitters are "near-diffraction-limited"
#: with a "far-field divergence of about 10 urad" (Yin et al., Nature 582, 501 (2020), of the same
#: two on-board transmitters; read as FWHM as Liao's); their aperture (300 mm) and tracking
#: (1.2 urad) are taken as the QKD transmitter's, an assumption; Delingha's receiving optics are not
#: published: qsat's default (0.5).
YIN2017_DELINGHA_LINK = {
    "direction": "downlink",
    "wavelength": 810e-9,
    "transmitter": {"aperture": 0.30, "divergence_fwhm": 10e-6, "pointing_jitter": 1.2e-6},
    "receiver": {},
}
DELINGHA_ALTITUDE_M, DELINGHA_APERTURE_M = 3153.0, 1.2

_MICIUS_NOTE = ("inputs as published: 850 nm, 300 mm transmitter, divergence 10 urad read as FWHM (see "
                "qsat.validation.channel.MICIUS_XINGLONG_LINK), tracking 1.2 urad rms/axis, Xinglong 1 m, receiving "
                "optics 16 %; from qsat's defaults: transmit optics 0.8, field stop 100 urad, Xinglong's "
                "climatological aerosol, HV-5/7; circular 500 km orbit for range -> elevation")
_YIN_NOTE = ("inputs: 810 nm, divergence about 10 urad (Yin et al. 2020, of the same transmitters; read as FWHM), "
             "aperture and tracking as Liao's (assumed), Delingha 1.2 m at 3153 m; from qsat's defaults: "
             "transmit optics 0.8, receiving optics 0.5, field stop 100 urad, plateau climatological aerosol, "
             "HV-5/7; circular "
             "500 km orbit. The paper's attenuation is not broken down in the sources at hand (one photon of each pair "
             "is detected on board, the other sent down: PRL abstract); the ground detectors are added in "
             "channel.yin2017_downlink_*_with_detector; the on-board coupling of the pairs into the "
             "transmitters' single-mode fibres (Yin et al. 2020) and Delingha's 2017 receiving optics are "
             "quantified by no source at hand and stay outside qsat's figure: they are the remaining gap")


def _link(spec):
    from ..channel.config import LinkConfig

    return LinkConfig.model_validate(spec)


def micius_budget(range_m) -> dict:
    """qsat's budget of Liao's Micius -> Xinglong downlink at the given slant ranges."""
    from ..channel.calibration import budget_along_ranges

    return budget_along_ranges(_link(MICIUS_XINGLONG_LINK), range_m, XINGLONG_ALTITUDE_M, MICIUS_ORBIT_ALTITUDE_M,
                               XINGLONG_APERTURE_M, station_name="Xinglong")


def yin_budget(range_m, residual_loss_db: float = 0.0) -> dict:
    """qsat's budget of Yin's single downlink to Delingha at the given slant ranges."""
    from ..channel.calibration import budget_along_ranges

    cfg = _link({**YIN2017_DELINGHA_LINK, "residual_loss_db": residual_loss_db})
    return budget_along_ranges(cfg, range_m, DELINGHA_ALTITUDE_M, MICIUS_ORBIT_ALTITUDE_M, DELINGHA_APERTURE_M,
                               station_name="Delingha")


def liao_curve() -> tuple[np.ndarray, np.ndarray]:
    """The digitised loss curve of Liao et al. (2017): (slant range m, loss dB, detectors excluded)."""
    from .._paths import ephemerides_dir

    data = np.loadtxt(ephemerides_dir() / "reference" / "micius2017_link_loss_vs_range.csv", delimiter=",",
                      skiprows=1)
    return data[:, 0] * 1e3, data[:, 1]


def _curve_at(range_km: float) -> float:
    rng, loss = liao_curve()
    return float(np.interp(range_km * 1e3, rng, loss))


_CURVE_SOURCE = _LIAO + ", loss vs range as digitised in Baidu QNET's Micius tutorial"
_CURVE_TOLERANCE = ("fixed before the comparison: the digitisation (a few dB, reference README) plus the "
                    "unpublished terms taken from defaults (transmit optics, field stop, atmosphere): ±3 dB; "
                    "±5 dB at 1200 km (19.8° elevation), where the atmosphere's share is largest and least known")

for _km, _tol in ((645.0, 3.0), (800.0, 3.0), (1000.0, 3.0), (1200.0, 5.0)):
    def _register_curve(range_km=_km, tolerance=_tol):
        @case(id=f"channel.liao2017_loss_{range_km:.0f}km", topic="channel",
              quantity=f"Micius -> Xinglong downlink loss at {range_km:.0f} km, detectors excluded",
              published=_curve_at(range_km), unit="dB", source=_CURVE_SOURCE,
              locator=f"curve value at {range_km:.1f} km (19 Dec 2016 pass)", tolerance=tolerance,
              tolerance_kind="abs", tolerance_origin=_CURVE_TOLERANCE, klass="prediction",
              note=_MICIUS_NOTE + ("; the measured curve steepens below ~30° elevation by ~4 dB more than "
                                   "diffraction and the climatological extinction explain (docs/channel.md, "
                                   "residuals)" if range_km > 1100 else ""))
        def _():
            return float(micius_budget(range_km * 1e3)["loss_total_db"])

    _register_curve()


@case(id="channel.liao2017_loss_rise", topic="channel",
      quantity="Micius downlink loss increase from 645 km to 1200 km along the pass",
      published=_curve_at(1200.0) - _curve_at(645.0), unit="dB", source=_CURVE_SOURCE,
      locator="curve values at 645.0 and 1200.0 km", tolerance=2.0, tolerance_kind="abs",
      tolerance_origin="a difference of two digitised values (fixed factors cancel): ±2 dB", klass="prediction",
      note=_MICIUS_NOTE + "; qsat's rise is diffraction (5.4 dB) plus extinction (1.2 dB with Xinglong's "
                          "climatological aerosol); the other ~4 dB is not explained by what qsat models: the "
                          "night's haze episode is the likeliest candidate (docs/channel.md, residuals)")
def _():
    b = micius_budget(np.array([645e3, 1200e3]))["loss_total_db"]
    return float(b[1] - b[0])


@case(id="channel.liao2017_atmosphere_1200km", topic="channel",
      quantity="Micius downlink atmospheric loss (extinction + turbulence) at 1200 km", published=5.5, unit="dB",
      source=_LIAO, locator="link-budget discussion (atmosphere 3-8 dB)", tolerance=2.5, tolerance_kind="abs",
      tolerance_origin="published as a range 3-8 dB, encoded as 5.5 ± 2.5 dB", klass="prediction",
      note=_MICIUS_NOTE + "; Xinglong's climatological aerosol (annual-mean AOD 0.30 at 500 nm) gives 2.2 dB at "
                          "19.8°: the published 3-8 dB implies an aerosol optical depth of 0.2-0.6 at 850 nm above "
                          "the site, as in the North China haze episode of 16-21 Dec 2016")
def _():
    t = micius_budget(1200e3)
    return float(t["loss_atmosphere_db"] + t["loss_turbulence_db"])


@case(id="channel.liao2017_pointing_1200km", topic="channel", quantity="Micius downlink pointing loss at 1200 km",
      published=1.5, unit="dB", source=_LIAO, locator="link-budget discussion (pointing < 3 dB)", tolerance=1.5,
      tolerance_kind="abs", tolerance_origin="published as an upper bound (< 3 dB), encoded as 1.5 ± 1.5 dB",
      klass="prediction", note=_MICIUS_NOTE)
def _():
    return float(micius_budget(1200e3)["loss_pointing_db"])


_YIN_RANGES = ((530e3, 29.0), (1000e3, 36.0))
_YIN_LOCATOR = "abstract (29 dB at 530 km, 36 dB at 1000 km)"

for _rng, _db in _YIN_RANGES:
    def _register_yin(range_m=_rng, published=_db):
        @case(id=f"channel.yin2017_downlink_{range_m / 1e3:.0f}km", topic="channel",
              quantity=f"single-downlink attenuation at {range_m / 1e3:.0f} km (Delingha)", published=published,
              unit="dB", source=_YIN, locator=_YIN_LOCATOR, tolerance=3.0, tolerance_kind="abs",
              tolerance_origin="fixed before the comparison: integer dB (±0.5) plus the receiver's unpublished "
                               "optics from defaults: ±3 dB", klass="prediction", note=_YIN_NOTE)
        def _():
            return float(yin_budget(range_m)["loss_total_db"])

        @case(id=f"channel.heldout_liao2017_to_yin2017_{range_m / 1e3:.0f}km", topic="channel",
              quantity=f"single-downlink attenuation at {range_m / 1e3:.0f} km (Delingha), with the residual "
                       "calibrated on Liao's Xinglong curve", published=published, unit="dB", source=_YIN,
              locator=_YIN_LOCATOR, tolerance=3.0, tolerance_kind="abs",
              tolerance_origin="as the prediction (±3 dB): the calibration must not need a wider band",
              klass="held-out calibration",
              note=_YIN_NOTE + "; residual_loss_db fitted on Liao's whole curve (645-1200 km, qsat calibrate); a "
                               "constant residual of one station's receiver does not carry to another station's")
        def _():
            return float(yin_budget(range_m, liao_residual_db())["loss_total_db"])

    _register_yin()


def liao_residual_db() -> float:
    """``residual_loss_db`` fitted on Liao's digitised curve (the whole 645-1200 km pass)."""
    from ..channel.calibration import fit_residual

    rng, loss = liao_curve()
    return fit_residual(_link(MICIUS_XINGLONG_LINK), rng, loss, XINGLONG_ALTITUDE_M, MICIUS_ORBIT_ALTITUDE_M,
                        XINGLONG_APERTURE_M, station_name="Xinglong").residual_loss_db


@case(id="channel.yin2017_downlink_increase", topic="channel",
      quantity="single-downlink attenuation increase from 530 km to 1000 km (Delingha)", published=7.0, unit="dB",
      source=_YIN, locator=_YIN_LOCATOR, tolerance=1.0, tolerance_kind="abs",
      tolerance_origin="difference of two integer-dB values: 2 x 0.5 dB", klass="prediction",
      note=_YIN_NOTE + "; the difference cancels the fixed receiver losses: qsat's is diffraction plus a high "
                       "site's small extinction change")
def _():
    b = yin_budget(np.array([530e3, 1000e3]))["loss_total_db"]
    return float(b[1] - b[0])


# --- Yin et al. (Science 2017): two downlinks at once, Delingha and Lijiang ------------------------

_YIN_SCIENCE = "Yin et al., Science 356, 1140 (2017)"
_YIN_SCIENCE_LOCATOR = ("main text: two-downlink attenuation 64 dB at a summed distance of 1600 km and 82 dB at "
                        "2400 km; the abstract (arXiv:1707.01339) confirms the 1600-2400 km, the attenuation "
                        "figures are quoted second-hand (the full text was not among the searchable sources)")
_DUAL_NOTE = ("inputs: 810 nm; both transmitters 'near-diffraction-limited, far-field divergence about 10 urad' "
              "(Yin et al., Nature 582, 501 (2020), describing the same two on-board transmitters; read as FWHM "
              "as for Liao's), aperture 300 mm and tracking 1.2 urad rms/axis assumed (Liao's QKD transmitter); "
              "Delingha 1.2 m at 3153 m, Lijiang 1.8 m at 3233 m (catalog); from qsat's defaults: transmit optics "
              "0.8, receive optics 0.5, field stop 100 urad, Delingha's plateau climatological aerosol (Lijiang has no "
              "climatology row: the `clear` preset), HV-5/7. "
              "Geometry: SGP4 from the shipped Micius elements (2016-12-18), the night pass of 21 Dec 2016 seen "
              "from both stations above 10 deg, whose summed range runs from 1599 to 2395 km (the published "
              "1600-2400 km); the experiment's own passes (2017) are not shipped. The paper's 64 and 82 dB are taken as "
              "the attenuations at the two ends of its distance range (an assumption: their pairing is not in the "
              "sources at hand); the ground detectors are added in channel.yin2017_dual_downlink_*_with_detectors; "
              "the on-board coupling of the pairs into the transmitters' single-mode fibres and the 2017 receivers' "
              "optics are quantified by no source at hand (Yin et al. 2020 improved the receivers and raised the "
              "two-photon link efficiency about 4-fold, p. 504) and stay outside qsat's figure")
_DUAL_TOLERANCE = ("fixed before the comparison: two downlinks, each with unpublished optics from defaults (±3 dB "
                   "per link as for the single downlink), in quadrature: ±4 dB")


@cache
def dual_downlink_pass() -> dict:
    """The Delingha-Lijiang common pass of 21 Dec 2016 from the shipped elements: per common step,
    each station's elevation (rad) and slant range (m)."""
    from ..orbits.stage import compute_passes
    from ..scenario import loads

    scenario = loads("""
[time]
start = "2016-12-21T17:30:00Z"
duration = "30 min"
step = "1 s"
[[satellites]]
name = "Micius"
[[ground_stations]]
name = "Delingha"
[[ground_stations]]
name = "Lijiang"
[constraints]
elevation_mask_deg = 10
""")
    g = compute_passes(scenario).geometry
    out = {}
    times = None
    for station in ("Delingha", "Lijiang"):
        i = int(np.flatnonzero(g.station.values == station)[0])
        ok = g.valid.values[i]
        out[station] = (g.time_utc.values[i][ok], np.radians(g.elevation_deg.values[i][ok]),
                        g.slant_range_m.values[i][ok])
        times = out[station][0] if times is None else np.intersect1d(times, out[station][0])
    result = {}
    for station, (t, el, rng) in out.items():
        idx = np.searchsorted(t, times)
        result[station] = (el[idx], rng[idx])
    return result


def dual_downlink_station_budgets() -> dict:
    """Each station's budget (:func:`qsat.channel.calibration.budget_at_geometry`) along the common
    pass of :func:`dual_downlink_pass`, with its slant range (m) under ``range_m``."""
    from ..channel.calibration import budget_at_geometry

    geometry = dual_downlink_pass()
    cfg = _link(YIN2017_DELINGHA_LINK)
    out = {}
    for station, altitude, aperture in (("Delingha", DELINGHA_ALTITUDE_M, DELINGHA_APERTURE_M),
                                        ("Lijiang", LIJIANG_ALTITUDE_M, LIJIANG_APERTURE_M)):
        el, rng = geometry[station]
        out[station] = {**budget_at_geometry(cfg, el, rng, altitude, aperture, station_name=station), "range_m": rng}
    return out


def dual_downlink_budget() -> tuple[np.ndarray, np.ndarray]:
    """qsat's two-downlink loss (dB, the sum of both links' ``loss_total_db``) and the summed range (m)
    along the common pass of :func:`dual_downlink_pass`."""
    budgets = dual_downlink_station_budgets().values()
    total = sum(b["loss_total_db"] for b in budgets)
    summed = sum(b["range_m"] for b in budgets)
    return np.asarray(total), np.asarray(summed)


def dual_loss_at(summed_range_m: float) -> float:
    """qsat's two-downlink loss at the step whose summed range is nearest ``summed_range_m``."""
    loss, summed = dual_downlink_budget()
    return float(loss[int(np.argmin(np.abs(summed - summed_range_m)))])


LIJIANG_ALTITUDE_M, LIJIANG_APERTURE_M = 3233.0, 1.8

for _sum_km, _db in ((1600.0, 64.0), (2400.0, 82.0)):
    def _register_dual(sum_km=_sum_km, published=_db):
        @case(id=f"channel.yin2017_dual_downlink_{sum_km:.0f}km", topic="channel",
              quantity=f"two-downlink attenuation (Delingha + Lijiang) at a summed distance of {sum_km:.0f} km",
              published=published, unit="dB", source=_YIN_SCIENCE, locator=_YIN_SCIENCE_LOCATOR, tolerance=4.0,
              tolerance_kind="abs", tolerance_origin=_DUAL_TOLERANCE, klass="prediction", note=_DUAL_NOTE)
        def _():
            return dual_loss_at(sum_km * 1e3)

    _register_dual()


@case(id="channel.yin2017_dual_downlink_increase", topic="channel",
      quantity="two-downlink attenuation increase from 1600 km to 2400 km summed distance", published=18.0,
      unit="dB", source=_YIN_SCIENCE, locator=_YIN_SCIENCE_LOCATOR, tolerance=2.0, tolerance_kind="abs",
      tolerance_origin="a difference of two quoted integer-dB values along one pass (fixed factors cancel): ±2 dB",
      klass="prediction",
      note=_DUAL_NOTE + "; on the shipped pass the summed range grows mostly on one link (Delingha from 38° down "
                        "to 10°, Lijiang between 32° and 38°), so qsat adds 7.4 dB of diffraction and extinction; "
                        "the published 18 dB would need its two extremes from different passes or nights, which the "
                        "sources at hand neither confirm nor exclude (the detectors and the unquantified fixed "
                        "terms cancel in the difference)")
def _():
    return dual_loss_at(2400e3) - dual_loss_at(1600e3)


# --- Like with like: the published attenuations if they count to detection events ---------------
# The sources at hand do not say whether Yin's attenuations include the ground detectors (Liao's curve
# explicitly excludes them). An attenuation measured from coincidence or count ratios with single-photon
# detectors includes their efficiency unless it is divided out; these cases add the examples' ground
# detector ([detector] preset si-spad, 50 % -- assumed, not published for Delingha or Lijiang) to qsat's
# channel loss, so that both readings stand in the table. Still outside qsat's figure in either
# reading: the coupling of the pairs into the transmitters' single-mode fibres on board (Yin et al. 2020:
# "collected and guided by two single-mode fibres to two independent transmitters"), which no source at
# hand quantifies.

#: The ground detector of the entanglement examples (``examples/micius_dual_downlink.toml`` and
#: ``entanglement_qkd_delingha_nanshan.toml``, [detector]); a test keeps them equal.
YIN2017_DETECTOR = {"preset": "si-spad"}


def ground_detector_loss_db() -> float:
    """10 log10(1 / efficiency) of :data:`YIN2017_DETECTOR`."""
    from ..detection.detectors import DetectorConfig

    return -10.0 * math.log10(DetectorConfig.model_validate(YIN2017_DETECTOR).build().efficiency)


_WITH_DETECTOR_NOTE = ("the reading in which the published attenuation counts to detection events: qsat's channel "
                       "loss plus the ground detector (si-spad preset, 50 % = 3.0 dB per station, assumed: the "
                       "stations' detectors are not in the sources at hand); what remains is the on-board coupling "
                       "of the pairs into the transmitters' single-mode fibres (Yin et al. 2020), unquantified in "
                       "the sources at hand, and the receivers' unpublished optics (qsat's default 0.5)")

for _rng, _db in _YIN_RANGES:
    def _register_yin_det(range_m=_rng, published=_db):
        @case(id=f"channel.yin2017_downlink_{range_m / 1e3:.0f}km_with_detector", topic="channel",
              quantity=f"single-downlink attenuation at {range_m / 1e3:.0f} km (Delingha), ground detector included",
              published=published, unit="dB", source=_YIN, locator=_YIN_LOCATOR, tolerance=3.0,
              tolerance_kind="abs",
              tolerance_origin="fixed before the comparison: as channel.yin2017_downlink_* (±3 dB), the detector "
                               "efficiency taken as exact", klass="prediction",
              note=_YIN_NOTE + "; " + _WITH_DETECTOR_NOTE)
        def _():
            return float(yin_budget(range_m)["loss_total_db"]) + ground_detector_loss_db()

    _register_yin_det()

for _sum_km, _db in ((1600.0, 64.0), (2400.0, 82.0)):
    def _register_dual_det(sum_km=_sum_km, published=_db):
        @case(id=f"channel.yin2017_dual_downlink_{sum_km:.0f}km_with_detectors", topic="channel",
              quantity=f"two-downlink attenuation (Delingha + Lijiang) at a summed distance of {sum_km:.0f} km, "
                       "both ground detectors included", published=published, unit="dB", source=_YIN_SCIENCE,
              locator=_YIN_SCIENCE_LOCATOR, tolerance=4.0, tolerance_kind="abs",
              tolerance_origin="fixed before the comparison: as channel.yin2017_dual_downlink_* (±4 dB), the "
                               "detector efficiencies taken as exact", klass="prediction",
              note=_DUAL_NOTE + "; " + _WITH_DETECTOR_NOTE)
        def _():
            return dual_loss_at(sum_km * 1e3) + 2.0 * ground_detector_loss_db()

    _register_dual_det()


# --- Ground-to-satellite uplink from Ngari (Han et al. 2019; the link of Ren et al. 2017) ------------

_HAN = "Han et al., arXiv:1912.06317 (2019), 'Point-ahead demonstration of a transmitting antenna for satellite quantum communication'"
_HAN_LOCATOR = "abstract (uplink to Micius, link loss 41-52 dB over 500-1400 km)"

#: The Ngari -> Micius uplink as qsat inputs. Published (Han et al. 2019, abstract): the point-ahead
#: calibration is accurate to better than 0.2 urad, taken as the static boresight error. Not in the
#: stored sources, so assumed: the transmitter and on-board receiver of ``examples/uplink_ngari_micius.toml``
#: (180 mm, 20 urad full 1/e^2, 1 urad rms jitter; 300 mm receiver), set before this comparison and not
#: changed for it. From qsat's defaults: transmit optics 0.8, receive optics 0.5, Ngari's climatological
#: aerosol, HV-5/7 (uplink beam wander and long-term spread).
NGARI_UPLINK = {
    "direction": "uplink",
    "wavelength": 850e-9,
    "transmitter": {"aperture": 0.18, "divergence_full_1e2": 20e-6, "pointing_jitter": 1e-6,
                    "pointing_bias": 0.2e-6},
    "receiver": {"aperture": 0.30, "field_of_view": 100e-6},
}
NGARI_ALTITUDE_M = 5047.0
_UPLINK_NOTE = ("inputs: point-ahead accuracy 0.2 urad (published, as a static bias); assumed (not in the stored "
                "sources): 850 nm, 180 mm transmitter, 20 urad full 1/e^2, 1 urad jitter, 300 mm on-board receiver "
                "(the uplink example's values, unchanged); from qsat's defaults: transmit optics 0.8, receive "
                "optics 0.5, Ngari's climatological aerosol, HV-5/7; Ngari at 5047 m, circular 500 km orbit")
_UPLINK_TOLERANCE = ("fixed before the comparison: transmitter and on-board receiver not published in the stored "
                     "sources (±3 dB) plus the uplink's beam wander from a generic HV-5/7 profile (±2 dB), in "
                     "quadrature: ±4 dB")


def uplink_budget(range_m) -> dict:
    """qsat's budget of the Ngari -> Micius uplink at the given slant ranges."""
    from ..channel.calibration import budget_along_ranges

    return budget_along_ranges(_link(NGARI_UPLINK), range_m, NGARI_ALTITUDE_M, MICIUS_ORBIT_ALTITUDE_M,
                               station_name="Ngari")


for _rng_km, _db in ((500.0, 41.0), (1400.0, 52.0)):
    def _register_uplink(range_km=_rng_km, published=_db):
        @case(id=f"channel.han2019_uplink_{range_km:.0f}km", topic="channel",
              quantity=f"Ngari -> Micius uplink loss at {range_km:.0f} km", published=published, unit="dB",
              source=_HAN, locator=_HAN_LOCATOR, tolerance=4.0, tolerance_kind="abs",
              tolerance_origin=_UPLINK_TOLERANCE, klass="prediction", note=_UPLINK_NOTE)
        def _():
            return float(uplink_budget(range_km * 1e3)["loss_total_db"])

    _register_uplink()


@case(id="channel.han2019_uplink_increase", topic="channel",
      quantity="Ngari -> Micius uplink loss increase from 500 km to 1400 km", published=11.0, unit="dB",
      source=_HAN, locator=_HAN_LOCATOR, tolerance=2.0, tolerance_kind="abs",
      tolerance_origin="a difference of two integer-dB values (fixed factors cancel; the end points' ranges are "
                       "given as round numbers): ±2 dB", klass="prediction", note=_UPLINK_NOTE)
def _():
    b = uplink_budget(np.array([500e3, 1400e3]))["loss_total_db"]
    return float(b[1] - b[0])
