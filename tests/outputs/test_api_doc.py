"""The Python API as documented: every example of docs/api.md and the README's runs as written."""

from __future__ import annotations

import re
import shutil

import pytest

from .conftest import ROOT

FENCE = re.compile(r"```python\n(.*?)```", re.S)


def _blocks(text: str) -> list[str]:
    return FENCE.findall(text)


def test_api_doc_examples_run(tmp_path, monkeypatch, capsys):
    blocks = _blocks((ROOT / "docs" / "api.md").read_text(encoding="utf-8"))
    assert len(blocks) == 2
    monkeypatch.chdir(tmp_path)
    for code in blocks:
        exec(compile(code, "docs/api.md", "exec"), {})
    out = capsys.readouterr().out
    assert "Xinglong" in out and "constraints.night_only: 'yes'; expected true or false" in out
    assert (tmp_path / "out-api" / "summary.json").is_file()


@pytest.mark.filterwarnings("ignore::qsat.errors.QsatWarning")  # the example's recorded model notes
def test_readme_api_example_runs(tmp_path, monkeypatch, capsys):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Python API"):readme.index("## Scenarios")]
    (code,) = _blocks(section)
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    assert "Xinglong" in capsys.readouterr().out
    assert {"passes.csv", "keys.nc", "summary.json"} <= {p.name for p in (tmp_path / "out").iterdir()}


def test_every_api_name_is_documented():
    import qsat.api

    doc = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    missing = [name for name in qsat.api.__all__ if name not in doc]
    assert not missing, f"docs/api.md does not mention {missing}"
