"""Pipeline stage ``keys``: counts, QBER and key per step and per pass.

Reads ``geometry`` (valid, time_utc, elevation_deg; dims (pass, step); attr step_s),
``link`` (``transmittance`` to the detector input, detector efficiency excluded;
``background_cps`` at the detector input, photons/s) and ``passes``; the scenario's
``[protocol]`` and optional ``[detector]`` (default: Si SPAD preset).

Adds

* ``keys`` — an xarray Dataset (pass, step): click and sifted count rates, QBER,
  per-step asymptotic key rate, and the per-pass key figures;
* columns on the ``passes`` table: sifted_bits, qber, secret_key_bits (finite),
  secret_key_bits_asymptotic, entangled_pairs (and, when optimised, the chosen
  source settings);
* for BBM92 with ``dual_downlink``, ``entanglement`` — one row per pair of passes of
  one satellite over two stations overlapping in time (steps aligned on time_utc).

Detector: η = η_link · η_d · f_w (window fraction for the jitter); extraneous click
probability per pulse from the dark rate and background (:class:`~qsat.detection.detectors.Detector`);
non-paralysable dead time as a recorded fraction 1/(1 + n τ_d) of the per-detector
click rate n of the configured source, applied to the transmittance (a first-order
treatment, good while n τ_d ≪ 1; larger values are recorded as a warning).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ..backend import namespace, to_numpy
from ..detection.detectors import DetectorConfig
from ..detection.spdc import pair_statistics
from ..detection.wcp import click_probabilities
from .config import ProtocolConfig
from .decoy_bb84 import key_length
from .losskeys import bbm92_block, decoy_bb84_blocks

_DEAD_TIME_WARN = 0.05


def run_stage(run) -> None:
    """Pipeline entry: adds ``keys`` (and ``entanglement`` for dual-downlink BBM92)."""
    from ..errors import QsatError

    for need in ("geometry", "link", "passes"):
        if need not in run.products:
            raise QsatError(f"the keys stage needs the '{need}' product (passes and link stages)")
    run.products.update(keys_of(run, run.products["geometry"], run.products["link"], run.products["passes"]))


def keys_of(run, geometry: xr.Dataset, link: xr.Dataset, passes: pd.DataFrame, first_pass: int = 0) -> dict:
    """The keys stage's products for ``geometry``/``link``/``passes`` (all of a run's passes, or one
    group of them starting at the window's pass ``first_pass``) under the run's ``[protocol]``."""
    det_cfg = getattr(run.scenario, "detector", None) or DetectorConfig()
    return compute_keys(geometry, link, passes, run.scenario.protocol, det_cfg, backend=run.backend,
                        seed=run.scenario.seed, warn=run.warn, first_pass=first_pass)


def streamable(cfg: ProtocolConfig) -> bool:
    """Whether the keys of a group of passes are computed without the window's other passes:
    all but BBM92's dual downlink, which pairs passes overlapping in time across the window."""
    return not (cfg.protocol == "bbm92" and cfg.dual_downlink)


def dead_time_factor(eta, pdc, valid, cfg: ProtocolConfig, detector, warn=None):
    """Decoy BB84: the first-order dead-time factor 1/(1 + n tau_d) per step, n the per-detector
    click rate of the configured source (shared by the Monte Carlo's inputs)."""
    mu = np.asarray(cfg.mean_photon_numbers)
    p = np.asarray(cfg.intensity_probabilities)
    r, _ = click_probabilities(eta, mu, pdc, cfg.afterpulse_probability, cfg.intrinsic_qber)
    rate = cfg.rep_rate_hz * (r @ p) / detector.n_detectors
    factor = np.asarray(detector.dead_time_factor(rate))
    loss = 1.0 - float(factor[valid].min()) if valid.any() else 0.0
    if loss > _DEAD_TIME_WARN and warn is not None:
        warn(f"keys: dead time removes up to {loss:.0%} of clicks; the first-order dead-time model is coarse there")
    return factor


def pass_blocks(eta, valid, pdc, step_s: float, cfg: ProtocolConfig, seed: int, xp=np, first_pass: int = 0) -> dict:
    """Decoy BB84 per pass (:func:`~.losskeys.decoy_bb84_blocks`, optimised when ``cfg.optimize``),
    as NumPy arrays; ``eta`` after dead time. The Monte Carlo takes its per-pass source from here.
    ``first_pass``: the window's index of the first row (the optimiser's draws are keyed by it)."""
    res = decoy_bb84_blocks(xp.asarray(eta), xp.asarray(valid), step_s, cfg, xp.asarray(pdc), seed=seed,
                            pass_index=xp.arange(first_pass, first_pass + eta.shape[0]))
    return {k: to_numpy(v) for k, v in res.items()}


def detection_inputs(geometry, link, cfg: ProtocolConfig, detector):
    """(valid, eta, pdc) per step: the keys stage's detection model (before dead time)."""
    valid = geometry["valid"].values & (geometry["elevation_deg"].fillna(-90.0).values >= cfg.elevation_mask_deg)
    eta_link = np.nan_to_num(link["transmittance"].values, nan=0.0) * 10 ** (-cfg.excess_loss_db / 10)
    bg = np.nan_to_num(link["background_cps"].values, nan=0.0)
    valid &= np.isfinite(link["transmittance"].values)
    eta = eta_link * detector.efficiency * detector.window_fraction()
    pdc = np.asarray(detector.extraneous_probability(bg))
    return valid, eta, pdc


def compute_keys(geometry: xr.Dataset, link: xr.Dataset, passes: pd.DataFrame, cfg: ProtocolConfig,
                 det_cfg: DetectorConfig | None = None, *, backend: str = "numpy", seed: int = 0,
                 warn=None, first_pass: int = 0) -> dict:
    """The stage's products from plain inputs (usable without a Run).

    ``first_pass``: the window's index of the first pass when the inputs are one group of a
    window's passes (:func:`streamable` says when a group's keys are those of the whole window).
    """
    detector = (det_cfg or DetectorConfig()).build()
    # the detector owns afterpulsing and extraneous clicks in scenario mode
    cfg = cfg.model_copy(update={"afterpulse_probability": detector.afterpulse_probability})
    step_s = float(geometry.attrs.get("step_s", 1.0))
    valid, eta, pdc = detection_inputs(geometry, link, cfg, detector)
    xp = namespace(backend)
    table = passes.copy()
    n_pass = eta.shape[0]
    if cfg.protocol == "bbm92":
        return _bbm92(geometry, table, valid, eta, pdc, cfg, detector, step_s, warn)
    eta = eta * dead_time_factor(eta, pdc, valid, cfg, detector, warn)
    res = pass_blocks(eta, valid, pdc, step_s, cfg, seed, xp, first_pass=first_pass)
    # per-step figures at the block's (possibly optimised) setting
    px = res["basis_probability_x"][:, None]
    mu_s, p_s = res["mean_photon_numbers"][:, None, :], res["intensity_probabilities"][:, None, :]
    r, e = click_probabilities(eta, mu_s, pdc, cfg.afterpulse_probability, cfg.intrinsic_qber)
    click = np.sum(r * p_s, axis=-1)
    err = np.sum(e * p_s, axis=-1)
    sift = px[..., 0:1] ** 2 + (1 - px[..., 0:1]) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        qber = np.where(valid & (click > 0), err / click, np.nan)
    pulses = cfg.rep_rate_hz * step_s
    nx, nz = pulses * px[..., None] ** 2 * p_s * r, pulses * (1 - px[..., None]) ** 2 * p_s * r
    mx, mz = pulses * px[..., None] ** 2 * p_s * e, pulses * (1 - px[..., None]) ** 2 * p_s * e
    step_key = key_length(nx, nz, mx, mz, np.broadcast_to(mu_s, nx.shape), np.broadcast_to(p_s, nx.shape),
                          eps_sec=cfg.eps_sec, eps_cor=cfg.eps_cor,
                          error_correction_efficiency=cfg.error_correction_efficiency, tail="asymptotic",
                          min_z_counts=0.0)
    key_rate = np.where(valid, np.maximum(step_key.key_length_raw, 0.0) / step_s, np.nan)
    per_step = {
        "click_rate_cps": (np.where(valid, cfg.rep_rate_hz * click, np.nan), "1/s", "detected clicks per second (all detectors)"),
        "sifted_rate_cps": (np.where(valid, cfg.rep_rate_hz * click * sift, np.nan), "1/s", "sifted events per second (both bases)"),
        "qber": (qber, "1", "quantum bit error rate of the step (all intensities)"),
        "key_rate_asymptotic_bps": (key_rate, "bit/s", "asymptotic decoy BB84 key rate of the step (GLLP/decoy, no finite-size terms)"),
        "transmittance_detected": (np.where(valid, eta, np.nan), "1", "transmittance including detector efficiency, jitter window and dead time"),
        "extraneous_probability": (np.where(valid, pdc, np.nan), "1", "extraneous click probability per pulse per detector"),
    }
    per_pass = {
        "sifted_bits": res["n_x"] + res["n_z"],
        "qber": np.where(res["n_x"] > 0, res["qber_x"], np.nan),
        "phase_error_x": res["phase_error_x"],
        "secret_key_bits": res["secret_key_bits"].astype(np.int64),
        "secret_key_bits_asymptotic": res["secret_key_bits_asymptotic"].astype(np.int64),
        "plob_bound_bits": res["plob_bits"],
        "key_window_s": res["window_s"],
        "entangled_pairs": np.full(n_pass, np.nan),
    }
    if cfg.optimize:
        per_pass["basis_probability_x"] = res["basis_probability_x"]
        per_pass["mu1"], per_pass["mu2"] = res["mean_photon_numbers"][:, 0], res["mean_photon_numbers"][:, 1]
        per_pass["p_mu1"], per_pass["p_mu2"] = res["intensity_probabilities"][:, 0], res["intensity_probabilities"][:, 1]
    return {"passes": _add_columns(table, per_pass), "keys": _dataset(geometry, per_step, per_pass, cfg)}


def _add_columns(table: pd.DataFrame, columns: dict) -> pd.DataFrame:
    table = table.copy()
    for name, values in columns.items():
        table[name] = values
    return table


def _dataset(geometry, per_step, per_pass, cfg):
    dims = ("pass", "step")
    data = {k: (dims, v, {"units": u, "long_name": d}) for k, (v, u, d) in per_step.items()}
    for k, v in per_pass.items():
        data[f"pass_{k}"] = ("pass", np.asarray(v))
    coords = {c: geometry.coords[c] for c in ("pass", "step", "satellite", "station") if c in geometry.coords}
    return xr.Dataset(data, coords=coords, attrs={"protocol": cfg.protocol, "tail_bound": cfg.tail_bound,
                                                  "eps_sec": cfg.eps_sec, "eps_cor": cfg.eps_cor,
                                                  "title": "qsat per-step counts and keys"})


def pair_passes(passes: pd.DataFrame, geometry: xr.Dataset) -> list[tuple[int, int]]:
    """(i, j) row pairs: one satellite, two stations, overlapping valid steps (i < j)."""
    out = []
    t = geometry["time_utc"].values
    v = geometry["valid"].values
    for _, group in passes.groupby("satellite", sort=False):
        rows = group.index.to_numpy()
        for a in range(len(rows)):
            for b in range(a + 1, len(rows)):
                i, j = int(rows[a]), int(rows[b])
                if passes.loc[i, "station"] == passes.loc[j, "station"]:
                    continue
                if np.intersect1d(t[i][v[i]], t[j][v[j]]).size:
                    out.append((i, j))
    return out


def _bbm92(geometry, table, valid, eta, pdc, cfg, detector, step_s, warn):
    n_pass = eta.shape[0]
    noise_cps = pdc / detector.window_s * detector.n_detectors  # extraneous clicks per second per receiver
    entangled = np.zeros(n_pass)
    rows, positions = [], []
    if cfg.dual_downlink:
        t = geometry["time_utc"].values
        for i, j in pair_passes(table.reset_index(drop=True), geometry):
            common, ia, jb = np.intersect1d(t[i][valid[i]], t[j][valid[j]], return_indices=True)
            si, sj = np.nonzero(valid[i])[0][ia], np.nonzero(valid[j])[0][jb]
            st = pair_statistics(cfg.pair_rate_hz, eta[i, si], eta[j, sj], cfg.coincidence_window_s,
                                 noise_cps[i, si], noise_cps[j, sj], cfg.pair_source_qber)
            rows.append(_pair_row(table, i, j, st, step_s, cfg, common.size))
            positions.append((i, j))
            entangled[i] += rows[-1]["entangled_pairs"]
            entangled[j] += rows[-1]["entangled_pairs"]
    else:  # downlink of one photon, the other detected on board (local arm: detector efficiency only)
        for i in range(n_pass):
            s = np.nonzero(valid[i])[0]
            st = pair_statistics(cfg.pair_rate_hz, eta[i, s], np.full(s.size, detector.efficiency),
                                 cfg.coincidence_window_s, noise_cps[i, s],
                                 detector.n_detectors * detector.dark_count_rate_cps, cfg.pair_source_qber)
            rows.append(_pair_row(table, i, i, st, step_s, cfg, s.size))
            positions.append((i, i))
            entangled[i] = rows[-1]["entangled_pairs"]
    ent = pd.DataFrame(rows)
    per_pass = {"sifted_bits": np.zeros(n_pass), "qber": np.full(n_pass, np.nan),
                "secret_key_bits": np.zeros(n_pass, dtype=np.int64),
                "secret_key_bits_asymptotic": np.zeros(n_pass, dtype=np.int64), "entangled_pairs": entangled}
    for r, pos in zip(rows, positions):  # a pass in several pairs keeps its best pairing's key figures
        for k in set(pos):
            if r["secret_key_bits"] >= per_pass["secret_key_bits"][k]:
                per_pass["sifted_bits"][k] = r["sifted_bits"]
                per_pass["qber"][k] = r["qber"]
                per_pass["secret_key_bits"][k] = r["secret_key_bits"]
                per_pass["secret_key_bits_asymptotic"][k] = r["secret_key_bits_asymptotic"]
    if not rows and warn is not None:
        warn("keys: BBM92 dual downlink found no pair of passes of one satellite over two stations at once")
    out = {"passes": _add_columns(table, per_pass), "entanglement": ent}
    return out


def _pair_row(table, i, j, st, step_s, cfg, n_common):
    return {
        "pass_a": int(table["pass_id"].iloc[i]), "pass_b": int(table["pass_id"].iloc[j]) if i != j else -1,
        "station_a": table["station"].iloc[i], "station_b": table["station"].iloc[j] if i != j else "on board",
        "satellite": table["satellite"].iloc[i], "overlap_s": n_common * step_s,
        **bbm92_block(st, step_s, cfg),
    }
