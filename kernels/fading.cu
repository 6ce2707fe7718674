// fading.cu — per-step transmittance realisations: scintillation (log-normal or gamma-gamma,
// unit mean) times the pointing fade exp(-2 r^2 / w_eq^2) of a Gaussian beam offset (Rice/Hoyt),
// times the step's static transmittance. Philox4x32-10 keyed by the seed, counter
// (sample index, stream, tag): a sample depends on (seed, stream, step, sample) only.
// Twin: qsat/channel/sampling.py (sample_transmittance), same counters, same operations.
// elliptic_sample (end of file): the elliptic-beam PDT of uplinks, twin
// qsat/channel/ellipticbeam.py (sample_elliptic_beam).
#include "philox.cuh"
#include "ellipticbeam.cuh"

// Columns of the per-step input (budget.FADE_COLUMNS).
#define QF_T_STATIC 0
#define QF_W_EQ 1
#define QF_SIGMA_X 2
#define QF_SIGMA_Y 3
#define QF_BIAS 4
#define QF_SIGMA_LN2 5
#define QF_INV_ALPHA 6
#define QF_INV_BETA 7
#define QF_RYTOV 8
#define QF_N_COLS 9

// Fading laws (sampling.MODELS).
#define QF_NONE 0
#define QF_LOGNORMAL 1
#define QF_GAMMA_GAMMA 2
#define QF_AUTO 3

// Philox tags (32-bit words of the counter); distinct per quantity so streams never overlap.
#define QF_TAG_POINTING 0x50540000u
#define QF_TAG_LOGNORMAL 0x4C4E0000u
#define QF_TAG_GAMMA_1 0x47310000u
#define QF_TAG_GAMMA_2 0x47320000u
#define QF_GAMMA_TRIES 16
#define QF_TAG_BOOST 0x1000u

QSAT_HD qsat_u4 qf_block(unsigned long long index, uint32_t stream, uint32_t tag, unsigned long long seed) {
    qsat_u4 c = {(uint32_t)index, (uint32_t)(index >> 32), stream, tag};
    return qsat_philox4x32_10(c, (uint32_t)seed, (uint32_t)(seed >> 32));
}

// Unit-mean gamma variate of shape a (Marsaglia & Tsang, ACM TOMS 26, 363 (2000), with their
// a < 1 boost G(a) = G(a + 1) U^(1/a)); fixed tries so the counters used are bounded.
QSAT_HD double qf_gamma_unit_mean(double a, unsigned long long index, uint32_t stream, uint32_t tag,
                                  unsigned long long seed) {
    int boost = a < 1.0;
    double aa = boost ? a + 1.0 : a;
    double d = aa - 1.0 / 3.0;
    double c = 1.0 / sqrt(9.0 * d);
    double g = aa;  // returned only if every try is rejected (probability < 1e-20)
    for (int m = 0; m < QF_GAMMA_TRIES; ++m) {
        double z0, z1;
        qsat_normal2(qf_block(index, stream, tag + 2u * (uint32_t)m, seed), &z0, &z1);
        qsat_u4 r = qf_block(index, stream, tag + 2u * (uint32_t)m + 1u, seed);
        double u = qsat_u01(r.x, r.y);
        double v = 1.0 + c * z0;
        if (v <= 0.0) continue;
        v = v * v * v;
        if (log(u) < 0.5 * z0 * z0 + d - d * v + d * log(v)) {
            g = d * v;
            break;
        }
    }
    if (boost) {
        qsat_u4 r = qf_block(index, stream, tag + QF_TAG_BOOST, seed);
        g = g * pow(qsat_u01(r.x, r.y), 1.0 / a);
    }
    return g / a;
}

// out[i * n_samples + j]: realisation j of step i; NaN where the step's t_static is NaN.
// The counter index is (first_step + i) * n_samples + j, so a chunk of steps starting at
// first_step draws exactly what the whole run would draw for those steps.
QSAT_GLOBAL void fading_sample(const double* fade, double* out, long long n_steps, long long n_samples,
                               long long first_step, long long seed, long long stream, long long model) {
    unsigned long long key = (unsigned long long)seed;
    uint32_t st = (uint32_t)stream;
    QSAT_FOR(e, n_steps * n_samples) {
        long long i = e / n_samples;
        const double* f = fade + i * QF_N_COLS;
        double t_static = f[QF_T_STATIC];
        if (t_static != t_static) {
            out[e] = t_static;
            continue;
        }
        unsigned long long index = (unsigned long long)(e + first_step * n_samples);
        double z0, z1;
        qsat_normal2(qf_block(index, st, QF_TAG_POINTING, key), &z0, &z1);
        double x = f[QF_BIAS] + f[QF_SIGMA_X] * z0;
        double y = f[QF_SIGMA_Y] * z1;
        double w_eq = f[QF_W_EQ];
        double value = t_static * exp(-2.0 * (x * x + y * y) / (w_eq * w_eq));
        int law = (int)model;
        if (law == QF_AUTO) law = f[QF_RYTOV] < 1.0 ? QF_LOGNORMAL : QF_GAMMA_GAMMA;
        if (law == QF_LOGNORMAL) {
            double s = f[QF_SIGMA_LN2];
            double n0, n1;
            qsat_normal2(qf_block(index, st, QF_TAG_LOGNORMAL, key), &n0, &n1);
            value = value * exp(sqrt(s) * n0 - 0.5 * s);
        } else if (law == QF_GAMMA_GAMMA) {
            double ia = f[QF_INV_ALPHA], ib = f[QF_INV_BETA];
            if (ia > 0.0) value = value * qf_gamma_unit_mean(1.0 / ia, index, st, QF_TAG_GAMMA_1, key);
            if (ib > 0.0) value = value * qf_gamma_unit_mean(1.0 / ib, index, st, QF_TAG_GAMMA_2, key);
        }
        out[e] = value < 1.0 ? value : 1.0;
    }
}

// ---------------------------------------------------------------------------------------------
// Elliptic-beam PDT of uplinks (Vasylyev, Semenov & Vogel, PRL 117, 090501 (2016)); twin:
// qsat/channel/ellipticbeam.py (sample_elliptic_beam, method "closed_form"), same counters and
// the same operations branch by branch. Input columns: ellipticbeam.ELLIPTIC_COLUMNS.
#define QE_T_REST 0
#define QE_APERTURE 1
#define QE_OBSCURATION 2
#define QE_W_ST 3
#define QE_SIGMA_X 4
#define QE_SIGMA_Y 5
#define QE_BIAS 6
#define QE_THETA_VAR 7
#define QE_THETA_COV 8
#define QE_N_COLS 9
#define QE_TAG_CENTROID 0x45420000u
#define QE_TAG_SHAPE 0x45420001u
#define QE_TAG_ANGLE 0x45420002u
// out[i * n_samples + j]: realisation j of step i; NaN where any input of the step is not finite.
// Counter index (first_step + i) * n_samples + j, as fading_sample.
QSAT_GLOBAL void elliptic_sample(const double* inputs, double* out, long long n_steps, long long n_samples,
                                 long long first_step, long long seed, long long stream) {
    unsigned long long key = (unsigned long long)seed;
    uint32_t st = (uint32_t)stream;
    QSAT_FOR(e, n_steps * n_samples) {
        long long i = e / n_samples;
        const double* f = inputs + i * QE_N_COLS;
        int ok = 1;
        for (int k = 0; k < QE_N_COLS; ++k) ok = ok && isfinite(f[k]);
        if (!ok) {
            out[e] = nan("");  // NVRTC defines no NAN macro (no <math.h>)
            continue;
        }
        unsigned long long index = (unsigned long long)(e + first_step * n_samples);
        double z0, z1, u0, u1;
        qsat_normal2(qf_block(index, st, QE_TAG_CENTROID, key), &z0, &z1);
        qsat_normal2(qf_block(index, st, QE_TAG_SHAPE, key), &u0, &u1);
        qsat_u4 ra = qf_block(index, st, QE_TAG_ANGLE, key);
        double phi = QSAT_PI * qsat_u01(ra.x, ra.y);
        double var = f[QE_THETA_VAR];
        double sd = sqrt(fmax(var, 0.0));
        double rho = var > 0.0 ? f[QE_THETA_COV] / var : 0.0;
        double theta1 = -0.5 * var + sd * u0;
        double theta2 = -0.5 * var + sd * (rho * u0 + sqrt(fmax(1.0 - rho * rho, 0.0)) * u1);
        double w1 = f[QE_W_ST] * exp(0.5 * theta1), w2 = f[QE_W_ST] * exp(0.5 * theta2);
        double x0 = f[QE_BIAS] + f[QE_SIGMA_X] * z0, y0 = f[QE_SIGMA_Y] * z1;
        double a = f[QE_APERTURE], eps = f[QE_OBSCURATION];
        double value = f[QE_T_REST] * qe_annulus(x0, y0, w1, w2, phi, a, eps);
        out[e] = value < 1.0 ? value : 1.0;
    }
}
