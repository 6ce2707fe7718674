"""Building blocks for scenario sections: a strict base model and unit-carrying types.

Every section of a scenario file is a :class:`Section` (unknown keys fail, so a
typo is an error rather than a silently ignored setting). Values with units are
annotated with one of the types below; they accept a number in the SI unit named
by the field, a unit string parsed by astropy ("30 cm"), or an astropy Quantity,
and hold a plain SI float.
"""

from __future__ import annotations

import types
import typing
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationInfo, field_validator

from ..errors import QsatInputError
from ..units import to_si


class Section(BaseModel):
    """Base of every scenario section: unknown keys are errors; values are checked strictly.

    Strict types: a quoted number (``elevation_mask_deg = "10"``) is not a number and
    ``"yes"`` or ``1`` is not a boolean; whole numbers are accepted where a float is asked.
    Values with units go through their own converters (``"30 cm"``). TOML has arrays, not
    tuples, so an array is taken where a field holds a fixed-length tuple.
    """

    model_config = ConfigDict(extra="forbid", validate_default=True, frozen=True,
                              arbitrary_types_allowed=True, strict=True)

    @field_validator("*", mode="before")
    @classmethod
    def _arrays_as_tuples(cls, value, info: ValidationInfo):
        field = cls.model_fields.get(info.field_name) if info.field_name else None
        return value if field is None else _tuples(field.annotation, value)


def _tuples(annotation, value):
    """``value`` with its lists turned into tuples wherever ``annotation`` asks for a tuple."""
    if not isinstance(value, list):
        return value
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _tuples(typing.get_args(annotation)[0], value)
    if origin in (typing.Union, types.UnionType):
        for arm in typing.get_args(annotation):
            if typing.get_origin(arm) in (tuple, list):
                return _tuples(arm, value)
        return value
    if origin is tuple:
        return tuple(value)
    if origin is list and typing.get_args(annotation):
        inner = typing.get_args(annotation)[0]
        return [_tuples(inner, v) for v in value]
    return value


def _unit(unit: str, kind: str):
    def convert(value):
        try:
            return to_si(value, unit, "", physical_type=kind)
        except QsatInputError as exc:  # pydantic adds the field path
            raise ValueError(exc.expected) from None

    return BeforeValidator(convert)


def _positive(kind: str):
    def check(value: float) -> float:
        if not value > 0:
            raise ValueError(f"a positive {kind}")
        return value

    return AfterValidator(check)


def _non_negative(kind: str):
    def check(value: float) -> float:
        if not value >= 0:
            raise ValueError(f"a non-negative {kind}")
        return value

    return AfterValidator(check)


# SI floats, converted from numbers, unit strings or Quantities.
Length_m = Annotated[float, _unit("m", "length")]
PositiveLength_m = Annotated[float, _unit("m", "length"), _positive("length")]
NonNegativeLength_m = Annotated[float, _unit("m", "length"), _non_negative("length")]
Duration_s = Annotated[float, _unit("s", "duration")]
PositiveDuration_s = Annotated[float, _unit("s", "duration"), _positive("duration")]
Angle_rad = Annotated[float, _unit("rad", "angle")]
NonNegativeAngle_rad = Annotated[float, _unit("rad", "angle"), _non_negative("angle")]
PositiveAngle_rad = Annotated[float, _unit("rad", "angle"), _positive("angle")]
Frequency_Hz = Annotated[float, _unit("Hz", "frequency")]
PositiveFrequency_Hz = Annotated[float, _unit("Hz", "frequency"), _positive("frequency")]
NonNegativeFrequency_Hz = Annotated[float, _unit("Hz", "frequency"), _non_negative("frequency")]
Speed_m_s = Annotated[float, _unit("m/s", "speed")]


def _probability(value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError("a probability in [0, 1]")
    return value


Probability = Annotated[float, AfterValidator(_probability)]
