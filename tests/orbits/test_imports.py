"""Lazy imports: ``import qsat.api`` and ``qsat --help`` load none of the heavy libraries."""

from __future__ import annotations

import subprocess
import sys

import qsat.api

HEAVY = ("pandas", "astropy", "pydantic", "xarray", "dask", "scipy", "skyfield", "cupy")


def _loaded_after(code: str) -> list[str]:
    probe = f"import sys\n{code}\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return [m for m in out.stdout.strip().split(",") if m]


def test_import_api_is_light():
    assert _loaded_after("import qsat, qsat.api") == []


def test_help_is_light():
    code = ("import contextlib, io, qsat.cli\nwith contextlib.redirect_stdout(io.StringIO()):\n"
            "    try:\n        qsat.cli.main(['--help'])\n    except SystemExit:\n        pass")
    assert _loaded_after(code) == []


def test_every_public_name_resolves():
    for name in qsat.api.__all__:
        assert getattr(qsat.api, name) is not None
    assert "compute_passes" in dir(qsat.api)
