"""Monte Carlo on Dask: reproducible across chunking and workers, checkpoint/resume, faults, bad input.

The two-worker tests run a real ``distributed.LocalCluster`` with two worker processes.
"""

import os
import signal
import threading
import time

import numpy as np
import pytest
import zarr

from qsat.errors import QsatInputError
from qsat.montecarlo.run import run_montecarlo
from tests.montecarlo.conftest import make_inputs

IDENTITY = {"scenario_sha256": "a" * 64, "scenario_name": "synthetic"}


@pytest.fixture(scope="module")
def two_workers():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    client = Client(cluster)
    client.wait_for_workers(2)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def mc_inputs():
    return make_inputs()


def _samples(path):
    group = zarr.open_group(str(path), mode="r")["samples"]
    return {k: np.asarray(group[k][...]) for k in group.array_keys()}


def _same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def _marks(path):
    return np.asarray(zarr.open_group(str(path), mode="r")["checkpoint/chunk_done"][...])


def test_same_seed_same_result_for_any_chunking_and_one_or_two_workers(mc_inputs, two_workers, tmp_path):
    kw = dict(trials=24, seed=2**63 + 5, identity=IDENTITY, bins=12)
    one = run_montecarlo(mc_inputs, out=tmp_path / "one.zarr", trial_chunk=24, pass_chunk=4, **kw)  # in-process
    two = run_montecarlo(mc_inputs, out=tmp_path / "two.zarr", trial_chunk=5, pass_chunk=3, client=two_workers, **kw)
    mem = run_montecarlo(mc_inputs, trial_chunk=7, pass_chunk=1, client=two_workers, **kw)
    direct = run_montecarlo(mc_inputs, out=tmp_path / "direct.zarr", trial_chunk=6, pass_chunk=2, client=two_workers,
                            write_on_workers=True, **kw)
    assert len(two_workers.scheduler_info()["workers"]) == 2
    _same(_samples(tmp_path / "one.zarr"), _samples(tmp_path / "two.zarr"))
    _same(_samples(tmp_path / "one.zarr"), _samples(tmp_path / "direct.zarr"))
    for ds in (two, mem, direct):
        for name in one.data_vars:
            np.testing.assert_array_equal(one[name].values, ds[name].values, err_msg=name)
    assert _marks(tmp_path / "two.zarr").shape == (5, 2) and np.all(_marks(tmp_path / "two.zarr") == 1)
    other = run_montecarlo(mc_inputs, trial_chunk=24, pass_chunk=4, client=two_workers,
                           **{**kw, "seed": 6})
    assert not np.array_equal(one["pass_secret_key_bits_mean"].values, other["pass_secret_key_bits_mean"].values)
    for name in ("seed", "trials", "backend", "engine", "scenario_sha256"):
        assert name in one.attrs
    assert one.attrs["seed"] == str(2**63 + 5)


def test_resume_recomputes_only_unfinished_chunks(mc_inputs, two_workers, tmp_path):
    out = tmp_path / "r.zarr"
    kw = dict(trials=20, seed=3, identity=IDENTITY, trial_chunk=5, pass_chunk=2, client=two_workers,
              store_counts=True)
    full = run_montecarlo(mc_inputs, out=out, **kw)
    reference = _samples(out)
    assert reference["counts"].shape == (20, 4, 12) and np.all(reference["counts"] >= 0)
    # a run interrupted after some chunks: drop the marks (and data) of the others
    root = zarr.open_group(str(out), mode="r+", use_consolidated=False)
    keep = np.zeros((4, 2), dtype=bool)
    keep[[0, 2], 0] = keep[1, 1] = True
    for ti, pi in zip(*np.nonzero(~keep)):
        root["checkpoint/chunk_done"][ti, pi] = 0
        for name in root["samples"].array_keys():
            root["samples"][name][ti * 5:(ti + 1) * 5, pi * 2:(pi + 1) * 2] = np.nan
    with pytest.raises(QsatInputError, match="--resume"):
        run_montecarlo(mc_inputs, out=out, **kw)
    resumed = run_montecarlo(mc_inputs, out=out, resume=True, **kw)
    marks = _marks(out)
    assert np.all(marks[keep] == 1) and np.all(marks[~keep] == 2)  # finished chunks were not recomputed
    _same(reference, _samples(out))
    for name in full.data_vars:
        np.testing.assert_array_equal(full[name].values, resumed[name].values, err_msg=name)


@pytest.mark.parametrize("change, reason", [({"identity": {"scenario_sha256": "b" * 64, "scenario_name": "other"}},
                                              "scenario changed"),
                                             ({"seed": 4}, "seed"), ({"trials": 21}, "trials")])
def test_resume_refuses_a_different_run(mc_inputs, tmp_path, change, reason):
    out = tmp_path / "x.zarr"
    kw = dict(trials=20, seed=3, identity=IDENTITY, trial_chunk=20, pass_chunk=4)
    run_montecarlo(mc_inputs, out=out, **kw)
    with pytest.raises(QsatInputError, match=reason) as err:
        run_montecarlo(mc_inputs, out=out, resume=True, **{**kw, **change})
    assert str(out) in str(err.value)


def test_resume_refuses_other_inputs_from_the_same_scenario(mc_inputs, tmp_path):
    """Same scenario file, other numbers (a model or version change): refused, so a run never mixes
    chunks computed from different inputs."""
    import dataclasses

    out = tmp_path / "v.zarr"
    kw = dict(trials=20, seed=3, identity=IDENTITY, trial_chunk=20, pass_chunk=4)
    run_montecarlo(mc_inputs, out=out, **kw)
    steps = mc_inputs.steps.copy()
    steps[0, 0, 0] *= 1.0 + 1e-12
    with pytest.raises(QsatInputError, match="same Monte Carlo inputs") as err:
        run_montecarlo(dataclasses.replace(mc_inputs, steps=steps), out=out, resume=True, **kw)
    assert str(out) in str(err.value)


def test_worker_killed_mid_run_is_rescheduled_with_identical_result(mc_inputs, two_workers, tmp_path):
    kw = dict(trials=64, seed=11, identity=IDENTITY, trial_chunk=4, pass_chunk=1, engine="twin")
    reference = run_montecarlo(mc_inputs, client=two_workers, **{**kw, "trial_chunk": 64, "pass_chunk": 4})
    out = tmp_path / "k.zarr"
    result = {}

    def work():
        result["ds"] = run_montecarlo(mc_inputs, out=out, client=two_workers, **kw)

    before = two_workers.run(os.getpid)
    thread = threading.Thread(target=work)
    thread.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if (out / "checkpoint" / "chunk_done").exists() and _marks(out).sum() >= 4:
            break
        time.sleep(0.02)
    done_at_kill = int(_marks(out).sum())
    victim = sorted(before.values())[0]
    os.kill(victim, signal.SIGKILL)
    thread.join(120)
    assert not thread.is_alive()
    assert done_at_kill < _marks(out).size  # the kill happened mid-run
    after = two_workers.run(os.getpid)
    assert victim not in after.values()
    ds = result["ds"]
    for name in reference.data_vars:
        np.testing.assert_array_equal(reference[name].values, ds[name].values, err_msg=name)


@pytest.mark.parametrize("trials", [0, -5, 2**32, 2.5, True])
def test_bad_trials(mc_inputs, trials):
    with pytest.raises(QsatInputError, match="--trials"):
        run_montecarlo(mc_inputs, trials=trials, seed=1)


@pytest.mark.parametrize("field, value", [("trial_chunk", 0), ("pass_chunk", -2)])
def test_bad_chunks(mc_inputs, field, value):
    with pytest.raises(QsatInputError, match=f"--{field.replace('_', '-')}"):
        run_montecarlo(mc_inputs, trials=10, seed=1, **{field: value})


@pytest.mark.parametrize("seed", [-1, 2**64, 1.5])
def test_bad_seed(mc_inputs, seed):
    with pytest.raises(QsatInputError, match="--seed"):
        run_montecarlo(mc_inputs, trials=10, seed=seed)


def test_unreachable_scheduler_fails_fast_with_a_clear_error(mc_inputs):
    t0 = time.monotonic()
    with pytest.raises(QsatInputError, match="no connection within 2 s"):
        run_montecarlo(mc_inputs, trials=10, seed=1, scheduler="tcp://127.0.0.1:9", connect_timeout=2.0)
    assert time.monotonic() - t0 < 15


def test_progress_line_shows_counts_and_eta():
    import io

    from qsat.montecarlo.run import Progress

    stream = io.StringIO()
    bar = Progress(total=10, done=2, stream=stream, enabled=True, width=10)
    assert "ETA --:--" in bar.line()  # nothing finished in this session yet
    bar.t0 -= 4.0  # 4 s elapsed ...
    bar.update(2)  # ... for 2 chunks: 6 left at 2 s each
    line = stream.getvalue().strip().splitlines()[-1]
    assert line.startswith("[####......] 4/10 chunks") and "ETA 0:00:12" in line


def test_dual_downlink_entanglement_statistics_per_pair_of_passes(two_workers, tmp_path):
    inputs = make_inputs({"protocol": "bbm92", "dual_downlink": True, "pair_rate_hz": 2e7})
    kw = dict(trials=40, seed=8, identity=IDENTITY, bins=10, client=two_workers)
    ds = run_montecarlo(inputs, out=tmp_path / "e.zarr", trial_chunk=7, pass_chunk=1, **kw)
    again = run_montecarlo(inputs, trial_chunk=40, pass_chunk=2, **kw)
    assert list(ds["pass_a"].values) == [100, 102] and list(ds["pass_b"].values) == [101, 103]
    for name in ("pass_entangled_pairs_histogram", "budget_entangled_pairs_quantile", "pass_secret_key_bits_mean"):
        assert name in ds
        np.testing.assert_array_equal(ds[name].values, again[name].values)
    assert int(ds["pass_entangled_pairs_histogram"].sum("bin")[0]) == 40


@pytest.mark.gpu
def test_cupy_backend_matches_the_host_build(mc_inputs, tmp_path):
    """The whole run on the GPU (kernel and keys in CuPy) against the CPU run of the same seed."""
    kw = dict(trials=64, seed=12, identity=IDENTITY, trial_chunk=16, pass_chunk=2)
    cpu = run_montecarlo(mc_inputs, out=tmp_path / "cpu.zarr", **kw)
    gpu = run_montecarlo(mc_inputs, out=tmp_path / "gpu.zarr", backend="cupy", **kw)
    a, b = _samples(tmp_path / "cpu.zarr"), _samples(tmp_path / "gpu.zarr")
    # FMA contraction / libdevice may move a rare Poisson acceptance test: compare element-wise
    same = np.isclose(a["secret_key_bits"], b["secret_key_bits"], rtol=1e-9, atol=1)
    assert same.mean() > 0.99
    np.testing.assert_allclose(b["mean_transmittance"], a["mean_transmittance"], rtol=1e-9)
    assert gpu.attrs["backend"] == "cupy" and gpu.attrs["engine"] == "kernel"
    assert cpu["pass_secret_key_bits_mean"].values == pytest.approx(gpu["pass_secret_key_bits_mean"].values, rel=1e-3)
