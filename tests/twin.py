"""The reproducibility contract between a compiled kernel and its NumPy twin (docs/montecarlo.md).

Bit-identity holds only within one engine. Between engines — the host (g++) or device build
of a kernel and its NumPy twin — continuous values agree to a stated tolerance and discrete
outcomes (counts, clear flags, steps used) are identical except at documented threshold ties:
NumPy dispatches exp/log/pow to SIMD code chosen at run time (AVX2, AVX-512), which differs
from glibc's libm and from CUDA's libdevice in the last bits.
"""

from __future__ import annotations

import numpy as np

#: Relative tolerance of continuous values between engines. A few ulp (~4e-16) per
#: transcendental call, amplified by sums with cancellation: the uplink turbulence loss
#: (18.5 dB, a beam-spread sum) moved by 8.4e-12 between libdevice and glibc on an H200;
#: 1e-10 leaves a factor of ten above that and is still far below any physics.
TWIN_RTOL = 1e-10
#: Absolute floor for values that are ~0 (loss terms near 0 dB, transmittance near 0).
TWIN_ATOL = 1e-12


def assert_twin_close(ref, got, *, rtol: float = TWIN_RTOL, atol: float = TWIN_ATOL, what: str = "") -> None:
    """Continuous values of two engines: same NaN pattern, then ``|got - ref| <= atol + rtol |ref|``."""
    ref, got = np.asarray(ref), np.asarray(got)
    assert ref.shape == got.shape, f"{what}: shapes {ref.shape} vs {got.shape}"
    assert np.array_equal(np.isnan(ref), np.isnan(got)), f"{what}: NaN patterns differ"
    ok = np.isfinite(ref)
    excess = np.where(ok, np.abs(got - ref) - atol - rtol * np.abs(ref), 0.0)
    worst = np.unravel_index(np.argmax(excess), excess.shape) if excess.size else ()
    assert not excess.size or excess[worst] <= 0, f"{what}: {ref[worst]!r} vs {got[worst]!r} at {worst}"
