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
* :func:`error_report` — per-satellite messages for nonzero error codes.

Results have the shapes, units and error codes of
``sgp4.api.SatrecArray(satrecs).sgp4(jd, fr)``: ``error`` (nsat, ntime) uint8,
``r`` (nsat, ntime, 3) km and ``v`` (nsat, ntime, 3) km/s in TEME; rows with error
codes 1-4 are NaN, code 6 (decayed) keeps the computed values.
"""

from __future__ import annotations

import math
import re
from functools import cache

import numpy as np

from .. import kernels
from .._paths import kernels_dir
from ..backend import array_namespace, to_numpy
from ..errors import QsatInputError

__all__ = ["FIELDS", "pack_elements", "propagate", "propagate_host", "error_report"]

KERNEL = "sgp4"
FUNCTION = "sgp4_propagate"
MINUTES_PER_DAY = 1440.0
# Packed columns that are not plain numeric Satrec attributes.
_SPECIAL = {"init_code", "method", "isimp", "irez", "opsmode_a"}


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
    """
    xp = xp if xp is not None else array_namespace(packed, jd, fr)
    if xp is np:
        return propagate_host(packed, jd, fr)
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
