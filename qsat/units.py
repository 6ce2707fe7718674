"""Quantities at the boundary: unit strings and astropy Quantities to SI floats.

Scenario files write values with units ("30 cm", "10 urad", "3 d"); public entry
points accept astropy Quantities. Inside qsat everything is a plain SI float.
"""

from __future__ import annotations

import math

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


def to_si(value, unit: str, field: str, *, physical_type: str | None = None) -> float:
    """Convert a number, a unit string or an astropy Quantity to a float in ``unit``.

    A bare number is taken to be in ``unit`` already.

    Raises
    ------
    QsatInputError
        If the string does not parse or its unit is not convertible to ``unit``.
    """
    from astropy import units as u

    kind = physical_type or _KIND_OF_UNIT.get(unit, f"quantity in {unit}")
    if isinstance(value, bool):
        raise QsatInputError(field, value, f"a {kind} such as '1 {unit}'")
    if isinstance(value, (int, float)):
        number = float(value)
    else:
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
