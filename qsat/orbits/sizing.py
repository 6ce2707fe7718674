"""Sizing a pass job before it runs: memory and output estimated from the scenario alone.

A job that cannot fit is refused at the boundary with one line that says what to
change, instead of being killed by the operating system half way. The estimate
needs no propagation: it takes each orbit's visibility cap (the screening bounds
of :mod:`qsat.orbits.batch`) as if the sub-satellite point covered the sphere
evenly, which is good to about a factor of two for any station and inclination;
the per-element byte counts are those of the arrays the engine allocates.
"""

from __future__ import annotations

import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..errors import QsatInputError
from . import batch

#: Flat per-step arrays alive while a group of passes is computed: 9 outputs, satellite, Sun and Moon
#: ITRS vectors (3 each) and the geometry kernel's temporaries, float64.
BYTES_PER_STEP_COMPUTE = 32 * 8
#: One cell of the (pass, step) geometry Dataset: 7 float64 variables, a datetime64 and two flags.
BYTES_PER_CELL = 8 * 8 + 2
#: One pass in memory: its record (6 numbers, 2 flags) and its row of the pandas pass table.
BYTES_PER_PASS = 58 + 700
#: Written sizes: a CSV row of the pass table; a geometry cell in NetCDF (7 float64 stored plain,
#: the time and flags deflated: ~58 B measured; Zarr's default compressor writes less).
BYTES_PER_PASS_FILE = 230
BYTES_PER_CELL_FILE = 60
#: Share of the available memory a job may plan to use (the rest: Python, libraries, page cache).
MEMORY_FRACTION = 0.6
#: Visibility is not even over the sphere (stations near the inclination see more): a margin.
VISIBILITY_MARGIN = 2.0


@dataclass(frozen=True)
class Estimate:
    """Expected size of a pass job (counts are estimates, bytes upper-side estimates)."""

    passes: float
    steps: float
    width: int  # steps of the longest pass: the (pass, step) Dataset's width
    memory_whole_bytes: float  # everything held at once (compute_passes)
    memory_streamed_bytes: float  # one group of passes at a time (PassJob.blocks)
    table_file_bytes: float
    geometry_file_bytes: float


def available_memory_bytes() -> float:
    """Memory the system can give this process now (MemAvailable), else physical memory."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024.0
    except OSError:
        pass
    try:
        return float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return math.inf


def estimate(job) -> Estimate:
    """Size of ``job`` (a :class:`qsat.orbits.stage.PassJob`) from its orbits, stations and grid."""
    from .stage import STEPS_PER_GROUP

    duration_s, step_s = job.grid.duration_s, job.grid.step_s
    nsta = len(job.stations)
    passes = steps = 0.0
    longest_s = 0.0
    for sat in job.satellites:
        rec = sat.satrec
        a_m = float(rec.a) * float(rec.radiusearthkm) * 1000.0
        n_rad_s = float(rec.no_kozai) / 60.0
        c = batch.MIN_STATION_RADIUS_M * math.cos(job.mask_rad) / max(a_m, 1.0)
        if c >= 1.0 or n_rad_s <= 0.0:
            continue  # never above the mask
        psi_max = math.acos(c) - job.mask_rad
        visible = min(1.0, VISIBILITY_MARGIN * 0.5 * (1.0 - math.cos(psi_max)))
        _, max_pass_s = batch.orbit_bounds(rec, job.mask_rad)
        pass_s = min(max_pass_s, duration_s) if math.isfinite(max_pass_s) else duration_s
        longest_s = max(longest_s, pass_s)
        per_pair_passes = visible * duration_s / max(0.785 * pass_s, step_s) + 1.0  # mean chord: pi/4 of the longest
        passes += nsta * per_pair_passes
        steps += nsta * (visible * duration_s / step_s + per_pair_passes)
    width = int(math.ceil(longest_s / step_s)) + 1
    cells = passes * width
    group_steps = min(steps, STEPS_PER_GROUP + width)
    group_cells = group_steps / max(steps / max(passes, 1.0), 1.0) * width
    per_pass = passes * BYTES_PER_PASS
    return Estimate(
        passes=passes, steps=steps, width=width,
        memory_whole_bytes=per_pass + steps * BYTES_PER_STEP_COMPUTE + cells * BYTES_PER_CELL,
        memory_streamed_bytes=per_pass + group_steps * BYTES_PER_STEP_COMPUTE + group_cells * BYTES_PER_CELL,
        table_file_bytes=passes * BYTES_PER_PASS_FILE, geometry_file_bytes=cells * BYTES_PER_CELL_FILE)


def _gb(n: float) -> str:
    return f"{n / 1e9:.3g} GB"


def _days(seconds: float) -> str:
    days = seconds / 86400.0
    return f"{days / 365.25:.4g} yr" if days > 2 * 365.25 else f"{days:.4g} d"


def check(job, *, streamed: bool, outputs: dict[str, Path] | None = None,
          memory_bytes: float | None = None) -> Estimate:
    """Refuse ``job`` (QsatInputError, one line) if it cannot fit; else its :class:`Estimate`.

    ``streamed``: the geometry is written group by group (``qsat passes``) rather than held
    whole (``compute_passes``, ``qsat run``). ``outputs``: ``{"--out": path, "--series": path}`` whose disks must hold the
    estimated files. ``memory_bytes``: memory to plan within (default: what the system has now).
    """
    est = estimate(job)
    limit = MEMORY_FRACTION * (available_memory_bytes() if memory_bytes is None else memory_bytes)
    need = est.memory_streamed_bytes if streamed else est.memory_whole_bytes
    if need > limit:
        scale = need / limit
        grid = job.grid
        hints = [f"a shorter time.duration (at most ~{_days(grid.duration_s / scale)})"]
        per_step = est.steps * BYTES_PER_STEP_COMPUTE + est.passes * est.width * BYTES_PER_CELL
        if not streamed and per_step > 0.5 * need:
            hints.insert(0, f"a coarser time.step (at least ~{grid.step_s * scale:.3g} s)")
            hints.append("or qsat passes, which streams the per-step geometry to its --series file")
        elif streamed:  # what is left whole is the pass table: one row per pass, whatever the step
            hints.append(f"fewer satellites x stations or a higher elevation mask (the pass table, "
                         f"~{BYTES_PER_PASS / 1e3:.2g} kB a pass, is held whole)")
        raise QsatInputError(
            "time.duration", _days(grid.duration_s),
            f"a job that fits in memory: ~{est.passes:.3g} passes and {est.steps:.3g} steps at "
            f"{grid.step_s:g} s need ~{_gb(need)}, {_gb(limit)} usable; use " + ", ".join(hints))
    for option, path in (outputs or {}).items():
        if path is not None:
            check_disk(option, path, est.geometry_file_bytes if option == "--series" else est.table_file_bytes)
    return est


def check_disk(option: str, path: Path, size_bytes: float, hint: str = "a coarser time.step or a shorter window") -> None:
    """Refuse (QsatInputError naming ``option``) an output ``path`` whose disk has less than
    ``size_bytes`` free."""
    folder = Path(path).resolve().parent
    while not folder.exists():
        folder = folder.parent
    free = shutil.disk_usage(folder).free
    if size_bytes > free:
        raise QsatInputError(option, str(path), f"room for ~{_gb(size_bytes)} of output; {_gb(free)} free on "
                                                f"its disk ({hint})")
