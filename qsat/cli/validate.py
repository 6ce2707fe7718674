"""``qsat validate [--out docs/validation.md] [--check]``: regenerate the validation table."""

from __future__ import annotations

import sys
from pathlib import Path

from .._paths import _PACKAGE_DIR

DEFAULT = _PACKAGE_DIR.parent / "docs" / "validation.md"


def register(sub) -> None:
    p = sub.add_parser("validate", help="compare qsat with every published value; write docs/validation.md",
                       description="Evaluate every validation case (published value, source, tolerance and "
                                   "its origin) and write the table as Markdown.")
    p.add_argument("--out", type=Path, default=DEFAULT, help=f"file to write (default: {DEFAULT})")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if the file differs from what the code generates")
    p.set_defaults(func=main)


def main(args) -> int:
    from ..validation import markdown, report

    outcomes = report()
    text = markdown(outcomes)
    if args.check:
        current = args.out.read_text() if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is out of date: run `qsat validate`", file=sys.stderr)
            return 1
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    counts = {s: sum(o.status == s for o in outcomes) for s in ("reproduced", "not reproduced", "gap")}
    print(f"{len(outcomes)} cases ({counts['reproduced']} reproduced, {counts['not reproduced']} not reproduced, "
          f"{counts['gap']} gaps) -> {args.out}")
    return 0
