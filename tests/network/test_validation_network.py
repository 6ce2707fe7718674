"""Network validation cases: they evaluate, and the Boaron et al. (2018) model is a prediction, not a fit."""

from __future__ import annotations

import numpy as np
import pytest

from qsat import validation
from qsat.validation import network as vnet


def test_cases_evaluate():
    cases = [c for c in validation.all_cases() if c.id.startswith("network.")]
    outcomes = {c.id: validation.evaluate(c) for c in cases}
    boaron = [k for k in outcomes if k.startswith("network.fiber.boaron2018_")]
    assert len(boaron) == 4
    for k in boaron:
        assert outcomes[k].status in ("reproduced", "not reproduced")
        assert outcomes[k].computed > 0
    assert outcomes["network.fiber.korzh2015_307km"].status == "gap"


def test_boaron_calibration_is_physical_and_fixes_only_its_own_row():
    eta_det, (pdc, e_int) = vnet._boaron_model()
    assert 0.01 < eta_det <= 1.0
    qbers = [row[5] / 100 for row in vnet.BOARON_TABLE]
    assert 0.0 < e_int < qbers[3] and 0.0 < pdc < 1e-6      # below the dark-count-dominated QBERs
    # the calibration row is reproduced by construction ...
    assert vnet.boaron_rate(251.7) == pytest.approx(vnet.BOARON_TABLE[0][6], rel=1e-6)
    # ... the others are predictions: they fall with distance and are not the published numbers
    rates = [vnet.boaron_rate(row[0]) for row in vnet.BOARON_TABLE]
    assert np.all(np.diff(rates) < 0)
    for row, rate in zip(vnet.BOARON_TABLE[1:], rates[1:]):
        assert abs(rate / row[6] - 1.0) > 1e-3


def test_boaron_noise_fit_reproduces_the_qber_trend():
    eta_det, (pdc, e_int) = vnet._boaron_model()
    model = []
    for row in vnet.BOARON_TABLE:
        counts, _, _ = vnet._boaron_counts(row, eta_det, (pdc, e_int), np.array([0.8]), np.array([0.5]))
        model.append(float(np.sum(counts[2]) / np.sum(counts[0])))
    assert np.all(np.diff(model) > 0)                 # dark clicks weigh more with loss
    published = np.array([row[5] / 100 for row in vnet.BOARON_TABLE])
    assert np.all(np.abs(np.array(model) - published) < 0.003)
