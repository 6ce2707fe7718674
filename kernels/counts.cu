// counts.cu — sampled photon counts per step: Poisson(lambda_i) from counter-based Philox streams.
// Twin: qsat/detection/sampling.py: sample_poisson (same counters, same arithmetic order).
//
// Counter of the draw for element i, attempt a: (i_lo, i_hi, stream, tag + (a << 24)), key = seed,
// so a sample depends on (seed, stream, tag, i) only — never on launch layout or chunking.
// Each attempt uses one Philox block: u = u01(x, y), v = u01(z, w).
//   lambda < 10 : inversion by sequential search on u (attempt 0 only);
//   lambda >= 10: PTRS transformed rejection, Hörmann, "The transformed rejection method for
//                 generating Poisson random variables", Insurance: Math. Econ. 12, 39 (1993), Sec. 3
//                 (algorithm PTRS), up to QSAT_COUNTS_MAX_ATTEMPTS attempts (acceptance > 0.9 each).
// Errors among detections are sampled as an independent Poisson of mean lambda*q (thinning of a
// Poisson process), which is exactly the binomial split of a Poisson count.
#include "philox.cuh"

#define QSAT_COUNTS_MAX_ATTEMPTS 64
#define QSAT_COUNTS_MAX_INVERSION 256

QSAT_HD qsat_u4 qsat_counts_block(long long i, long long seed, long long stream, long long tag, int attempt) {
    unsigned long long index = (unsigned long long)i;
    qsat_u4 c = {(uint32_t)index, (uint32_t)(index >> 32), (uint32_t)stream,
                 (uint32_t)((unsigned long long)tag + ((unsigned long long)attempt << 24))};
    return qsat_philox4x32_10(c, (uint32_t)seed, (uint32_t)((unsigned long long)seed >> 32));
}

// Returns the sample, or -1 when PTRS did not accept within the attempt limit (probability < 1e-60).
QSAT_HD long long qsat_poisson(double lam, long long i, long long seed, long long stream, long long tag) {
    if (!(lam > 0.0)) return lam == 0.0 ? 0 : -1;
    if (lam < 10.0) {
        qsat_u4 r = qsat_counts_block(i, seed, stream, tag, 0);
        double u = qsat_u01(r.x, r.y);
        double p = exp(-lam);
        double f = p;
        long long k = 0;
        while (u > f && k < QSAT_COUNTS_MAX_INVERSION) {
            k += 1;
            p = p * lam / (double)k;
            f = f + p;
        }
        return k;
    }
    double slam = sqrt(lam);
    double loglam = log(lam);
    double b = 0.931 + 2.53 * slam;
    double a = -0.059 + 0.02483 * b;
    double invalpha = 1.1239 + 1.1328 / (b - 3.4);
    double vr = 0.9277 - 3.6224 / (b - 2.0);
    for (int attempt = 0; attempt < QSAT_COUNTS_MAX_ATTEMPTS; ++attempt) {
        qsat_u4 r = qsat_counts_block(i, seed, stream, tag, attempt);
        double U = qsat_u01(r.x, r.y) - 0.5;
        double V = qsat_u01(r.z, r.w);
        double us = 0.5 - fabs(U);
        double k = floor((2.0 * a / us + b) * U + lam + 0.43);
        if (us >= 0.07 && V <= vr) return (long long)k;
        if (k < 0.0 || (us < 0.013 && V > us)) continue;
        double lhs = log(V) + log(invalpha) - log(a / (us * us) + b);
        double rhs = -lam + k * loglam - lgamma(k + 1.0);
        if (lhs <= rhs) return (long long)k;
    }
    return -1;
}

// out[i] = Poisson(lam[i]) sample keyed by (seed, stream, tag, i); tag < 2^24.
QSAT_GLOBAL void sample_poisson(const double* lam, long long* out, long long n, long long seed,
                                long long stream, long long tag) {
    QSAT_FOR(i, n) {
        out[i] = qsat_poisson(lam[i], i, seed, stream, tag);
    }
}
