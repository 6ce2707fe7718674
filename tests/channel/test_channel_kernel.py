"""The fused per-step kernel (kernels/channel_step.cu) against its NumPy twin."""

import math
import re

import numpy as np
import pytest

from qsat._paths import kernels_dir
from qsat.backend import gpu_available
from qsat.channel.budget import DERIVED, N_OUT, OUTPUTS, LinkParameters, channel_step
from qsat.kernels import host_call
from tests.twin import TWIN_ATOL, TWIN_RTOL

# Host build vs twin: double-precision math in the same order, but libm and NumPy's SIMD
# exp/log/pow (AVX2 or AVX-512, chosen at run time) differ by a few ulp, amplified in the uplink's
# beam-spread sum: the contract's tolerance (tests/twin.py), not bit-identity.
RTOL = TWIN_RTOL
# On the GPU, NVRTC contracts a*b+c into FMAs and libdevice differs from glibc by a few ulp: an
# absolute rounding difference of ~1e-16 of the intermediate terms. Loss terms that are ~0 dB
# (downlink turbulence broadening) turn it into a large *relative* difference, so GPU comparisons
# also allow this absolute floor (1e-12 dB or 1e-12 in transmittance: far below any physics).
GPU_ATOL = 1e-12
# ... and relative: the uplink turbulence loss (18.5 dB) differed by 8.4e-12 on an H200 with and
# without FMAs (libdevice's pow/log against glibc's, amplified by the beam-spread sum).
GPU_RTOL = 1e-10


def _inputs(rng, n=5000):
    el = rng.uniform(-0.05, math.pi / 2, n)
    d = rng.uniform(300e3, 3500e3, n)
    sun = rng.uniform(-1.2, 1.2, n)
    moon = rng.uniform(-1.2, 1.2, n)
    valid = (rng.uniform(size=n) > 0.1).astype(np.uint8)
    return el, d, sun, moon, valid


def test_packed_holds_scalars_then_derived(downlink_params):
    packed = downlink_params.packed()
    scalars = [getattr(downlink_params, n) for n in LinkParameters.scalar_names()]
    assert packed.tolist() == scalars + list(downlink_params.derived().values())


def _compare(ref, got, atol=0.0, rtol=RTOL):
    assert np.array_equal(np.isnan(ref), np.isnan(got))
    ok = np.isfinite(ref)
    scale = np.where(ok, np.maximum(np.abs(ref), 1e-12), 1.0)  # loss terms can be ~0 dB
    error = np.where(ok, np.abs(got - ref) - atol, 0.0) / scale
    worst = np.unravel_index(np.argmax(error), error.shape)
    assert error[worst] < rtol, f"{OUTPUTS[worst[-1]]}: {ref[worst]!r} vs {got[worst]!r}"


def test_param_layout_matches_header():
    header = (kernels_dir() / "channel.cuh").read_text()
    defined = dict(re.findall(r"#define QCH_(\w+) (\d+)\n", header))
    n_params = int(defined.pop("N_PARAMS"))
    assert int(defined.pop("N_OUT")) == N_OUT == len(OUTPUTS)
    order = [name for name, _ in sorted(defined.items(), key=lambda kv: int(kv[1]))]
    expected = ["WAVELENGTH", "UPLINK", "WAIST", "M2", "TX_TRUNCATION", "RX_RADIUS", "RX_OBSCURATION",
                "TX_JITTER_X", "TX_JITTER_Y", "TX_BIAS", "RX_JITTER", "FOV", "OPTICS", "TAU_ZENITH", "MU0", "MU1",
                "MU53", "MU56", "EARTH_RADIUS", "RAD_DAY", "RAD_NIGHT", "RAD_MOON", "COUNTS_COEFF", "ALBEDO_COEFF",
                "GROUND_NIGHT", "AP_LOGC0", "AP_DLOGC", "AP_N"]
    n_scalars = len(LinkParameters.scalar_names())
    assert order[:n_scalars] == expected and n_scalars == len(expected)
    # then the per-scenario constants of LinkParameters.derived(), in its order
    assert order[n_scalars:] == [name.upper() for name in DERIVED]
    assert n_params == len(order) == n_scalars + len(DERIVED)
    # and the dataclass declares its fields in that order
    short = [n.upper().replace("_RAD", "").replace("_M", "").replace("RADIANCE", "RAD") for n in LinkParameters.scalar_names()]
    assert short[:4] == ["WAVELENGTH", "UPLINK", "WAIST", "M2"] and short[-3:] == ["APERTURE_LOG_C0", "APERTURE_DLOG_C", "APERTURE_N"]


@pytest.mark.parametrize("which", ["downlink_params", "tip_tilt_params", "uplink_params"])
def test_host_kernel_agrees_with_twin(which, request, rng):
    p = request.getfixturevalue(which)
    el, d, sun, moon, valid = _inputs(rng)
    ref = channel_step(el, d, sun, moon, valid, p)
    out = np.empty((N_OUT, el.size))
    host_call("channel_step", "channel_step", el, d, sun, moon, valid, p.packed(), p.aperture_table, out, el.size)
    _compare(ref, out.T, TWIN_ATOL)


@pytest.mark.gpu
@pytest.mark.skipif(not gpu_available(), reason="needs a usable CUDA device")
@pytest.mark.parametrize("which", ["downlink_params", "tip_tilt_params", "uplink_params"])
def test_gpu_kernel_agrees_with_twin(which, request, rng):
    import cupy as cp

    from qsat.channel.device import channel_step_gpu

    p = request.getfixturevalue(which)
    el, d, sun, moon, valid = _inputs(rng, 100_000)
    ref = channel_step(el, d, sun, moon, valid, p)
    got = channel_step_gpu(*(cp.asarray(a) for a in (el, d, sun, moon, valid)), p)
    assert isinstance(got, cp.ndarray)
    # the GPU's libdevice transcendental functions differ from glibc by a few ulp
    _compare(ref, cp.asnumpy(got), GPU_ATOL, GPU_RTOL)
    # the CuPy twin runs too and stays on the device
    twin = channel_step(*(cp.asarray(a) for a in (el, d, sun, moon)), cp.asarray(valid), p)
    assert isinstance(twin, cp.ndarray)
    _compare(ref, cp.asnumpy(twin), GPU_ATOL, GPU_RTOL)
