"""Servers qsat starts listen on loopback; bad ``qsat montecarlo`` input is refused before any computing."""

import ipaddress
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import zarr

from qsat.cli import main
from qsat.montecarlo.run import FORMAT_VERSION, dashboard_link, open_client
from qsat.scenario import load

psutil = pytest.importorskip("psutil")
ROOT = Path(__file__).resolve().parents[2]


def _listening(root_pid: int) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket listening in ``root_pid`` and its descendants."""
    found = set()
    try:
        root = psutil.Process(root_pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return found
    for proc in procs:
        try:
            conns = proc.net_connections(kind="tcp")
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        found |= {(c.laddr.ip, c.laddr.port) for c in conns if c.status == psutil.CONN_LISTEN}
    return found


def _loopback(addresses) -> bool:
    return all(ipaddress.ip_address(ip).is_loopback for ip, _ in addresses)


def _dashboard_is_real(link) -> bool:
    if link is None:  # no dashboard page to show (bokeh is not installed): nothing printed
        return True
    with urllib.request.urlopen(link, timeout=5) as response:
        page = response.read(4096)
        return link.startswith("http://127.0.0.1:") and response.status == 200 and b"needs bokeh" not in page


@pytest.mark.parametrize("workers", [None, 2])
def test_local_clusters_listen_on_loopback_only(workers):
    import os

    client, owned = open_client(workers=workers, threads=1)
    try:
        assert owned
        addresses = _listening(os.getpid())
        assert addresses, "a local cluster with a dashboard listens somewhere"
        assert _loopback(addresses), addresses
        assert _dashboard_is_real(dashboard_link(client, "127.0.0.1"))
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()


def test_another_interface_is_used_when_named():
    import os

    client, _ = open_client(workers=2, threads=1, host="127.0.0.2")  # still loopback, but not the default
    try:
        addresses = _listening(os.getpid())
        assert addresses and {ip for ip, _ in addresses} == {"127.0.0.2"}, addresses
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()


def test_an_external_scheduler_gets_a_dashboard_link_only_where_the_page_exists():
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address="127.0.0.1:0",
                      worker_dashboard_address="127.0.0.1:0") as cluster:
        client, owned = open_client(cluster.scheduler_address)
        try:
            assert not owned
            link = dashboard_link(client)
            import importlib.util

            if importlib.util.find_spec("bokeh") is None:  # the scheduler's page only says bokeh is missing
                assert link is None
            else:
                assert link == f"http://127.0.0.1:{cluster.scheduler.http_server.port}/status"
                assert _dashboard_is_real(link)
        finally:
            client.close()


def test_a_real_run_listens_on_loopback_only(scenario_file, tmp_path):
    cmd = [sys.executable, "-m", "qsat", "montecarlo", str(scenario_file), "--trials", "400", "--seed", "3",
           "--workers", "2", "--trial-chunk", "20", "--pass-chunk", "1", "--no-progress",
           "--out", str(tmp_path / "mc.zarr")]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = set()
    try:
        while proc.poll() is None:
            seen |= _listening(proc.pid)
            time.sleep(0.05)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert len(seen) >= 3, f"the scheduler and two workers were never seen listening: {seen}"
    assert _loopback(seen), seen
    assert "Dask dashboard at" not in err or "Dask dashboard at http://127.0.0.1:" in err, err


def _fake_checkpoint(path: Path, scenario, seed="7", trials=64):
    root = zarr.open_group(str(path), mode="w", zarr_format=2)
    root.create_group("checkpoint").attrs.update(
        format_version=FORMAT_VERSION, scenario_sha256=scenario.digest(), scenario_name=scenario.name,
        seed=seed, trials=trials)


@pytest.fixture
def no_stages(monkeypatch):
    """Any pass/link computing fails the test: refusals must come before it."""
    import qsat.pipeline

    def refuse(*args, **kwargs):
        raise AssertionError("the pass and link stages ran before the input was refused")

    monkeypatch.setattr(qsat.pipeline, "execute", refuse)


@pytest.mark.parametrize("args, expected", [
    ([], "--resume: {out}; expected an existing checkpoint to continue"),
    (["--seed", "8"], "the same seed as the checkpoint (seed there: '7', asked now: '8')"),
    (["--trials", "65"], "the same trials as the checkpoint (trials there: 64, asked now: 65)"),
    (["--seed", "7", "--trials", "64", "--scheduler", "tcp://127.0.0.1:9", "--host", "0.0.0.0"],
     "--host: 0.0.0.0; expected no --host with --scheduler"),
])
def test_resume_is_checked_before_any_computing(scenario_file, tmp_path, capsys, no_stages, args, expected):
    out = tmp_path / "mc.zarr"
    if args:
        _fake_checkpoint(out, load(scenario_file))
    assert main(["montecarlo", str(scenario_file), "--out", str(out), "--resume", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected.format(out=out) in err, err


def test_resume_checks_the_scenario_before_any_computing(scenario_file, tmp_path, capsys, no_stages):
    out = tmp_path / "mc.zarr"
    _fake_checkpoint(out, load(scenario_file))
    scenario_file.write_text(scenario_file.read_text().replace("seed = 7", "seed = 7\ndescription = 'other'"))
    assert main(["montecarlo", str(scenario_file), "--out", str(out), "--resume"]) == 2
    assert "the scenario changed" in capsys.readouterr().err


@pytest.mark.parametrize("where", ["under_a_file", "a_file_resumed"])
def test_out_that_cannot_hold_a_store_is_refused(scenario_file, tmp_path, capsys, no_stages, where):
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    out, extra = (blocker / "mc.zarr", []) if where == "under_a_file" else (blocker, ["--resume"])
    assert main(["montecarlo", str(scenario_file), "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"qsat: error: --") and str(out) in err and err.count("\n") == 1, err


def test_missing_extra_is_named(scenario_file, tmp_path, capsys, monkeypatch, no_stages):
    monkeypatch.setitem(sys.modules, "distributed", None)
    assert main(["montecarlo", str(scenario_file), "--out", str(tmp_path / "mc.zarr")]) == 2
    err = capsys.readouterr().err
    assert "qsat montecarlo: needs distributed" in err and "pip install 'qsat[montecarlo]'" in err
