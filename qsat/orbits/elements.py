"""Orbital elements: TLE and OMM loading with clear errors, and the shipped catalog.

A malformed element set fails at load time with the field, the offending line and
what was expected (length, line number, checksum, matching catalog numbers); an
element set far from the scenario window is accepted with a warning, since SGP4's
error grows by roughly 1-3 km per day from epoch (Vallado et al., AIAA 2006-6753,
Sec. I; Kelso, "Validation of SGP4 and IS-GPS-200D", AAS 07-127).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path

from ..errors import QsatInputError, read_text
from .._paths import ephemerides_dir

TLE_TEMPLATE = ("1 NNNNNC NNNNNAAA NNNNN.NNNNNNNN +.NNNNNNNN +NNNNN-N +NNNNN-N N NNNNN  /  "
                "2 NNNNN NNN.NNNN NNN.NNNN NNNNNNN NNN.NNNN NNN.NNNN NN.NNNNNNNNNNNNNN")


@dataclass(frozen=True)
class Satellite:
    """A satellite ready for SGP4: its name, python-sgp4 ``Satrec`` and where it came from."""

    name: str
    satrec: object
    source: str  # file name or "scenario", with a short content hash

    @property
    def norad_id(self) -> int:
        return int(self.satrec.satnum)

    @property
    def epoch(self) -> datetime:
        jd = self.satrec.jdsatepoch + self.satrec.jdsatepochF
        return datetime(2000, 1, 1, 12, tzinfo=timezone.utc) + timedelta(days=jd - 2451545.0)


def tle_checksum(line: str) -> int:
    """Modulo-10 checksum of the first 68 columns: digits count, '-' counts 1."""
    return sum(int(c) if c.isdigit() else (1 if c == "-" else 0) for c in line[:68]) % 10


def check_tle_lines(line1: str, line2: str, field: str) -> None:
    """Raise :class:`QsatInputError` unless the two lines are a well-formed TLE."""
    for number, line in ((1, line1), (2, line2)):
        where = f"{field} line {number}"
        other = 2 if number == 1 else 1
        if line.startswith(f"{other} ") and not line.startswith(f"{number} "):
            raise QsatInputError(where, line, f"line {number} here, found line {other} (lines swapped?)")
        if not line.startswith(f"{number} "):
            raise QsatInputError(where, line, f"a TLE line starting with '{number} ' ({TLE_TEMPLATE})")
        if len(line) != 69:
            raise QsatInputError(where, line, f"69 characters, found {len(line)} ({TLE_TEMPLATE})")
        if not line[68].isdigit():
            raise QsatInputError(where, line, "a checksum digit in column 69")
        if int(line[68]) != tle_checksum(line):
            raise QsatInputError(where, line, f"checksum {tle_checksum(line)} (column 69 says {line[68]})")
    if line1[2:7] != line2[2:7]:
        raise QsatInputError(field, f"{line1[2:7]} / {line2[2:7]}",
                             "the same catalog number on line 1 and line 2 (lines from different satellites?)")


def satrec_from_tle(line1: str, line2: str, field: str):
    from sgp4.api import Satrec

    check_tle_lines(line1, line2, field)
    try:
        sat = Satrec.twoline2rv(line1, line2)
    except ValueError as exc:
        raise QsatInputError(field, line1, f"a TLE python-sgp4 can parse ({exc})") from None
    if sat.error:
        raise QsatInputError(field, line2, f"elements SGP4 accepts (error code {sat.error} at epoch)")
    return sat


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def parse_tle_text(text: str, source: str, field: str) -> list[Satellite]:
    """Every satellite in TLE text (2-line or 3-line form; '#' lines are comments)."""
    lines = [ln.rstrip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    sats, i, name = [], 0, None
    tag = f"{source}@{_digest(text)}"
    while i < len(lines):
        line = lines[i]
        if line.startswith("1 ") and len(line) >= 60:
            if i + 1 >= len(lines):
                raise QsatInputError(f"{field} ({source})", line, "a line 2 after this line 1")
            satrec = satrec_from_tle(line, lines[i + 1], f"{field} ({source})")
            label = name or f"NORAD {int(satrec.satnum)}"
            sats.append(Satellite(label, satrec, tag))
            i, name = i + 2, None
        elif line.startswith("2 ") and len(line) >= 60:
            raise QsatInputError(f"{field} ({source})", line, "line 1 before line 2 (lines swapped?)")
        else:
            name = line[2:].strip() if line.startswith("0 ") else line.strip()
            i += 1
    if not sats:
        raise QsatInputError(field, source, "at least one TLE (two lines starting '1 ' and '2 ')")
    return sats


def parse_omm_json(text: str, source: str, field: str) -> list[Satellite]:
    """Every satellite in CCSDS OMM JSON (CelesTrak's GP JSON layout)."""
    from sgp4 import omm
    from sgp4.api import Satrec

    try:
        records = json.loads(text)
    except json.JSONDecodeError as exc:
        raise QsatInputError(field, source, f"OMM JSON ({exc})") from None
    records = records if isinstance(records, list) else [records]
    sats = []
    for n, fields in enumerate(records):
        sat = Satrec()
        try:
            omm.initialize(sat, fields)
        except (KeyError, ValueError, TypeError) as exc:
            raise QsatInputError(f"{field} ({source}) record {n}", str(exc),
                                 "an OMM record with OBJECT_NAME, EPOCH, MEAN_MOTION, ECCENTRICITY, "
                                 "INCLINATION, RA_OF_ASC_NODE, ARG_OF_PERICENTER, MEAN_ANOMALY, "
                                 "NORAD_CAT_ID, BSTAR, MEAN_MOTION_DOT, MEAN_MOTION_DDOT") from None
        sats.append(Satellite(str(fields.get("OBJECT_NAME", f"NORAD {sat.satnum}")), sat,
                              f"{source}@{_digest(text)}"))
    return sats


def read_elements_file(path: Path, field: str) -> list[Satellite]:
    text = read_text(path, field, "TLE or OMM file")
    if path.suffix.lower() == ".json":
        return parse_omm_json(text, path.name, field)
    if path.suffix.lower() == ".xml":
        import io
        from xml.etree.ElementTree import ParseError

        from sgp4 import omm
        from sgp4.api import Satrec

        sats = []
        try:
            for fields in omm.parse_xml(io.StringIO(text)):
                sat = Satrec()
                omm.initialize(sat, fields)
                sats.append(Satellite(fields.get("OBJECT_NAME", str(sat.satnum)), sat, path.name))
        except (ParseError, KeyError, ValueError, TypeError, AttributeError) as exc:
            raise QsatInputError(field, str(path), f"CCSDS OMM XML with every mean element ({type(exc).__name__}: "
                                                   f"{exc})") from None
        if not sats:
            raise QsatInputError(field, str(path), "CCSDS OMM XML holding at least one OMM")
        return sats
    return parse_tle_text(text, path.name, field)


def _keys(name: str) -> set[str]:
    """Lookup keys of a catalog name: 'QUESS (MICIUS)' -> {'QUESS (MICIUS)', 'QUESS', 'MICIUS'}."""
    name = name.upper().strip()
    keys = {name}
    m = re.match(r"^(.*?)\s*\((.*)\)\s*$", name)
    if m:
        keys |= {m.group(1).strip(), m.group(2).strip()}
    return {k for k in keys if k}


@cache
def catalog() -> tuple[Satellite, ...]:
    """Every element set shipped in ``ephemerides/tle/`` (several epochs per satellite allowed)."""
    sats = []
    for path in sorted((ephemerides_dir() / "tle").iterdir()):
        if path.suffix.lower() in (".tle", ".txt", ".json"):
            sats.extend(read_elements_file(path, f"ephemerides/tle/{path.name}"))
    return tuple(sats)


def _pick(candidates: list[Satellite], spec, near: datetime | None) -> Satellite:
    if spec.norad_id is not None:
        candidates = [s for s in candidates if s.norad_id == spec.norad_id]
    elif len({s.norad_id for s in candidates}) > 1:
        by_name = [s for s in candidates if spec.name.upper() in _keys(s.name)]
        candidates = by_name or candidates
    if near is not None:
        candidates = sorted(candidates, key=lambda s: abs((s.epoch - near).total_seconds()))
    return candidates[0]


def resolve_satellite(spec, index: int, base_dir: Path, near: datetime | None = None) -> Satellite:
    """The :class:`Satellite` a scenario's ``satellites[index]`` entry describes.

    With several element sets to choose from (a catalog with many epochs, a file
    with many satellites), ``norad_id`` or ``name`` picks the satellite and the
    epoch nearest ``near`` (the scenario start) wins.
    """
    field = f"satellites[{index}]"
    if spec.tle is not None:
        lines = [ln.rstrip() for ln in spec.tle]
        sat = satrec_from_tle(lines[-2], lines[-1], f"{field}.tle")
        return Satellite(spec.name, sat, f"scenario@{_digest(''.join(lines))}")
    if spec.tle_file is not None or spec.omm_file is not None:
        key = "tle_file" if spec.tle_file is not None else "omm_file"
        path = Path(getattr(spec, key)).expanduser()
        path = path if path.is_absolute() else base_dir / path
        found = read_elements_file(path, f"{field}.{key}")
        if len(found) > 1:
            matching = [s for s in found if spec.norad_id == s.norad_id or spec.name.upper() in _keys(s.name)]
            if not matching:
                raise QsatInputError(f"{field}.name", spec.name,
                                     f"a satellite in {path.name} (norad_id or one of: "
                                     f"{', '.join(sorted({s.name for s in found}))})")
            found = matching
        picked = _pick(found, spec, near)
        return Satellite(spec.name, picked.satrec, picked.source)
    wanted = spec.name.upper().strip()
    matches = [s for s in catalog()
               if (spec.norad_id is not None and s.norad_id == spec.norad_id) or wanted in _keys(s.name)]
    if not matches:
        names = sorted({s.name for s in catalog()})
        raise QsatInputError(f"{field}.name", spec.name,
                             f"a satellite in the shipped catalog ({', '.join(names)}), "
                             "or tle / tle_file / omm_file")
    picked = _pick(matches, spec, near)
    return Satellite(spec.name, picked.satrec, picked.source)
