"""Loss-table mode: a key from an external per-step table of link efficiency.

Reads SatQuMA's loss-file layout as it is (cnqo-qcomms/SatQuMA, ``FS_loss_XI0.csv``;
Sidhu et al., npj Quantum Inf. 8, 18 (2022)): an optional header line starting with
``#``, then one row per time step with

1. time (s) — strictly monotonic, increasing or decreasing (SatQuMA's runs +346 → -346),
   uniformly spaced;
2. elevation (rad);
3. end-to-end link efficiency (linear, in [0, 1], **detector efficiency included**);

and possibly further (empty) columns, which are ignored. The file is UTF-8 text (a UTF-8
byte-order mark is accepted); anything else (binary, Latin-1, UTF-16) is refused with one
line naming the file.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import QsatInputError, read_text

COLUMNS = ("time_s", "elevation_rad", "efficiency")
_SPACING_RTOL = 1e-6


@dataclass(frozen=True)
class LossTable:
    time_s: np.ndarray
    elevation_rad: np.ndarray
    efficiency: np.ndarray
    step_s: float
    source: str

    @property
    def elevation_deg(self) -> np.ndarray:
        return np.degrees(self.elevation_rad)


def _number(text: str, where: str, column: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise QsatInputError(where, text, f"a number in column {column}") from None
    if not math.isfinite(value):
        raise QsatInputError(where, text, f"a finite number in column {column}")
    return value


def read_loss_table(path: str | Path) -> LossTable:
    """Read and check a loss table; errors name the file, row (1-based line) and column."""
    path = Path(path)
    text = read_text(path, "--loss-table", "CSV loss table")
    rows: list[tuple[float, float, float]] = []
    lines: list[int] = []
    for lineno, row in enumerate(csv.reader(text.splitlines()), start=1):
        cells = [c.strip() for c in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        where = f"{path.name} row {lineno}"
        filled = [c for c in cells[:3] if c]
        if len(cells) < 3 or len(filled) < 3:
            if lineno == 1 and cells and not _is_number(cells[0]):
                continue  # an uncommented header line
            raise QsatInputError(where, ",".join(cells), "3 columns: time (s), elevation (rad), efficiency")
        t, el, eff = (_number(c, where, name) for c, name in zip(cells[:3], COLUMNS))
        if not 0.0 <= eff <= 1.0:
            raise QsatInputError(f"{where} efficiency", eff, "a link efficiency in [0, 1] (linear, not dB)")
        if not -math.pi / 2 <= el <= math.pi / 2:
            raise QsatInputError(f"{where} elevation_rad", el, "an elevation in radians within [-pi/2, pi/2]")
        rows.append((t, el, eff))
        lines.append(lineno)
    if len(rows) < 2:
        raise QsatInputError(path.name, f"{len(rows)} data rows", "at least 2 rows of time, elevation, efficiency")
    data = np.asarray(rows, dtype=np.float64)
    dt = np.diff(data[:, 0])
    sign = np.sign(dt[0])
    bad = np.nonzero((np.sign(dt) != sign) | (dt == 0))[0]
    if sign == 0 or bad.size:
        i = int(bad[0]) + 1 if bad.size else 1
        raise QsatInputError(f"{path.name} row {lines[i]} time_s", float(data[i, 0]),
                             "strictly monotonic time (each row one step after the previous)")
    step = float(abs(dt[0]))
    uneven = np.nonzero(np.abs(np.abs(dt) - step) > _SPACING_RTOL * step + 1e-9)[0]
    if uneven.size:
        i = int(uneven[0]) + 1
        raise QsatInputError(f"{path.name} row {lines[i]} time_s", float(data[i, 0]),
                             f"uniformly spaced time ({step:g} s per row)")
    return LossTable(data[:, 0], data[:, 1], data[:, 2], step, str(path))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def select(table: LossTable, elevation_mask_deg: float, excess_loss_db: float):
    """(transmittance, valid) of the rows above the mask, with the excess loss applied."""
    valid = table.elevation_deg >= elevation_mask_deg
    eta = table.efficiency * 10.0 ** (-excess_loss_db / 10.0)
    return eta, valid
