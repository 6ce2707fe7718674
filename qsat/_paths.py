"""Where the data that ships with qsat lives: kernels/ and ephemerides/.

In a built wheel both are carried inside the package (``qsat/_data/...``, mapped in
pyproject.toml); in a source checkout or editable install they are the top-level
folders of the repository.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def data_dir(name: str) -> Path:
    """Directory of the shipped ``kernels`` or ``ephemerides`` folder."""
    for candidate in (_PACKAGE_DIR / "_data" / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"qsat data folder '{name}' not found next to {_PACKAGE_DIR}; "
        "reinstall qsat (the wheel carries it as qsat/_data/{name})"
    )


def kernels_dir() -> Path:
    return data_dir("kernels")


def ephemerides_dir() -> Path:
    return data_dir("ephemerides")
