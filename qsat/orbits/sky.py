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


def rotate_z(xyz, cos_theta, sin_theta):
    """TEME -> ITRS position rotation by GMST theta, given its cosine and sine (Vallado et al.
    2006, eq. C-1); vectors as (x, y, z) component arrays."""
    x, y, z = xyz
    return (cos_theta * x + sin_theta * y, -sin_theta * x + cos_theta * y, z)


def _dot3(a, b):
    """Dot product of two (x, y, z) component triples, summed x, y, z in that order, in one buffer."""
    out = a[0] * b[0]
    out += a[1] * b[1]
    out += a[2] * b[2]
    return out


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

    def _node_weights(self, t_s):
        """Index of the node before each ``t_s`` and the fraction of the interval after it."""
        t_s = np.asarray(t_s, dtype=np.float64)
        i = np.clip(np.searchsorted(self.nodes_s, t_s, side="right") - 1, 0, len(self.nodes_s) - 2)
        return i, (t_s - self.nodes_s[i]) / (self.nodes_s[i + 1] - self.nodes_s[i])

    @staticmethod
    def _lerp(table: np.ndarray, i: np.ndarray, w: np.ndarray):
        """Linear interpolation of ``table`` (nodes, 3) as (x, y, z) component arrays."""
        w0 = 1.0 - w
        return tuple(table[i, c] * w0 + table[i + 1, c] * w for c in range(3))

    def _interp(self, table: np.ndarray, t_s: np.ndarray) -> np.ndarray:
        """``table`` interpolated at ``t_s``, (n, 3)."""
        return np.stack(self._lerp(table, *self._node_weights(t_s)), axis=-1)

    def sun_moon_itrs(self, t_s, cos_theta, sin_theta):
        """Sun and Moon positions in ITRS [m] at ``t_s``, each as (x, y, z) arrays.

        ``cos_theta``, ``sin_theta``: of GMST at the same instants, the rotation the satellite
        gets too; one node look-up serves both bodies.
        """
        i, w = self._node_weights(t_s)
        return tuple(rotate_z(self._lerp(table, i, w), cos_theta, sin_theta)
                     for table in (self.sun_teme_m, self.moon_teme_m))


def up_vector(lat_rad, lon_rad):
    """Unit normal to the WGS84 ellipsoid (geodetic zenith) in ITRS."""
    return np.stack([np.cos(lat_rad) * np.cos(lon_rad), np.cos(lat_rad) * np.sin(lon_rad),
                     np.sin(lat_rad)], axis=-1)


def unit(xyz):
    """(x, y, z) scaled to unit length."""
    norm = np.sqrt(_dot3(xyz, xyz))
    return tuple(c / norm for c in xyz)


def altitude_deg(los, up):
    """Geometric altitude above the station's geodetic horizon [deg] of a target at line of sight
    ``los`` (target minus station, (x, y, z) in ITRS); ``up``: the station's zenith, (x, y, z)."""
    sine = _dot3(los, up)
    sine /= np.sqrt(_dot3(los, los))
    np.clip(sine, -1.0, 1.0, out=sine)
    return np.degrees(np.arcsin(sine, out=sine), out=sine)


def separation_deg(a, b):
    """Angle between two sets of (x, y, z) vectors [deg] (atan2 form: accurate at small angles).

    The cross product's components are squared and summed in place (three buffers, not nine)."""
    cx = a[1] * b[2]
    cx -= a[2] * b[1]
    cy = a[2] * b[0]
    cy -= a[0] * b[2]
    cz = a[0] * b[1]
    cz -= a[1] * b[0]
    cx *= cx
    cy *= cy
    cz *= cz
    cx += cy
    cx += cz
    angle = np.arctan2(np.sqrt(cx, out=cx), _dot3(a, b), out=cx)
    return np.degrees(angle, out=angle)


def sunlit(sat_itrs_m, sun_dir):
    """True where the satellite (x, y, z) [m] is outside the Earth's cylindrical shadow; ``sun_dir``:
    the unit vector to the Sun, (x, y, z), in the same frame.

    The cylinder of radius R_E along the Sun direction is Skyfield's ``is_sunlit``
    test without the Sun's finite distance (its cone narrows by R_E/1 AU, under
    0.3 km at LEO ranges).
    """
    along = _dot3(sat_itrs_m, sun_dir)
    perp2 = _dot3(sat_itrs_m, sat_itrs_m)
    perp2 -= along * along
    return (along > 0.0) | (perp2 > EARTH_RADIUS_M**2)
