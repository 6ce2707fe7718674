"""Philox4x32-10: known answers (Random123), host kernel == NumPy twin bit for bit, and statistics."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from qsat import kernels, random as qr
from qsat.errors import QsatInputError

# Random123's kat_vectors for philox4x32_10: (counter, key, expected).
KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


@pytest.mark.parametrize("counter, key, expected", KAT)
def test_known_answers(counter, key, expected):
    out = qr.philox4x32_10(*[np.array([c]) for c in counter], *key)
    assert tuple(int(o[0]) for o in out) == expected


def test_host_kernel_matches_twin_bit_for_bit():
    n, seed = 5000, 2**63 + 12345
    out = np.zeros(4 * n, np.uint32)
    kernels.host_call("philox", "philox_blocks", out, n, 17, 9, 3, seed)
    twin = np.stack(qr.blocks(np.arange(n) + 17, seed, stream=9, tag=3), axis=1)
    np.testing.assert_array_equal(out.reshape(n, 4), twin)


@pytest.mark.gpu
def test_gpu_kernel_matches_twin_bit_for_bit():
    import cupy

    n, seed = 1 << 20, 42
    out = cupy.zeros(4 * n, cupy.uint32)
    kernels.launch("philox", "philox_blocks", n, (out, np.int64(n), np.int64(0), np.int64(1), np.int64(2),
                                                   np.int64(seed)))
    twin = np.stack(qr.blocks(np.arange(n), seed, stream=1, tag=2), axis=1)
    np.testing.assert_array_equal(out.get().reshape(n, 4), twin)


def test_uniforms_and_normals_have_the_right_distribution():
    r = qr.blocks(np.arange(200_000), seed=7)
    u = qr.u01(r[0], r[1])
    assert 0.0 < u.min() and u.max() < 1.0
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    z0, z1 = qr.normal2(r)
    assert stats.kstest(z0, "norm").pvalue > 1e-3 and stats.kstest(z1, "norm").pvalue > 1e-3
    assert abs(np.corrcoef(z0, z1)[0, 1]) < 0.01


def test_streams_differ_and_seed_is_checked():
    a = qr.blocks(np.arange(100), seed=1, stream=0)[0]
    b = qr.blocks(np.arange(100), seed=1, stream=1)[0]
    assert not np.array_equal(a, b)
    for bad in (-1, 2**64, 1.5, True):
        with pytest.raises(QsatInputError, match="seed"):
            qr.check_seed(bad)
