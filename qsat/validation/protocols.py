"""Validation cases for detection and protocols: decoy BB84, BBM92, CHSH.

Cases compare with an independent implementation (SatQuMA's published output: code
cross-checks) and with published experiments (Micius decoy BB84; Micius entanglement
QKD and distribution). Inputs that the papers do not state, or that could not be
checked against the text here, are marked "assumed" in the notes. The Micius decoy
BB84 cases take their source, protocol and detector (noise) from the shipped example
``examples/micius_xinglong.toml`` itself, so the example and the case share one model.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

import numpy as np

from .._paths import data_dir, ephemerides_dir
from . import Gap, case

_DATA = ephemerides_dir() / "reference"

# --- SatQuMA (independent implementation, Sidhu et al., npj QI 8, 18 (2022)) -------------------
_SATQUMA_SRC = "SatQuMA output, cnqo-qcomms/SatQuMA out_Pec_0_QBERI_0_1.0GHz.csv (commit 93ab73a)"
_MU = np.array([0.7921, 0.1707, 0.0])
_P = np.array([0.7501, 0.1749, 1.0 - 0.7501 - 0.1749])
# rows (excess loss dB, dt) -> (SKL, lambdaEC, nX, QBERx)
_SATQUMA_ROWS = {
    0.0: (4.759612780656003952e+07, 1.992482639158969978e+06, 1.201133446637740731e+08,
          1.518301453977265398e-03),
    10.0: (4.586842195564969443e+06, 2.238042568502337672e+05, 1.202064472472372837e+07,
           1.691855882755260955e-03),
}


def _data_file(name: str) -> Path:
    path = _DATA / name
    if not path.is_file():
        raise Gap(f"ephemerides/reference/{name} missing from this installation")
    return path


def _loss_table():
    from ..protocols.losstable import read_loss_table

    return read_loss_table(_data_file("satquma_FS_loss_XI0.csv"))


def _satquma_block(excess_db: float):
    from ..detection.wcp import expected_counts
    from ..protocols.decoy_bb84 import key_length
    from ..protocols.losstable import select
    from ..protocols.statistics import binary_entropy

    table = _loss_table()
    eta, valid = select(table, 10.0, excess_db)
    valid &= np.abs(table.time_s) <= 200  # SatQuMA's dt = 200 s window
    counts = expected_counts(eta, 1e9, _MU, _P, 0.7611, 1e-8, 1e-3, 1e-3, valid=valid)
    skl, lam, nx, q = _SATQUMA_ROWS[excess_db]
    f = lam / (nx * float(binary_entropy(q)))  # SatQuMA's effective leakage factor (logM bound)
    return counts, key_length(*counts, _MU, _P, eps_sec=1e-9, eps_cor=1e-15, error_correction_efficiency=f)


@case(id="protocols.satquma_nx_0db", topic="protocols", quantity="sifted X events n_X, SatQuMA example pass",
      published=_SATQUMA_ROWS[0.0][2], unit="count", source=_SATQUMA_SRC, locator="row SysLoss 26.99 dB, dt 200 s",
      tolerance=1e-9, tolerance_origin="same detection model (Lim et al. 2014, Sec. IV), float64 rounding only",
      klass="code cross-check")
def _():
    counts, _ = _satquma_block(0.0)
    return float(counts[0].sum())


for _db in (0.0, 10.0):
    @case(id=f"protocols.satquma_skl_{_db:.0f}db", topic="protocols",
          quantity=f"finite key (Chernoff) SatQuMA example pass, {_db:.0f} dB excess loss",
          published=_SATQUMA_ROWS[_db][0], unit="bit", source=_SATQUMA_SRC,
          locator=f"row SysLoss {26.99 + _db:.2f} dB, dt 200 s", tolerance=0.01,
          tolerance_origin="independent implementation of the same bounds (Lim et al. 2014 with the s_X0 lower "
                           "bound in Eq. (3) and the cap v_Z1 <= m_Z, as SatQuMA); the known difference, per-"
                           "intensity error counts in qsat against SatQuMA's block-average QBER for every "
                           "intensity, is worth well under 1% of the key here",
          klass="code cross-check",
          note="leakage f set to SatQuMA's λ_EC/(n_X h(Q_X)) from the same row (SatQuMA's finite-block EC "
               "bound), so the case checks the decoy and phase-error bounds; at 10 dB the cap v_Z1 <= m_Z "
               "binds (without it qsat's key was 1.3% low there)")
    def _(db=_db):
        return float(_satquma_block(db)[1].secret_key_bits)


# --- Micius decoy BB84, Liao et al., Nature 549, 43 (2017) -------------------------------------
_LIAO = "Liao et al., Nature 549, 43 (2017)"
_EXAMPLE = "micius_xinglong.toml"
_LIAO_NOTE = ("inputs: the [protocol] and [detector] sections of examples/micius_xinglong.toml (source: "
              "μ = 0.8/0.1/0, p = 0.5/0.25/0.25, 100 MHz, p_X = 0.5, Liao et al. Methods; intrinsic QBER and "
              "detector as stated there, extraneous clicks from the detector's dark counts in its window, "
              "no background); link loss from the QNET digitisation of the measured loss")
_LIAO_TOL = ("digitised loss curve is a few-dB reference (±1.8 dB = ×1.5 in counts) plus the detector and "
             "intrinsic-error inputs the paper does not fully state")


def _example_sections(name: str) -> dict:
    try:
        path = data_dir("examples") / name
    except FileNotFoundError:
        raise Gap(f"examples/{name} missing from this installation") from None
    if not path.is_file():
        raise Gap(f"examples/{name} missing from this installation")
    return tomllib.loads(path.read_text(encoding="utf-8"))


#: Where the Micius decoy-BB84 cases take the link loss along the pass: the measured curve (QNET's
#: digitisation of Liao's Fig. 3) or qsat's prediction from Liao's published hardware (the
#: example's [link], :data:`qsat.validation.channel.MICIUS_XINGLONG_LINK`).
LOSS_SOURCES = ("measured", "predicted")


def _micius_loss_db(track_km: np.ndarray, loss: str) -> np.ndarray:
    """Link loss (dB, detectors excluded) at the track's slant ranges (km)."""
    if loss == "measured":
        curve = np.loadtxt(_data_file("micius2017_link_loss_vs_range.csv"), delimiter=",", skiprows=1)
        return np.interp(track_km, curve[:, 0], curve[:, 1])
    if loss == "predicted":
        from .channel import micius_budget

        return np.asarray(micius_budget(track_km * 1e3)["loss_total_db"], dtype=float)
    raise ValueError(f"Micius case loss {loss!r}; expected one of {LOSS_SOURCES}")


@cache
def _micius(loss: str = "measured"):
    """(sifted bits, QBER, final key bits) over Liao's 273 s window (range < 1200 km)."""
    from ..detection.detectors import DetectorConfig
    from ..detection.wcp import expected_counts
    from ..protocols.config import protocol_from_dict
    from ..protocols.decoy_bb84 import key_length

    sections = _example_sections(_EXAMPLE)
    cfg = protocol_from_dict(sections.get("protocol", {}), "protocol")
    det = DetectorConfig.model_validate(sections.get("detector", {})).build()
    track = np.loadtxt(_data_file("micius2017_track_range_vs_time.csv"), delimiter=",", skiprows=1)
    step_s = float(np.median(np.diff(track[:, 0])))
    loss_db = _micius_loss_db(track[:, 1], loss)
    # the keys stage's detection model: η = η_link η_d f_w; extraneous clicks from the detector
    eta = 10 ** (-loss_db / 10) * det.efficiency * det.window_fraction()
    pdc = float(det.extraneous_probability(0.0))
    mu, p = np.asarray(cfg.mean_photon_numbers), np.asarray(cfg.intensity_probabilities)
    counts = expected_counts(eta, cfg.rep_rate_hz * step_s, mu, p, cfg.basis_probability_x, pdc,
                             det.afterpulse_probability, cfg.intrinsic_qber)
    res = key_length(*counts, mu, p, eps_sec=cfg.eps_sec, eps_cor=cfg.eps_cor,
                     error_correction_efficiency=cfg.error_correction_efficiency, tail=cfg.tail_bound,
                     min_z_counts=cfg.min_z_counts)
    sifted = float(counts[0].sum() + counts[1].sum())
    errors = float(counts[2].sum() + counts[3].sum())
    return sifted, errors / sifted, float(res.secret_key_bits)


@case(id="protocols.micius_2016_sifted", topic="protocols", quantity="sifted bits, Micius pass of 19 Dec 2016 (273 s)",
      published=1671072, unit="bit", source=_LIAO, locator="main text, pass of 19 Dec 2016",
      tolerance=0.5, tolerance_origin=_LIAO_TOL, note=_LIAO_NOTE, klass="prediction")
def _():
    return _micius()[0]


@case(id="protocols.micius_2016_qber", topic="protocols", quantity="QBER, Micius pass of 19 Dec 2016",
      published=0.011, unit="1", source=_LIAO, locator="main text, pass of 19 Dec 2016",
      tolerance=0.003, tolerance_kind="abs",
      tolerance_origin="published 'about 1.1%'; the intrinsic error is an assumed input of the example, so "
                       "the case tests the share of extraneous clicks and afterpulses (±0.3%)",
      note=_LIAO_NOTE + "; with 1e-6 extraneous clicks per pulse (500 cps x 2 ns) the QBER doubles",
      klass="prediction")
def _():
    return _micius()[1]


@case(id="protocols.micius_2016_final_key", topic="protocols",
      quantity="final key, Micius pass of 19 Dec 2016, ε = 1e-9", published=300939, unit="bit", source=_LIAO,
      locator="main text, pass of 19 Dec 2016", tolerance=0.5, tolerance_origin=_LIAO_TOL,
      note=_LIAO_NOTE + "; qsat distils from the X basis only (Lim et al. 2014), the paper's analysis may differ",
      klass="prediction")
def _():
    return _micius()[2]


# End to end: the same pass and the example's protocol and detector, with the link loss predicted by
# qsat from Liao's published hardware (the example's [link]) instead of the measured curve: published
# hardware in, key out. Counts are compared in dB (10 log10 N), so that the channel's band carries over.
_LIAO_PRED_NOTE = ("inputs: as the measured-loss cases (protocol and detector of examples/micius_xinglong.toml, "
                   "Liao's 273 s window on the digitised track, range < 1200 km), with the link loss predicted "
                   "by qsat from Liao's published hardware (qsat.validation.channel.MICIUS_XINGLONG_LINK, the "
                   "example's [link]); the predicted loss is 1.7 dB below the measured at 645 km and 5.7 dB "
                   "below at 1200 km (channel.liao2017_loss_*), so the predicted counts run high at low elevation. "
                   "qsat run on the example gives more again (3.02e6 sifted, 374,730 final, QBER 1.32 %) because "
                   "its pass is the whole 417 s above the 10° mask, not the paper's 273 s window")
_LIAO_PRED_TOL = ("fixed before the comparison: the predicted channel's ±3 dB band (channel.liao2017_loss_645km to "
                  "_1000km) carries one to one into a count linear in the transmittance: ±3 dB")


def _db(value: float) -> float:
    return 10.0 * float(np.log10(value))


@case(id="protocols.micius_2016_predicted_sifted", topic="protocols",
      quantity="sifted bits in dB (10 log10 N), Micius pass of 19 Dec 2016 (273 s), link predicted from "
               "published hardware", published=_db(1671072), unit="dB", source=_LIAO,
      locator="main text, pass of 19 Dec 2016 (1,671,072 sifted bits)", tolerance=3.0, tolerance_kind="abs",
      tolerance_origin=_LIAO_PRED_TOL, note=_LIAO_PRED_NOTE, klass="prediction")
def _():
    return _db(_micius("predicted")[0])


@case(id="protocols.micius_2016_predicted_qber", topic="protocols",
      quantity="QBER, Micius pass of 19 Dec 2016, link predicted from published hardware", published=0.011,
      unit="1", source=_LIAO, locator="main text, pass of 19 Dec 2016", tolerance=0.003, tolerance_kind="abs",
      tolerance_origin="as protocols.micius_2016_qber (published 'about 1.1%'): ±0.3%",
      note=_LIAO_PRED_NOTE + "; the intrinsic error (1 %) is an assumed input of the example and sets most of "
                             "the QBER; a more optimistic link lowers the dark counts' share",
      klass="prediction")
def _():
    return _micius("predicted")[1]


@case(id="protocols.micius_2016_predicted_final_key", topic="protocols",
      quantity="final key in dB (10 log10 N), Micius pass of 19 Dec 2016, ε = 1e-9, link predicted from "
               "published hardware", published=_db(300939), unit="dB", source=_LIAO,
      locator="main text, pass of 19 Dec 2016 (300,939 bits)", tolerance=3.0, tolerance_kind="abs",
      tolerance_origin=_LIAO_PRED_TOL + " (the key rises faster than linearly with the transmittance through "
                                        "its finite-size terms, so the same band is a tighter test)",
      note=_LIAO_PRED_NOTE + "; qsat distils from the X basis only (Lim et al. 2014), the paper's analysis may "
                             "differ", klass="prediction")
def _():
    return _db(_micius("predicted")[2])


# --- Entanglement-based QKD over 1120 km, Yin et al., Nature 582, 501 (2020) -------------------
_YIN20 = "Yin et al., Nature 582, 501 (2020)"
_YIN20_IN = ("inputs: 2.2 Hz coincidences (sifted with q = 1/2), QBER 4.5%, 3100 s; error-correction "
             "inefficiency f = 1.19 (Hamming code, published: Yin et al. 2020, p. 504)")
#: Yin et al. (2020), p. 504: "error correction with Hamming code ... inefficiency f_e = 1.19".
YIN2020_EC_INEFFICIENCY = 1.19


@case(id="protocols.yin2020_asymptotic_rate", topic="protocols",
      quantity="BBM92 asymptotic key rate, 1120 km", published=0.43, unit="bit/s", source=_YIN20,
      locator="main text (asymptotic rate)", tolerance=0.15,
      tolerance_origin="inputs rounded (≈3%) and, when the band was set, the EC efficiency was not at hand "
                       "(f in 1.1-1.3 moves the rate by ±12%); the band is kept now that f is the published 1.19", note=_YIN20_IN + "; the paper's own rate from its measured counts and "
                       "QBER: a check of the key formula", klass="code cross-check")
def _():
    from ..protocols.bbm92 import SIFT_FRACTION, asymptotic_key_bits

    return float(asymptotic_key_bits(2.2 * 3100 * SIFT_FRACTION, 0.045, YIN2020_EC_INEFFICIENCY)) / 3100


@case(id="protocols.yin2020_finite_rate", topic="protocols",
      quantity="BBM92 finite-key rate, 1120 km, 3100 s", published=0.12, unit="bit/s", source=_YIN20,
      locator="main text (finite-key rate)", tolerance=0.2,
      tolerance_origin="as the asymptotic case, plus the ε allocation (failure probability ε = 1e-10 published, "
                       "Yin et al. 2020, p. 504; its split between the terms assumed)",
      note=_YIN20_IN + "; qsat's finite-key correction (Lim-type sampling bound, ε split in halves) is "
                       "smaller than the paper's; its exact bound was not available here",
      klass="code cross-check")
def _():
    from ..protocols.bbm92 import SIFT_FRACTION, finite_key_bits

    return float(finite_key_bits(2.2 * 3100 * SIFT_FRACTION, 0.045, eps_sec=1e-10,
                                 error_correction_efficiency=YIN2020_EC_INEFFICIENCY)) / 3100


# --- Entanglement distribution over 1203 km, Yin et al., Science 356, 1140 (2017) --------------
@case(id="detection.yin2017_chsh", topic="detection", quantity="CHSH S, 1203 km entanglement distribution",
      published=2.37, unit="1", source="Yin et al., Science 356, 1140 (2017)", locator="main text (S = 2.37 ± 0.09)",
      tolerance=0.09, tolerance_kind="abs", tolerance_origin="published one-standard-deviation uncertainty",
      note="from the published state fidelity F = 0.869 ± 0.085 via the Werner-state relation S = 2√2 (4F - 1)/3: "
           "tests qsat's Werner-state model between two published measurements", klass="prediction")
def _():
    from ..detection.spdc import chsh_from_fidelity

    return chsh_from_fidelity(0.869)


# End to end: the dual-downlink example's source and detector on qsat's predicted links along the shipped
# Delingha-Lijiang pass (the one of the channel.yin2017_dual_downlink_* cases): published hardware in, S out.
_DUAL_EXAMPLE = "micius_dual_downlink.toml"


def dual_downlink_pair_block(excess_loss_db: float = 0.0) -> dict:
    """The example's BBM92 block (:func:`qsat.protocols.losskeys.bbm92_block`) on the shipped common pass,
    both links as qsat predicts them plus ``excess_loss_db`` on each (the keys stage's model)."""
    from ..detection.detectors import DetectorConfig
    from ..detection.spdc import pair_statistics
    from ..protocols.config import protocol_from_dict
    from ..protocols.losskeys import bbm92_block
    from .channel import dual_downlink_station_budgets

    sections = _example_sections(_DUAL_EXAMPLE)
    cfg = protocol_from_dict(sections.get("protocol", {}), "protocol")
    det = DetectorConfig.model_validate(sections.get("detector", {})).build()
    eta, noise_cps = [], []
    for budget in dual_downlink_station_budgets().values():
        eta.append(budget["transmittance"] * 10 ** (-excess_loss_db / 10) * det.efficiency * det.window_fraction())
        pdc = np.asarray(det.extraneous_probability(budget["background_cps"]))
        noise_cps.append(pdc / det.window_s * det.n_detectors)
    stats = pair_statistics(cfg.pair_rate_hz, eta[0], eta[1], cfg.coincidence_window_s, noise_cps[0], noise_cps[1],
                            cfg.pair_source_qber)
    return bbm92_block(stats, 1.0, cfg)


@case(id="detection.yin2017_chsh_predicted", topic="detection",
      quantity="CHSH S, Delingha-Lijiang entanglement distribution, predicted from published hardware",
      published=2.37, unit="1", source="Yin et al., Science 356, 1140 (2017)", locator="main text (S = 2.37 ± 0.09)",
      tolerance=0.09, tolerance_kind="abs", tolerance_origin="published one-standard-deviation uncertainty",
      note="inputs: [protocol] and [detector] of examples/micius_dual_downlink.toml (5.9e6 pairs/s published; "
           "2.5 ns window, source error 1 % and si-spad detectors assumed) on qsat's predicted links along the "
           "shipped Delingha-Lijiang pass of 21 Dec 2016 (channel.yin2017_dual_downlink_*); S from the pass's "
           "QBER (Werner state). The gap is the link: qsat's two-downlink loss with both detectors is 15.8 and "
           "26.4 dB below the measured 64 and 82 dB (channel.yin2017_dual_downlink_*_with_detectors), so true "
           "coincidences outnumber the accidentals (dark counts 4 x 500 cps per station, assumed) far more "
           "than in the experiment; with 7.9 and 13.2 dB more loss on each link (half those residuals) qsat "
           "gives S = 2.65 and 2.37 on the same pass (docs/channel.md, Yin Science 2017)", klass="prediction")
def _():
    return float(dual_downlink_pair_block()["chsh_s"])
