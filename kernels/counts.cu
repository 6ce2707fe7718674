// counts.cu — sampled photon counts per step: Poisson(lambda_i) from counter-based Philox streams.
// Twin: qsat/detection/sampling.py: sample_poisson (same counters, same arithmetic order).
//
// Counter of the draw for element i, attempt a: (i_lo, i_hi, stream, tag + (a << 24)), key = seed,
// so a sample depends on (seed, stream, tag, i) only — never on launch layout or chunking.
// The sampler itself (inversion below 10, Hörmann's PTRS above) is poisson.cuh's.
// Errors among detections are sampled as an independent Poisson of mean lambda*q (thinning of a
// Poisson process), which is exactly the binomial split of a Poisson count.
#include "poisson.cuh"

QSAT_HD qsat_u4 qsat_counts_block(long long i, long long seed, long long stream, long long tag, int attempt) {
    unsigned long long index = (unsigned long long)i;
    qsat_u4 c = {(uint32_t)index, (uint32_t)(index >> 32), (uint32_t)stream,
                 (uint32_t)((unsigned long long)tag + ((unsigned long long)attempt << 24))};
    return qsat_philox4x32_10(c, (uint32_t)seed, (uint32_t)((unsigned long long)seed >> 32));
}

// The blocks of element i: attempt a -> qsat_counts_block(i, ..., a).
struct qsat_counts_blocks {
    long long i, seed, stream, tag;
    QSAT_HD_MEMBER qsat_u4 operator()(int attempt) const { return qsat_counts_block(i, seed, stream, tag, attempt); }
};

// Returns the sample, or -1 when PTRS did not accept within the attempt limit (probability < 1e-60).
QSAT_HD long long qsat_poisson(double lam, long long i, long long seed, long long stream, long long tag) {
    qsat_counts_blocks blocks = {i, seed, stream, tag};
    return (long long)qsat_poisson_draw(lam, blocks);
}

// out[i] = Poisson(lam[i]) sample keyed by (seed, stream, tag, i); tag < 2^24.
QSAT_GLOBAL void sample_poisson(const double* lam, long long* out, long long n, long long seed,
                                long long stream, long long tag) {
    QSAT_FOR(i, n) {
        out[i] = qsat_poisson(lam[i], i, seed, stream, tag);
    }
}
