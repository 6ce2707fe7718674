"""kernels/geometry.cu against its NumPy twin: host build always, the real GPU when present."""

from __future__ import annotations

import numpy as np
import pytest

from qsat.orbits.geometry import topocentric_pairs, topocentric_pairs_kernel

# Deterministic float64 math, same operation order; libm vs CUDA's sin/cos/atan2
# differ by at most an ulp or two, so relative 1e-12 (absolute 1e-9 m / rad) is ample.
RTOL, ATOL = 1e-12, 1e-9


def _inputs(n=20000, nrow=3000, nsta=7, seed=3):
    rng = np.random.default_rng(seed)
    radius = rng.uniform(6600, 42500, nrow)
    direction = rng.normal(size=(nrow, 3))
    r = direction / np.linalg.norm(direction, axis=1, keepdims=True) * radius[:, None]
    v = rng.normal(size=(nrow, 3)) * 5.0
    theta = rng.uniform(0, 2 * np.pi, nrow)
    lat = rng.uniform(-np.pi / 2, np.pi / 2, nsta)
    lon = rng.uniform(-np.pi, np.pi, nsta)
    stations = np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=1) * 6.37e6
    row = rng.integers(0, nrow, n)
    sta = rng.integers(0, nsta, n)
    return r, v, theta, 7.2921158553e-5, row, sta, stations, np.stack([lat, lon], axis=1)


def test_host_build_matches_twin():
    args = _inputs()
    twin = topocentric_pairs(*args)
    host = topocentric_pairs_kernel(*args, host=True)
    for a, b in zip(twin, host):
        np.testing.assert_allclose(b, a, rtol=RTOL, atol=ATOL)


def test_elevation_rate_is_the_derivative_of_elevation():
    """Independent of the formula: finite differences of the twin's own elevation."""
    r, v, theta, omega, row, sta, stations, latlon = _inputs(n=500, nrow=500)
    row = np.arange(500)
    dt = 1e-3
    el0 = topocentric_pairs(r, v, theta, omega, row, sta, stations, latlon)[1]
    el1 = topocentric_pairs(r + v * dt, v, theta + omega * dt, omega, row, sta, stations, latlon)[1]
    rate = topocentric_pairs(r, v, theta, omega, row, sta, stations, latlon)[4]
    np.testing.assert_allclose((el1 - el0) / dt, rate, rtol=1e-4, atol=1e-9)


@pytest.mark.gpu
def test_gpu_kernel_matches_twin():
    import cupy

    args = _inputs(n=1_000_000)
    twin = topocentric_pairs(*args)
    dev = [cupy.asarray(a) if isinstance(a, np.ndarray) else a for a in args]
    gpu = topocentric_pairs_kernel(*dev)
    for a, b in zip(twin, gpu):
        # The GPU contracts multiply-adds (FMA): a few ulps on intermediate terms.
        np.testing.assert_allclose(b.get(), a, rtol=1e-10, atol=1e-7)
