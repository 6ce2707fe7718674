"""Protocol and source/detector sections (``[protocol]`` in a scenario, or a PROTOCOL.toml).

A PROTOCOL.toml for ``qsat keys --loss-table`` holds the same keys at top level:

.. code-block:: toml

    protocol = "decoy-bb84"
    rep_rate_hz = 1e8
    mean_photon_numbers = [0.79, 0.17, 0.0]
    intensity_probabilities = [0.75, 0.175, 0.075]
    basis_probability_x = 0.76
    dark_count_probability = 1e-8
    intrinsic_qber = 0.005
    afterpulse_probability = 1e-3
    eps_sec = 1e-9
    eps_cor = 1e-15
    error_correction_efficiency = 1.16
    tail_bound = "chernoff"
    optimize = false
    elevation_mask_deg = 10
    excess_loss_db = 0.0

Every field is documented in ``docs/keys.md``.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from ..errors import QsatInputError, read_text
from ..scenario.types import Section

PROTOCOLS = ("decoy-bb84", "bbm92")
_SUM_TOL = 1e-9


def _probability_list(values: list[float], name: str, *, strictly_positive: bool) -> list[float]:
    for i, v in enumerate(values):
        if not (0.0 <= v <= 1.0) or (strictly_positive and v == 0.0):
            raise ValueError(f"{name}[{i}] = {v}: a probability in {'(0' if strictly_positive else '[0'}, 1]")
    if abs(sum(values) - 1.0) > _SUM_TOL:
        raise ValueError(f"probabilities summing to 1 (they sum to {sum(values):.12g})")
    return values


class OptimizeBounds(Section):
    """Search box of the per-pass optimisation (``[protocol.optimize_bounds]``); see
    :mod:`qsat.protocols.optimize` for how μ2 and p_μ2 follow from it."""


    basis_probability_x: list[float] = Field(default=[0.5, 0.99], min_length=2, max_length=2)
    mu1: list[float] = Field(default=[0.2, 1.0], min_length=2, max_length=2)
    intensity_probability: list[float] = Field(default=[0.01, 0.98], min_length=2, max_length=2)

    @model_validator(mode="after")
    def _ordered(self):
        lo, hi = self.basis_probability_x
        if not (0.0 < lo <= hi < 1.0):
            raise ValueError("basis_probability_x bounds inside (0, 1) (exactly 1 leaves no test basis)")
        lo, hi = self.mu1
        if not (0.0 < lo <= hi <= 1.6):
            raise ValueError("mu1 bounds with 0 < low <= high <= 1.6")
        lo, hi = self.intensity_probability
        if not (0.0 < lo <= hi < 1.0):
            raise ValueError("intensity_probability bounds inside (0, 1)")
        return self


class ProtocolConfig(Section):
    """Decoy BB84 (prepare-and-measure, WCP source) or BBM92 (entangled source) settings."""


    protocol: Literal["decoy-bb84", "bbm92"] = "decoy-bb84"
    # --- decoy BB84 source ---
    rep_rate_hz: float = Field(default=1e8, gt=0)
    mean_photon_numbers: list[float] = Field(default=[0.79, 0.17, 0.0], min_length=3, max_length=3)
    intensity_probabilities: list[float] = Field(default=[0.75, 0.175, 0.075], min_length=3, max_length=3)
    basis_probability_x: float = 0.76
    # --- receiver / channel extras ---
    dark_count_probability: float = Field(default=1e-8, ge=0, le=0.5)
    intrinsic_qber: float = Field(default=0.005, ge=0, le=0.5)
    afterpulse_probability: float = Field(default=1e-3, ge=0, le=1)
    # --- security ---
    eps_sec: float = 1e-9
    eps_cor: float = 1e-15
    error_correction_efficiency: float = Field(default=1.16, ge=1.0)
    tail_bound: Literal["chernoff", "hoeffding", "asymptotic"] = "chernoff"
    min_z_counts: float = Field(default=100.0, ge=1.0)
    # --- optimisation ---
    optimize: bool = False
    optimize_bounds: OptimizeBounds = OptimizeBounds()
    # --- pass selection / margins ---
    elevation_mask_deg: float = Field(default=10.0, ge=0, lt=90)  # as [constraints] elevation_mask_deg
    excess_loss_db: float = Field(default=0.0, ge=0)
    # --- BBM92 source (entangled pairs) ---
    pair_rate_hz: float = Field(default=5.9e6, gt=0)
    coincidence_window_s: float = Field(default=2.5e-9, gt=0)
    pair_source_qber: float = Field(default=0.01, ge=0, le=0.5)
    dual_downlink: bool = True

    @field_validator("mean_photon_numbers")
    @classmethod
    def _mu(cls, v: list[float]) -> list[float]:
        if any(not math.isfinite(x) or x < 0 for x in v):
            raise ValueError("non-negative mean photon numbers")
        if not (v[0] > v[1] > v[2]):
            raise ValueError("strictly decreasing mean photon numbers mu1 > mu2 > mu3")
        if not v[0] > v[1] + v[2]:
            raise ValueError("mu1 > mu2 + mu3 (Lim et al. 2014, condition of Eq. (3))")
        return v

    @field_validator("intensity_probabilities")
    @classmethod
    def _p(cls, v: list[float]) -> list[float]:
        return _probability_list(v, "intensity_probabilities", strictly_positive=True)

    @field_validator("basis_probability_x")
    @classmethod
    def _px(cls, v: float) -> float:
        if not 0.0 < v < 1.0:
            raise ValueError("a probability strictly between 0 and 1 (1 leaves no Z test basis)")
        return v

    @field_validator("eps_sec", "eps_cor")
    @classmethod
    def _eps(cls, v: float) -> float:
        if not 0.0 < v < 1.0:
            raise ValueError("a value strictly between 0 and 1")
        return v

    @model_validator(mode="after")
    def _box(self):
        # the optimiser keeps μ3 and needs μ3 < μ2 < μ1 - μ3 for every μ1 of its box
        mu3 = self.mean_photon_numbers[2]
        if self.optimize and self.protocol == "decoy-bb84" and not self.optimize_bounds.mu1[0] > 2.0 * mu3:
            raise ValueError(f"optimize_bounds.mu1 low bound above 2 mu3 = {2 * mu3:g} (mu3 = {mu3:g}): "
                             "else the box holds settings with mu2 <= mu3 or mu1 <= mu2 + mu3")
        return self


def _error_from_validation(exc: ValidationError, prefix: str) -> QsatInputError:
    err = exc.errors(include_url=False)[0]
    loc = [str(x) if not isinstance(x, int) else f"[{x}]" for x in err["loc"]]
    field = ".".join(loc).replace(".[", "[")
    field = f"{prefix}.{field}" if prefix and field else (prefix or field or "protocol")
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if err["type"] == "extra_forbidden":
        msg = "no such key here (misspelt? see docs/keys.md)"
    value = err.get("input")
    return QsatInputError(field, "{...}" if isinstance(value, dict) else value, msg[0].lower() + msg[1:])


def protocol_from_dict(data: dict, prefix: str = "") -> ProtocolConfig:
    try:
        return ProtocolConfig.model_validate(data)
    except ValidationError as exc:
        raise _error_from_validation(exc, prefix) from None


def load_protocol(path: str | Path) -> ProtocolConfig:
    """Read and validate a PROTOCOL.toml (keys at top level or under ``[protocol]``)."""
    path = Path(path)
    text = read_text(path, "--protocol", "protocol file (.toml)")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise QsatInputError(str(path), f"TOML syntax error ({exc})", "a valid TOML file") from None
    if set(data) == {"protocol"} and isinstance(data["protocol"], dict):
        data = data["protocol"]
    return protocol_from_dict(data)
