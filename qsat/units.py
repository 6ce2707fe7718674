"""Quantities at the boundary: unit strings and astropy Quantities to SI floats.

Scenario files write values with units ("30 cm", "10 urad", "3 d"); public entry
points accept astropy Quantities. Inside qsat everything is a plain SI float.
"""

from __future__ import annotations

import math
import re

from .errors import QsatInputError

# Physical type name (for messages) -> SI unit string astropy converts to.
SI_UNITS = {
    "length": "m",
    "time": "s",
    "angle": "rad",
    "frequency": "Hz",
    "power": "W",
    "speed": "m/s",
}
_KIND_OF_UNIT = {si: kind for kind, si in SI_UNITS.items()}

#: Target SI unit -> {unit written in a scenario: factor to it}, for the units scenarios use
#: most. Strings in these units convert without importing astropy (~0.2 s per process); each
#: factor is astropy's own scale for the pair (tests/test_units.py checks every one, and values,
#: against astropy). Any other string goes to astropy.
FAST_FACTORS = {
    "m": {"m": 1.0, "km": 1e3, "cm": 1e-2, "mm": 1e-3, "um": 1e-6, "nm": 1e-9},
    "s": {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9, "min": 60.0, "h": 3600.0, "d": 86400.0},
    "rad": {"rad": 1.0, "mrad": 1e-3, "urad": 1e-6, "nrad": 1e-9, "deg": math.pi / 180.0},
    "Hz": {"Hz": 1.0, "kHz": 1e3, "MHz": 1e6, "GHz": 1e9},
    "W": {"W": 1.0, "mW": 1e-3, "uW": 1e-6, "nW": 1e-9, "pW": 1e-12},
}
# A decimal number (the forms astropy's Quantity reads) and one unit name from FAST_FACTORS.
_NUMBER_UNIT = re.compile(r"\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([A-Za-z]+)\s*")


def fast_value(text: str, unit: str) -> float | None:
    """``text`` ("30 cm") as a float in ``unit`` when both are in :data:`FAST_FACTORS`, else None.

    The number times astropy's scale factor, the one multiplication astropy's conversion does,
    so the value is identical to astropy's.
    """
    factors = FAST_FACTORS.get(unit)
    match = _NUMBER_UNIT.fullmatch(text) if factors is not None else None
    if match is None or match.group(2) not in factors:
        return None
    factor = factors[match.group(2)]
    number = float(match.group(1))
    return number if factor == 1.0 else number * factor


def to_si(value, unit: str, field: str, *, physical_type: str | None = None) -> float:
    """Convert a number, a unit string or an astropy Quantity to a float in ``unit``.

    A bare number is taken to be in ``unit`` already; a string in one of the common units of
    :data:`FAST_FACTORS` converts without astropy, with the same result.

    Raises
    ------
    QsatInputError
        If the string does not parse or its unit is not convertible to ``unit``.
    """
    kind = physical_type or _KIND_OF_UNIT.get(unit, f"quantity in {unit}")
    if isinstance(value, bool):
        raise QsatInputError(field, value, f"a {kind} such as '1 {unit}'")
    fast = fast_value(value, unit) if isinstance(value, str) else None
    if isinstance(value, (int, float)):
        number = float(value)
    elif fast is not None:
        number = fast
    else:
        from astropy import units as u

        try:
            quantity = u.Quantity(value)
        except (TypeError, ValueError):
            raise QsatInputError(field, value, f"a {kind} with a unit, such as '1 {unit}'") from None
        if quantity.unit == u.dimensionless_unscaled and not isinstance(value, u.Quantity):
            raise QsatInputError(field, value, f"a {kind} with a unit, such as '1 {unit}'")
        try:
            number = float(quantity.to_value(unit))
        except u.UnitConversionError:
            raise QsatInputError(
                field, value, f"a {kind} in units convertible to '{unit}'"
            ) from None
        except TypeError:
            raise QsatInputError(field, value, f"a single {kind}, not an array") from None
    if not math.isfinite(number):
        raise QsatInputError(field, value, f"a finite {kind}")
    return number
