// channel.cuh — per-step optical channel math shared by channel_step.cu (and its tests).
// Twin: qsat/channel/budget.py (channel_step); every formula is cited there and in
// qsat/channel/{atmosphere,beam,pointing,turbulence,background}.py. Keep the operation
// order identical to the twin: the host build is compared with it to ~1e-12.
#pragma once
#include "qsat_cuda.cuh"

// Layout of the packed parameter array (LinkParameters.scalar_names()).
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
#define QCH_N_PARAMS 28

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

// Kasten & Young (1989) relative air mass; zenith clipped to [0, 90] deg.
QSAT_HD double qch_air_mass(double zenith) {
    double z = qch_clip(zenith, 0.0, 0.5 * QSAT_PI);
    double z_deg = z * (180.0 / QSAT_PI);
    return 1.0 / (cos(z) + 0.50572 * pow(96.07995 - z_deg, -1.6364));
}

// Power fraction of a centred Gaussian (1/e^2 radius w) inside an annulus [eps a, a].
QSAT_HD double qch_annulus(double w, double a, double eps) {
    double w2 = w * w;
    double a2 = a * a;
    double inner = exp(-2.0 * (eps * eps * a2) / w2);
    return inner - exp(-2.0 * a2 / w2);
}

// Farid & Hranilovic (2007) eqs. (9)-(10): equivalent beam width w_eq.
QSAT_HD double qch_w_eq(double w, double a) {
    double v = QCH_SQRT_PI * a / (1.4142135623730951 * w);
    double erf_v = erf(v);
    double w_eq2 = w * w * QCH_SQRT_PI * erf_v / (2.0 * v * exp(-v * v));
    return sqrt(w_eq2);
}

// E[exp(-2 r^2 / w_eq^2)] for a Gaussian offset: bias on x, per-axis rms sx, sy.
QSAT_HD double qch_mean_pointing(double w_eq, double sx, double sy, double bias) {
    double weq2 = w_eq * w_eq;
    double sx2 = 4.0 * sx * sx;
    double sy2 = 4.0 * sy * sy;
    return exp(-2.0 * bias * bias / (weq2 + sx2)) / sqrt((1.0 + sx2 / weq2) * (1.0 + sy2 / weq2));
}

// Encircled energy of a Gaussian spot of FWHM f inside a field stop of full angle fov.
QSAT_HD double qch_fov_fraction(double f, double fov) {
    double rho = 0.5 * fov;
    return -expm1(-4.0 * 0.6931471805599453 * rho * rho / (f * f));
}

// One step of the link budget; writes QCH_N_OUT values to out[0], out[stride], ... (budget.OUTPUTS).
QSAT_HD void qch_step(double elevation, double d, double sun, double moon, const double* p,
                      const double* table, double* out, long long stride) {
    double el = qch_clip(elevation, 0.0, 0.5 * QSAT_PI);
    double lam = p[QCH_WAVELENGTH];
    double k = 2.0 * QSAT_PI / lam;
    int uplink = p[QCH_UPLINK] != 0.0;

    double zenith = 0.5 * QSAT_PI - el;
    double air_mass = qch_air_mass(zenith);
    double t_atm = exp(-p[QCH_TAU_ZENITH] * air_mass);
    double secz = 1.0 / qch_max(sin(el), QCH_SEC_FLOOR_SIN);
    double r0 = pow(0.423 * k * k * secz * p[QCH_MU0], -0.6);
    double theta0 = pow(2.914 * k * k * pow(secz, 8.0 / 3.0) * p[QCH_MU53], -0.6);
    double rytov = 2.25 * pow(k, 7.0 / 6.0) * pow(secz, 11.0 / 6.0) * p[QCH_MU56];
    double s65 = pow(rytov, 1.2);
    double c_large = uplink ? 0.56 : 1.11;
    double lx = 0.49 * rytov / pow(1.0 + c_large * s65, 7.0 / 6.0);
    double ly = 0.51 * rytov / pow(1.0 + 0.69 * s65, 5.0 / 6.0);
    double aperture = 1.0;
    if (!uplink) {
        double diameter = 2.0 * p[QCH_RX_RADIUS];
        double c = k * (diameter * diameter) / (16.0 * secz);
        double n = p[QCH_AP_N];
        double t = (log(qch_max(c, QCH_TINY)) - p[QCH_AP_LOGC0]) / p[QCH_AP_DLOGC];
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

    double w0 = p[QCH_WAIST];
    double zr = QSAT_PI * w0 * w0 / (p[QCH_M2] * lam);
    double zz = d / zr;
    double w = w0 * sqrt(1.0 + zz * zz);
    double jx = p[QCH_TX_JITTER_X] * d, jy = p[QCH_TX_JITTER_Y] * d, jb = p[QCH_TX_BIAS] * d;
    double w_st = w, sx = jx, sy = jy;
    if (uplink) {
        double R = p[QCH_EARTH_RADIUS];
        double sat_h = sqrt(R * R + d * d + 2.0 * R * d * sin(el)) - R;
        double mu2u = qch_max(p[QCH_MU0] - (5.0 / 3.0) * p[QCH_MU1] / sat_h, 0.0);
        double lam0 = 2.0 * d / (k * w0 * w0);
        double lamf = lam0 / (1.0 + lam0 * lam0);
        double t_lt = 4.35 * mu2u * pow(lamf, 5.0 / 6.0) * pow(k, 7.0 / 6.0) * pow(d, 5.0 / 6.0) * secz;
        double r0_up = pow(0.423 * k * k * secz * mu2u, -0.6);
        double ratio = lam / (2.0 * w0);
        double wander = 0.54 * d * d * (ratio * ratio) * pow(2.0 * w0 / r0_up, 5.0 / 3.0);
        w_st = sqrt(qch_max(w * w * (1.0 + t_lt) - wander, w * w));
        sx = sqrt(jx * jx + 0.5 * wander);
        sy = sqrt(jy * jy + 0.5 * wander);
    }
    double a = p[QCH_RX_RADIUS], eps = p[QCH_RX_OBSCURATION];
    double geo_vac = qch_max(qch_annulus(w, a, eps) * p[QCH_TX_TRUNCATION], QCH_TINY);
    double geo_st = qch_annulus(w_st, a, eps) * p[QCH_TX_TRUNCATION];
    double weq_vac = qch_w_eq(w, a);
    double weq_st = qch_w_eq(w_st, a);
    double point_vac = qch_mean_pointing(weq_vac, jx, jy, jb);
    double point_st = qch_mean_pointing(weq_st, sx, sy, jb);

    double fov = p[QCH_FOV];
    double f_diff = 1.029 * lam / (2.0 * a);
    double f_seeing2 = 0.0;
    if (!uplink) {
        double fs = 0.98 * lam / r0;
        f_seeing2 = fs * fs;
    }
    double fj = QCH_FWHM_PER_SIGMA * p[QCH_RX_JITTER];
    double f_jit2 = fj * fj;
    double fov_d = qch_fov_fraction(f_diff, fov);
    double fov_ds = qch_fov_fraction(sqrt(f_diff * f_diff + f_seeing2), fov);
    double fov_all = qch_fov_fraction(sqrt(f_diff * f_diff + f_seeing2 + f_jit2), fov);

    double g_geo = geo_vac * fov_d;
    double g_turb = (geo_st * point_st) / (geo_vac * point_vac) * (fov_ds / fov_d);
    double g_point = point_vac * (fov_all / fov_ds);
    double g_opt = p[QCH_OPTICS];
    double trans = qch_clip(g_geo * t_atm * g_turb * g_point * g_opt, 0.0, 1.0);

    double radiance;
    if (uplink) {
        radiance = p[QCH_ALBEDO_COEFF] * qch_max(sin(sun), 0.0) + p[QCH_GROUND_NIGHT];
    } else {
        double night_now = qch_max(moon > 0.0 ? p[QCH_RAD_MOON] : p[QCH_RAD_NIGHT], QCH_TINY);
        double day = qch_max(p[QCH_RAD_DAY], QCH_TINY);
        double limit = -18.0 * QSAT_PI / 180.0;
        double frac = qch_clip((sun - limit) / (0.0 - limit), 0.0, 1.0);
        radiance = exp(log(night_now) + frac * (log(day) - log(night_now)));
    }
    double counts = radiance * p[QCH_COUNTS_COEFF];

    out[0 * stride] = -QCH_DB * log(g_geo);
    out[1 * stride] = -QCH_DB * log(t_atm);
    out[2 * stride] = -QCH_DB * log(g_turb);
    out[3 * stride] = -QCH_DB * log(g_point);
    out[4 * stride] = -QCH_DB * log(g_opt);
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
