"""Entanglement handoff: fiber tails after a dual downlink, repeater chains with memories,
direct fiber distribution and the repeaterless bound.

Fidelities are those of Werner states ρ = w |Φ⁺⟩⟨Φ⁺| + (1 − w) 𝟙/4, with
F = (3w + 1)/4 (Werner, PRA 40, 4277 (1989)); the models below are the standard
planning approximations, listed with their sources:

* **Fiber tails.** Each photon of a dual-downlink pair travels on from its
  station to a user over a tail of transmittance η_a, η_b (fiber loss as in
  :mod:`qsat.network.fiber`); delivered pairs scale by η_a η_b. The fidelity
  is kept from the downlink (loss does not depolarise; extra accidental
  coincidences from the users' detectors are neglected — valid while the
  detected pair rate stays far above the accidental rate).
* **Elementary link** of length L0 = L / 2ⁿ (2ⁿ segments, n nesting levels):
  heralded by a two-photon Bell measurement at the midpoint, success per mode
  p = ½ (η_f(L0/2) η_m η_d)² (½: linear-optics Bell measurement; Sangouard,
  Simon, de Riedmatten & Gisin, RMP 83, 33 (2011), Sec. IV.A), with M modes
  multiplexed per attempt P0 = 1 − (1 − p)^M (Sec. IX.A); one attempt per
  classical round trip L0 / c of the heralding signal (Sec. III.B).
* **Nested swapping** with success P_s = s η_m² per level (s the Bell-measurement
  success, η_m the read-out efficiency of both memories): mean time per
  end-to-end pair T = (3/2)ⁿ (L0/c) / (P0 P_sⁿ) (Sangouard et al. 2011, Sec. III.B,
  the (3/2)ⁿ factor of the small-probability limit; rate 1/T).
* **Swapping** Werner pairs multiplies Werner parameters: w = w_a w_b (Briegel,
  Dür, Cirac & Zoller, PRL 81, 5932 (1998); Dür, Briegel, Cirac & Zoller,
  PRA 59, 169 (1999), Sec. III), so the chain gives w0^(2ⁿ).
* **Memory decoherence**: depolarisation w → w e^(−t/T_c) over the storage time;
  a pair waits on average about T (the time to complete the chain), applied
  once to the end-to-end pair (a planning estimate, not a bound).
* **Purification** (BBPSSW recurrence on Werner pairs, Bennett et al., PRL 76,
  722 (1996), Eq. (1)): F' = (F² + ((1−F)/3)²) / N, success N = F² + 2F(1−F)/3
  + 5((1−F)/3)²; each round uses two pairs, so the elementary rate falls by N/2.
* **Key from the chain's pairs** (BBM92, asymptotic): a Werner pair gives QBER
  e = (1 − w)/2 in every basis; key rate R = r · ½ · max(0, 1 − 2 h(e)) with
  sifting ½ (Shor & Preskill, PRL 85, 441 (2000), rate 1 − 2h(e) per sifted bit,
  applied to entanglement-based BB84 as in Ma, Fung & Lo, PRA 76, 012307 (2007)).
* **Direct fiber**: a midpoint pair source at rate f with both photons over
  L/2: pairs f η_f(L/2)² η_d².
* **Repeaterless bound**: at most −log2(1 − η_f(L)) ebits per mode (PLOB,
  Nat. Commun. 8, 15043 (2017), Eq. (19)); times the mode rate.
"""

from __future__ import annotations

import numpy as np

from ..protocols.statistics import binary_entropy
from .fiber import fiber_transmittance, plob_rate_bps

#: Speed of light in fiber: c / n_g with group index 1.468 (standard single-mode fiber at 1550 nm,
#: the value of Corning's SMF-28 specification).
SPEED_IN_FIBER_M_S = 299792458.0 / 1.468


def werner_from_fidelity(fidelity):
    return (4.0 * np.asarray(fidelity, float) - 1.0) / 3.0


def fidelity_from_werner(w):
    return (3.0 * np.asarray(w, float) + 1.0) / 4.0


def purify(fidelity, rounds: int):
    """BBPSSW recurrence (Bennett et al. 1996, Eq. (1)): (fidelity after ``rounds``, yield per input pair)."""
    f = np.asarray(fidelity, float)
    yield_ = np.ones_like(f)
    for _ in range(rounds):
        q = (1.0 - f) / 3.0
        norm = f * f + 2.0 * f * q + 5.0 * q * q
        f = (f * f + q * q) / norm
        yield_ = yield_ * norm / 2.0
    return f, yield_


def tail_pairs(pairs, tail_a_transmittance, tail_b_transmittance):
    """Pairs delivered to the users: pairs × η_a × η_b."""
    return np.asarray(pairs, float) * np.asarray(tail_a_transmittance) * np.asarray(tail_b_transmittance)


def repeater_chain(length_m, loss_db_per_km, segments, *, mode_rate_hz, multiplexed_modes,
                   detector_efficiency, memory_efficiency, coherence_time_s, swap_success,
                   initial_fidelity, purification_rounds=0) -> dict:
    """End-to-end pair rate and fidelity of a nested repeater chain (see the module notes)."""
    length_m = np.asarray(length_m, float)
    n_levels = int(np.log2(segments))
    l0 = length_m / segments
    eta_half = fiber_transmittance(l0 / 2.0, loss_db_per_km)
    p_mode = 0.5 * (eta_half * memory_efficiency * detector_efficiency) ** 2
    p0 = -np.expm1(multiplexed_modes * np.log1p(-p_mode))
    f0, yield_ = purify(initial_fidelity, purification_rounds)
    p0 = p0 * yield_
    p_swap = swap_success * memory_efficiency**2
    t_round = l0 / SPEED_IN_FIBER_M_S
    with np.errstate(divide="ignore"):
        t_pair = (1.5**n_levels) * t_round / (p0 * p_swap**n_levels)
    rate = np.where(np.isfinite(t_pair), 1.0 / t_pair, 0.0)
    w = werner_from_fidelity(f0) ** segments * np.exp(-np.where(np.isfinite(t_pair), t_pair, np.inf) / coherence_time_s)
    eta_total = fiber_transmittance(length_m, loss_db_per_km)
    direct = mode_rate_hz * fiber_transmittance(length_m / 2.0, loss_db_per_km) ** 2 * detector_efficiency**2
    qber = (1.0 - w) / 2.0
    key = rate * 0.5 * np.maximum(0.0, 1.0 - 2.0 * binary_entropy(qber))
    return {
        "pair_rate_hz": rate,
        "fidelity": fidelity_from_werner(w),
        "key_rate_bps": key,
        "mean_time_per_pair_s": t_pair,
        "elementary_success": p0,
        "direct_fiber_pair_rate_hz": direct,
        "repeaterless_bound_ebit_s": plob_rate_bps(eta_total, mode_rate_hz),
    }


def chain_results(chains) -> dict:
    """:func:`repeater_chain` for each ``network.repeater_chains`` entry; arrays over chains."""
    keys = ("pair_rate_hz", "fidelity", "key_rate_bps", "mean_time_per_pair_s", "elementary_success",
            "direct_fiber_pair_rate_hz", "repeaterless_bound_ebit_s")
    out = {k: np.zeros(len(chains)) for k in keys}
    for i, c in enumerate(chains):
        r = repeater_chain(c.length, c.loss_db_per_km, c.segments, mode_rate_hz=c.mode_rate_hz,
                           multiplexed_modes=c.multiplexed_modes, detector_efficiency=c.detector_efficiency,
                           memory_efficiency=c.memory_efficiency, coherence_time_s=c.coherence_time,
                           swap_success=c.swap_success, initial_fidelity=c.initial_fidelity,
                           purification_rounds=c.purification_rounds)
        for k in keys:
            out[k][i] = float(r[k])
    return out
