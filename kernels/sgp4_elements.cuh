// sgp4_elements.cuh — column layout of one satellite's packed SGP4/SDP4 elements.
//
// qsat.orbits.sgp4_gpu.pack_elements() reads this enum (names in order, lower-cased
// after the QSAT_SGP4_ prefix) to build the (nsat, QSAT_SGP4_NFIELDS) float64 array,
// so this file is the single definition of the layout. Each name is the attribute of
// python-sgp4's initialised Satrec that fills the column, except the few marked (*).
#pragma once

enum qsat_sgp4_field {
    // (*) -1: initialised, propagate; otherwise the error code python-sgp4 returns for
    // every time because its initialisation failed (NaN rows).
    QSAT_SGP4_INIT_CODE = 0,
    // Epoch as a two-part Julian date (UTC).
    QSAT_SGP4_JDSATEPOCH,
    QSAT_SGP4_JDSATEPOCHF,
    // Gravity model (WGS-72 by default): Earth radius km, sqrt(GM) in er^1.5/min, J2, J3/J2.
    QSAT_SGP4_RADIUSEARTHKM,
    QSAT_SGP4_XKE,
    QSAT_SGP4_J2,
    QSAT_SGP4_J3OJ2,
    // (*) method: 0 near-Earth SGP4, 1 deep-space SDP4; isimp; irez (0, 1: 24 h, 2: 12 h).
    QSAT_SGP4_METHOD,
    QSAT_SGP4_ISIMP,
    QSAT_SGP4_IREZ,
    // (*) operation mode: 0 'i' improved, 1 'a' AFSPC.
    QSAT_SGP4_OPSMODE_A,
    // Mean elements at epoch (Brouwer mean motion rad/min, radians).
    QSAT_SGP4_NO_UNKOZAI,
    QSAT_SGP4_ECCO,
    QSAT_SGP4_INCLO,
    QSAT_SGP4_NODEO,
    QSAT_SGP4_ARGPO,
    QSAT_SGP4_MO,
    QSAT_SGP4_BSTAR,
    // Secular rates and drag coefficients (STR#3 "SGP4 Model"; Vallado et al. 2006 initl/sgp4init).
    QSAT_SGP4_MDOT,
    QSAT_SGP4_ARGPDOT,
    QSAT_SGP4_NODEDOT,
    QSAT_SGP4_NODECF,
    QSAT_SGP4_CC1,
    QSAT_SGP4_CC4,
    QSAT_SGP4_CC5,
    QSAT_SGP4_D2,
    QSAT_SGP4_D3,
    QSAT_SGP4_D4,
    QSAT_SGP4_T2COF,
    QSAT_SGP4_T3COF,
    QSAT_SGP4_T4COF,
    QSAT_SGP4_T5COF,
    QSAT_SGP4_OMGCOF,
    QSAT_SGP4_XMCOF,
    QSAT_SGP4_ETA,
    QSAT_SGP4_DELMO,
    QSAT_SGP4_SINMAO,
    // Long- and short-period coefficients (recomputed from the perturbed inclination in SDP4).
    QSAT_SGP4_AYCOF,
    QSAT_SGP4_XLCOF,
    QSAT_SGP4_CON41,
    QSAT_SGP4_X1MTH2,
    QSAT_SGP4_X7THM1,
    // Deep space: secular rates from the Sun and Moon (dsinit).
    QSAT_SGP4_DEDT,
    QSAT_SGP4_DIDT,
    QSAT_SGP4_DMDT,
    QSAT_SGP4_DNODT,
    QSAT_SGP4_DOMDT,
    // Deep space: resonance (dsinit / dspace).
    QSAT_SGP4_GSTO,
    QSAT_SGP4_XFACT,
    QSAT_SGP4_XLAMO,
    QSAT_SGP4_DEL1,
    QSAT_SGP4_DEL2,
    QSAT_SGP4_DEL3,
    QSAT_SGP4_D2201,
    QSAT_SGP4_D2211,
    QSAT_SGP4_D3210,
    QSAT_SGP4_D3222,
    QSAT_SGP4_D4410,
    QSAT_SGP4_D4422,
    QSAT_SGP4_D5220,
    QSAT_SGP4_D5232,
    QSAT_SGP4_D5421,
    QSAT_SGP4_D5433,
    // Deep space: lunar-solar periodic coefficients (dscom / dpper).
    QSAT_SGP4_ZMOS,
    QSAT_SGP4_ZMOL,
    QSAT_SGP4_SE2,
    QSAT_SGP4_SE3,
    QSAT_SGP4_SI2,
    QSAT_SGP4_SI3,
    QSAT_SGP4_SL2,
    QSAT_SGP4_SL3,
    QSAT_SGP4_SL4,
    QSAT_SGP4_SGH2,
    QSAT_SGP4_SGH3,
    QSAT_SGP4_SGH4,
    QSAT_SGP4_SH2,
    QSAT_SGP4_SH3,
    QSAT_SGP4_EE2,
    QSAT_SGP4_E3,
    QSAT_SGP4_XI2,
    QSAT_SGP4_XI3,
    QSAT_SGP4_XL2,
    QSAT_SGP4_XL3,
    QSAT_SGP4_XL4,
    QSAT_SGP4_XGH2,
    QSAT_SGP4_XGH3,
    QSAT_SGP4_XGH4,
    QSAT_SGP4_XH2,
    QSAT_SGP4_XH3,
    // Lunar-solar periodics at epoch, subtracted so they vanish at t = 0.
    QSAT_SGP4_PEO,
    QSAT_SGP4_PINCO,
    QSAT_SGP4_PLO,
    QSAT_SGP4_PGHO,
    QSAT_SGP4_PHO,
    QSAT_SGP4_NFIELDS
};
