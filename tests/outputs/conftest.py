"""One run of the README's main command on a fresh install, shared by the output tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "micius_xinglong.toml"


def _run(args, **kwargs):
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300, **kwargs)
    assert proc.returncode == 0, (proc.stdout[-2000:], proc.stderr[-2000:])
    return proc


@pytest.fixture(scope="session")
def micius_out(tmp_path_factory) -> Path:
    """``qsat run examples/micius_xinglong.toml --out out/`` as the README says, with qsat freshly
    built as a wheel and installed into an empty folder (dependencies from this environment),
    run from a folder outside the source tree that holds a copy of ``examples/``."""
    work = tmp_path_factory.mktemp("fresh")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(work / "dist"),
          str(ROOT)])
    wheel = next((work / "dist").glob("qsat-*.whl"))
    site = work / "site"
    _run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-compile", "-q", "--target", str(site), str(wheel)])
    user = work / "user"
    shutil.copytree(ROOT / "examples", user / "examples")
    env = {**os.environ, "PYTHONPATH": str(site), "QSAT_BACKEND": "numpy"}
    where = _run([sys.executable, "-c", "import qsat; print(qsat.__file__)"], cwd=user, env=env).stdout
    assert where.startswith(str(site)), where  # the installed qsat, not the source tree
    script = site / "bin" / "qsat"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "qsat"]
    _run([*command, "run", "examples/micius_xinglong.toml", "--out", "out/"], cwd=user, env=env)
    return user / "out"
