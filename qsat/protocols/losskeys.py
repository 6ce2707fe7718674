"""Keys of blocks from per-step transmittance series: the planning core of ``qsat keys``.

* :func:`decoy_bb84_blocks` turns per-step transmittance series (detector efficiency
  included) and a :class:`~qsat.protocols.config.ProtocolConfig` into the key of each
  block (finite and asymptotic), optionally after optimising the source per block;
* :func:`bbm92_block` turns the per-step statistics of an entangled-pair link (two arms)
  into the block's coincidences, QBER and keys (shared by the keys stage and
  ``qsat keys --loss-table A.csv --loss-table B.csv``).
"""

from __future__ import annotations

import numpy as np

from ..backend import array_namespace
from ..detection.wcp import expected_counts, pass_moments
from .bbm92 import SIFT_FRACTION, asymptotic_key_bits, finite_key_bits
from .bounds import pass_bound_bits
from .config import ProtocolConfig
from .decoy_bb84 import STATUS, key_length
from .optimize import SourceSetting, optimize_decoy_bb84


def fixed_settings(cfg: ProtocolConfig, tail: str | None = None) -> dict:
    return dict(afterpulse_probability=cfg.afterpulse_probability, intrinsic_qber=cfg.intrinsic_qber,
                eps_sec=cfg.eps_sec, eps_cor=cfg.eps_cor,
                error_correction_efficiency=cfg.error_correction_efficiency,
                tail=tail or cfg.tail_bound, min_z_counts=cfg.min_z_counts)


def optimize_bounds(cfg: ProtocolConfig):
    b = cfg.optimize_bounds
    return (tuple(b.basis_probability_x), tuple(b.mu1), tuple(b.intensity_probability))


def decoy_bb84_blocks(transmittance, valid, step_s: float, cfg: ProtocolConfig,
                      dark_count_probability=None, *, seed: int = 0, pass_index=None):
    """Keys of blocks (leading dims of ``transmittance`` (P, steps)); a dict of (P,) arrays.

    ``dark_count_probability`` (scalar or (P, steps)) defaults to the config's.
    """
    xp = array_namespace(transmittance)
    eta = xp.asarray(transmittance, dtype=xp.float64)
    valid = xp.asarray(valid, dtype=bool)
    n_pass = eta.shape[0]
    pulses = cfg.rep_rate_hz * step_s
    pdc = cfg.dark_count_probability if dark_count_probability is None else dark_count_probability
    px = xp.full((n_pass,), cfg.basis_probability_x)
    mu = xp.broadcast_to(xp.asarray(cfg.mean_photon_numbers, dtype=xp.float64), (n_pass, 3))
    p = xp.broadcast_to(xp.asarray(cfg.intensity_probabilities, dtype=xp.float64), (n_pass, 3))
    out: dict = {}
    if cfg.optimize and cfg.protocol == "decoy-bb84":
        moments = pass_moments(eta, pulses, pdc, valid=valid)
        setting, _ = optimize_decoy_bb84(moments, SourceSetting(px, mu, p), fixed_settings(cfg),
                                         optimize_bounds(cfg), seed=seed, pass_index=pass_index)
        px, mu, p = setting.basis_probability_x, setting.mean_photon_numbers, setting.intensity_probabilities
    counts = expected_counts(eta, pulses, mu, p, px, pdc, cfg.afterpulse_probability,
                             cfg.intrinsic_qber, valid=valid)
    fin = key_length(*counts, mu, p, **_security(cfg, cfg.tail_bound))
    asy = key_length(*counts, mu, p, **_security(cfg, "asymptotic"))
    out.update(fin.as_dict())
    out["secret_key_bits_asymptotic"] = asy.secret_key_bits
    out["basis_probability_x"] = px
    out["mean_photon_numbers"] = mu
    out["intensity_probabilities"] = p
    out["window_s"] = xp.sum(valid, axis=-1) * step_s
    out["plob_bits"] = pass_bound_bits(eta, pulses, valid, "plob")
    out["tgw_bits"] = pass_bound_bits(eta, pulses, valid, "tgw")
    return out


def _security(cfg: ProtocolConfig, tail: str) -> dict:
    return dict(eps_sec=cfg.eps_sec, eps_cor=cfg.eps_cor,
                error_correction_efficiency=cfg.error_correction_efficiency, tail=tail,
                min_z_counts=cfg.min_z_counts)


def block_summary(result: dict, index: int = 0) -> dict:
    """JSON-ready summary of one block of :func:`decoy_bb84_blocks`."""
    def scalar(name):
        return float(np.asarray(result[name])[index])

    status = int(np.asarray(result["status"])[index])
    summary = {
        "secret_key_bits": int(scalar("secret_key_bits")),
        "secret_key_bits_asymptotic": int(scalar("secret_key_bits_asymptotic")),
        "qber_x": scalar("qber_x"),
        "qber_z": scalar("qber_z"),
        "phase_error_x": scalar("phase_error_x"),
        "n_x": scalar("n_x"),
        "n_z": scalar("n_z"),
        "m_x": scalar("m_x"),
        "m_z": scalar("m_z"),
        "s_x0": scalar("s_x0"),
        "s_x1": scalar("s_x1"),
        "s_z1": scalar("s_z1"),
        "v_z1": scalar("v_z1"),
        "lambda_ec_bits": scalar("lambda_ec"),
        "key_length_raw_bits": scalar("key_length_raw"),
        "window_s": scalar("window_s"),
        "plob_bound_bits": scalar("plob_bits"),
        "tgw_bound_bits": scalar("tgw_bits"),
        "status": STATUS[status],
    }
    return summary


def bbm92_block(stats: dict, step_s: float, cfg: ProtocolConfig) -> dict:
    """Figures of one BBM92 block from per-step :func:`qsat.detection.spdc.pair_statistics`.

    Coincidences, true coincidences (entangled pairs) and errors are summed over the
    steps; the block's QBER is errors/coincidences; sifted = q · coincidences with
    q = 1/2 (:data:`~qsat.protocols.bbm92.SIFT_FRACTION`); keys from
    :mod:`qsat.protocols.bbm92`. Without coincidences the QBER is NaN and the key 0.
    """
    coincidences = float(np.sum(stats["coincidence_rate_hz"]) * step_s)
    true = float(np.sum(stats["true_coincidence_rate_hz"]) * step_s)
    errors = float(np.sum(stats["qber"] * stats["coincidence_rate_hz"]) * step_s)
    qber = errors / coincidences if coincidences > 0 else float("nan")
    sifted = SIFT_FRACTION * coincidences
    q = qber if np.isfinite(qber) else 0.5
    return {
        "coincidences": coincidences, "entangled_pairs": true, "sifted_bits": sifted, "qber": qber,
        "visibility": 1 - 2 * q, "chsh_s": 2 * np.sqrt(2) * (1 - 2 * q), "fidelity": 1 - 1.5 * q,
        "secret_key_bits": int(finite_key_bits(sifted, q, eps_sec=cfg.eps_sec, eps_cor=cfg.eps_cor,
                                               error_correction_efficiency=cfg.error_correction_efficiency)),
        "secret_key_bits_asymptotic": int(asymptotic_key_bits(sifted, q, cfg.error_correction_efficiency)),
    }
