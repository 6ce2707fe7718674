"""The GPU diagnosis tools, checked without a GPU.

* ``benchmarks/kernel_resources.py``: ptxas parsing on a captured sample, the occupancy rule,
  one real nvcc compile (skipped without nvcc), and the committed result file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import kernel_resources as kr  # noqa: E402

from qsat import kernels  # noqa: E402

# --- ptxas parsing and the occupancy rule ---------------------------------------------------------

# nvcc 13.0, -arch=sm_80 --ptxas-options=-v, kernels/fading.cu (two entries, called functions), with a
# third entry in the older layout (static shared memory, no barrier count) appended.
PTXAS_SAMPLE = """\
ptxas info    : 272 bytes gmem, 16 bytes cmem[4]
ptxas info    : Compiling entry function 'elliptic_sample' for 'sm_80'
ptxas info    : Function properties for elliptic_sample
    40 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 70 registers, used 0 barriers, 40 bytes cumulative stack size, 408 bytes cmem[0], 568 bytes cmem[2]
ptxas info    : Compile time = 863.606 ms
ptxas info    : Function properties for __internal_accurate_pow
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Function properties for __internal_trig_reduction_slowpathd
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Compiling entry function 'fading_sample' for 'sm_80'
ptxas info    : Function properties for fading_sample
    40 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 48 registers, used 0 barriers, 40 bytes cumulative stack size, 416 bytes cmem[0], 280 bytes cmem[2]
ptxas info    : Compile time = 182.892 ms
ptxas info    : Function properties for __internal_accurate_pow
    16 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Compiling entry function 'tiled' for 'sm_80'
ptxas info    : Function properties for tiled
    288 bytes stack frame, 360 bytes spill stores, 480 bytes spill loads
ptxas info    : Used 64 registers, 4096 bytes smem, 400 bytes cmem[0]
"""


def test_parse_ptxas_sample():
    got = kr.parse_ptxas(PTXAS_SAMPLE)
    assert list(got) == ["elliptic_sample", "fading_sample", "tiled"]
    e = got["elliptic_sample"]
    assert e == {"arch": "sm_80", "registers": 70, "stack_frame_bytes": 40, "spill_stores_bytes": 0,
                 "spill_loads_bytes": 0, "shared_bytes": 0, "constant_bytes": {0: 408, 2: 568}, "barriers": 0,
                 "cumulative_stack_bytes": 40,
                 "called_functions": {"__internal_accurate_pow": 0, "__internal_trig_reduction_slowpathd": 0}}
    f = got["fading_sample"]
    assert (f["registers"], f["constant_bytes"], f["called_functions"]) == (48, {0: 416, 2: 280},
                                                                            {"__internal_accurate_pow": 16})
    t = got["tiled"]
    assert (t["registers"], t["stack_frame_bytes"], t["spill_stores_bytes"], t["spill_loads_bytes"]) == (64, 288, 360,
                                                                                                       480)
    assert (t["shared_bytes"], t["barriers"], t["cumulative_stack_bytes"]) == (4096, None, None)


def test_parse_ptxas_nothing():
    assert kr.parse_ptxas("ptxas info    : 0 bytes gmem\n") == {}


@pytest.mark.parametrize("regs, threads, blocks, occ, limited_by", [
    (116, 256, 2, 0.25, ["registers"]),      # montecarlo_trials as measured: 3712 -> 3840 regs/warp, 4 warps/quarter
    (112, 256, 2, 0.25, ["registers"]),
    (78, 256, 3, 0.375, ["registers"]),      # channel_step: 2560 regs/warp, 6 warps/quarter = 24 warps
    (64, 256, 4, 0.5, ["registers"]),
    (80, 256, 3, 0.375, ["registers"]),
    (96, 256, 2, 0.25, ["registers"]),       # 3072 regs/warp: 5 warps/quarter = 20 warps, 2 blocks of 8
    (16, 256, 8, 1.0, ["warps"]),
    (32, 128, 16, 1.0, ["registers", "warps"]),
    (0, 32, 32, 0.5, ["blocks"]),
    (255, 256, 1, 0.125, ["registers"]),
    (256, 256, 0, 0.0, ["registers"]),       # above 255 registers per thread: no launch
    (65, 1024, 0, 0.0, ["registers"]),       # 2304 x 32 warps > 65536 registers per block
    (32, 2048, 0, 0.0, ["warps"]),           # above 1024 threads per block
])
def test_occupancy_rule(regs, threads, blocks, occ, limited_by):
    got = kr.occupancy(regs, threads, "sm_90")
    assert (got["blocks_per_sm"], got["occupancy"], got["limited_by"]) == (blocks, occ, limited_by)
    assert got["warps_per_sm"] == blocks * (-(-threads // 32))


def test_occupancy_shared_memory_limit():
    # 48 KiB static + 1 KiB reserved per block: 228 KiB / 49 KiB = 4 blocks on sm_90, 3 on sm_80 (164 KiB)
    assert kr.occupancy(32, 256, "sm_90", 48 * 1024)["blocks_per_sm"] == 4
    assert kr.occupancy(32, 256, "sm_80", 48 * 1024)["limited_by"] == ["shared"]
    assert kr.occupancy(32, 256, "sm_80", 48 * 1024)["blocks_per_sm"] == 3


def test_table_lists_entries_and_caps():
    info = {"registers": 116, "stack_frame_bytes": 88, "spill_stores_bytes": 0, "spill_loads_bytes": 0,
            "shared_bytes": 0, "occupancy_256": kr.occupancy(116)}
    capped = {**info, "registers": 64, "spill_stores_bytes": 360, "occupancy_256": kr.occupancy(64)}
    text = kr.table({"kernels": {"sm_90": {"montecarlo": {"montecarlo_trials": info}}},
                     "maxrregcount": {"sm_90": {"montecarlo_trials": {"default": info, "64": capped}}}})
    lines = text.splitlines()
    assert len(lines) == 3 and "25.0%" in lines[1] and "maxrreg64" in lines[2] and "50.0%" in lines[2]


SMALL_KERNEL = r"""
extern "C" __global__ void local_array(const int* idx, double* out, long long n) {
    double a[16];
    for (int k = 0; k < 16; ++k) a[k] = k * 0.5 + threadIdx.x;
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = a[idx[i] & 15];  // dynamic index: the array lives in local memory (stack frame)
}
extern "C" __global__ void plain(double* out) { out[threadIdx.x] = 1.0; }
"""


@pytest.mark.skipif(kernels.nvcc() is None, reason="nvcc not installed")
def test_compile_resources_real_nvcc(tmp_path):
    src = tmp_path / "small.cu"
    src.write_text(SMALL_KERNEL)
    entries, text = kr.compile_resources(src, "sm_90", tmp_path)
    assert "ptxas" in text and set(entries) == {"local_array", "plain"}
    la = entries["local_array"]
    assert la["arch"] == "sm_90" and 0 < la["registers"] <= 255
    assert la["stack_frame_bytes"] >= 16 * 8 and la["spill_stores_bytes"] == 0
    assert entries["plain"]["stack_frame_bytes"] == 0
    with pytest.raises(RuntimeError, match="nvcc failed"):
        kr.compile_resources(src, "sm_90", tmp_path, ("--no-such-option",))


def test_committed_kernel_resources_file():
    path = BENCH / "results" / "kernel_resources_sm90.json"
    data = json.loads(path.read_text())
    assert data["nvcc_version"] and data["date_utc"] and data["threads_per_block"] == 256
    for arch in ("sm_80", "sm_90"):
        for name, function in kr.VARIANT_KERNELS:
            info = data["kernels"][arch][name][function]
            occ = kr.occupancy(info["registers"], 256, arch, info["shared_bytes"])
            assert info["occupancy_256"] == occ
    variants = data["maxrregcount"]["sm_90"]
    for _, function in kr.VARIANT_KERNELS:
        assert set(variants[function]) == {"default", "64", "80", "96"}
        for cap in ("64", "80", "96"):
            assert variants[function][cap]["registers"] <= int(cap)
