"""The validation table: every published number qsat is compared with.

A case names the published value, where it comes from (source and locator: table,
figure or equation), the tolerance and where that tolerance comes from, and a
function computing qsat's value. :func:`report` evaluates all cases and
:func:`markdown` renders ``docs/validation.md``; a test fails when the committed
file differs from what the code generates (regenerate with ``qsat validate``).

Status is derived, never asserted by hand:

* ``reproduced`` — ``|computed - published| <= tolerance``;
* ``not reproduced`` — outside the tolerance (kept in the table, with the reason);
* ``gap`` — qsat cannot compute it yet (the case says why).

Every case also has a *class* (:data:`CLASSES`), which says what a match proves:

* ``prediction`` — the model from published inputs against a measurement;
* ``held-out calibration`` — a term fitted on one measurement, compared on another;
* ``code cross-check`` — the same formula in another implementation;
* ``identity`` — a mathematical fact the code must satisfy.

Only predictions and held-out calibrations count as physics; the table counts each
class separately. A case whose compared number is an input of the computation, or
that cannot fail, belongs in no class and must not be registered.

Topic modules add cases with :func:`case` and are listed in :data:`CASE_MODULES`.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass, field
from typing import Callable

#: Modules that register validation cases (imported by :func:`all_cases`).
CASE_MODULES: list[str] = [
    "qsat.validation.orbits",
    "qsat.validation.channel",
    "qsat.validation.protocols",
    "qsat.validation.network",
]


#: The validation classes, in the order the table lists them.
CLASSES: tuple[str, ...] = ("prediction", "held-out calibration", "code cross-check", "identity")


class Gap(Exception):
    """Raised by a case's compute function when qsat cannot compute the value; the text says why."""


@dataclass(frozen=True)
class Case:
    id: str
    topic: str
    quantity: str
    published: float
    unit: str
    source: str
    locator: str
    tolerance: float
    tolerance_kind: str  # "abs" or "rel"
    tolerance_origin: str
    compute: Callable[[], float] = field(compare=False)
    note: str = ""
    klass: str = "unclassified"


_REGISTRY: dict[str, Case] = {}


def case(*, id: str, topic: str, quantity: str, published: float, unit: str, source: str,
         locator: str, tolerance: float, tolerance_kind: str = "rel", tolerance_origin: str,
         note: str = "", klass: str = "unclassified"):
    """Decorator registering ``compute()`` (returning qsat's value in ``unit``) as a case.

    ``klass`` is one of :data:`CLASSES`; ``"unclassified"`` is listed apart and
    never counted as physics.
    """
    if tolerance_kind not in ("abs", "rel"):
        raise ValueError(f"validation case {id}: tolerance_kind {tolerance_kind!r}; expected 'abs' or 'rel'")
    if klass not in CLASSES + ("unclassified",):
        raise ValueError(f"validation case {id}: klass {klass!r}; expected one of {CLASSES}")

    def register(compute: Callable[[], float]):
        if id in _REGISTRY:
            raise ValueError(f"validation case {id} registered twice")
        _REGISTRY[id] = Case(id, topic, quantity, float(published), unit, source, locator,
                             float(tolerance), tolerance_kind, tolerance_origin, compute, note, klass)
        return compute

    return register


def all_cases() -> list[Case]:
    for name in CASE_MODULES:
        importlib.import_module(name)
    return sorted(_REGISTRY.values(), key=lambda c: (c.topic, c.id))


@dataclass(frozen=True)
class Outcome:
    case: Case
    computed: float | None
    deviation: float | None
    status: str
    reason: str


def evaluate(c: Case) -> Outcome:
    try:
        value = float(c.compute())
    except Gap as gap:
        return Outcome(c, None, None, "gap", str(gap))
    if not math.isfinite(value):
        return Outcome(c, value, None, "not reproduced", "qsat's value is not finite")
    diff = value - c.published
    deviation = diff if c.tolerance_kind == "abs" else diff / c.published
    ok = abs(deviation) <= c.tolerance
    return Outcome(c, value, deviation, "reproduced" if ok else "not reproduced",
                   "" if ok else (c.note or "outside tolerance"))


def report() -> list[Outcome]:
    return [evaluate(c) for c in all_cases()]


def _fmt(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x:.4g}"


def markdown(outcomes: list[Outcome] | None = None) -> str:
    outcomes = report() if outcomes is None else outcomes
    counts = {s: sum(o.status == s for o in outcomes) for s in ("reproduced", "not reproduced", "gap")}
    by_class = []
    for k in CLASSES + ("unclassified",):
        mine = [o for o in outcomes if o.case.klass == k]
        if mine:
            ok = sum(o.status == "reproduced" for o in mine)
            by_class.append(f"{k}: {ok} of {len(mine)} reproduced")
    lines = [
        "# qsat validation table",
        "",
        "Generated by `qsat validate` from `qsat/validation/`; do not edit by hand "
        "(a test fails when this file differs from what the code generates).",
        "",
        f"{len(outcomes)} cases: {counts['reproduced']} reproduced, "
        f"{counts['not reproduced']} not reproduced, {counts['gap']} gaps.",
        "",
        "By class (only predictions and held-out calibrations count as physics): "
        + "; ".join(by_class) + ".",
        "",
        "| id | class | quantity | published | qsat | deviation | tolerance | status | source | tolerance from | note |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        c = o.case
        tol = f"±{_fmt(c.tolerance)} {c.unit}" if c.tolerance_kind == "abs" else f"±{c.tolerance:.1%}"
        dev = "—" if o.deviation is None else (
            f"{o.deviation:+.3g} {c.unit}" if c.tolerance_kind == "abs" else f"{o.deviation:+.2%}")
        note = "; ".join(x for x in (c.note if o.status == "reproduced" else "", o.reason) if x)
        lines.append(
            f"| {c.id} | {c.klass} | {c.quantity} | {_fmt(c.published)} {c.unit} | {_fmt(o.computed)} | {dev} | "
            f"{tol} | {o.status} | {c.source}, {c.locator} | {c.tolerance_origin} | {note} |")
    return "\n".join(lines) + "\n"
