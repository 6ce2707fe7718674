"""Registers, stack frame, spills and theoretical occupancy of every CUDA kernel, from ptxas.

Usage (no GPU needed, only nvcc)::

    python3 benchmarks/kernel_resources.py [--ref HEAD] [--out benchmarks/results/kernel_resources_sm90.json]

For every ``kernels/NAME.cu`` and every architecture of :data:`qsat.kernels.PTX_ARCHS`
(sm_80, sm_90) it compiles a cubin with ``nvcc --ptxas-options=-v`` and reads, per entry
function: registers per thread, stack frame bytes, spill stores/loads, static shared
memory and constant banks. From the registers it computes the theoretical occupancy at
256 threads per block (the block size of :func:`qsat.kernels.launch`), see :func:`occupancy`.
It also compiles ``montecarlo_trials`` and ``channel_step`` with ``--maxrregcount`` 64, 80 and 96
for sm_90 (the H100/H200) to show what capping registers would cost in spills and gain in
occupancy. ``--ref`` measures the kernels of a git commit (what the result file records)
instead of the working tree.

The GPU side (``benchmarks/gpu_checks/montecarlo.py`` and ``channel.py``) records the same
figures from the driver for the NVRTC build actually launched, and times the variants.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qsat.kernels import THREADS_PER_BLOCK  # noqa: E402  (the block size every launch uses)
MAXRREGCOUNT = (64, 80, 96)
#: (kernel file, entry function) compiled again with --maxrregcount.
VARIANT_KERNELS = (("montecarlo", "montecarlo_trials"), ("channel_step", "channel_step"))
VARIANT_ARCH = "sm_90"

# Per-SM limits of the two targets, from the CUDA C++ Programming Guide, "Technical Specifications
# per Compute Capability" (8.0: A100, 9.0: H100/H200) and cuda_occupancy.h of the CUDA toolkit
# (register allocation unit, sub-partitions, reserved shared memory, shared allocation unit).
ARCH_LIMITS = {
    "sm_80": {"registers_per_sm": 65536, "registers_per_block": 65536, "max_registers_per_thread": 255,
              "register_allocation_unit": 256, "sub_partitions": 4, "warp_size": 32,
              "max_threads_per_sm": 2048, "max_blocks_per_sm": 32, "max_threads_per_block": 1024,
              "shared_bytes_per_sm": 164 * 1024, "reserved_shared_bytes_per_block": 1024,
              "shared_allocation_unit": 128},
    "sm_90": {"registers_per_sm": 65536, "registers_per_block": 65536, "max_registers_per_thread": 255,
              "register_allocation_unit": 256, "sub_partitions": 4, "warp_size": 32,
              "max_threads_per_sm": 2048, "max_blocks_per_sm": 32, "max_threads_per_block": 1024,
              "shared_bytes_per_sm": 228 * 1024, "reserved_shared_bytes_per_block": 1024,
              "shared_allocation_unit": 128},
}

OCCUPANCY_RULE = (
    "CUDA occupancy calculator rules (cuda_occupancy.h, cudaOccMaxBlocksPerSMRegsLimit / WarpsLimit / "
    "SmemLimit): registers are allocated per warp, registers x 32 rounded up to 256; each of the 4 SM "
    "sub-partitions holds floor((65536 / 4) / registers-per-warp) warps; resident blocks = min(those warps x 4 "
    "// warps per block, 2048 / 32 // warps per block, 32, shared memory per SM // (static shared + 1 KiB "
    "reserved, rounded up to 128 B)); occupancy = resident warps / 64")


def _round_up(value: int, unit: int) -> int:
    return -(-value // unit) * unit


def occupancy(registers: int, threads_per_block: int = THREADS_PER_BLOCK, arch: str = "sm_90",
              shared_bytes: int = 0) -> dict:
    """Theoretical occupancy of a kernel using ``registers`` per thread (see :data:`OCCUPANCY_RULE`).

    Returns the resident blocks and warps per SM, the occupancy (resident warps / max warps) and
    which limits bind (``registers``, ``warps``, ``blocks``, ``shared``).
    """
    lim = ARCH_LIMITS[arch]
    warp = lim["warp_size"]
    max_warps = lim["max_threads_per_sm"] // warp
    warps_per_block = -(-threads_per_block // warp)
    regs_per_warp = _round_up(registers * warp, lim["register_allocation_unit"])
    parts = lim["sub_partitions"]
    if threads_per_block > lim["max_threads_per_block"]:
        by_warps = 0
    else:
        by_warps = max_warps // warps_per_block
    limits = {"warps": by_warps, "blocks": lim["max_blocks_per_sm"]}
    if registers > lim["max_registers_per_thread"] or \
            regs_per_warp * _round_up(warps_per_block, parts) > lim["registers_per_block"]:
        limits["registers"] = 0
    elif regs_per_warp > 0:  # no registers: no register limit
        limits["registers"] = (lim["registers_per_sm"] // parts // regs_per_warp) * parts // warps_per_block
    smem_per_block = _round_up(shared_bytes + lim["reserved_shared_bytes_per_block"], lim["shared_allocation_unit"])
    limits["shared"] = lim["shared_bytes_per_sm"] // smem_per_block
    blocks = min(limits.values())
    return {
        "threads_per_block": threads_per_block,
        "registers_per_warp_allocated": regs_per_warp,
        "blocks_per_sm": blocks,
        "warps_per_sm": blocks * warps_per_block,
        "threads_per_sm": blocks * threads_per_block,
        "occupancy": blocks * warps_per_block / max_warps,
        "blocks_per_sm_limits": limits,
        "limited_by": sorted(k for k, v in limits.items() if v == blocks),
    }


_ENTRY = re.compile(r"Compiling entry function '([^']+)' for '([^']+)'")
_PROPERTIES = re.compile(r"Function properties for (\S+)")
_FRAME = re.compile(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads")
_USED = re.compile(r"Used (\d+) registers")
_SMEM = re.compile(r"(\d+) bytes smem")
_CMEM = re.compile(r"(\d+) bytes cmem\[(\d+)\]")
_BARRIERS = re.compile(r"used (\d+) barriers")
_CUMULATIVE_STACK = re.compile(r"(\d+) bytes cumulative stack size")


def parse_ptxas(text: str) -> dict[str, dict]:
    """Per entry function, the figures of ``ptxas -v`` output (one architecture per text).

    Each value: ``arch``, ``registers``, ``stack_frame_bytes``, ``spill_stores_bytes``,
    ``spill_loads_bytes``, ``shared_bytes`` (static), ``constant_bytes`` ({bank: bytes}),
    ``barriers``, ``cumulative_stack_bytes`` (None where ptxas did not print it), and
    ``called_functions`` ({name: stack frame bytes} of the non-inlined device functions
    whose properties ptxas listed after the entry).
    """
    entries: dict[str, dict] = {}
    entry = None          # the entry function being compiled
    described = None      # the function whose "Function properties" block we are in
    for line in text.splitlines():
        if m := _ENTRY.search(line):
            entry = {"arch": m.group(2), "registers": None, "stack_frame_bytes": None, "spill_stores_bytes": None,
                     "spill_loads_bytes": None, "shared_bytes": 0, "constant_bytes": {}, "barriers": None,
                     "cumulative_stack_bytes": None, "called_functions": {}}
            entries[m.group(1)] = entry
            described = None
        elif m := _PROPERTIES.search(line):
            described = m.group(1)
        elif m := _FRAME.search(line):
            frame, stores, loads = (int(g) for g in m.groups())
            if entry is None or described is None:
                continue
            if described in entries and entries[described] is entry:
                entry.update(stack_frame_bytes=frame, spill_stores_bytes=stores, spill_loads_bytes=loads)
            else:
                entry["called_functions"][described] = frame
        elif entry is not None and (m := _USED.search(line)):
            if described is not None and entries.get(described) is not entry:
                continue  # a called function's line, not the entry's
            entry["registers"] = int(m.group(1))
            if s := _SMEM.search(line):
                entry["shared_bytes"] = int(s.group(1))
            entry["constant_bytes"] = {int(bank): int(size) for size, bank in _CMEM.findall(line)}
            if b := _BARRIERS.search(line):
                entry["barriers"] = int(b.group(1))
            if c := _CUMULATIVE_STACK.search(line):
                entry["cumulative_stack_bytes"] = int(c.group(1))
    return entries


def compile_resources(source: Path, arch: str, include_dir: Path, extra_options: tuple[str, ...] = (),
                      nvcc: str | None = None) -> tuple[dict[str, dict], str]:
    """Compile ``source`` to a cubin for ``arch`` with ptxas verbose; returns (parsed entries, ptxas text)."""
    from qsat.kernels import nvcc as find_nvcc

    compiler = nvcc or find_nvcc()
    if compiler is None:
        raise RuntimeError("nvcc not found (set CUDA_HOME or put nvcc on PATH)")
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [compiler, "-cubin", f"-arch={arch}", "--std=c++17", "-I", str(include_dir), "--ptxas-options=-v",
               *extra_options, str(source), "-o", str(Path(tmp) / "out.cubin")]
        result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"nvcc failed for {source.name} ({arch} {' '.join(extra_options)}):\n{result.stderr}")
    text = result.stdout + result.stderr
    return parse_ptxas(text), text


def nvcc_version(nvcc: str) -> str:
    out = subprocess.run([nvcc, "--version"], capture_output=True, text=True).stdout
    lines = [line for line in out.splitlines() if "release" in line]
    return lines[0].strip() if lines else out.strip()


@contextmanager
def kernel_sources(ref: str | None):
    """The kernels folder of the working tree (``ref`` None) or of git commit ``ref`` (exported)."""
    if ref is None:
        from qsat._paths import kernels_dir

        yield kernels_dir()
        return
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", ref, "kernels"],
                             capture_output=True, check=True).stdout
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        yield Path(tmp) / "kernels"


def _with_occupancy(info: dict, arch: str) -> dict:
    return {**info, "occupancy_256": occupancy(info["registers"], THREADS_PER_BLOCK, arch, info["shared_bytes"])}


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True).stdout.strip()


def measure(ref: str | None = None, archs=None, maxrregcount=MAXRREGCOUNT, log=print) -> dict:
    """Everything :func:`main` writes (compiles every kernel for every arch, then the variants)."""
    from qsat.kernels import PTX_ARCHS, kernel_names
    from qsat.kernels import nvcc as find_nvcc

    compiler = find_nvcc()
    if compiler is None:
        raise RuntimeError("nvcc not found (set CUDA_HOME or put nvcc on PATH)")
    archs = tuple(archs or PTX_ARCHS)
    result = {
        "date_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "nvcc_version": nvcc_version(compiler),
        "sources": {"git_ref": ref or "working tree", "commit": _git("rev-parse", ref or "HEAD"),
                    "kernels_modified_in_working_tree": bool(ref is None and _git("status", "--porcelain", "kernels"))},
        "command": ("nvcc -cubin -arch=ARCH --std=c++17 -I kernels --ptxas-options=-v [--maxrregcount=N] "
                    "kernels/NAME.cu"),
        "threads_per_block": THREADS_PER_BLOCK,
        "occupancy_rule": OCCUPANCY_RULE,
        "arch_limits": {arch: ARCH_LIMITS[arch] for arch in archs},
        "kernels": {},
        "maxrregcount": {},
    }
    with kernel_sources(ref) as kdir:
        names = kernel_names() if ref is None else sorted(p.stem for p in kdir.glob("*.cu"))
        for arch in archs:
            result["kernels"][arch] = {}
            for name in names:
                t = time.perf_counter()
                entries, _ = compile_resources(kdir / f"{name}.cu", arch, kdir, nvcc=compiler)
                result["kernels"][arch][name] = {fn: _with_occupancy(info, arch) for fn, info in entries.items()}
                log(f"{arch} {name}: {time.perf_counter() - t:.1f} s")
        if VARIANT_ARCH in archs:
            variants: dict = {}
            for name, function in VARIANT_KERNELS:
                variants[function] = {"default": result["kernels"][VARIANT_ARCH][name][function]}
                for cap in maxrregcount:
                    entries, _ = compile_resources(kdir / f"{name}.cu", VARIANT_ARCH, kdir,
                                                   (f"--maxrregcount={cap}",), nvcc=compiler)
                    variants[function][str(cap)] = _with_occupancy(entries[function], VARIANT_ARCH)
                    log(f"{VARIANT_ARCH} {function} --maxrregcount={cap}: done")
            result["maxrregcount"][VARIANT_ARCH] = variants
    return result


def table(result: dict) -> str:
    """A plain-text table of the result: one line per (arch, entry) and per register cap."""
    head = f"{'arch':6} {'kernel':26} {'variant':10} {'regs':>4} {'stack':>5} {'spill st/ld':>11} {'blk/SM':>6} " \
           f"{'occupancy':>9}  limited by"
    lines = [head]

    def line(arch, fn, variant, info):
        occ = info["occupancy_256"]
        lines.append(f"{arch:6} {fn:26} {variant:10} {info['registers']:>4} {info['stack_frame_bytes']:>5} "
                     f"{info['spill_stores_bytes']:>5}/{info['spill_loads_bytes']:<5} {occ['blocks_per_sm']:>6} "
                     f"{occ['occupancy']:>9.1%}  {','.join(occ['limited_by'])}")

    for arch, kernels in result["kernels"].items():
        for entries in kernels.values():
            for fn, info in entries.items():
                line(arch, fn, "default", info)
    for arch, variants in result["maxrregcount"].items():
        for fn, by_cap in variants.items():
            for cap, info in by_cap.items():
                if cap != "default":
                    line(arch, fn, f"maxrreg{cap}", info)
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "kernel_resources_sm90.json")
    parser.add_argument("--ref", default=None, help="git commit whose kernels to compile (default: working tree)")
    parser.add_argument("--arch", action="append", dest="archs",
                        help="architecture (repeatable; default sm_80 and sm_90)")
    args = parser.parse_args(argv)
    result = measure(args.ref, args.archs, log=lambda msg: print(msg, file=sys.stderr, flush=True))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
