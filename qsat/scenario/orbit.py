"""Scenario sections for the orbit/pass stage: time window, satellites, stations, constraints."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from pydantic import field_validator, model_validator

from ..errors import QsatInputError
from .types import NonNegativeLength_m, PositiveDuration_s, PositiveLength_m, Probability, Section


#: The span of DE421 (JED 2414864.5 to 2471184.5, skyfield-data's de421.bsp; a test reads the file),
#: each end brought in by a day for the pass search's margins: the Sun, Moon and Earth come from it.
EPHEMERIS_START = datetime(1899, 7, 30, tzinfo=timezone.utc)
EPHEMERIS_END = datetime(2053, 10, 8, tzinfo=timezone.utc)


class TimeWindow(Section):
    """``[time]``: the analysis window and the step of per-step series."""

    start: datetime
    duration: PositiveDuration_s
    step: PositiveDuration_s = 1.0

    @field_validator("start", mode="before")
    @classmethod
    def _utc_string(cls, value):
        if isinstance(value, datetime):
            return value
        if not isinstance(value, str):
            raise ValueError("an ISO 8601 UTC time such as '2024-03-01T00:00:00Z'")
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("an ISO 8601 UTC time such as '2024-03-01T00:00:00Z'") from None
        return parsed

    @field_validator("start")
    @classmethod
    def _as_utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("a time with its zone, e.g. ending in 'Z' for UTC")
        return value.astimezone(timezone.utc)

    @model_validator(mode="after")
    def _step_fits(self):
        if self.step > self.duration:
            raise ValueError(f"time.step ({self.step} s) no longer than time.duration ({self.duration} s)")
        return self

    @field_validator("start")
    @classmethod
    def _start_in_ephemeris(cls, value: datetime) -> datetime:
        if not EPHEMERIS_START <= value < EPHEMERIS_END:
            raise ValueError(f"a start within the planetary ephemeris (DE421: {EPHEMERIS_START:%Y-%m-%d} to "
                             f"{EPHEMERIS_END:%Y-%m-%d})")
        return value

    def check_window(self) -> None:
        """A check on two fields, so it names both: the window ends within the ephemeris.
        Whether its grid fits in memory depends on the satellites, stations and outputs, and
        is checked before computing by :mod:`qsat.orbits.sizing`."""
        if self.duration > (EPHEMERIS_END - self.start).total_seconds():
            end = (f"ends {self.start + timedelta(seconds=self.duration):%Y-%m-%d}"
                   if self.duration < 1e11 else "runs past it")
            raise QsatInputError("time.duration", f"{self.duration / 86400:g} d from {self.start:%Y-%m-%d}",
                                 f"a window that ends within the planetary ephemeris (DE421, to "
                                 f"{EPHEMERIS_END:%Y-%m-%d}); this one {end}")


class SatelliteSpec(Section):
    """``[[satellites]]``: one satellite, from TLE lines, a TLE/OMM file, or the shipped catalog.

    With only ``name`` given, the satellite is looked up in the shipped catalog.
    ``tle_file`` may hold several satellites; ``norad_id`` (or ``name``) picks one.
    """

    name: str
    tle: list[str] | None = None
    tle_file: str | None = None
    omm_file: str | None = None
    norad_id: int | None = None

    @model_validator(mode="after")
    def _one_source(self):
        given = [k for k in ("tle", "tle_file", "omm_file") if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"only one of tle, tle_file, omm_file (got {', '.join(given)})")
        if self.tle is not None and len(self.tle) not in (2, 3):
            raise ValueError("tle as two lines (line 1, line 2), optionally preceded by a name line")
        return self


class GroundStationSpec(Section):
    """``[[ground_stations]]``: a station by coordinates, or by catalog name alone."""

    name: str
    latitude_deg: float | None = None
    longitude_deg: float | None = None
    altitude_m: float | None = None
    aperture: PositiveLength_m | None = None
    obscuration_ratio: Probability | None = None

    @field_validator("latitude_deg")
    @classmethod
    def _latitude(cls, value):
        if value is not None and not -90.0 <= value <= 90.0:
            raise ValueError("a latitude in [-90, 90] degrees")
        return value

    @field_validator("longitude_deg")
    @classmethod
    def _longitude(cls, value):
        if value is not None and not -180.0 <= value <= 360.0:
            raise ValueError("a longitude in [-180, 360] degrees")
        return value

    @field_validator("altitude_m")
    @classmethod
    def _altitude(cls, value):
        if value is not None and not -500.0 <= value <= 9000.0:
            raise ValueError("an altitude above the WGS84 ellipsoid in [-500, 9000] m")
        return value

    @model_validator(mode="after")
    def _all_or_none(self):
        given = [self.latitude_deg is not None, self.longitude_deg is not None]
        if any(given) and not all(given):
            raise ValueError("both latitude_deg and longitude_deg, or neither (catalog lookup by name)")
        return self


class Constraints(Section):
    """``[constraints]``: what counts as a usable pass."""

    elevation_mask_deg: float = 10.0
    night_only: bool = False
    night_sun_altitude_deg: float = -12.0
    min_pass_duration: PositiveDuration_s | None = None

    @field_validator("elevation_mask_deg")
    @classmethod
    def _mask(cls, value):
        if not 0.0 <= value < 90.0:
            raise ValueError("an elevation mask in [0, 90) degrees")
        return value

    @field_validator("night_sun_altitude_deg")
    @classmethod
    def _sun(cls, value):
        if not -90.0 <= value <= 0.0:
            raise ValueError("a Sun altitude in [-90, 0] degrees")
        return value


class PassEngine(Section):
    """``[engine]``: how passes are found (both paths agree; see tests)."""

    passes: str = "batched"  # "batched" (vectorised SGP4, default) or "skyfield" (reference)
    coarse_step: PositiveDuration_s = 30.0
    epoch_warning: PositiveDuration_s = 14 * 86400.0

    @field_validator("passes")
    @classmethod
    def _kind(cls, value):
        if value not in ("batched", "skyfield"):
            raise ValueError("'batched' or 'skyfield'")
        return value


__all__ = ["TimeWindow", "SatelliteSpec", "GroundStationSpec", "Constraints", "PassEngine",
           "NonNegativeLength_m"]
