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
from ..random import blocks, normal2

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
    station_index = np.asarray(station_index, dtype=np.int64)
    window_index = np.asarray(window_index, dtype=np.int64)
    n_st = correlation.shape[0]
    n_pass = station_index.size
    if n_pass == 0:
        return np.ones((trials, 0), dtype=bool)
    windows, inverse = np.unique(window_index, return_inverse=True)
    chol = np.linalg.cholesky(correlation + 1e-12 * np.eye(n_st))
    index = (windows[:, None] * n_st + np.arange(n_st)[None, :]).reshape(-1).astype(np.uint64)
    threshold = ndtri(np.clip(np.asarray(p_clear, float), 0.0, 1.0))
    out = np.empty((trials, n_pass), dtype=bool)
    for trial in range(trials):
        z0, _ = normal2(blocks(index, seed, stream=trial, tag=WEATHER_TAG))
        z = z0.reshape(windows.size, n_st) @ chol.T
        out[trial] = z[inverse, station_index] < threshold
    return out
