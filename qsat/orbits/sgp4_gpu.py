"""SGP4/SDP4 propagation of whole constellations: satellites × times, fp64, on the GPU.

The kernel (``kernels/sgp4.cu`` with ``kernels/sgp4.cuh``) implements the
propagation half of SGP4 (near Earth) and SDP4 (deep space: lunar-solar secular
and long-period terms, 12 h and 24 h resonance integrator) as published by Hoots &
Roehrich (Spacetrack Report #3, 1980) and corrected by Vallado, Crawford, Hujsak &
Kelso (AIAA 2006-6753), in the "improved" operation mode with WGS-72 constants, as
python-sgp4 uses by default. Element initialisation stays on the CPU: python-sgp4
initialises each element set and :func:`pack_elements` packs the initialised fields
into one float64 row per satellite.

* :func:`propagate` — CuPy inputs launch the kernel and leave the results on the
  GPU; NumPy inputs run the host build of the same kernel;
* :func:`propagate_host` — the host build (g++), for tests and CPU-only machines;
* :func:`propagate_numpy` — the kernel's NumPy twin (same statements, vectorised);
* :func:`error_report` — per-satellite messages for nonzero error codes.

Results have the shapes, units and error codes of
``sgp4.api.SatrecArray(satrecs).sgp4(jd, fr)``: ``error`` (nsat, ntime) uint8,
``r`` (nsat, ntime, 3) km and ``v`` (nsat, ntime, 3) km/s in TEME; rows with error
codes 1-4 are NaN, code 6 (decayed) keeps the computed values.
"""

from __future__ import annotations

import math
import os
import re
import shutil
from functools import cache

import numpy as np

from .. import kernels
from .._paths import kernels_dir
from ..backend import array_namespace, to_numpy
from ..errors import QsatInputError

__all__ = ["FIELDS", "pack_elements", "propagate", "propagate_host", "propagate_numpy", "propagate_pairs",
           "error_report"]

KERNEL = "sgp4"
FUNCTION = "sgp4_propagate"
PAIRS_FUNCTION = "sgp4_propagate_pairs"
MINUTES_PER_DAY = 1440.0


@cache
def _fields() -> tuple[str, ...]:
    """Column names, in order, from the enum of ``kernels/sgp4_elements.cuh``."""
    text = (kernels_dir() / "sgp4_elements.cuh").read_text()
    body = text[text.index("enum qsat_sgp4_field"):]
    body = body[: body.index("};")]
    names = re.findall(r"^\s*QSAT_SGP4_(\w+)", body, flags=re.MULTILINE)
    if names[-1] != "NFIELDS":
        raise RuntimeError("kernels/sgp4_elements.cuh: enum must end with QSAT_SGP4_NFIELDS")
    return tuple(n.lower() for n in names[:-1])


FIELDS = _fields()


def _gravity(sat):
    """python-sgp4's gravity-model index for a Satrec (matched on its constants)."""
    from sgp4 import earth_gravity
    from sgp4.api import WGS72, WGS72OLD, WGS84

    for index, consts in ((WGS72, earth_gravity.wgs72), (WGS72OLD, earth_gravity.wgs72old),
                          (WGS84, earth_gravity.wgs84)):
        if sat.radiusearthkm == consts.radiusearthkm and sat.xke == consts.xke and sat.j2 == consts.j2:
            return index
    raise QsatInputError("satrec.radiusearthkm", sat.radiusearthkm, "a WGS-72, WGS-72 (old) or WGS-84 Satrec")


def _python_satrec(sat):
    """A pure-Python ``sgp4.model.Satrec`` with every initialised field, or None.

    python-sgp4's C-accelerated Satrec hides the fields SGP4 initialisation
    computes, so its element set is initialised again by python-sgp4's own Python
    implementation (same algorithm, same constants); the epoch is kept exactly.
    Returns None when that initialisation fails (elements SGP4 cannot use).
    """
    if hasattr(sat, "cc1"):
        return sat
    from sgp4.model import Satrec as PySatrec

    py = PySatrec()
    epoch = (sat.jdsatepoch + sat.jdsatepochF) - 2433281.5
    try:
        py.sgp4init(_gravity(sat), sat.operationmode, getattr(sat, "satnum", 0), epoch, sat.bstar,
                    sat.ndot, sat.nddot, sat.ecco, sat.argpo, sat.inclo, sat.mo, sat.no_kozai, sat.nodeo)
    except (ValueError, ZeroDivisionError, TypeError, OverflowError):
        return None  # e.g. sqrt of a negative 1 - e^2, complex powers of a negative mean motion
    py.jdsatepoch = sat.jdsatepoch
    py.jdsatepochF = sat.jdsatepochF
    return py


def _row(sat) -> np.ndarray:
    py = _python_satrec(sat)
    row = np.full(len(FIELDS), np.nan)
    row[FIELDS.index("jdsatepoch")] = sat.jdsatepoch
    row[FIELDS.index("jdsatepochf")] = sat.jdsatepochF
    if py is not None:
        values = []
        for name in FIELDS:
            if name == "init_code":
                values.append(-1.0)
            elif name == "method":
                values.append(1.0 if py.method == "d" else 0.0)
            elif name == "opsmode_a":
                values.append(1.0 if py.operationmode == "a" else 0.0)
            elif name == "jdsatepochf":
                values.append(py.jdsatepochF)
            else:
                values.append(getattr(py, name))
        if all(isinstance(x, (int, float)) and math.isfinite(x) for x in values):
            return np.array(values, dtype=np.float64)
    # Initialisation failed: python-sgp4 returns the same error (and NaN rows) at every
    # time for such element sets; take its code at epoch.
    code, _, _ = sat.sgp4_tsince(0.0)
    row[FIELDS.index("init_code")] = float(code)
    return row


def pack_elements(satrecs) -> np.ndarray:
    """Pack initialised SGP4 element sets into a float64 array (nsat, len(FIELDS)).

    Parameters
    ----------
    satrecs : sequence of ``sgp4.api.Satrec`` or ``sgp4.model.Satrec``
        Element sets as python-sgp4 initialises them (``Satrec.twoline2rv``,
        ``Satrec.sgp4init``); operation mode 'i' (default) or 'a'.

    Returns
    -------
    numpy.ndarray
        One row per satellite, columns :data:`FIELDS` (``kernels/sgp4_elements.cuh``).
        Element sets python-sgp4 cannot initialise get a row that makes the kernel
        return python-sgp4's error code and NaN at every time.
    """
    satrecs = list(satrecs)
    out = np.empty((len(satrecs), len(FIELDS)), dtype=np.float64)
    for i, sat in enumerate(satrecs):
        if not hasattr(sat, "jdsatepoch") or not hasattr(sat, "no_kozai"):
            raise QsatInputError(f"satrecs[{i}]", type(sat).__name__, "an sgp4 Satrec")
        out[i] = _row(sat)
    return out


def _check(packed, jd, fr, xp):
    if packed.ndim != 2 or packed.shape[1] != len(FIELDS):
        raise QsatInputError("packed", f"array of shape {tuple(packed.shape)}",
                             f"shape (nsat, {len(FIELDS)}) from pack_elements()")
    jd = xp.asarray(jd, dtype=xp.float64)
    fr = xp.asarray(fr, dtype=xp.float64)
    if jd.ndim > 1 or fr.ndim > 1:
        raise QsatInputError("jd, fr", f"arrays of shapes {jd.shape} and {fr.shape}", "scalars or 1-D arrays")
    jd, fr = xp.broadcast_arrays(xp.atleast_1d(jd), xp.atleast_1d(fr))
    packed = xp.ascontiguousarray(xp.asarray(packed, dtype=xp.float64))
    return packed, xp.ascontiguousarray(jd), xp.ascontiguousarray(fr)


def _outputs(xp, nsat, ntime):
    return (xp.empty((nsat, ntime), dtype=xp.uint8), xp.empty((nsat, ntime, 3), dtype=xp.float64),
            xp.empty((nsat, ntime, 3), dtype=xp.float64))


def _host_compiler() -> bool:
    """Whether the host build can be made (the compiler qsat.kernels.host_library uses)."""
    return bool(os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++"))


def propagate(packed, jd, fr, xp=None):
    """Propagate every satellite to every time: SGP4/SDP4, fp64.

    Parameters
    ----------
    packed : array (nsat, len(FIELDS)), float64
        From :func:`pack_elements` (NumPy, or CuPy after ``cupy.asarray``).
    jd, fr : float or array (ntime,), float64
        UTC two-part Julian dates (whole and fraction), as for python-sgp4.
    xp : module, optional
        ``numpy`` or ``cupy``; default: the namespace of the inputs.

    Returns
    -------
    error : array (nsat, ntime), uint8
        python-sgp4 error codes (``sgp4.api.SGP4_ERRORS``; decode with :func:`error_report`).
    r : array (nsat, ntime, 3), float64
        TEME position, km (NaN where error is 1-4).
    v : array (nsat, ntime, 3), float64
        TEME velocity, km/s (NaN where error is 1-4).

    With CuPy the kernel runs on the current device and the results stay there.
    With NumPy the host build runs, or the NumPy twin where no C++ compiler is
    installed (same results, slower).
    """
    xp = xp if xp is not None else array_namespace(packed, jd, fr)
    if xp is np:
        return propagate_host(packed, jd, fr) if _host_compiler() else propagate_numpy(packed, jd, fr)
    packed, jd, fr = _check(xp.asarray(packed), jd, fr, xp)
    nsat, ntime = packed.shape[0], jd.shape[0]
    error, r, v = _outputs(xp, nsat, ntime)
    kernels.launch(KERNEL, FUNCTION, nsat * ntime,
                   (packed, np.int64(nsat), np.int64(packed.shape[1]), jd, fr, np.int64(ntime), error, r, v))
    return error, r, v


def propagate_host(packed, jd, fr):
    """:func:`propagate` through the host (g++) build of the same kernel; NumPy in and out."""
    packed, jd, fr = _check(np.asarray(to_numpy(packed)), to_numpy(jd), to_numpy(fr), np)
    nsat, ntime = packed.shape[0], jd.shape[0]
    error, r, v = _outputs(np, nsat, ntime)
    kernels.host_call(KERNEL, FUNCTION, packed, nsat, packed.shape[1], jd, fr, ntime, error, r, v)
    return error, r, v


def propagate_numpy(packed, jd, fr):
    """NumPy twin of the kernel: the same statements, vectorised over satellites × times.

    Same signature and results as :func:`propagate_host` (to the last bits of NumPy's
    and the C library's transcendental functions); needs no compiler. Slower than the
    host build; it exists so the kernel's math has a readable array twin.
    """
    packed, jd, fr = _check(np.asarray(to_numpy(packed)), to_numpy(jd), to_numpy(fr), np)
    nsat, ntime = packed.shape[0], jd.shape[0]
    sat = np.repeat(np.arange(nsat), ntime)
    col = {name: j for j, name in enumerate(FIELDS)}

    def c(name):
        return packed[sat, col[name]]

    with np.errstate(all="ignore"):
        t = (np.tile(jd, nsat) - c("jdsatepoch")) * MINUTES_PER_DAY + \
            (np.tile(fr, nsat) - c("jdsatepochf")) * MINUTES_PER_DAY
        error, r, v = _sgp4_numpy(c, t)
    return error.reshape(nsat, ntime), r.reshape(nsat, ntime, 3), v.reshape(nsat, ntime, 3)


def propagate_pairs(packed, sat, jd, fr, *, mode: str = "host"):
    """Satellite ``sat[i]`` at two-part UTC Julian date ``(jd[i], fr[i])``, for every i.

    ``mode``: "host" (the g++ build), "cupy" (the GPU; CuPy arrays in and out) or
    "numpy" (the twin). Returns error (n,) uint8, r (n, 3) km, v (n, 3) km/s in TEME,
    each element as :func:`propagate` computes it for that satellite and time.
    """
    xp = np
    if mode == "cupy":
        import cupy

        xp = cupy
    sat = xp.ascontiguousarray(xp.asarray(sat, dtype=xp.int64))
    jd = xp.ascontiguousarray(xp.asarray(jd, dtype=xp.float64))
    fr = xp.ascontiguousarray(xp.asarray(fr, dtype=xp.float64))
    packed = xp.ascontiguousarray(xp.asarray(packed, dtype=xp.float64))
    n = int(sat.shape[0])
    if mode == "numpy":
        col = {name: j for j, name in enumerate(FIELDS)}

        def c(name):
            return packed[sat, col[name]]

        with np.errstate(all="ignore"):
            t = (jd - c("jdsatepoch")) * MINUTES_PER_DAY + (fr - c("jdsatepochf")) * MINUTES_PER_DAY
            return _sgp4_numpy(c, t)
    error, r, v = xp.empty(n, dtype=xp.uint8), xp.empty((n, 3), dtype=xp.float64), xp.empty((n, 3), dtype=xp.float64)
    if mode == "host":
        kernels.host_call(KERNEL, PAIRS_FUNCTION, packed, packed.shape[1], sat, jd, fr, n, error, r, v)
    else:
        kernels.launch(KERNEL, PAIRS_FUNCTION, n, (packed, np.int64(packed.shape[1]), sat, jd, fr, np.int64(n),
                                                   error, r, v))
    return error, r, v


def _sgp4_numpy(c, t):
    """kernels/sgp4.cuh: qsat_sgp4 on flat arrays; c(name) gives a column per element."""
    n = t.size
    twopi = 2.0 * np.pi
    code = np.zeros(n, dtype=np.uint8)
    init_code = c("init_code")
    alive = init_code < 0
    code[~alive] = init_code[~alive].astype(np.uint8)

    def fail(mask, value):
        new = alive & mask
        code[new] = value
        alive[new] = False

    xke, j2, j3oj2 = c("xke"), c("j2"), c("j3oj2")
    vkmpersec = c("radiusearthkm") * xke / 60.0
    deep = c("method") != 0.0
    bstar, no = c("bstar"), c("no_unkozai")

    # Secular gravity and atmospheric drag (STR3 SGP4 Model).
    xmdf = c("mo") + c("mdot") * t
    argpdf = c("argpo") + c("argpdot") * t
    nodedf = c("nodeo") + c("nodedot") * t
    t2 = t * t
    nodem = nodedf + c("nodecf") * t2
    tempa = 1.0 - c("cc1") * t
    tempe = bstar * c("cc4") * t
    templ = c("t2cof") * t2
    full = c("isimp") != 1.0
    delomg = c("omgcof") * t
    delmtemp = 1.0 + c("eta") * np.cos(xmdf)
    delm = c("xmcof") * (delmtemp * delmtemp * delmtemp - c("delmo"))
    temp = delomg + delm
    mm = np.where(full, xmdf + temp, xmdf)
    argpm = np.where(full, argpdf - temp, argpdf)
    t3 = t2 * t
    t4 = t3 * t
    tempa = np.where(full, tempa - c("d2") * t2 - c("d3") * t3 - c("d4") * t4, tempa)
    tempe = np.where(full, tempe + bstar * c("cc5") * (np.sin(mm) - c("sinmao")), tempe)
    templ = np.where(full, templ + c("t3cof") * t3 + t4 * (c("t4cof") + t * c("t5cof")), templ)

    nm = no.copy()
    em = c("ecco")
    inclm = c("inclo")
    d = np.flatnonzero(deep)
    if d.size:
        em, argpm, inclm, mm, nodem, nm = (a.copy() for a in (em, argpm, inclm, mm, nodem, nm))
        _dspace_numpy(c, t, d, em, argpm, inclm, mm, nodem, nm)

    fail(nm <= 0.0, 2)
    am = np.power(xke / nm, 2.0 / 3.0) * tempa * tempa
    nm = xke / np.power(am, 1.5)
    em = em - tempe
    fail((em >= 1.0) | (em < -0.001), 1)
    em = np.where(em < 1.0e-6, 1.0e-6, em)
    mm = mm + no * templ
    xlm = mm + argpm + nodem
    nodem = np.fmod(nodem, twopi)
    argpm = np.fmod(argpm, twopi)
    xlm = np.fmod(xlm, twopi)
    mm = np.fmod(xlm - argpm - nodem, twopi)
    sinim, cosim = np.sin(inclm), np.cos(inclm)

    # Lunar-solar periodics (SDP4 only).
    ep, xincp, argpp, nodep, mp = em.copy(), inclm.copy(), argpm.copy(), nodem.copy(), mm.copy()
    sinip, cosip = sinim.copy(), cosim.copy()
    aycof, xlcof = c("aycof"), c("xlcof")
    con41, x1mth2, x7thm1 = c("con41"), c("x1mth2"), c("x7thm1")
    if d.size:
        _dpper_numpy(c, t, d, ep, xincp, nodep, argpp, mp)
        neg = deep & (xincp < 0.0)
        xincp = np.where(neg, -xincp, xincp)
        nodep = np.where(neg, nodep + np.pi, nodep)
        argpp = np.where(neg, argpp - np.pi, argpp)
        fail(deep & ((ep < 0.0) | (ep > 1.0)), 3)
        sinip = np.where(deep, np.sin(xincp), sinip)
        cosip = np.where(deep, np.cos(xincp), cosip)
        aycof = np.where(deep, -0.5 * j3oj2 * sinip, aycof)
        den = np.where(np.abs(cosip + 1.0) > 1.5e-12, 1.0 + cosip, 1.5e-12)
        xlcof = np.where(deep, -0.25 * j3oj2 * sinip * (3.0 + 5.0 * cosip) / den, xlcof)

    # Long-period periodics.
    axnl = ep * np.cos(argpp)
    temp = 1.0 / (am * (1.0 - ep * ep))
    aynl = ep * np.sin(argpp) + temp * aycof
    xl = mp + argpp + nodep + temp * xlcof * axnl

    # Kepler's equation (at most 10 iterations, steps limited to 0.95 rad).
    u = np.fmod(xl - nodep, twopi)
    eo1 = u.copy()
    sineo1, coseo1 = np.zeros(n), np.zeros(n)
    todo = np.arange(n)
    for _ in range(10):
        if todo.size == 0:
            break
        s_, c_ = np.sin(eo1[todo]), np.cos(eo1[todo])
        sineo1[todo], coseo1[todo] = s_, c_
        ax, ay = axnl[todo], aynl[todo]
        tem5 = 1.0 - c_ * ax - s_ * ay
        tem5 = (u[todo] - ay * c_ + ax * s_ - eo1[todo]) / tem5
        tem5 = np.where(np.abs(tem5) >= 0.95, np.where(tem5 > 0.0, 0.95, -0.95), tem5)
        eo1[todo] = eo1[todo] + tem5
        todo = todo[np.abs(tem5) >= 1.0e-12]

    # Short-period preliminary quantities.
    ecose = axnl * coseo1 + aynl * sineo1
    esine = axnl * sineo1 - aynl * coseo1
    el2 = axnl * axnl + aynl * aynl
    pl = am * (1.0 - el2)
    fail(pl < 0.0, 4)
    rl = am * (1.0 - ecose)
    rdotl = np.sqrt(am) * esine / rl
    rvdotl = np.sqrt(pl) / rl
    betal = np.sqrt(1.0 - el2)
    temp = esine / (1.0 + betal)
    sinu = am / rl * (sineo1 - aynl - axnl * temp)
    cosu = am / rl * (coseo1 - axnl + aynl * temp)
    su = np.arctan2(sinu, cosu)
    sin2u = (cosu + cosu) * sinu
    cos2u = 1.0 - 2.0 * sinu * sinu
    temp = 1.0 / pl
    temp1 = 0.5 * j2 * temp
    temp2 = temp1 * temp

    # Short-period periodics; SDP4 uses the perturbed inclination.
    cosisq = cosip * cosip
    con41 = np.where(deep, 3.0 * cosisq - 1.0, con41)
    x1mth2 = np.where(deep, 1.0 - cosisq, x1mth2)
    x7thm1 = np.where(deep, 7.0 * cosisq - 1.0, x7thm1)
    mrt = rl * (1.0 - 1.5 * temp2 * betal * con41) + 0.5 * temp1 * x1mth2 * cos2u
    su = su - 0.25 * temp2 * x7thm1 * sin2u
    xnode = nodep + 1.5 * temp2 * cosip * sin2u
    xinc = xincp + 1.5 * temp2 * cosip * sinip * cos2u
    mvt = rdotl - nm * temp1 * x1mth2 * sin2u / xke
    rvdot = rvdotl + nm * temp1 * (x1mth2 * cos2u + 1.5 * con41) / xke

    # Orientation vectors, position (km) and velocity (km/s), TEME.
    sinsu, cossu = np.sin(su), np.cos(su)
    snod, cnod = np.sin(xnode), np.cos(xnode)
    sini, cosi = np.sin(xinc), np.cos(xinc)
    xmx = -snod * cosi
    xmy = cnod * cosi
    ux = xmx * sinsu + cnod * cossu
    uy = xmy * sinsu + snod * cossu
    uz = sini * sinsu
    vx = xmx * cossu - cnod * sinsu
    vy = xmy * cossu - snod * sinsu
    vz = sini * cossu
    re = c("radiusearthkm")
    r = np.stack([(mrt * ux) * re, (mrt * uy) * re, (mrt * uz) * re], axis=-1)
    v = np.stack([(mvt * ux + rvdot * vx) * vkmpersec, (mvt * uy + rvdot * vy) * vkmpersec,
                  (mvt * uz + rvdot * vz) * vkmpersec], axis=-1)
    fail(mrt < 1.0, 6)
    bad = (code != 0) & (code != 6) | (init_code >= 0)
    r[bad] = np.nan
    v[bad] = np.nan
    return code, r, v


def _dspace_numpy(c, t, d, em, argpm, inclm, mm, nodem, nm):
    """kernels/sgp4.cuh: qsat_sgp4_dspace on the deep-space elements ``d`` (in place)."""
    fasx2, fasx4, fasx6 = 0.13130908, 2.8843198, 0.37448087
    g22, g32, g44, g52, g54 = 5.7686396, 0.95240898, 1.8014998, 1.0508330, 4.4108898
    rptim = 4.37526908801129966e-3
    stepp, step2 = 720.0, 259200.0

    def k(name):
        return c(name)[d]

    td = t[d]
    theta = np.fmod(k("gsto") + td * rptim, 2.0 * np.pi)
    em[d] = em[d] + k("dedt") * td
    inclm[d] = inclm[d] + k("didt") * td
    argpm[d] = argpm[d] + k("domdt") * td
    nodem[d] = nodem[d] + k("dnodt") * td
    mm[d] = mm[d] + k("dmdt") * td

    irez = k("irez")
    res = np.flatnonzero(irez != 0)
    if res.size == 0:
        return
    e = d[res]  # flat indices of resonant elements
    tt, no, irez = t[e], c("no_unkozai")[e], irez[res]
    cols = {name: c(name)[e] for name in ("xfact", "del1", "del2", "del3", "argpo", "argpdot", "d2201",
                                          "d2211", "d3210", "d3222", "d4410", "d4422", "d5220", "d5232",
                                          "d5421", "d5433")}
    atime = np.zeros(e.size)
    xni = no.copy()
    xli = c("xlamo")[e].copy()
    delt = np.where(tt > 0.0, stepp, -stepp)
    xndt, xldot, xnddt, ft = (np.zeros(e.size) for _ in range(4))
    todo = np.arange(e.size)
    while todo.size:
        q = {name: a[todo] for name, a in cols.items()}
        li, ni, at = xli[todo], xni[todo], atime[todo]
        sync = irez[todo] != 2
        # 24 h resonance.
        ndt_s = q["del1"] * np.sin(li - fasx2) + q["del2"] * np.sin(2.0 * (li - fasx4)) + \
            q["del3"] * np.sin(3.0 * (li - fasx6))
        nddt_s = q["del1"] * np.cos(li - fasx2) + 2.0 * q["del2"] * np.cos(2.0 * (li - fasx4)) + \
            3.0 * q["del3"] * np.cos(3.0 * (li - fasx6))
        # 12 h resonance.
        xomi = q["argpo"] + q["argpdot"] * at
        x2omi = xomi + xomi
        x2li = li + li
        ndt_h = q["d2201"] * np.sin(x2omi + li - g22) + q["d2211"] * np.sin(li - g22) + \
            q["d3210"] * np.sin(xomi + li - g32) + q["d3222"] * np.sin(-xomi + li - g32) + \
            q["d4410"] * np.sin(x2omi + x2li - g44) + q["d4422"] * np.sin(x2li - g44) + \
            q["d5220"] * np.sin(xomi + li - g52) + q["d5232"] * np.sin(-xomi + li - g52) + \
            q["d5421"] * np.sin(xomi + x2li - g54) + q["d5433"] * np.sin(-xomi + x2li - g54)
        nddt_h = q["d2201"] * np.cos(x2omi + li - g22) + q["d2211"] * np.cos(li - g22) + \
            q["d3210"] * np.cos(xomi + li - g32) + q["d3222"] * np.cos(-xomi + li - g32) + \
            q["d5220"] * np.cos(xomi + li - g52) + q["d5232"] * np.cos(-xomi + li - g52) + \
            2.0 * (q["d4410"] * np.cos(x2omi + x2li - g44) + q["d4422"] * np.cos(x2li - g44) +
                   q["d5421"] * np.cos(xomi + x2li - g54) + q["d5433"] * np.cos(-xomi + x2li - g54))
        ndt = np.where(sync, ndt_s, ndt_h)
        ldot = ni + q["xfact"]
        nddt = np.where(sync, nddt_s, nddt_h) * ldot
        xndt[todo], xldot[todo], xnddt[todo] = ndt, ldot, nddt
        step = np.abs(tt[todo] - at) >= stepp
        s, f = todo[step], todo[~step]
        xli[s] = xli[s] + xldot[s] * delt[s] + xndt[s] * step2
        xni[s] = xni[s] + xndt[s] * delt[s] + xnddt[s] * step2
        atime[s] = atime[s] + delt[s]
        ft[f] = tt[f] - atime[f]
        todo = s
    nm_e = xni + xndt * ft + xnddt * ft * ft * 0.5
    xl = xli + xldot * ft + xndt * ft * ft * 0.5
    th = theta[res]
    mm[e] = np.where(irez != 1, xl - 2.0 * nodem[e] + 2.0 * th, xl - nodem[e] - argpm[e] + th)
    dndt = nm_e - no
    nm[e] = no + dndt


def _dpper_numpy(c, t, d, ep, inclp, nodep, argpp, mp):
    """kernels/sgp4.cuh: qsat_sgp4_dpper on the deep-space elements ``d`` (in place)."""
    zns, zes, znl, zel = 1.19459e-5, 0.01675, 1.5835218e-4, 0.05490
    twopi = 2.0 * np.pi

    def k(name):
        return c(name)[d]

    td = t[d]

    def periodics(zmo, zn, ze, e2, e3, i2, i3, l2, l3, l4, gh2, gh3, gh4, h2, h3):
        # One body's long-period terms; solar and lunar differ only in coefficients.
        zm = k(zmo) + zn * td
        zf = zm + 2.0 * ze * np.sin(zm)
        sinzf = np.sin(zf)
        f2 = 0.5 * sinzf * sinzf - 0.25
        f3 = -0.5 * sinzf * np.cos(zf)
        return (k(e2) * f2 + k(e3) * f3, k(i2) * f2 + k(i3) * f3,
                k(l2) * f2 + k(l3) * f3 + k(l4) * sinzf,
                k(gh2) * f2 + k(gh3) * f3 + k(gh4) * sinzf, k(h2) * f2 + k(h3) * f3)

    ses, sis, sls, sghs, shs = periodics("zmos", zns, zes, "se2", "se3", "si2", "si3", "sl2", "sl3", "sl4",
                                         "sgh2", "sgh3", "sgh4", "sh2", "sh3")
    sel, sil, sll, sghl, shll = periodics("zmol", znl, zel, "ee2", "e3", "xi2", "xi3", "xl2", "xl3", "xl4",
                                          "xgh2", "xgh3", "xgh4", "xh2", "xh3")
    pe = (ses + sel) - k("peo")
    pinc = (sis + sil) - k("pinco")
    pl = (sls + sll) - k("plo")
    pgh = (sghs + sghl) - k("pgho")
    ph = (shs + shll) - k("pho")
    incl = inclp[d] + pinc
    inclp[d] = incl
    ep[d] = ep[d] + pe
    sinip, cosip = np.sin(incl), np.cos(incl)
    node, argp, m = nodep[d], argpp[d], mp[d]
    opsmode_a = k("opsmode_a") != 0.0

    # Applied directly (inclination >= 0.2 rad).
    ph_d = ph / sinip
    pgh_d = pgh - cosip * ph_d
    argp_direct, node_direct = argp + pgh_d, node + ph_d
    # Lyddane modification (inclination < 0.2 rad).
    sinop, cosop = np.sin(node), np.cos(node)
    alfdp = sinip * sinop + (ph * cosop + pinc * cosip * sinop)
    betdp = sinip * cosop + (-ph * sinop + pinc * cosip * cosop)
    nodel = np.fmod(node, twopi)
    nodel = np.where((nodel < 0.0) & opsmode_a, nodel + twopi, nodel)
    xls = m + argp + cosip * nodel
    dls = pl + pgh - pinc * nodel * sinip
    xls = xls + dls
    xnoh = nodel
    nodel = np.arctan2(alfdp, betdp)
    nodel = np.where((nodel < 0.0) & opsmode_a, nodel + twopi, nodel)
    wrap = np.abs(xnoh - nodel) > np.pi
    nodel = np.where(wrap, np.where(nodel < xnoh, nodel + twopi, nodel - twopi), nodel)
    m_new = m + pl
    argp_lyd = xls - m_new - cosip * nodel

    direct = incl >= 0.2
    nodep[d] = np.where(direct, node_direct, nodel)
    argpp[d] = np.where(direct, argp_direct, argp_lyd)
    mp[d] = m_new


def error_report(error, names=None, r=None) -> list[str]:
    """One line per satellite with nonzero error codes, decoded with python-sgp4's table.

    Parameters
    ----------
    error : array (nsat, ntime) or (nsat,)
        Codes from :func:`propagate` (NumPy or CuPy).
    names : sequence of str, optional
        Satellite names for the messages (default: ``satellite <index>``).
    r : array (nsat, ntime, 3), optional
        Positions from :func:`propagate`; when given, NaN positions under code 0 are
        reported too (python-sgp4 returns those, without a code, for element sets its
        initialisation cannot handle, such as a negative mean motion).

    Returns
    -------
    list of str
        E.g. ``"ISS: error 6 at 12 of 1440 times (first at time index 1428): mrt is
        less than 1.0 which indicates the satellite has decayed"``; empty when all
        codes are 0.
    """
    from sgp4.api import SGP4_ERRORS

    error = np.asarray(to_numpy(error))
    error = error.reshape(error.shape[0], -1)
    if names is not None and len(names) != error.shape[0]:
        raise QsatInputError("names", f"{len(names)} names", f"one per satellite ({error.shape[0]})")
    silent = np.zeros(error.shape, dtype=bool)
    if r is not None:
        silent = np.isnan(np.asarray(to_numpy(r))).reshape(error.shape[0], -1, 3).any(axis=2) & (error == 0)
    lines = []
    for i in np.flatnonzero((error != 0).any(axis=1) | silent.any(axis=1)):
        name = names[i] if names is not None else f"satellite {i}"
        row = error[i]
        for code in np.unique(row[row != 0]):
            where = np.flatnonzero(row == code)
            message = SGP4_ERRORS.get(int(code), "unknown error code")
            lines.append(f"{name}: error {int(code)} at {where.size} of {row.size} times "
                         f"(first at time index {where[0]}): {message}")
        where = np.flatnonzero(silent[i])
        if where.size:
            lines.append(f"{name}: NaN position without an error code at {where.size} of {row.size} times "
                         f"(first at time index {where[0]}): the element set could not be initialised")
    return lines
