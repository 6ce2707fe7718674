"""Errors and warnings raised at qsat's boundaries.

Inside vectorised code nothing raises: functions return NaN/status masks that the
boundary turns into a :class:`QsatInputError` or a recorded :class:`QsatWarning`.
"""

from __future__ import annotations

from pathlib import Path


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


def read_text(path: str | Path, field: str, expected: str) -> str:
    """The text of a UTF-8 file (a UTF-8 byte-order mark is allowed), read at the boundary.

    ``expected`` names the kind of file ("scenario file (.toml)"). A missing or unreadable
    file, or one that is binary, Latin-1 or UTF-16, is a :class:`QsatInputError` naming
    ``field``, the file and the first byte that is not UTF-8.
    """
    path = Path(path)
    if not path.is_file():
        raise QsatInputError(field, str(path), f"an existing {expected}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise QsatInputError(field, str(path), f"a readable {expected} ({exc.strerror or exc})") from None
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise QsatInputError(field, str(path), f"a {expected} in UTF-8 text (this one is UTF-16)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise QsatInputError(field, str(path), f"a {expected} in UTF-8 text (byte 0x{data[exc.start]:02x} at "
                                               f"offset {exc.start} is not UTF-8: a binary or Latin-1 file?)") from None
    if "\x00" in text:
        raise QsatInputError(field, str(path), f"a {expected} in UTF-8 text (it holds NUL bytes: a binary file?)")
    return text


class QsatWarning(UserWarning):
    """A model could not be evaluated as asked, or an input is doubtful."""


def _show(value) -> str:
    if isinstance(value, str):
        return value if value else "''"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
