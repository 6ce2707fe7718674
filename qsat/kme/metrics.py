"""The key manager's metrics product (``kme_metrics.nc``): pools over simulated time.

Dimensions ``time`` (the samples, every ``sample_interval`` of simulated time, and the
moment the server stopped) and ``pair`` (user pairs). Variables, cumulative from the
start unless said otherwise:

| variable | units | meaning |
|---|---|---|
| ``supply_bits`` | bit | key the budget's supply had delivered to the pair by then |
| ``supply_keys`` | 1 | the same in keys of ``key_size`` bits (floor) |
| ``keys_minted`` | 1 | keys stored in the pool |
| ``keys_overflow`` | 1 | keys that arrived at a full pool (``max_key_count``) and were not stored |
| ``stored_key_count`` | 1 | keys in the pool at that moment (not cumulative) |
| ``keys_served_master`` | 1 | keys delivered to master SAEs (``enc_keys``) |
| ``keys_served_slave`` | 1 | keys delivered to slave SAEs (``dec_keys``) |
| ``requests_refused`` | 1 | ``enc_keys`` requests refused with 503 (pool too small) |
| ``keys_refused`` | 1 | keys those requests asked for |

and per SAE pair (dimension ``sae_pair``, labelled ``master>slave``, with
``sae_pair_master`` and ``sae_pair_slave``): ``sae_keys_served_master``,
``sae_keys_served_slave``, ``sae_requests_refused``, ``sae_keys_refused``.

``qsat plot kme_metrics.nc`` draws it (:func:`qsat.plots.kme.kme_metrics`).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np

VARIABLES = {  # column of the samples table -> (variable, units, long_name)
    "supply_bits": ("supply_bits", "bit", "key delivered to the pair by the budget's supply (cumulative)"),
    "minted": ("keys_minted", "1", "keys stored in the pool (cumulative)"),
    "overflow": ("keys_overflow", "1", "keys that arrived at a full pool and were not stored (cumulative)"),
    "stored": ("stored_key_count", "1", "keys in the pool"),
    "served": ("keys_served_master", "1", "keys delivered to master SAEs by enc_keys (cumulative)"),
    "served_slave": ("keys_served_slave", "1", "keys delivered to slave SAEs by dec_keys (cumulative)"),
    "refused_requests": ("requests_refused", "1", "enc_keys requests refused with 503, pool too small (cumulative)"),
    "refused_keys": ("keys_refused", "1", "keys asked for by the refused requests (cumulative)"),
}


SAE_VARIABLES = {name: VARIABLES[name] for name in ("served", "served_slave", "refused_requests", "refused_keys")}
SAE_VARIABLES = {k: ("sae_" + v[0], v[1], v[2]) for k, v in SAE_VARIABLES.items()}


def metrics_dataset(store):
    """The metrics Dataset of a key store (its sampled counters)."""
    import xarray as xr

    table = store.samples()
    info = store.info
    start = np.datetime64(info.get("start", "1970-01-01T00:00:00"), "ns")
    times = np.unique(table["sim_s"].to_numpy(float))
    pairs = list(dict.fromkeys(table["pair"]))
    ds = xr.Dataset(coords={"time": start + (times * 1e9).astype("timedelta64[ns]"), "pair": pairs})
    ds["sim_time_s"] = ("time", times, {"units": "s", "long_name": "simulated time from the window start"})
    wide = table.pivot(index="sim_s", columns="pair")
    for column, (name, units, long_name) in VARIABLES.items():
        values = wide[column].reindex(columns=pairs).to_numpy(float)
        ds[name] = (("time", "pair"), values, {"units": units, "long_name": long_name})
    sae = store.sae_samples()
    names = list(dict.fromkeys(sae["master"] + ">" + sae["slave"]))
    ds = ds.assign_coords(sae_pair=np.array(names, dtype=str))
    ds["sae_pair_master"] = ("sae_pair", np.array([n.split(">")[0] for n in names], dtype=str),
                             {"long_name": "master SAE (enc_keys caller)"})
    ds["sae_pair_slave"] = ("sae_pair", np.array([n.split(">")[1] for n in names], dtype=str),
                            {"long_name": "slave SAE (dec_keys caller)"})
    sae = sae.assign(name=sae["master"] + ">" + sae["slave"]).set_index(["sim_s", "name"])
    for column, (name, units, long_name) in SAE_VARIABLES.items():
        values = np.zeros((len(times), len(names)))
        if names:  # counters are zero before an SAE pair's first request
            wide = sae[column].unstack("name").reindex(index=times, columns=names)
            values = wide.ffill().fillna(0.0).to_numpy(float)
        ds[name] = (("time", "sae_pair"), values, {"units": units, "long_name": long_name + " (per SAE pair)"})
    ds["supply_keys"] = (("time", "pair"), np.floor(ds["supply_bits"].values / store.key_size + 1e-9),
                         {"units": "1", "long_name": f"supply in keys of {store.key_size} bits (floor)"})
    ds.attrs.update({"title": "qsat key manager metrics (ETSI GS QKD 014 pools)", "key_size_bits": store.key_size,
                     "max_key_count": int(info.get("max_key_count", 0)), "trial": int(info.get("trial", 0)),
                     "speed": float(info.get("speed", 0.0)), "key_material": "simulated (random bytes), not secret key"})
    return ds


def write_metrics(store, path) -> Path:
    """Write the metrics product (NetCDF) with the budget's provenance."""
    from ..outputs import write_dataset
    from .. import __version__

    provenance = {**store.info.get("provenance", {}), "qsat_version": __version__,
                  "created_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    return write_dataset(metrics_dataset(store), Path(path), provenance, product="kme_metrics")
