"""The link loss along a measured curve, and the fit of one named residual term to it.

A measured loss-vs-range curve (a published pass, a station's own log) is compared with
qsat's budget at the same ranges. :func:`fit_residual` fits the single named term
``[link] residual_loss_db``: a constant loss in dB for everything the model leaves out
(unpublished coupling and optics losses, a hazier sky than stated). For a constant offset
in dB, least squares gives the mean of ``measured - model``; the residuals left after the
fit show what a constant cannot absorb (an elevation-dependent shortfall).

A calibration proves nothing on the curve it was fitted to: it counts as validated only
when the fitted term is tested on another measurement (another pass, station or
experiment); see the ``held-out calibration`` class of :mod:`qsat.validation`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import QsatInputError
from .budget import EARTH_RADIUS_M, LinkParameters, link_budget


def elevation_for_range(range_m, station_altitude_m: float, orbit_altitude_m: float):
    """Elevation (rad) at which a satellite on a circular orbit is seen at a slant range.

    Law of cosines in the triangle (Earth centre, station, satellite) on a spherical Earth of
    radius :data:`.budget.EARTH_RADIUS_M`: ``r_o^2 = r_s^2 + d^2 + 2 r_s d sin(el)``.
    """
    rs = EARTH_RADIUS_M + station_altitude_m
    ro = EARTH_RADIUS_M + orbit_altitude_m
    d = np.asarray(range_m, dtype=np.float64)
    return np.arcsin(np.clip((ro * ro - rs * rs - d * d) / (2.0 * rs * d), -1.0, 1.0))


def budget_along_ranges(cfg, range_m, station_altitude_m: float, orbit_altitude_m: float,
                        station_aperture_m: float | None = None, station_obscuration: float | None = None,
                        station_name: str | None = None) -> dict:
    """Every budget term (dB, transmittance...) of ``cfg`` at the given slant ranges (night, no Moon)."""
    rng = np.asarray(range_m, dtype=np.float64)
    el = elevation_for_range(rng, station_altitude_m, orbit_altitude_m)
    return budget_at_geometry(cfg, el, rng, station_altitude_m, station_aperture_m, station_obscuration, station_name)


def budget_at_geometry(cfg, elevation_rad, range_m, station_altitude_m: float,
                       station_aperture_m: float | None = None, station_obscuration: float | None = None,
                       station_name: str | None = None) -> dict:
    """Every budget term of ``cfg`` at given (elevation rad, slant range m) pairs, e.g. a computed pass."""
    params = LinkParameters.from_config(cfg, station_altitude_m=station_altitude_m,
                                        station_aperture_m=station_aperture_m, station_obscuration=station_obscuration,
                                        station_name=station_name)
    el = np.asarray(elevation_rad, dtype=np.float64)
    out = link_budget(el, np.asarray(range_m, dtype=np.float64), params)
    out["elevation_rad"] = el
    return out


@dataclass(frozen=True)
class Calibration:
    """The fitted residual and what it leaves: all in dB, per point where arrays."""

    residual_loss_db: float
    rms_db: float
    range_m: np.ndarray
    measured_db: np.ndarray
    model_db: np.ndarray  # qsat's loss without the residual

    @property
    def residuals_db(self) -> np.ndarray:
        """Measured minus calibrated model at each point."""
        return self.measured_db - self.model_db - self.residual_loss_db


def check_curve(range_m, measured_db, name: str = "curve"):
    """The curve as float arrays, or a clear error naming what is wrong."""
    rng = np.asarray(range_m, dtype=np.float64).reshape(-1)
    loss = np.asarray(measured_db, dtype=np.float64).reshape(-1)
    if rng.size == 0 or rng.size != loss.size:
        raise QsatInputError(name, f"{rng.size} ranges, {loss.size} losses", "as many ranges as losses, at least one")
    bad = ~(np.isfinite(rng) & (rng > 0))
    if bad.any():
        raise QsatInputError(f"{name}.range", f"{rng[bad][0]:g} m (point {int(np.argmax(bad))})",
                             "positive finite slant ranges")
    bad = ~np.isfinite(loss)
    if bad.any():
        raise QsatInputError(f"{name}.loss", f"{loss[bad][0]} (point {int(np.argmax(bad))})", "finite losses in dB")
    return rng, loss


def fit_residual(cfg, range_m, measured_db, station_altitude_m: float, orbit_altitude_m: float,
                 station_aperture_m: float | None = None, station_obscuration: float | None = None,
                 station_name: str | None = None) -> Calibration:
    """Fit ``residual_loss_db`` of ``cfg`` to a measured loss curve (dB vs slant range, detectors excluded).

    ``cfg``'s own ``residual_loss_db`` is ignored (the model is evaluated without it). The loss
    compared is qsat's ``loss_total_db``: everything up to the detector input, as the measured
    curves that exclude the detector efficiency.
    """
    rng, loss = check_curve(range_m, measured_db)
    model = budget_along_ranges(cfg.model_copy(update={"residual_loss_db": 0.0}), rng, station_altitude_m,
                                orbit_altitude_m, station_aperture_m, station_obscuration,
                                station_name)["loss_total_db"]
    offset = float(np.mean(loss - model))
    rms = math.sqrt(float(np.mean((loss - model - offset) ** 2)))
    return Calibration(offset, rms, rng, loss, np.asarray(model))


__all__ = ["elevation_for_range", "budget_along_ranges", "budget_at_geometry", "fit_residual", "check_curve", "Calibration"]
