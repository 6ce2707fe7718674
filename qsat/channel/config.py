"""The ``[link]`` scenario section: wavelength, transmitter, receiver, atmosphere, background.

Every field, its unit and default are documented in ``docs/channel.md``. Values with units
accept numbers in the SI unit, unit strings ("30 cm", "10 urad") or Quantities.
"""

from __future__ import annotations

import math
import warnings

from pydantic import ValidationInfo, field_validator, model_validator

from ..errors import QsatWarning
from ..scenario.types import (NonNegativeAngle_rad, PositiveAngle_rad, PositiveLength_m, Probability,
                              Section, Speed_m_s)
from . import atmosphere, background
from .beam import diffraction_limited_fov, waist_from_divergence

class DefaultsWarning(QsatWarning):
    """A budget takes loss terms from qsat's typical defaults instead of the scenario."""


DIRECTIONS = ("downlink", "uplink")
FADING_MODELS = ("auto", "lognormal", "gamma_gamma", "none", "elliptic_beam")
#: Fading models that describe the beam at the satellite and so exist for uplinks only.
UPLINK_ONLY_FADING = ("elliptic_beam",)


def _positive_efficiency(value: float | None) -> float | None:
    if value is not None and not 0.0 < value <= 1.0:
        raise ValueError("an efficiency in (0, 1]")
    return value


#: Full 1/e^2 angle per FWHM of a Gaussian far field: irradiance exp(-2 theta^2 / theta_w^2) falls to
#: one half at theta = theta_w sqrt(ln 2 / 2), so 2 theta_w = FWHM sqrt(2 / ln 2).
FULL_1E2_PER_FWHM = math.sqrt(2.0 / math.log(2.0))

#: The divergence fields of ``[link.transmitter]`` and the factor turning each into the full 1/e^2 angle.
DIVERGENCE_FIELDS = {"divergence_full_1e2": 1.0, "divergence_half_1e2": 2.0, "divergence_fwhm": FULL_1E2_PER_FWHM,
                     "divergence": 1.0}

#: Defaults of the optics efficiencies when a scenario does not state them: qsat's engineering
#: assumptions for typical hardware, never measurements (docs/channel.md, "Defaults"). A budget that
#: relies on one records a warning (:meth:`LinkConfig.defaulted_terms`).
#: Transmitter: a space telescope and its relay optics, ~1 dB (a two-mirror telescope and 4-6 coated
#: surfaces at 96-98 % each).
DEFAULT_TX_OPTICAL_EFFICIENCY = 0.8
#: Receiver, telescope to detector input: ~3 dB (two aluminium telescope mirrors at ~0.88 each near
#: 850 nm, a Coude/Nasmyth relay of 3-5 mirrors, dichroics and polarisation analysis).
DEFAULT_RX_OPTICAL_EFFICIENCY = 0.5


class TransmitterConfig(Section):
    """``[link.transmitter]``: the sending telescope (satellite for downlinks, station for uplinks)."""

    aperture: PositiveLength_m | None = None
    obscuration_ratio: Probability = 0.0
    # far-field divergence, one of (the convention is in the name, so a paper's number goes in as printed):
    divergence_full_1e2: PositiveAngle_rad | None = None  # full angle at 1/e^2 irradiance
    divergence_half_1e2: PositiveAngle_rad | None = None  # half angle at 1/e^2 irradiance
    divergence_fwhm: PositiveAngle_rad | None = None  # full width at half maximum irradiance
    divergence: PositiveAngle_rad | None = None  # earlier name of divergence_full_1e2 (same meaning)
    waist: PositiveLength_m | None = None  # 1/e^2 radius at the aperture
    m2: float = 1.0
    pointing_jitter: PositiveAngle_rad  # rms per axis (required: every real transmitter has some)
    pointing_jitter_y: PositiveAngle_rad | None = None
    pointing_bias: NonNegativeAngle_rad = 0.0
    optical_efficiency: float | None = None  # None: DEFAULT_TX_OPTICAL_EFFICIENCY, with a recorded warning

    _eff = field_validator("optical_efficiency")(classmethod(lambda cls, v: _positive_efficiency(v)))

    @field_validator("m2")
    @classmethod
    def _m2(cls, value):
        if not value >= 1.0:
            raise ValueError("a beam quality factor M^2 >= 1")
        return value

    @field_validator("obscuration_ratio")
    @classmethod
    def _obsc(cls, value):
        if value >= 1.0:
            raise ValueError("an obscuration ratio in [0, 1)")
        return value

    @model_validator(mode="after")
    def _beam(self):
        given = [k for k in (*DIVERGENCE_FIELDS, "waist") if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"only one of divergence_full_1e2, divergence_half_1e2, divergence_fwhm or waist "
                             f"(1/e^2 radius) (got {', '.join(given)})")
        if not given and self.aperture is None:
            raise ValueError("a divergence (divergence_full_1e2, divergence_half_1e2 or divergence_fwhm), a waist "
                             "(1/e^2 radius) or an aperture to fill")
        return self

    @property
    def divergence_full_1e2_rad(self) -> float | None:
        """The stated divergence as the full angle at 1/e^2 irradiance (rad), whatever field gave it."""
        for name, factor in DIVERGENCE_FIELDS.items():
            value = getattr(self, name)
            if value is not None:
                return value * factor
        return None

    @property
    def optical_efficiency_resolved(self) -> float:
        return DEFAULT_TX_OPTICAL_EFFICIENCY if self.optical_efficiency is None else self.optical_efficiency

    def waist_m(self, wavelength_m: float) -> float:
        """1/e^2 waist at the transmitter: given, from the divergence, or filling the aperture.

        A filled aperture uses Klein & Degnan's optimum truncation a/w0 = 1.12 (maximum far-field
        on-axis gain of a truncated Gaussian; Appl. Opt. 13, 2134 (1974)); the far field is then
        treated as that Gaussian's (the truncation ripples are neglected).
        """
        if self.waist is not None:
            return self.waist
        if self.divergence_full_1e2_rad is not None:
            return waist_from_divergence(self.divergence_full_1e2_rad, wavelength_m, self.m2)
        return 0.5 * self.aperture / 1.12


class ReceiverConfig(Section):
    """``[link.receiver]``: the receiving telescope and its optics up to the detector input."""

    aperture: PositiveLength_m | None = None  # default for downlinks: the ground station's aperture
    obscuration_ratio: Probability | None = None
    field_of_view: PositiveAngle_rad = 100e-6  # full angle
    filter_width: PositiveLength_m = 1e-9
    filter_transmission: float = 1.0
    optical_efficiency: float | None = None  # None: DEFAULT_RX_OPTICAL_EFFICIENCY, with a recorded warning
    fiber_coupling: float = 1.0
    pointing_jitter: NonNegativeAngle_rad = 0.0  # tracking error rms per axis, relative to the field stop
    tip_tilt_correction: bool = False  # a fast steering mirror removes the image motion (seeing spot narrows)

    _eff = field_validator("filter_transmission", "optical_efficiency", "fiber_coupling")(
        classmethod(lambda cls, v: _positive_efficiency(v)))

    @property
    def optical_efficiency_resolved(self) -> float:
        return DEFAULT_RX_OPTICAL_EFFICIENCY if self.optical_efficiency is None else self.optical_efficiency

    @field_validator("obscuration_ratio")
    @classmethod
    def _obsc(cls, value):
        if value is not None and value >= 1.0:
            raise ValueError("an obscuration ratio in [0, 1)")
        return value


#: Ways of stating the extinction, one at most; none gives the default site preset.
EXTINCTION_SOURCES = ("site", "visibility", "zenith_transmittance", "aerosol_optical_depth")
#: Site preset used when ``[link.atmosphere]`` states no extinction and the station has no aerosol
#: climatology: V = 23 km, a sea-level aerosol optical depth of 0.20 at 550 nm, near the multi-year
#: global land mean of 0.19 (Remer et al., "Global aerosol climatology from the MODIS satellite
#: sensors", J. Geophys. Res. 113, D14S07 (2008), abstract) -- typical, not the vacuum-clear sky.
DEFAULT_SITE = "clear"


class AtmosphereConfig(Section):
    """``[link.atmosphere]``: extinction (site preset, visibility or measured) and the Cn2 profile."""

    site: str | None = None
    visibility: PositiveLength_m | None = None
    zenith_transmittance: float | None = None
    aerosol_optical_depth: float | None = None  # column AOD above the station at 550 nm (e.g. AERONET)
    angstrom_exponent: float = 1.3  # AOD wavelength exponent, with aerosol_optical_depth
    cn2_ground: float = 1.7e-14  # HV ground term A (m^-2/3)
    rms_wind: Speed_m_s = 21.0
    cn2_layers: list[tuple[float, float]] | None = None  # [[height_m, Cn2*dh in m^(1/3)], ...]

    @field_validator("site")
    @classmethod
    def _site(cls, value):
        if value is not None and value not in atmosphere.site_presets():
            raise ValueError(f"a site preset, one of {', '.join(sorted(atmosphere.site_presets()))}")
        return value

    @field_validator("zenith_transmittance")
    @classmethod
    def _zt(cls, value):
        if value is not None and not 0.0 < value <= 1.0:
            raise ValueError("a zenith transmittance in (0, 1]")
        return value

    @field_validator("aerosol_optical_depth")
    @classmethod
    def _aod(cls, value):
        if value is not None and not (0.0 <= value <= 5.0):
            raise ValueError("an aerosol optical depth at 550 nm in [0, 5]")
        return value

    @field_validator("angstrom_exponent")
    @classmethod
    def _angstrom(cls, value):
        if not (-1.0 <= value <= 4.0):
            raise ValueError("an Angstrom exponent in [-1, 4] (1.3 is Angstrom's continental mean)")
        return value

    @field_validator("cn2_ground")
    @classmethod
    def _cn2(cls, value):
        if not value >= 0.0:
            raise ValueError("a non-negative Cn2 in m^-2/3")
        return value

    @field_validator("rms_wind")
    @classmethod
    def _wind(cls, value):
        if not value >= 0.0:
            raise ValueError("a non-negative rms wind speed")
        return value

    @field_validator("cn2_layers")
    @classmethod
    def _layers(cls, value):
        if value is not None:
            if not value:
                raise ValueError("at least one [height_m, cn2_dh] layer")
            for h, w in value:
                if not (h >= 0.0 and w >= 0.0 and math.isfinite(h) and math.isfinite(w)):
                    raise ValueError("layers [height_m >= 0, Cn2*dh >= 0 in m^(1/3)]")
        return value

    @model_validator(mode="after")
    def _one_source(self):
        given = [k for k in EXTINCTION_SOURCES if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"only one of {', '.join(EXTINCTION_SOURCES)} (got {', '.join(given)})")
        return self

    @property
    def extinction_source(self) -> str:
        for k in EXTINCTION_SOURCES[1:]:
            if getattr(self, k) is not None:
                return k
        return "site"


class BackgroundConfig(Section):
    """``[link.background]``: radiance overrides (W m^-2 sr^-1 nm^-1) and uplink ground model."""

    night_radiance: float | None = None
    moon_radiance: float | None = None
    day_radiance: float | None = None
    ground: str = "rural"  # uplinks: "rural" or "city" night light
    albedo: Probability = 0.3

    @field_validator("night_radiance", "moon_radiance", "day_radiance")
    @classmethod
    def _radiance(cls, value):
        if value is not None and not value > 0.0:
            raise ValueError("a positive spectral radiance in W m-2 sr-1 nm-1")
        return value

    @field_validator("ground")
    @classmethod
    def _ground(cls, value):
        if value not in ("rural", "city"):
            raise ValueError("'rural' or 'city'")
        return value


class LinkConfig(Section):
    """``[link]``: one optical link direction and wavelength for every pass of the scenario."""

    direction: str = "downlink"
    wavelength: PositiveLength_m = 850e-9
    fading: str = "auto"
    transmitter: TransmitterConfig
    receiver: ReceiverConfig = ReceiverConfig()
    atmosphere: AtmosphereConfig = AtmosphereConfig()
    background: BackgroundConfig = BackgroundConfig()
    # a named residual loss (dB) for what the model leaves out, from `qsat calibrate`; 0 = none
    residual_loss_db: float = 0.0

    @field_validator("direction")
    @classmethod
    def _direction(cls, value):
        if value not in DIRECTIONS:
            raise ValueError("'downlink' (satellite to station) or 'uplink' (station to satellite)")
        return value

    @field_validator("fading")
    @classmethod
    def _fading(cls, value, info: ValidationInfo):
        if value not in FADING_MODELS:
            raise ValueError(f"one of {', '.join(FADING_MODELS)}")
        if value in UPLINK_ONLY_FADING and info.data.get("direction", "downlink") != "uplink":
            laws = ", ".join(m for m in FADING_MODELS if m not in UPLINK_ONLY_FADING)
            raise ValueError(f"a downlink fading law ({laws}); '{value}' (Vasylyev, Semenov & Vogel) models the "
                             "beam at the satellite and needs direction = 'uplink'")
        return value

    @field_validator("residual_loss_db")
    @classmethod
    def _residual(cls, value):
        if not (math.isfinite(value) and -30.0 <= value <= 60.0):
            raise ValueError("a residual loss in dB between -30 and 60 (0: none)")
        return value

    def defaulted_terms(self, station_name: str | None = None) -> list[str]:
        """The loss terms this link takes from qsat's defaults rather than the scenario, one line each."""
        out = []
        if self.transmitter.optical_efficiency is None:
            out.append(f"transmitter.optical_efficiency = {DEFAULT_TX_OPTICAL_EFFICIENCY:g} "
                       f"({-10 * math.log10(DEFAULT_TX_OPTICAL_EFFICIENCY):.1f} dB)")
        if self.receiver.optical_efficiency is None:
            out.append(f"receiver.optical_efficiency = {DEFAULT_RX_OPTICAL_EFFICIENCY:g} "
                       f"({-10 * math.log10(DEFAULT_RX_OPTICAL_EFFICIENCY):.1f} dB)")
        if self.atmosphere_unstated():
            row = atmosphere.aerosol_climatology().get((station_name or "").upper())
            if row is None:
                out.append(f"atmosphere.site = '{DEFAULT_SITE}' (visibility 23 km; no aerosol climatology for "
                           f"{station_name or 'this station'})")
            else:
                out.append(f"atmosphere: {station_name}'s climatological aerosol optical depth "
                           f"{row['aod_500nm']:g} at 500 nm (annual mean, {row['source']})")
        return out

    def atmosphere_unstated(self) -> bool:
        """True when ``[link.atmosphere]`` states no extinction (site, visibility, transmittance or AOD)."""
        return all(getattr(self.atmosphere, k) is None for k in EXTINCTION_SOURCES)

    @field_validator("wavelength")
    @classmethod
    def _wavelength(cls, value):
        lo, hi = atmosphere.WAVELENGTH_MIN_M, atmosphere.WAVELENGTH_MAX_M
        if not lo <= value <= hi:
            raise ValueError(f"a wavelength in the tabulated range {lo * 1e9:.0f}-{hi * 1e9:.0f} nm")
        return value

    @model_validator(mode="after")
    def _checks(self):
        lam = self.wavelength
        band = atmosphere.absorption_band(lam)
        if band is not None:
            warnings.warn(f"link.wavelength: {lam * 1e9:.1f} nm lies in a molecular absorption band "
                          f"({band[0] * 1e9:.0f}-{band[1] * 1e9:.0f} nm) that qsat's extinction model "
                          "does not include; the atmospheric loss is underestimated", QsatWarning, stacklevel=2)
        if not background.TABLE_MIN_M <= lam <= background.TABLE_MAX_M and (
                None in (self.background.night_radiance, self.background.moon_radiance, self.background.day_radiance)):
            raise ValueError(f"a wavelength inside the sky-radiance table (550-1650 nm), or all of "
                             f"background.night_radiance/moon_radiance/day_radiance given (got {lam * 1e9:.0f} nm)")
        rx = self.receiver
        if rx.aperture is not None:
            limit = diffraction_limited_fov(lam, rx.aperture)
            if rx.field_of_view < limit:
                warnings.warn(f"link.receiver.field_of_view: {rx.field_of_view * 1e6:.3g} urad is below the "
                              f"diffraction limit of the {rx.aperture:.3g} m aperture ({limit * 1e6:.3g} urad, "
                              "first Airy zero); most of the light is clipped", QsatWarning, stacklevel=2)
        if self.direction == "uplink" and rx.aperture is None:
            raise ValueError("link.receiver.aperture (the satellite's receive aperture) for an uplink")
        return self


__all__ = ["DefaultsWarning", "LinkConfig", "TransmitterConfig", "ReceiverConfig", "AtmosphereConfig", "BackgroundConfig"]
