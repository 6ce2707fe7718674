"""Fiber QKD links: transmittance, decoy-BB84 key rates with finite-key blocks, PLOB bound.

* Fiber transmittance: η_ch = 10^(-(α L + A_extra)/10), α in dB/km, L in km
  (α_dB = −(10/L) log10(P_out/P_in): Agrawal, *Fiber-Optic Communication Systems*,
  4th ed. (2010), Sec. 2.5.1).
* Detection: η = η_ch · 10^(-A_rx/10) · η_d (receiver internal loss, detector efficiency).
* Key: the finite-key length of one block of N = f_rep · T_acc pulses (T_acc the
  accumulation time of a post-processing block), with the click and error
  statistics of :mod:`qsat.detection.wcp`, by the system's ``key_protocol``:
  ``decoy-bb84``, Lim et al., PRA 89, 022307 (2014), Eq. (1), through
  :func:`qsat.protocols.losskeys.decoy_bb84_blocks`; ``one-decoy-bb84``, Rusca et al.,
  APL 112, 171104 (2018), Eq. (A25), through :func:`qsat.protocols.one_decoy.key_length`.
  The link's rate is ℓ / T_acc (bit/s); blocks follow one another continuously.
* Bound: the repeaterless PLOB capacity f_rep · (−log2(1 − η_ch)) bit/s
  (Pirandola et al., Nat. Commun. 8, 15043 (2017), Eq. (19)), evaluated on the
  channel η_ch (receiver losses belong to Bob's lab, so this is the larger, valid bound).
"""

from __future__ import annotations

import numpy as np

from ..backend import array_namespace, to_numpy
from ..protocols.bounds import plob_bits_per_use
from ..detection.wcp import expected_counts
from ..protocols import one_decoy
from ..protocols.losskeys import decoy_bb84_blocks
from .config import FiberSystem


def fiber_transmittance(length_m, loss_db_per_km, extra_loss_db=0.0):
    """η_ch = 10^(−(α L/1000 + A_extra)/10) for length in metres, α in dB/km, A_extra in dB."""
    xp = array_namespace(length_m, loss_db_per_km, extra_loss_db)
    loss_db = xp.asarray(loss_db_per_km, dtype=xp.float64) * xp.asarray(length_m, dtype=xp.float64) / 1000.0
    return 10.0 ** (-(loss_db + xp.asarray(extra_loss_db, dtype=xp.float64)) / 10.0)


def plob_rate_bps(transmittance, rep_rate_hz):
    """Repeaterless bound f_rep · (−log2(1 − η)) in bit/s (PLOB 2017, Eq. (19)); +inf at η = 1."""
    with np.errstate(divide="ignore"):
        return rep_rate_hz * plob_bits_per_use(transmittance)


def one_decoy_blocks(detected_transmittance, accumulation_s: float, system: FiberSystem) -> dict:
    """One-decoy BB84 keys of blocks of f_rep · T_acc pulses, one per transmittance (detector included).

    The source is ``system.one_decoy``; repetition rate, basis probability,
    dark counts, afterpulses, intrinsic QBER and security settings come from
    ``system.protocol``. Returns the :class:`~qsat.protocols.decoy_bb84.KeyResult`
    fields plus ``secret_key_bits_asymptotic``, all (n,) arrays.
    """
    cfg, src = system.protocol, system.one_decoy
    eta = np.asarray(detected_transmittance, dtype=float).reshape(-1, 1)
    mu = np.asarray(src.mean_photon_numbers, dtype=float)
    p = np.asarray(src.intensity_probabilities, dtype=float)
    counts = expected_counts(eta, cfg.rep_rate_hz * accumulation_s, mu, p,
                             np.full(eta.shape[0], cfg.basis_probability_x), cfg.dark_count_probability,
                             cfg.afterpulse_probability, cfg.intrinsic_qber)
    security = dict(eps_sec=cfg.eps_sec, eps_cor=cfg.eps_cor,
                    error_correction_efficiency=cfg.error_correction_efficiency,
                    min_z_counts=cfg.min_z_counts)
    out = one_decoy.key_length(*counts, mu, p, tail=cfg.tail_bound, **security).as_dict()
    out["secret_key_bits_asymptotic"] = one_decoy.key_length(*counts, mu, p, tail="asymptotic",
                                                             **security).secret_key_bits
    return out


def fiber_key_rate(length_m, loss_db_per_km, extra_loss_db, system: FiberSystem, accumulation_s: float,
                   *, seed: int = 0) -> dict:
    """Secret key rate of fiber links (arrays broadcast to one shape), by ``system.key_protocol``.

    Parameters
    ----------
    length_m : array
        Fiber lengths (m, ≥ 0).
    loss_db_per_km : array
        Attenuation (dB/km).
    extra_loss_db : array
        Extra losses in the link (dB).
    system : FiberSystem
        Source, receiver and post-processing of the QKD system.
    accumulation_s : float
        Accumulation time of one finite-key block (s).

    Returns
    -------
    dict of NumPy arrays (shape of the broadcast inputs)
        ``key_rate_bps`` (finite key), ``key_rate_asymptotic_bps``, ``plob_bps``,
        ``channel_transmittance``, ``detected_transmittance``, ``qber``,
        ``block_pulses``, ``status`` (see :data:`qsat.protocols.decoy_bb84.STATUS`).
    """
    cfg = system.protocol
    length_m, loss_db_per_km, extra_loss_db = np.broadcast_arrays(
        np.asarray(length_m, dtype=float), np.asarray(loss_db_per_km, dtype=float),
        np.asarray(extra_loss_db, dtype=float))
    shape = length_m.shape
    eta_ch = fiber_transmittance(length_m, loss_db_per_km, extra_loss_db).reshape(-1)
    eta = eta_ch * 10.0 ** (-system.receiver_loss_db / 10.0) * system.detector_efficiency
    n = eta.size
    if system.key_protocol == "one-decoy-bb84":
        res = one_decoy_blocks(eta, float(accumulation_s), system)
    else:
        res = decoy_bb84_blocks(eta[:, None], np.ones((n, 1), dtype=bool), float(accumulation_s), cfg,
                                seed=seed, pass_index=np.arange(n))
    res = {k: to_numpy(v) for k, v in res.items()}
    out = {
        "key_rate_bps": res["secret_key_bits"] / accumulation_s,
        "key_rate_asymptotic_bps": res["secret_key_bits_asymptotic"] / accumulation_s,
        "plob_bps": plob_rate_bps(eta_ch, cfg.rep_rate_hz),
        "channel_transmittance": eta_ch,
        "detected_transmittance": eta,
        "qber": np.where(res["n_x"] > 0, res["qber_x"], np.nan),
        "block_pulses": np.full(n, cfg.rep_rate_hz * accumulation_s),
        "status": res["status"].astype(np.int8),
    }
    return {k: np.asarray(v).reshape(shape) for k, v in out.items()}


def link_rates(net, *, seed: int = 0) -> dict:
    """Key rate (bit/s) and PLOB bound of every ``net.fiber_links`` entry, in order.

    Links with ``key_rate`` given use it (their modelled rate and bound are NaN
    when no system is named other than the default).
    """
    n = len(net.fiber_links)
    rate = np.zeros(n)
    plob = np.full(n, np.nan)
    modelled = np.zeros(n, dtype=bool)
    status = np.zeros(n, dtype=np.int8)
    for i, link in enumerate(net.fiber_links):
        if link.key_rate is not None:
            rate[i] = link.key_rate
            system = net.system(link.system)
            if system is not None:
                plob[i] = float(plob_rate_bps(fiber_transmittance(link.length, link.loss_db_per_km,
                                                                  link.extra_loss_db), system.protocol.rep_rate_hz))
            continue
        r = fiber_key_rate(link.length, link.loss_db_per_km, link.extra_loss_db, net.system(link.system),
                           link.accumulation_time, seed=seed)
        rate[i], plob[i], status[i] = float(r["key_rate_bps"]), float(r["plob_bps"]), int(r["status"])
        modelled[i] = True
    return {"key_rate_bps": rate, "plob_bps": plob, "modelled": modelled, "status": status}
