"""One run of the README's main command, shared by the output tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "micius_xinglong.toml"


@pytest.fixture(scope="session")
def micius_out(tmp_path_factory) -> Path:
    """``qsat run examples/micius_xinglong.toml --out DIR`` in a fresh process (no install needed:
    ``python -m qsat`` from the repository root), as a person runs it."""
    out = tmp_path_factory.mktemp("micius") / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "QSAT_BACKEND": "numpy"}
    proc = subprocess.run([sys.executable, "-m", "qsat", "run", str(EXAMPLE.relative_to(ROOT)), "--out", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return out
