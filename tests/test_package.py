"""Packaging: import cost, backends, and a built wheel that carries kernels/ and ephemerides/."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_never_imports_cupy():
    code = "import sys, qsat, qsat.api; assert 'cupy' not in sys.modules, 'cupy imported'; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ,
                         "QSAT_BACKEND": "auto"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_backend_choice_errors():
    from qsat.backend import resolve
    from qsat.errors import QsatInputError

    assert resolve("numpy") == "numpy"
    with pytest.raises(QsatInputError, match="backend: tpu; expected one of numpy, cupy, auto"):
        resolve("tpu")


def test_backend_from_environment(monkeypatch):
    from qsat.backend import gpu_available, resolve

    monkeypatch.setenv("QSAT_BACKEND", "numpy")
    assert resolve() == "numpy"
    monkeypatch.setenv("QSAT_BACKEND", "auto")
    assert resolve() == ("cupy" if gpu_available() else "numpy")


def test_cli_version_and_help():
    from qsat import __version__

    out = subprocess.run([sys.executable, "-m", "qsat", "--version"], capture_output=True, text=True)
    assert out.stdout.strip() == f"qsat {__version__}"
    out = subprocess.run([sys.executable, "-m", "qsat", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "run" in out.stdout and "passes" in out.stdout


@pytest.mark.slow
def test_wheel_carries_data_and_works_outside_the_tree(tmp_path):
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                            "-w", str(tmp_path / "dist"), str(ROOT)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next((tmp_path / "dist").glob("qsat-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for required in ("qsat/_data/kernels/geometry.cu", "qsat/_data/kernels/qsat_cuda.cuh",
                     "qsat/_data/ephemerides/ground_stations.csv", "qsat/_data/ephemerides/tle/micius_2016.tle",
                     "qsat/_data/examples/micius_xinglong.toml", "qsat/_data/examples/elements/leo_constellation.tle"):
        assert required in names, required
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), "the MIT license travels with the wheel"
    target = tmp_path / "site"
    inst = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-compile", "--target",
                           str(target), str(wheel)], capture_output=True, text=True)
    assert inst.returncode == 0, inst.stderr[-2000:]
    code = ("import qsat, qsat._paths as p, qsat.kernels as k, qsat.orbits.stations as s;"
            "print(qsat.__file__); print(p.kernels_dir()); print(p.ephemerides_dir());"
            "print(len(k.kernel_names()), len(s.catalog()))")
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split("\n")
    assert all(line.startswith(str(target)) for line in lines[:3]), out.stdout
    n_kernels, n_stations = map(int, lines[3].split())
    assert n_kernels >= 2 and n_stations >= 8

    # the examples come out of the installed wheel, and run from where they were copied
    user = tmp_path / "user"
    user.mkdir()
    qsat_cmd = [sys.executable, "-m", "qsat"]
    copied = subprocess.run([*qsat_cmd, "examples", "--out", "ex"], capture_output=True, text=True, cwd=user, env=env)
    assert copied.returncode == 0, copied.stderr
    shipped = sorted(p.relative_to(ROOT / "examples") for p in (ROOT / "examples").rglob("*") if p.is_file())
    assert sorted(p.relative_to(user / "ex") for p in (user / "ex").rglob("*") if p.is_file()) == shipped
    from qsat.scenario import load

    named = [load(path).resolve_path(f) for path in (user / "ex").glob("*.toml") for sat in load(path).satellites
             for f in (sat.tle_file, sat.omm_file) if f is not None]
    assert named and all(p.is_file() for p in named), named  # the copies find the element files they name
    # qsat validate writes only where asked: into the current folder, never into the installation
    check = subprocess.run([*qsat_cmd, "validate", "--check"], capture_output=True, text=True, cwd=user, env=env)
    assert check.returncode == 2 and check.stderr.startswith("qsat: error: --check: validation.md; expected an "
                                                             "existing validation table"), check.stderr
    wrote = subprocess.run([*qsat_cmd, "validate"], capture_output=True, text=True, cwd=user, env=env)
    assert wrote.returncode == 0, wrote.stderr
    assert (user / "validation.md").read_text() == (ROOT / "docs" / "validation.md").read_text()
    assert not (target / "docs").exists()
    check = subprocess.run([*qsat_cmd, "validate", "--check"], capture_output=True, text=True, cwd=user, env=env)
    assert check.returncode == 0, check.stderr


def test_every_gpu_test_carries_the_gpu_marker():
    """benchmarks/gpu_check.py runs ``pytest -m gpu``: a GPU test without the marker never runs there."""
    import ast
    from pathlib import Path

    missing = []
    for path in Path(__file__).parent.rglob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef):
                continue
            decorators = [ast.unparse(d) for d in node.decorator_list]
            needs_gpu = any("gpu_available" in d or "CUDA" in d for d in decorators)
            if needs_gpu and "pytest.mark.gpu" not in decorators:
                missing.append(f"{path.name}::{node.name}")
    assert not missing, f"GPU tests without @pytest.mark.gpu: {missing}"
