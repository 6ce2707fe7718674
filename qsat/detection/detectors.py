"""Single-photon detector model and presets.

A receiver has ``n_detectors`` detectors (4 for passive-basis BB84: two per basis)
with efficiency η_d, dark-count rate, a non-paralysable dead time, afterpulse
probability, Gaussian timing jitter and a gate or coincidence window.

* Extraneous click probability per pulse per detector (Poisson):
  p = 1 - exp(-(r_dark + η_d r_bg / n_det) τ_w), with r_bg the background photon
  rate at the receiver input split evenly over the detectors.
* Signal inside the window (Gaussian jitter of FWHM j, σ = j / (2 sqrt(2 ln 2)),
  window τ_w centred on the expected arrival): f_w = erf(τ_w / (2 sqrt(2) σ)).
* Non-paralysable dead time τ_d: recorded rate m = n / (1 + n τ_d) for a true
  rate n (Knoll, *Radiation Detection and Measurement*, 4th ed., Ch. 4, Sec. VII,
  non-paralysable model), i.e. a recorded fraction 1 / (1 + n τ_d).

Presets hold typical datasheet values (not guarantees): state your own device's
numbers in the scenario when you have them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from pydantic import Field, model_validator

from ..backend import array_namespace
from ..errors import QsatInputError
from ..scenario.types import Section

_FWHM_TO_SIGMA = 1.0 / (2.0 * math.sqrt(2.0 * math.log(2.0)))


@dataclass(frozen=True)
class Detector:
    efficiency: float             # detection efficiency (0, 1]
    dark_count_rate_cps: float    # per detector, counts/s
    dead_time_s: float            # non-paralysable
    afterpulse_probability: float
    jitter_fwhm_s: float
    window_s: float               # gate / coincidence window
    n_detectors: int = 4
    provenance: str = ""

    def window_fraction(self) -> float:
        """Fraction of signal clicks inside the window (Gaussian jitter)."""
        if self.jitter_fwhm_s <= 0:
            return 1.0
        sigma = self.jitter_fwhm_s * _FWHM_TO_SIGMA
        return math.erf(self.window_s / (2.0 * math.sqrt(2.0) * sigma))

    def extraneous_probability(self, background_cps):
        """Extraneous (dark + background) click probability per pulse per detector."""
        xp = array_namespace(background_cps)
        rate = self.dark_count_rate_cps + self.efficiency * xp.asarray(background_cps, dtype=xp.float64) / self.n_detectors
        return -xp.expm1(-rate * self.window_s)

    def dead_time_factor(self, click_rate_cps):
        """Recorded fraction 1 / (1 + n τ_d) for a true click rate n per detector (non-paralysable)."""
        xp = array_namespace(click_rate_cps)
        return 1.0 / (1.0 + xp.asarray(click_rate_cps, dtype=xp.float64) * self.dead_time_s)


PRESETS: dict[str, Detector] = {
    # Excelitas SPCM-AQRH (thick-junction Si SPAD) datasheet, typical: PDE ~65 % at 650 nm
    # (~50 % at 800-850 nm, used here), dark 100-1500 cps by grade (500 taken), dead time 22 ns,
    # afterpulsing 0.5 %, timing resolution 350 ps FWHM.
    "si-spad": Detector(0.50, 500.0, 22e-9, 0.005, 350e-12, 2e-9, 4,
                        "Excelitas SPCM-AQRH datasheet, typical values at ~800 nm"),
    # The Xinglong QKD receiver of Liao et al., Nature 549, 43 (2017): four Si SPADs of ~50 % efficiency
    # with dark counts below 25 Hz each (as published; 25 cps taken as the bound) and a 2 ns coincidence
    # window (published). Not published there, taken from the si-spad preset: dead time, afterpulsing,
    # jitter. Extraneous clicks from the dark counts alone: 25 cps x 2 ns = 5e-8 per pulse per detector.
    "micius-xinglong-2016": Detector(0.50, 25.0, 22e-9, 0.005, 350e-12, 2e-9, 4,
                                     "Liao et al., Nature 549, 43 (2017): efficiency ~50 %, dark < 25 cps, "
                                     "2 ns window; dead time, afterpulsing and jitter assumed (si-spad preset)"),
    # ID Quantique ID Qube NIR (free-running InGaAs/InP SPAD) datasheet, typical: 10-25 % efficiency
    # (20 % taken), dark ~ 500 cps at 20 %, dead time 1-100 us (10 us taken), afterpulsing a few %
    # at that dead time (2 % taken), jitter ~ 150 ps FWHM.
    "ingaas-spad": Detector(0.20, 500.0, 10e-6, 0.02, 150e-12, 1e-9, 4,
                            "ID Quantique ID Qube NIR datasheet, typical values at 1550 nm"),
    # Superconducting nanowire (e.g. Single Quantum Eos, ID Quantique ID281): SDE 85 % at 1550 nm
    # (93 % shown by Marsili et al., Nat. Photonics 7, 210 (2013)), dark < 100 cps (10 taken), recovery
    # ~ 20-50 ns (30 taken), no afterpulsing, jitter < 50 ps FWHM.
    "snspd": Detector(0.85, 10.0, 30e-9, 0.0, 30e-12, 0.5e-9, 4,
                      "Single Quantum Eos / IDQ ID281 datasheets, typical; Marsili et al. 2013"),
}


class DetectorConfig(Section):
    """``[detector]``: a preset with optional overrides, or a full description."""

    preset: str | None = "si-spad"
    efficiency: float | None = Field(default=None, gt=0, le=1)
    dark_count_rate_cps: float | None = Field(default=None, ge=0)
    dead_time_s: float | None = Field(default=None, ge=0)
    afterpulse_probability: float | None = Field(default=None, ge=0, le=1)
    jitter_fwhm_s: float | None = Field(default=None, ge=0)
    window_s: float | None = Field(default=None, gt=0)
    n_detectors: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _known(self):
        if self.preset is not None and self.preset not in PRESETS:
            raise ValueError(f"preset {self.preset!r}: one of {', '.join(PRESETS)}")
        if self.preset is None and any(getattr(self, f) is None for f in _FIELDS):
            raise ValueError("every detector field when no preset is named")
        return self

    def build(self) -> Detector:
        base = PRESETS[self.preset] if self.preset is not None else Detector(0.5, 0, 0, 0, 0, 1e-9)
        overrides = {f: getattr(self, f) for f in _FIELDS if getattr(self, f) is not None}
        return replace(base, **overrides)


_FIELDS = ("efficiency", "dark_count_rate_cps", "dead_time_s", "afterpulse_probability",
           "jitter_fwhm_s", "window_s", "n_detectors")


def preset(name: str) -> Detector:
    try:
        return PRESETS[name]
    except KeyError:
        raise QsatInputError("detector.preset", name, f"one of {', '.join(PRESETS)}") from None
