"""The ``qsat`` command line.

Each subcommand lives in its own module of this package and provides
``register(subparsers)``, which adds its parser and sets ``func`` to a handler
taking the parsed arguments and returning an exit code. Bad input anywhere
(:class:`~qsat.errors.QsatInputError`) ends as one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings

from .. import __version__
from ..errors import QsatError, QsatInputError, QsatWarning

#: Subcommand modules, in the order ``--help`` lists them.
COMMANDS = ("run", "passes", "link", "validate", "keys", "budget", "montecarlo", "plot", "kme")

EXIT_BAD_INPUT = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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


def _show_warning(message, category, filename, lineno, file=None, line=None):
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


if __name__ == "__main__":  # python -m qsat.cli
    sys.exit(main())
