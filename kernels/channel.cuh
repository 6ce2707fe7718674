// channel.cuh — per-step optical channel math shared by channel_step.cu (and its tests).
// Twin: qsat/channel/budget.py (channel_step); every formula is cited there and in
// qsat/channel/{atmosphere,beam,pointing,turbulence,background}.py. Keep the operation
// order identical to the twin: the host build is compared with it to ~1e-12.
#pragma once
#include "qsat_cuda.cuh"

// Layout of the packed parameter array (LinkParameters.packed(): scalar_names(), then derived()).
#define QCH_WAVELENGTH 0
#define QCH_UPLINK 1
#define QCH_WAIST 2
#define QCH_M2 3
#define QCH_TX_TRUNCATION 4
#define QCH_RX_RADIUS 5
#define QCH_RX_OBSCURATION 6
#define QCH_TX_JITTER_X 7
#define QCH_TX_JITTER_Y 8
#define QCH_TX_BIAS 9
#define QCH_RX_JITTER 10
#define QCH_FOV 11
#define QCH_OPTICS 12
#define QCH_TAU_ZENITH 13
#define QCH_MU0 14
#define QCH_MU1 15
#define QCH_MU53 16
#define QCH_MU56 17
#define QCH_EARTH_RADIUS 18
#define QCH_RAD_DAY 19
#define QCH_RAD_NIGHT 20
#define QCH_RAD_MOON 21
#define QCH_COUNTS_COEFF 22
#define QCH_ALBEDO_COEFF 23
#define QCH_GROUND_NIGHT 24
#define QCH_AP_LOGC0 25
#define QCH_AP_DLOGC 26
#define QCH_AP_N 27
// Per-scenario constants of the per-step formulas (LinkParameters.derived(), appended by packed()).
#define QCH_K 28
#define QCH_R0_LOGC 29
#define QCH_THETA0_LOGC 30
#define QCH_RYTOV_LOGC 31
#define QCH_C_LARGE 32
#define QCH_AP_T0 33
#define QCH_AP_T1 34
#define QCH_INV_ZR 35
#define QCH_AN_INNER 36
#define QCH_AN_OUTER 37
#define QCH_WEQ_V 38
#define QCH_FOV_C 39
#define QCH_FDIFF2 40
#define QCH_FJIT2 41
#define QCH_FOV_D 42
#define QCH_FOV_ALL0 43
#define QCH_SEEING 44
#define QCH_LOSS_OPTICS_DB 45
#define QCH_TAU_DB 46
#define QCH_LOG_DAY 47
#define QCH_LOG_NIGHT 48
#define QCH_LOG_MOON 49
#define QCH_R2 50
#define QCH_TWO_R 51
#define QCH_MU1_53 52
#define QCH_LAM0_C 53
#define QCH_TLT_C 54
#define QCH_WANDER_C 55
#define QCH_TILT_C 56
#define QCH_N_PARAMS 57

// Output columns (budget.OUTPUTS).
#define QCH_N_OUT 22

#define QCH_SEC_FLOOR_SIN 0.01745240643728351   // sin(1 deg)
#define QCH_DB 4.3429448190325175               // 10 / ln 10
#define QCH_SQRT_PI 1.7724538509055159
#define QCH_FWHM_PER_SIGMA 2.3548200450309493   // 2 sqrt(2 ln 2)
#define QCH_TINY 1e-300

QSAT_HD double qch_max(double a, double b) { return a > b ? a : b; }
QSAT_HD double qch_min(double a, double b) { return a < b ? a : b; }
QSAT_HD double qch_clip(double x, double lo, double hi) { return x < lo ? lo : (x > hi ? hi : x); }

// Kasten & Young (1989) relative air mass; zenith clipped to [0, 90] deg. cos(zenith) is passed
// as sin(elevation) (the same number, computed once per step).
QSAT_HD double qch_air_mass(double zenith, double cos_z) {
    double z = qch_clip(zenith, 0.0, 0.5 * QSAT_PI);
    double z_deg = z * (180.0 / QSAT_PI);
    return 1.0 / (cos_z + 0.50572 * exp(-1.6364 * log(96.07995 - z_deg)));
}

// Power fraction of a centred Gaussian (1/e^2 radius w) inside an annulus [eps a, a]:
// exp(-2 eps^2 a^2 / w^2) - exp(-2 a^2 / w^2), with p[QCH_AN_INNER] = 2 eps^2 a^2 (0: no
// obscuration, the first term is exactly 1) and p[QCH_AN_OUTER] = 2 a^2.
QSAT_HD double qch_annulus(double w, const double* p) {
    double w2 = w * w;
    double inner = p[QCH_AN_INNER] == 0.0 ? 1.0 : exp(-p[QCH_AN_INNER] / w2);
    return inner - exp(-p[QCH_AN_OUTER] / w2);
}

// Farid & Hranilovic (2007) eqs. (9)-(10): equivalent beam width w_eq; v = p[QCH_WEQ_V] / w.
QSAT_HD double qch_w_eq(double w, const double* p) {
    double v = p[QCH_WEQ_V] / w;
    double erf_v = erf(v);
    double w_eq2 = w * w * QCH_SQRT_PI * erf_v / (2.0 * v * exp(-v * v));
    return sqrt(w_eq2);
}

// E[exp(-2 r^2 / w_eq^2)] for a Gaussian offset: bias on x, per-axis rms sx, sy (no bias: the
// exponential factor is exactly 1).
QSAT_HD double qch_mean_pointing(double w_eq, double sx, double sy, double bias) {
    double weq2 = w_eq * w_eq;
    double sx2 = 4.0 * sx * sx;
    double sy2 = 4.0 * sy * sy;
    double root = sqrt((1.0 + sx2 / weq2) * (1.0 + sy2 / weq2));
    return bias == 0.0 ? 1.0 / root : exp(-2.0 * bias * bias / (weq2 + sx2)) / root;
}

// Encircled energy of a Gaussian spot of squared FWHM f2 inside the field stop:
// 1 - exp(-4 ln2 rho^2 / f2), p[QCH_FOV_C] = 4 ln2 rho^2, rho = FOV / 2.
QSAT_HD double qch_fov_fraction(double f2, const double* p) { return -expm1(-p[QCH_FOV_C] / f2); }

// One step of the link budget; writes QCH_N_OUT values to out[0], out[stride], ... (budget.OUTPUTS).
// Everything constant per scenario comes precomputed in p (QCH_K ...); the powers of sec(zeta)
// are exp(c + a ln sec zeta) with one logarithm per step.
QSAT_HD void qch_step(double elevation, double d, double sun, double moon, const double* p,
                      const double* table, double* out, long long stride) {
    double el = qch_clip(elevation, 0.0, 0.5 * QSAT_PI);
    int uplink = p[QCH_UPLINK] != 0.0;

    double sin_el = sin(el);
    double zenith = 0.5 * QSAT_PI - el;
    double air_mass = qch_air_mass(zenith, sin_el);
    double t_atm = exp(-p[QCH_TAU_ZENITH] * air_mass);
    double cos_z = qch_max(sin_el, QCH_SEC_FLOOR_SIN);
    double ln_secz = -log(cos_z);
    // r0 ~ sec^-0.6, theta0 ~ sec^(-8/3 * 0.6), Rytov ~ sec^(11/6), s^(6/5) ~ sec^(11/5)
    double r0 = exp(p[QCH_R0_LOGC] - 0.6 * ln_secz);
    double theta0 = exp(p[QCH_THETA0_LOGC] - 1.6 * ln_secz);
    double ln_rytov = p[QCH_RYTOV_LOGC] + (11.0 / 6.0) * ln_secz;
    double rytov = exp(ln_rytov);
    double s65 = exp(1.2 * ln_rytov);
    double lx = 0.49 * rytov * exp(-(7.0 / 6.0) * log1p(p[QCH_C_LARGE] * s65));
    double ly = 0.51 * rytov * exp(-(5.0 / 6.0) * log1p(0.69 * s65));
    double aperture = 1.0;
    if (!uplink) {
        // table node of ln c, c = k D^2 / (16 sec zeta)
        double n = p[QCH_AP_N];
        double t = p[QCH_AP_T0] - ln_secz * p[QCH_AP_T1];
        t = qch_clip(t, 0.0, n - 1.0);
        double fi = qch_min(floor(t), n - 2.0);
        long long i = (long long)fi;
        double frac = t - fi;
        aperture = exp(table[i] + frac * (table[i + 1] - table[i]));
    }
    double scint = aperture * expm1(lx + ly);
    double sigma_ln2 = log1p(scint);
    double inv_a = expm1(lx);
    double inv_b = (1.0 + scint) / (1.0 + inv_a) - 1.0;
    if (inv_b <= 0.0) {
        inv_a = scint;
        inv_b = 0.0;
    }

    double zz = d * p[QCH_INV_ZR];
    double w = p[QCH_WAIST] * sqrt(1.0 + zz * zz);
    double jx = p[QCH_TX_JITTER_X] * d, jy = p[QCH_TX_JITTER_Y] * d, jb = p[QCH_TX_BIAS] * d;
    double ann = qch_annulus(w, p);
    double geo_vac = qch_max(ann * p[QCH_TX_TRUNCATION], QCH_TINY);
    double weq_vac = qch_w_eq(w, p);
    double point_vac = qch_mean_pointing(weq_vac, jx, jy, jb);
    // downlinks: no beam spread, the turbulent beam is the vacuum one
    double w_st = w, sx = jx, sy = jy;
    double geo_st = ann * p[QCH_TX_TRUNCATION], weq_st = weq_vac, point_st = point_vac;
    double fov_ds = p[QCH_FOV_D], fov_all = p[QCH_FOV_ALL0];
    if (uplink) {
        double secz = 1.0 / cos_z;
        double sat_h = sqrt(p[QCH_R2] + d * d + p[QCH_TWO_R] * d * sin_el) - p[QCH_EARTH_RADIUS];
        double mu2u = qch_max(p[QCH_MU0] - p[QCH_MU1_53] / sat_h, 0.0);
        double lam0 = d * p[QCH_LAM0_C];
        double lamf = lam0 / (1.0 + lam0 * lam0);
        double t_lt = p[QCH_TLT_C] * mu2u * exp((5.0 / 6.0) * log(lamf * d)) * secz;
        // 0.54 d^2 (lam / 2 w0)^2 (2 w0 / r0_up)^(5/3), r0_up^(-5/3) = 0.423 k^2 sec mu2u
        double wander = p[QCH_WANDER_C] * d * d * secz * mu2u;
        w_st = sqrt(qch_max(w * w * (1.0 + t_lt) - wander, w * w));
        sx = sqrt(jx * jx + 0.5 * wander);
        sy = sqrt(jy * jy + 0.5 * wander);
        geo_st = qch_annulus(w_st, p) * p[QCH_TX_TRUNCATION];
        weq_st = qch_w_eq(w_st, p);
        point_st = qch_mean_pointing(weq_st, sx, sy, jb);
    } else {
        double fs = p[QCH_SEEING] / r0;
        // tip-tilt: FWHM^2 - 8 ln2 sigma_t^2 (turbulence.seeing_fwhm); tilt_c = 0 without it
        double fs2 = qch_max(fs * fs - p[QCH_TILT_C] * exp((-5.0 / 3.0) * log(r0)), 0.0);
        double f2 = p[QCH_FDIFF2] + fs2;
        fov_ds = qch_fov_fraction(f2, p);
        fov_all = qch_fov_fraction(f2 + p[QCH_FJIT2], p);
    }

    double fov_d = p[QCH_FOV_D];
    double g_geo = geo_vac * fov_d;
    double g_turb = (geo_st * point_st) / (geo_vac * point_vac) * (fov_ds / fov_d);
    double g_point = point_vac * (fov_all / fov_ds);
    double trans = qch_clip(g_geo * t_atm * g_turb * g_point * p[QCH_OPTICS], 0.0, 1.0);

    double radiance;
    if (uplink) {
        radiance = p[QCH_ALBEDO_COEFF] * qch_max(sin(sun), 0.0) + p[QCH_GROUND_NIGHT];
    } else {
        double log_night = moon > 0.0 ? p[QCH_LOG_MOON] : p[QCH_LOG_NIGHT];
        double limit = -18.0 * QSAT_PI / 180.0;
        double frac = qch_clip((sun - limit) / (0.0 - limit), 0.0, 1.0);
        radiance = exp(log_night + frac * (p[QCH_LOG_DAY] - log_night));
    }
    double counts = radiance * p[QCH_COUNTS_COEFF];

    out[0 * stride] = -QCH_DB * log(g_geo);
    out[1 * stride] = p[QCH_TAU_DB] * air_mass;
    out[2 * stride] = -QCH_DB * log(g_turb);
    out[3 * stride] = -QCH_DB * log(g_point);
    out[4 * stride] = p[QCH_LOSS_OPTICS_DB];
    out[5 * stride] = -QCH_DB * log(qch_max(trans, QCH_TINY));
    out[6 * stride] = trans;
    out[7 * stride] = counts;
    out[8 * stride] = r0;
    out[9 * stride] = rytov;
    out[10 * stride] = scint;
    out[11 * stride] = theta0;
    out[12 * stride] = air_mass;
    out[13 * stride] = w_st;
    out[14 * stride] = trans / point_st;
    out[15 * stride] = weq_st;
    out[16 * stride] = sx;
    out[17 * stride] = sy;
    out[18 * stride] = jb;
    out[19 * stride] = sigma_ln2;
    out[20 * stride] = inv_a;
    out[21 * stride] = inv_b;
}
