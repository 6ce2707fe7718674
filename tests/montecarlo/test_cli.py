"""``qsat montecarlo``: a run on a real scenario, a client killed mid-run and resumed, bad input."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import zarr

from qsat.cli import main
from tests.montecarlo.conftest import SCENARIO

ROOT = Path(__file__).resolve().parents[2]


def _marks(path):
    return np.asarray(zarr.open_group(str(path), mode="r", use_consolidated=False)["checkpoint/chunk_done"][...])


def _samples(path):
    group = zarr.open_group(str(path), mode="r")["samples"]
    return {k: np.asarray(group[k][...]) for k in group.array_keys()}


def test_cli_writes_statistics_with_provenance(scenario_file, tmp_path, capsys):
    out = tmp_path / "mc.zarr"
    assert main(["montecarlo", str(scenario_file), "--trials", "32", "--seed", "9", "--out", str(out)]) == 0
    assert "secret key over all passes" in capsys.readouterr().out
    ds = xr.open_zarr(out)
    for name in ("pass_secret_key_bits_mean", "pass_secret_key_bits_quantile", "pass_secret_key_bits_histogram",
                 "budget_secret_key_bits_quantile", "budget_secret_key_bits_histogram",
                 "station_budget_secret_key_bits_mean", "pass_clear_fraction"):
        assert name in ds, name
    assert ds.sizes["quantile"] == 3 and ds.sizes["bin"] == 40
    assert int(ds["pass_secret_key_bits_histogram"].sum("bin").max()) == 32
    for name in ("seed", "scenario_sha256", "qsat_version", "backend", "trials", "engine"):
        assert name in ds.attrs, name
    assert ds.attrs["seed"] == "9" and ds.attrs["trials"] == 32 and ds.attrs["backend"] == "numpy"
    samples = xr.open_zarr(out, group="samples")
    assert samples["secret_key_bits"].dims == ("trial", "pass") and samples.sizes["trial"] == 32
    # the station's clear-sky probability (0.7) shows in the clear fraction
    assert abs(float(ds["pass_clear_fraction"].mean()) - 0.7) < 0.2
    # resuming against a changed scenario is refused with the reason
    changed = tmp_path / "changed.toml"
    changed.write_text(SCENARIO.replace('pointing_jitter = "1 urad"', 'pointing_jitter = "2 urad"'))
    assert main(["montecarlo", str(changed), "--trials", "32", "--seed", "9", "--out", str(out), "--resume"]) == 2
    err = capsys.readouterr().err
    assert "scenario changed" in err and "mc-test" in err


def test_client_killed_mid_run_resumes_without_recomputing_finished_chunks(scenario_file, tmp_path):
    out = tmp_path / "mc.zarr"
    cmd = [sys.executable, "-m", "qsat", "montecarlo", str(scenario_file), "--trials", "600", "--seed", "5",
           "--trial-chunk", "30", "--pass-chunk", "1", "--no-progress"]
    env = dict(os.environ)
    proc = subprocess.Popen(cmd + ["--out", str(out)], cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if (out / "checkpoint" / "chunk_done").exists() and _marks(out).sum() >= 3:
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the run ended before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(30)
    first = _marks(out)
    assert 0 < np.count_nonzero(first) < first.size
    resumed = subprocess.run(cmd + ["--out", str(out), "--resume"], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=180)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{np.count_nonzero(first)} of {first.size} chunks already done" in resumed.stderr
    second = _marks(out)
    assert np.all(second[first > 0] == 1) and np.all(second[first == 0] == 2)
    reference = tmp_path / "ref.zarr"
    fresh = subprocess.run(cmd[:-5] + ["--trial-chunk", "600", "--pass-chunk", "8", "--out", str(reference)],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert fresh.returncode == 0, fresh.stderr
    a, b = _samples(out), _samples(reference)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    ds_a, ds_b = xr.open_zarr(out), xr.open_zarr(reference)
    for name in ds_a.data_vars:
        np.testing.assert_array_equal(ds_a[name].values, ds_b[name].values, err_msg=name)


def test_bad_input_fails_fast_with_the_field(scenario_file, tmp_path, capsys):
    out = str(tmp_path / "x.zarr")
    for args, field in ((["--trials", "0"], "--trials"), (["--trials", "-3"], "--trials"),
                        (["--seed", "-1"], "--seed"), (["--seed", str(2**64)], "--seed"),
                        (["--trial-chunk", "0"], "--trial-chunk")):
        assert main(["montecarlo", str(scenario_file), "--out", out] + args) == 2
        assert f"qsat: error: {field}:" in capsys.readouterr().err
    t0 = time.monotonic()
    assert main(["montecarlo", str(scenario_file), "--out", out, "--scheduler", "tcp://127.0.0.1:9",
                 "--connect-timeout", "1"]) == 2
    assert time.monotonic() - t0 < 10
    err = capsys.readouterr().err
    assert "--scheduler: tcp://127.0.0.1:9; expected the address of a running Dask scheduler" in err


def test_pipeline_stage_adds_the_statistics(scenario_file):
    from qsat.montecarlo.stage import run_stage
    from qsat.pipeline import execute
    from qsat.scenario import load

    run = execute(load(scenario_file), backend="numpy", until="link")
    run_stage(run)
    ds = run.products["montecarlo"]
    assert ds.attrs["trials"] == 64 and ds.attrs["seed"] == "7"
    assert ds["pass_secret_key_bits_quantile"].sizes["pass"] == len(run.products["passes"])


@pytest.mark.filterwarnings("ignore::qsat.errors.QsatWarning")  # the keys stage's dead-time note, recorded in the run
def test_qsat_run_writes_the_montecarlo_product_of_qsat_montecarlo(scenario_file, tmp_path, capsys):
    """The montecarlo stage of ``qsat run``: same seed, same numbers as ``qsat montecarlo``, in the output schema."""
    import json

    out_dir = tmp_path / "run"
    assert main(["run", str(scenario_file), "--out", str(out_dir), "--no-figures", "--no-export"]) == 0
    assert "montecarlo.nc" in capsys.readouterr().out
    store = tmp_path / "mc.zarr"
    assert main(["montecarlo", str(scenario_file), "--out", str(store)]) == 0
    reference = xr.open_zarr(store)
    with xr.open_dataset(out_dir / "montecarlo.nc") as ds:
        assert ds.attrs["product"] == "montecarlo" and ds.attrs["schema_version"]
        assert ds.attrs["trials"] == 64 and str(ds.attrs["seed"]) == "7"
        assert set(reference.data_vars) <= set(ds.data_vars)
        for name in reference.data_vars:
            np.testing.assert_array_equal(ds[name].values, reference[name].values, err_msg=name)
    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary["montecarlo"]["trials"] == 64
    assert summary["montecarlo"]["budget_secret_key_bits_mean"] == float(reference["budget_secret_key_bits_mean"])


def test_scenarios_without_a_montecarlo_section_skip_the_stage():
    from qsat.pipeline import STAGES
    from qsat.scenario import load

    names = [s.name for s in STAGES]
    assert names[-1] == "montecarlo" and names.index("budget") < names.index("montecarlo")  # `qsat budget` stops before
    stage = STAGES[-1]
    examples = sorted((ROOT / "examples").glob("*.toml"))
    assert examples
    with_mc = []
    for path in examples:  # the stage runs exactly for the examples with a [montecarlo] section
        scenario = load(path)
        assert stage.applies(scenario) == (scenario.montecarlo is not None), path.name
        if scenario.montecarlo is not None:
            with_mc.append(path.name)
    assert with_mc == ["uplink_ngari_micius.toml"] and len(examples) > len(with_mc)


def test_montecarlo_without_a_protocol_is_skipped_with_a_warning(tmp_path):
    from qsat.errors import QsatWarning
    from qsat.pipeline import execute
    from qsat.scenario import load

    path = tmp_path / "no-protocol.toml"
    path.write_text(SCENARIO.replace("[protocol]\n", "").replace('duration = "2 d"', 'duration = "6 h"'))
    with pytest.warns(QsatWarning, match=r"montecarlo: skipped.*no \[protocol\]"):
        run = execute(load(path), backend="numpy")
    assert "montecarlo" not in run.products and "link" in run.products
