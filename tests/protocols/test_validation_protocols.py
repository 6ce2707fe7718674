"""The protocol validation cases evaluate (outcome recorded in docs/validation.md, not asserted)."""

import importlib

from qsat import validation


def test_cases_evaluate():
    importlib.import_module("qsat.validation.protocols")
    cases = [c for c in validation.all_cases() if c.id.startswith(("protocols.", "detection."))]
    assert len(cases) >= 9
    for c in cases:
        outcome = validation.evaluate(c)
        assert outcome.status in ("reproduced", "not reproduced")
        assert outcome.computed is not None and outcome.computed > 0
