"""Errors and warnings raised at qsat's boundaries.

Inside vectorised code nothing raises: functions return NaN/status masks that the
boundary turns into a :class:`QsatInputError` or a recorded :class:`QsatWarning`.
"""

from __future__ import annotations


class QsatError(Exception):
    """Base class for every error qsat raises on purpose."""


class QsatInputError(QsatError, ValueError):
    """Bad input, reported as ``field: value; expected ...`` on one line.

    >>> str(QsatInputError("ground_stations[2].aperture", "-0.5 m", "a positive length"))
    'ground_stations[2].aperture: -0.5 m; expected a positive length'
    """

    def __init__(self, field: str, value, expected: str):
        self.field = field
        self.value = value
        self.expected = expected
        super().__init__(f"{field}: {_show(value)}; expected {expected}")


class QsatWarning(UserWarning):
    """A model could not be evaluated as asked, or an input is doubtful."""


def _show(value) -> str:
    if isinstance(value, str):
        return value if value else "''"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
