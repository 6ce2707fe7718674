"""The key manager's configuration file (TOML): its SAEs, key sizes, pool capacity and limits.

Every key, its unit and default is listed in ``docs/kme.md``. Example::

    key_size = 256
    max_key_count = 100000
    max_key_per_request = 128

    [[saes]]
    id = "beijing-app"
    node = "Beijing"
    [[saes]]
    id = "vienna-app"
    node = "Vienna"
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator

from ..errors import QsatInputError
from ..scenario import _field_path
from ..scenario.types import PositiveDuration_s, Section
from .etsi import Limits

SAE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class SaeSpec(Section):
    """``[[saes]]``: a Secure Application Entity and the network node whose KME serves it.

    ``id`` is the SAE's ID in the API's URLs and the common name (CN) of its client
    certificate; ``node`` is a user, trusted node or ground station of the scenario's
    ``[network]``, an end of one of its user pairs (``[[network.demands]]``).
    """

    id: str
    node: str = Field(min_length=1)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not SAE_ID.match(value):
            raise ValueError("1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit")
        return value


class KmeConfig(Section):
    """The whole configuration file."""

    key_size: int = Field(default=256, gt=0)
    min_key_size: int = Field(default=64, gt=0)
    max_key_size: int = Field(default=4096, gt=0)
    max_key_count: int = Field(default=100_000, gt=0)
    max_key_per_request: int = Field(default=128, gt=0)
    sample_interval: PositiveDuration_s = 3600.0
    supply_resolution: PositiveDuration_s = 3600.0
    synchronous: Literal["full", "normal"] = "full"
    saes: list[SaeSpec] = Field(min_length=1)

    @field_validator("key_size", "min_key_size", "max_key_size")
    @classmethod
    def _bytes(cls, value: int) -> int:
        if value % 8:
            raise ValueError("a whole number of bytes: a multiple of 8 bits")
        return value

    @property
    def limits(self) -> Limits:
        return Limits(key_size=self.key_size, min_key_size=self.min_key_size, max_key_size=self.max_key_size,
                      max_key_count=self.max_key_count, max_key_per_request=self.max_key_per_request)

    def sae(self, sae_id: str) -> SaeSpec | None:
        return next((s for s in self.saes if s.id == sae_id), None)


def loads(text: str, source: str = "config") -> KmeConfig:
    """Parse and validate configuration TOML; errors name the field (``saes[1].node: ...``)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise QsatInputError(source, f"TOML syntax error ({exc})", "a valid TOML file") from None
    try:
        cfg = KmeConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        field, value, msg = _field_path(err["loc"]), err.get("input"), err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            raise QsatInputError(field, value, "no such key here (misspelt? see docs/kme.md)") from None
        if err["type"] == "missing":
            raise QsatInputError(field, "missing", "this required key to be given") from None
        raise QsatInputError(field, "{...}" if isinstance(value, dict) else value,
                             msg[0].lower() + msg[1:] if msg else "a valid value") from None
    if not cfg.min_key_size <= cfg.key_size <= cfg.max_key_size:
        raise QsatInputError("key_size", cfg.key_size,
                             f"min_key_size ({cfg.min_key_size}) <= key_size <= max_key_size ({cfg.max_key_size})")
    seen: set[str] = set()
    for i, sae in enumerate(cfg.saes):
        if sae.id in seen:
            raise QsatInputError(f"saes[{i}].id", sae.id, "an SAE ID not used by another SAE")
        seen.add(sae.id)
    return cfg


def load(path: str | Path) -> KmeConfig:
    path = Path(path)
    if not path.is_file():
        raise QsatInputError("--config", str(path), "an existing key manager configuration file (.toml)")
    return loads(path.read_text(encoding="utf-8"), source=str(path))
