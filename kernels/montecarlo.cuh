// montecarlo.cuh — the math of the fused Monte Carlo kernel (kernels/montecarlo.cu).
// Twin: qsat/montecarlo/sampler.py (same counters, same operations in the same order), with
// qsat/montecarlo/elliptic.py for the elliptic-beam entry; array layout: qsat/montecarlo/layout.py.
//
// One element = one (trial, pass). Its draws are Philox4x32-10 blocks with key = seed and counter
// (word0, pass, trial, tag): word0 is the step (per-step fades) or the attempt (Poisson), tag names
// the quantity. A draw therefore depends on (seed, trial, pass, step) only — never on chunking,
// launch layout or worker count. Correlated weather ([network.weather]) comes in as given outcomes
// per (trial, row), keyed by (seed, trial, window, station) (qsat.network.weather.clear_flags).
// Formulas and references: docs/montecarlo.md and sampler.py.
#pragma once
#include "ellipticbeam.cuh"
#include "poisson.cuh"

// Per-step constants the kernel reads (sampler.STEP_CONSTANTS), computed once per chunk from the
// step inputs (sampler.STEP_COLUMNS) by sampler.step_constants: everything of a step that does not
// depend on the trial, so the per-sample work is the draws, the AR(1) update, one exp and the clicks.
// With QMC_F_ELLIPTIC (uplinks, [link] fading = "elliptic_beam") slots 1-7 and 12-13 hold the
// elliptic-beam constants instead (lengths in units of the receive aperture radius a):
//   X0 bias / a; AX, AY the step-mean centroid rms / a; KX = 2 (1 - v_p)(sx^2 + sy^2) / a^2 and
//   KY = 2 (1 - v_p)(sx^2 - sy^2) / a^2 (the residual jitter, added to the spot covariance);
//   ST = sqrt(v_t theta_var), HS = ln(W_ST^2 / a^2) - v_t theta_var / 2 (law of ln(W_i^2 / a^2));
//   RHO, RC: correlation of Theta_1 and Theta_2 and sqrt(1 - RHO^2).
#define QMC_C_ETA 0       // static transmittance to the click, over the residual-jitter spread (pointing
                          // sampled), or times the mean pointing factor (not sampled)
#define QMC_C_X0 1        // pointing bias along x at the receiver (m)
#define QMC_C_AX 2        // sqrt(v_p) sigma_x: step-mean displacement rms along x (m)
#define QMC_C_AY 3        // sqrt(v_p) sigma_y
#define QMC_C_KX 4        // -2 / (w^2 + 4 (1 - v_p) sigma_x^2) (1/m^2)
#define QMC_C_KY 5        // -2 / (w^2 + 4 (1 - v_p) sigma_y^2)
#define QMC_C_ST 6        // sqrt(v_t sigma_lnI^2): log-irradiance rms of the step
#define QMC_C_HS 7        // -v_t sigma_lnI^2 / 2: the unit-mean shift
#define QMC_C_NOISE 8     // decoy: extraneous click probability per pulse per detector; bbm92: noise cps of arm A
#define QMC_C_WEIGHT 9    // decoy: pulses sent in the step; bbm92: step duration (s); 0 = step not used
#define QMC_C_WA 10       // decoy: weight (1 + p_ap)(1 - 2 p_dc): clicks per unit signal probability
#define QMC_C_WB 11       // decoy: weight (e_int + p_ap (1 - 2 p_dc) / 2): errors per unit signal probability
#define QMC_C_RHO 12      // elliptic beam only (above); 0 otherwise
#define QMC_C_RC 13
#define QMC_N_CONSTS 14
// The step inputs of sampler.STEP_COLUMNS (before step_constants), for the layout test.
#define QMC_N_STEP_COLS 10
// Per-row sums of the clicks without signal over the row's steps (sampler.row_sums; decoy only):
// trial-independent, so summed once per chunk rather than once per trial.
#define QMC_S_R0 0        // sum of pulses 2 (1 + p_ap) p_dc: clicks without signal
#define QMC_S_E0 1        // sum of pulses (1 + p_ap) p_dc: errors without signal
#define QMC_N_SUMS 2

// Per-row input columns. A row is a pass (modes 0, 1) or a pair of passes seen at once (mode 2).
#define QMC_P_CLEAR 0     // clear-sky probability of pass A
#define QMC_N_STEPS 1     // steps to walk (last used step + 1)
#define QMC_PASS_A 2      // global index of pass A: keys its fades and weather
#define QMC_OFFSET_A 3    // pass A's own index of the row's first step: keys the per-step draws
#define QMC_PASS_B 4      // mode 2: pass B (the other station's pass), its offset, its clear-sky probability
#define QMC_OFFSET_B 5
#define QMC_P_CLEAR_B 6
#define QMC_APERTURE 7    // elliptic beam: receive aperture radius of pass A (m; the step constants are
#define QMC_OBSCURATION 8 // already scaled by it) and its central obscuration ratio
#define QMC_MU 9          // decoy: 9, 10, 11 mean photon numbers; 12, 13, 14 intensity probabilities;
#define QMC_PROB 12       // 15 X-basis probability — the pass's source (configured, or optimised per pass)
#define QMC_PX 15
#define QMC_N_PASS_COLS 16

// Scalar parameters (sampler.PARAMS).
#define QMC_MODE 0        // 0 decoy BB84; BBM92 with 1: one photon downlinked, its partner detected on board,
                          // 2: both photons downlinked to two stations (a row is a pair of passes)
#define QMC_FLAGS 1       // bit 0 weather, 1 turbulence, 2 pointing, 3 counts
#define QMC_RHO_T 2       // lag-1 correlation of the turbulence driver between steps
#define QMC_V_T 3         // variance fraction of the step mean of the turbulence driver
#define QMC_RHO_P 4       // same for the pointing displacement
#define QMC_V_P 5
#define QMC_P_AP 6        // afterpulse probability
#define QMC_E_INT 7       // intrinsic (misalignment) error
#define QMC_PAIR_RATE 8   // bbm92: pairs per second
#define QMC_WINDOW 9      // bbm92: coincidence window (s)
#define QMC_E_SRC 10      // bbm92: source QBER
#define QMC_ETA_B 11      // bbm92: on-board arm transmittance (detector efficiency)
#define QMC_NOISE_B 12    // bbm92: noise cps of the on-board arm
#define QMC_SIFT 13       // bbm92: sifted fraction of coincidences
#define QMC_N_PARAMS 14

// Output columns per element (sampler.OUTPUTS).
#define QMC_N_OUT 16
#define QMC_OUT_SUM_ETA 12
#define QMC_OUT_N_USED 13
#define QMC_OUT_CLEAR 14

#define QMC_F_WEATHER 1
#define QMC_F_TURB 2
#define QMC_F_POINT 4
#define QMC_F_COUNTS 8
#define QMC_F_CLEAR_GIVEN 16  // weather outcomes given per (trial, row) (correlated weather, [network.weather])
#define QMC_F_ELLIPTIC 32     // uplink fades from the elliptic-beam PDT (kernel montecarlo_trials_elliptic)

#define QMC_TAG_STEP 0x4D430001u
#define QMC_TAG_WEATHER 0x4D430002u
#define QMC_TAG_ORIENT 0x4D430003u   // elliptic beam: the orientation drivers of a step
#define QMC_TAG_COUNTS 0x4D430100u   // + class (0..11); counters (attempt, row, trial, tag)
#define QMC_TAG_PAIR_COUNTS 0x4D430200u  // mode 2: + class, keyed by the pair's row index
#define QMC_TWO_POW_M32 2.3283064365386963e-10  // 2^-32

QSAT_HD qsat_u4 qmc_block(uint32_t word0, long long pass, long long trial, uint32_t tag, unsigned long long seed) {
    qsat_u4 c = {word0, (uint32_t)pass, (uint32_t)trial, tag};
    return qsat_philox4x32_10(c, (uint32_t)seed, (uint32_t)(seed >> 32));
}

// Uniform in (0, 1) from one 32-bit word (fades need no more than 32 bits: |z| <= 6.8 below).
QSAT_HD double qmc_u32(uint32_t w) { return ((double)w + 0.5) * QMC_TWO_POW_M32; }

// Two standard normals from two 32-bit words (Box-Muller).
QSAT_HD void qmc_normal2(uint32_t a, uint32_t b, double* z0, double* z1) {
    double rad = sqrt(-2.0 * log(qmc_u32(a)));
    double ang = 2.0 * QSAT_PI * qmc_u32(b);
    double sa, ca;
    qsat_sincos(ang, &sa, &ca);
    *z0 = rad * ca;
    *z1 = rad * sa;
}

// Three standard normals from one block (Box-Muller on (x, y) and (z, w)): the pointing pair and
// the turbulence driver of one step.
QSAT_HD void qmc_normal3(qsat_u4 r, double* zx, double* zy, double* zt) {
    qmc_normal2(r.x, r.y, zx, zy);
    double rad2 = sqrt(-2.0 * log(qmc_u32(r.z)));
    double ang2 = 2.0 * QSAT_PI * qmc_u32(r.w);
    *zt = rad2 * cos(ang2);
}


// The Philox blocks of one Poisson draw: attempt a -> counter (a, row, trial, tag).
struct qmc_count_blocks {
    long long row, trial;
    uint32_t tag;
    unsigned long long seed;
    QSAT_HD_MEMBER qsat_u4 operator()(int attempt) const { return qmc_block((uint32_t)attempt, row, trial, tag, seed); }
};

// Poisson(lam) sample of class c (poisson.cuh: inversion below 10, Hörmann's PTRS above);
// -1 if no acceptance (probability < 1e-60).
QSAT_HD double qmc_poisson(double lam, long long pass, long long trial, uint32_t tag, unsigned long long seed) {
    qmc_count_blocks blocks = {pass, trial, tag, seed};
    return qsat_poisson_draw(lam, blocks);
}

// Counts of class c: sampled, or the conditional mean itself when counts are not sampled.
QSAT_HD double qmc_count(double lam, int sample, long long row, long long trial, uint32_t tag,
                         unsigned long long seed) {
    return sample ? qmc_poisson(lam, row, trial, tag, seed) : lam;
}

// AR(1) across steps: g_s = rho g_{s-1} + sqrt(1 - rho^2) z_s, starting in the stationary law.
QSAT_HD double qmc_ar1(long long s, double g, double z, double rho, double inn) {
    return s == 0 ? z : rho * g + inn * z;
}

// The Gaussian drivers of one downlink (pointing x, y and turbulence).
struct qmc_arm {
    double gx, gy, gt;
};

QSAT_HD void qmc_advance(qmc_arm* a, long long s, uint32_t word, long long pass, long long trial,
                         unsigned long long seed, int flags, double rho_p, double inn_p, double rho_t, double inn_t) {
    double zx = 0.0, zy = 0.0, zt = 0.0;
    if (flags & (QMC_F_TURB | QMC_F_POINT))
        qmc_normal3(qmc_block(word, pass, trial, QMC_TAG_STEP, seed), &zx, &zy, &zt);
    a->gx = qmc_ar1(s, a->gx, zx, rho_p, inn_p);
    a->gy = qmc_ar1(s, a->gy, zy, rho_p, inn_p);
    a->gt = qmc_ar1(s, a->gt, zt, rho_t, inn_t);
}

// The Gaussian drivers of one elliptic-beam uplink: centroid (x, y; pointing coherence), the shape
// pair (1, 2) and the orientation pair (a, b) (turbulence coherence). The orientation is
// phi = atan2(g_b, g_a) / 2: uniform over a half turn in every step (g_a, g_b i.i.d. normal), and
// correlated across steps through the AR(1) drivers.
struct qmc_arm_eb {
    double gx, gy, g1, g2, ga, gb;
};

QSAT_HD void qmc_advance(qmc_arm_eb* a, long long s, uint32_t word, long long pass, long long trial,
                         unsigned long long seed, int flags, double rho_p, double inn_p, double rho_t, double inn_t) {
    double zx = 0.0, zy = 0.0, z1 = 0.0, z2 = 0.0, za = 0.0, zb = 0.0;
    if (flags & (QMC_F_TURB | QMC_F_POINT)) {
        qsat_u4 r = qmc_block(word, pass, trial, QMC_TAG_STEP, seed);
        qmc_normal2(r.x, r.y, &zx, &zy);
        qmc_normal2(r.z, r.w, &z1, &z2);
        qsat_u4 q = qmc_block(word, pass, trial, QMC_TAG_ORIENT, seed);
        qmc_normal2(q.x, q.y, &za, &zb);
    }
    a->gx = qmc_ar1(s, a->gx, zx, rho_p, inn_p);
    a->gy = qmc_ar1(s, a->gy, zy, rho_p, inn_p);
    a->g1 = qmc_ar1(s, a->g1, z1, rho_t, inn_t);
    a->g2 = qmc_ar1(s, a->g2, z2, rho_t, inn_t);
    a->ga = qmc_ar1(s, a->ga, za, rho_t, inn_t);
    a->gb = qmc_ar1(s, a->gb, zb, rho_t, inn_t);
}

// Realised transmittance of one step of one downlink. One exponential for both fades:
// eta * exp(pointing exponent + log-irradiance). Pointing: the mean of exp(-2 |r0 + X|^2 / w^2) over
// the residual jitter X ~ N(0, diag((1 - v_p) sx^2, (1 - v_p) sy^2)) around the step-mean offset r0
// is, per axis, exp(-2 x0^2 / (w^2 + 4 (1 - v_p) sx^2)) / sqrt((w^2 + 4 (1 - v_p) sx^2) / w^2); the
// square roots and divisions are the step's constants (C_ETA, C_KX, C_KY).
QSAT_HD double qmc_eta(const double* c, double clear, const qmc_arm* a, int flags, double eps) {
    double eta = c[QMC_C_ETA] * clear;
    double expo = 0.0;
    if (flags & QMC_F_POINT) {
        double x0 = c[QMC_C_X0] + c[QMC_C_AX] * a->gx;
        double y0 = c[QMC_C_AY] * a->gy;
        expo = c[QMC_C_KX] * (x0 * x0) + c[QMC_C_KY] * (y0 * y0);
    }
    if (flags & QMC_F_TURB) expo = expo + (c[QMC_C_ST] * a->gt + c[QMC_C_HS]);
    eta = eta * exp(expo);
    (void)eps;
    return eta < 1.0 ? eta : 1.0;
}

// Realised transmittance of one step of an elliptic-beam uplink (Vasylyev, Semenov & Vogel,
// PRL 117, 090501 (2016); qsat/channel/ellipticbeam.py). Lengths in units of the aperture radius.
// The spot's covariance matrix S = R(phi) diag(W1^2, W2^2) R(phi)^T (I ~ exp(-2 x^T S^-1 x)) plus
// 4 x the residual centroid covariance of the step is the spot averaged over that jitter — exact,
// as the transmittance is linear in the irradiance and a Gaussian convolved with a Gaussian is
// Gaussian; its eigenvalues and axis are the W1, W2, phi passed to the closed form.
QSAT_HD double qmc_eta(const double* c, double clear, const qmc_arm_eb* a, int flags, double eps) {
    (void)flags;  // what is not sampled has zero rms in the step constants
    double x0 = c[QMC_C_X0] + c[QMC_C_AX] * a->gx;
    double y0 = c[QMC_C_AY] * a->gy;
    double e1 = exp(c[QMC_C_HS] + c[QMC_C_ST] * a->g1);  // W1^2 / a^2
    double e2 = exp(c[QMC_C_HS] + c[QMC_C_ST] * (c[QMC_C_RHO] * a->g1 + c[QMC_C_RC] * a->g2));
    double r = hypot(a->ga, a->gb);
    double cos2 = r > 0.0 ? a->ga / r : 1.0, sin2 = r > 0.0 ? a->gb / r : 0.0;  // of 2 phi
    double half = 0.5 * (e1 - e2);
    double m = 0.5 * (e1 + e2) + c[QMC_C_KX];  // (S_xx + S_yy) / 2 with the residual jitter
    double dx = half * cos2 + c[QMC_C_KY];      // (S_xx - S_yy) / 2
    double dy = half * sin2;                    // S_xy
    double d = hypot(dx, dy);
    double lo = m - d;
    double w1 = sqrt(m + d), w2 = sqrt(lo > 0.0 ? lo : 1e-300);
    double phi = 0.5 * atan2(dy, dx);
    double eta = c[QMC_C_ETA] * clear * qe_annulus(x0, y0, w1, w2, phi, 1.0, eps);
    return eta < 1.0 ? eta : 1.0;
}

QSAT_HD double qmc_clear(double p_clear, long long pass, long long trial, unsigned long long seed, int flags) {
    if (!(flags & QMC_F_WEATHER)) return 1.0;
    qsat_u4 r = qmc_block(0u, pass, trial, QMC_TAG_WEATHER, seed);
    return qsat_u01(r.x, r.y) < p_clear ? 1.0 : 0.0;
}

// Sampled counts of intensity k of decoy BB84 from its clicks r and errors e summed over the pass:
// X- and Z-basis errors and correct clicks as independent Poisson classes.
QSAT_HD void qmc_decoy_counts(double* out, int k, double r, double e, double fx, double fz, int sample, long long row,
                              long long trial, uint32_t tag, unsigned long long seed) {
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

// One (trial, row): walk the row's steps, realise the transmittance(s), accumulate the
// conditional mean counts, then sample them. `c` points at the row's (n_steps, QMC_N_CONSTS) block
// of pass A's step constants, `c_b` at pass B's (mode 2 only); `sums` at the row's QMC_N_SUMS;
// `clear_in` at the element's two given weather outcomes (A, B) when QMC_F_CLEAR_GIVEN is set.
// Arm: qmc_arm (log-normal scintillation and Gaussian-beam pointing fades) or qmc_arm_eb (elliptic
// beam); each has its own kernel entry, so the lighter one keeps its own register budget.
template <class Arm>
QSAT_HD void qmc_element(const double* c, const double* c_b, const double* pass_in, const double* sums,
                         const double* prm, const double* clear_in, double* out, long long row, long long trial,
                         unsigned long long seed) {
    int flags = (int)prm[QMC_FLAGS];
    int mode = (int)prm[QMC_MODE];
    long long pass_a = (long long)pass_in[QMC_PASS_A], pass_b = (long long)pass_in[QMC_PASS_B];
    long long off_a = (long long)pass_in[QMC_OFFSET_A], off_b = (long long)pass_in[QMC_OFFSET_B];
    double clear, clear_b;
    if (flags & QMC_F_CLEAR_GIVEN) {
        clear = clear_in[0];
        clear_b = mode == 2 ? clear_in[1] : 1.0;
    } else {
        clear = qmc_clear(pass_in[QMC_P_CLEAR], pass_a, trial, seed, flags);
        clear_b = mode == 2 ? qmc_clear(pass_in[QMC_P_CLEAR_B], pass_b, trial, seed, flags) : 1.0;
    }
    double rho_t = prm[QMC_RHO_T], rho_p = prm[QMC_RHO_P];
    double inn_t = sqrt(1.0 - rho_t * rho_t), inn_p = sqrt(1.0 - rho_p * rho_p);
    double mu0 = pass_in[QMC_MU], mu1 = pass_in[QMC_MU + 1], mu2 = pass_in[QMC_MU + 2];
    double eps = pass_in[QMC_OBSCURATION];
    Arm arm_a = {}, arm_b = {};
    // decoy: clicks and errors per intensity from the signal (sr, se) and without it (r0, e0: the
    // row's sums); bbm92: true (sr[0]) and accidental (sr[1]) coincidences
    double sr[3] = {0.0, 0.0, 0.0}, se[3] = {0.0, 0.0, 0.0};
    double r0 = sums[QMC_S_R0], e0 = sums[QMC_S_E0];
    double sum_eta = 0.0, n_used = 0.0;
    long long n_steps = (long long)pass_in[QMC_N_STEPS];
    // An overcast downlink transmits nothing: its eta is exactly 0 whatever its fades, so its draws
    // are skipped (the twin draws them and multiplies by 0: the same numbers).
    int lit_a = clear != 0.0, lit_b = mode == 2 && clear_b != 0.0;
    for (long long s = 0; s < n_steps; ++s) {
        const double* f = c + s * QMC_N_CONSTS;
        if (lit_a)
            qmc_advance(&arm_a, s, (uint32_t)(off_a + s), pass_a, trial, seed, flags, rho_p, inn_p, rho_t, inn_t);
        if (lit_b)
            qmc_advance(&arm_b, s, (uint32_t)(off_b + s), pass_b, trial, seed, flags, rho_p, inn_p, rho_t, inn_t);
        if (!(f[QMC_C_WEIGHT] > 0.0)) continue;
        double eta = lit_a ? qmc_eta(f, clear, &arm_a, flags, eps) : 0.0;
        sum_eta += eta;
        n_used += 1.0;
        if (mode == 0) {
            // Lim et al., PRA 89, 022307 (2014), simulation model (qsat/detection/wcp.py), affine in
            // the signal probability 1 - e^{-eta mu}: R = (1 + p_ap) d, E = p_dc + e_int s + p_ap d / 2,
            // d = s (1 - 2 p_dc) + 2 p_dc; no signal (eta = 0) adds nothing to sr, se
            if (lit_a) {
                // a vacuum intensity (mu = 0) has s = -expm1(-0) = 0 exactly: its call is skipped
                double s0 = mu0 != 0.0 ? -expm1(-(eta * mu0)) : 0.0;
                double s1 = mu1 != 0.0 ? -expm1(-(eta * mu1)) : 0.0;
                double s2 = mu2 != 0.0 ? -expm1(-(eta * mu2)) : 0.0;
                sr[0] += f[QMC_C_WA] * s0;
                sr[1] += f[QMC_C_WA] * s1;
                sr[2] += f[QMC_C_WA] * s2;
                se[0] += f[QMC_C_WB] * s0;
                se[1] += f[QMC_C_WB] * s1;
                se[2] += f[QMC_C_WB] * s2;
            }
        } else {
            // SPDC pair statistics (qsat/detection/spdc.py): true and accidental coincidences
            double eta_b = prm[QMC_ETA_B], noise_b = prm[QMC_NOISE_B];
            if (mode == 2) {
                const double* fb = c_b + s * QMC_N_CONSTS;
                eta_b = lit_b ? qmc_eta(fb, clear_b, &arm_b, flags, eps) : 0.0;
                noise_b = fb[QMC_C_NOISE];
            }
            double rate = prm[QMC_PAIR_RATE];
            double weight = f[QMC_C_WEIGHT];
            double true_c = rate * eta * eta_b;
            double sa = rate * eta + f[QMC_C_NOISE];
            double sb = rate * eta_b + noise_b;
            sr[0] += weight * true_c;
            sr[1] += weight * (sa * sb * prm[QMC_WINDOW]);
        }
    }
    int sample = (flags & QMC_F_COUNTS) != 0;
    uint32_t tag = mode == 2 ? QMC_TAG_PAIR_COUNTS : QMC_TAG_COUNTS;
    for (int j = 0; j < QMC_N_OUT; ++j) out[j] = 0.0;
    if (mode == 0) {
        double px = pass_in[QMC_PX];
        const double* prob = pass_in + QMC_PROB;
        double fx = px * px, fz = (1.0 - px) * (1.0 - px);
        // one call per intensity with a constant k, so sr and se stay in registers (a loop over k
        // that the compiler does not unroll would put them in local memory for the whole walk)
        qmc_decoy_counts(out, 0, prob[0] * (sr[0] + r0), prob[0] * (se[0] + e0), fx, fz, sample, row, trial, tag,
                         seed);
        qmc_decoy_counts(out, 1, prob[1] * (sr[1] + r0), prob[1] * (se[1] + e0), fx, fz, sample, row, trial, tag,
                         seed);
        qmc_decoy_counts(out, 2, prob[2] * (sr[2] + r0), prob[2] * (se[2] + e0), fx, fz, sample, row, trial, tag,
                         seed);
    } else {
        double q = prm[QMC_SIFT], e_src = prm[QMC_E_SRC];
        double t = sr[0], a = sr[1];
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

// Work item i of a chunk = (row j, trial t) with i = j * n_trials + t: consecutive work items (the
// threads of a warp) walk the same row's steps, so each step constant they load is one address for
// the whole warp (a broadcast, not 32 cache lines) and they run the same number of steps. Outputs
// and given weather stay indexed by element e = t * n_rows + j.
template <class Arm>
QSAT_HD void qmc_trial_element(long long i, const double* consts, const double* consts_b, const double* rows,
                               const double* sums, const double* params, const double* clear_in, double* out,
                               long long n_trials, long long n_rows, long long n_steps, long long first_trial,
                               long long first_row, unsigned long long key) {
    long long j = i / n_trials;
    long long t = i - j * n_trials;
    long long e = t * n_rows + j;
    long long offset = j * n_steps * QMC_N_CONSTS;
    int dual = (int)params[QMC_MODE] == 2;
    int given = ((int)params[QMC_FLAGS] & QMC_F_CLEAR_GIVEN) != 0;
    qmc_element<Arm>(consts + offset, dual ? consts_b + offset : consts, rows + j * QMC_N_PASS_COLS,
                     sums + j * QMC_N_SUMS, params, given ? clear_in + 2 * e : clear_in, out + e * QMC_N_OUT,
                     first_row + j, first_trial + t, key);
}
