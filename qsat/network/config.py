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


class FiberSystem(Section):
    """``[[network.qkd_systems]]``: a fiber decoy-BB84 QKD system (transmitter, receiver, post-processing).

    ``protocol`` takes the keys of ``[protocol]`` (``docs/keys.md``): source
    intensities, dark-count probability per pulse per detector, intrinsic QBER,
    afterpulses, security parameters. The receiver adds ``detector_efficiency``
    and an internal loss ``receiver_loss_db``.
    """

    name: str = Field(min_length=1)
    detector_efficiency: Probability = 0.2
    receiver_loss_db: NonNegative_dB = 0.0
    protocol: ProtocolConfig = ProtocolConfig()

    @field_validator("detector_efficiency")
    @classmethod
    def _eff(cls, v):
        if v <= 0:
            raise ValueError("a detector efficiency in (0, 1]")
        return v

    @model_validator(mode="after")
    def _decoy(self):
        if self.protocol.protocol != "decoy-bb84":
            raise ValueError("protocol.protocol = 'decoy-bb84' (fiber links use decoy BB84)")
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
