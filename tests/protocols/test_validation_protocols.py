"""The protocol validation cases: they evaluate, carry a class, and the SatQuMA cross-checks hold.

(The outcome of each case is recorded in docs/validation.md, not asserted, except the code
cross-checks with SatQuMA, which test the finite-key bounds themselves.)
"""

import importlib

import pytest

from qsat import validation


def _cases():
    importlib.import_module("qsat.validation.protocols")
    return [c for c in validation.all_cases() if c.id.startswith(("protocols.", "detection."))]


def test_cases_evaluate_and_are_classified():
    cases = _cases()
    assert len(cases) >= 9
    for c in cases:
        assert c.klass in validation.CLASSES, c.id
        outcome = validation.evaluate(c)
        assert outcome.status in ("reproduced", "not reproduced")
        assert outcome.computed is not None and outcome.computed > 0


@pytest.mark.parametrize("case_id", ["protocols.satquma_skl_0db", "protocols.satquma_skl_10db"])
def test_finite_key_agrees_with_satquma_within_1_percent(case_id):
    (c,) = [c for c in _cases() if c.id == case_id]
    outcome = validation.evaluate(c)
    assert outcome.status == "reproduced" and abs(outcome.deviation) < 0.01


def test_micius_case_takes_its_noise_from_the_example(monkeypatch):
    from qsat.validation import protocols as cases

    base = cases._micius()
    real = cases._example_sections

    def quieter(name):
        sections = dict(real(name))
        sections["detector"] = {**sections.get("detector", {}), "dark_count_rate_cps": 1.0}
        return sections

    monkeypatch.setattr(cases, "_example_sections", quieter)
    cases._micius.cache_clear()
    try:
        quiet = cases._micius()
    finally:
        cases._micius.cache_clear()
    assert quiet[1] < base[1]  # fewer dark counts in the example's detector: a lower QBER in the case
