"""Ground stations: the shipped catalog and scenario entries, placed on the WGS84 ellipsoid."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache

import numpy as np

from ..errors import QsatInputError
from .._paths import ephemerides_dir

# WGS84 defining constants (NIMA TR8350.2, 3rd ed., Table 3.1).
WGS84_A_M = 6378137.0
WGS84_F = 1.0 / 298.257223563


@dataclass(frozen=True)
class Station:
    name: str
    latitude_deg: float
    longitude_deg: float
    altitude_m: float  # above the WGS84 ellipsoid
    aperture_m: float | None = None
    obscuration_ratio: float | None = None

    @property
    def latlon_rad(self) -> tuple[float, float]:
        return np.radians(self.latitude_deg), np.radians(self.longitude_deg)

    def itrs_m(self) -> np.ndarray:
        """Earth-fixed position [m] (NIMA TR8350.2, eq. 4-14: geodetic to ECEF)."""
        lat, lon = self.latlon_rad
        e2 = WGS84_F * (2.0 - WGS84_F)
        n = WGS84_A_M / np.sqrt(1.0 - e2 * np.sin(lat) ** 2)
        return np.array([(n + self.altitude_m) * np.cos(lat) * np.cos(lon),
                         (n + self.altitude_m) * np.cos(lat) * np.sin(lon),
                         (n * (1.0 - e2) + self.altitude_m) * np.sin(lat)])


def _optional_float(text: str):
    return float(text) if text.strip() else None


@cache
def catalog() -> dict[str, Station]:
    """The shipped ground-station catalog (``ephemerides/ground_stations.csv``), by upper-case name."""
    text = (ephemerides_dir() / "ground_stations.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(io.StringIO("\n".join(ln for ln in text.splitlines() if not ln.startswith("#"))))
    return {r["name"].upper(): Station(r["name"], float(r["latitude_deg"]), float(r["longitude_deg"]),
                                       float(r["altitude_m"]), _optional_float(r["aperture_m"]),
                                       _optional_float(r["obscuration_ratio"]))
            for r in rows}


def resolve_station(spec, index: int) -> Station:
    """The :class:`Station` a scenario's ``ground_stations[index]`` entry describes.

    With coordinates given, they are used (altitude defaults to 0 m); with the name
    alone, the catalog entry is used. Scenario values override catalog ones.
    """
    if spec.latitude_deg is not None:
        return Station(spec.name, spec.latitude_deg, spec.longitude_deg, spec.altitude_m or 0.0,
                       spec.aperture, spec.obscuration_ratio)
    known = catalog().get(spec.name.upper())
    if known is None:
        raise QsatInputError(f"ground_stations[{index}].name", spec.name,
                             f"a station in the shipped catalog ({', '.join(s.name for s in catalog().values())}) "
                             "or latitude_deg/longitude_deg/altitude_m")
    return Station(known.name,
                   known.latitude_deg, known.longitude_deg,
                   spec.altitude_m if spec.altitude_m is not None else known.altitude_m,
                   spec.aperture if spec.aperture is not None else known.aperture_m,
                   spec.obscuration_ratio if spec.obscuration_ratio is not None else known.obscuration_ratio)
