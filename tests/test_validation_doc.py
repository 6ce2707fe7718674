"""docs/validation.md is generated from the code: the committed file must match."""

from __future__ import annotations

from pathlib import Path

from qsat.validation import all_cases, evaluate, markdown, report

DOC = Path(__file__).resolve().parents[1] / "docs" / "validation.md"


def test_committed_table_matches_the_code():
    assert DOC.read_text() == markdown(report()), "docs/validation.md is stale: run `qsat validate`"


def test_every_case_states_source_locator_and_tolerance_origin():
    for c in all_cases():
        assert c.source and c.locator and c.tolerance_origin, c.id
        # A gap (not computable yet) has no tolerance to state; every compared case does.
        assert c.tolerance > 0 or evaluate(c).status == "gap", c.id
