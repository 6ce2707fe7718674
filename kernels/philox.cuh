// philox.cuh — Philox4x32-10 counter-based generator (Salmon, Moraes, Dror & Shaw,
// "Parallel random numbers: as easy as 1, 2, 3", SC'11, Sec. 5; constants from
// Table 2 of that paper). Stateless: the output depends only on (counter, key), so
// a Monte Carlo draw depends on the seed and its index, never on launch layout.
// Twin: qsat/random.py (bit-identical; checked against Random123's known answers).
#pragma once
#include "qsat_cuda.cuh"

struct qsat_u4 { uint32_t x, y, z, w; };

#define QSAT_PHILOX_M0 0xD2511F53u
#define QSAT_PHILOX_M1 0xCD9E8D57u
#define QSAT_PHILOX_W0 0x9E3779B9u
#define QSAT_PHILOX_W1 0xBB67AE85u

QSAT_HD void qsat_mulhilo32(uint32_t a, uint32_t b, uint32_t* hi, uint32_t* lo) {
    uint64_t p = (uint64_t)a * (uint64_t)b;
    *hi = (uint32_t)(p >> 32);
    *lo = (uint32_t)p;
}

QSAT_HD qsat_u4 qsat_philox4x32_10(qsat_u4 c, uint32_t k0, uint32_t k1) {
    for (int round = 0; round < 10; ++round) {
        uint32_t hi0, lo0, hi1, lo1;
        qsat_mulhilo32(QSAT_PHILOX_M0, c.x, &hi0, &lo0);
        qsat_mulhilo32(QSAT_PHILOX_M1, c.z, &hi1, &lo1);
        qsat_u4 n;
        n.x = hi1 ^ c.y ^ k0;
        n.y = lo1;
        n.z = hi0 ^ c.w ^ k1;
        n.w = lo0;
        c = n;
        k0 += QSAT_PHILOX_W0;
        k1 += QSAT_PHILOX_W1;
    }
    return c;
}

// Uniform double in the open interval (0, 1) from two 32-bit words (53 bits).
QSAT_HD double qsat_u01(uint32_t a, uint32_t b) {
    uint64_t m = ((uint64_t)(a >> 5) << 26) | (uint64_t)(b >> 6);
    return ((double)m + 0.5) * (1.0 / 9007199254740992.0);
}

// Two independent standard normals from one Philox block (Box-Muller).
QSAT_HD void qsat_normal2(qsat_u4 r, double* z0, double* z1) {
    double u1 = qsat_u01(r.x, r.y);
    double u2 = qsat_u01(r.z, r.w);
    double radius = sqrt(-2.0 * log(u1));
    double angle = 2.0 * QSAT_PI * u2;
    double sa, ca;
    qsat_sincos(angle, &sa, &ca);
    *z0 = radius * ca;
    *z1 = radius * sa;
}
