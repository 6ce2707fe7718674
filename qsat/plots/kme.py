"""The key manager's metrics against the predicted supply (``kme_metrics.nc`` of ``qsat kme``)."""

from __future__ import annotations

import numpy as np

from . import _need, figure


def kme_metrics(ds, source: str = "kme_metrics"):
    """Three panels over simulated time, one colour per user pair: keys the budget's supply
    predicted (dashed), stored in the pool (solid) and served to master SAEs (dotted),
    cumulative; the pool's fill against its capacity; requests refused (503) per sample."""
    _need(ds, ("supply_keys", "keys_minted", "keys_served_master", "stored_key_count", "requests_refused"),
          "a key manager metrics product (kme_metrics.nc from qsat kme)", source)
    t = np.asarray(ds["time"].values)
    fig = figure(8.0, 7.0)
    top, mid, low = fig.subplots(3, 1, sharex=True)
    for j, pair in enumerate(ds["pair"].values):
        color = f"C{j % 10}"
        row = ds.isel(pair=j)
        top.plot(t, row["supply_keys"].values, ls="--", color=color, label=f"{pair}: predicted supply")
        top.plot(t, row["keys_minted"].values, ls="-", color=color, label=f"{pair}: stored in the pool")
        top.plot(t, row["keys_served_master"].values, ls=":", color=color, label=f"{pair}: served")
        mid.step(t, row["stored_key_count"].values, where="post", color=color, label=str(pair))
        refused = np.diff(row["requests_refused"].values, prepend=0.0)
        low.step(t, refused, where="post", color=color, label=str(pair))
    capacity = int(ds.attrs.get("max_key_count", 0))
    if capacity:
        mid.axhline(capacity, color="k", lw=0.8, ls="--", label="max_key_count")
    top.set_ylabel(f"keys of {int(ds.attrs.get('key_size_bits', 0))} bit\n(cumulative)")
    top.legend(fontsize=6, ncol=3)
    top.set_title("key supply predicted by the budget vs. keys stored and served", fontsize=9)
    mid.set_ylabel("keys in the pool")
    mid.legend(fontsize=7)
    low.set_ylabel("requests refused\n(503) per sample")
    low.set_xlabel("simulated time (UTC)")
    for ax in (top, mid, low):
        ax.grid(alpha=0.3)
    fig.suptitle(f"Key manager (ETSI GS QKD 014), weather trial {int(ds.attrs.get('trial', 0))}", fontsize=10)
    return fig
