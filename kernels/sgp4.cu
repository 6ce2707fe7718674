// sgp4.cu — SGP4/SDP4 propagation of satellites × times, or of (satellite, time) pairs (see sgp4.cuh).
#include "sgp4.cuh"

// One propagation: satellite row e at two-part UTC Julian date (jd, fr) into output slot i.
QSAT_HD void qsat_sgp4_store(const double* e, double jd, double fr, long long i, unsigned char* error,
                             double* r, double* v) {
    // Minutes since epoch, in the order python-sgp4 uses for two-part dates.
    const double tsince = (jd - e[QSAT_SGP4_JDSATEPOCH]) * 1440.0 + (fr - e[QSAT_SGP4_JDSATEPOCHF]) * 1440.0;
    double rr[3], vv[3];
    const int code = qsat_sgp4(e, tsince, rr, vv);
    error[i] = (unsigned char)code;
    for (int c = 0; c < 3; ++c) {
        r[3 * i + c] = rr[c];
        v[3 * i + c] = vv[c];
    }
}

// For element i of nsat*ntime (satellite s = i / ntime, time k = i % ntime):
// elements: (nsat, nfield) packed rows (sgp4_elements.cuh); jd, fr: (ntime,) two-part
// UTC Julian dates; error: (nsat, ntime) uint8; r, v: (nsat, ntime, 3) km, km/s, TEME.
// Consecutive threads share a satellite, so its row is read once per warp.
QSAT_GLOBAL void sgp4_propagate(const double* __restrict__ elements, long long nsat, long long nfield,
                                const double* __restrict__ jd, const double* __restrict__ fr, long long ntime,
                                unsigned char* __restrict__ error, double* __restrict__ r,
                                double* __restrict__ v) {
    const long long n = nsat * ntime;
#if !defined(__CUDACC__) && !defined(__CUDACC_RTC__) && defined(_OPENMP)
#pragma omp parallel for schedule(static) if (n > 4096)  // host build: elements are independent
#endif
    QSAT_FOR(i, n) {
        const long long s = i / ntime;
        const long long k = i - s * ntime;
        qsat_sgp4_store(elements + s * nfield, jd[k], fr[k], i, error, r, v);
    }
}

// For element i of n: satellite sat[i] at (jd[i], fr[i]) — the root refinement of the pass
// search, where every bracket has its own satellite and time. Outputs: error (n,), r, v (n, 3).
QSAT_GLOBAL void sgp4_propagate_pairs(const double* __restrict__ elements, long long nfield,
                                      const long long* __restrict__ sat, const double* __restrict__ jd,
                                      const double* __restrict__ fr, long long n,
                                      unsigned char* __restrict__ error, double* __restrict__ r,
                                      double* __restrict__ v) {
#if !defined(__CUDACC__) && !defined(__CUDACC_RTC__) && defined(_OPENMP)
#pragma omp parallel for schedule(static) if (n > 4096)  // host build: elements are independent
#endif
    QSAT_FOR(i, n) {
        qsat_sgp4_store(elements + sat[i] * nfield, jd[i], fr[i], i, error, r, v);
    }
}
