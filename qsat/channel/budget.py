"""The per-step link budget: every loss term, the mean transmittance and the background.

Two layers, as everywhere in qsat:

* :class:`LinkParameters` holds one link's constants as SI floats (built from the ``[link]``
  section and a station by :meth:`LinkParameters.from_config`, or directly), packed into the
  flat array the CUDA kernel reads (:meth:`LinkParameters.packed`);
* :func:`channel_step` is the NumPy/CuPy twin of ``kernels/channel_step.cu: channel_step``
  (same arguments, same output layout :data:`OUTPUTS`), and :func:`link_budget` is the
  friendly wrapper returning a dict of named arrays.

Definitions (see docs/channel.md):

* ``transmittance`` — mean end-to-end transmittance from the transmitter to the **detector
  input**: everything except the detector's own efficiency (applied by the detection stage);
* ``background_cps`` — background photon rate at the detector input (after the receiver
  optics and filter, before detector efficiency), photons/s;
* the loss terms (dB, positive = loss) multiply to the transmittance:
  ``loss_total_db = geometric + atmosphere + turbulence + pointing + optics``.

How the terms are split (each factor's model is cited in its module):

* geometric — vacuum diffraction: transmit-aperture truncation x collection of the Gaussian
  beam by the (obscured) receive aperture (:mod:`.beam`) x field-stop clipping of the
  diffraction-limited image;
* atmosphere — ``exp(-tau_zenith m(zeta))`` (:mod:`.atmosphere`);
* turbulence — downlink: extra field-stop clipping of the seeing-broadened image (FWHM
  0.98 lambda/r0, Roddier, Prog. Opt. 19, 281 (1981), Sec. 3.3†); uplink: long-term beam
  spread and beam wander (:func:`.turbulence.uplink_long_term_spread`); scintillation has
  unit mean and enters only the fading distribution;
* pointing — mean transmitter pointing loss (:mod:`.pointing`, Farid & Hranilovic) and the
  receiver tracking jitter against the field stop;
* optics — fixed factors: transmit and receive optical efficiency, filter transmission, fiber
  coupling.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import numpy as np

from ..backend import array_namespace
from . import atmosphere as atm
from . import background as bg
from . import turbulence as turb
from .beam import airy_fwhm, annulus_fraction, beam_radius, diffraction_limited_fov
from .pointing import equivalent_beam_width, fov_fraction, mean_pointing_factor

#: Mean Earth radius (m), IUGG R1 (Moritz, Geodetic Reference System 1980).
EARTH_RADIUS_M = 6371008.8

#: Columns of the per-step output: the twin returns ``(n, N_OUT)``; the kernel writes the
#: transposed, one contiguous row per output (``out[j * n + i]``).
OUTPUTS = ("loss_geometric_db", "loss_atmosphere_db", "loss_turbulence_db", "loss_pointing_db",
           "loss_optics_db", "loss_total_db", "transmittance", "background_cps", "r0_m",
           "rytov_variance", "scintillation_index", "isoplanatic_angle_rad", "air_mass",
           "beam_radius_m",
           # inputs of the fading sampler (kernels/fading.cu)
           "fade_t_static", "fade_w_eq_m", "fade_sigma_x_m", "fade_sigma_y_m", "fade_bias_m",
           "fade_sigma_ln2", "fade_inv_alpha", "fade_inv_beta")
N_OUT = len(OUTPUTS)
FADE_COLUMNS = OUTPUTS[OUTPUTS.index("fade_t_static"):] + ("rytov_variance",)

_DB = 10.0 / math.log(10.0)
_TINY = 1e-300


@dataclass(frozen=True)
class LinkParameters:
    """One link's constants (SI). The order of the scalar fields is the packed layout."""

    wavelength_m: float
    uplink: float  # 0 downlink, 1 uplink
    waist_m: float
    m2: float
    tx_truncation: float  # fraction of the beam passing the transmit aperture
    rx_radius_m: float
    rx_obscuration: float
    tx_jitter_x_rad: float
    tx_jitter_y_rad: float
    tx_bias_rad: float
    rx_jitter_rad: float
    fov_full_rad: float
    optics_efficiency: float
    tau_zenith: float
    mu0: float
    mu1: float
    mu53: float
    mu56: float
    earth_radius_m: float  # Earth radius + station altitude
    radiance_day: float  # W m^-2 sr^-1 m^-1
    radiance_night: float
    radiance_moon: float
    counts_coefficient: float  # photons/s per (W m^-2 sr^-1 m^-1)
    albedo_coefficient: float  # uplinks: rho E_sun T^2 / pi (W m^-2 sr^-1 m^-1)
    ground_night_radiance: float
    aperture_log_c0: float  # aperture-averaging table: ln c of node 0, step, node count
    aperture_dlog_c: float
    aperture_n: float
    aperture_table: np.ndarray = field(repr=False, compare=False)  # ln(J(c)/J(0)) on the nodes

    @classmethod
    def scalar_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls) if f.name != "aperture_table")

    def packed(self) -> np.ndarray:
        """The scalars as the float64 array ``params`` of the kernel (order of :meth:`scalar_names`)."""
        return np.array([float(getattr(self, n)) for n in self.scalar_names()], dtype=np.float64)

    @classmethod
    def from_config(cls, cfg, station_altitude_m: float = 0.0, station_aperture_m: float | None = None,
                    station_obscuration: float | None = None) -> LinkParameters:
        """Resolve a ``LinkConfig`` for one station (altitude, and aperture for downlinks)."""
        from ..errors import QsatInputError

        lam = cfg.wavelength
        tx, rx, at, bgc = cfg.transmitter, cfg.receiver, cfg.atmosphere, cfg.background
        uplink = cfg.direction == "uplink"

        waist = tx.waist_m(lam)
        if tx.aperture is not None:
            truncation = float(annulus_fraction(np.float64(waist), 0.5 * tx.aperture, tx.obscuration_ratio))
        else:
            truncation = 1.0

        rx_aperture = rx.aperture
        rx_obsc = rx.obscuration_ratio
        if not uplink:
            rx_aperture = rx_aperture if rx_aperture is not None else station_aperture_m
            if rx_obsc is None:
                rx_obsc = station_obscuration
        if rx_aperture is None or not rx_aperture > 0:
            raise QsatInputError("link.receiver.aperture", rx_aperture,
                                 "a positive receive aperture (or the ground station's aperture in its catalog "
                                 "entry or [[ground_stations]] aperture)")
        rx_obsc = 0.0 if rx_obsc is None else float(rx_obsc)
        if rx.aperture is None and rx.field_of_view < diffraction_limited_fov(lam, rx_aperture):
            import warnings

            from ..errors import QsatWarning

            warnings.warn(f"link.receiver.field_of_view: {rx.field_of_view * 1e6:.3g} urad is below the diffraction "
                          f"limit of the station's {rx_aperture:.3g} m aperture "
                          f"({diffraction_limited_fov(lam, rx_aperture) * 1e6:.3g} urad)", QsatWarning, stacklevel=2)

        if at.extinction_source == "zenith_transmittance":
            tau = -math.log(at.zenith_transmittance)
        else:
            if at.extinction_source == "visibility":
                tau_r0 = float(atm.rayleigh_optical_depth(lam))
                tau_a0 = float(atm.aerosol_optical_depth_from_visibility(lam, at.visibility))
            else:
                tau_r0, tau_a0 = atm.preset_optical_depths(at.site or "clear", lam)
            tau = float(atm.zenith_optical_depth(tau_r0, tau_a0, station_altitude_m))

        if at.cn2_layers is not None:
            heights, weights = np.array(at.cn2_layers, dtype=np.float64).T
        else:
            heights, weights = turb.hufnagel_valley_layers(at.cn2_ground, at.rms_wind)
        moments = turb.profile_moments(heights, weights)

        def radiance(override, condition):
            return override * 1e9 if override is not None else bg.tabulated(condition, lam)

        area = math.pi * (0.5 * rx_aperture) ** 2 * (1.0 - rx_obsc ** 2)
        eta_bg = rx.optical_efficiency * rx.filter_transmission * rx.fiber_coupling
        coeff = bg.counts_coefficient(lam, rx.field_of_view, area, rx.filter_width, eta_bg)
        albedo = bgc.albedo * bg.tabulated("solar_toa", lam) * math.exp(-2.0 * tau) / math.pi
        jitter_y = tx.pointing_jitter if tx.pointing_jitter_y is None else tx.pointing_jitter_y
        return cls.build(
            wavelength_m=lam, uplink=uplink, waist_m=waist, m2=tx.m2, tx_truncation=truncation,
            rx_aperture_m=rx_aperture, rx_obscuration=rx_obsc, tx_jitter_x_rad=tx.pointing_jitter,
            tx_jitter_y_rad=jitter_y, tx_bias_rad=tx.pointing_bias, rx_jitter_rad=rx.pointing_jitter,
            fov_full_rad=rx.field_of_view,
            optics_efficiency=tx.optical_efficiency * rx.optical_efficiency * rx.filter_transmission * rx.fiber_coupling,
            tau_zenith=tau, moments=moments, station_altitude_m=station_altitude_m,
            radiance_day=radiance(bgc.day_radiance, "day"), radiance_night=radiance(bgc.night_radiance, "night"),
            radiance_moon=radiance(bgc.moon_radiance, "full_moon"), counts_coefficient=coeff,
            albedo_coefficient=albedo, ground_night_radiance=bg.tabulated(f"ground_night_{bgc.ground}", lam))

    @classmethod
    def build(cls, *, wavelength_m, uplink, waist_m, rx_aperture_m, moments, m2=1.0, tx_truncation=1.0,
              rx_obscuration=0.0, tx_jitter_x_rad=0.0, tx_jitter_y_rad=None, tx_bias_rad=0.0, rx_jitter_rad=0.0,
              fov_full_rad=1.0, optics_efficiency=1.0, tau_zenith=0.0, station_altitude_m=0.0,
              radiance_day=0.0, radiance_night=0.0, radiance_moon=0.0, counts_coefficient=0.0,
              albedo_coefficient=0.0, ground_night_radiance=0.0) -> LinkParameters:
        """Direct construction from SI values (tests, Monte Carlo, the keys helper)."""
        logc = np.log(moments.aperture_c_m[1:])
        table = np.log(moments.aperture_j[1:] / moments.aperture_j[0])
        return cls(
            wavelength_m=float(wavelength_m), uplink=float(bool(uplink)), waist_m=float(waist_m), m2=float(m2),
            tx_truncation=float(tx_truncation), rx_radius_m=0.5 * float(rx_aperture_m),
            rx_obscuration=float(rx_obscuration), tx_jitter_x_rad=float(tx_jitter_x_rad),
            tx_jitter_y_rad=float(tx_jitter_x_rad if tx_jitter_y_rad is None else tx_jitter_y_rad),
            tx_bias_rad=float(tx_bias_rad), rx_jitter_rad=float(rx_jitter_rad), fov_full_rad=float(fov_full_rad),
            optics_efficiency=float(optics_efficiency), tau_zenith=float(tau_zenith), mu0=moments.mu0,
            mu1=moments.mu1, mu53=moments.mu53, mu56=moments.mu56,
            earth_radius_m=EARTH_RADIUS_M + float(station_altitude_m), radiance_day=float(radiance_day),
            radiance_night=float(radiance_night), radiance_moon=float(radiance_moon),
            counts_coefficient=float(counts_coefficient), albedo_coefficient=float(albedo_coefficient),
            ground_night_radiance=float(ground_night_radiance), aperture_log_c0=float(logc[0]),
            aperture_dlog_c=float(logc[1] - logc[0]), aperture_n=float(len(logc)),
            aperture_table=np.ascontiguousarray(table, dtype=np.float64))


def _aperture_factor(c, p: LinkParameters, xp):
    """exp of the piecewise-linear interpolation of ln(J/J0) in ln c (uniform grid), clamped."""
    n = int(p.aperture_n)
    table = xp.asarray(p.aperture_table)
    t = (xp.log(xp.maximum(c, _TINY)) - p.aperture_log_c0) / p.aperture_dlog_c
    t = xp.clip(t, 0.0, n - 1.0)
    i = xp.minimum(xp.floor(t), n - 2.0).astype(xp.int64)
    frac = t - i
    return xp.exp(table[i] + frac * (table[i + 1] - table[i]))


def channel_step(elevation_rad, range_m, sun_altitude_rad, moon_altitude_rad, valid, params: LinkParameters,
                 out=None):
    """NumPy/CuPy twin of the fused kernel: all terms for every step, ``(n, N_OUT)`` float64.

    Invalid steps (``valid == 0``) get NaN in every column; valid steps are finite for any
    elevation (clipped to [0, 90] deg; the path integrals hold sec(zeta) at 1 deg elevation).
    """
    xp = array_namespace(elevation_rad, range_m)
    p = params
    el = xp.clip(xp.asarray(elevation_rad, dtype=xp.float64), 0.0, 0.5 * math.pi)
    d = xp.asarray(range_m, dtype=xp.float64)
    lam = p.wavelength_m
    k = 2.0 * math.pi / lam
    uplink = p.uplink != 0.0

    zenith = 0.5 * math.pi - el
    air_mass = atm.kasten_young_air_mass(zenith, xp=xp)
    t_atm = xp.exp(-p.tau_zenith * air_mass)
    secz = 1.0 / xp.maximum(xp.sin(el), math.sin(turb.SEC_ELEVATION_FLOOR_RAD))
    r0 = (0.423 * k * k * secz * p.mu0) ** -0.6
    theta0 = (2.914 * k * k * secz ** (8.0 / 3.0) * p.mu53) ** -0.6
    rytov = 2.25 * k ** (7.0 / 6.0) * secz ** (11.0 / 6.0) * p.mu56
    lx, ly = turb.scintillation_log_variances(rytov, spherical=uplink, xp=xp)
    if uplink:
        aperture = xp.ones_like(rytov)
    else:
        aperture = _aperture_factor(k * (2.0 * p.rx_radius_m) ** 2 / (16.0 * secz), p, xp)
    scint = aperture * xp.expm1(lx + ly)
    sigma_ln2 = xp.log1p(scint)
    inv_a = xp.expm1(lx)
    inv_b = (1.0 + scint) / (1.0 + inv_a) - 1.0
    small = inv_b <= 0.0
    inv_a = xp.where(small, scint, inv_a)
    inv_b = xp.where(small, 0.0, inv_b)

    w = beam_radius(d, p.waist_m, lam, p.m2)
    jx, jy, jb = p.tx_jitter_x_rad * d, p.tx_jitter_y_rad * d, p.tx_bias_rad * d
    if uplink:
        sat_height = xp.sqrt(p.earth_radius_m ** 2 + d * d + 2.0 * p.earth_radius_m * d * xp.sin(el)) - p.earth_radius_m
        t_lt, wander = turb.uplink_long_term_spread(lam, p.waist_m, d, secz, p.mu0, p.mu1, sat_height, xp=xp)
        w_st = xp.sqrt(xp.maximum(w * w * (1.0 + t_lt) - wander, w * w))
        sx = xp.sqrt(jx * jx + 0.5 * wander)
        sy = xp.sqrt(jy * jy + 0.5 * wander)
    else:
        w_st, sx, sy = w, jx, jy
    geo_vac = xp.maximum(annulus_fraction(w, p.rx_radius_m, p.rx_obscuration) * p.tx_truncation, _TINY)
    geo_st = annulus_fraction(w_st, p.rx_radius_m, p.rx_obscuration) * p.tx_truncation
    _, weq_vac = equivalent_beam_width(w, p.rx_radius_m, xp=xp)
    _, weq_st = equivalent_beam_width(w_st, p.rx_radius_m, xp=xp)
    point_vac = mean_pointing_factor(weq_vac, jx, jy, jb, xp=xp)
    point_st = mean_pointing_factor(weq_st, sx, sy, jb, xp=xp)

    f_diff = airy_fwhm(lam, 2.0 * p.rx_radius_m)
    f_seeing2 = xp.zeros_like(r0) if uplink else (0.98 * lam / r0) ** 2
    f_jit2 = (2.0 * math.sqrt(2.0 * math.log(2.0)) * p.rx_jitter_rad) ** 2
    fov_d = fov_fraction(xp.full_like(r0, f_diff), p.fov_full_rad, xp=xp)
    fov_ds = fov_fraction(xp.sqrt(f_diff * f_diff + f_seeing2), p.fov_full_rad, xp=xp)
    fov_all = fov_fraction(xp.sqrt(f_diff * f_diff + f_seeing2 + f_jit2), p.fov_full_rad, xp=xp)

    g_geo = geo_vac * fov_d
    g_turb = (geo_st * point_st) / (geo_vac * point_vac) * (fov_ds / fov_d)
    g_point = point_vac * (fov_all / fov_ds)
    g_opt = p.optics_efficiency
    trans = xp.clip(g_geo * t_atm * g_turb * g_point * g_opt, 0.0, 1.0)

    if uplink:
        radiance = bg.uplink_ground_radiance(xp.asarray(sun_altitude_rad, dtype=xp.float64),
                                             p.albedo_coefficient, p.ground_night_radiance, xp=xp)
    else:
        radiance = bg.downlink_sky_radiance(xp.asarray(sun_altitude_rad, dtype=xp.float64),
                                            xp.asarray(moon_altitude_rad, dtype=xp.float64),
                                            p.radiance_day, p.radiance_night, p.radiance_moon, xp=xp)
    counts = radiance * p.counts_coefficient

    cols = [-_DB * xp.log(g_geo), -_DB * xp.log(t_atm), -_DB * xp.log(g_turb), -_DB * xp.log(g_point),
            -_DB * math.log(g_opt) + xp.zeros_like(r0), -_DB * xp.log(xp.maximum(trans, _TINY)), trans, counts,
            r0, rytov, scint, theta0, air_mass, w_st,
            trans / point_st, weq_st, sx, sy, jb + xp.zeros_like(r0), sigma_ln2, inv_a, inv_b]
    result = xp.stack([xp.broadcast_to(c, r0.shape) for c in cols], axis=-1)
    result = xp.where(xp.asarray(valid).astype(bool)[..., None], result, xp.nan)
    if out is not None:
        out[...] = result.reshape(out.shape)
        return out
    return result


def link_budget(elevation_rad, range_m, params: LinkParameters, sun_altitude_rad=None, moon_altitude_rad=None,
                valid=None, xp=None) -> dict:
    """Every per-step term as a dict of arrays (names of :data:`OUTPUTS`), any array shape.

    Sun and Moon default to far below the horizon (night, no Moon); ``valid`` to all steps.
    """
    xp = xp or array_namespace(elevation_rad, range_m)
    el = xp.asarray(elevation_rad, dtype=xp.float64)
    shape = xp.broadcast_shapes(el.shape, xp.asarray(range_m).shape)
    flat = [xp.broadcast_to(xp.asarray(a, dtype=xp.float64), shape).reshape(-1) for a in (
        el, range_m, -math.pi / 2 if sun_altitude_rad is None else sun_altitude_rad,
        -math.pi / 2 if moon_altitude_rad is None else moon_altitude_rad)]
    v = xp.ones(shape, dtype=bool) if valid is None else xp.broadcast_to(xp.asarray(valid, dtype=bool), shape)
    res = channel_step(*flat, v.reshape(-1), params)
    return {name: res[:, j].reshape(shape) for j, name in enumerate(OUTPUTS)}
