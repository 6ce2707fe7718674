"""The ``qsat`` command line.

Each subcommand lives in its own module of this package and provides
``register(subparsers)``, which adds its parser and sets ``func`` to a handler
taking the parsed arguments and returning an exit code. Bad input anywhere
(:class:`~qsat.errors.QsatInputError`) ends as one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import sys
import warnings

from .. import __version__
from ..errors import QsatError, QsatInputError, QsatWarning

#: Subcommand modules, in the order ``--help`` lists them.
COMMANDS = ("run", "passes", "link", "calibrate", "validate", "keys", "budget", "montecarlo", "plot", "examples", "kme")

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line and exit code 2, like every other bad input."""

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, f"qsat: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="qsat",
        description="Satellite and free-space quantum links: passes, channel, key and entanglement budgets.",
    )
    parser.add_argument("--version", action="version", version=f"qsat {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def add_backend_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", choices=("numpy", "cupy", "auto"), default=None,
                        help="array backend (default: $QSAT_BACKEND, else auto)")


def require_sections(scenario, command: str, *sections: str) -> None:
    """Fail with the first missing scenario section a command needs, naming it and the command."""
    for section in sections:
        if getattr(scenario, section, None) is None:
            raise QsatInputError(section, "missing", f"a [{section}] section in the scenario for qsat {command}")


def require_extra(extra: str, what: str, *modules: str) -> None:
    """Fail before any computing when an optional extra that ``what`` needs is not installed."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise QsatInputError(what, f"needs {' and '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} "
                             "not installed", f"the '{extra}' extra: pip install 'qsat[{extra}]'")


def add_cluster_options(parser: argparse.ArgumentParser) -> None:
    """``--scheduler``/``--workers``/``--threads-per-worker``/``--sat-block``/``--time-block``: the
    command's passes as Dask tasks (satellite blocks x time blocks), same result for any choice."""
    parser.add_argument("--scheduler", default=None,
                        help="run on a running Dask scheduler (tcp://host:8786): satellite blocks x time blocks")
    parser.add_argument("--workers", type=int, default=None,
                        help="run on a local Dask cluster of this many worker processes (127.0.0.1); "
                             "--workers 1 is one in-process worker")
    parser.add_argument("--threads-per-worker", type=int, default=None,
                        help="threads of each local worker (default: 1 with --workers 2 or more, every core "
                             "with --workers 1)")
    parser.add_argument("--sat-block", type=int, default=None, help="satellites per Dask task (default: all)")
    parser.add_argument("--time-block", default=None,
                        help="window per Dask task, e.g. '1 d' (default: one day); the result is the same for any")


def cluster_requested(args) -> bool:
    return args.scheduler is not None or args.workers is not None


def cluster_partition(args) -> tuple[int | None, float]:
    """(satellites per task, window per task [s]) of :func:`add_cluster_options`' flags, checked."""
    from ..units import to_si

    if args.workers is not None and args.workers < 1:
        raise QsatInputError("--workers", args.workers, "a positive number of worker processes")
    if args.threads_per_worker is not None and (args.threads_per_worker < 1 or args.workers is None):
        raise QsatInputError("--threads-per-worker", args.threads_per_worker,
                             "a positive number of threads, with --workers (a --scheduler's workers have theirs)")
    if args.sat_block is not None and args.sat_block < 1:
        raise QsatInputError("--sat-block", args.sat_block, "a positive number of satellites")
    time_block_s = 86400.0 if args.time_block is None else to_si(args.time_block, "s", "--time-block")
    if time_block_s <= 0:
        raise QsatInputError("--time-block", args.time_block, "a positive duration such as '1 d'")
    return args.sat_block, time_block_s


@contextlib.contextmanager
def cluster_client(args):
    """The Dask client of ``--scheduler`` or of a local ``--workers`` cluster (closed on exit)."""
    from ..montecarlo.run import open_client

    client, owned = open_client(args.scheduler, workers=args.workers, threads=args.threads_per_worker)
    try:
        yield client
    finally:
        cluster = client.cluster if owned else None
        client.close()
        if cluster is not None:
            cluster.close()


def refuse_unstreamed_cluster(args, scenario) -> None:
    """A ``--workers``/``--scheduler`` pipeline run refused in one line for a scenario the pipeline
    does not stream group by group (:func:`qsat.pipeline.refuse_unstreamable`)."""
    if cluster_requested(args):
        from ..pipeline import refuse_unstreamable

        refuse_unstreamable(scenario, "--scheduler" if args.scheduler is not None else "--workers")


def pipeline_cluster(stack: contextlib.ExitStack, args, partition):
    """The :class:`qsat.pipeline_distributed.Cluster` of ``--workers``/``--scheduler``, its client
    entered on ``stack`` (closed with it); None without those flags."""
    if not cluster_requested(args):
        return None
    from ..pipeline_distributed import Cluster

    return Cluster(stack.enter_context(cluster_client(args)), *partition)


def add_quiet_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="show no progress (warnings and errors still show)")


def stage_progress(scenario, args, until: str | None = None, then: tuple[str, ...] = ()):
    """:class:`~qsat.progress.Stages` for the pipeline stages the scenario enables (up to
    ``until``), then the command's own steps ``then`` (e.g. writing)."""
    from ..pipeline import STAGES
    from ..progress import Stages

    names = []
    for stage in STAGES:
        if stage.applies(scenario):
            names.append(stage.name)
        if stage.name == until:
            break
    return Stages([*names, *then], label=f"qsat {args.command}", quiet=getattr(args, "quiet", False))


def _show_warning(message, category, filename, lineno, file=None, line=None):
    from ..progress import clear_line

    clear_line(sys.stderr)
    prefix = "qsat: warning: " if issubclass(category, QsatWarning) else f"{category.__name__}: "
    print(prefix + str(message), file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    warnings.showwarning = _show_warning
    try:
        return int(args.func(args) or 0)
    except QsatInputError as exc:
        print(f"qsat: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except QsatError as exc:
        print(f"qsat: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("qsat: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into a reader that stopped (qsat examples --list | head)
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":  # python -m qsat.cli
    sys.exit(main())
