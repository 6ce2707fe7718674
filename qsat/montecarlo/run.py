"""Running a Monte Carlo study on Dask: chunks, checkpoint, resume, progress.

The trials × passes grid is cut into chunks of ``trial_chunk`` trials × ``pass_chunk``
passes; each chunk is one Dask task (:func:`compute_chunk`) that runs the fused kernel
(GPU, or its host build) or the NumPy twin and reduces its samples to per-(trial, pass)
keys. Random numbers are keyed by (seed, trial, pass, step), so the result does not depend
on the chunking, the number of workers or the order in which chunks finish.

Where it runs (:func:`open_client`): an existing Dask cluster (``scheduler`` address; a
connect timeout turns an unreachable address into an error within seconds), a local
cluster of ``workers`` processes, or by default an in-process cluster with one thread per
core (no set-up).

Checkpoint (``out``, a Zarr store, format 2): the client writes every finished chunk's
rows into ``samples/*`` (each Zarr chunk file is written atomically — write to a temporary
file, then rename) and only then marks the chunk in ``checkpoint/chunk_done`` with the
session number that computed it. A chunk is trusted on ``resume`` only when marked, so a
run killed at any moment leaves a consistent store: marked chunks are complete, anything
else is recomputed. The store's ``checkpoint`` attributes hold the run's identity
(scenario hash, seed, trials, protocol, backend, chunking); resuming against a different
one is refused with the reason. When every chunk is done the statistics
(:func:`qsat.montecarlo.reduce.statistics`) are computed from the complete per-trial arrays
and written at the store's root (consolidated metadata: ``xarray.open_zarr(out)``).
"""

from __future__ import annotations

import math
import os
import sys
import uuid
from pathlib import Path

import numpy as np

from ..errors import QsatError, QsatInputError
from ..progress import Progress
from ..random import check_seed
from .config import MAX_TRIALS
from .reduce import RESULTS, pass_results, statistics
from .sampler import DECOY_OUTPUTS

#: 2: per-row decoy source and elliptic-beam rows (qsat 2026-11-26); the inputs' digest in the identity.
FORMAT_VERSION = 2
ENGINES = ("auto", "kernel", "twin")


def check_trials(trials, field: str = "--trials") -> int:
    if isinstance(trials, bool) or not isinstance(trials, (int, np.integer)) or not 1 <= int(trials) <= MAX_TRIALS:
        raise QsatInputError(field, trials, f"a positive whole number of trials (at most {MAX_TRIALS})")
    return int(trials)


def _check_chunk(value, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < 1:
        raise QsatInputError(field, value, "a positive whole number")
    return int(value)


def compute_chunk(steps, passes, params, protocol: str, key_settings: dict, t0: int, t1: int, p0: int, p1: int,
                  seed: int, backend: str = "numpy", engine: str = "kernel", store_counts: bool = False,
                  store: tuple[str, str] | None = None, steps_b=None, weather=None) -> dict:
    """One task: trials [t0, t1) × passes [p0, p1); returns host arrays (t1-t0, p1-p0[, 12]).

    With ``store`` = (Zarr path every worker sees, run token), the task writes its rows there
    itself and returns an empty dict: the results never travel through the client. ``weather``
    (:class:`~qsat.montecarlo.inputs.CorrelatedWeather`) gives the chunk's weather outcomes,
    drawn on the chunk's backend before the fused kernel runs.
    """
    from ..backend import array_namespace, to_numpy

    st, ps = steps[p0:p1], passes[p0:p1]
    sb = steps_b[p0:p1] if steps_b is not None else None
    if backend == "cupy":
        import cupy

        from .kernel import sample_trials_kernel

        clear = weather.flags(seed, t0, t1 - t0, p0, p1, ps, cupy) if weather is not None else None
        out = sample_trials_kernel(cupy.asarray(st), cupy.asarray(ps), cupy.asarray(params), t1 - t0, t0, p0, seed,
                                   None if sb is None else cupy.asarray(sb), clear=clear)
    else:
        clear = weather.flags(seed, t0, t1 - t0, p0, p1, ps) if weather is not None else None
        if engine == "kernel":
            from .kernel import sample_trials_kernel

            out = sample_trials_kernel(st, ps, params, t1 - t0, t0, p0, seed, sb, clear=clear,
                                       threads=_host_threads())
        else:
            from .sampler import sample_trials

            out = sample_trials(st, ps, params, t1 - t0, t0, p0, seed, sb, clear=clear)
    xp = array_namespace(out)
    res = {k: to_numpy(v) for k, v in pass_results(out, protocol, key_settings, xp.asarray(ps)).items()}
    if store_counts:
        res["counts"] = to_numpy(out[..., :len(DECOY_OUTPUTS)])
    if store is not None:
        path, token = store
        for name, array in _store_arrays(path, tuple(res), token).items():
            array[t0:t1, p0:p1] = res[name]
        return {}
    return res


def _host_threads() -> int:
    """Host-kernel threads of a task: one inside a Dask worker, else every core.

    Dask already spreads the tasks over the cores (in-process: a thread per core; otherwise the
    worker processes and threads the user started, possibly several per machine), so a task
    that threaded its kernel too would oversubscribe them. Outside Dask the kernel uses every
    core through OpenMP. Results do not depend on it.
    """
    from .kernel import host_cores

    try:
        from distributed import get_worker

        get_worker()
        return 1
    except (ImportError, ValueError):  # not in a Dask worker
        return host_cores()


_OPEN_STORE: dict = {}


def _open_arrays(store: str, names: tuple) -> dict:
    import zarr

    samples = zarr.open_group(store, mode="r+", use_consolidated=False)["samples"]
    return {name: samples[name] for name in names}


def _store_arrays(store: str, names: tuple, token: str) -> dict:
    """The ``samples`` arrays of the run ``token``'s store, opened once per worker process."""
    key = (store, names, token)
    if key not in _OPEN_STORE:
        _OPEN_STORE.clear()  # one run at a time per worker: drop handles of earlier runs
        _OPEN_STORE[key] = _open_arrays(store, names)
    return _OPEN_STORE[key]


def read_identity(path: str | Path) -> dict:
    """The identity a checkpoint store was written with (its ``checkpoint`` attributes).

    Raises :class:`QsatInputError` when ``path`` holds no readable checkpoint.
    """
    import zarr

    path = Path(path)
    if not path.exists():
        raise QsatInputError("--resume", str(path), "an existing checkpoint to continue (there is none: drop "
                             "--resume to start a new run)")
    try:
        group = zarr.open_group(str(path), mode="r", use_consolidated=False)
        return dict(group["checkpoint"].attrs.asdict())
    except Exception:
        raise QsatInputError("--resume", str(path), "a qsat montecarlo checkpoint (this path holds no readable "
                             "one)") from None


def check_identity(path: str | Path, stored: dict, identity: dict) -> None:
    """Refuse to resume the checkpoint at ``path`` (``stored`` identity) as another run.

    Only the keys ``identity`` holds are compared, so the command line can check the seed,
    trials and scenario before the pass and link stages run, and the full check follows.
    """
    path = Path(path)
    if "format_version" in identity and stored.get("format_version") != FORMAT_VERSION:
        raise QsatInputError("--resume", str(path), f"a checkpoint of format {FORMAT_VERSION} "
                             f"(this one has {stored.get('format_version')})")
    if "scenario_sha256" in identity and stored.get("scenario_sha256") != identity["scenario_sha256"]:
        raise QsatInputError(
            "--resume", str(path),
            f"a checkpoint of this scenario; it was written for scenario '{stored.get('scenario_name')}' "
            f"(sha256 {str(stored.get('scenario_sha256'))[:16]}...), this one is '{identity['scenario_name']}' "
            f"(sha256 {identity['scenario_sha256'][:16]}...): the scenario changed, start a new --out")
    if "inputs_sha256" in identity and stored.get("inputs_sha256") != identity["inputs_sha256"]:
        raise QsatInputError(
            "--resume", str(path),
            "a checkpoint of the same Monte Carlo inputs; the per-step and per-pass inputs differ from those "
            "it was written with although the scenario file is the same (another qsat version or model "
            "data): start a new --out")
    for key in ("seed", "trials", "n_passes", "protocol", "backend", "sampled", "store_counts"):
        if key in identity and stored.get(key) != identity[key]:
            raise QsatInputError("--resume", str(path),
                                 f"the same {key} as the checkpoint ({key} there: {stored.get(key)!r}, "
                                 f"asked now: {identity[key]!r})")


# ---------------------------------------------------------------------------- checkpoint

class Checkpoint:
    """The Zarr store of a run: per-trial samples, chunk marks, identity; statistics at the end."""

    def __init__(self, path: Path, identity: dict, resume: bool):
        import zarr

        self.path = Path(path)
        self.session = 1
        if self.path.exists() or resume:
            if not resume:
                raise QsatInputError("--out", str(self.path), "a path that does not exist yet, or --resume to "
                                     "continue the run checkpointed there")
            stored = read_identity(self.path)  # refuses a missing or unreadable checkpoint
            check_identity(self.path, stored, identity)
            self.root = zarr.open_group(str(self.path), mode="r+", use_consolidated=False)
            self.identity = {k: stored[k] for k in identity}
            self.session = int(stored.get("sessions", 0)) + 1
            self.root["checkpoint"].attrs["sessions"] = self.session
            self.resumed = True
        else:
            self.identity = dict(identity)
            self.root = zarr.open_group(str(self.path), mode="w", zarr_format=2)
            self._create()
            self.resumed = False
        self.done_array = self.root["checkpoint/chunk_done"]
        names = tuple(RESULTS) + (("counts",) if self.identity["store_counts"] else ())
        self.arrays = _open_arrays(str(self.path), names)  # opened once: metadata reads are slow

    def _create(self) -> None:
        idt = self.identity
        trials, n_pass = idt["trials"], idt["n_passes"]
        tc, pc = idt["trial_chunk"], idt["pass_chunk"]
        samples = self.root.create_group("samples")
        for name, (units, long_name) in RESULTS.items():
            samples.create_array(name, shape=(trials, n_pass), chunks=(tc, pc), dtype="f8", fill_value=np.nan,
                                 attributes={"_ARRAY_DIMENSIONS": ["trial", "pass"], "units": units,
                                             "long_name": long_name})
        if not idt["store_counts"]:
            self._checkpoint_group(trials, n_pass, tc, pc)
            return
        samples.create_array("counts", shape=(trials, n_pass, len(DECOY_OUTPUTS)), chunks=(tc, pc, len(DECOY_OUTPUTS)),
                             dtype="f8", fill_value=np.nan,
                             attributes={"_ARRAY_DIMENSIONS": ["trial", "pass", "count_class"], "units": "count",
                                         "long_name": "sampled counts (decoy BB84: n_X1..3, n_Z1..3, m_X1..3, "
                                                      "m_Z1..3; BBM92: entangled pairs, sifted, errors, coincidences)"})
        self._checkpoint_group(trials, n_pass, tc, pc)

    def _checkpoint_group(self, trials, n_pass, tc, pc) -> None:
        ck = self.root.create_group("checkpoint")
        ck.create_array("chunk_done", shape=(math.ceil(trials / tc), math.ceil(n_pass / pc)), chunks=(1, 1),
                        dtype="i4", fill_value=0,
                        attributes={"_ARRAY_DIMENSIONS": ["trial_chunk", "pass_chunk"],
                                    "long_name": "session that computed the chunk (0: not done)"})
        ck.attrs.update({**self.identity, "sessions": 1})

    def done(self) -> np.ndarray:
        return np.asarray(self.done_array[...]) > 0

    def write(self, ti: int, pi: int, t0: int, t1: int, p0: int, p1: int, result: dict) -> None:
        """Store a finished chunk's rows (unless a worker already did) and then mark it."""
        if result:
            for name, array in self.arrays.items():
                array[t0:t1, p0:p1] = result[name]
        self.done_array[ti, pi] = self.session  # only after the data: a marked chunk is complete

    def read(self, name: str, first_pass: int, stop_pass: int) -> np.ndarray:
        """Columns [first_pass, stop_pass) of a per-trial result (all trials)."""
        return np.asarray(self.arrays[name][:, first_pass:stop_pass])

    def finish(self, ds) -> None:
        import zarr

        for name in list(self.root.array_keys()):  # statistics of an earlier finish (e.g. other bins)
            del self.root[name]
        ds.to_zarr(str(self.path), mode="a", zarr_format=2, consolidated=False)
        zarr.consolidate_metadata(str(self.path))


# ---------------------------------------------------------------------------- cluster

#: Where the servers of a local cluster listen unless the user names another interface.
LOOPBACK = "127.0.0.1"


def open_client(scheduler: str | None = None, workers: int | None = None, connect_timeout: float = 5.0,
                threads: int | None = None, host: str | None = None):
    """(client, owned): attach to ``scheduler``, or start a local cluster (``owned`` = we close it).

    A local cluster's scheduler, workers, nannies and dashboards listen on ``host``
    (default :data:`LOOPBACK`, so nothing is reachable from another machine); the default
    in-process cluster talks to its worker in memory and opens only the two dashboards.
    """
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout=connect_timeout), False
        except (OSError, TimeoutError, ValueError) as exc:
            raise QsatInputError("--scheduler", scheduler,
                                 f"the address of a running Dask scheduler (no connection within "
                                 f"{connect_timeout:g} s: {type(exc).__name__}: {exc})") from None
    host = host or LOOPBACK
    # any free port: another cluster may hold the default 8787
    listen = dict(dashboard_address=f"{_url_host(host)}:0", worker_dashboard_address=f"{_url_host(host)}:0")
    try:
        if workers is not None and workers > 1:
            import dask

            # Dask's nanny sets MALLOC_TRIM_THRESHOLD_ in its workers, which also freezes glibc's mmap
            # threshold at 128 kB: every per-group array is then mapped and unmapped afresh (page
            # faults: ~5 s of system time on a week of 100 x 20 at 10 s). Arrays up to 32 MB (glibc's
            # own ceiling for the dynamic threshold) stay on the heap, as in one process.
            with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_MMAP_THRESHOLD_": 32 * 2**20}):
                cluster = LocalCluster(n_workers=workers, threads_per_worker=threads or 1, processes=True,
                                       host=host, **listen)
        else:
            cluster = LocalCluster(n_workers=1, threads_per_worker=threads or os.cpu_count() or 1, processes=False,
                                   **listen)
    except (OSError, RuntimeError) as exc:
        raise QsatInputError("--host", host, f"an address of this machine to listen on ({exc})") from None
    return Client(cluster), True


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def dashboard_link(client, host: str | None = None, timeout: float = 2.0) -> str | None:
    """The URL of the cluster's dashboard page, or None where there is none to open.

    ``host``: where a local cluster of :func:`open_client` listens (None: an external
    scheduler, reached at the host of its address).

    The scheduler's HTTP service runs without the dashboard itself when bokeh is not
    installed where the scheduler runs (its page then only says so), so the page is asked
    for before it is shown.
    """
    import urllib.error
    import urllib.request

    try:
        port = client.scheduler_info().get("services", {}).get("dashboard")
        if port is None:
            return None
        if host is None:  # an external scheduler: the host we reached it at
            host = client.scheduler.address.split("://", 1)[-1].rsplit(":", 1)[0].strip("[]")
        elif host in ("0.0.0.0", "::"):
            host = LOOPBACK
        url = f"http://{_url_host(host)}:{port}/status"
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (http to the cluster)
            page = response.read(4096)
            return url if response.status == 200 and b"needs bokeh" not in page else None
    except Exception:  # no service, an old protocol, no bokeh (404) or no answer: nothing to show
        return None


# ---------------------------------------------------------------------------- the run

def run_montecarlo(inputs, *, trials: int, seed: int, identity: dict | None = None, out: str | Path | None = None,
                   trial_chunk: int = 256, pass_chunk: int = 64, backend: str = "numpy", engine: str = "auto",
                   scheduler: str | None = None, workers: int | None = None, client=None, resume: bool = False,
                   connect_timeout: float = 5.0, bins: int = 40, progress: bool | None = None,
                   provenance: dict | None = None, store_counts: bool = False, write_on_workers: bool = False,
                   echo=None, host: str | None = None):
    """Run the Monte Carlo of ``inputs`` (:class:`~qsat.montecarlo.inputs.MonteCarloInputs`).

    Returns the statistics Dataset (also written to ``out`` when given). ``identity`` holds the
    scenario's ``scenario_sha256`` and ``scenario_name`` (the checkpoint's identity);
    ``provenance`` adds attributes to the result. ``client`` reuses a Dask client.
    ``store_counts`` keeps the 12 sampled counts per (trial, pass) in ``out``;
    ``write_on_workers`` lets each task write its rows into ``out`` itself (``out`` must be on a
    file system every worker sees) instead of sending them to the client. ``host``: where the
    local cluster started here listens (default 127.0.0.1; see :func:`open_client`).

    Raises
    ------
    QsatInputError
        Zero/negative/too many trials, a seed outside [0, 2**64), an unreachable scheduler, an
        existing ``out`` without ``resume``, or a checkpoint of a different run.
    """
    echo = echo or (lambda message: print(message, file=sys.stderr))
    trials = check_trials(trials)
    seed = check_seed(seed, "--seed")
    trial_chunk = _check_chunk(trial_chunk, "--trial-chunk")
    pass_chunk = _check_chunk(pass_chunk, "--pass-chunk")
    if engine not in ENGINES:
        raise QsatInputError("engine", engine, f"one of {', '.join(ENGINES)}")
    if engine == "auto":
        from .kernel import host_kernel_available

        engine = "kernel" if backend == "cupy" or host_kernel_available() else "twin"
    n_pass = inputs.n_passes
    if n_pass == 0:
        raise QsatInputError("scenario", "no passes", "at least one pass above the elevation mask to sample")
    identity = dict(identity or {"scenario_sha256": "", "scenario_name": ""})
    identity.update(format_version=FORMAT_VERSION, seed=str(seed), trials=trials, n_passes=n_pass,
                    protocol=inputs.protocol, backend=backend, sampled=",".join(inputs.sampled),
                    store_counts=bool(store_counts),
                    trial_chunk=min(trial_chunk, trials), pass_chunk=min(pass_chunk, n_pass))
    checkpoint = None
    if out is not None:  # only a checkpoint needs the inputs' digest (it hashes every step's inputs)
        identity["inputs_sha256"] = inputs.digest()
        checkpoint = Checkpoint(Path(out), identity, resume)
        if checkpoint.resumed:
            echo(f"qsat: resuming {out} (session {checkpoint.session})")
        identity = checkpoint.identity
    tc, pc = identity["trial_chunk"], identity["pass_chunk"]
    if (tc, pc) != (min(trial_chunk, trials), min(pass_chunk, n_pass)) and checkpoint is not None:
        echo(f"qsat: keeping the checkpoint's chunking ({tc} trials x {pc} passes)")
    n_tc, n_pc = math.ceil(trials / tc), math.ceil(n_pass / pc)
    done = checkpoint.done() if checkpoint is not None else np.zeros((n_tc, n_pc), dtype=bool)
    todo = [(ti, pi) for ti in range(n_tc) for pi in range(n_pc) if not done[ti, pi]]
    if checkpoint is not None and checkpoint.resumed:
        echo(f"qsat: {int(done.sum())} of {n_tc * n_pc} chunks already done; computing {len(todo)}")
    memory = None if checkpoint is not None else {k: np.full((trials, n_pass), np.nan) for k in RESULTS}

    if write_on_workers and checkpoint is None:
        raise QsatInputError("--write-on-workers", True, "an --out store for the workers to write into")
    if todo:
        store = (str(checkpoint.path.resolve()), uuid.uuid4().hex) if write_on_workers else None
        _compute(inputs, todo, tc, pc, trials, n_pass, seed, backend, engine, checkpoint, memory, client,
                 scheduler, workers, connect_timeout, progress, n_tc * n_pc, int(done.sum()), echo,
                 identity["store_counts"], store, host)
    samples = checkpoint.read if checkpoint is not None else memory
    ds = statistics(samples, inputs.pass_id, inputs.station, inputs.satellite, inputs.protocol, bins, inputs.month)
    ds = ds.assign_coords(inputs.row_coords)  # dual-downlink BBM92: the passes of each row's pair
    attrs = {"title": "qsat Monte Carlo: per-pass key and budget statistics over trials",
             "seed": str(seed), "trials": trials, "backend": backend, "engine": engine,
             "protocol": inputs.protocol, "sampled": ",".join(inputs.sampled), "step_s": inputs.step_s,
             "trial_chunk": tc, "pass_chunk": pc, "scenario_sha256": identity.get("scenario_sha256", ""),
             "scenario_name": identity.get("scenario_name", ""), "notes": " | ".join(inputs.notes)}
    for k, v in (provenance or {}).items():
        attrs[k] = v if isinstance(v, (int, float, np.number)) else str(v)
    attrs["seed"] = str(seed)  # 64-bit seeds do not fit every attribute encoder as integers
    ds.attrs.update(attrs)
    if checkpoint is not None:
        checkpoint.finish(ds)
    return ds


def _compute(inputs, todo, tc, pc, trials, n_pass, seed, backend, engine, checkpoint, memory, client, scheduler,
             workers, connect_timeout, progress, total, already, echo, store_counts, store, host):
    from distributed import as_completed

    owned = False
    if client is None:
        # one GPU: two threads overlap a kernel with the previous chunk's host work; CPU: a thread per core
        client, owned = open_client(scheduler, workers, connect_timeout, threads=2 if backend == "cupy" else None,
                                    host=host)
        link = dashboard_link(client, None if scheduler else (host or LOOPBACK))
        if link:
            echo(f"qsat: Dask dashboard at {link}")
    bar = Progress(total, already, enabled=progress if progress is not None else sys.stderr.isatty())
    try:
        arrays = [inputs.steps, inputs.passes] + ([inputs.steps_b] if inputs.steps_b is not None else [])
        scattered = client.scatter(arrays, broadcast=True, hash=False)
        steps_f, passes_f = scattered[:2]
        steps_b_f = scattered[2] if inputs.steps_b is not None else None
        run_id = uuid.uuid4().hex[:12]
        futures, pending = {}, []
        for ti, pi in todo:
            t0, t1 = ti * tc, min((ti + 1) * tc, trials)
            p0, p1 = pi * pc, min((pi + 1) * pc, n_pass)
            fut = client.submit(compute_chunk, steps_f, passes_f, inputs.params, inputs.protocol, inputs.key_settings,
                                t0, t1, p0, p1, seed, backend, engine, store_counts, store, steps_b_f,
                                inputs.weather, key=f"qsat-montecarlo-{run_id}-{ti}-{pi}")
            futures[fut.key] = (ti, pi, t0, t1, p0, p1)
            pending.append(fut)
        for fut in as_completed(pending):
            ti, pi, t0, t1, p0, p1 = futures[fut.key]
            try:
                result = fut.result()
            except Exception as exc:
                raise QsatError(f"Monte Carlo chunk (trials {t0}-{t1 - 1}, passes {p0}-{p1 - 1}) failed: "
                                f"{type(exc).__name__}: {exc}") from exc
            if checkpoint is not None:
                checkpoint.write(ti, pi, t0, t1, p0, p1, result)
            else:
                for name in RESULTS:
                    memory[name][t0:t1, p0:p1] = result[name]
            fut.release()
            bar.update()
    finally:
        bar.close()
        if owned:
            cluster = getattr(client, "cluster", None)
            client.close()
            if cluster is not None:
                cluster.close()
