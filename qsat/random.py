"""Counter-based random numbers: Philox4x32-10, bit-identical on CPU and GPU.

A draw is a pure function of ``(seed, index, stream, tag)``: the 64-bit seed is
the Philox key, the 64-bit index and two 32-bit words (a stream such as a trial
or pass number, and a tag naming what is being sampled) form the counter. Monte
Carlo results therefore depend on the seed only, never on chunking, worker count
or scheduling order. The CUDA twin is ``kernels/philox.cuh``.

Reference: Salmon, Moraes, Dror & Shaw, "Parallel random numbers: as easy as
1, 2, 3", SC'11 (2011), Sec. 5 and Table 2 (round constants).
"""

from __future__ import annotations

import numpy as np

from .backend import array_namespace
from .errors import QsatInputError

_M0, _M1 = 0xD2511F53, 0xCD9E8D57
_W0, _W1 = 0x9E3779B9, 0xBB67AE85
_MASK32 = 0xFFFFFFFF
SEED_MAX = 2**64 - 1


def check_seed(seed, field: str = "seed") -> int:
    """A seed must be an integer in [0, 2**64)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) <= SEED_MAX:
        raise QsatInputError(field, seed, f"an integer from 0 to {SEED_MAX}")
    return int(seed)


def philox4x32_10(c0, c1, c2, c3, k0: int, k1: int):
    """Philox4x32-10 on arrays of 32-bit counter words; returns four uint32 arrays."""
    xp = array_namespace(c0, c1, c2, c3)
    u64 = xp.uint64
    x, y, z, w = (xp.asarray(c, dtype=u64) & _MASK32 for c in (c0, c1, c2, c3))
    k0, k1 = int(k0) & _MASK32, int(k1) & _MASK32
    for _ in range(10):
        p0 = x * u64(_M0)
        p1 = z * u64(_M1)
        x, y, z, w = ((p1 >> u64(32)) ^ y ^ u64(k0), p1 & u64(_MASK32),
                      (p0 >> u64(32)) ^ w ^ u64(k1), p0 & u64(_MASK32))
        k0 = (k0 + _W0) & _MASK32
        k1 = (k1 + _W1) & _MASK32
    return tuple(v.astype(xp.uint32) for v in (x, y, z, w))


def blocks(index, seed: int, stream: int = 0, tag: int = 0):
    """Philox blocks for integer ``index`` (array): the same words as ``philox_blocks``."""
    xp = array_namespace(index)
    index = xp.asarray(index, dtype=xp.uint64)
    seed = check_seed(seed)
    return philox4x32_10(index & xp.uint64(_MASK32), index >> xp.uint64(32),
                         xp.full(index.shape, stream & _MASK32, dtype=xp.uint64),
                         xp.full(index.shape, tag & _MASK32, dtype=xp.uint64),
                         seed & _MASK32, seed >> 32)


def u01(a, b):
    """Uniform doubles in the open interval (0, 1) from two uint32 words (53 bits)."""
    xp = array_namespace(a, b)
    m = ((xp.asarray(a, dtype=xp.uint64) >> xp.uint64(5)) << xp.uint64(26)) | (
        xp.asarray(b, dtype=xp.uint64) >> xp.uint64(6))
    return (m.astype(xp.float64) + 0.5) * (1.0 / 9007199254740992.0)


def normal2(r):
    """Two standard-normal arrays from one set of Philox blocks (Box-Muller)."""
    xp = array_namespace(*r)
    u1, u2 = u01(r[0], r[1]), u01(r[2], r[3])
    radius = xp.sqrt(-2.0 * xp.log(u1))
    angle = 2.0 * np.pi * u2
    return radius * xp.cos(angle), radius * xp.sin(angle)
