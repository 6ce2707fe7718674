"""The GPU diagnosis tools, checked without a GPU.

* ``benchmarks/kernel_resources.py``: ptxas parsing on a captured sample, the occupancy rule,
  one real nvcc compile (skipped without nvcc), and the committed result file;
* ``benchmarks/gpu_check.py`` and the Monte Carlo / channel checks: the kernel attributes,
  the launch sweep and the ncu step run against a minimal fake ``cupy`` (NumPy arrays, kernels
  that record their launches), so a wrong key, option or launch is caught here.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import gpu_check  # noqa: E402
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


# --- a minimal fake cupy -------------------------------------------------------------------------

class FakeKernel:
    """A compiled function: the attributes gpu_check reads, and a launch that records itself and
    writes its output (a capped build writes a different value when ``module.differs`` is set)."""

    DEFAULT_REGS = 112

    def __init__(self, module, name):
        self.module, self.name = module, name
        cap = [int(o.split("=")[1]) for o in module.options if o.startswith("--maxrregcount=")]
        self.num_regs = min([self.DEFAULT_REGS, *cap])
        self.local_size_bytes = 88 if not cap else 288
        self.max_threads_per_block = 1024
        self.kernel = types.SimpleNamespace(ptr=id(self))
        module.cupy.kernels_made.append(self)

    def __call__(self, grid, block, args):
        fake = self.module.cupy
        fake.launches.append({"function": self.name, "options": self.module.options, "grid": grid, "block": block})
        shift = 1e-12 if (fake.differs and self.num_regs < self.DEFAULT_REGS) else 0.0
        if self.name == "montecarlo_trials":
            out, seed = args[1], int(args[2])
            out[...] = seed + np.arange(out.size).reshape(out.shape) * 0.25 + shift
        elif self.name == "channel_step":
            el, out, n = args[0], args[7], int(args[8])
            assert out.shape[1] == n
            out[...] = np.arange(out.shape[0])[:, None] + el[None, :] + shift
        else:
            raise AssertionError(f"unexpected kernel {self.name}")


def make_fake_cupy(multiprocessors=132, differs=False, with_driver=True):
    cupy = types.ModuleType("cupy")
    cupy.launches, cupy.modules, cupy.kernels_made, cupy.differs = [], [], [], differs
    for name in ("asarray", "ascontiguousarray", "empty", "array_equal", "isnan", "count_nonzero", "max", "where",
                 "abs", "float64", "uint8"):
        setattr(cupy, name, getattr(np, name))

    class RawModule:
        def __init__(self, *, code, options=()):
            assert "QSAT_GLOBAL" in code
            self.code, self.options, self.cupy = code, tuple(options), cupy
            cupy.modules.append(self)

        def get_function(self, name):
            return FakeKernel(self, name)

    class Device:
        id = 0
        compute_capability = "90"
        attributes = {"MultiProcessorCount": multiprocessors, "MaxThreadsPerMultiProcessor": 2048}

        def __init__(self, device_id=0):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def synchronize(self):
            pass

    class Event:
        def record(self):
            pass

        def synchronize(self):
            pass

    cuda = types.ModuleType("cupy.cuda")
    cuda.Device, cuda.Event = Device, Event
    cuda.get_elapsed_time = lambda start, stop: 2.0  # ms
    driver = types.ModuleType("cupy.cuda.driver")
    if with_driver:
        def occupancy(ptr, threads, dynamic_smem):
            kernel = next(k for k in cupy.kernels_made if k.kernel.ptr == ptr)
            return 65536 // (kernel.num_regs * threads)
        driver.occupancyMaxActiveBlocksPerMultiprocessor = occupancy
    cuda.driver = driver
    cupy.cuda, cupy.RawModule = cuda, RawModule
    return cupy


@pytest.fixture
def fake_cupy(monkeypatch):
    """Installs a fake cupy; qsat's and gpu_check's module caches are cleared before and after."""

    def install(**kwargs):
        fake = make_fake_cupy(**kwargs)
        monkeypatch.setitem(sys.modules, "cupy", fake)
        return fake

    kernels._module_for_device.cache_clear()
    gpu_check._VARIANT_MODULES.clear()
    yield install
    kernels._module_for_device.cache_clear()
    gpu_check._VARIANT_MODULES.clear()


def _load_check(name):
    spec = importlib.util.spec_from_file_location(f"gpu_checks_test.{name}", BENCH / "gpu_checks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _fake_sample_trials_kernel(steps, passes, params, n_trials, first_trial, first_pass, seed):
    """Stands for qsat.montecarlo.kernel.sample_trials_kernel: launches through qsat.kernels.launch."""
    from qsat.kernels import launch

    out = np.empty((n_trials, steps.shape[0], 16))
    launch("montecarlo", "montecarlo_trials", n_trials * steps.shape[0], (steps, out, np.int64(seed)))
    return out


# --- gpu_check tools on the fake ----------------------------------------------------------------

def test_variant_options_are_the_launch_options_plus_extra(fake_cupy, monkeypatch):
    monkeypatch.setenv("QSAT_NVRTC_OPTIONS", "--fmad=false")
    fake = fake_cupy()
    default = kernels._module_for_device("montecarlo", 0)
    assert default.options == gpu_check.nvrtc_options() and "--fmad=false" in default.options
    assert gpu_check.variant_module("montecarlo") is kernels.module("montecarlo")  # the launched build itself
    capped = gpu_check.variant_module("montecarlo", ("--maxrregcount=64",))
    assert capped.options == default.options + ("--maxrregcount=64",)
    assert capped.code == kernels.source("montecarlo")
    assert gpu_check.variant_module("montecarlo", ("--maxrregcount=64",)) is capped  # memoised
    assert len(fake.modules) == 2


def test_kernel_attributes(fake_cupy):
    fake_cupy()
    k = gpu_check.variant_module("montecarlo", ("--maxrregcount=64",)).get_function("montecarlo_trials")
    got = gpu_check.kernel_attributes(k, 256)
    assert (got["num_regs"], got["local_size_bytes"], got["max_threads_per_block"]) == (64, 288, 1024)
    assert (got["driver_blocks_per_sm"], got["driver_occupancy"]) == (4, 0.5)
    assert (got["computed_blocks_per_sm"], got["computed_occupancy"], got["computed_limited_by"]) == (
        4, 0.5, ["registers"])
    assert "shared_size_bytes_error" in got  # an attribute the fake lacks is recorded, not raised
    assert "AttributeError" in got["shared_size_bytes_error"]


def test_kernel_attributes_without_driver_occupancy(fake_cupy):
    fake_cupy(with_driver=False)
    got = gpu_check.launched_kernel_attributes(("montecarlo", "montecarlo_trials"))
    assert got["num_regs"] == 112 and got["computed_occupancy"] == 0.25
    assert "driver_occupancy" not in got and "AttributeError" in got["driver_occupancy_error"]


def test_launch_variant_patches_and_restores(fake_cupy):
    import qsat.channel.device as device

    fake = fake_cupy(multiprocessors=2)
    original = kernels.launch
    assert device.launch is original
    with gpu_check.launch_variant(128, ("--maxrregcount=96",)) as used:
        assert kernels.launch is not original and device.launch is kernels.launch
        out = _fake_sample_trials_kernel(np.zeros((3, 5, 10)), None, None, 1000, 0, 0, 7)
    assert kernels.launch is original and device.launch is original
    (launch,) = fake.launches
    assert launch["block"] == (128,) and launch["grid"] == (min(-(-3000 // 128), 2 * 32),)
    assert launch["options"][-1] == "--maxrregcount=96"
    assert used[("montecarlo", "montecarlo_trials")].num_regs == 96
    assert out[0, 0, 0] == 7.0


def test_montecarlo_sweep(fake_cupy, monkeypatch):
    fake = fake_cupy()
    monkeypatch.setattr("qsat.montecarlo.kernel.sample_trials_kernel", _fake_sample_trials_kernel)
    mc = _load_check("montecarlo")
    steps = np.zeros((4, 50, 10))
    out: dict = {}
    mc.sweep(out, steps, np.zeros((4, 8)), np.zeros(40), 64, time.perf_counter(), 100.0)
    sweep = out["launch_sweep"]
    assert out["launch_sweep_unit"] == "samples/s"
    assert list(sweep) == [f"{b}/{t}" for b in ("default", "maxrregcount_64", "maxrregcount_80", "maxrregcount_96")
                           for t in (256, 128, 512)]
    samples = 64 * 4 * 50
    for key, entry in sweep.items():
        assert "error" not in entry, entry
        assert entry["seconds"] == 0.002 and entry["per_s"] == samples / 0.002
        build, threads = key.split("/")
        assert entry["threads_per_block"] == int(threads)
        assert entry["num_regs"] == {"default": 112, "maxrregcount_64": 64, "maxrregcount_80": 80,
                                     "maxrregcount_96": 96}[build]
        assert entry["computed_occupancy"] == kr.occupancy(entry["num_regs"], int(threads))["occupancy"]
        if key == "default/256":
            assert entry["reference"] is True and entry["options"] == []
        else:
            assert entry["identical_to_reference"] is True
    # every variant launched with its block size and its build (5 launches each: 1 + 3 timed + 1 compared)
    blocks = [(launch["block"][0], launch["options"][-1]) for launch in fake.launches]
    assert len(blocks) == 12 * 5
    assert blocks.count((512, "--maxrregcount=64")) == 5 and blocks.count((128, "--maxrregcount=96")) == 5
    assert kernels.launch.__module__ == "qsat.kernels"
    lines = gpu_check.diagnosis_lines("montecarlo", out)
    assert len(lines) == 12 and lines[0].startswith(f"montecarlo default/256: {samples / 0.002:.4g} samples/s regs=112")
    assert lines[0].endswith("reference") and lines[-1].endswith("identical=True")


def test_sweep_flags_a_build_that_changes_the_output(fake_cupy):
    fake_cupy(differs=True)
    out = gpu_check.launch_sweep(lambda: _fake_sample_trials_kernel(np.zeros((2, 5, 10)), None, None, 8, 0, 0, 1),
                                 80, ("montecarlo", "montecarlo_trials"), time.perf_counter() + 100)
    assert out["default/128"]["identical_to_reference"] is True
    bad = out["maxrregcount_64/256"]
    assert bad["identical_to_reference"] is False and bad["elements_differing"] == 8 * 2 * 16
    assert bad["max_abs_diff"] == pytest.approx(1e-12, rel=0.05)


def test_sweep_records_a_kernel_not_launched_and_goes_on(fake_cupy):
    fake_cupy()
    out = gpu_check.launch_sweep(lambda: _fake_sample_trials_kernel(np.zeros((2, 5, 10)), None, None, 8, 0, 0, 1),
                                 80, ("montecarlo", "montecarlo_trials_elliptic"), time.perf_counter() + 100,
                                 builds={"default": ()}, block_sizes=(256, 128))
    assert list(out) == ["default/256", "default/128"]
    assert all("montecarlo_trials_elliptic was not launched" in e["error"] for e in out.values())


def test_sweep_stops_at_the_deadline_and_keeps_what_it_measured(fake_cupy):
    fake_cupy()

    def slow():
        time.sleep(0.1)
        return _fake_sample_trials_kernel(np.zeros((2, 5, 10)), None, None, 8, 0, 0, 1)

    out: dict = {}
    gpu_check.launch_sweep(slow, 80, ("montecarlo", "montecarlo_trials"), time.perf_counter() + 0.3, out)
    assert out["default/256"]["reference"] is True
    assert len(out) == 12 and all(e == {"skipped": "time budget reached"} for k, e in out.items() if k != "default/256")


def test_sweep_skipped_without_budget(fake_cupy):
    fake = fake_cupy()
    out: dict = {}
    gpu_check.sweep_if_budget(out, lambda: None, 1, "samples", ("montecarlo", "montecarlo_trials"),
                              time.perf_counter(), gpu_check.SWEEP_MIN_S - 2)
    assert "launch_sweep" not in out and "the sweep needs 12 s" in out["launch_sweep_skipped"]
    assert fake.launches == []


def test_channel_sweep_through_channel_step_gpu(fake_cupy):
    fake = fake_cupy()
    ch = _load_check("channel")
    n = 1000
    el = np.linspace(0.1, 1.5, n)
    steps = (el, 5e5 / np.sin(el), np.zeros(n), np.zeros(n), np.ones(n, dtype=np.uint8))
    out: dict = {}
    ch.sweep(out, steps, ch._params(), time.perf_counter(), 100.0)
    sweep = out["step_kernel_launch_sweep"]
    assert out["step_kernel_launch_sweep_unit"] == "steps/s" and len(sweep) == 12
    assert all(e.get("identical_to_reference", e.get("reference")) is True for e in sweep.values()), sweep
    assert sweep["maxrregcount_96/512"]["per_s"] == n / 0.002
    assert {launch["function"] for launch in fake.launches} == {"channel_step"}


def test_gpu_checks_import_without_cupy():
    for name in ("montecarlo", "channel"):
        mod = _load_check(name)
        assert callable(mod.run) and callable(mod.sweep) and callable(mod.profile_launch)
        assert "out" in __import__("inspect").signature(mod.run).parameters


# --- ncu ------------------------------------------------------------------------------------------

NCU_SAMPLE = """\
==PROF== Connected to process 4242 (/usr/bin/python3.12)
==PROF== Profiling "montecarlo_trials": 0%....50%....100% - 38 passes
==PROF== Disconnected from process 4242
[4242] python3.12@127.0.0.1
  montecarlo_trials (1024, 1, 1)x(256, 1, 1), Context 1, Stream 7, Device 0, CC 9.0
    Section: GPU Speed Of Light Throughput
    ----------------------- ----------- ------------
    Metric Name             Metric Unit Metric Value
    ----------------------- ----------- ------------
    DRAM Frequency                  Ghz         3.20
    Elapsed Cycles                cycle    1,234,567
    Compute (SM) Throughput           %        61.32
    ----------------------- ----------- ------------

    OPT   Est. Local Speedup: 12.5%
    Section: Occupancy
    ------------------------------- --------------- ------------
    Metric Name                     Metric Unit     Metric Value
    ------------------------------- --------------- ------------
    Registers Per Thread            register/thread          116
    Block Limit Registers                     block            2
    Theoretical Occupancy                         %           25
    Achieved Occupancy                            %        24.71
    Waves Per SM                                            3.88
"""


def test_parse_ncu_metrics():
    m = gpu_check.parse_ncu_metrics(NCU_SAMPLE)
    assert m["Elapsed Cycles"] == {"unit": "cycle", "value": 1234567.0}
    assert m["Registers Per Thread"] == {"unit": "register/thread", "value": 116.0}
    assert m["Achieved Occupancy"] == {"unit": "%", "value": 24.71}
    assert m["Waves Per SM"] == {"unit": "", "value": 3.88}
    assert not any(k.startswith(("Metric", "montecarlo", "OPT")) for k in m)


def _fake_ncu(tmp_path, body):
    path = tmp_path / "ncu"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


def test_ncu_profile_command_and_report(tmp_path):
    sample = tmp_path / "report.txt"
    sample.write_text(NCU_SAMPLE + "x" * 30_000 + "\n    Achieved Occupancy   %   24.71\n")
    ncu = _fake_ncu(tmp_path, f'echo "ARGS $*"\ncat {sample}\n')
    got = gpu_check.ncu_profile(ncu, "montecarlo", "montecarlo_trials")
    assert got["returncode"] == 0 and got["timed_out"] is False
    args = got["command"]
    for section in ("SpeedOfLight", "Occupancy", "ComputeWorkloadAnalysis"):
        assert f"--section {section}" in args
    assert "--launch-count 1 --kernel-name montecarlo_trials" in args
    assert args.endswith("benchmarks/gpu_checks/montecarlo.py --profile-launch")
    assert len(got["text"]) <= gpu_check.NCU_TEXT_CHARS + 100
    assert got["text"].startswith("ARGS --section SpeedOfLight") and "characters left out" in got["text"]
    assert got["metrics"]["Achieved Occupancy"]["value"] == 24.71


def test_ncu_profile_timeout(tmp_path):
    ncu = _fake_ncu(tmp_path, "echo started\nsleep 30\n")
    t = time.perf_counter()
    got = gpu_check.ncu_profile(ncu, "montecarlo", "montecarlo_trials", timeout_s=1.0)
    assert got["timed_out"] is True and time.perf_counter() - t < 10
    assert "started" in got["text"]


def test_ncu_step_budget_and_absence(tmp_path, monkeypatch):
    monkeypatch.setattr(gpu_check, "find_ncu", lambda: None)
    out = gpu_check.ncu_step({}, lambda: 100.0)
    assert out["available"] is False and "ncu not on PATH" in out["reason"]
    ncu = _fake_ncu(tmp_path, "echo report\n")
    writes = []
    out = gpu_check.ncu_step({}, lambda: 5.0, ncu=ncu, write=lambda: writes.append(1))
    assert set(out["profiles"]) == {"montecarlo_trials", "channel_step"}
    assert all("skipped" in p for p in out["profiles"].values()) and writes == []
    out = gpu_check.ncu_step({}, lambda: 100.0, ncu=ncu, write=lambda: writes.append(1))
    assert [p["returncode"] for p in out["profiles"].values()] == [0, 0] and len(writes) == 2


class _DeviceArray(np.ndarray):
    """A NumPy array that answers ``.get()`` like a CuPy array (its kernels then run as host builds)."""

    def get(self):
        return np.asarray(self)


def test_montecarlo_elliptic_figures_on_the_fake(fake_cupy, monkeypatch):
    """The elliptic-beam figures of gpu_checks/montecarlo.py run end to end (host builds stand in for
    the GPU, so the agreement is exact and every figure is finite and positive)."""
    fake = fake_cupy()
    fake.asarray = lambda a: np.asarray(a).view(_DeviceArray)
    from qsat.montecarlo import kernel as mc_kernel

    run_kernel = mc_kernel.sample_trials_kernel

    def on_device(steps, *args, **kwargs):  # device inputs give device outputs
        out = run_kernel(np.asarray(steps), *args, **kwargs)
        return out.view(_DeviceArray) if isinstance(steps, _DeviceArray) else out

    monkeypatch.setattr(mc_kernel, "sample_trials_kernel", on_device)
    check = _load_check("montecarlo")
    monkeypatch.setattr(check, "gpu_best_s", lambda fn, repeat=3: (fn(), 0.5)[1])
    out = {}
    check.elliptic(out, trials=8, n_pass=3, n_step=20)
    assert set(out) == {"elliptic_samples_per_s", "elliptic_host_kernel_samples_per_s", "elliptic_gpu_over_host_kernel",
                        "elliptic_agreement_counts_identical", "elliptic_agreement_sum_eta_max_rel_diff"}
    assert out["elliptic_samples_per_s"] == pytest.approx(8 * 3 * 20 / 0.5)
    assert out["elliptic_agreement_counts_identical"] == 1.0
    assert out["elliptic_agreement_sum_eta_max_rel_diff"] == 0.0


def test_montecarlo_cost_breakdown_on_the_fake(fake_cupy, monkeypatch):
    """Each breakdown run launches the kernel with its own flags, and the costs are differences."""
    fake_cupy()
    seen = []

    def record(steps, passes, params, *args, **kwargs):
        seen.append(int(params[1]))
        return None

    monkeypatch.setattr("qsat.montecarlo.kernel.sample_trials_kernel", record)
    check = _load_check("montecarlo")
    times = {0: 1.0, 6: 3.0, 8: 1.5, 14: 3.5}  # seconds per call by flags
    monkeypatch.setattr(check, "gpu_best_s", lambda fn, repeat=3: (fn(), times[seen[-1]])[1])
    prm = np.zeros(21)
    prm[1] = 31.0
    out = {}
    check.breakdown(out, np.zeros((2, 5, 10)), np.zeros((2, 9)), prm, 100)
    assert seen == [0, 6, 8, 14] and prm[1] == 31.0  # the caller's parameters are left alone
    b = out["cost_breakdown"]
    samples = 100 * 2 * 5
    assert b["nothing"]["samples_per_s"] == samples / 1.0
    assert b["fades_cost_ns_per_sample"] == pytest.approx(2.0 / samples * 1e9)
    assert b["counts_cost_ns_per_sample"] == pytest.approx(0.5 / samples * 1e9)
