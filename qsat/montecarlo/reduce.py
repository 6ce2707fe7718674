"""From sampled counts to keys per pass, budgets, and the statistics of a Monte Carlo run.

* :func:`pass_results` — per (trial, pass): the finite-key secret key from the *sampled*
  counts (decoy BB84: :func:`qsat.protocols.decoy_bb84.key_length`, Lim et al., PRA 89,
  022307 (2014), Eq. (1); BBM92: :func:`qsat.protocols.bbm92.finite_key_bits`), sifted bits,
  errors, QBER, entangled pairs (BBM92), clear sky and the realised mean transmittance.
* :func:`statistics` — over trials: mean, P5/P50/P95 and histograms of the per-pass values
  and of the budgets (per trial: sum over all passes, and over each station's passes).

Quantiles are exact order statistics of all trials (``numpy.quantile``, linear
interpolation between order statistics, Hyndman & Fan, Am. Stat. 50, 361 (1996),
definition 7), computed from the complete per-trial arrays, so they do not depend on
how the run was chunked.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..backend import array_namespace, to_numpy
from .sampler import DECOY_OUTPUTS, OUT_CLEAR, OUT_N_USED, OUT_SUM_ETA

QUANTILES = (0.05, 0.5, 0.95)

#: Per-(trial, pass) results: name -> (units, long name).
RESULTS = {
    "secret_key_bits": ("bit", "finite-key secret key of the pass from its sampled counts"),
    "sifted_bits": ("count", "sifted events of the pass (both bases; BBM92: both parties' basis agreed)"),
    "errors": ("count", "bit errors among the sifted events"),
    "qber": ("1", "error rate of the sifted events (decoy BB84: X basis)"),
    "entangled_pairs": ("count", "true coincidences (BBM92; NaN for decoy BB84)"),
    "clear": ("1", "1 when the sky was clear during the pass, else 0"),
    "mean_transmittance": ("1", "realised transmittance to the click (detector efficiency included), mean over the pass's steps"),
}


def pass_results(out, protocol: str, key_settings: dict) -> dict:
    """Per-(trial, pass) results (``RESULTS``) from kernel outputs (n_trials, n_passes, N_OUT).

    A Poisson draw that failed (probability < 1e-60 per draw) shows as a negative count; the
    pass's key is then NaN (counted by :func:`statistics` in ``failed_samples``).
    """
    xp = array_namespace(out)
    counts = out[..., :len(DECOY_OUTPUTS)]
    failed = xp.any(counts < 0, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_eta = xp.where(out[..., OUT_N_USED] > 0, out[..., OUT_SUM_ETA] / out[..., OUT_N_USED], xp.nan)
    if protocol == "decoy-bb84":
        from ..protocols.decoy_bb84 import key_length

        settings = dict(key_settings)
        mu = xp.asarray(settings.pop("mu"), dtype=xp.float64)
        p = xp.asarray(settings.pop("p"), dtype=xp.float64)
        n_x, n_z, m_x, m_z = (xp.maximum(counts[..., 3 * i:3 * i + 3], 0.0) for i in range(4))
        res = key_length(n_x, n_z, m_x, m_z, mu, p, **settings)
        key = res.secret_key_bits
        sifted = res.n_x + res.n_z
        errors = res.m_x + res.m_z
        with np.errstate(invalid="ignore", divide="ignore"):
            qber = xp.where(res.n_x > 0, res.m_x / res.n_x, xp.nan)
        pairs = xp.full(key.shape, xp.nan)
    else:
        from ..protocols.bbm92 import finite_key_bits

        pairs, sifted, errors = out[..., 0], out[..., 1], out[..., 2]
        with np.errstate(invalid="ignore", divide="ignore"):
            qber = xp.where(sifted > 0, errors / xp.where(sifted > 0, sifted, 1.0), xp.nan)
        key = finite_key_bits(xp.maximum(sifted, 0.0), xp.where(sifted > 0, qber, 0.5), **key_settings)
    key = xp.where(failed, xp.nan, key)
    return {"secret_key_bits": key, "sifted_bits": sifted, "errors": errors, "qber": qber,
            "entangled_pairs": pairs, "clear": out[..., OUT_CLEAR], "mean_transmittance": mean_eta}


def _edges(values: np.ndarray, bins: int) -> np.ndarray:
    finite = values[np.isfinite(values)]
    lo = float(min(finite.min(), 0.0)) if finite.size else 0.0
    hi = float(finite.max()) if finite.size else 1.0
    if hi <= lo:
        hi = lo + 1.0
    return np.linspace(lo, hi, bins + 1)


def _histogram(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts per bin along the first axis (trials), for every other index; last bin closed."""
    bins = len(edges) - 1
    flat = values.reshape(values.shape[0], -1)
    idx = np.clip(np.searchsorted(edges, flat, side="right") - 1, 0, bins - 1)
    idx = np.where(np.isfinite(flat), idx, bins)  # NaN goes to an overflow slot, dropped
    cols = flat.shape[1]
    offset = idx + (bins + 1) * np.arange(cols)[None, :]
    counts = np.bincount(offset.ravel(), minlength=(bins + 1) * cols).reshape(cols, bins + 1)[:, :bins]
    return counts.reshape(values.shape[1:] + (bins,)).astype(np.int64)


def _describe(data: dict, name: str, values: np.ndarray, dims: tuple, units: str, long_name: str,
              bins: int | None) -> None:
    """name_mean, name_quantile and (with ``bins``) name_histogram + name_bin_edges over trials."""
    attrs = {"units": units, "long_name": long_name}
    data[f"{name}_mean"] = (dims, np.mean(values, axis=0), {**attrs, "long_name": f"mean over trials: {long_name}"})
    data[f"{name}_quantile"] = (("quantile",) + dims, np.quantile(values, QUANTILES, axis=0),
                                {**attrs, "long_name": f"quantiles over trials: {long_name}"})
    if bins:
        edges = _edges(values, bins)
        data[f"{name}_histogram"] = (dims + ("bin",), _histogram(values, edges),
                                     {"units": "trials", "long_name": f"histogram over trials: {long_name}"})
        data[f"{name}_bin_edges"] = (("bin_edge",), edges, attrs)


def statistics(samples: dict, pass_id, station, satellite, protocol: str, bins: int) -> xr.Dataset:
    """The result Dataset from complete per-trial arrays ``samples[name]`` (n_trials, n_passes)."""
    samples = {k: to_numpy(v) for k, v in samples.items()}
    key = samples["secret_key_bits"]
    n_trials, n_pass = key.shape
    station = np.asarray(station).astype(str)
    names = np.array(sorted(set(station.tolist())))
    data: dict = {}
    p = ("pass",)
    _describe(data, "pass_secret_key_bits", key, p, *RESULTS["secret_key_bits"], bins)
    _describe(data, "pass_sifted_bits", samples["sifted_bits"], p, *RESULTS["sifted_bits"], bins)
    _describe(data, "pass_qber", samples["qber"], p, *RESULTS["qber"], None)
    _describe(data, "pass_mean_transmittance", samples["mean_transmittance"], p, *RESULTS["mean_transmittance"], None)
    data["pass_clear_fraction"] = (p, np.mean(samples["clear"], axis=0),
                                   {"units": "1", "long_name": "fraction of trials with a clear sky over the pass"})
    budget = np.sum(key, axis=1)
    per_station = np.stack([np.sum(key[:, station == s], axis=1) for s in names], axis=-1)
    _describe(data, "budget_secret_key_bits", budget, (), "bit",
              "secret key over all passes of the scenario (per trial)", bins)
    _describe(data, "station_budget_secret_key_bits", per_station, ("station_name",), "bit",
              "secret key over each station's passes (per trial)", bins)
    if protocol == "bbm92":
        pairs = samples["entangled_pairs"]
        _describe(data, "pass_entangled_pairs", pairs, p, *RESULTS["entangled_pairs"], bins)
        _describe(data, "budget_entangled_pairs", np.sum(pairs, axis=1), (), "count",
                  "entangled pairs over all passes of the scenario (per trial)", bins)
    coords = {"pass": np.asarray(pass_id), "station": ("pass", station),
              "satellite": ("pass", np.asarray(satellite).astype(str)),
              "quantile": np.asarray(QUANTILES), "station_name": names}
    if bins:
        coords["bin"] = np.arange(bins)
        coords["bin_edge"] = np.arange(bins + 1)
    ds = xr.Dataset(data, coords=coords)
    ds.attrs["failed_samples"] = int(np.count_nonzero(np.isnan(key)))
    return ds


__all__ = ["pass_results", "statistics", "RESULTS", "QUANTILES"]
