"""BBM92 key, SPDC statistics, CHSH, detector model."""

import math

import numpy as np
import pytest

from qsat.detection.detectors import PRESETS, DetectorConfig
from qsat.detection.spdc import chsh_from_fidelity, pair_statistics
from qsat.protocols.bbm92 import asymptotic_key_bits, finite_key_bits
from qsat.protocols.bounds import plob_bits_per_use


def test_perfect_link_has_no_errors_and_max_chsh():
    st = pair_statistics(1e6, 0.1, 0.1, 1e-9, 0.0, 0.0, 0.0)
    assert float(st["qber"]) < 1e-3  # only multi-pair accidentals (B η)^2 τ remain
    assert float(st["chsh_s"]) == pytest.approx(2 * math.sqrt(2), rel=2e-3)


def test_accidentals_scale_with_window_and_noise():
    a = pair_statistics(1e6, 1e-3, 1e-3, 1e-9, 1e3, 1e3, 0.01)
    b = pair_statistics(1e6, 1e-3, 1e-3, 2e-9, 1e3, 1e3, 0.01)
    assert float(b["accidental_rate_hz"]) == pytest.approx(2 * float(a["accidental_rate_hz"]))
    assert float(b["qber"]) > float(a["qber"])
    # QBER -> 1/2 when accidentals dominate
    c = pair_statistics(1e6, 1e-6, 1e-6, 1e-6, 1e6, 1e6, 0.01)
    assert float(c["qber"]) == pytest.approx(0.5, abs=1e-3)


def test_werner_relations():
    assert chsh_from_fidelity(1.0) == pytest.approx(2 * math.sqrt(2))
    # local bound S = 2 reached at V = 1/sqrt(2), F = (1 + 3/sqrt(2))/4
    assert chsh_from_fidelity((1 + 3 / math.sqrt(2)) / 4) == pytest.approx(2.0)


def test_bbm92_keys_order_and_threshold():
    n = np.array([1e3, 1e4, 1e5, 1e6, 1e7])
    asy = asymptotic_key_bits(n, 0.03)
    fin = finite_key_bits(n, 0.03)
    assert np.all(fin <= asy) and np.all(np.diff(fin) >= 0)
    assert fin[0] < 0.2 * asy[0] and fin[-1] > 0.9 * asy[-1]
    assert float(finite_key_bits(100.0, 0.03)) == 0.0
    # no key above the BB84 one-way threshold with f = 1.16 (h(E)(1+f) = 1 at E ≈ 9.9%)
    assert float(asymptotic_key_bits(1e9, 0.10)) == 0.0
    assert float(asymptotic_key_bits(1e9, 0.09)) > 0.0


def test_bbm92_below_plob_per_pair_channel():
    # Per emitted pair, a dual downlink is a channel of transmittance η_A η_B
    eta_a = eta_b = np.logspace(-4, -1, 20)
    pairs = 1e9
    st = pair_statistics(pairs, eta_a, eta_b, 1e-9, 100.0, 100.0, 0.01)
    key = asymptotic_key_bits(0.5 * st["coincidence_rate_hz"], st["qber"])
    assert np.all(key <= pairs * plob_bits_per_use(eta_a * eta_b))


def test_detector_model():
    d = PRESETS["si-spad"]
    assert 0.99 < d.window_fraction() <= 1.0  # 2 ns window vs 350 ps FWHM
    assert float(d.extraneous_probability(0.0)) == pytest.approx(d.dark_count_rate_cps * d.window_s, rel=1e-6)
    assert float(d.dead_time_factor(1.0 / d.dead_time_s)) == pytest.approx(0.5)
    assert DetectorConfig(preset="snspd", efficiency=0.9).build().efficiency == 0.9
    for det in PRESETS.values():
        assert det.provenance and 0 < det.efficiency <= 1


def test_detector_config_errors():
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        DetectorConfig(preset="pmt")
    with pytest.raises(ValidationError):
        DetectorConfig(efficiency=-0.1)
