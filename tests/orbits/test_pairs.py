"""SGP4 at (satellite, time) pairs: the same numbers as the satellites x times kernel."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from qsat.backend import gpu_available
from qsat.orbits import sgp4_gpu
from qsat.orbits.propagate import Propagator

from .orbitsets import satrec

#: python-sgp4 (C++) against the kernel built for the host: libm vs the same libm, different
#: operation order in a few terms (tests/test_sgp4_kernel.py finds ~1e-9 km).
SGP4_TOL_KM = 1e-6

needs_compiler = pytest.mark.skipif(shutil.which("g++") is None and shutil.which("c++") is None,
                                    reason="no host C++ compiler")


@pytest.fixture(scope="module")
def case():
    sats = [satrec(550.0, 53.0, 0.001, bstar=3e-5), satrec(20200.0, 55.0, 0.002), satrec(35786.0, 0.05, 0.0),
            satrec(800.0, 98.0, 0.01, raan_deg=40.0)]
    rng = np.random.default_rng(7)
    n = 500
    sat = rng.integers(0, len(sats), n)
    jd = np.full(n, 2461199.5)
    fr = rng.uniform(0.0, 5.0, n)  # up to five days after the epoch
    return sats, sat, jd, fr


@needs_compiler
def test_host_pairs_equal_the_grid_kernel(case):
    sats, sat, jd, fr = case
    packed = sgp4_gpu.pack_elements(sats)
    e, r, v = sgp4_gpu.propagate_pairs(packed, sat, jd, fr, mode="host")
    for s in range(len(sats)):
        rows = np.nonzero(sat == s)[0]
        ge, gr, gv = sgp4_gpu.propagate_host(packed[s:s + 1], jd[rows], fr[rows])
        np.testing.assert_array_equal(e[rows], ge[0])
        np.testing.assert_array_equal(r[rows], gr[0])  # the same per-element code: bit for bit
        np.testing.assert_array_equal(v[rows], gv[0])


@needs_compiler
def test_every_mode_agrees_with_python_sgp4(case):
    sats, sat, jd, fr = case
    ref = Propagator(sats, "numpy").pairs(sat, jd, fr)  # python-sgp4, one call per satellite
    twin = sgp4_gpu.propagate_pairs(sgp4_gpu.pack_elements(sats), sat, jd, fr, mode="numpy")
    host = Propagator(sats, "host").pairs(sat, jd, fr)
    for got in (twin, host):
        np.testing.assert_array_equal(got[0], ref[0])
        assert np.abs(got[1] - ref[1]).max() < SGP4_TOL_KM
        assert np.abs(got[2] - ref[2]).max() < SGP4_TOL_KM * 1e-3
    for s in range(len(sats)):  # and python-sgp4 pairs are its own per-satellite arrays
        rows = np.nonzero(sat == s)[0]
        np.testing.assert_array_equal(ref[1][rows], sats[s].sgp4_array(jd[rows], fr[rows])[1])


@pytest.mark.gpu
@pytest.mark.skipif(not gpu_available(), reason="needs a usable CUDA device")
def test_gpu_pairs_agree_with_python_sgp4(case):
    import cupy

    sats, sat, jd, fr = case
    ref = Propagator(sats, "numpy").pairs(sat, jd, fr)
    e, r, v = sgp4_gpu.propagate_pairs(cupy.asarray(sgp4_gpu.pack_elements(sats)), cupy.asarray(sat),
                                       cupy.asarray(jd), cupy.asarray(fr), mode="cupy")
    assert isinstance(r, cupy.ndarray)  # results stay on the device until asked for
    np.testing.assert_array_equal(e.get(), ref[0])
    # CUDA's fused multiply-adds and libdevice vs libm: the grid kernel's GPU tolerance
    # (tests/test_sgp4_kernel.py finds < 1 mm with --fmad=false, < 0.1 m otherwise).
    assert np.abs(r.get() - ref[1]).max() < 1e-4
    assert np.abs(v.get() - ref[2]).max() < 1e-7
