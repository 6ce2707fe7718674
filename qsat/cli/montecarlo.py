"""``qsat montecarlo``: per-pass key and budget distributions over Monte Carlo trials.

``qsat montecarlo SCENARIO --trials N --seed S [--scheduler ADDR] [--backend numpy|cupy]
--out mc.zarr [--resume]`` runs the passes and link stages, then the trials (weather,
turbulence, pointing and detector counts sampled; finite key from the sampled counts),
chunked on Dask, checkpointed to the Zarr store ``--out``; ``--resume`` continues a run
that was interrupted. See ``docs/montecarlo.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from . import add_backend_option, add_quiet_option, require_extra, require_sections, stage_progress
from ..errors import QsatInputError


def register(sub) -> None:
    p = sub.add_parser("montecarlo", help="Monte Carlo of per-pass keys and budgets (Dask, resumable)",
                       description="Sample weather, turbulence, pointing jitter and detector counts per trial and "
                                   "pass; finite key per pass from the sampled counts; statistics (mean, P5/P50/P95, "
                                   "histograms) of per-pass keys and budgets written to a Zarr store.")
    p.add_argument("scenario", type=Path, help="scenario file (TOML) with [link] and [protocol] sections")
    p.add_argument("--out", type=Path, required=True, help="Zarr store to write (also the checkpoint), e.g. mc.zarr")
    p.add_argument("--trials", type=int, default=None, help="number of trials (default: [montecarlo] trials)")
    p.add_argument("--seed", type=int, default=None, help="64-bit seed (default: the scenario's seed)")
    p.add_argument("--scheduler", default=None, help="address of a running Dask scheduler (tcp://host:8786)")
    p.add_argument("--workers", type=int, default=None,
                   help="local worker processes (default: one in-process worker, a thread per core)")
    p.add_argument("--host", default=None, metavar="ADDRESS",
                   help="address the local cluster's scheduler, workers and dashboard listen on "
                        "(default 127.0.0.1: this machine only; e.g. 0.0.0.0 for every interface)")
    p.add_argument("--connect-timeout", type=float, default=5.0, help="seconds to reach --scheduler (default 5)")
    p.add_argument("--trial-chunk", type=int, default=None, help="trials per task (default: [montecarlo] trial_chunk)")
    p.add_argument("--pass-chunk", type=int, default=None, help="passes per task (default: [montecarlo] pass_chunk)")
    p.add_argument("--engine", choices=("auto", "kernel", "twin"), default="auto",
                   help="CPU engine: the kernel's host build (auto where g++ exists) or the NumPy twin")
    p.add_argument("--resume", action="store_true", help="continue the run checkpointed in --out")
    p.add_argument("--write-on-workers", action="store_true",
                   help="workers write their chunks into --out themselves (--out on a file system all workers see)")
    p.add_argument("--progress", action="store_true", default=None,
                   help="show a progress bar with ETA (default: when stderr is a terminal)")
    p.add_argument("--no-progress", dest="progress", action="store_false", default=None, help="hide it")
    add_quiet_option(p)
    add_backend_option(p)
    p.set_defaults(func=main)


def main(args) -> int:
    from ..montecarlo.run import check_trials
    from ..random import check_seed

    if args.trials is not None:
        check_trials(args.trials)
    if args.seed is not None:
        check_seed(args.seed, "--seed")
    for name in ("trial_chunk", "pass_chunk"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise QsatInputError(f"--{name.replace('_', '-')}", getattr(args, name), "a positive whole number")
    if args.workers is not None and args.workers < 1:
        raise QsatInputError("--workers", args.workers, "a positive number of worker processes")
    if args.connect_timeout is not None and not args.connect_timeout > 0:
        raise QsatInputError("--connect-timeout", args.connect_timeout, "a positive number of seconds")
    if args.host is not None and args.scheduler:
        raise QsatInputError("--host", args.host, "no --host with --scheduler (the cluster there is already "
                             "listening where it was started)")
    require_extra("montecarlo", "qsat montecarlo", "distributed", "zarr")
    if args.out.exists() and not args.resume:
        raise QsatInputError("--out", str(args.out), "a path that does not exist yet, or --resume to continue the "
                             "run checkpointed there")
    from .. import scenario as scenario_mod
    from ..montecarlo.config import MonteCarloConfig
    from ..montecarlo.run import check_identity, open_client, read_identity
    from ..outputs import check_output_file

    stored = read_identity(args.out) if args.resume else None  # a missing checkpoint is refused here
    if stored is None:
        check_output_file(args.out)
    scenario = scenario_mod.load(args.scenario)
    if stored is not None:  # what is known before the pass and link stages is checked before them
        mc = getattr(scenario, "montecarlo", None) or MonteCarloConfig()
        check_identity(args.out, stored, {
            "scenario_sha256": scenario.digest(), "scenario_name": scenario.name,
            "seed": str(args.seed if args.seed is not None else scenario.seed),
            "trials": args.trials if args.trials is not None else mc.trials})
    client = None
    if args.scheduler:  # reach the cluster before the (possibly long) pass and link stages
        client, _ = open_client(args.scheduler, connect_timeout=args.connect_timeout)
    try:
        return _run(args, scenario, client)
    finally:
        if client is not None:
            client.close()


def _run(args, scenario, client) -> int:
    from ..backend import resolve
    from ..montecarlo.config import MonteCarloConfig
    from ..montecarlo.inputs import inputs_for_run
    from ..montecarlo.run import dashboard_link, run_montecarlo
    from ..pipeline import execute

    require_sections(scenario, "montecarlo", "link", "protocol")
    mc = getattr(scenario, "montecarlo", None) or MonteCarloConfig()
    trials = args.trials if args.trials is not None else mc.trials
    seed = args.seed if args.seed is not None else scenario.seed
    remote_gpu = args.scheduler and (args.backend or "").lower() == "cupy"
    backend = "cupy" if remote_gpu else resolve(args.backend)
    with stage_progress(scenario, args, until="link") as stages:
        run = execute(scenario, backend="numpy" if remote_gpu else backend, until="link", progress=stages)
    inputs = inputs_for_run(run, mc)  # the montecarlo stage of `qsat run` builds the same inputs
    provenance = run.provenance()
    provenance.update(backend=backend, seed=str(seed))
    if client is not None:
        link = dashboard_link(client)
        print(f"qsat: attached to {args.scheduler}" + (f"; Dask dashboard at {link}" if link else ""), file=sys.stderr)
    ds = run_montecarlo(inputs, trials=trials, seed=seed, out=args.out, resume=args.resume, client=client,
                        identity={"scenario_sha256": scenario.digest(), "scenario_name": scenario.name},
                        trial_chunk=mc.trial_chunk if args.trial_chunk is None else args.trial_chunk,
                        pass_chunk=mc.pass_chunk if args.pass_chunk is None else args.pass_chunk,
                        backend=backend, engine=args.engine, scheduler=args.scheduler, workers=args.workers,
                        connect_timeout=args.connect_timeout, bins=mc.histogram_bins,
                        progress=False if args.quiet else args.progress,
                        provenance=provenance, store_counts=mc.store_counts,
                        write_on_workers=args.write_on_workers, host=args.host)
    q = ds["budget_secret_key_bits_quantile"].values
    rows = "pairs of passes" if inputs.steps_b is not None else "passes"
    print(f"wrote {args.out}: {trials} trials x {inputs.n_passes} {rows}; secret key over all passes "
          f"P5 {q[0]:.4g}, P50 {q[1]:.4g}, P95 {q[2]:.4g} bits (mean {float(ds['budget_secret_key_bits_mean']):.4g})",
          file=sys.stdout)
    return 0
