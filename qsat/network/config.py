"""The ``[network]`` scenario section: nodes, fiber links, QKD systems, demands,
repeater chains, scheduling policy and weather.

Every field, its unit and default is documented in ``docs/network.md``. Ground
stations of the scenario are nodes of the network automatically (trusted key
stores); satellites are trusted relay nodes when ``satellite_relay`` is on.
Cross references (a fiber link to an unknown node, a demand between unknown
users) are checked by :func:`check_references`, which needs the station names.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, field_validator, model_validator

from ..errors import QsatInputError
from ..protocols.config import ProtocolConfig
from ..scenario.types import (NonNegativeLength_m, PositiveDuration_s, PositiveLength_m, Probability,
                              Section)
from ..units import to_si

NODE_KINDS = ("trusted", "user", "untrusted")


def _key_rate(value):
    """A key rate: a number in bit/s, or a string/Quantity convertible to bit/s ("10 Gbit/d")."""
    try:
        rate = to_si(value, "bit/s", "", physical_type="key rate")
    except QsatInputError:
        raise ValueError("a key rate in bit/s, or with a unit convertible to bit/s such as "
                         "'1 kbit/s' or '10 Gbit/d'") from None
    if rate < 0:
        raise ValueError("a non-negative key rate")
    return rate


KeyRate_bit_s = Annotated[float, BeforeValidator(_key_rate)]


def _non_negative_db(value: float) -> float:
    if not (math.isfinite(value) and value >= 0):
        raise ValueError("a non-negative loss in dB")
    return value


NonNegative_dB = Annotated[float, AfterValidator(_non_negative_db)]


class NodeSpec(Section):
    """``[[network.nodes]]``: a metro/backbone node or a user (ground stations are added automatically).

    ``kind``: ``trusted`` (a key store that may relay by XOR), ``user`` (an end
    point: holds key, never relays for others), ``untrusted`` (holds no key and
    cannot relay; links ending there carry no key).
    """

    name: str = Field(min_length=1)
    kind: Literal["trusted", "user", "untrusted"] = "trusted"
    latitude_deg: float | None = None
    longitude_deg: float | None = None


class OneDecoySource(Section):
    """``[network.qkd_systems.one_decoy]``: the two intensities of a one-decoy BB84 source.

    ``mean_photon_numbers`` = [μ1, μ2] with μ1 > μ2 > 0 (signal, decoy; Rusca et al.,
    APL 112, 171104 (2018)); ``intensity_probabilities`` = [p_μ1, p_μ2], each > 0, sum 1.
    """

    mean_photon_numbers: list[float] = Field(min_length=2, max_length=2)
    intensity_probabilities: list[float] = Field(min_length=2, max_length=2)

    @field_validator("mean_photon_numbers")
    @classmethod
    def _mu(cls, v):
        if not all(math.isfinite(x) for x in v) or not v[0] > v[1] > 0.0:
            raise ValueError("mean photon numbers mu1 > mu2 > 0 (signal, decoy)")
        return v

    @field_validator("intensity_probabilities")
    @classmethod
    def _p(cls, v):
        if not all(0.0 < x < 1.0 for x in v) or abs(sum(v) - 1.0) > 1e-9:
            raise ValueError("two probabilities in (0, 1) summing to 1")
        return v


class FiberSystem(Section):
    """``[[network.qkd_systems]]``: a fiber QKD system (transmitter, receiver, post-processing).

    ``key_protocol`` picks the finite-key analysis: ``decoy-bb84`` (three
    intensities, Lim et al. 2014; the source is ``protocol``'s) or
    ``one-decoy-bb84`` (two intensities, no vacuum, Rusca et al. 2018; the source is
    ``one_decoy``'s). ``protocol`` takes the keys of ``[protocol]`` (``docs/keys.md``):
    repetition rate, basis probability, dark-count probability per pulse per
    detector, intrinsic QBER, afterpulses, security parameters, tail bound. The
    receiver adds ``detector_efficiency`` and an internal loss ``receiver_loss_db``.
    """

    name: str = Field(min_length=1)
    key_protocol: Literal["decoy-bb84", "one-decoy-bb84"] = "decoy-bb84"
    detector_efficiency: Probability = 0.2
    receiver_loss_db: NonNegative_dB = 0.0
    protocol: ProtocolConfig = ProtocolConfig()
    one_decoy: OneDecoySource | None = None

    @field_validator("detector_efficiency")
    @classmethod
    def _eff(cls, v):
        if v <= 0:
            raise ValueError("a detector efficiency in (0, 1]")
        return v

    @model_validator(mode="after")
    def _decoy(self):
        if self.protocol.protocol != "decoy-bb84":
            raise ValueError("protocol.protocol = 'decoy-bb84' (fiber links run prepare-and-measure BB84)")
        if self.key_protocol == "one-decoy-bb84":
            if self.one_decoy is None:
                raise ValueError("a [one_decoy] table (mean_photon_numbers = [mu1, mu2], "
                                 "intensity_probabilities = [p1, p2]) for key_protocol = 'one-decoy-bb84'")
            if self.protocol.optimize:
                raise ValueError("protocol.optimize = false with key_protocol = 'one-decoy-bb84' "
                                 "(the source optimiser searches three-intensity settings)")
        elif self.one_decoy is not None:
            raise ValueError("no [one_decoy] table unless key_protocol = 'one-decoy-bb84'")
        return self


class FiberLinkSpec(Section):
    """``[[network.fiber_links]]``: a point-to-point fiber QKD link between two nodes.

    The key rate comes from the QKD ``system`` over ``length`` of fiber with
    ``loss_db_per_km`` and ``extra_loss_db`` (connectors, splices, switches),
    finite-key block accumulated over ``accumulation_time``; or ``key_rate``
    given directly (bit/s; the model is then not evaluated).
    """

    a: str
    b: str
    name: str | None = None
    length: NonNegativeLength_m
    loss_db_per_km: NonNegative_dB = 0.2
    extra_loss_db: NonNegative_dB = 0.0
    system: str = "default"
    key_rate: KeyRate_bit_s | None = None
    accumulation_time: PositiveDuration_s = 3600.0

    @model_validator(mode="after")
    def _ends(self):
        if self.a == self.b:
            raise ValueError(f"two different end nodes (a = b = {self.a!r})")
        return self

    @property
    def label(self) -> str:
        return self.name or f"{self.a}-{self.b}"


class DemandSpec(Section):
    """``[[network.demands]]``: key wanted between two users (bit/s; units like '10 Gbit/d' accepted)."""

    a: str
    b: str
    rate: KeyRate_bit_s
    weight: float = Field(default=1.0, gt=0)

    @model_validator(mode="after")
    def _ends(self):
        if self.a == self.b:
            raise ValueError(f"two different users (a = b = {self.a!r})")
        return self

    @property
    def label(self) -> str:
        return f"{self.a}-{self.b}"


class RepeaterChainSpec(Section):
    """``[[network.repeater_chains]]``: a quantum-repeater chain with memories between two nodes."""

    name: str | None = None
    a: str
    b: str
    length: PositiveLength_m
    loss_db_per_km: NonNegative_dB = 0.2
    segments: int = Field(default=4, ge=1)
    mode_rate_hz: float = Field(default=1e9, gt=0)
    multiplexed_modes: int = Field(default=100, ge=1)
    detector_efficiency: Probability = 0.9
    memory_efficiency: Probability = 0.9
    coherence_time: PositiveDuration_s = 1.0
    swap_success: Probability = 0.5
    initial_fidelity: float = Field(default=0.98, gt=0.25, le=1.0)
    purification_rounds: int = Field(default=0, ge=0, le=10)

    @field_validator("segments")
    @classmethod
    def _power_of_two(cls, v):
        if v & (v - 1):
            raise ValueError("a power of two (nested swapping halves the chain at each level)")
        return v

    @property
    def label(self) -> str:
        return self.name or f"{self.a}-{self.b}"


class SchedulePolicy(Section):
    """``[network.schedule]``: who a satellite serves when passes overlap."""

    policy: Literal["max-key", "round-robin", "demand-weighted"] = "max-key"
    satellite_terminals: int = Field(default=1, ge=1)
    station_terminals: int = Field(default=1, ge=1)


class WeatherSpec(Section):
    """``[network.weather]``: cloud outages from monthly clear-sky probabilities."""

    trials: int = Field(default=50, ge=1, le=100000)
    correlation_length: PositiveLength_m = 300e3
    decorrelation_time: PositiveDuration_s = 6 * 3600.0
    climatology: str | None = None
    clear_sky: dict[str, list[float]] = {}
    missing: Literal["error", "clear"] = "error"

    @field_validator("clear_sky")
    @classmethod
    def _monthly(cls, v):
        for station, values in v.items():
            if len(values) != 12:
                raise ValueError(f"12 monthly clear-sky probabilities for {station!r} (got {len(values)})")
            for i, p in enumerate(values):
                if not (isinstance(p, (int, float)) and 0.0 <= p <= 1.0):
                    raise ValueError(f"clear_sky[{station!r}][{i}] = {p!r}: a probability in [0, 1]")
        return v


class NetworkConfig(Section):
    """``[network]``: the key network beyond the ground stations."""

    nodes: list[NodeSpec] = []
    qkd_systems: list[FiberSystem] = []
    fiber_links: list[FiberLinkSpec] = []
    demands: list[DemandSpec] = []
    repeater_chains: list[RepeaterChainSpec] = []
    satellite_relay: bool = True
    key: Literal["finite", "asymptotic"] = "finite"
    settle_interval: PositiveDuration_s = 86400.0
    initial_key_bits: float = Field(default=0.0, ge=0)
    schedule: SchedulePolicy = SchedulePolicy()
    weather: WeatherSpec | None = None

    @model_validator(mode="after")
    def _unique(self):
        seen = set()
        for i, n in enumerate(self.nodes):
            if n.name in seen:
                raise ValueError(f"unique node names (nodes[{i}].name {n.name!r} repeats)")
            seen.add(n.name)
        names = [s.name for s in self.qkd_systems]
        if len(set(names)) != len(names):
            raise ValueError("unique qkd_systems names")
        return self

    def system(self, name: str) -> FiberSystem | None:
        for s in self.qkd_systems:
            if s.name == name:
                return s
        return FiberSystem(name="default") if name == "default" else None


def check_references(net: NetworkConfig, station_names: list[str], prefix: str = "network") -> dict[str, str]:
    """Check every cross reference; return {node name: kind} (stations are ``station``).

    Raises
    ------
    QsatInputError
        For a link or demand naming an unknown node, a fiber link with an unknown
        system, a demand end that is not a user, or a node reusing a station name.
    """
    kinds = {s: "station" for s in station_names}
    for i, n in enumerate(net.nodes):
        if n.name in kinds:
            raise QsatInputError(f"{prefix}.nodes[{i}].name", n.name,
                                 "a name not already used by a ground station (stations are nodes already)")
        kinds[n.name] = n.kind
    known = ", ".join(sorted(kinds)) or "none"
    for i, link in enumerate(net.fiber_links):
        for end in ("a", "b"):
            name = getattr(link, end)
            if name not in kinds:
                raise QsatInputError(f"{prefix}.fiber_links[{i}].{end}", name,
                                     f"a node of network.nodes or a ground station ({known})")
        if link.key_rate is None and net.system(link.system) is None:
            raise QsatInputError(f"{prefix}.fiber_links[{i}].system", link.system,
                                 "the name of a network.qkd_systems entry (or 'default')")
    for i, d in enumerate(net.demands):
        for end in ("a", "b"):
            name = getattr(d, end)
            if name not in kinds:
                raise QsatInputError(f"{prefix}.demands[{i}].{end}", name,
                                     f"a node of network.nodes or a ground station ({known})")
            if kinds[name] == "untrusted":
                raise QsatInputError(f"{prefix}.demands[{i}].{end}", name,
                                     "a node that holds key (user, trusted node or station), not an untrusted one")
    for i, c in enumerate(net.repeater_chains):
        for end in ("a", "b"):
            name = getattr(c, end)
            if name not in kinds:
                raise QsatInputError(f"{prefix}.repeater_chains[{i}].{end}", name,
                                     f"a node of network.nodes or a ground station ({known})")
    if net.weather is not None:
        for name in net.weather.clear_sky:
            if name not in station_names:
                raise QsatInputError(f"{prefix}.weather.clear_sky", name,
                                     f"a ground station of the scenario ({', '.join(station_names)})")
    return kinds
