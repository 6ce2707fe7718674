"""The pass scheduler (qsat.network.schedule) on a large conflicting window, against the
previous per-cluster-scan implementation at the commit given, side by side in one process.

    python benchmarks/bench_schedule.py [--items 20000] [--baseline-commit 24b4579]

Writes benchmarks/results/schedule_cpu.json. The two must select the same items.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._common import machine  # noqa: E402
from qsat.network.schedule import schedule  # noqa: E402


def _items(n: int, days: float, seed: int = 3) -> pd.DataFrame:
    """100 satellites over 20 stations: passes of 5-12 min spread over the window."""
    rng = np.random.default_rng(seed)
    start = rng.uniform(0.0, days * 86400.0, n)
    return pd.DataFrame({"satellite": [f"S{i}" for i in rng.integers(0, 100, n)],
                         "stations": [(f"G{i}",) for i in rng.integers(0, 20, n)],
                         "start_s": start, "end_s": start + rng.uniform(300.0, 720.0, n),
                         "key_bits": rng.uniform(1e3, 1e6, n)})


def _baseline(commit: str):
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{commit}:qsat/network/schedule.py"],
                            capture_output=True, text=True, check=True).stdout
    path = Path(tempfile.mkdtemp()) / "schedule_baseline.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("schedule_baseline", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.schedule


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20000)
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--baseline-commit", default="24b4579")
    args = parser.parse_args()
    items = _items(args.items, args.days)
    rows = {}
    for name, fn in (("this tree", schedule), (f"baseline {args.baseline_commit}", _baseline(args.baseline_commit))):
        t0 = time.perf_counter()
        out = fn(items, "max-key")
        rows[name] = {"seconds": time.perf_counter() - t0, "selected": int(out["selected"].sum()),
                      "reasons": out["reason"].tolist()}
    (a, b) = rows.values()
    assert a["selected"] == b["selected"] and a["reasons"] == b["reasons"], "the two schedules differ"
    result = {"machine": machine(), "items": args.items, "days": args.days, "policy": "max-key",
              "seconds": {k: v["seconds"] for k, v in rows.items()}, "selected": a["selected"],
              "speedup": b["seconds"] / a["seconds"]}
    out = ROOT / "benchmarks" / "results" / "schedule_cpu.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
