// poisson.cuh — one Poisson sample from counter-based Philox blocks, for every kernel that samples
// counts (counts.cu, montecarlo.cuh). Twin: qsat/detection/poisson.py: poisson_draws (same blocks,
// same arithmetic order).
//
// The caller keys the draws: `block(attempt)` returns the Philox block of attempt a, so each kernel
// keeps its own counters (element index, stream and tag in counts.cu; row, trial and tag in the
// Monte Carlo). Each attempt uses one block: u = u01(x, y), v = u01(z, w).
//   lambda < 10 : inversion by sequential search on u (attempt 0 only, at most
//                 QSAT_POISSON_MAX_INVERSION terms);
//   lambda >= 10: PTRS transformed rejection, Hörmann, "The transformed rejection method for
//                 generating Poisson random variables", Insurance: Math. Econ. 12, 39 (1993), Sec. 3
//                 (algorithm PTRS), up to QSAT_POISSON_MAX_ATTEMPTS attempts (acceptance > 0.9 each).
// Returns the sample as a double, 0 for lambda = 0, and -1 for a negative or NaN lambda or when PTRS
// did not accept within the attempt limit (probability < 1e-60).
#pragma once
#include "philox.cuh"

#define QSAT_POISSON_MAX_ATTEMPTS 64
#define QSAT_POISSON_MAX_INVERSION 256

template <class Block>
QSAT_HD double qsat_poisson_draw(double lam, const Block& block) {
    if (!(lam > 0.0)) return lam == 0.0 ? 0.0 : -1.0;
    if (lam < 10.0) {
        qsat_u4 r = block(0);
        double u = qsat_u01(r.x, r.y);
        double p = exp(-lam);
        double f = p;
        double k = 0.0;
        while (u > f && k < QSAT_POISSON_MAX_INVERSION) {
            k += 1.0;
            p = p * lam / k;
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
    for (int attempt = 0; attempt < QSAT_POISSON_MAX_ATTEMPTS; ++attempt) {
        qsat_u4 r = block(attempt);
        double U = qsat_u01(r.x, r.y) - 0.5;
        double V = qsat_u01(r.z, r.w);
        double us = 0.5 - fabs(U);
        double k = floor((2.0 * a / us + b) * U + lam + 0.43);
        if (us >= 0.07 && V <= vr) return k;
        if (k < 0.0 || (us < 0.013 && V > us)) continue;
        double lhs = log(V) + log(invalpha) - log(a / (us * us) + b);
        double rhs = -lam + k * loglam - lgamma(k + 1.0);
        if (lhs <= rhs) return k;
    }
    return -1.0;
}
