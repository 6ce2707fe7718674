"""SGP4 propagation and topocentric geometry for the pass engine, per compute mode.

Three modes give the same numbers (tests compare them):

* ``numpy`` — python-sgp4 (``SatrecArray`` / ``sgp4_array``) and the NumPy geometry twin;
* ``cupy`` — the CUDA SGP4 and geometry kernels; states stay on the GPU between
  propagation and geometry, and only the small per-step results come back;
* ``host`` — the same CUDA sources built for the CPU (g++), which lets CI run the
  kernel-backed pipeline end to end without a GPU.

Rows of a satellite that SGP4 rejects are NaN, other satellites are unaffected,
and the error codes are returned for the caller to report.
"""

from __future__ import annotations

import numpy as np

from ..backend import to_numpy
from . import geometry

MODES = ("numpy", "cupy", "host")


class Propagator:
    """Propagates a fixed list of satellites and evaluates their topocentric geometry."""

    def __init__(self, satrecs, mode: str = "numpy"):
        if mode not in MODES:
            raise ValueError(f"propagation mode {mode!r}; expected one of {MODES}")
        self.satrecs = list(satrecs)
        self.mode = mode
        if mode == "numpy":
            self.xp = np
        else:
            from . import sgp4_gpu

            self._packed = sgp4_gpu.pack_elements(self.satrecs)
            if mode == "cupy":
                import cupy

                self.xp = cupy
                self._packed = cupy.asarray(self._packed)
            else:
                self.xp = np

    def many(self, jd, fr, first: int = 0, stop: int | None = None):
        """Satellites ``first:stop`` at common times: (error (n, m), r (n, m, 3) km, v km/s)."""
        jd = np.ascontiguousarray(jd, dtype=np.float64)
        fr = np.ascontiguousarray(fr, dtype=np.float64)
        if self.mode == "numpy":
            from sgp4.api import SatrecArray

            return SatrecArray(self.satrecs[first:stop]).sgp4(jd, fr)
        return self._kernel(self._packed[first:stop], jd, fr)

    def one(self, s: int, jd, fr):
        """Satellite ``s`` at its own times: (error (m,), r (m, 3) km, v (m, 3) km/s)."""
        jd = np.ascontiguousarray(jd, dtype=np.float64)
        fr = np.ascontiguousarray(fr, dtype=np.float64)
        if self.mode == "numpy":
            return self.satrecs[s].sgp4_array(jd, fr)
        e, r, v = self._kernel(self._packed[s:s + 1], jd, fr)
        return e[0], r[0], v[0]

    def pairs(self, sat, jd, fr):
        """Satellite ``sat[i]`` at ``(jd[i], fr[i])``: (error (n,), r (n, 3) km, v (n, 3) km/s)."""
        sat = np.asarray(sat, dtype=np.int64)
        jd = np.ascontiguousarray(jd, dtype=np.float64)
        fr = np.ascontiguousarray(fr, dtype=np.float64)
        if self.mode != "numpy":
            from . import sgp4_gpu

            return sgp4_gpu.propagate_pairs(self._packed, sat, jd, fr, mode=self.mode)
        # python-sgp4 propagates one satellite at a time: one call per satellite present.
        error = np.zeros(len(sat), dtype=np.uint8)
        r, v = np.empty((len(sat), 3)), np.empty((len(sat), 3))
        order = np.argsort(sat, kind="stable")
        bounds = np.searchsorted(sat[order], np.unique(sat[order]))
        for a, b in zip(bounds, list(bounds[1:]) + [len(sat)]):
            rows = order[a:b]
            error[rows], r[rows], v[rows] = self.satrecs[sat[rows[0]]].sgp4_array(jd[rows], fr[rows])
        return error, r, v

    def _kernel(self, packed, jd, fr):
        from . import sgp4_gpu

        if self.mode == "host":
            return sgp4_gpu.propagate_host(packed, jd, fr)
        return sgp4_gpu.propagate(packed, self.xp.asarray(jd), self.xp.asarray(fr), xp=self.xp)

    def topocentric(self, r, v, theta, omega, row, sta, stations_itrs_m, stations_latlon_rad):
        """(az, el, range, range rate, el rate) as NumPy arrays, whatever the mode."""
        if self.mode == "numpy":
            return geometry.topocentric_pairs(r, v, theta, omega, row, sta, stations_itrs_m, stations_latlon_rad)
        xp = self.xp
        args = [xp.asarray(a) for a in (r, v, theta, row, sta, stations_itrs_m, stations_latlon_rad)]
        out = geometry.topocentric_pairs_kernel(*args[:3], omega, *args[3:], host=self.mode == "host")
        return tuple(to_numpy(a) for a in out)

    def itrs_positions(self, r, v, theta, omega):
        """Satellite ITRS positions [m] as a NumPy array."""
        r_itrs, _ = geometry.teme_to_itrs(self.xp.asarray(r), self.xp.asarray(v), self.xp.asarray(theta), omega)
        return to_numpy(r_itrs)
