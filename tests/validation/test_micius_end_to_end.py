"""The Micius cases that carry qsat's predicted link into the key and the entanglement figures."""

import math
import tomllib
from pathlib import Path

import numpy as np
import pytest

from qsat import validation
from qsat.validation import channel as vc
from qsat.validation import protocols as vp

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _by_id():
    return {c.id: c for c in validation.all_cases()}


def _example(name):
    return tomllib.loads((EXAMPLES / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", ["micius_dual_downlink.toml", "entanglement_qkd_delingha_nanshan.toml"])
def test_like_with_like_cases_use_the_examples_ground_detector(name):
    assert _example(name)["detector"] == vc.YIN2017_DETECTOR


def test_with_detector_cases_add_one_detector_per_station_to_the_channel_loss():
    cases = _by_id()
    det_db = vc.ground_detector_loss_db()
    assert math.isclose(det_db, 10 * math.log10(2), rel_tol=1e-9)  # the si-spad preset's 50 %
    for km in (530, 1000):
        plain = cases[f"channel.yin2017_downlink_{km}km"].compute()
        assert math.isclose(cases[f"channel.yin2017_downlink_{km}km_with_detector"].compute() - plain, det_db)
    for km in (1600, 2400):
        plain = cases[f"channel.yin2017_dual_downlink_{km}km"].compute()
        both = cases[f"channel.yin2017_dual_downlink_{km}km_with_detectors"].compute()
        assert math.isclose(both - plain, 2 * det_db)


def test_predicted_micius_cases_take_the_loss_of_liaos_published_hardware():
    track = np.loadtxt(vp._data_file("micius2017_track_range_vs_time.csv"), delimiter=",", skiprows=1)
    predicted = vp._micius_loss_db(track[:, 1], "predicted")
    np.testing.assert_allclose(predicted, vc.micius_budget(track[:, 1] * 1e3)["loss_total_db"])
    measured = vp._micius_loss_db(track[:, 1], "measured")
    assert np.all(predicted < measured)  # the prediction is optimistic all along the pass (1.7-5.7 dB)
    sifted_pred, _, key_pred = vp._micius("predicted")
    sifted_meas, _, key_meas = vp._micius("measured")
    assert sifted_pred > sifted_meas and key_pred > key_meas
    cases = _by_id()
    assert math.isclose(cases["protocols.micius_2016_predicted_sifted"].compute(), 10 * math.log10(sifted_pred))
    with pytest.raises(ValueError, match="loss 'fitted'"):
        vp._micius_loss_db(track[:, 1], "fitted")


def test_predicted_chsh_falls_as_the_links_lose_more():
    s = [vp.dual_downlink_pair_block(x)["chsh_s"] for x in (0.0, 8.0, 13.0)]
    assert s[0] > s[1] > s[2]
    assert math.isclose(_by_id()["detection.yin2017_chsh_predicted"].compute(), s[0])
    # the block is the example's own source: more pairs per second, more accidentals, a lower S
    base = vp.dual_downlink_pair_block(10.0)
    assert base["coincidences"] > vp.dual_downlink_pair_block(11.0)["coincidences"]


def test_yin2020_cases_and_example_take_the_published_error_correction_inefficiency():
    from qsat.protocols.bbm92 import SIFT_FRACTION, asymptotic_key_bits

    assert _example("entanglement_qkd_delingha_nanshan.toml")["protocol"]["error_correction_efficiency"] == \
        vp.YIN2020_EC_INEFFICIENCY == 1.19
    rate = _by_id()["protocols.yin2020_asymptotic_rate"].compute()
    assert math.isclose(rate, float(asymptotic_key_bits(2.2 * 3100 * SIFT_FRACTION, 0.045, 1.19)) / 3100)
    assert rate < float(asymptotic_key_bits(2.2 * 3100 * SIFT_FRACTION, 0.045, 1.16)) / 3100


def test_new_cases_are_classified_predictions_with_a_reason_when_missed():
    new = [c for c in validation.all_cases()
           if c.id.endswith(("_with_detector", "_with_detectors")) or "predicted" in c.id]
    assert len(new) == 8
    for c in new:
        assert c.klass == "prediction"
        outcome = validation.evaluate(c)
        assert outcome.status in ("reproduced", "not reproduced")
        if outcome.status == "not reproduced":
            assert outcome.reason
