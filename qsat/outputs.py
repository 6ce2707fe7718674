"""Writing products: tables to CSV, Datasets to NetCDF, each with provenance.

Every file records the scenario hash, qsat version, backend, seed and the
versions of the data used (``Run.provenance``). Tables get the provenance in a
sidecar ``*.provenance.json`` (CSV has no attributes).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr


def write_table(df: pd.DataFrame, path: Path, provenance: dict) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False, float_format="%.6f")
    path.with_suffix(".provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
    return path


def write_dataset(ds: xr.Dataset, path: Path, provenance: dict) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds = ds.copy()
    ds.attrs.update({k: (str(v) if not isinstance(v, (int, float, np.number)) else v)
                     for k, v in provenance.items()})
    encoding = {name: {"zlib": True, "complevel": 4} for name, v in ds.data_vars.items()
                if v.dtype.kind in "fiub"}
    ds.to_netcdf(path, engine="h5netcdf", encoding=encoding)
    return path


def write_products(run, out_dir: Path) -> list[Path]:
    """Write every product of a run into ``out_dir``; returns the paths written."""
    out_dir = Path(out_dir)
    provenance = run.provenance()
    written = []
    for name, product in run.products.items():
        if isinstance(product, pd.DataFrame):
            written.append(write_table(product, out_dir / f"{name}.csv", provenance))
        elif isinstance(product, xr.Dataset):
            written.append(write_dataset(product, out_dir / f"{name}.nc", provenance))
    (out_dir / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
    return written
