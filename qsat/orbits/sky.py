"""Sun and Moon as seen from the stations, and whether a satellite is sunlit.

Apparent geocentric Sun and Moon positions come from Skyfield with DE421 on nodes
every ``node_step_s`` (600 s), expressed in SGP4's TEME frame, where both move
slowly (the Moon 0.09 deg per node interval: linear interpolation errs by under
1e-6 rad). Each step then turns them into the Earth-fixed frame with the same
GMST-1982 rotation the satellite gets (``geometry.teme_to_itrs``), so Sun, Moon,
satellite and station share one frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .timebase import TimeGrid, planets

EARTH_RADIUS_M = 6378137.0  # WGS84 equatorial radius: the shadow cylinder's radius
#: Spacing of the Sun/Moon nodes [s] and how many nodes Skyfield computes in one call (one day).
NODE_STEP_S = 600.0
NODES_PER_CHUNK = 144


@lru_cache(maxsize=64)
def _sky_chunk(grid: TimeGrid, node_step_s: float, chunk: int):
    """Apparent geocentric Sun and Moon in TEME [m] at nodes ``chunk*N .. (chunk+1)*N``."""
    from skyfield.sgp4lib import TEME

    nodes = (chunk * NODES_PER_CHUNK + np.arange(NODES_PER_CHUNK + 1)) * node_step_s
    t = grid.skyfield_time(nodes)
    eph = planets()
    earth = eph["earth"]
    sun = earth.at(t).observe(eph["sun"]).apparent().frame_xyz(TEME).m.T
    moon = earth.at(t).observe(eph["moon"]).apparent().frame_xyz(TEME).m.T
    return nodes, np.ascontiguousarray(sun), np.ascontiguousarray(moon)


def _rotate_z(vectors, theta):
    """TEME -> ITRS position rotation by GMST ``theta`` (Vallado et al. 2006, eq. C-1)."""
    ct, st = np.cos(theta), np.sin(theta)
    x, y = vectors[..., 0], vectors[..., 1]
    return np.stack([ct * x + st * y, -st * x + ct * y, vectors[..., 2]], axis=-1)


@dataclass
class SkyTable:
    nodes_s: np.ndarray
    sun_teme_m: np.ndarray  # (nodes, 3)
    moon_teme_m: np.ndarray  # (nodes, 3)

    @classmethod
    def for_grid(cls, grid: TimeGrid, node_step_s: float = NODE_STEP_S) -> "SkyTable":
        """Nodes over the whole window."""
        return cls.for_span(grid, 0.0, grid.duration_s, node_step_s)

    @classmethod
    def for_span(cls, grid: TimeGrid, t0_s: float, t1_s: float, node_step_s: float = NODE_STEP_S) -> "SkyTable":
        """Nodes covering ``[t0_s, t1_s]`` (seconds after the grid start).

        Nodes lie on the global grid ``k * node_step_s`` and are computed in fixed chunks
        of ``NODES_PER_CHUNK`` (Skyfield's light-time iteration runs over a whole call),
        so a node's value is the same whichever span asked for it.
        """
        c0 = int(np.floor(max(t0_s, 0.0) / node_step_s)) // NODES_PER_CHUNK
        c1 = int(np.floor(max(t1_s, 0.0) / node_step_s)) // NODES_PER_CHUNK
        chunks = [_sky_chunk(grid, node_step_s, c) for c in range(c0, c1 + 1)]
        # Chunk c holds nodes c*N .. (c+1)*N; consecutive chunks share their boundary node.
        nodes = np.concatenate([ch[0][:-1] for ch in chunks[:-1]] + [chunks[-1][0]])
        sun = np.concatenate([ch[1][:-1] for ch in chunks[:-1]] + [chunks[-1][1]])
        moon = np.concatenate([ch[2][:-1] for ch in chunks[:-1]] + [chunks[-1][2]])
        return cls(nodes, sun, moon)

    def _interp(self, table: np.ndarray, t_s: np.ndarray) -> np.ndarray:
        t_s = np.asarray(t_s, dtype=np.float64)
        i = np.clip(np.searchsorted(self.nodes_s, t_s, side="right") - 1, 0, len(self.nodes_s) - 2)
        w = ((t_s - self.nodes_s[i]) / (self.nodes_s[i + 1] - self.nodes_s[i]))[..., None]
        return table[i] * (1.0 - w) + table[i + 1] * w

    def sun(self, t_s, theta_rad):
        """Sun position in ITRS [m] at ``t_s`` (GMST ``theta_rad`` at the same instants)."""
        return _rotate_z(self._interp(self.sun_teme_m, t_s), theta_rad)

    def moon(self, t_s, theta_rad):
        """Moon position in ITRS [m]."""
        return _rotate_z(self._interp(self.moon_teme_m, t_s), theta_rad)


def up_vector(lat_rad, lon_rad):
    """Unit normal to the WGS84 ellipsoid (geodetic zenith) in ITRS."""
    return np.stack([np.cos(lat_rad) * np.cos(lon_rad), np.cos(lat_rad) * np.sin(lon_rad),
                     np.sin(lat_rad)], axis=-1)


def altitude_deg(target_itrs_m, station_itrs_m, up):
    """Geometric altitude of a target above the station's geodetic horizon [deg]."""
    d = target_itrs_m - station_itrs_m
    sine = np.einsum("...i,...i->...", d, up) / np.sqrt(np.einsum("...i,...i->...", d, d))
    return np.degrees(np.arcsin(np.clip(sine, -1.0, 1.0)))


def separation_deg(a, b):
    """Angle between two sets of vectors [deg] (atan2 form: accurate at small angles)."""
    cx = a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1]
    cy = a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2]
    cz = a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    return np.degrees(np.arctan2(np.sqrt(cx * cx + cy * cy + cz * cz), np.einsum("...i,...i->...", a, b)))


def sunlit(sat_itrs_m, sun_itrs_m):
    """True where the satellite is outside the Earth's cylindrical shadow.

    The cylinder of radius R_E along the Sun direction is Skyfield's ``is_sunlit``
    test without the Sun's finite distance (its cone narrows by R_E/1 AU, under
    0.3 km at LEO ranges).
    """
    s = sun_itrs_m / np.sqrt(np.einsum("...i,...i->...", sun_itrs_m, sun_itrs_m))[..., None]
    along = np.einsum("...i,...i->...", sat_itrs_m, s)
    perp2 = np.einsum("...i,...i->...", sat_itrs_m, sat_itrs_m) - along * along
    return (along > 0.0) | (perp2 > EARTH_RADIUS_M**2)
