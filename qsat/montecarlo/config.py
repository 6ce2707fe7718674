"""The ``[montecarlo]`` scenario section: trials, chunking, and which fades are sampled.

.. code-block:: toml

    [montecarlo]
    trials = 1000                        # Monte Carlo trials (qsat montecarlo --trials overrides)
    trial_chunk = 256                    # trials per task
    pass_chunk = 64                      # passes per task
    sample = ["weather", "turbulence", "pointing", "counts"]
    clear_sky_probability = 0.6          # or {Xinglong = 0.6, Ali = 0.8}; default: [network.weather]
    turbulence_coherence_time = "10 ms"  # scintillation (log-amplitude) correlation time
    pointing_coherence_time = "100 ms"   # pointing-jitter correlation time
    histogram_bins = 40
    store_counts = false                 # also keep the 12 sampled counts per (trial, pass) in the store

Every field is documented in ``docs/montecarlo.md``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from ..scenario.types import PositiveDuration_s, Probability, Section

#: What a trial can sample; anything not sampled takes its mean (counts: their expectation).
SAMPLED = ("weather", "turbulence", "pointing", "counts")
#: Largest number of trials: the trial index is one 32-bit word of the Philox counter.
MAX_TRIALS = 2**32 - 1


class MonteCarloConfig(Section):
    """``[montecarlo]``: a Monte Carlo study over the scenario's passes."""

    trials: int = Field(default=1000, ge=1, le=MAX_TRIALS)
    trial_chunk: int = Field(default=256, ge=1, le=MAX_TRIALS)
    pass_chunk: int = Field(default=64, ge=1)
    sample: list[Literal["weather", "turbulence", "pointing", "counts"]] = list(SAMPLED)
    clear_sky_probability: Probability | dict[str, Probability] | None = None
    turbulence_coherence_time: PositiveDuration_s = 0.01
    pointing_coherence_time: PositiveDuration_s = 0.1
    histogram_bins: int = Field(default=40, ge=2, le=100000)
    store_counts: bool = False

    @field_validator("sample")
    @classmethod
    def _unique(cls, value):
        if len(set(value)) != len(value):
            raise ValueError(f"each of {', '.join(SAMPLED)} at most once")
        return value

    def samples(self, what: str) -> bool:
        return what in self.sample


__all__ = ["MonteCarloConfig", "SAMPLED", "MAX_TRIALS"]
