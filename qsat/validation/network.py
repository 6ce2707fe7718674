"""Validation cases for the network topic: fiber QKD records and network figures.

Boaron et al., PRL 121, 190502 (2018) ran a three-state time-bin protocol with one
decoy (abstract) under the one-decoy analysis of Rusca et al. (APL 112, 171104 (2018));
qsat models it as the four-state one-decoy BB84 of :mod:`qsat.protocols.one_decoy`
(Lu, Yin & Chen, "Simplified BB84 quantum key distribution secure against coherent
attacks", abstract: the three-state protocol reaches the same asymptotic key as BB84
and almost the same finite key). Beyond its abstract the paper was not among the
stored copies of public sources; its Table I (length,
attenuation, μ1, μ2, block size, Z-basis QBER, secret key rate per distance) was
found transcribed in a public Python package (``quantumnet``, module
``validation.py``, ``BOARON_TABLE``), and the 2.5 GHz clock in the abstract and
in Physics 11, 111 (2018). What the table does not give is calibrated or set by a
rule fixed before the comparison (see :func:`_boaron_model`); the rows other than
the calibration row are then predictions. The Korzh et al. (2015) record uses the
COW protocol, whose security bound was not found in the stored sources (gap). The
PLOB row checks the bound qsat places next to every fiber link.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from . import Gap, case


@case(id="network.fiber.plob_high_loss", topic="network",
      quantity="PLOB bound per channel use / η at 40 dB (200 km of 0.2 dB/km fiber)",
      published=1.44, unit="1", source="Pirandola et al., Nat. Commun. 8, 15043 (2017)",
      locator="text after Eq. (19): −log2(1−η) ≃ 1.44 η for high loss",
      tolerance=0.005, tolerance_kind="rel", tolerance_origin="published value given to 3 digits",
      klass="identity")
def _():
    from ..network.fiber import fiber_transmittance, plob_rate_bps

    eta = float(fiber_transmittance(200e3, 0.2, 0.0))
    return float(plob_rate_bps(eta, 1.0)) / eta


#: Boaron et al. 2018, Table I, as transcribed (see the module docstring):
#: (length km, attenuation dB, μ1, μ2, block size n_Z, Z-basis QBER %, secret key rate bit/s).
BOARON_TABLE = (
    (251.7, 42.7, 0.49, 0.18, 8.2e6, 0.5, 4.9e3),
    (302.1, 51.3, 0.48, 0.18, 8.2e6, 0.4, 0.79e3),
    (354.5, 60.6, 0.35, 0.15, 6.2e6, 0.7, 62.0),
    (404.9, 69.3, 0.35, 0.15, 4.1e5, 1.0, 6.5),
    (421.1, 71.9, 0.30, 0.13, 2.0e5, 2.1, 0.25),
)
_BOARON_SRC = "Boaron et al., PRL 121, 190502 (2018)"
_BOARON_REP_RATE_HZ = 2.5e9   # abstract; Physics 11, 111 (2018)
_BOARON_ASSUMED = (
    "the experiment's three-state time-bin protocol analysed as four-state one-decoy BB84; "
    "calibrated on Table I's 251.7 km row: Bob's detection efficiency (its rate fixes it); "
    "from the QBER column (all five rows, least squares): intrinsic QBER and dark-click "
    "probability per pulse; assumed: p_X and p_mu1 optimised per row for the key rate on a "
    "grid (Rusca et al. optimise p_Z, p_mu1 per attenuation; Table I does not list them), "
    "the same basis probability at Alice and Bob, f_EC = 1.16, eps_sec = 1e-9, eps_cor = "
    "1e-15, no afterpulses, no dead time, Hoeffding tails as in Rusca et al.; Table I from a "
    "public transcription, not checked against the paper")


def _boaron_counts(row, eta_det, noise, px, p1):
    """Per-pulse-second X/Z counts of a Table I row for arrays of (p_X, p_μ1) candidates."""
    from ..detection.wcp import expected_counts

    _, att_db, mu1, mu2, _, _, _ = row
    pdc, e_int = noise
    mu = np.array([mu1, mu2])
    p = np.stack([p1, 1.0 - p1], axis=-1)
    eta = np.full((np.size(px), 1), 10 ** (-att_db / 10) * eta_det)
    return expected_counts(eta, _BOARON_REP_RATE_HZ, mu, p, px, pdc, 0.0, e_int), mu, p


def _boaron_noise(eta_det):
    """(dark-click probability per pulse per detector, intrinsic QBER) fitted to Table I's QBERs.

    Model QBER = (p_dc + e_int S) / (S + 2 p_dc), S = Σ p_k (1 − e^{−η μ_k}) with p_k = 1/2
    (:mod:`qsat.detection.wcp`), is linear in (p_dc, e_int): QBER S = p_dc (1 − 2 QBER) + e_int S,
    solved by least squares weighted by 1/(QBER S) (relative residuals).
    """
    a, b = [], []
    for _, att_db, mu1, mu2, _, q, _ in BOARON_TABLE:
        s = 0.5 * float(np.sum(-np.expm1(-10 ** (-att_db / 10) * eta_det * np.array([mu1, mu2]))))
        q = q / 100.0
        a.append([1.0 - 2.0 * q, s])
        b.append(q * s)
    a, b = np.array(a), np.array(b)
    sol = np.linalg.lstsq(a / b[:, None], np.ones_like(b), rcond=None)[0]
    return max(float(sol[0]), 0.0), max(float(sol[1]), 0.0)


_PX_GRID, _P1_GRID = (g.ravel() for g in np.meshgrid(np.linspace(0.5, 0.98, 49), np.linspace(0.05, 0.95, 46),
                                                     indexing="ij"))


def _boaron_best(row, eta_det, noise):
    """(rate bit/s, p_X, p_μ1, block accumulation time s) maximising the one-decoy rate of a row."""
    from ..protocols.one_decoy import key_length

    counts, mu, p = _boaron_counts(row, eta_det, noise, _PX_GRID, _P1_GRID)
    t_block = row[4] / np.sum(counts[0], axis=-1)           # time to gather n_Z key-basis clicks
    counts = tuple(c * t_block[:, None] for c in counts)
    res = key_length(*counts, mu, p, eps_sec=1e-9, eps_cor=1e-15, error_correction_efficiency=1.16,
                     tail="hoeffding")
    rate = np.where(res.status == 0, res.key_length_raw, -np.inf) / t_block
    k = int(np.argmax(rate))
    return float(rate[k]), float(_PX_GRID[k]), float(_P1_GRID[k]), float(t_block[k])


@cache
def _boaron_model():
    """Detection efficiency calibrated on the 251.7 km row (bisection), with its fitted noise."""
    target = BOARON_TABLE[0][6]
    lo, hi = 1e-3, 1.0
    for _ in range(50):
        mid = float(np.sqrt(lo * hi))
        if _boaron_best(BOARON_TABLE[0], mid, _boaron_noise(mid))[0] < target:
            lo = mid
        else:
            hi = mid
    return hi, _boaron_noise(hi)


def boaron_rate(length_km: float) -> float:
    """qsat's one-decoy finite-key rate (bit/s) for a Table I row, through the fiber-link model."""
    from ..network.config import FiberSystem
    from ..network.fiber import fiber_key_rate

    row = next(r for r in BOARON_TABLE if r[0] == length_km)
    eta_det, (pdc, e_int) = _boaron_model()
    _, px, p1, t_block = _boaron_best(row, eta_det, (pdc, e_int))
    system = FiberSystem(
        name="boaron2018", key_protocol="one-decoy-bb84", detector_efficiency=eta_det,
        one_decoy={"mean_photon_numbers": [row[2], row[3]], "intensity_probabilities": [p1, 1.0 - p1]},
        protocol={"rep_rate_hz": _BOARON_REP_RATE_HZ, "basis_probability_x": px,
                  "dark_count_probability": pdc, "intrinsic_qber": e_int, "afterpulse_probability": 0.0,
                  "eps_sec": 1e-9, "eps_cor": 1e-15, "error_correction_efficiency": 1.16,
                  "tail_bound": "hoeffding"})
    r = fiber_key_rate(row[0] * 1e3, row[1] / row[0], 0.0, system, t_block)
    return float(r["key_rate_bps"])


for _row, _note in (
        ((302.1, 51.3), ""),
        ((354.5, 60.6), ""),
        ((404.9, 69.3), ""),
        ((421.1, 71.9), "at 421 km the published rate sits at the edge of the key, where the rate is most "
                        "sensitive to what is assumed: the row's QBER (2.1 %) is above the one-detector noise "
                        "fit (1.9 %), its block (2e5) is the smallest, and the optimised basis and intensity "
                        "probabilities, afterpulses and dead time are not constrained by the table")):
    _length, _att = _row
    _published = next(r[6] for r in BOARON_TABLE if r[0] == _length)

    @case(id=f"network.fiber.boaron2018_{_length:.0f}km", topic="network",
          quantity=f"one-decoy finite-key secret key rate over {_length} km ({_att} dB) of ultra-low-loss fiber",
          published=_published, unit="bit/s", source=_BOARON_SRC,
          locator="Table I (as transcribed; 6.5 bit/s at 405 km also in the abstract)",
          tolerance=0.5, tolerance_kind="rel",
          tolerance_origin="±50 % band (0.5 to 1.5 times the published rate) fixed before the "
                           "comparison: basis and intensity probabilities are not published and are "
                           "set by optimisation, the detector efficiency is calibrated on another row",
          klass="held-out calibration",
          note=f"{_BOARON_ASSUMED}" + (f"; {_note}" if _note else ""))
    def _(length_km=_length):
        return boaron_rate(length_km)


@case(id="network.fiber.korzh2015_307km", topic="network",
      quantity="finite-key secret key rate over 307 km (51.9 dB) of ultra-low-loss fiber",
      published=3.18, unit="bit/s", source="Korzh et al., Nat. Photonics 9, 163 (2015)", locator="abstract",
      tolerance=0.5, tolerance_kind="rel",
      tolerance_origin="±50 % band planned for a protocol-model comparison (not reached: gap)",
      klass="prediction")
def _():
    raise Gap("the experiment runs the coherent-one-way (COW) protocol, whose key length comes from the "
              "paper's own finite-key analysis; neither that formula nor the system parameters (InGaAs "
              "detector efficiency and dark counts, visibility, block size) were found in the stored sources "
              "(only the abstract and introduction, arXiv:1407.7427), and a BB84 bound is not a substitute. "
              "Moreover González-Payo, Trényi, Wang & Curty, 'Upper security bounds for coherent-one-way "
              "quantum key distribution' (2020, arXiv:2006.16891, abstract) show that the COW key rate "
              "scales at most quadratically with the transmittance and that all COW implementations so far "
              "are insecure, so the published rate is not a secure key "
              "rate a model should reproduce; a COW case needs a post-2020 analysis (e.g. Li, Cao, Xie, Yin & "
              "Chen, arXiv:2309.16136, for a modified COW) and that experiment's data")


@case(id="network.satellite.chen2021_pass_rate", topic="network",
      quantity="average secret key rate over a Micius pass to Xinglong in the integrated network",
      published=47.8e3, unit="bit/s", source="Chen et al., Nature 589, 214 (2021)", locator="abstract",
      tolerance=0.5, tolerance_kind="rel",
      tolerance_origin="±50 % band planned for a pass-model comparison (not reached: gap)",
      klass="prediction")
def _():
    raise Gap("needs the 2018-2020 Micius transmitter and Xinglong receiver parameters and the pass "
              "geometry of Chen et al., which were not found in the stored sources; the per-pass key "
              "comes from the keys stage, the network stage only adds it up")
