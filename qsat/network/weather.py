"""Cloud outages: monthly clear-sky probabilities, spatially correlated per station.

A pass is lost to cloud when its station is overcast. The probability that a
station is clear in a given month, p_s(m), comes from a climatology table
(``ephemerides/climate/cloud_climatology.csv``, with provenance per row, or the
scenario's ``network.weather.clear_sky``). Outcomes are correlated between
stations through a Gaussian copula (Nelsen, *An Introduction to Copulas*, 2nd
ed. (2006), Sec. 2.9: C_R(u) = Φ_R(Φ⁻¹(u_1), …, Φ⁻¹(u_n))): a latent normal
vector z with correlation R_ij = exp(−d_ij / L_c), d_ij the great-circle
distance between the stations and L_c the correlation length (the exponential
kernel is positive definite on the sphere with great-circle distance: Gneiting,
Bernoulli 19, 1327 (2013), Table 1), and station s is clear when
z_s < Φ⁻¹(p_s), so that P(clear) = p_s exactly. Within one station, passes in
the same weather window (``decorrelation_time``; window index ⌊t/τ⌋) share
the outcome; different windows are independent.

The latent normals are Philox draws keyed by (seed, window · n_stations +
station, trial, tag), so a result depends on the seed only — not on which
passes exist, on chunking or on the order of evaluation.
"""

from __future__ import annotations

import csv
import io
from functools import cache
from pathlib import Path

import numpy as np
from scipy.special import ndtri

from .._paths import ephemerides_dir
from ..errors import QsatInputError
from ..random import check_seed, normal2, philox4x32_10

#: Philox tag of the weather draws ("WTHR").
WEATHER_TAG = 0x57544852
#: Mean Earth radius (IUGG, Moritz, Geodetic Reference System 1980, J. Geodesy 74, 128 (2000): R1).
EARTH_MEAN_RADIUS_M = 6371008.8
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def climatology_path() -> Path:
    return ephemerides_dir() / "climate" / "cloud_climatology.csv"


@cache
def _read(path: str) -> dict[str, np.ndarray]:
    text = Path(path).read_text(encoding="utf-8")
    rows = csv.DictReader(io.StringIO("\n".join(ln for ln in text.splitlines() if not ln.startswith("#"))))
    table = {}
    for r in rows:
        values = [r.get(m, "").strip() for m in MONTHS]
        if all(values):
            table[r["station"].upper()] = np.array([float(v) for v in values])
    return table


def load_climatology(path: str | Path | None = None) -> dict[str, np.ndarray]:
    """{STATION (upper case): (12,) clear-sky probabilities}; rows without 12 values are skipped."""
    path = Path(path) if path is not None else climatology_path()
    if not path.is_file():
        raise QsatInputError("network.weather.climatology", str(path), "an existing climatology CSV")
    return _read(str(path))


def monthly_clear_sky(stations: list[str], weather, base_dir: Path | None = None) -> tuple[np.ndarray, list[str]]:
    """(S, 12) clear-sky probabilities for ``stations``; list of stations with no value (treated clear).

    Scenario values (``clear_sky``) win over the table; a station in neither is an
    error unless ``missing = "clear"``.
    """
    path = weather.climatology
    if path is not None and base_dir is not None and not Path(path).is_absolute():
        path = Path(base_dir) / path
    table = load_climatology(path)
    out = np.ones((len(stations), 12))
    missing = []
    for i, s in enumerate(stations):
        if s in weather.clear_sky:
            out[i] = weather.clear_sky[s]
        elif s.upper() in table:
            out[i] = table[s.upper()]
        elif weather.missing == "clear":
            missing.append(s)
        else:
            raise QsatInputError("network.weather.clear_sky", s,
                                 "12 monthly clear-sky probabilities for this station (no published values are "
                                 "shipped for it; see ephemerides/climate/cloud_climatology.csv), or "
                                 "network.weather.missing = 'clear'")
    return out, missing


def great_circle_m(lat_deg, lon_deg):
    """(S, S) great-circle distances (haversine) on a sphere of the mean Earth radius."""
    lat, lon = np.radians(np.asarray(lat_deg, float)), np.radians(np.asarray(lon_deg, float))
    dlat = lat[:, None] - lat[None, :]
    dlon = lon[:, None] - lon[None, :]
    h = np.sin(dlat / 2) ** 2 + np.cos(lat[:, None]) * np.cos(lat[None, :]) * np.sin(dlon / 2) ** 2
    return 2.0 * EARTH_MEAN_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def correlation_matrix(lat_deg, lon_deg, correlation_length_m: float) -> np.ndarray:
    """R_ij = exp(−d_ij / L_c)."""
    return np.exp(-great_circle_m(lat_deg, lon_deg) / correlation_length_m)


def sample_clear(seed: int, trials: int, station_index, window_index, p_clear, correlation: np.ndarray) -> np.ndarray:
    """(trials, P) bool: whether each pass is clear in each trial.

    ``station_index``, ``window_index`` (int), ``p_clear`` (float): one per pass.
    """
    return clear_flags(seed, 0, trials, station_index, window_index, p_clear, correlation)


#: Latent normals per block of trials in :func:`clear_flags` (bounds its memory, not its result).
_BLOCK_ELEMENTS = 1 << 20


def clear_flags(seed: int, first_trial: int, n_trials: int, station_index, window_index, p_clear,
                correlation: np.ndarray, xp=np):
    """(n_trials, P) bool: whether each pass is clear in trials ``first_trial ... first_trial + n_trials - 1``.

    The copula of the module docstring, evaluated per (trial, window, station): the latent
    normals of a window are the first Box-Muller normals of the Philox blocks keyed by
    (seed, window · n_stations + station, trial, :data:`WEATHER_TAG`), correlated by the
    Cholesky factor of ``correlation`` as a sum in a fixed order, so a flag depends on
    (seed, trial, window, station, p) only — not on which other passes, windows or trials are
    evaluated with it (the Monte Carlo's chunks, :mod:`qsat.montecarlo`, and the budget stage
    draw the same outcomes). ``xp`` is the array namespace of the draws (NumPy or CuPy);
    ``station_index``, ``window_index``, ``p_clear`` (one per pass) and ``correlation`` are
    host arrays.
    """
    station_index = np.asarray(station_index, dtype=np.int64)
    window_index = np.asarray(window_index, dtype=np.int64)
    n_st = correlation.shape[0]
    n_pass = station_index.size
    if n_pass == 0 or n_trials == 0:
        return xp.ones((n_trials, n_pass), dtype=bool)
    windows, inverse = np.unique(window_index, return_inverse=True)
    chol = np.linalg.cholesky(correlation + 1e-12 * np.eye(n_st))
    index = (windows[:, None] * n_st + np.arange(n_st)[None, :]).reshape(-1).astype(np.uint64)
    lo = xp.asarray(index & np.uint64(0xFFFFFFFF))[None, :]
    hi = xp.asarray(index >> np.uint64(32))[None, :]
    tag = xp.full((1, index.size), WEATHER_TAG, dtype=xp.uint64)
    threshold = xp.asarray(ndtri(np.clip(np.asarray(p_clear, float), 0.0, 1.0)))
    inverse, station_index = xp.asarray(inverse.reshape(-1)), xp.asarray(station_index)
    seed = check_seed(seed)
    out = xp.empty((n_trials, n_pass), dtype=bool)
    block = max(1, _BLOCK_ELEMENTS // index.size)
    for t0 in range(0, n_trials, block):
        t1 = min(t0 + block, n_trials)
        trial = (xp.arange(t0, t1, dtype=xp.uint64) + xp.uint64(first_trial))[:, None]
        z0, _ = normal2(philox4x32_10(lo, hi, trial, tag, seed & 0xFFFFFFFF, seed >> 32))
        z0 = z0.reshape(t1 - t0, windows.size, n_st)
        z = xp.empty_like(z0)
        for j in range(n_st):  # z_j = sum_k L_jk z0_k, k in order
            acc = float(chol[j, 0]) * z0[..., 0]
            for k in range(1, j + 1):
                acc = acc + float(chol[j, k]) * z0[..., k]
            z[..., j] = acc
        out[t0:t1] = z[:, inverse, station_index] < threshold
    return out
