"""The ``qsat`` command line.

Each subcommand lives in its own module of this package and provides
``register(subparsers)``, which adds its parser and sets ``func`` to a handler
taking the parsed arguments and returning an exit code. Bad input anywhere
(:class:`~qsat.errors.QsatInputError`) ends as one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
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
