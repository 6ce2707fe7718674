"""SGP4 propagation for the pass engine: python-sgp4 on CPU, the CUDA kernel on GPU.

Both return TEME position [km] and velocity [km/s] with python-sgp4's error codes;
rows of a satellite that SGP4 rejects are NaN, and the other satellites are
unaffected (the caller reports the codes).
"""

from __future__ import annotations

import numpy as np


def propagate_one(satrec, jd, fr):
    """One satellite at its own times: (error (m,), r (m, 3) km, v (m, 3) km/s)."""
    e, r, v = satrec.sgp4_array(np.ascontiguousarray(jd, dtype=np.float64),
                                np.ascontiguousarray(fr, dtype=np.float64))
    return e, r, v


def propagate_many(satrecs, jd, fr):
    """Many satellites at common times: (error (nsat, m), r (nsat, m, 3), v (nsat, m, 3))."""
    from sgp4.api import SatrecArray

    return SatrecArray(list(satrecs)).sgp4(np.ascontiguousarray(jd, dtype=np.float64),
                                           np.ascontiguousarray(fr, dtype=np.float64))
