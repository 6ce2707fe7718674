"""Writing products in qsat's versioned output schema.

Every file a run writes follows one schema, whose version (:data:`SCHEMA_VERSION`)
every file records next to its provenance (scenario hash, qsat version, backend,
seed, versions of the data used; ``Run.provenance``). ``docs/outputs.md`` lists
every product, column and variable with its units.

* Datasets → NetCDF-4 (``.nc``, h5netcdf) and/or Zarr (``.zarr``, Zarr format 2 with
  consolidated metadata, the layout most readers open today). CF-style: global
  ``Conventions``, ``title``, ``source``, ``history``, ``product`` and
  ``schema_version`` attributes; ``units`` and ``long_name`` on every numeric variable.
* Tables → CSV (``.csv`` with a ``*.provenance.json`` sidecar holding the provenance
  and the unit of every column) and/or Parquet (``.parquet``; provenance in the file's
  key-value metadata under ``qsat``, each column's ``units`` in its field metadata).
* ``summary.json``: counts, totals per station and satellite, key totals, budget
  totals, the files written and the provenance; ``provenance.json`` for the run.

Units are the producers' business: a stage sets ``units`` on what it makes. The
writer only fills gaps it knows how to fill (see :data:`FILLED_UNITS`), and records
each fill in the file's ``schema_filled_units`` attribute so none goes unnoticed.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import math
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from .errors import QsatInputError

#: Version of the output schema: major changes rename or remove columns/variables or change
#: their units; minor changes add them.
SCHEMA_VERSION = "1.0"
CONVENTIONS = "CF-1.10"

DATASET_FORMATS = ("netcdf", "zarr")
TABLE_FORMATS = ("csv", "parquet")
FORMATS = DATASET_FORMATS + TABLE_FORMATS
#: written when no format is asked for: the two that need nothing beyond qsat's core dependencies
DEFAULT_FORMATS = ("netcdf", "csv")
_NEEDS = {"zarr": "zarr", "parquet": "pyarrow"}
_SUFFIX = {"netcdf": ".nc", "zarr": ".zarr", "csv": ".csv", "parquet": ".parquet"}

# --- units of table columns (docs/outputs.md) -------------------------------------------------
#: Units of the columns of qsat's tables, by column name ("" for labels, "1" for ratios, counts
#: and flags, "UTC" for ISO 8601 times). Used for the CSV sidecar and Parquet field metadata.
COLUMN_UNITS: dict[str, str] = {
    # passes (orbit stage)
    "pass_id": "1", "satellite": "", "station": "", "rise_utc": "UTC", "culmination_utc": "UTC",
    "set_utc": "UTC", "max_elevation_deg": "deg", "duration_s": "s", "min_range_km": "km",
    "rise_azimuth_deg": "deg", "set_azimuth_deg": "deg", "sun_altitude_max_deg": "deg", "dark": "1",
    "sunlit_fraction": "1", "rise_observed": "1", "set_observed": "1", "n_steps": "1",
    # passes (keys stage)
    "sifted_bits": "bit", "qber": "1", "phase_error_x": "1", "secret_key_bits": "bit",
    "secret_key_bits_asymptotic": "bit", "plob_bound_bits": "bit", "key_window_s": "s",
    "entangled_pairs": "1", "basis_probability_x": "1", "mu1": "1", "mu2": "1", "p_mu1": "1",
    "p_mu2": "1",
    # entanglement (keys stage, BBM92 dual downlink: one row per pair of passes)
    "pass_a": "1", "pass_b": "1", "station_a": "", "station_b": "", "overlap_s": "s", "coincidences": "1",
    "visibility": "1", "chsh_s": "1", "fidelity": "1",
    # schedule (budget stage: one row per pass or dual-downlink pair; times from the window start)
    "kind": "", "stations": "", "start_s": "s", "end_s": "s", "night": "1", "key_bits": "bit", "selected": "1",
    "reason": "", "clear_probability": "1",
}

#: Units the writer fills where a producer left them out: per-pass ``pass_<column>`` variables
#: take their table column's unit; index coordinates and flags are dimensionless.
FILLED_UNITS: dict[str, str] = {"pass": "1", "step": "1", "trial": "1", "item": "1", "quantile": "1", "bin": "1",
                                 "bin_edge": "1"}
_LONG_NAMES = {"pass": "pass index (pass_id of the pass table)", "step": "step index within the pass"}


def _missing_library(fmt: str) -> bool:
    return fmt in _NEEDS and importlib.util.find_spec(_NEEDS[fmt]) is None


def parse_formats(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """Formats from ``"netcdf,zarr"``, a list, ``"all"`` or None (the defaults).

    Raises :class:`QsatInputError` for an unknown format or one whose library is missing.
    """
    if value is None:
        return DEFAULT_FORMATS
    items = value.split(",") if isinstance(value, str) else list(value)
    items = [s.strip().lower() for s in items if s.strip()]
    if items == ["all"]:
        items = list(FORMATS)
    out = []
    for fmt in items:
        if fmt not in FORMATS:
            raise QsatInputError("--format", fmt, f"a comma-separated list of {', '.join(FORMATS)} (or 'all')")
        if _missing_library(fmt):
            raise QsatInputError("--format", fmt, f"the '{_NEEDS[fmt]}' package installed "
                                                  "(pip install 'qsat[outputs]')")
        if fmt not in out:
            out.append(fmt)
    if not any(f in out for f in DATASET_FORMATS):
        raise QsatInputError("--format", ",".join(out), "at least one Dataset format (netcdf or zarr)")
    if not any(f in out for f in TABLE_FORMATS):
        raise QsatInputError("--format", ",".join(out), "at least one table format (csv or parquet)")
    return tuple(out)


def schema_provenance(provenance: dict) -> dict:
    """The provenance with the schema version first."""
    return {"schema_version": SCHEMA_VERSION, **{k: v for k, v in provenance.items() if k != "schema_version"}}


def _attr_value(value):
    """NetCDF/Zarr attributes: numbers and strings only."""
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return value
    if value is None:
        return ""
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, default=str)
    return str(value)


def column_units(df: pd.DataFrame) -> dict[str, str | None]:
    """Unit of every column of a table (None where the schema does not know the column)."""
    return {c: COLUMN_UNITS.get(c) for c in df.columns}


def conform_dataset(ds: xr.Dataset, provenance: dict, product: str | None = None) -> xr.Dataset:
    """A copy of ``ds`` in the output schema: global attributes, ``units`` on every numeric variable.

    Gaps are filled from :data:`FILLED_UNITS` and :data:`COLUMN_UNITS` (``pass_<column>``);
    booleans are flags (units ``1``); filled names are listed in ``schema_filled_units``.
    Variables whose unit the writer cannot know are listed in ``schema_missing_units``.
    """
    ds = ds.copy()
    var_attrs, ds.attrs = _conformed_attrs({n: (v.dtype.kind, v.attrs) for n, v in ds.variables.items()},
                                           ds.attrs, provenance, product)
    for name, var in ds.variables.items():
        var.attrs = var_attrs[name]
    return ds


def _conformed_attrs(variables: dict, attrs: dict, provenance: dict, product: str | None) -> tuple[dict, dict]:
    """(attributes of every variable, global attributes) in the output schema (:func:`conform_dataset`);
    ``variables``: ``{name: (dtype kind, attributes)}``. The inputs are left as they are."""
    out = {name: dict(var_attrs) for name, (_, var_attrs) in variables.items()}
    filled, missing = [], []
    for name, (kind, _) in variables.items():
        var_attrs = out[name]
        if kind in "MmUSO":  # times carry CF units in their encoding; strings have none
            continue
        units = var_attrs.get("units")
        if units not in (None, ""):
            continue
        if kind == "b":
            unit = "1"
        elif name in FILLED_UNITS:
            unit = FILLED_UNITS[name]
        elif name.startswith("pass_") and name[5:] in COLUMN_UNITS:
            unit = COLUMN_UNITS[name[5:]] or "1"
        elif units == "":  # the producer said "no unit" for a number: CF spells that "1"
            unit = "1"
        else:
            missing.append(name)
            continue
        var_attrs["units"] = unit
        if name in _LONG_NAMES and "long_name" not in var_attrs:
            var_attrs["long_name"] = _LONG_NAMES[name]
        filled.append(name)
    for name, (kind, _) in variables.items():
        if kind == "M":
            out[name].setdefault("standard_name", "time")
    prov = schema_provenance(provenance)
    attrs = {k: _attr_value(v) for k, v in attrs.items()}
    attrs.update({
        "Conventions": CONVENTIONS,
        "title": attrs.get("title", f"qsat {product or 'product'}"),
        "product": product or attrs.get("product", ""),
        "source": f"qsat {prov.get('qsat_version', '')}".strip(),
        "history": f"{prov.get('created_utc', '')} written by qsat".strip(),
        # in name order: the same list whatever order the variables were built in
        "schema_filled_units": ", ".join(sorted(filled)),
        "schema_missing_units": ", ".join(sorted(missing)),
    })
    attrs.update({k: _attr_value(v) for k, v in prov.items()})
    return out, attrs


def _strings_as_objects(ds: xr.Dataset) -> xr.Dataset:
    """Fixed-width unicode arrays as variable-length strings (portable in Zarr)."""
    changes = {n: v.astype(object) for n, v in ds.variables.items() if v.dtype.kind == "U" and n not in ds.dims}
    coords = {n: v for n, v in changes.items() if n in ds.coords}
    data = {n: v for n, v in changes.items() if n not in ds.coords}
    return ds.assign_coords(coords).assign(data)


def write_dataset(ds: xr.Dataset, path: Path, provenance: dict, *, product: str | None = None,
                  fmt: str | None = None) -> Path:
    """Write one Dataset as NetCDF (``.nc``) or Zarr (``.zarr``), in the output schema."""
    path = Path(path)
    fmt = fmt or ("zarr" if path.suffix == ".zarr" else "netcdf")
    path.parent.mkdir(parents=True, exist_ok=True)
    ds = conform_dataset(ds, provenance, product or path.stem)
    if fmt == "zarr":
        if path.exists():
            shutil.rmtree(path)
        # Zarr format 2 + consolidated metadata: what xarray, NCZarr and most readers open as is
        _strings_as_objects(ds).to_zarr(path, mode="w", zarr_format=2, consolidated=True)
        return path
    ds.to_netcdf(path, engine="h5netcdf", encoding=netcdf_encoding(ds))
    return path


#: Variable kinds deflated in NetCDF: times, integers and flags (see :func:`netcdf_encoding`).
DEFLATED_KINDS = "Miub"


def netcdf_encoding(ds: xr.Dataset) -> dict:
    """Byte shuffle + deflate 1 for times, integers and flags; float variables stored plain.

    Times (int64 nanoseconds a whole step apart), counts and flags shrink ~10x at little CPU.
    Full-precision float64 quantities do not: their mantissa bytes are noise, so deflate only
    removes the NaN padding (a 24 x 8 x 12 d ``qsat passes`` geometry: 64% of plain) at about
    3/4 of that command's whole writing time. Times keep their CF time coding (e.g. the int64
    nanoseconds of :func:`append_dataset`); other encodings (chunks of a file the Dataset was
    read from) are left to the writer, as before.
    """
    return {name: {**{k: v.encoding[k] for k in _TIME_CODING if k in v.encoding and v.dtype.kind == "M"},
                   "zlib": True, "complevel": 1, "shuffle": True}
            for name, v in ds.data_vars.items() if v.dtype.kind in DEFLATED_KINDS}


#: Encoding keys of a datetime64 variable's CF time coding, kept by :func:`netcdf_encoding`.
_TIME_CODING = ("units", "calendar", "dtype", "_FillValue")


def append_dataset(ds: xr.Dataset, path: Path, provenance: dict, *, dim: str, first: bool,
                   product: str | None = None, fmt: str | None = None) -> Path:
    """Write a product piece by piece into one file: ``first`` creates it (as :func:`write_dataset`,
    with ``dim`` unlimited in NetCDF), later pieces are appended along ``dim``; their other
    dimensions must match. Times are stored as int64 nanoseconds since 1970 in every piece."""
    path = Path(path)
    fmt = fmt or ("zarr" if path.suffix == ".zarr" else "netcdf")
    ds = ds.copy()
    for var in ds.variables.values():
        if var.dtype.kind == "M":
            var.encoding.update({"units": "nanoseconds since 1970-01-01", "dtype": "int64"})
    if first:
        ds.encoding["unlimited_dims"] = {dim}
        return write_dataset(ds, path, provenance, product=product, fmt=fmt)
    ds = conform_dataset(ds, provenance, product or path.stem)
    if fmt == "zarr":
        _strings_as_objects(ds).to_zarr(path, append_dim=dim, zarr_format=2, consolidated=True)
        return path
    from xarray.conventions import cf_encoder

    variables, _ = cf_encoder(dict(ds.variables), {})
    return _append_h5(path, {n: (v.dims, v.values) for n, v in variables.items()}, dict(ds.sizes), dim)


@dataclass
class PlainDataset:
    """A Dataset's content as plain NumPy arrays: ``data`` and ``coords`` map names to ``(dims,
    values, attributes)``, ``attrs`` are the global attributes. :meth:`dataset` makes the xarray
    Dataset; :func:`append_netcdf` writes it as :func:`append_dataset` would, without one (a
    first xarray Dataset in a process costs ~0.6 s of imports, writing one ~0.2 s more)."""

    data: dict
    coords: dict
    attrs: dict

    def dataset(self) -> xr.Dataset:
        return xr.Dataset(self.data, coords=self.coords, attrs=self.attrs)

    def take(self, dim: str, index: np.ndarray) -> PlainDataset:
        """The entries ``index`` along ``dim`` of every variable that has it."""
        def part(dims, values, attrs):
            return dims, (np.take(values, index, axis=dims.index(dim)) if dim in dims else values), attrs
        return PlainDataset({n: part(*v) for n, v in self.data.items()},
                            {n: part(*v) for n, v in self.coords.items()}, self.attrs)

    def assign_coord(self, name: str, values) -> PlainDataset:
        """A copy with coordinate ``name``'s values replaced (same dims and attributes)."""
        dims, _, attrs = self.coords[name]
        return PlainDataset(self.data, {**self.coords, name: (dims, np.asarray(values), attrs)}, self.attrs)


#: CF encoding of datetime64[ns] variables written piece by piece (:func:`append_dataset`).
_TIME_UNITS = {"units": "nanoseconds since 1970-01-01", "calendar": "proleptic_gregorian"}


def _encode_plain(name: str, dims: tuple, values: np.ndarray, attrs: dict, coordinates: str | None):
    """(values as stored, attributes, h5netcdf creation options) of one variable, as xarray's CF
    encoder and h5netcdf backend store it: floats with a NaN ``_FillValue``, booleans as int8 with
    ``dtype: bool``, datetime64[ns] as int64 nanoseconds since 1970 (NaT: the int64 minimum),
    strings variable-length."""
    import h5py

    attrs = dict(attrs)
    if coordinates:
        attrs["coordinates"] = coordinates
    kind = values.dtype.kind
    create = {"dimensions": dims, "chunks": None}
    if kind == "f":
        create.update(dtype=values.dtype, fillvalue=values.dtype.type(np.nan))
    elif kind == "b":
        values = values.astype(np.int8)
        attrs["dtype"] = "bool"
        create["dtype"] = values.dtype
    elif kind == "M":
        if values.dtype != np.dtype("datetime64[ns]"):
            raise ValueError(f"{name}: times must be datetime64[ns], not {values.dtype}")
        values = values.view(np.int64)
        attrs.update(_TIME_UNITS)
        create["dtype"] = values.dtype
    elif kind in "iu":
        create["dtype"] = values.dtype
    elif kind in "UO":
        values = values.astype(object)
        create["dtype"] = h5py.string_dtype()
    else:
        raise ValueError(f"{name}: dtype {values.dtype} is not written by append_netcdf")
    return values, attrs, create


def append_netcdf(plain: PlainDataset, path: Path, provenance: dict, *, dim: str, first: bool,
                  product: str | None = None) -> Path:
    """:func:`append_dataset` into NetCDF for a :class:`PlainDataset`: the same file, variables,
    attributes, encodings (:func:`netcdf_encoding`) and chunks, written with h5netcdf directly."""
    import h5netcdf

    path = Path(path)
    variables = {**plain.data, **plain.coords}
    var_attrs, attrs = _conformed_attrs({n: (np.asarray(v[1]).dtype.kind, v[2]) for n, v in variables.items()},
                                        plain.attrs, provenance, product or path.stem)
    non_dim = [n for n, (dims, _, _) in plain.coords.items() if (n,) != tuple(dims)]
    sizes = {}
    for name, (dims, values, _) in variables.items():
        for d, n in zip(dims, np.shape(values)):
            sizes[d] = n
    encoded = {}
    for name, (dims, values, _) in variables.items():
        dims = tuple(dims)
        # xarray's rule: a data variable lists, in name order, the coordinates along its dims
        along = sorted(c for c in non_dim if set(plain.coords[c][0]) <= set(dims))
        coordinates = " ".join(along) if name in plain.data else None
        encoded[name] = _encode_plain(name, dims, np.asarray(values), var_attrs[name], coordinates)
    if not first:
        return _append_h5(path, {n: (create["dimensions"], values) for n, (values, _, create) in encoded.items()},
                          sizes, dim)
    with h5netcdf.File(path, "w", decode_vlen_strings=True) as f:
        for key, value in attrs.items():
            f.attrs[key] = value
        for d, n in sizes.items():
            if d == dim:
                f.dimensions[d] = None
                f.resize_dimension(d, n)
            else:
                f.dimensions[d] = n
        for name, (values, var_attrs_encoded, create) in encoded.items():
            if name in plain.data and values.dtype.kind in DEFLATED_KINDS:
                create.update(compression="gzip", compression_opts=1, shuffle=True)
            var = f.create_variable(name, **create)
            for key, value in var_attrs_encoded.items():
                var.attrs[key] = value
        for name, (values, _, _) in encoded.items():
            f[name][...] = values
    return path


def _append_h5(path: Path, variables: dict, sizes: dict, dim: str) -> Path:
    """Encoded ``variables`` (``{name: (dims, values)}``) appended along ``dim`` of a NetCDF file."""
    import h5netcdf

    with h5netcdf.File(path, "a") as f:
        for d, size in sizes.items():
            if d != dim and f.dimensions[d].size != size:
                raise ValueError(f"{path}: dimension {d} has {f.dimensions[d].size} entries, the piece {size}")
        start = f.dimensions[dim].size
        f.resize_dimension(dim, start + sizes[dim])
        for name, (dims, values) in variables.items():
            if dim in dims:
                where = tuple(slice(start, None) if d == dim else slice(None) for d in dims)
                f[name][where] = values
    return path


class PieceWriter:
    """Per-step products written group by group of passes (``qsat run``, :func:`qsat.pipeline.execute`'s
    ``sink``): each piece of product ``name`` is appended to ``out_dir/<name>.nc`` (and ``.zarr``)
    along ``pass`` (:func:`append_dataset`) with the run's provenance so far; :meth:`finish`
    writes its final state (with the warnings of later groups) into every file."""

    def __init__(self, out_dir: Path, formats: Iterable[str]):
        self.out_dir = Path(out_dir)
        self.formats = [f for f in parse_formats(formats) if f in DATASET_FORMATS]
        self.paths: dict[str, list[Path]] = {}
        self.sizes: dict[str, dict[str, int]] = {}
        self.variables: dict[str, list[str]] = {}

    def __call__(self, name: str, ds: xr.Dataset, provenance: dict) -> None:
        first = name not in self.paths
        paths = [append_dataset(ds, self.out_dir / f"{name}{_SUFFIX[fmt]}", provenance, dim="pass",
                                first=first, product=name, fmt=fmt) for fmt in self.formats]
        self.paths[name] = paths
        sizes = {d: int(n) for d, n in ds.sizes.items()}
        if not first:
            sizes["pass"] += self.sizes[name]["pass"]
        self.sizes[name] = sizes
        self.variables[name] = sorted(map(str, ds.data_vars))

    def files(self) -> list[Path]:
        return [p for paths in self.paths.values() for p in paths]

    def finish(self, provenance: dict) -> None:
        """The run's final provenance in every file's global attributes (as :func:`write_dataset`
        would have written it at the end)."""
        prov = schema_provenance(provenance)
        attrs = {k: _attr_value(v) for k, v in prov.items()}
        attrs["history"] = f"{prov.get('created_utc', '')} written by qsat".strip()
        for path in self.files():
            if path.suffix == ".zarr":
                import zarr

                group = zarr.open_group(path, mode="r+", zarr_format=2)
                group.attrs.update(attrs)
                zarr.consolidate_metadata(path, zarr_format=2)
            else:
                import h5netcdf

                with h5netcdf.File(path, "a") as f:
                    for key, value in attrs.items():
                        f.attrs[key] = value

    def open(self) -> dict[str, xr.Dataset]:
        """Every product written, opened lazily (NetCDF where written, else Zarr): for figures and
        exports that read a few passes of them. The caller closes them."""
        out = {}
        for name, paths in self.paths.items():
            path = paths[0]
            out[name] = xr.open_zarr(path) if path.suffix == ".zarr" else xr.open_dataset(path, engine="h5netcdf")
        return out


def _sidecar(df: pd.DataFrame, provenance: dict, product: str | None) -> dict:
    return {**schema_provenance(provenance), "product": product or "",
            "columns": {c: {"units": u} for c, u in column_units(df).items()}}


def write_table(df: pd.DataFrame, path: Path, provenance: dict, *, product: str | None = None,
                fmt: str | None = None) -> Path:
    """Write one table as CSV (with a ``*.provenance.json`` sidecar) or Parquet."""
    path = Path(path)
    fmt = fmt or ("parquet" if path.suffix == ".parquet" else "csv")
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = _sidecar(df, provenance, product or path.stem)
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(df, preserve_index=False)
        fields = [f.with_metadata({"units": meta["columns"][f.name]["units"] or ""}) if f.name in meta["columns"]
                  else f for f in table.schema]
        schema = pa.schema(fields, metadata={**(table.schema.metadata or {}),
                                             b"qsat": json.dumps(meta, default=str).encode()})
        pq.write_table(table.cast(schema), path)
        return path
    df.to_csv(path, index=False, float_format="%.6f")
    path.with_suffix(".provenance.json").write_text(json.dumps(meta, indent=2, default=str) + "\n")
    return path


def read_parquet_metadata(path: Path) -> dict:
    """The ``qsat`` metadata (provenance, schema version, column units) of a Parquet file."""
    import pyarrow.parquet as pq

    raw = (pq.read_schema(path).metadata or {}).get(b"qsat")
    if raw is None:
        raise QsatInputError(str(path), "no 'qsat' metadata", "a Parquet table written by qsat")
    return json.loads(raw)


# --- summary ------------------------------------------------------------------------------------

def _clean(value):
    """JSON-safe: NaN/inf → None, numpy scalars → Python."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    return value


_SUMMED = ("duration_s", "sifted_bits", "secret_key_bits", "secret_key_bits_asymptotic", "entangled_pairs")


def _group_totals(passes: pd.DataFrame, by: str, keys: pd.DataFrame | None = None) -> dict:
    """Pass counts and sums per value of ``by``; key sums from ``keys`` when given (a pair table)."""
    out = {}
    for name, group in passes.groupby(by, sort=True):
        row = {"passes": int(len(group))}
        if "dark" in group:
            row["night_passes"] = int(group["dark"].astype(bool).sum())
        if "duration_s" in group:
            row["duration_s_total"] = float(group["duration_s"].sum())
        if "max_elevation_deg" in group:
            row["max_elevation_deg"] = float(group["max_elevation_deg"].max())
        source = group if keys is None else keys[keys[by] == name]
        for col in _SUMMED[1:]:
            if col in source and source[col].notna().any():
                row[col] = float(source[col].sum())
        out[str(name)] = row
    return out


def summarize(run, files: Iterable[Path] = (), out_dir: Path | None = None) -> dict:
    """The content of ``summary.json`` for a run (see docs/outputs.md)."""
    sc = run.scenario
    products = run.products
    summary = {"schema_version": SCHEMA_VERSION, "scenario": sc.name,
               "window": {"start_utc": sc.time.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                          "duration_s": float(sc.time.duration), "step_s": float(sc.time.step)},
               "counts": {"satellites": len(sc.satellites), "ground_stations": len(sc.ground_stations)}}
    passes = products.get("passes")
    if isinstance(passes, pd.DataFrame):
        summary["counts"]["passes"] = int(len(passes))
        # a dual-downlink key belongs to a pair of passes: each station holds it, the satellite
        # and the totals count it once, from the pair table
        pairs = products.get("entanglement")
        source = pairs if isinstance(pairs, pd.DataFrame) and "secret_key_bits" in pairs else passes
        summary["per_station"] = _group_totals(passes, "station")
        summary["per_satellite"] = _group_totals(passes, "satellite", None if source is passes else source)
        if "secret_key_bits" in source:
            keys = {c: float(source[c].sum()) for c in _SUMMED[1:] if c in source and source[c].notna().any()}
            keys["from"] = "entanglement" if source is pairs else "passes"
            keys["items_with_key"] = int((source["secret_key_bits"].fillna(0) > 0).sum())
            if "sifted_bits" in source and "qber" in source and source["sifted_bits"].sum() > 0:
                w = source["sifted_bits"].fillna(0)
                keys["qber_sifted_weighted"] = float((source["qber"].fillna(0) * w).sum() / w.sum())
            if sc.protocol is not None:
                keys["protocol"] = sc.protocol.protocol
            summary["keys"] = keys
    budget = products.get("budget")
    if isinstance(budget, xr.Dataset):
        summary["budget"] = _budget_summary(budget)
    mc = products.get("montecarlo")
    if isinstance(mc, xr.Dataset) and "budget_secret_key_bits_quantile" in mc:
        q = mc["budget_secret_key_bits_quantile"]
        summary["montecarlo"] = {"trials": mc.attrs.get("trials"),
                                 "budget_secret_key_bits_mean": float(mc["budget_secret_key_bits_mean"]),
                                 "budget_secret_key_bits_quantiles": {f"p{round(100 * float(k))}": float(v) for k, v in
                                                                      zip(q["quantile"].values, q.values)}}
    for name, product in products.items():
        if isinstance(product, xr.Dataset):
            summary.setdefault("datasets", {})[name] = {"dims": {k: int(v) for k, v in product.sizes.items()},
                                                        "variables": sorted(map(str, product.data_vars))}
        elif isinstance(product, pd.DataFrame):
            summary.setdefault("tables", {})[name] = {"rows": int(len(product)), "columns": list(map(str, product.columns))}
    pieces = run.context.get("pieces")  # the per-step products written group by group
    for name in (pieces.paths if pieces is not None else ()):
        summary.setdefault("datasets", {})[name] = {"dims": pieces.sizes[name], "variables": pieces.variables[name]}
    base = Path(out_dir) if out_dir is not None else None
    summary["files"] = [str(Path(f).relative_to(base)) if base is not None and Path(f).is_relative_to(base)
                        else str(f) for f in files]
    summary["warnings"] = list(run.warnings)
    summary["provenance"] = schema_provenance(run.provenance())
    return _clean(summary)


def _budget_summary(budget: xr.Dataset) -> dict:
    """Median (P50 over weather trials) totals per station and user pair."""
    def median(name):
        var = budget[name]
        return var.median("trial") if "trial" in var.dims else var

    out = {}
    if "station_key_bits_total" in budget:
        v = median("station_key_bits_total")
        out["station_key_bits_total_p50"] = {str(s): float(x) for s, x in zip(v["station"].values, v.values)}
    if "pair_delivered_bits_total" in budget and budget.sizes.get("pair", 0):
        v = median("pair_delivered_bits_total")
        out["pair_delivered_bits_total_p50"] = {str(s): float(x) for s, x in zip(v["pair"].values, v.values)}
        if "pair_status" in budget:
            out["pair_status"] = {str(s): str(x) for s, x in zip(budget["pair"].values, budget["pair_status"].values)}
    if "trial" in budget.dims:
        out["weather_trials"] = int(budget.sizes["trial"])
    return out


def write_summary(run, out_dir: Path, files: Iterable[Path] = ()) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "summary.json"
    path.write_text(json.dumps(summarize(run, files, out_dir), indent=2) + "\n")
    return path


def write_products(run, out_dir: Path, formats: str | Iterable[str] | None = None,
                   extra_files: Iterable[Path] = ()) -> list[Path]:
    """Write every product of a run into ``out_dir`` in ``formats`` (default: NetCDF and CSV).

    Products a :class:`PieceWriter` in ``run.context["pieces"]`` wrote group by group are listed
    and given the run's final provenance. Also writes ``provenance.json`` and ``summary.json`` (which lists ``extra_files`` too,
    e.g. figures and exports written beside the data). Returns every file written: the data,
    the CSV tables' provenance sidecars, ``provenance.json`` and ``summary.json``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    formats = parse_formats(formats)
    provenance = run.provenance()
    written = []
    pieces = run.context.get("pieces")  # products already written group by group (PieceWriter)
    if pieces is not None:
        pieces.finish(provenance)
        written += pieces.files()
    for name, product in run.products.items():
        if isinstance(product, pd.DataFrame):
            for fmt in (f for f in formats if f in TABLE_FORMATS):
                path = write_table(product, out_dir / f"{name}{_SUFFIX[fmt]}", provenance, product=name, fmt=fmt)
                written += [path, path.with_suffix(".provenance.json")] if fmt == "csv" else [path]
        elif isinstance(product, xr.Dataset):
            for fmt in (f for f in formats if f in DATASET_FORMATS):
                written.append(write_dataset(product, out_dir / f"{name}{_SUFFIX[fmt]}", provenance,
                                             product=name, fmt=fmt))
    (out_dir / "provenance.json").write_text(json.dumps(schema_provenance(provenance), indent=2) + "\n")
    written += [out_dir / "provenance.json", out_dir / "summary.json"]
    write_summary(run, out_dir, [*written, *extra_files])
    return written


# --- where outputs go: checked before any computing, written beside and moved into place ------

def _nearest_existing(path: Path) -> Path:
    ancestor = path.absolute().parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    return ancestor


def _check_can_create_in(path: Path, field: str) -> None:
    """``path`` (not existing yet, or to be replaced) can be created: its nearest existing
    ancestor is a folder in which a file can really be made (root ignores permission bits)."""
    ancestor = _nearest_existing(path)
    if not ancestor.is_dir():
        raise QsatInputError(field, str(path), f"a path that can be created ({ancestor} is a file, not a folder)")
    try:
        fd, probe = tempfile.mkstemp(prefix=".qsat-write-probe-", dir=ancestor)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise QsatInputError(field, str(path), f"a location this user can write to (no file can be made in "
                                               f"{ancestor}: {exc.strerror or exc})") from None


def check_output_file(path: Path, field: str = "--out") -> Path:
    """Refuse, before any computing, an output file that cannot be written: an existing folder,
    a path under a file, or an unwritable folder or file."""
    path = Path(path)
    if path.is_dir():
        raise QsatInputError(field, str(path), "a file name (this is an existing folder)")
    if path.exists() and not os.access(path, os.W_OK):
        raise QsatInputError(field, str(path), "a file this user can write (it is read-only)")
    _check_can_create_in(path, field)
    return path


def check_product_path(path: Path, kind: str, field: str = "--out") -> str:
    """The format of an output file named ``path`` for a ``kind`` of product ("table" or
    "dataset"), refusing up front another file type, a format whose library is missing, or a
    path that cannot be written. Returns the format (``csv``, ``parquet``, ``netcdf``, ``zarr``)."""
    path = Path(path)
    fmts = TABLE_FORMATS if kind == "table" else DATASET_FORMATS
    by_suffix = {_SUFFIX[f]: f for f in fmts}
    fmt = by_suffix.get(path.suffix.lower())
    if fmt is None:
        what = "a table" if kind == "table" else "a Dataset"
        raise QsatInputError(field, str(path), f"a file name ending in {' or '.join(by_suffix)} ({what})")
    if _missing_library(fmt):
        raise QsatInputError(field, str(path), f"the '{_NEEDS[fmt]}' package installed for {fmt} "
                                               "(pip install 'qsat[outputs]')")
    if fmt == "zarr" and path.is_dir():  # a Zarr store is a folder: replace only a store
        if not ((path / ".zgroup").exists() or (path / "zarr.json").exists()):
            raise QsatInputError(field, str(path), "a new path or an existing Zarr store to replace (this "
                                                   "folder is not a Zarr store)")
        _check_can_create_in(path, field)
        return fmt
    check_output_file(path, field)
    return fmt


def check_output_dir(path: Path, overwrite: bool = False, field: str = "--out") -> Path:
    """Refuse, before any computing, an output folder that is a file, cannot be created, or
    already holds files (unless ``overwrite``: its content is then replaced at the end)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise QsatInputError(field, str(path), "a folder (this is an existing file)")
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise QsatInputError(field, str(path), "an empty or new folder (this one holds files; --overwrite "
                                               "replaces its whole content)")
    _check_can_create_in(path, field)
    return path


@contextlib.contextmanager
def staged_dir(out: Path):
    """A temporary folder beside ``out`` to write into, moved into place as ``out`` on success.

    On an error nothing of the new product is left, and a folder already at ``out`` stays as
    it was; on success it is replaced whole, so stale files never mix with new ones.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    umask = os.umask(0o022)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # a folder like any other the user makes, not mkdtemp's private 0700
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if out.exists():
        old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
        out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(out)


def moved(paths: Iterable[Path], staged: Path, out: Path) -> list[Path]:
    """``paths`` written under ``staged`` as they are named once moved to ``out``."""
    return [Path(out) / Path(p).relative_to(staged) for p in paths]


__all__ = ["SCHEMA_VERSION", "FORMATS", "DEFAULT_FORMATS", "parse_formats", "conform_dataset", "write_dataset",
           "write_table", "write_products", "append_dataset", "append_netcdf", "PlainDataset", "PieceWriter", "write_summary", "summarize",
           "read_parquet_metadata", "column_units", "schema_provenance", "check_output_file", "check_product_path",
           "check_output_dir", "staged_dir", "moved"]
