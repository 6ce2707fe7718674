"""The pass stage on Dask: identical to the single-process run for any partitioning."""

from __future__ import annotations

import pandas as pd
import pytest
import xarray as xr

pytest.importorskip("distributed")

from qsat.orbits.distributed import compute_passes_distributed, partition  # noqa: E402
from qsat.orbits.stage import compute_passes  # noqa: E402
from qsat.scenario import loads  # noqa: E402

SCENARIO = """
[time]
start = "2026-06-08T00:00:00Z"
duration = "2 d"
step = "5 s"
{sats}
[[ground_stations]]
name = "Tenerife"
[[ground_stations]]
name = "Graz"
[[ground_stations]]
name = "South"
latitude_deg = -35.0
longitude_deg = 149.0
altitude_m = 600.0
"""
SATS = ("ISS", "MICIUS", "SPOOQY-1", "CSS", "TIANGONG-2")


@pytest.fixture(scope="module")
def scenario():
    return loads(SCENARIO.format(sats="".join(f'[[satellites]]\nname = "{n}"\n' for n in SATS)))


@pytest.fixture(scope="module")
def single(scenario):
    return compute_passes(scenario)


@pytest.fixture(scope="module")
def client():
    from qsat.montecarlo.run import open_client

    client, owned = open_client(workers=2)
    yield client
    cluster = client.cluster
    client.close()
    if owned and cluster is not None:
        cluster.close()


@pytest.mark.parametrize("sat_block, time_block_s", [(None, None), (2, 6 * 3600.0), (1, 86400.0), (3, 5000.0)])
def test_identical_to_single_process(scenario, single, client, sat_block, time_block_s):
    got = compute_passes_distributed(scenario, client, sat_block=sat_block, time_block_s=time_block_s)
    assert len(single.passes) > 30
    pd.testing.assert_frame_equal(got.passes, single.passes)
    xr.testing.assert_identical(got.geometry, single.geometry)
    assert got.warnings == single.warnings


def test_partition_covers_everything_once():
    sats, spans = partition(7, 86400.0, 300.0, 3, 10000.0)
    assert sats == [[0, 1, 2], [3, 4, 5], [6]]
    assert spans[0][0] == 0.0 and spans[-1][1] == 86400.0
    assert all(a[1] == b[0] for a, b in zip(spans[:-1], spans[1:]))
    assert all(s[0] % 300.0 == 0.0 for s in spans)  # tasks start on screen samples


def _cli(tmp_path, scenario_text, *args):
    import subprocess
    import sys

    path = tmp_path / "s.toml"
    path.write_text(scenario_text)
    return subprocess.run([sys.executable, "-m", "qsat", "passes", str(path), *args], capture_output=True,
                          text=True)


def test_cli_local_workers_match_single_process(tmp_path):
    text = SCENARIO.format(sats="".join(f'[[satellites]]\nname = "{n}"\n' for n in SATS[:3]))
    one = _cli(tmp_path, text, "--out", str(tmp_path / "one.csv"))
    two = _cli(tmp_path, text, "--out", str(tmp_path / "two.csv"), "--workers", "2", "--sat-block", "2",
               "--time-block", "12 h")
    assert one.returncode == 0 and two.returncode == 0, two.stderr[-2000:]
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "two.csv"), pd.read_csv(tmp_path / "one.csv"))


@pytest.mark.parametrize("args, message", [
    (["--workers", "0"], "--workers: 0; expected a positive number"),
    (["--workers", "1", "--time-block", "-1 h"], "--time-block: -1 h; expected a positive duration"),
    (["--workers", "1", "--time-block", "3 m"], "--time-block: 3 m; expected a time in units convertible to 's'"),
    (["--scheduler", "tcp://127.0.0.1:9"], "--scheduler: tcp://127.0.0.1:9; expected the address"),
])
def test_cli_bad_cluster_options_one_line(tmp_path, args, message):
    text = SCENARIO.format(sats='[[satellites]]\nname = "ISS"\n')
    result = _cli(tmp_path, text, "--out", str(tmp_path / "p.csv"), *args)
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.startswith(f"qsat: error: {message}"), result.stderr
    assert "Traceback" not in result.stderr
