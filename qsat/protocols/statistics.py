"""Entropies and tail bounds used by the finite-key analyses (pure array functions).

Each tail bound turns an *observed* count ``x`` into a confidence interval on its
*expected* value that fails with probability at most ``eps`` on each side:

* Chernoff (multiplicative) bounds in the closed form of Yin et al., "Tight
  security bounds for decoy-state quantum key distribution", Sci. Rep. 10, 14312
  (2020) (arXiv:2002.06530), Sec. II ("observed value → expected value"), the
  form SatQuMA implements (Sidhu et al., npj Quantum Inf. 8, 18 (2022)):
  ``x_L = x - β/2 - sqrt(2βx + β²/4)``, ``x_U = x + β + sqrt(2βx + β²)``,
  ``β = ln(1/eps)``;
* Hoeffding bounds as in Lim et al., PRA 89, 022307 (2014), definition after
  Eq. (2): ``x ± sqrt(n/2 · ln(1/eps))`` with ``n`` the size of the whole basis
  sample.
"""

from __future__ import annotations

import math

from ..backend import array_namespace

TAILS = ("chernoff", "hoeffding", "asymptotic")

#: Test hook, empty in production: names of bounds to take in the *non-conservative*
#: direction (``qsat.protocols.decoy_bb84.BOUNDS`` and the like list them). The tests set
#: it to check that flipping any one bound raises the key above an independent oracle;
#: nothing else may touch it.
_FLIPPED: frozenset = frozenset()


def conservative(name: str, conservative_value, flipped_value):
    """``conservative_value``, the bound direction that keeps the key a lower bound.

    Every direction-carrying choice in the finite-key formulas goes through here under a
    unique ``name``; ``flipped_value`` (the other direction) is used only when the tests
    list ``name`` in :data:`_FLIPPED`.
    """
    return flipped_value if name in _FLIPPED else conservative_value


def binary_entropy(p):
    """h(p) = -p log2 p - (1-p) log2(1-p), with h(0) = h(1) = 0; NaN stays NaN."""
    xp = array_namespace(p)
    p = xp.asarray(p, dtype=xp.float64)
    q = xp.clip(p, 1e-300, 1.0 - 1e-16)
    h = -q * xp.log2(q) - (1.0 - q) * xp.log2(1.0 - q)
    h = xp.where((p <= 0.0) | (p >= 1.0), 0.0, h)
    return xp.where(xp.isnan(p), xp.nan, h)


def chernoff_expectation_bounds(observed, eps: float):
    """(lower, upper) bounds on the expectation of a count observed as ``observed``.

    Yin et al. (2020), Sec. II: with β = ln(1/ε), the expected value lies in
    [x - β/2 - sqrt(2βx + β²/4), x + β + sqrt(2βx + β²)] except with probability
    ε on each side. The lower bound is clipped at 0.
    """
    xp = array_namespace(observed)
    x = xp.maximum(xp.asarray(observed, dtype=xp.float64), 0.0)
    beta = math.log(1.0 / eps)
    lower = x - beta / 2.0 - xp.sqrt(2.0 * beta * x + beta * beta / 4.0)
    upper = x + beta + xp.sqrt(2.0 * beta * x + beta * beta)
    return xp.maximum(lower, 0.0), upper


def hoeffding_expectation_bounds(observed, sample_size, eps: float):
    """(lower, upper) = observed ∓ sqrt(n/2 · ln(1/ε)), n = ``sample_size`` (Lim et al. 2014, after Eq. (2))."""
    xp = array_namespace(observed, sample_size)
    x = xp.asarray(observed, dtype=xp.float64)
    delta = xp.sqrt(xp.asarray(sample_size, dtype=xp.float64) / 2.0 * math.log(1.0 / eps))
    return xp.maximum(x - delta, 0.0), x + delta


def expectation_bounds(observed, sample_size, eps: float, tail: str):
    """Dispatch on ``tail`` (one of :data:`TAILS`); ``asymptotic`` returns (x, x)."""
    xp = array_namespace(observed, sample_size)
    if tail == "chernoff":
        return chernoff_expectation_bounds(observed, eps)
    if tail == "hoeffding":
        return hoeffding_expectation_bounds(observed, sample_size, eps)
    if tail == "asymptotic":
        x = xp.asarray(observed, dtype=xp.float64)
        return x, x
    raise ValueError(f"tail {tail!r}; expected one of {TAILS}")


def sampling_deviation(eps: float, error_rate, n_test, n_key, pieces: float = 21.0):
    """Lim et al. (2014), Eq. (5)'s γ(ε, λ, n_test, n_key): random sampling without replacement.

    γ(a, b, c, d) = sqrt( (c+d)(1-b)b / (c d ln 2) · log2( (c+d)/(c d (1-b) b) · k²/a² ) ),
    the deviation between the phase-error rate of ``n_key`` events and the error
    rate ``b`` observed on ``n_test`` events; ``pieces`` = k is 21 in Lim et al.'s
    ε allocation (decoy BB84) and 1 where ε is the failure probability of this
    estimate alone. Returns +inf where it is undefined (no statistics).
    """
    xp = array_namespace(error_rate, n_test, n_key)
    b = xp.clip(xp.asarray(error_rate, dtype=xp.float64), 1e-12, 0.5)
    c = xp.maximum(xp.asarray(n_test, dtype=xp.float64), 1.0)
    d = xp.maximum(xp.asarray(n_key, dtype=xp.float64), 1.0)
    ok = (xp.asarray(n_test) > 0) & (xp.asarray(n_key) > 0)
    arg = (c + d) / (c * d * (1.0 - b) * b) * (pieces**2 / eps**2)
    inner = (c + d) * (1.0 - b) * b / (c * d * math.log(2.0)) * xp.log2(xp.maximum(arg, 1.0))
    return xp.where(ok, xp.sqrt(xp.maximum(inner, 0.0)), xp.inf)
