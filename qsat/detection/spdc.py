"""Entangled-pair (SPDC) source statistics: coincidences, accidentals, QBER, CHSH.

A source emitting B pairs/s sends one photon of each pair through arm A
(transmittance η_A, detector efficiency included) and arm B. With extraneous
(dark + background) click rates N_A, N_B summed over each receiver's detectors
and a coincidence window τ_c capturing a fraction f_w of true pairs:

* true coincidences      C_t   = B η_A η_B f_w
* singles                S_A   = B η_A + N_A,   S_B = B η_B + N_B
* accidentals (Poisson)  C_acc = S_A S_B τ_c — uncorrelated clicks falling in the
  same window; this term also holds the multi-pair contribution (B η_A)(B η_B) τ_c
* QBER                   E     = (e_src C_t + C_acc / 2) / (C_t + C_acc)
  (accidentals are random: they err half the time; e_src is the source/analyser error)
* visibility             V     = 1 - 2E
* CHSH S for a Werner state of visibility V: S = 2 sqrt(2) V (Horodecki, Horodecki &
  Horodecki, Phys. Lett. A 200, 340 (1995): max S = 2 sqrt(t11² + t22²) with
  t11 = t22 = V)
* fidelity with the target Bell state, Werner state: F = (1 + 3V)/4 = 1 - 3E/2.

Valid while S_A τ_c, S_B τ_c ≪ 1 (at most one click per window and arm).
"""

from __future__ import annotations

import math

from ..backend import array_namespace


def pair_statistics(pair_rate_hz, transmittance_a, transmittance_b, coincidence_window_s,
                    extraneous_a_cps, extraneous_b_cps, source_qber, window_fraction=1.0):
    """Rates (per second) and quality figures of an entanglement link; dict of arrays."""
    xp = array_namespace(transmittance_a, transmittance_b)
    ea = xp.asarray(transmittance_a, dtype=xp.float64)
    eb = xp.asarray(transmittance_b, dtype=xp.float64)
    true = pair_rate_hz * ea * eb * window_fraction
    singles_a = pair_rate_hz * ea + extraneous_a_cps
    singles_b = pair_rate_hz * eb + extraneous_b_cps
    acc = singles_a * singles_b * coincidence_window_s
    total = true + acc
    qber = xp.where(total > 0, (source_qber * true + 0.5 * acc) / xp.where(total > 0, total, 1.0), 0.5)
    visibility = 1.0 - 2.0 * qber
    return {
        "coincidence_rate_hz": total,
        "true_coincidence_rate_hz": true,
        "accidental_rate_hz": acc,
        "singles_a_hz": singles_a,
        "singles_b_hz": singles_b,
        "qber": qber,
        "visibility": visibility,
        "chsh_s": chsh_from_visibility(visibility),
        "fidelity": fidelity_from_qber(qber),
    }


def chsh_from_visibility(visibility):
    """S = 2√2 V (Werner state; Horodecki et al. 1995)."""
    return 2.0 * math.sqrt(2.0) * visibility


def chsh_from_fidelity(fidelity):
    """S of the Werner state of Bell-state fidelity F: V = (4F - 1)/3, S = 2√2 V."""
    return chsh_from_visibility((4.0 * fidelity - 1.0) / 3.0)


def fidelity_from_qber(qber):
    """F = 1 - 3E/2 for a Werner state with equal error rates in both bases."""
    return 1.0 - 1.5 * qber
