"""``qsat validate [--out FILE] [--check]``: regenerate the validation table.

In a source checkout the table is the repository's ``docs/validation.md``; in an installed
qsat there is no such file, so the table goes to ``validation.md`` in the current folder
(or ``--out``) and never into the installation itself.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .._paths import _PACKAGE_DIR
from ..errors import QsatInputError

#: The source checkout's table, when qsat runs from a checkout (editable install or the tree itself).
CHECKOUT_DOC = _PACKAGE_DIR.parent / "docs" / "validation.md"


def _in_checkout() -> bool:
    root = _PACKAGE_DIR.parent
    return (root / "pyproject.toml").is_file() and (root / "docs").is_dir()


def default_out() -> Path:
    return CHECKOUT_DOC if _in_checkout() else Path("validation.md")


def register(sub) -> None:
    p = sub.add_parser("validate", help="compare qsat with every published value; write the validation table",
                       description="Evaluate every validation case (published value, source, tolerance and "
                                   "its origin) and write the table as Markdown: docs/validation.md in a source "
                                   "checkout, else validation.md in the current folder.")
    p.add_argument("--out", type=Path, default=None,
                   help="file to write (default: docs/validation.md of a source checkout, else ./validation.md)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if the file differs from what the code generates")
    p.set_defaults(func=main)


def main(args) -> int:
    from ..outputs import check_output_file
    from ..validation import markdown, report

    out = args.out if args.out is not None else default_out()
    if args.check and not out.is_file():
        raise QsatInputError("--check", str(out), "an existing validation table to compare (none there; "
                             "name one with --out, or run qsat validate to write it)")
    if not args.check:
        check_output_file(out)
    outcomes = report()
    text = markdown(outcomes)
    if args.check:
        if out.read_text(encoding="utf-8") != text:
            print(f"{out} is out of date: run `qsat validate`", file=sys.stderr)
            return 1
        print(f"{out} is up to date")
        return 0
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    counts = {s: sum(o.status == s for o in outcomes) for s in ("reproduced", "not reproduced", "gap")}
    print(f"{len(outcomes)} cases ({counts['reproduced']} reproduced, {counts['not reproduced']} not reproduced, "
          f"{counts['gap']} gaps) -> {out}")
    return 0
