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

import math

import numpy as np
import xarray as xr

from ..backend import array_namespace, to_numpy
from .sampler import DECOY_OUTPUTS, OUT_CLEAR, OUT_N_USED, OUT_SUM_ETA, PASS_COLUMNS

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


def pass_results(out, protocol: str, key_settings: dict, rows) -> dict:
    """Per-(trial, pass) results (``RESULTS``) from kernel outputs (n_trials, n_passes, N_OUT).

    ``rows``: the passes' inputs (n_passes, len(PASS_COLUMNS)), whose source columns give the
    decoy-BB84 intensities and their probabilities of each pass (configured or optimised).

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

        rows = xp.asarray(rows, dtype=xp.float64)
        first = PASS_COLUMNS.index("mu1")
        mu = xp.broadcast_to(rows[:, first:first + 3], counts.shape[:-1] + (3,))
        p = xp.broadcast_to(rows[:, first + 3:first + 6], counts.shape[:-1] + (3,))
        n_x, n_z, m_x, m_z = (xp.maximum(counts[..., 3 * i:3 * i + 3], 0.0) for i in range(4))
        res = key_length(n_x, n_z, m_x, m_z, mu, p, **key_settings)
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


def _range(values: np.ndarray, lo: float, hi: float) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if finite.size:
        lo, hi = min(lo, float(finite.min())), max(hi, float(finite.max()))
    return lo, hi


def _edges(lo: float, hi: float, bins: int) -> np.ndarray:
    """``bins`` equal bins from min(0, smallest value) to the largest value."""
    lo = min(lo, 0.0) if math.isfinite(lo) else 0.0
    hi = hi if math.isfinite(hi) else 1.0
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


def _summary(values: np.ndarray, edges: np.ndarray | None) -> tuple:
    """Mean, quantiles and (with ``edges``) histogram over the first axis (trials)."""
    hist = _histogram(values, edges) if edges is not None else None
    # each column summed as its own contiguous row: the same rounding whatever the block width
    mean = np.sum(np.ascontiguousarray(np.moveaxis(values, 0, -1)), axis=-1) / values.shape[0]
    return mean, np.quantile(values, QUANTILES, axis=0), hist


def _put(data: dict, name: str, dims: tuple, units: str, long_name: str, summary: tuple,
         edges: np.ndarray | None) -> None:
    """Variables name_mean, name_quantile and (with ``edges``) name_histogram + name_bin_edges."""
    mean, quantiles, hist = summary
    attrs = {"units": units, "long_name": long_name}
    data[f"{name}_mean"] = (dims, mean, {**attrs, "long_name": f"mean over trials: {long_name}"})
    data[f"{name}_quantile"] = (("quantile",) + dims, quantiles,
                                {**attrs, "long_name": f"quantiles over trials: {long_name}"})
    if edges is not None:
        data[f"{name}_histogram"] = (dims + ("bin",), hist,
                                     {"units": "trials", "long_name": f"histogram over trials: {long_name}"})
        data[f"{name}_bin_edges"] = (("bin_edge",), edges, attrs)


#: Per-pass statistics: (variable, per-trial result, with histogram).
_PER_PASS = (("pass_secret_key_bits", "secret_key_bits", True), ("pass_sifted_bits", "sifted_bits", True),
             ("pass_qber", "qber", False), ("pass_mean_transmittance", "mean_transmittance", False))
_BLOCK_BYTES = 1 << 27


def statistics(samples, pass_id, station, satellite, protocol: str, bins: int, month=None) -> xr.Dataset:
    """The result Dataset from the complete per-trial results.

    ``samples`` maps each name of :data:`RESULTS` to an (n_trials, n_passes) array, or is a
    function ``read(name, first_pass, stop_pass)`` returning those columns (a checkpoint
    store). Passes are read in blocks of about 128 MiB per variable, twice (ranges and
    budgets, then per-pass statistics), so memory does not grow with the number of passes.
    Budgets sum integer-valued keys, exact in float64 below 2^53 bits in any order. With
    ``month`` (a "YYYY-MM" label per pass, e.g. of its rise) budgets are also given per calendar
    month, and the worst month of each trial (the smallest monthly budget among the months
    with passes) is described over trials.
    """
    source = samples if callable(samples) else (lambda name, a, b: to_numpy(samples[name])[:, a:b])

    def read(name, a, b):  # one memory layout for every source: reductions then round alike
        return np.ascontiguousarray(source(name, a, b), dtype=np.float64)

    station = np.asarray(station).astype(str)
    names = np.array(sorted(set(station.tolist())))
    n_pass = len(station)
    n_trials = read("secret_key_bits", 0, 1).shape[0]
    block = max(1, _BLOCK_BYTES // (8 * n_trials))
    blocks = [(a, min(a + block, n_pass)) for a in range(0, n_pass, block)]
    per_pass = _PER_PASS + ((("pass_entangled_pairs", "entangled_pairs", True),) if protocol == "bbm92" else ())

    budget, pairs_budget = np.zeros(n_trials), np.zeros(n_trials)
    per_station = np.zeros((n_trials, len(names)))
    months = np.array(sorted(set(np.asarray(month).astype(str).tolist())) if month is not None else [], dtype=str)
    month = np.asarray(month).astype(str) if month is not None else None
    per_month = np.zeros((n_trials, len(months)))
    ranges = {var: (math.inf, -math.inf) for var, _, hist in per_pass if hist}
    failed = 0
    for a, b in blocks:
        key = read("secret_key_bits", a, b)
        failed += int(np.count_nonzero(np.isnan(key)))
        budget += np.sum(key, axis=1)
        for k, s in enumerate(names):
            per_station[:, k] += np.sum(key[:, station[a:b] == s], axis=1)
        for k, m in enumerate(months):
            per_month[:, k] += np.sum(key[:, month[a:b] == m], axis=1)
        for var, result, hist in per_pass:
            if hist:
                values = key if result == "secret_key_bits" else read(result, a, b)
                ranges[var] = _range(values, *ranges[var])
                if result == "entangled_pairs":
                    pairs_budget += np.sum(values, axis=1)
    edges = {var: _edges(*ranges[var], bins) for var in ranges}

    data: dict = {}
    for var, result, hist in per_pass:
        parts = [_summary(read(result, a, b), edges.get(var)) for a, b in blocks]
        summary = (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts], axis=1),
                   np.concatenate([p[2] for p in parts]) if hist else None)
        _put(data, var, ("pass",), *RESULTS[result], summary, edges.get(var))
    data["pass_clear_fraction"] = (("pass",), np.concatenate([np.mean(read("clear", a, b), axis=0) for a, b in blocks]),
                                   {"units": "1", "long_name": "fraction of trials with a clear sky over the pass"})

    def budget_vars(name, values, dims, units, long_name):
        e = _edges(*_range(values, math.inf, -math.inf), bins)
        _put(data, name, dims, units, long_name, _summary(values, e), e)

    budget_vars("budget_secret_key_bits", budget, (), "bit", "secret key over all passes of the scenario (per trial)")
    budget_vars("station_budget_secret_key_bits", per_station, ("station_name",), "bit",
                "secret key over each station's passes (per trial)")
    if len(months):
        budget_vars("month_budget_secret_key_bits", per_month, ("month",), "bit",
                    "secret key over the passes of each calendar month (per trial)")
        budget_vars("worst_month_budget_secret_key_bits", np.min(per_month, axis=1), (), "bit",
                    "smallest monthly secret key of the trial, over the months with passes")
    if protocol == "bbm92":
        budget_vars("budget_entangled_pairs", pairs_budget, (), "count",
                    "entangled pairs over all passes of the scenario (per trial)")
    coords = {"pass": np.asarray(pass_id), "station": ("pass", station),
              "satellite": ("pass", np.asarray(satellite).astype(str)),
              "quantile": np.asarray(QUANTILES), "station_name": names,
              "bin": np.arange(bins), "bin_edge": np.arange(bins + 1)}
    if len(months):
        coords["month"] = months
    ds = xr.Dataset(data, coords=coords)
    ds.attrs["failed_samples"] = failed
    return ds


__all__ = ["pass_results", "statistics", "RESULTS", "QUANTILES"]
