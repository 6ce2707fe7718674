"""Topocentric geometry: TEME states to azimuth, elevation, range and rates per station.

The NumPy/CuPy twin of ``kernels/geometry.cu`` (same arguments, same math, same
order of operations). TEME → ITRS by the GMST-1982 rotation (Vallado et al.,
AIAA 2006-6753, App. C, eqs. C-1..C-3, polar motion neglected as in Skyfield's
default timescale), then East-North-Up on the WGS84 ellipsoid.
"""

from __future__ import annotations

import numpy as np

from ..backend import array_namespace
from .. import kernels


def teme_to_itrs(r_teme_km, v_teme_km_s, theta_rad, omega_rad_s):
    """ITRS position [m] and velocity [m/s] from TEME km, km/s (eqs. C-1..C-3).

    ``theta_rad`` broadcasts against the leading dimensions of the (..., 3) states.
    """
    xp = array_namespace(r_teme_km, v_teme_km_s, theta_rad)
    ct, st = xp.cos(theta_rad), xp.sin(theta_rad)
    rx = 1000.0 * (ct * r_teme_km[..., 0] + st * r_teme_km[..., 1])
    ry = 1000.0 * (-st * r_teme_km[..., 0] + ct * r_teme_km[..., 1])
    rz = 1000.0 * r_teme_km[..., 2]
    vx = 1000.0 * (ct * v_teme_km_s[..., 0] + st * v_teme_km_s[..., 1]) + omega_rad_s * ry
    vy = 1000.0 * (-st * v_teme_km_s[..., 0] + ct * v_teme_km_s[..., 1]) - omega_rad_s * rx
    vz = 1000.0 * v_teme_km_s[..., 2]
    return xp.stack([rx, ry, rz], axis=-1), xp.stack([vx, vy, vz], axis=-1)


def topocentric_pairs(r_teme_km, v_teme_km_s, theta_rad, omega_rad_s, row, sta,
                      station_itrs_m, station_latlon_rad):
    """Azimuth, elevation [rad], slant range [m], range rate [m/s], elevation rate [rad/s].

    Element ``i`` pairs state ``row[i]`` (rows of ``r_teme_km``/``v_teme_km_s``, shape
    (nrow, 3), with GMST ``theta_rad[row]``) with station ``sta[i]``.
    """
    xp = array_namespace(r_teme_km, v_teme_km_s, theta_rad)
    r_itrs, v_itrs = teme_to_itrs(r_teme_km[row], v_teme_km_s[row], theta_rad[row], omega_rad_s)
    d = r_itrs - station_itrs_m[sta]
    lat, lon = station_latlon_rad[sta, 0], station_latlon_rad[sta, 1]
    sl, cl, so, co = xp.sin(lat), xp.cos(lat), xp.sin(lon), xp.cos(lon)
    dx, dy, dz = d[:, 0], d[:, 1], d[:, 2]
    vx, vy, vz = v_itrs[:, 0], v_itrs[:, 1], v_itrs[:, 2]
    e = -so * dx + co * dy
    n = -sl * co * dx - sl * so * dy + cl * dz
    u = cl * co * dx + cl * so * dy + sl * dz
    de = -so * vx + co * vy
    dn = -sl * co * vx - sl * so * vy + cl * vz
    du = cl * co * vx + cl * so * vy + sl * vz
    h = xp.sqrt(e * e + n * n)
    rho = xp.sqrt(h * h + u * u)
    az = xp.arctan2(e, n)
    az = xp.where(az < 0.0, az + 2.0 * np.pi, az)
    el = xp.arctan2(u, h)
    range_rate = (dx * vx + dy * vy + dz * vz) / rho
    dh = xp.where(h > 0.0, (e * de + n * dn) / xp.where(h > 0.0, h, 1.0), 0.0)
    el_rate = (h * du - u * dh) / (rho * rho)
    return az, el, rho, range_rate, el_rate


def topocentric_pairs_kernel(r_teme_km, v_teme_km_s, theta_rad, omega_rad_s, row, sta,
                             station_itrs_m, station_latlon_rad, *, host: bool = False):
    """``kernels/geometry.cu: topocentric_pairs`` on the GPU (CuPy arrays) or its host build."""
    xp = np if host else array_namespace(r_teme_km)
    n = int(row.shape[0])
    args_in = [xp.ascontiguousarray(a, dtype=xp.float64) for a in (r_teme_km, v_teme_km_s, theta_rad)]
    idx = [xp.ascontiguousarray(a, dtype=xp.int64) for a in (row, sta)]
    stations = [xp.ascontiguousarray(a, dtype=xp.float64) for a in (station_itrs_m, station_latlon_rad)]
    outs = [xp.empty(n, dtype=xp.float64) for _ in range(5)]
    if host:
        kernels.host_call("geometry", "topocentric_pairs", *args_in[:3], float(omega_rad_s), *idx,
                          *stations, n, *outs)
    else:
        kernels.launch("geometry", "topocentric_pairs", n,
                       (*args_in, np.float64(omega_rad_s), *idx, *stations, np.int64(n), *outs))
    return tuple(outs)


def topocentric(r_teme_km, v_teme_km_s, theta_rad, omega_rad_s, row, sta,
                station_itrs_m, station_latlon_rad):
    """Dispatch: the CUDA kernel for CuPy arrays, the array twin otherwise."""
    if array_namespace(r_teme_km) is not np:
        return topocentric_pairs_kernel(r_teme_km, v_teme_km_s, theta_rad, omega_rad_s, row, sta,
                                        station_itrs_m, station_latlon_rad)
    return topocentric_pairs(r_teme_km, v_teme_km_s, theta_rad, omega_rad_s, row, sta,
                             station_itrs_m, station_latlon_rad)
