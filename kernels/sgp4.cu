// sgp4.cu — SGP4/SDP4 propagation of satellites × times (see sgp4.cuh).
#include "sgp4.cuh"

// For element i of nsat*ntime (satellite s = i / ntime, time k = i % ntime):
// elements: (nsat, nfield) packed rows (sgp4_elements.cuh); jd, fr: (ntime,) two-part
// UTC Julian dates; error: (nsat, ntime) uint8; r, v: (nsat, ntime, 3) km, km/s, TEME.
// Consecutive threads share a satellite, so its row is read once per warp.
QSAT_GLOBAL void sgp4_propagate(const double* __restrict__ elements, long long nsat, long long nfield,
                                const double* __restrict__ jd, const double* __restrict__ fr, long long ntime,
                                unsigned char* __restrict__ error, double* __restrict__ r,
                                double* __restrict__ v) {
    QSAT_FOR(i, nsat * ntime) {
        const long long s = i / ntime;
        const long long k = i - s * ntime;
        const double* e = elements + s * nfield;
        // Minutes since epoch, in the order python-sgp4 uses for two-part dates.
        const double tsince = (jd[k] - e[QSAT_SGP4_JDSATEPOCH]) * 1440.0 +
                              (fr[k] - e[QSAT_SGP4_JDSATEPOCHF]) * 1440.0;
        double rr[3], vv[3];
        const int code = qsat_sgp4(e, tsince, rr, vv);
        error[i] = (unsigned char)code;
        for (int c = 0; c < 3; ++c) {
            r[3 * i + c] = rr[c];
            v[3 * i + c] = vv[c];
        }
    }
}
