// ellipticbeam.cuh — closed-form transmittance of an elliptic Gaussian beam through a circular
// aperture (Vasylyev, Semenov & Vogel, PRL 117, 090501 (2016)), shared by the elliptic-beam
// sampler (fading.cu: elliptic_sample) and the fused Monte Carlo kernel (montecarlo.cuh, uplinks).
// Twin: qsat/channel/ellipticbeam.py (_elliptic_disk and its helpers), the same operations branch
// by branch. Lengths enter only as ratios, so any unit (metres, or the aperture radius) will do.
#pragma once
#include "qsat_cuda.cuh"

#define QE_SERIES_TERMS 30
#define QE_LAMBERT_ITERATIONS 12

// exp(-x) I_nu(x), nu = 0 or 1, x >= 0: power series up to x = 20 (A&S 9.6.10), Hankel's
// asymptotic series above (A&S 9.7.1); within 2e-15 of SciPy's i0e/i1e (the twin's).
QSAT_HD double qe_bessel_ie(int nu, double x) {
    if (x <= 20.0) {
        double q = 0.25 * x * x;
        double t = nu == 0 ? 1.0 : 0.5 * x;
        double s = t;
        for (int k = 1; k < 60; ++k) {
            t = t * q / (double)(k * (k + nu));
            s += t;
            if (t < 1e-17 * s) break;  // positive terms: the rest moves s by less than an ulp
        }
        return s * exp(-x);
    }
    double mu = 4.0 * nu * nu;
    double t = 1.0, s = 1.0;
    for (int k = 1; k < 30; ++k) {
        t = -t * (mu - (double)((2 * k - 1) * (2 * k - 1))) / (8.0 * k * x);
        s += t;
    }
    return s / sqrt(2.0 * QSAT_PI * x);
}

// g = 1 - exp(-x) I0(x) and d = 2 (1 - exp(-x/2)) - g as series for 0 <= x < 1 (twin: _series_g_d).
QSAT_HD void qe_series_g_d(double x, double* g, double* d) {
    double c_kummer = 1.0, c_exp = 1.0, xn = 1.0, gs = 0.0, ds = 0.0;
    for (int n = 1; n <= QE_SERIES_TERMS; ++n) {
        c_kummer *= (n - 0.5) / (double)(n * n) * -2.0;
        c_exp *= -0.5 / n;
        xn = xn * x;
        gs = gs - c_kummer * xn;
        if (n >= 2) ds = ds + (-2.0 * c_exp + c_kummer) * xn;
    }
    *g = gs;
    *d = ds;
}

// lambda and ell = (a/R)^lambda of the beam-wander transmittance for x = a^2 xi^2 (twin: _shape_scale).
QSAT_HD void qe_shape_scale(double x, double* lam, double* ell) {
    if (!(x > 0.0)) {
        *lam = 2.0;
        *ell = 0.0;
        return;
    }
    double g, e;
    if (x < 1.0) {
        double d;
        qe_series_g_d(x, &g, &d);
        e = log1p(d / g);
    } else {
        g = 1.0 - qe_bessel_ie(0, x);
        e = log(-2.0 * expm1(-0.5 * x) / g);
    }
    *lam = 2.0 * x * qe_bessel_ie(1, x) / g / e;
    *ell = e;
}

// Lambert W of exp(u): Newton on w + ln w = u (twin: _lambert_w_exp).
QSAT_HD double qe_lambert_w_exp(double u) {
    double w = u >= 1.0 ? u - log(u) : log1p(exp(u));
    for (int m = 0; m < QE_LAMBERT_ITERATIONS; ++m) {
        double step = (w + log(w) - u) * w / (1.0 + w);
        w = fmax(w - step, 1e-300);
        if (fabs(step) <= 1e-16 * w) break;  // quadratic convergence: the next step is below an ulp
    }
    return w;
}

// 1 - I0(p) exp(-s), 0 <= p <= s (twin: _one_minus_i0e_times).
QSAT_HD double qe_one_minus_i0e_times(double p, double s) {
    double g, d;
    if (p < 1.0) {
        qe_series_g_d(p, &g, &d);
    } else {
        g = 1.0 - qe_bessel_ie(0, p);
    }
    return -expm1(p - s) + exp(p - s) * g;
}

// Closed-form transmittance of the elliptic beam through a disk of radius a > 0 (twin: _elliptic_disk).
QSAT_HD double qe_disk(double x0, double y0, double w1, double w2, double phi, double a) {
    double inv1 = 1.0 / (w1 * w1), inv2 = 1.0 / (w2 * w2), a2 = a * a;
    double first = qe_one_minus_i0e_times(a2 * fabs(inv1 - inv2), a2 * (inv1 + inv2));
    double xi = 1.0 / w1 - 1.0 / w2;
    double xi2 = xi * xi;
    double lam_e, ell_e;
    qe_shape_scale(a2 * xi2, &lam_e, &ell_e);
    double eta0 = first;
    if (xi2 != 0.0) {
        double ratio = (w1 + w2) / fabs(w1 - w2);
        eta0 = first - -2.0 * expm1(-0.5 * a2 * xi2) * exp(-ell_e * pow(ratio, lam_e));
    }
    double r0 = hypot(x0, y0);
    double c = cos(phi - atan2(y0, x0));
    double c2 = c * c;
    double u = log(4.0 * a2 / (w1 * w2)) + a2 * inv1 * (1.0 + 2.0 * c2) + a2 * inv2 * (3.0 - 2.0 * c2);
    double lam, ell;
    qe_shape_scale(qe_lambert_w_exp(u), &lam, &ell);
    eta0 = eta0 < 0.0 ? 0.0 : (eta0 > 1.0 ? 1.0 : eta0);
    return eta0 * exp(-ell * pow(r0 / a, lam));
}

// Through an annulus [eps a, a]: the disk of radius a minus the disk of radius eps a (none for
// eps = 0), clipped to [0, 1] (twin: ellipticbeam.elliptic_beam_transmittance).
QSAT_HD double qe_annulus(double x0, double y0, double w1, double w2, double phi, double a, double eps) {
    double eta = qe_disk(x0, y0, w1, w2, phi, a);
    if (eps > 0.0) eta = eta - qe_disk(x0, y0, w1, w2, phi, eps * a);
    return eta < 0.0 ? 0.0 : (eta > 1.0 ? 1.0 : eta);
}
