"""Output paths checked before any computing, products moved into place whole, progress, files listed."""

from __future__ import annotations

import io
import json
import sys
import threading
from pathlib import Path

import pytest

from qsat.cli import main
from qsat.errors import QsatError
from qsat.progress import Stages

from .test_formats import SHORT


@pytest.fixture
def short(tmp_path) -> Path:
    path = tmp_path / "short.toml"
    path.write_text(SHORT)
    return path


@pytest.fixture
def no_computing(monkeypatch):
    """Any pipeline stage fails the test: a refusal must come before them."""
    import qsat.orbits.stage
    import qsat.pipeline

    def refuse(*args, **kwargs):
        raise AssertionError("computing started before the input was refused")

    monkeypatch.setattr(qsat.pipeline, "execute", refuse)
    monkeypatch.setattr(qsat.orbits.stage, "compute_passes", refuse)


def _one_line(capsys, start: str) -> str:
    err = capsys.readouterr().err
    assert err.startswith(f"qsat: error: {start}") and err.count("\n") == 1, err
    return err


# --- refusals, before any computing ---------------------------------------------------------------

def test_run_refuses_a_folder_that_holds_files(short, tmp_path, capsys, no_computing):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.nc").write_text("stale")
    assert main(["run", str(short), "--out", str(out)]) == 2
    _one_line(capsys, f"--out: {out}; expected an empty or new folder (this one holds files; --overwrite")
    assert (out / "old.nc").read_text() == "stale"


@pytest.mark.parametrize("command, out, message", [
    ("run", "a_file", "--out: {out}; expected a folder (this is an existing file)"),
    ("run", "a_file/out", "--out: {out}; expected a path that can be created ({tmp}/a_file is a file"),
    ("passes", "a_file/p.csv", "--out: {out}; expected a path that can be created"),
    ("passes", "p.nc", "--out: {out}; expected a file name ending in .csv or .parquet (a table)"),
    ("passes", "folder", "--out: {out}; expected a file name ending in .csv or .parquet"),
    ("passes", "folder.csv", "--out: {out}; expected a file name (this is an existing folder)"),
    ("link", "link.csv", "--out: {out}; expected a file name ending in .nc or .zarr (a Dataset)"),
    ("link", "folder.zarr", "--out: {out}; expected a new path or an existing Zarr store to replace"),
    ("budget", "budget.csv", "--out: {out}; expected a file name ending in .nc or .zarr"),
    ("plot", "a_file/fig.png", "--out: {out}; expected a path that can be created"),
])
def test_output_paths_are_checked_before_any_computing(short, tmp_path, capsys, no_computing, command, out,
                                                       message):
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder.csv").mkdir()
    (tmp_path / "folder.zarr").mkdir()
    target = tmp_path / out
    source = str(short) if command != "plot" else str(tmp_path / "a_file")
    if command == "plot":
        pytest.importorskip("matplotlib")
    assert main([command, source, "--out", str(target)]) == 2
    _one_line(capsys, message.format(out=target, tmp=tmp_path))


def test_an_unwritable_place_is_refused(short, tmp_path, capsys, no_computing):
    place = Path("/proc/qsat-out")  # no file can be made there, whoever runs the test
    assert main(["run", str(short), "--out", str(place)]) == 2
    _one_line(capsys, f"--out: {place}; expected a location this user can write to")


def test_passes_series_must_be_a_dataset_file(short, tmp_path, capsys, no_computing):
    assert main(["passes", str(short), "--out", str(tmp_path / "p.csv"), "--series", str(tmp_path / "g.csv")]) == 2
    _one_line(capsys, "--series:")


def test_run_names_the_missing_extra_of_a_montecarlo_section(short, tmp_path, capsys, monkeypatch, no_computing):
    monkeypatch.setitem(sys.modules, "distributed", None)
    short.write_text(SHORT + "[montecarlo]\ntrials = 10\n")
    assert main(["run", str(short), "--out", str(tmp_path / "out")]) == 2
    err = _one_line(capsys, "montecarlo (the scenario's [montecarlo] section): needs distributed")
    assert "pip install 'qsat[montecarlo]'" in err


# --- a run: progress, every file listed, moved into place whole ------------------------------------

def test_run_shows_its_stages_and_lists_every_file(short, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(short), "--out", str(out), "--no-figures"]) == 0
    captured = capsys.readouterr()
    stages = [line.split("] ")[1].split(" (")[0] for line in captured.err.splitlines() if line.startswith("qsat run: [")]
    assert stages == ["passes", "link", "keys", "write"]
    listed = [Path(line.strip()) for line in captured.out.splitlines() if line.startswith("  ")]
    on_disk = sorted(p for p in out.rglob("*") if p.is_file())
    assert sorted(listed) == on_disk
    assert {"summary.json", "provenance.json", "passes.provenance.json", "scene.czml"} <= {p.name for p in listed}
    summary = json.loads((out / "summary.json").read_text())
    assert sorted(summary["files"]) == sorted(str(p.relative_to(out)) for p in on_disk)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]  # no staging folder left


def test_quiet_run_shows_no_progress(short, tmp_path, capsys):
    assert main(["run", str(short), "--out", str(tmp_path / "out"), "--no-figures", "--no-export", "--quiet"]) == 0
    assert "qsat run: [" not in capsys.readouterr().err


def test_overwrite_replaces_the_whole_folder_and_a_failure_leaves_it_as_it_was(short, tmp_path, capsys,
                                                                              monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "stale.nc").write_text("from another run")
    import qsat.outputs

    real = qsat.outputs.write_products

    def fail_half_way(run, out_dir, **kwargs):
        real(run, out_dir, **kwargs)
        raise QsatError("disk full")

    monkeypatch.setattr(qsat.outputs, "write_products", fail_half_way)
    args = ["run", str(short), "--out", str(out), "--overwrite", "--no-figures", "--no-export", "-q"]
    assert main(args) == 1
    assert [p.name for p in out.iterdir()] == ["stale.nc"]  # untouched by the failed run
    assert [p.name for p in tmp_path.iterdir() if p.name != short.name] == ["out"]  # nothing half-written beside
    monkeypatch.setattr(qsat.outputs, "write_products", real)
    assert main(args) == 0
    names = {p.name for p in out.iterdir()}
    assert "stale.nc" not in names and {"passes.csv", "keys.nc", "summary.json"} <= names
    capsys.readouterr()


# --- the progress display itself -------------------------------------------------------------------

class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_stage_lines_in_a_log_and_a_still_running_line_in_a_long_stage():
    stream = io.StringIO()
    written = threading.Event()

    class Log(io.StringIO):
        def write(self, text):
            n = stream.write(text)
            if "still running" in text:
                written.set()
            return n

        def flush(self):
            pass

    with Stages(["passes", "link"], label="qsat run", stream=Log(), interval=0.01) as bar:
        bar.start("passes")
        bar.start("link")
        assert written.wait(60), "no periodic line during a long stage"
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("qsat run: [1/2] passes (elapsed ") and lines[1].startswith("qsat run: [2/2] link")
    assert any(line.startswith("qsat run: [2/2] link still running (") for line in lines[2:])


def test_bar_on_a_terminal_is_redrawn_in_place_and_erased():
    stream = _Terminal()
    with Stages(["passes", "link", "write"], label="qsat run", stream=stream, width=6) as bar:
        bar.start("passes")
        bar.start("link")
        assert bar.line().startswith("qsat run [##....] 2/3 link ")
    text = stream.getvalue()
    assert "\n" not in text and text.startswith("\r\033[K") and text.endswith("\r\033[K")


def test_quiet_writes_nothing():
    stream = _Terminal()
    with Stages(["passes"], stream=stream, quiet=True) as bar:
        bar.start("passes")
    assert stream.getvalue() == ""


def test_a_stage_of_known_size_shows_how_far_it_is_and_its_eta():
    stream = _Terminal()
    with Stages(["passes", "write"], label="qsat run", stream=stream, width=4) as bar:
        bar("passes")  # a Stages is the progress callback itself
        assert " 0/" not in bar.line()
        bar.advance(0, 365)
        assert "passes 0/365 groups, ETA --:--" in bar.line()
        bar.advance(73, 365)
        assert "passes 73/365 groups, ETA " in bar.line() and "--:--" not in bar.line()
        bar("write")  # a new stage forgets the old one's size
        assert "groups" not in bar.line()
