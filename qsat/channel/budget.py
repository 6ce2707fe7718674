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
  0.98 lambda/r0, Roddier, Prog. Opt. 19, 281 (1981), Sec. 3.3†; narrowed by the Z-tilt
  variance of Noll (1976) when the receiver removes the image motion,
  :func:`.turbulence.seeing_fwhm`); uplink: long-term beam
  spread and beam wander (:func:`.turbulence.uplink_long_term_spread`); scintillation has
  unit mean and enters only the fading distribution;
* pointing — mean transmitter pointing loss (:mod:`.pointing`, Farid & Hranilovic) and the
  receiver tracking jitter against the field stop;
* optics — fixed factors: transmit and receive optical efficiency, filter transmission, fiber
  coupling, and the named residual ``[link] residual_loss_db`` when one is calibrated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import numpy as np

from ..backend import array_namespace
from . import atmosphere as atm
from . import background as bg
from . import turbulence as turb
from .beam import airy_fwhm, annulus_fraction, diffraction_limited_fov, rayleigh_range
from .config import DEFAULT_SITE

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
_STAND_IN_RANGE_M = 1.0e6  # range given to invalid steps (their results are NaN)

#: Per-scenario constants of the per-step formulas (:meth:`LinkParameters.derived`), appended to
#: the scalars by :meth:`LinkParameters.packed` (``QCH_K`` ... in kernels/channel.cuh).
DERIVED = ("k", "r0_logc", "theta0_logc", "rytov_logc", "c_large", "ap_t0", "ap_t1", "inv_zr", "an_inner",
           "an_outer", "weq_v", "fov_c", "fdiff2", "fjit2", "fov_d", "fov_all0", "seeing", "loss_optics_db",
           "tau_db", "log_day", "log_night", "log_moon", "r2", "two_r", "mu1_53", "lam0_c", "tlt_c", "wander_c",
           "tilt_c")


def _log(x: float) -> float:
    """ln x, -inf at 0 (a profile without turbulence: r0 = inf, Rytov variance 0)."""
    return math.log(x) if x > 0.0 else -math.inf


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
    rx_tip_tilt: bool = False  # downlinks: image motion removed at the receiver (enters derived() only)

    @classmethod
    def scalar_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls) if f.name not in ("aperture_table", "rx_tip_tilt"))

    def packed(self) -> np.ndarray:
        """The float64 array ``params`` of the kernel: the scalars (order of :meth:`scalar_names`),
        then :meth:`derived` (order of :data:`DERIVED`)."""
        scalars = [float(getattr(self, n)) for n in self.scalar_names()]
        return np.array(scalars + list(self.derived().values()), dtype=np.float64)

    def derived(self) -> dict[str, float]:
        """The constants of the per-step formulas of :func:`channel_step`, computed once per link.

        Powers of sec(zeta) become ``exp(c + a ln sec zeta)``: ``r0 = exp(r0_logc - 0.6 ln sec)``
        (:func:`.turbulence.fried_parameter`), ``theta0 = exp(theta0_logc - 1.6 ln sec)``
        (:func:`.turbulence.isoplanatic_angle`), ``ln sigma_R^2 = rytov_logc + 11/6 ln sec``
        (:func:`.turbulence.rytov_variance`); the aperture-averaging node is
        ``(ln c - ln c_0) / dln c = ap_t0 - ap_t1 ln sec`` with ``c = k D^2 / (16 sec)``.
        """
        lam, a, eps, w0 = self.wavelength_m, self.rx_radius_m, self.rx_obscuration, self.waist_m
        k = 2.0 * math.pi / lam
        k76 = k ** (7.0 / 6.0)
        rho = 0.5 * self.fov_full_rad
        fov_c = 4.0 * math.log(2.0) * rho * rho
        f_diff = airy_fwhm(lam, 2.0 * a)
        fdiff2 = f_diff * f_diff
        fj = 2.0 * math.sqrt(2.0 * math.log(2.0)) * self.rx_jitter_rad
        fjit2 = fj * fj
        r = self.earth_radius_m
        values = {
            "k": k,
            "r0_logc": -0.6 * _log(0.423 * k * k * self.mu0),
            "theta0_logc": -0.6 * _log(2.914 * k * k * self.mu53),
            "rytov_logc": _log(2.25 * k76 * self.mu56),
            "c_large": 0.56 if self.uplink else 1.11,  # spherical / plane wave (scintillation_log_variances)
            "ap_t0": (math.log(k * (2.0 * a) ** 2 / 16.0) - self.aperture_log_c0) / self.aperture_dlog_c,
            "ap_t1": 1.0 / self.aperture_dlog_c,
            "inv_zr": 1.0 / rayleigh_range(w0, lam, self.m2),
            "an_inner": 2.0 * (eps * eps * (a * a)),  # annulus_fraction: exp(-an_inner/w^2) - exp(-an_outer/w^2)
            "an_outer": 2.0 * (a * a),
            "weq_v": math.sqrt(math.pi) * a / math.sqrt(2.0),  # equivalent_beam_width: v = weq_v / w
            "fov_c": fov_c,  # fov_fraction: 1 - exp(-fov_c / FWHM^2)
            "fdiff2": fdiff2,
            "fjit2": fjit2,
            "fov_d": -math.expm1(-fov_c / fdiff2),
            "fov_all0": -math.expm1(-fov_c / (fdiff2 + fjit2)),
            "seeing": turb.SEEING_FWHM_COEFF * lam,  # seeing FWHM = seeing / r0
            "loss_optics_db": -_DB * _log(self.optics_efficiency),
            "tau_db": _DB * self.tau_zenith,
            "log_day": math.log(max(self.radiance_day, _TINY)),
            "log_night": math.log(max(self.radiance_night, _TINY)),
            "log_moon": math.log(max(self.radiance_moon, _TINY)),
            # uplink_long_term_spread; wander: (2 w0 / r0_up)^(5/3) = (2 w0)^(5/3) 0.423 k^2 sec mu2u
            "r2": r * r,
            "two_r": 2.0 * r,
            "mu1_53": (5.0 / 3.0) * self.mu1,
            "lam0_c": 2.0 / (k * w0 * w0),
            "tlt_c": 4.35 * k76,
            "wander_c": 0.54 * (lam / (2.0 * w0)) ** 2 * (2.0 * w0) ** (5.0 / 3.0) * 0.423 * k * k,
            # .turbulence.seeing_fwhm with tip-tilt: FWHM^2 -= 8 ln2 sigma_t^2, sigma_t^2 = tilt_c' r0^(-5/3)
            "tilt_c": (8.0 * math.log(2.0) * turb.Z_TILT_VARIANCE_COEFF * lam * lam * (2.0 * a) ** (-1.0 / 3.0)
                       if self.rx_tip_tilt and not self.uplink else 0.0),
        }
        assert tuple(values) == DERIVED
        return values

    @classmethod
    def from_config(cls, cfg, station_altitude_m: float = 0.0, station_aperture_m: float | None = None,
                    station_obscuration: float | None = None, station_name: str | None = None) -> LinkParameters:
        """Resolve a ``LinkConfig`` for one station (altitude, aperture for downlinks, and name).

        A ``[link.atmosphere]`` that states no extinction takes the station's climatological aerosol
        optical depth (:func:`.atmosphere.station_aerosol_optical_depth`) when the station has one,
        else the default site preset.
        """
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

        climatology = (atm.station_aerosol_optical_depth(station_name, lam)
                       if cfg.atmosphere_unstated() else None)
        if at.extinction_source == "zenith_transmittance":
            tau = -math.log(at.zenith_transmittance)
        elif at.extinction_source == "aerosol_optical_depth" or climatology is not None:
            # a measured column above the station: Rayleigh scaled by the station pressure, aerosol as given
            aerosol = climatology if climatology is not None else atm.aerosol_optical_depth_at(
                lam, at.aerosol_optical_depth, at.angstrom_exponent)
            tau = float(atm.rayleigh_optical_depth(lam)) * float(atm.pressure_ratio(station_altitude_m)) + aerosol
        else:
            if at.extinction_source == "visibility":
                tau_r0 = float(atm.rayleigh_optical_depth(lam))
                tau_a0 = float(atm.aerosol_optical_depth_from_visibility(lam, at.visibility))
            else:
                tau_r0, tau_a0 = atm.preset_optical_depths(at.site or DEFAULT_SITE, lam)
            tau = float(atm.zenith_optical_depth(tau_r0, tau_a0, station_altitude_m))

        if at.cn2_layers is not None:
            heights, weights = np.array(at.cn2_layers, dtype=np.float64).T
        else:
            heights, weights = turb.hufnagel_valley_layers(at.cn2_ground, at.rms_wind)
        moments = turb.profile_moments(heights, weights)

        def radiance(override, condition):
            return override * 1e9 if override is not None else bg.tabulated(condition, lam)

        area = math.pi * (0.5 * rx_aperture) ** 2 * (1.0 - rx_obsc ** 2)
        eta_rx = rx.optical_efficiency_resolved
        eta_bg = eta_rx * rx.filter_transmission * rx.fiber_coupling
        coeff = bg.counts_coefficient(lam, rx.field_of_view, area, rx.filter_width, eta_bg)
        albedo = bgc.albedo * bg.tabulated("solar_toa", lam) * math.exp(-2.0 * tau) / math.pi
        jitter_y = tx.pointing_jitter if tx.pointing_jitter_y is None else tx.pointing_jitter_y
        return cls.build(
            wavelength_m=lam, uplink=uplink, waist_m=waist, m2=tx.m2, tx_truncation=truncation,
            rx_aperture_m=rx_aperture, rx_obscuration=rx_obsc, tx_jitter_x_rad=tx.pointing_jitter,
            tx_jitter_y_rad=jitter_y, tx_bias_rad=tx.pointing_bias, rx_jitter_rad=rx.pointing_jitter,
            fov_full_rad=rx.field_of_view, rx_tip_tilt=rx.tip_tilt_correction,
            optics_efficiency=(tx.optical_efficiency_resolved * eta_rx * rx.filter_transmission * rx.fiber_coupling
                               * 10.0 ** (-cfg.residual_loss_db / 10.0)),
            tau_zenith=tau, moments=moments, station_altitude_m=station_altitude_m,
            radiance_day=radiance(bgc.day_radiance, "day"), radiance_night=radiance(bgc.night_radiance, "night"),
            radiance_moon=radiance(bgc.moon_radiance, "full_moon"), counts_coefficient=coeff,
            albedo_coefficient=albedo, ground_night_radiance=bg.tabulated(f"ground_night_{bgc.ground}", lam))

    @classmethod
    def build(cls, *, wavelength_m, uplink, waist_m, rx_aperture_m, moments, m2=1.0, tx_truncation=1.0,
              rx_obscuration=0.0, tx_jitter_x_rad=0.0, tx_jitter_y_rad=None, tx_bias_rad=0.0, rx_jitter_rad=0.0,
              fov_full_rad=1.0, optics_efficiency=1.0, tau_zenith=0.0, station_altitude_m=0.0,
              radiance_day=0.0, radiance_night=0.0, radiance_moon=0.0, counts_coefficient=0.0,
              albedo_coefficient=0.0, ground_night_radiance=0.0, rx_tip_tilt=False) -> LinkParameters:
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
            aperture_table=np.ascontiguousarray(table, dtype=np.float64), rx_tip_tilt=bool(rx_tip_tilt))


def _erf(x, xp):
    if xp.__name__ == "numpy":
        from scipy.special import erf

        return erf(x)
    import cupyx.scipy.special

    return cupyx.scipy.special.erf(x)


# The per-step models below are those of .beam, .pointing, .turbulence and .background, written
# with the constants of LinkParameters.derived() in the operation order of kernels/channel.cuh.

def _annulus(w, c, xp):
    """:func:`.beam.annulus_fraction`."""
    w2 = w * w
    inner = 1.0 if c["an_inner"] == 0.0 else xp.exp(-c["an_inner"] / w2)
    return inner - xp.exp(-c["an_outer"] / w2)


def _w_eq(w, c, xp):
    """w_eq of :func:`.pointing.equivalent_beam_width`."""
    v = c["weq_v"] / w
    erf_v = _erf(v, xp)
    w_eq2 = w * w * math.sqrt(math.pi) * erf_v / (2.0 * v * xp.exp(-v * v))
    return xp.sqrt(w_eq2)


def _mean_pointing(w_eq, sx, sy, bias, biased: bool, xp):
    """:func:`.pointing.mean_pointing_factor`."""
    weq2 = w_eq * w_eq
    sx2 = 4.0 * sx * sx
    sy2 = 4.0 * sy * sy
    root = xp.sqrt((1.0 + sx2 / weq2) * (1.0 + sy2 / weq2))
    return xp.exp(-2.0 * bias * bias / (weq2 + sx2)) / root if biased else 1.0 / root


def channel_step(elevation_rad, range_m, sun_altitude_rad, moon_altitude_rad, valid, params: LinkParameters,
                 out=None):
    """NumPy/CuPy twin of the fused kernel: all terms for every step, ``(n, N_OUT)`` float64.

    Invalid steps (``valid == 0``) get NaN in every column; valid steps are finite for any
    elevation (clipped to [0, 90] deg; the path integrals hold sec(zeta) at 1 deg elevation).
    """
    xp = array_namespace(elevation_rad, range_m)
    p = params
    c = p.derived()
    el = xp.clip(xp.asarray(elevation_rad, dtype=xp.float64), 0.0, 0.5 * math.pi)
    valid = xp.asarray(valid).astype(bool)
    # invalid (padded) steps are masked to NaN below; a stand-in range keeps their terms finite on
    # the way (a zero range, as padding carries, would divide by zero in the uplink's beam spread)
    d = xp.where(valid, xp.asarray(range_m, dtype=xp.float64), _STAND_IN_RANGE_M)
    uplink = p.uplink != 0.0

    sin_el = xp.sin(el)
    # Kasten & Young air mass (.atmosphere.kasten_young_air_mass), cos(zenith) = sin(elevation)
    z = xp.clip(0.5 * math.pi - el, 0.0, 0.5 * math.pi)
    air_mass = 1.0 / (sin_el + 0.50572 * xp.exp(-1.6364 * xp.log(96.07995 - z * (180.0 / math.pi))))
    t_atm = xp.exp(-p.tau_zenith * air_mass)
    cos_z = xp.maximum(sin_el, math.sin(turb.SEC_ELEVATION_FLOOR_RAD))
    ln_secz = -xp.log(cos_z)
    r0 = xp.exp(c["r0_logc"] - 0.6 * ln_secz)
    theta0 = xp.exp(c["theta0_logc"] - 1.6 * ln_secz)
    ln_rytov = c["rytov_logc"] + (11.0 / 6.0) * ln_secz
    rytov = xp.exp(ln_rytov)
    s65 = xp.exp(1.2 * ln_rytov)
    # .turbulence.scintillation_log_variances
    lx = 0.49 * rytov * xp.exp(-(7.0 / 6.0) * xp.log1p(c["c_large"] * s65))
    ly = 0.51 * rytov * xp.exp(-(5.0 / 6.0) * xp.log1p(0.69 * s65))
    if uplink:
        aperture = 1.0
    else:
        # exp of the piecewise-linear interpolation of ln(J/J0) in ln c (uniform grid), clamped
        n = int(p.aperture_n)
        table = xp.asarray(p.aperture_table)
        t = xp.clip(c["ap_t0"] - ln_secz * c["ap_t1"], 0.0, n - 1.0)
        i = xp.minimum(xp.floor(t), n - 2.0).astype(xp.int64)
        aperture = xp.exp(table[i] + (t - i) * (table[i + 1] - table[i]))
    scint = aperture * xp.expm1(lx + ly)
    sigma_ln2 = xp.log1p(scint)
    inv_a = xp.expm1(lx)
    inv_b = (1.0 + scint) / (1.0 + inv_a) - 1.0
    small = inv_b <= 0.0
    inv_a = xp.where(small, scint, inv_a)
    inv_b = xp.where(small, 0.0, inv_b)

    zz = d * c["inv_zr"]
    w = p.waist_m * xp.sqrt(1.0 + zz * zz)  # .beam.beam_radius
    jx, jy, jb = p.tx_jitter_x_rad * d, p.tx_jitter_y_rad * d, p.tx_bias_rad * d
    biased = p.tx_bias_rad != 0.0
    ann = _annulus(w, c, xp)
    geo_vac = xp.maximum(ann * p.tx_truncation, _TINY)
    weq_vac = _w_eq(w, c, xp)
    point_vac = _mean_pointing(weq_vac, jx, jy, jb, biased, xp)
    if uplink:
        secz = 1.0 / cos_z
        sat_height = xp.sqrt(c["r2"] + d * d + c["two_r"] * d * sin_el) - p.earth_radius_m
        # .turbulence.uplink_long_term_spread
        mu2u = xp.maximum(p.mu0 - c["mu1_53"] / sat_height, 0.0)
        lam0 = d * c["lam0_c"]
        lamf = lam0 / (1.0 + lam0 * lam0)
        t_lt = c["tlt_c"] * mu2u * xp.exp((5.0 / 6.0) * xp.log(lamf * d)) * secz
        wander = c["wander_c"] * d * d * secz * mu2u
        w_st = xp.sqrt(xp.maximum(w * w * (1.0 + t_lt) - wander, w * w))
        sx = xp.sqrt(jx * jx + 0.5 * wander)
        sy = xp.sqrt(jy * jy + 0.5 * wander)
        geo_st = _annulus(w_st, c, xp) * p.tx_truncation
        weq_st = _w_eq(w_st, c, xp)
        point_st = _mean_pointing(weq_st, sx, sy, jb, biased, xp)
        fov_ds, fov_all = c["fov_d"], c["fov_all0"]
    else:
        # downlinks: no beam spread; the seeing (FWHM 0.98 lambda / r0, narrowed by a tip-tilt loop:
        # .turbulence.seeing_fwhm) broadens the image
        w_st, sx, sy = w, jx, jy
        geo_st, weq_st, point_st = ann * p.tx_truncation, weq_vac, point_vac
        fs = c["seeing"] / r0
        fs2 = xp.maximum(fs * fs - c["tilt_c"] * xp.exp((-5.0 / 3.0) * xp.log(r0)), 0.0)
        f2 = c["fdiff2"] + fs2
        fov_ds = -xp.expm1(-c["fov_c"] / f2)  # .pointing.fov_fraction
        fov_all = -xp.expm1(-c["fov_c"] / (f2 + c["fjit2"]))

    fov_d = c["fov_d"]
    g_geo = geo_vac * fov_d
    g_turb = (geo_st * point_st) / (geo_vac * point_vac) * (fov_ds / fov_d)
    g_point = point_vac * (fov_all / fov_ds)
    trans = xp.clip(g_geo * t_atm * g_turb * g_point * p.optics_efficiency, 0.0, 1.0)

    sun = xp.asarray(sun_altitude_rad, dtype=xp.float64)
    if uplink:
        radiance = bg.uplink_ground_radiance(sun, p.albedo_coefficient, p.ground_night_radiance, xp=xp)
    else:
        # .background.downlink_sky_radiance
        log_night = xp.where(xp.asarray(moon_altitude_rad) > 0.0, c["log_moon"], c["log_night"])
        frac = xp.clip((sun - bg.TWILIGHT_LIMIT_RAD) / (0.0 - bg.TWILIGHT_LIMIT_RAD), 0.0, 1.0)
        radiance = xp.exp(log_night + frac * (c["log_day"] - log_night))
    counts = radiance * p.counts_coefficient

    zeros = xp.zeros_like(r0)
    cols = [-_DB * xp.log(g_geo), c["tau_db"] * air_mass, -_DB * xp.log(g_turb), -_DB * xp.log(g_point),
            c["loss_optics_db"] + zeros, -_DB * xp.log(xp.maximum(trans, _TINY)), trans, counts,
            r0, rytov, scint, theta0, air_mass, w_st,
            trans / point_st, weq_st, sx, sy, jb + zeros, sigma_ln2, inv_a, inv_b]
    result = xp.stack([xp.broadcast_to(col, r0.shape) for col in cols], axis=-1)
    result = xp.where(valid[..., None], result, xp.nan)
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
