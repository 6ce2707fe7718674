// philox.cu — raw Philox4x32-10 blocks, for the agreement test of philox.cuh.
#include "philox.cuh"

// out[4*i .. 4*i+3] = Philox4x32-10(counter = (i + offset_lo, offset_hi, stream, tag), key)
QSAT_GLOBAL void philox_blocks(uint32_t* out, long long n, long long offset,
                               long long stream, long long tag, long long seed) {
    QSAT_FOR(i, n) {
        unsigned long long index = (unsigned long long)(i + offset);
        qsat_u4 c = {(uint32_t)index, (uint32_t)(index >> 32), (uint32_t)stream, (uint32_t)tag};
        qsat_u4 r = qsat_philox4x32_10(c, (uint32_t)seed, (uint32_t)((unsigned long long)seed >> 32));
        out[4 * i + 0] = r.x;
        out[4 * i + 1] = r.y;
        out[4 * i + 2] = r.z;
        out[4 * i + 3] = r.w;
    }
}
