// montecarlo.cuh — the math of the fused Monte Carlo kernel (kernels/montecarlo.cu).
// Twin: qsat/montecarlo/sampler.py (same counters, same operations in the same order).
//
// One element = one (trial, pass). Its draws are Philox4x32-10 blocks with key = seed and counter
// (word0, pass, trial, tag): word0 is the step (per-step fades) or the attempt (Poisson), tag names
// the quantity. A draw therefore depends on (seed, trial, pass, step) only — never on chunking,
// launch layout or worker count. Formulas and references: docs/montecarlo.md and sampler.py.
#pragma once
#include "philox.cuh"

// Per-step input columns (sampler.STEP_COLUMNS).
#define QMC_ETA 0         // static transmittance to the click (detector efficiency included), no pointing
#define QMC_POINT_MEAN 1  // mean pointing factor (used when pointing is not sampled)
#define QMC_W_EQ 2        // equivalent beam width (m), Farid & Hranilovic eq. (10)
#define QMC_SX 3          // beam displacement rms along x at the receiver (m)
#define QMC_SY 4          // ... along y (m)
#define QMC_BIAS 5        // pointing bias along x at the receiver (m)
#define QMC_S_LN 6        // log-irradiance variance sigma_lnI^2 of the step
#define QMC_NOISE 7       // decoy: extraneous click probability per pulse per detector; bbm92: noise cps of arm A
#define QMC_WEIGHT 8      // decoy: pulses sent in the step; bbm92: step duration (s); 0 = step not used
#define QMC_N_STEP_COLS 9

// Per-row input columns. A row is a pass (modes 0, 1) or a pair of passes seen at once (mode 2).
#define QMC_P_CLEAR 0     // clear-sky probability of pass A
#define QMC_N_STEPS 1     // steps to walk (last used step + 1)
#define QMC_PASS_A 2      // global index of pass A: keys its fades and weather
#define QMC_OFFSET_A 3    // pass A's own index of the row's first step: keys the per-step draws
#define QMC_PASS_B 4      // mode 2: pass B (the other station's pass), its offset, its clear-sky probability
#define QMC_OFFSET_B 5
#define QMC_P_CLEAR_B 6
#define QMC_N_PASS_COLS 7

// Scalar parameters (sampler.PARAMS).
#define QMC_MODE 0        // 0 decoy BB84; BBM92 with 1: one photon downlinked, its partner detected on board,
                          // 2: both photons downlinked to two stations (a row is a pair of passes)
#define QMC_FLAGS 1       // bit 0 weather, 1 turbulence, 2 pointing, 3 counts
#define QMC_RHO_T 2       // lag-1 correlation of the turbulence driver between steps
#define QMC_V_T 3         // variance fraction of the step mean of the turbulence driver
#define QMC_RHO_P 4       // same for the pointing displacement
#define QMC_V_P 5
#define QMC_MU 6          // 6, 7, 8: mean photon numbers; 9, 10, 11: intensity probabilities
#define QMC_PROB 9
#define QMC_PX 12         // X-basis probability
#define QMC_P_AP 13       // afterpulse probability
#define QMC_E_INT 14      // intrinsic (misalignment) error
#define QMC_PAIR_RATE 15  // bbm92: pairs per second
#define QMC_WINDOW 16     // bbm92: coincidence window (s)
#define QMC_E_SRC 17      // bbm92: source QBER
#define QMC_ETA_B 18      // bbm92: on-board arm transmittance (detector efficiency)
#define QMC_NOISE_B 19    // bbm92: noise cps of the on-board arm
#define QMC_SIFT 20       // bbm92: sifted fraction of coincidences
#define QMC_N_PARAMS 21

// Output columns per element (sampler.OUTPUTS).
#define QMC_N_OUT 16
#define QMC_OUT_SUM_ETA 12
#define QMC_OUT_N_USED 13
#define QMC_OUT_CLEAR 14

#define QMC_F_WEATHER 1
#define QMC_F_TURB 2
#define QMC_F_POINT 4
#define QMC_F_COUNTS 8

#define QMC_TAG_STEP 0x4D430001u
#define QMC_TAG_WEATHER 0x4D430002u
#define QMC_TAG_COUNTS 0x4D430100u   // + class (0..11); counters (attempt, row, trial, tag)
#define QMC_TAG_PAIR_COUNTS 0x4D430200u  // mode 2: + class, keyed by the pair's row index
#define QMC_MAX_ATTEMPTS 64
#define QMC_MAX_INVERSION 256
#define QMC_TWO_POW_M32 2.3283064365386963e-10  // 2^-32

QSAT_HD qsat_u4 qmc_block(uint32_t word0, long long pass, long long trial, uint32_t tag, unsigned long long seed) {
    qsat_u4 c = {word0, (uint32_t)pass, (uint32_t)trial, tag};
    return qsat_philox4x32_10(c, (uint32_t)seed, (uint32_t)(seed >> 32));
}

// Uniform in (0, 1) from one 32-bit word (fades need no more than 32 bits: |z| <= 6.8 below).
QSAT_HD double qmc_u32(uint32_t w) { return ((double)w + 0.5) * QMC_TWO_POW_M32; }

// Three standard normals from one block (Box-Muller on (x, y) and (z, w)): the pointing pair and
// the turbulence driver of one step.
QSAT_HD void qmc_normal3(qsat_u4 r, double* zx, double* zy, double* zt) {
    double rad1 = sqrt(-2.0 * log(qmc_u32(r.x)));
    double ang1 = 2.0 * QSAT_PI * qmc_u32(r.y);
    double rad2 = sqrt(-2.0 * log(qmc_u32(r.z)));
    double ang2 = 2.0 * QSAT_PI * qmc_u32(r.w);
    *zx = rad1 * cos(ang1);
    *zy = rad1 * sin(ang1);
    *zt = rad2 * cos(ang2);
}


// Poisson(lam) sample of class c: inversion for lam < 10, Hörmann's PTRS (Insurance: Math. Econ.
// 12, 39 (1993), Sec. 3, algorithm PTRS) for lam >= 10; -1 if no acceptance (probability < 1e-60).
QSAT_HD double qmc_poisson(double lam, long long pass, long long trial, uint32_t tag, unsigned long long seed) {
    if (!(lam > 0.0)) return lam == 0.0 ? 0.0 : -1.0;
    if (lam < 10.0) {
        qsat_u4 r = qmc_block(0u, pass, trial, tag, seed);
        double u = qsat_u01(r.x, r.y);
        double p = exp(-lam);
        double f = p;
        double k = 0.0;
        while (u > f && k < QMC_MAX_INVERSION) {
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
    for (int attempt = 0; attempt < QMC_MAX_ATTEMPTS; ++attempt) {
        qsat_u4 r = qmc_block((uint32_t)attempt, pass, trial, tag, seed);
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

// Counts of class c: sampled, or the conditional mean itself when counts are not sampled.
QSAT_HD double qmc_count(double lam, int sample, long long row, long long trial, uint32_t tag,
                         unsigned long long seed) {
    return sample ? qmc_poisson(lam, row, trial, tag, seed) : lam;
}

// The Gaussian drivers of one downlink (pointing x, y and turbulence), AR(1) across steps.
struct qmc_arm {
    double gx, gy, gt;
};

QSAT_HD void qmc_advance(qmc_arm* a, long long s, uint32_t word, long long pass, long long trial,
                         unsigned long long seed, int flags, double rho_p, double inn_p, double rho_t, double inn_t) {
    double zx = 0.0, zy = 0.0, zt = 0.0;
    if (flags & (QMC_F_TURB | QMC_F_POINT))
        qmc_normal3(qmc_block(word, pass, trial, QMC_TAG_STEP, seed), &zx, &zy, &zt);
    if (s == 0) {  // start in the stationary law
        a->gx = zx;
        a->gy = zy;
        a->gt = zt;
    } else {       // AR(1): g_s = rho g_{s-1} + sqrt(1 - rho^2) z_s
        a->gx = rho_p * a->gx + inn_p * zx;
        a->gy = rho_p * a->gy + inn_p * zy;
        a->gt = rho_t * a->gt + inn_t * zt;
    }
}

// Realised transmittance of one step of one downlink. One exponential for both fades:
// eta * exp(pointing exponent + log-irradiance) / sqrt(...).
QSAT_HD double qmc_eta(const double* f, double clear, const qmc_arm* a, int flags, double sv_p, double res_p,
                       double v_t) {
    double eta = f[QMC_ETA] * clear;
    double expo = 0.0;
    if (flags & QMC_F_POINT) {
        // mean of exp(-2 |r0 + X|^2 / w^2) over the residual jitter X ~ N(0, diag(sx2, sy2)):
        // Gaussian integral per axis, exp(-2 x0^2 / (w^2 + 4 sx2)) / sqrt((w^2 + 4 sx2) / w^2)
        double w2 = f[QMC_W_EQ] * f[QMC_W_EQ];
        double sx = f[QMC_SX], sy = f[QMC_SY];
        double x0 = f[QMC_BIAS] + sx * sv_p * a->gx;
        double y0 = sy * sv_p * a->gy;
        double dx = w2 + 4.0 * (sx * sx * res_p);
        double dy = w2 + 4.0 * (sy * sy * res_p);
        expo = -2.0 * (x0 * x0 / dx + y0 * y0 / dy);
        eta = eta / sqrt((dx / w2) * (dy / w2));
    } else {
        eta = eta * f[QMC_POINT_MEAN];
    }
    if (flags & QMC_F_TURB) {
        double s2 = f[QMC_S_LN] * v_t;
        expo = expo + (sqrt(s2) * a->gt - 0.5 * s2);
    }
    eta = eta * exp(expo);
    return eta < 1.0 ? eta : 1.0;
}

QSAT_HD double qmc_clear(double p_clear, long long pass, long long trial, unsigned long long seed, int flags) {
    if (!(flags & QMC_F_WEATHER)) return 1.0;
    qsat_u4 r = qmc_block(0u, pass, trial, QMC_TAG_WEATHER, seed);
    return qsat_u01(r.x, r.y) < p_clear ? 1.0 : 0.0;
}

// One (trial, row): walk the row's steps, realise the transmittance(s), accumulate the
// conditional mean counts, then sample them. `steps` points at the row's (n_steps,
// QMC_N_STEP_COLS) block of pass A, `steps_b` at pass B's (mode 2 only).
QSAT_HD void qmc_element(const double* steps, const double* steps_b, const double* pass_in, const double* prm,
                         double* out, long long row, long long trial, unsigned long long seed) {
    int flags = (int)prm[QMC_FLAGS];
    int mode = (int)prm[QMC_MODE];
    long long pass_a = (long long)pass_in[QMC_PASS_A], pass_b = (long long)pass_in[QMC_PASS_B];
    long long off_a = (long long)pass_in[QMC_OFFSET_A], off_b = (long long)pass_in[QMC_OFFSET_B];
    double clear = qmc_clear(pass_in[QMC_P_CLEAR], pass_a, trial, seed, flags);
    double clear_b = mode == 2 ? qmc_clear(pass_in[QMC_P_CLEAR_B], pass_b, trial, seed, flags) : 1.0;
    double rho_t = prm[QMC_RHO_T], rho_p = prm[QMC_RHO_P];
    double inn_t = sqrt(1.0 - rho_t * rho_t), inn_p = sqrt(1.0 - rho_p * rho_p);
    double v_t = prm[QMC_V_T], v_p = prm[QMC_V_P];
    double sv_p = sqrt(v_p), res_p = 1.0 - v_p;
    qmc_arm arm_a = {0.0, 0.0, 0.0}, arm_b = {0.0, 0.0, 0.0};
    double acc[6] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    double sum_eta = 0.0, n_used = 0.0;
    long long n_steps = (long long)pass_in[QMC_N_STEPS];
    for (long long s = 0; s < n_steps; ++s) {
        const double* f = steps + s * QMC_N_STEP_COLS;
        qmc_advance(&arm_a, s, (uint32_t)(off_a + s), pass_a, trial, seed, flags, rho_p, inn_p, rho_t, inn_t);
        if (mode == 2)
            qmc_advance(&arm_b, s, (uint32_t)(off_b + s), pass_b, trial, seed, flags, rho_p, inn_p, rho_t, inn_t);
        double weight = f[QMC_WEIGHT];
        if (!(weight > 0.0)) continue;
        double eta = qmc_eta(f, clear, &arm_a, flags, sv_p, res_p, v_t);
        sum_eta += eta;
        n_used += 1.0;
        if (mode == 0) {
            // Lim et al., PRA 89, 022307 (2014), simulation model (qsat/detection/wcp.py)
            double pdc = f[QMC_NOISE];
            for (int k = 0; k < 3; ++k) {
                double x = eta * prm[QMC_MU + k];
                double signal = -expm1(-x);  // 1 - e^{-x}, and e^{-x} = 1 - signal (exact to rounding)
                double d = signal + 2.0 * pdc * (1.0 - signal);
                double rk = (1.0 + prm[QMC_P_AP]) * d;
                double ek = pdc + prm[QMC_E_INT] * signal + 0.5 * prm[QMC_P_AP] * d;
                acc[k] += weight * prm[QMC_PROB + k] * rk;
                acc[3 + k] += weight * prm[QMC_PROB + k] * ek;
            }
        } else {
            // SPDC pair statistics (qsat/detection/spdc.py): true and accidental coincidences
            double eta_b = prm[QMC_ETA_B], noise_b = prm[QMC_NOISE_B];
            if (mode == 2) {
                const double* fb = steps_b + s * QMC_N_STEP_COLS;
                eta_b = qmc_eta(fb, clear_b, &arm_b, flags, sv_p, res_p, v_t);
                noise_b = fb[QMC_NOISE];
            }
            double rate = prm[QMC_PAIR_RATE];
            double true_c = rate * eta * eta_b;
            double sa = rate * eta + f[QMC_NOISE];
            double sb = rate * eta_b + noise_b;
            acc[0] += weight * true_c;
            acc[1] += weight * (sa * sb * prm[QMC_WINDOW]);
        }
    }
    int sample = (flags & QMC_F_COUNTS) != 0;
    uint32_t tag = mode == 2 ? QMC_TAG_PAIR_COUNTS : QMC_TAG_COUNTS;
    for (int j = 0; j < QMC_N_OUT; ++j) out[j] = 0.0;
    if (mode == 0) {
        double px = prm[QMC_PX];
        double fx = px * px, fz = (1.0 - px) * (1.0 - px);
        for (int k = 0; k < 3; ++k) {
            double r = acc[k], e = acc[3 + k];
            double ok = r - e > 0.0 ? r - e : 0.0;
            double ex = qmc_count(fx * e, sample, row, trial, tag + (uint32_t)k, seed);
            double cx = qmc_count(fx * ok, sample, row, trial, tag + (uint32_t)(3 + k), seed);
            double ez = qmc_count(fz * e, sample, row, trial, tag + (uint32_t)(6 + k), seed);
            double cz = qmc_count(fz * ok, sample, row, trial, tag + (uint32_t)(9 + k), seed);
            out[k] = cx + ex;
            out[3 + k] = cz + ez;
            out[6 + k] = ex;
            out[9 + k] = ez;
        }
    } else {
        double q = prm[QMC_SIFT], e_src = prm[QMC_E_SRC];
        double t = acc[0], a = acc[1];
        double te = qmc_count(q * e_src * t, sample, row, trial, tag + 0u, seed);      // sifted, true, error
        double tc = qmc_count(q * (1.0 - e_src) * t, sample, row, trial, tag + 1u, seed);
        double tu = qmc_count((1.0 - q) * t, sample, row, trial, tag + 2u, seed);      // true, not sifted
        double ae = qmc_count(q * 0.5 * a, sample, row, trial, tag + 3u, seed);        // accidentals err half the time
        double ac = qmc_count(q * 0.5 * a, sample, row, trial, tag + 4u, seed);
        double au = qmc_count((1.0 - q) * a, sample, row, trial, tag + 5u, seed);
        out[0] = te + tc + tu;            // entangled pairs (true coincidences)
        out[1] = te + tc + ae + ac;       // sifted events
        out[2] = te + ae;                 // errors among them
        out[3] = te + tc + tu + ae + ac + au;  // all coincidences
    }
    out[QMC_OUT_SUM_ETA] = sum_eta;
    out[QMC_OUT_N_USED] = n_used;
    out[QMC_OUT_CLEAR] = clear * clear_b;
}
