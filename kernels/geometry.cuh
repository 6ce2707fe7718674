// geometry.cuh — topocentric geometry of a satellite seen from a ground station.
//
// TEME (SGP4's frame) -> ITRS by the GMST-1982 rotation, as in Vallado et al.,
// AIAA 2006-6753, Appendix C (eqs. C-1..C-3; polar motion neglected, as Skyfield
// does without a polar-motion table), then the local East-North-Up frame of the
// station on the WGS84 ellipsoid (Vallado, "Fundamentals of Astrodynamics", 4th
// ed., Sec. 3.4, SEZ/ENU rotation). Twin: qsat/orbits/geometry.py.
#pragma once
#include "qsat_cuda.cuh"

// r_teme_km, v_teme_km_s: satellite state; theta: GMST-1982 [rad]; omega: its rate [rad/s];
// st_m: station ITRS position [m]; lat, lon: geodetic [rad].
// Outputs: azimuth [rad, 0..2pi from north through east], elevation [rad],
// slant range [m], range rate [m/s], elevation rate [rad/s].
QSAT_HD void qsat_topocentric(const double* r_teme_km, const double* v_teme_km_s,
                              double theta, double omega, const double* st_m,
                              double lat, double lon,
                              double* az, double* el, double* range_m,
                              double* range_rate_m_s, double* el_rate) {
    const double ct = cos(theta), stt = sin(theta);
    // Position and velocity in ITRS (m, m/s); velocity includes -omega x r (eq. C-3).
    double rx = 1000.0 * (ct * r_teme_km[0] + stt * r_teme_km[1]);
    double ry = 1000.0 * (-stt * r_teme_km[0] + ct * r_teme_km[1]);
    double rz = 1000.0 * r_teme_km[2];
    double vx = 1000.0 * (ct * v_teme_km_s[0] + stt * v_teme_km_s[1]) + omega * ry;
    double vy = 1000.0 * (-stt * v_teme_km_s[0] + ct * v_teme_km_s[1]) - omega * rx;
    double vz = 1000.0 * v_teme_km_s[2];
    // Line of sight from the station.
    double dx = rx - st_m[0], dy = ry - st_m[1], dz = rz - st_m[2];
    const double sl = sin(lat), cl = cos(lat), so = sin(lon), co = cos(lon);
    double e = -so * dx + co * dy;
    double n = -sl * co * dx - sl * so * dy + cl * dz;
    double u = cl * co * dx + cl * so * dy + sl * dz;
    double de = -so * vx + co * vy;
    double dn = -sl * co * vx - sl * so * vy + cl * vz;
    double du = cl * co * vx + cl * so * vy + sl * vz;
    double h = sqrt(e * e + n * n);
    double rho = sqrt(h * h + u * u);
    double a = atan2(e, n);
    *az = a < 0.0 ? a + 2.0 * QSAT_PI : a;
    *el = atan2(u, h);
    *range_m = rho;
    *range_rate_m_s = (dx * vx + dy * vy + dz * vz) / rho;
    // d/dt atan2(u, h) with dh/dt = (e de + n dn) / h.
    double dh = h > 0.0 ? (e * de + n * dn) / h : 0.0;
    *el_rate = (h * du - u * dh) / (rho * rho);
}
