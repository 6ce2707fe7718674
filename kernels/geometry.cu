// geometry.cu — batched topocentric geometry for satellite x station x time.
// Element i pairs state row[i] (a satellite at one time) with station sta[i].
#include "geometry.cuh"

QSAT_GLOBAL void topocentric_pairs(const double* r_teme_km, const double* v_teme_km_s,
                                   const double* theta_rad, double omega_rad_s,
                                   const long long* row, const long long* sta,
                                   const double* station_itrs_m, const double* station_latlon_rad,
                                   long long n,
                                   double* az_rad, double* el_rad, double* range_m,
                                   double* range_rate_m_s, double* el_rate_rad_s) {
#if !defined(__CUDACC__) && !defined(__CUDACC_RTC__) && defined(_OPENMP)
#pragma omp parallel for schedule(static) if (n > 4096)  // host build: elements are independent
#endif
    QSAT_FOR(i, n) {
        long long k = row[i], s = sta[i];
        qsat_topocentric(r_teme_km + 3 * k, v_teme_km_s + 3 * k, theta_rad[k], omega_rad_s,
                         station_itrs_m + 3 * s, station_latlon_rad[2 * s], station_latlon_rad[2 * s + 1],
                         az_rad + i, el_rad + i, range_m + i, range_rate_m_s + i, el_rate_rad_s + i);
    }
}
