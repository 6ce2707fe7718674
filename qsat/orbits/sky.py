"""Sun and Moon as seen from the stations, and whether a satellite is sunlit.

Apparent geocentric Sun and Moon positions come from Skyfield with DE421 and are
expressed in the ITRS (Earth-fixed) frame on nodes every ``node_step_s`` seconds;
between nodes they are interpolated linearly. At 60 s the Earth turns 0.25 deg,
so the chord error is below 3e-6 of the vector (0.0002 deg in direction), far
inside what a background model or a darkness test needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .timebase import TimeGrid, planets

EARTH_RADIUS_M = 6378137.0  # WGS84 equatorial radius: the shadow cylinder's radius


@dataclass
class SkyTable:
    nodes_s: np.ndarray
    sun_itrs_m: np.ndarray  # (nodes, 3)
    moon_itrs_m: np.ndarray  # (nodes, 3)

    @classmethod
    def for_grid(cls, grid: TimeGrid, node_step_s: float = 60.0) -> "SkyTable":
        from skyfield.framelib import itrs

        nodes = np.arange(0.0, grid.duration_s + node_step_s, node_step_s)
        t = grid.skyfield_time(nodes)
        eph = planets()
        earth = eph["earth"]
        sun = earth.at(t).observe(eph["sun"]).apparent().frame_xyz(itrs).m.T
        moon = earth.at(t).observe(eph["moon"]).apparent().frame_xyz(itrs).m.T
        return cls(nodes, np.ascontiguousarray(sun), np.ascontiguousarray(moon))

    def _interp(self, table: np.ndarray, t_s: np.ndarray) -> np.ndarray:
        t_s = np.asarray(t_s, dtype=np.float64)
        i = np.clip(np.searchsorted(self.nodes_s, t_s, side="right") - 1, 0, len(self.nodes_s) - 2)
        w = ((t_s - self.nodes_s[i]) / (self.nodes_s[i + 1] - self.nodes_s[i]))[..., None]
        return table[i] * (1.0 - w) + table[i + 1] * w

    def sun(self, t_s):
        return self._interp(self.sun_itrs_m, t_s)

    def moon(self, t_s):
        return self._interp(self.moon_itrs_m, t_s)


def up_vector(lat_rad, lon_rad):
    """Unit normal to the WGS84 ellipsoid (geodetic zenith) in ITRS."""
    return np.stack([np.cos(lat_rad) * np.cos(lon_rad), np.cos(lat_rad) * np.sin(lon_rad),
                     np.sin(lat_rad)], axis=-1)


def altitude_deg(target_itrs_m, station_itrs_m, up):
    """Geometric altitude of a target above the station's geodetic horizon [deg]."""
    d = target_itrs_m - station_itrs_m
    return np.degrees(np.arcsin(np.clip(np.sum(d * up, axis=-1) / np.linalg.norm(d, axis=-1), -1.0, 1.0)))


def separation_deg(a, b):
    """Angle between two sets of vectors [deg] (atan2 form: accurate at small angles)."""
    cross = np.linalg.norm(np.cross(a, b), axis=-1)
    return np.degrees(np.arctan2(cross, np.sum(a * b, axis=-1)))


def sunlit(sat_itrs_m, sun_itrs_m):
    """True where the satellite is outside the Earth's cylindrical shadow.

    The cylinder of radius R_E along the Sun direction is Skyfield's ``is_sunlit``
    test without the Sun's finite distance (its cone narrows by R_E/1 AU, under
    0.3 km at LEO ranges).
    """
    s = sun_itrs_m / np.linalg.norm(sun_itrs_m, axis=-1, keepdims=True)
    along = np.sum(sat_itrs_m * s, axis=-1)
    perp = np.linalg.norm(sat_itrs_m - along[..., None] * s, axis=-1)
    return (along > 0.0) | (perp > EARTH_RADIUS_M)
