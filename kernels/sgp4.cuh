// sgp4.cuh — SGP4 (near Earth) and SDP4 (deep space) propagation of one element set
// to one time, in fp64, for the GPU (CuPy/NVRTC) and the host (g++) alike.
//
// Sources (the algorithm as published; the code is written for qsat):
//   [STR3]  F. R. Hoots and R. L. Roehrich, "Models for Propagation of NORAD Element
//           Sets", Spacetrack Report No. 3 (1980): sections "SGP4 Model", "SDP4
//           Model" and "The Deep-Space Subroutine" (entries DPINIT, DPSEC, DPPER).
//   [V2006] D. A. Vallado, P. Crawford, R. Hujsak and T. S. Kelso, "Revisiting
//           Spacetrack Report #3", AIAA 2006-6753: the corrected and "improved"
//           ('i') operation mode, and its list of code changes ("sgp4fix"), as used
//           by python-sgp4.
// Element initialisation (STR3 SGP4/SDP4 initialisation and DPINIT; V2006 initl,
// sgp4init, dscom, dsinit) is done on the CPU by python-sgp4; its results arrive as
// one packed row per satellite (sgp4_elements.cuh). Only propagation, the part that
// scales with satellites × times, runs here. Statements keep the published operation
// order so the host build reproduces python-sgp4's C++ to ~1e-8 km or better.
#pragma once
#include "qsat_cuda.cuh"
#include "sgp4_elements.cuh"

// Error codes of python-sgp4 (sgp4.api.SGP4_ERRORS).
#define QSAT_SGP4_OK 0
#define QSAT_SGP4_ERR_ECC 1      // mean eccentricity outside [-0.001, 1)
#define QSAT_SGP4_ERR_NM 2       // mean motion <= 0
#define QSAT_SGP4_ERR_PECC 3     // perturbed eccentricity outside [0, 1]
#define QSAT_SGP4_ERR_SEMILAT 4  // semi-latus rectum < 0
#define QSAT_SGP4_ERR_DECAY 6    // radius below one Earth radius

#define QSAT_TWOPI (2.0 * QSAT_PI)

QSAT_HD double qsat_sgp4_nan() {
#if defined(__CUDA_ARCH__)
    return __longlong_as_double(0x7ff8000000000000LL);
#else
    return NAN;
#endif
}

// Deep-space secular effects and resonances at time t (minutes since epoch):
// STR3 deep-space subroutine, entry DPSEC; V2006 dspace (epoch-restarting Euler-Maclaurin integrator with
// fixed 720 min steps, valid for negative t). Updates em, argpm, inclm, mm, nodem, nm.
// The integrator always starts from epoch: python-sgp4 keeps (atime, xli, xni) between
// calls, but its steps are the same fixed sequence from epoch, so the result is equal.
QSAT_HD void qsat_sgp4_dspace(const double* e, double t, double* em, double* argpm,
                              double* inclm, double* mm, double* nodem, double* nm) {
    // Resonance phase constants (STR3 DEEP: FASX2, FASX4, FASX6, G22 ... G54).
    const double fasx2 = 0.13130908, fasx4 = 2.8843198, fasx6 = 0.37448087;
    const double g22 = 5.7686396, g32 = 0.95240898, g44 = 1.8014998;
    const double g52 = 1.0508330, g54 = 4.4108898;
    const double rptim = 4.37526908801129966e-3;  // Earth rotation, rad/min
    const double stepp = 720.0, stepn = -720.0, step2 = 259200.0;  // step2 = stepp^2 / 2

    const double no = e[QSAT_SGP4_NO_UNKOZAI];
    const int irez = (int)e[QSAT_SGP4_IREZ];
    const double theta = fmod(e[QSAT_SGP4_GSTO] + t * rptim, QSAT_TWOPI);

    // Lunar-solar secular rates (STR3 DPSEC).
    *em = *em + e[QSAT_SGP4_DEDT] * t;
    *inclm = *inclm + e[QSAT_SGP4_DIDT] * t;
    *argpm = *argpm + e[QSAT_SGP4_DOMDT] * t;
    *nodem = *nodem + e[QSAT_SGP4_DNODT] * t;
    *mm = *mm + e[QSAT_SGP4_DMDT] * t;

    if (irez == 0) return;

    double atime = 0.0, xni = no, xli = e[QSAT_SGP4_XLAMO];
    const double delt = t > 0.0 ? stepp : stepn;
    const double xfact = e[QSAT_SGP4_XFACT];
    double xndt, xldot, xnddt, ft = 0.0;
    for (;;) {
        // Derivatives of the resonance mean motion and longitude.
        if (irez != 2) {
            // 24 h (geosynchronous) resonance: del1..del3 terms.
            const double del1 = e[QSAT_SGP4_DEL1], del2 = e[QSAT_SGP4_DEL2], del3 = e[QSAT_SGP4_DEL3];
            xndt = del1 * sin(xli - fasx2) + del2 * sin(2.0 * (xli - fasx4)) +
                   del3 * sin(3.0 * (xli - fasx6));
            xldot = xni + xfact;
            xnddt = del1 * cos(xli - fasx2) + 2.0 * del2 * cos(2.0 * (xli - fasx4)) +
                    3.0 * del3 * cos(3.0 * (xli - fasx6));
            xnddt = xnddt * xldot;
        } else {
            // 12 h (Molniya-type) resonance: d2201..d5433 terms.
            const double xomi = e[QSAT_SGP4_ARGPO] + e[QSAT_SGP4_ARGPDOT] * atime;
            const double x2omi = xomi + xomi;
            const double x2li = xli + xli;
            const double d2201 = e[QSAT_SGP4_D2201], d2211 = e[QSAT_SGP4_D2211];
            const double d3210 = e[QSAT_SGP4_D3210], d3222 = e[QSAT_SGP4_D3222];
            const double d4410 = e[QSAT_SGP4_D4410], d4422 = e[QSAT_SGP4_D4422];
            const double d5220 = e[QSAT_SGP4_D5220], d5232 = e[QSAT_SGP4_D5232];
            const double d5421 = e[QSAT_SGP4_D5421], d5433 = e[QSAT_SGP4_D5433];
            xndt = d2201 * sin(x2omi + xli - g22) + d2211 * sin(xli - g22) +
                   d3210 * sin(xomi + xli - g32) + d3222 * sin(-xomi + xli - g32) +
                   d4410 * sin(x2omi + x2li - g44) + d4422 * sin(x2li - g44) +
                   d5220 * sin(xomi + xli - g52) + d5232 * sin(-xomi + xli - g52) +
                   d5421 * sin(xomi + x2li - g54) + d5433 * sin(-xomi + x2li - g54);
            xldot = xni + xfact;
            xnddt = d2201 * cos(x2omi + xli - g22) + d2211 * cos(xli - g22) +
                    d3210 * cos(xomi + xli - g32) + d3222 * cos(-xomi + xli - g32) +
                    d5220 * cos(xomi + xli - g52) + d5232 * cos(-xomi + xli - g52) +
                    2.0 * (d4410 * cos(x2omi + x2li - g44) + d4422 * cos(x2li - g44) +
                           d5421 * cos(xomi + x2li - g54) + d5433 * cos(-xomi + x2li - g54));
            xnddt = xnddt * xldot;
        }
        // Whole steps until t is within one step of atime; then a Taylor step (ft).
        if (fabs(t - atime) >= stepp) {
            xli = xli + xldot * delt + xndt * step2;
            xni = xni + xndt * delt + xnddt * step2;
            atime = atime + delt;
        } else {
            ft = t - atime;
            break;
        }
    }
    *nm = xni + xndt * ft + xnddt * ft * ft * 0.5;
    const double xl = xli + xldot * ft + xndt * ft * ft * 0.5;
    if (irez != 1) {
        *mm = xl - 2.0 * *nodem + 2.0 * theta;
    } else {
        *mm = xl - *nodem - *argpm + theta;
    }
    const double dndt = *nm - no;
    *nm = no + dndt;
}

// Lunar-solar long-period periodics (STR3 deep-space subroutine, entry DPPER; V2006 dpper with the
// Lyddane choice on the perturbed inclination, 0.2 rad).
QSAT_HD void qsat_sgp4_dpper(const double* e, double t, double* ep, double* inclp,
                             double* nodep, double* argpp, double* mp) {
    const double zns = 1.19459e-5, zes = 0.01675;     // solar mean motion rad/min, eccentricity
    const double znl = 1.5835218e-4, zel = 0.05490;  // lunar
    const bool opsmode_a = e[QSAT_SGP4_OPSMODE_A] != 0.0;

    // Solar terms.
    double zm = e[QSAT_SGP4_ZMOS] + zns * t;
    double zf = zm + 2.0 * zes * sin(zm);
    double sinzf = sin(zf);
    double f2 = 0.5 * sinzf * sinzf - 0.25;
    double f3 = -0.5 * sinzf * cos(zf);
    const double ses = e[QSAT_SGP4_SE2] * f2 + e[QSAT_SGP4_SE3] * f3;
    const double sis = e[QSAT_SGP4_SI2] * f2 + e[QSAT_SGP4_SI3] * f3;
    const double sls = e[QSAT_SGP4_SL2] * f2 + e[QSAT_SGP4_SL3] * f3 + e[QSAT_SGP4_SL4] * sinzf;
    const double sghs = e[QSAT_SGP4_SGH2] * f2 + e[QSAT_SGP4_SGH3] * f3 + e[QSAT_SGP4_SGH4] * sinzf;
    const double shs = e[QSAT_SGP4_SH2] * f2 + e[QSAT_SGP4_SH3] * f3;
    // Lunar terms.
    zm = e[QSAT_SGP4_ZMOL] + znl * t;
    zf = zm + 2.0 * zel * sin(zm);
    sinzf = sin(zf);
    f2 = 0.5 * sinzf * sinzf - 0.25;
    f3 = -0.5 * sinzf * cos(zf);
    const double sel = e[QSAT_SGP4_EE2] * f2 + e[QSAT_SGP4_E3] * f3;
    const double sil = e[QSAT_SGP4_XI2] * f2 + e[QSAT_SGP4_XI3] * f3;
    const double sll = e[QSAT_SGP4_XL2] * f2 + e[QSAT_SGP4_XL3] * f3 + e[QSAT_SGP4_XL4] * sinzf;
    const double sghl = e[QSAT_SGP4_XGH2] * f2 + e[QSAT_SGP4_XGH3] * f3 + e[QSAT_SGP4_XGH4] * sinzf;
    const double shll = e[QSAT_SGP4_XH2] * f2 + e[QSAT_SGP4_XH3] * f3;

    double pe = ses + sel;
    double pinc = sis + sil;
    double pl = sls + sll;
    double pgh = sghs + sghl;
    double ph = shs + shll;
    // Relative to epoch, so the periodics vanish at t = 0.
    pe = pe - e[QSAT_SGP4_PEO];
    pinc = pinc - e[QSAT_SGP4_PINCO];
    pl = pl - e[QSAT_SGP4_PLO];
    pgh = pgh - e[QSAT_SGP4_PGHO];
    ph = ph - e[QSAT_SGP4_PHO];
    *inclp = *inclp + pinc;
    *ep = *ep + pe;
    double sinip, cosip;
    qsat_sincos(*inclp, &sinip, &cosip);

    if (*inclp >= 0.2) {
        // Apply directly.
        ph = ph / sinip;
        pgh = pgh - cosip * ph;
        *argpp = *argpp + pgh;
        *nodep = *nodep + ph;
        *mp = *mp + pl;
    } else {
        // Lyddane modification for small inclinations (STR3 DPPER; V2006 "Lyddane choice").
        double sinop, cosop;
        qsat_sincos(*nodep, &sinop, &cosop);
        double alfdp = sinip * sinop;
        double betdp = sinip * cosop;
        const double dalf = ph * cosop + pinc * cosip * sinop;
        const double dbet = -ph * sinop + pinc * cosip * cosop;
        alfdp = alfdp + dalf;
        betdp = betdp + dbet;
        *nodep = fmod(*nodep, QSAT_TWOPI);
        if (*nodep < 0.0 && opsmode_a) *nodep = *nodep + QSAT_TWOPI;
        double xls = *mp + *argpp + cosip * *nodep;
        const double dls = pl + pgh - pinc * *nodep * sinip;
        xls = xls + dls;
        const double xnoh = *nodep;
        *nodep = atan2(alfdp, betdp);
        if (*nodep < 0.0 && opsmode_a) *nodep = *nodep + QSAT_TWOPI;
        if (fabs(xnoh - *nodep) > QSAT_PI) {
            if (*nodep < xnoh)
                *nodep = *nodep + QSAT_TWOPI;
            else
                *nodep = *nodep - QSAT_TWOPI;
        }
        *mp = *mp + pl;
        *argpp = xls - *mp - cosip * *nodep;
    }
}

// Propagate packed elements `e` to `tsince` minutes from epoch. Writes TEME position
// r (km) and velocity v (km/s); returns a python-sgp4 error code. On codes 1-4 r and v
// are NaN; on code 6 (decayed) they hold the computed values, as python-sgp4 does.
QSAT_HD int qsat_sgp4(const double* e, double tsince, double* r, double* v) {
    const double qnan = qsat_sgp4_nan();
    r[0] = r[1] = r[2] = v[0] = v[1] = v[2] = qnan;
    if (e[QSAT_SGP4_INIT_CODE] >= 0.0) return (int)e[QSAT_SGP4_INIT_CODE];

    const double x2o3 = 2.0 / 3.0;
    const double temp4 = 1.5e-12;  // V2006: divide-by-zero guard at 180 deg inclination
    const double xke = e[QSAT_SGP4_XKE];
    const double j2 = e[QSAT_SGP4_J2];
    const double j3oj2 = e[QSAT_SGP4_J3OJ2];
    const double vkmpersec = e[QSAT_SGP4_RADIUSEARTHKM] * xke / 60.0;
    const bool deep = e[QSAT_SGP4_METHOD] != 0.0;
    const double t = tsince;
    const double bstar = e[QSAT_SGP4_BSTAR];
    const double no = e[QSAT_SGP4_NO_UNKOZAI];

    // Secular gravity and atmospheric drag (STR3 SGP4 Model).
    const double xmdf = e[QSAT_SGP4_MO] + e[QSAT_SGP4_MDOT] * t;
    const double argpdf = e[QSAT_SGP4_ARGPO] + e[QSAT_SGP4_ARGPDOT] * t;
    const double nodedf = e[QSAT_SGP4_NODEO] + e[QSAT_SGP4_NODEDOT] * t;
    double argpm = argpdf;
    double mm = xmdf;
    const double t2 = t * t;
    double nodem = nodedf + e[QSAT_SGP4_NODECF] * t2;
    double tempa = 1.0 - e[QSAT_SGP4_CC1] * t;
    double tempe = bstar * e[QSAT_SGP4_CC4] * t;
    double templ = e[QSAT_SGP4_T2COF] * t2;

    if (e[QSAT_SGP4_ISIMP] != 1.0) {
        // Full drag model for perigee above 220 km (STR3 SGP4 Model: perigee >= 220 km; isimp = 0).
        const double delomg = e[QSAT_SGP4_OMGCOF] * t;
        const double delmtemp = 1.0 + e[QSAT_SGP4_ETA] * cos(xmdf);
        const double delm = e[QSAT_SGP4_XMCOF] * (delmtemp * delmtemp * delmtemp - e[QSAT_SGP4_DELMO]);
        const double temp = delomg + delm;
        mm = xmdf + temp;
        argpm = argpdf - temp;
        const double t3 = t2 * t;
        const double t4 = t3 * t;
        tempa = tempa - e[QSAT_SGP4_D2] * t2 - e[QSAT_SGP4_D3] * t3 - e[QSAT_SGP4_D4] * t4;
        tempe = tempe + bstar * e[QSAT_SGP4_CC5] * (sin(mm) - e[QSAT_SGP4_SINMAO]);
        templ = templ + e[QSAT_SGP4_T3COF] * t3 + t4 * (e[QSAT_SGP4_T4COF] + t * e[QSAT_SGP4_T5COF]);
    }

    double nm = no;
    double em = e[QSAT_SGP4_ECCO];
    double inclm = e[QSAT_SGP4_INCLO];
    if (deep) qsat_sgp4_dspace(e, t, &em, &argpm, &inclm, &mm, &nodem, &nm);

    if (nm <= 0.0) return QSAT_SGP4_ERR_NM;
    const double am = pow(xke / nm, x2o3) * tempa * tempa;
    nm = xke / pow(am, 1.5);
    em = em - tempe;
    if (em >= 1.0 || em < -0.001) return QSAT_SGP4_ERR_ECC;
    if (em < 1.0e-6) em = 1.0e-6;  // V2006: avoid division by zero
    mm = mm + no * templ;
    double xlm = mm + argpm + nodem;

    nodem = fmod(nodem, QSAT_TWOPI);
    argpm = fmod(argpm, QSAT_TWOPI);
    xlm = fmod(xlm, QSAT_TWOPI);
    mm = fmod(xlm - argpm - nodem, QSAT_TWOPI);

    double sinim, cosim;
    qsat_sincos(inclm, &sinim, &cosim);

    // Lunar-solar periodics (SDP4 only).
    double ep = em, xincp = inclm, argpp = argpm, nodep = nodem, mp = mm;
    double sinip = sinim, cosip = cosim;
    double aycof = e[QSAT_SGP4_AYCOF], xlcof = e[QSAT_SGP4_XLCOF];
    double con41 = e[QSAT_SGP4_CON41], x1mth2 = e[QSAT_SGP4_X1MTH2], x7thm1 = e[QSAT_SGP4_X7THM1];
    if (deep) {
        qsat_sgp4_dpper(e, t, &ep, &xincp, &nodep, &argpp, &mp);
        if (xincp < 0.0) {
            xincp = -xincp;
            nodep = nodep + QSAT_PI;
            argpp = argpp - QSAT_PI;
        }
        if (ep < 0.0 || ep > 1.0) return QSAT_SGP4_ERR_PECC;
        // Long-period coefficients from the perturbed inclination.
        qsat_sincos(xincp, &sinip, &cosip);
        aycof = -0.5 * j3oj2 * sinip;
        if (fabs(cosip + 1.0) > 1.5e-12)
            xlcof = -0.25 * j3oj2 * sinip * (3.0 + 5.0 * cosip) / (1.0 + cosip);
        else
            xlcof = -0.25 * j3oj2 * sinip * (3.0 + 5.0 * cosip) / temp4;
    }

    // Long-period periodics (STR3 SGP4 Model).
    const double axnl = ep * cos(argpp);
    double temp = 1.0 / (am * (1.0 - ep * ep));
    const double aynl = ep * sin(argpp) + temp * aycof;
    const double xl = mp + argpp + nodep + temp * xlcof * axnl;

    // Kepler's equation for E + omega (STR3 SGP4 Model), with V2006's step limit of 0.95 rad
    // and at most 10 iterations.
    const double u = fmod(xl - nodep, QSAT_TWOPI);
    double eo1 = u, tem5 = 9999.9, sineo1 = 0.0, coseo1 = 0.0;
    int ktr = 1;
    while (fabs(tem5) >= 1.0e-12 && ktr <= 10) {
        qsat_sincos(eo1, &sineo1, &coseo1);
        tem5 = 1.0 - coseo1 * axnl - sineo1 * aynl;
        tem5 = (u - aynl * coseo1 + axnl * sineo1 - eo1) / tem5;
        if (fabs(tem5) >= 0.95) tem5 = tem5 > 0.0 ? 0.95 : -0.95;
        eo1 = eo1 + tem5;
        ktr = ktr + 1;
    }

    // Short-period preliminary quantities (STR3 SGP4 Model).
    const double ecose = axnl * coseo1 + aynl * sineo1;
    const double esine = axnl * sineo1 - aynl * coseo1;
    const double el2 = axnl * axnl + aynl * aynl;
    const double pl = am * (1.0 - el2);
    if (pl < 0.0) return QSAT_SGP4_ERR_SEMILAT;
    const double rl = am * (1.0 - ecose);
    const double rdotl = sqrt(am) * esine / rl;
    const double rvdotl = sqrt(pl) / rl;
    const double betal = sqrt(1.0 - el2);
    temp = esine / (1.0 + betal);
    const double sinu = am / rl * (sineo1 - aynl - axnl * temp);
    const double cosu = am / rl * (coseo1 - axnl + aynl * temp);
    double su = atan2(sinu, cosu);
    const double sin2u = (cosu + cosu) * sinu;
    const double cos2u = 1.0 - 2.0 * sinu * sinu;
    temp = 1.0 / pl;
    const double temp1 = 0.5 * j2 * temp;
    const double temp2 = temp1 * temp;

    // Short-period periodics (STR3 SGP4 Model); SDP4 uses the perturbed inclination.
    if (deep) {
        const double cosisq = cosip * cosip;
        con41 = 3.0 * cosisq - 1.0;
        x1mth2 = 1.0 - cosisq;
        x7thm1 = 7.0 * cosisq - 1.0;
    }
    const double mrt = rl * (1.0 - 1.5 * temp2 * betal * con41) + 0.5 * temp1 * x1mth2 * cos2u;
    su = su - 0.25 * temp2 * x7thm1 * sin2u;
    const double xnode = nodep + 1.5 * temp2 * cosip * sin2u;
    const double xinc = xincp + 1.5 * temp2 * cosip * sinip * cos2u;
    const double mvt = rdotl - nm * temp1 * x1mth2 * sin2u / xke;
    const double rvdot = rvdotl + nm * temp1 * (x1mth2 * cos2u + 1.5 * con41) / xke;

    // Orientation vectors (STR3 SGP4 Model: U and V).
    double sinsu, cossu, snod, cnod, sini, cosi;
    qsat_sincos(su, &sinsu, &cossu);
    qsat_sincos(xnode, &snod, &cnod);
    qsat_sincos(xinc, &sini, &cosi);
    const double xmx = -snod * cosi;
    const double xmy = cnod * cosi;
    const double ux = xmx * sinsu + cnod * cossu;
    const double uy = xmy * sinsu + snod * cossu;
    const double uz = sini * sinsu;
    const double vx = xmx * cossu - cnod * sinsu;
    const double vy = xmy * cossu - snod * sinsu;
    const double vz = sini * cossu;

    // Position (km) and velocity (km/s), TEME.
    const double re = e[QSAT_SGP4_RADIUSEARTHKM];
    r[0] = (mrt * ux) * re;
    r[1] = (mrt * uy) * re;
    r[2] = (mrt * uz) * re;
    v[0] = (mvt * ux + rvdot * vx) * vkmpersec;
    v[1] = (mvt * uy + rvdot * vy) * vkmpersec;
    v[2] = (mvt * uz + rvdot * vz) * vkmpersec;

    // V2006: decayed when the radius falls below one Earth radius.
    if (mrt < 1.0) return QSAT_SGP4_ERR_DECAY;
    return QSAT_SGP4_OK;
}
