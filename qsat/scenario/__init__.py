"""Scenario files: TOML, validated on load, with errors that name the field.

>>> from qsat.scenario import loads
>>> s = loads('''
... [time]
... start = "2024-03-01T00:00:00Z"
... duration = "1 d"
... step = "1 s"
... [[satellites]]
... name = "ISS"
... [[ground_stations]]
... name = "Tenerife"
... ''')
>>> s.time.duration
86400.0

A later stage adds its own section: define it as a :class:`~qsat.scenario.types.Section`
in the stage's package and add one optional field to :class:`Scenario`.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path

from pydantic import Field, ValidationError

from ..channel.config import LinkConfig
from ..detection.detectors import DetectorConfig
from ..errors import QsatInputError, read_text
from ..protocols.config import ProtocolConfig
from ..network.config import NetworkConfig
from ..montecarlo.config import MonteCarloConfig
from .orbit import Constraints, GroundStationSpec, PassEngine, SatelliteSpec, TimeWindow
from .types import Section


class Scenario(Section):
    """A whole scenario file. Sections other than ``time``, ``satellites`` and
    ``ground_stations`` are optional and enable the corresponding stage."""

    name: str = "scenario"
    description: str = ""
    seed: int = Field(default=0, ge=0, lt=2**64)
    time: TimeWindow
    satellites: list[SatelliteSpec] = Field(min_length=1)
    ground_stations: list[GroundStationSpec] = Field(min_length=1)
    constraints: Constraints = Constraints()
    engine: PassEngine = PassEngine()
    detector: DetectorConfig | None = None
    protocol: ProtocolConfig | None = None
    link: LinkConfig | None = None
    network: NetworkConfig | None = None
    montecarlo: MonteCarloConfig | None = None

    # Where the file was read from: relative paths inside it resolve against this.
    base_dir: Path = Field(default=Path("."), exclude=True)

    def resolve_path(self, path: str) -> Path:
        p = Path(path).expanduser()
        return p if p.is_absolute() else self.base_dir / p

    def digest(self) -> str:
        """SHA-256 of the validated scenario (canonical JSON): its identity in provenance."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def _field_path(loc: tuple) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1] if parts else ''}[{item}]"]
        elif item.startswith("function-") or item in ("tagged-union",):
            continue
        else:
            parts.append(str(item))
    return ".".join(parts) or "scenario"


def _first_error(exc: ValidationError) -> QsatInputError:
    err = exc.errors(include_url=False)[0]
    field = _field_path(err["loc"])
    kind = err["type"]
    value = err.get("input")
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    elif msg.startswith("Input should be "):  # pydantic's own constraints: "a value greater than ..."
        msg = "a value " + msg[len("Input should be "):]
    if kind == "extra_forbidden":
        return QsatInputError(field, value, "no such key here (misspelt? see docs/scenario.md)")
    if kind == "missing":
        return QsatInputError(field, "missing", "this required key to be given")
    if kind in _STRICT_TYPES:  # a quoted value shows its quotes: "'10'; expected a number (not quoted)"
        shown = "{...}" if isinstance(value, dict) else repr(value) if isinstance(value, str) else value
        return QsatInputError(field, shown, _STRICT_TYPES[kind])
    if isinstance(value, dict):
        value = "{...}"
    return QsatInputError(field, value, msg[0].lower() + msg[1:] if msg else "a valid value")


#: What a strict type error asks for, in the file's own terms (TOML).
_STRICT_TYPES = {
    "bool_type": "true or false (a TOML boolean, not quoted)",
    "float_type": "a number (not quoted)",
    "int_type": "a whole number (not quoted)",
    "string_type": "a string (in quotes)",
    "list_type": "an array [...]",
    "tuple_type": "an array [...]",
    "dict_type": "a table",
    "model_type": "a table",
}


def _check_sections_agree(scenario: Scenario) -> Scenario:
    """Checks that span two fields or sections (each section validates its own fields)."""
    scenario.time.check_window()
    protocol, link = scenario.protocol, scenario.link
    if (protocol is not None and link is not None and protocol.protocol == "bbm92" and protocol.dual_downlink
            and link.direction == "uplink"):
        raise QsatInputError("protocol.dual_downlink", True,
                             "false with [link] direction = 'uplink': a dual downlink sends both photons down from "
                             "the satellite, an uplink carries one photon up from a ground source whose partner is "
                             "detected on the ground")
    return scenario


def from_dict(data: dict, base_dir: Path | str = ".") -> Scenario:
    """Validate a scenario given as a dict (e.g. parsed TOML)."""
    try:
        scenario = Scenario.model_validate({**data, "base_dir": Path(base_dir)})
    except ValidationError as exc:
        raise _first_error(exc) from None
    return _check_sections_agree(scenario)


def loads(text: str, base_dir: Path | str = ".") -> Scenario:
    """Parse and validate scenario TOML text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise QsatInputError("scenario", f"TOML syntax error ({exc})", "a valid TOML file") from None
    if "base_dir" in data:
        raise QsatInputError("base_dir", data["base_dir"], "no such key here (misspelt? see docs/scenario.md)")
    return from_dict(data, base_dir)


def load(path: str | Path) -> Scenario:
    """Read and validate a scenario file; relative paths in it resolve against its folder."""
    path = Path(path)
    return loads(read_text(path, "scenario", "scenario file (.toml)"), base_dir=path.parent)


__all__ = ["Scenario", "Section", "TimeWindow", "SatelliteSpec", "GroundStationSpec",
           "Constraints", "PassEngine", "load", "loads", "from_dict"]
