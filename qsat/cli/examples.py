"""``qsat examples [--out DIR] [--list]``: copy the shipped example scenarios out of the installation.

The examples travel inside the wheel (``qsat/_data/examples``); in a source checkout they
are the repository's ``examples/``. Copied files keep their relative paths (element sets
under ``elements/``), so ``qsat run examples/FILE.toml --out out/`` works from the folder
they were copied into.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..errors import QsatInputError


def register(sub) -> None:
    p = sub.add_parser("examples", help="copy the shipped example scenarios into a folder",
                       description="Copy the example scenarios (and the element sets they use) into DIR, "
                                   "then run one: qsat run DIR/micius_xinglong.toml --out out/")
    p.add_argument("--out", type=Path, default=Path("examples"), help="folder to copy into (default: ./examples)")
    p.add_argument("--list", action="store_true", help="list the examples with their first line; copy nothing")
    p.add_argument("--overwrite", action="store_true", help="replace files of the same name already in --out")
    p.set_defaults(func=main)


def shipped_examples() -> list[Path]:
    """Every file of the shipped examples folder (scenarios and the data they read)."""
    from .._paths import data_dir

    root = data_dir("examples")
    return sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def main(args) -> int:
    from .._paths import data_dir
    from ..outputs import check_output_dir

    root = data_dir("examples")
    files = shipped_examples()
    if args.list:
        for path in files:
            if path.suffix == ".toml":
                first = path.read_text(encoding="utf-8").splitlines()[0].lstrip("# ").strip()
                print(f"{path.name:44s} {first}")
        return 0
    if args.out.is_dir() and not args.overwrite:
        clashes = [str(p.relative_to(root)) for p in files if (args.out / p.relative_to(root)).exists()]
        if clashes:
            raise QsatInputError("--out", str(args.out), f"a folder without {clashes[0]} (or --overwrite to "
                                                         "replace the files of the same name)")
    else:
        check_output_dir(args.out, overwrite=True)
    for path in files:
        target = args.out / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    scenarios = [p for p in files if p.suffix == ".toml"]
    print(f"copied {len(scenarios)} example scenarios (and {len(files) - len(scenarios)} data files) into "
          f"{args.out}; try: qsat run {args.out / 'micius_xinglong.toml'} --out out/")
    return 0
