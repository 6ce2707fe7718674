"""The data formats of ETSI GS QKD 014 V1.1.1 (2019-02), "Protocol and data format of REST-based
key delivery API": parsing what an SAE sends and building what the KME answers.

Plain dicts in, plain dicts out (JSON objects as :mod:`json` reads them); no HTTP here.
Clause numbers are those of the standard:

* clause 5.2 Get status, 5.3 Get key (``enc_keys``), 5.4 Get key with key IDs (``dec_keys``):
  each answers 200 with its object, 400 (bad request format), 401 (unauthorized) or
  503 (error on the server side) with an Error object;
* clause 6.1 Status, 6.2 Key request, 6.3 Key container, 6.4 Key IDs, 6.5 Error.

A malformed request raises :class:`KmeError` with the HTTP status and the Error
object's ``message`` (and ``details``); the server turns it into the response.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field

BAD_REQUEST = 400
UNAUTHORIZED = 401
SERVER_ERROR = 503


@dataclass
class KmeError(Exception):
    """An Error object (clause 6.5) and the HTTP status it is sent with."""

    status: int
    message: str
    details: list[dict] = field(default_factory=list)

    def body(self) -> dict:
        """The Error object: ``message``, and ``details`` when there are any."""
        out = {"message": self.message}
        if self.details:
            out["details"] = self.details
        return out


@dataclass(frozen=True)
class Limits:
    """What the KME allows, as its Status object (clause 6.1) reports it."""

    key_size: int              # default key size, bits
    min_key_size: int          # bits
    max_key_size: int          # bits
    max_key_count: int         # keys a pool holds at most
    max_key_per_request: int
    max_SAE_ID_count: int = 0  # additional slave SAEs per request (not offered: 0)


def status(*, source_kme: str, target_kme: str, master: str, slave: str, stored: int, limits: Limits) -> dict:
    """The Status object (clause 6.1) for keys ``master`` may request for ``slave``."""
    return {
        "source_KME_ID": source_kme,
        "target_KME_ID": target_kme,
        "master_SAE_ID": master,
        "slave_SAE_ID": slave,
        "key_size": limits.key_size,
        "stored_key_count": int(stored),
        "max_key_count": limits.max_key_count,
        "max_key_per_request": limits.max_key_per_request,
        "max_key_size": limits.max_key_size,
        "min_key_size": limits.min_key_size,
        "max_SAE_ID_count": limits.max_SAE_ID_count,
    }


def _integer(name: str, value, where: str) -> int:
    if isinstance(value, bool):
        raise KmeError(BAD_REQUEST, f"{name}: {value!r}; expected an integer ({where})")
    if isinstance(value, str):
        try:
            value = int(value, 10)
        except ValueError:
            raise KmeError(BAD_REQUEST, f"{name}: {value!r}; expected an integer ({where})") from None
    if not isinstance(value, int):
        raise KmeError(BAD_REQUEST, f"{name}: {value!r}; expected an integer ({where})")
    return value


def key_request(obj, limits: Limits) -> tuple[int, int]:
    """``(number, size)`` from a Key request (clause 6.2): a JSON object (POST) or the query
    parameters ``number`` and ``size`` (GET, clause 5.3).

    ``number`` defaults to 1 and may not exceed ``max_key_per_request``; ``size`` (bits)
    defaults to ``key_size``, is a multiple of 8 and lies in [``min_key_size``,
    ``max_key_size``]. ``additional_slave_SAE_IDs`` are refused (``max_SAE_ID_count`` is
    0), as is any ``extension_mandatory`` (none is supported); ``extension_optional`` is
    ignored, as the clause allows.
    """
    if not isinstance(obj, dict):
        raise KmeError(BAD_REQUEST, "Key request: expected a JSON object (ETSI GS QKD 014 clause 6.2)")
    known = {"number", "size", "additional_slave_SAE_IDs", "extension_mandatory", "extension_optional"}
    unknown = sorted(set(obj) - known)
    if unknown:
        raise KmeError(BAD_REQUEST, f"Key request: unknown field {unknown[0]!r}; expected only "
                                    + ", ".join(sorted(known)))
    number = _integer("number", obj.get("number", 1), "keys to deliver, default 1")
    size = _integer("size", obj.get("size", limits.key_size), f"bits per key, default {limits.key_size}")
    if not 1 <= number <= limits.max_key_per_request:
        raise KmeError(BAD_REQUEST, f"number: {number}; expected 1 to max_key_per_request = "
                                    f"{limits.max_key_per_request}")
    if size % 8 or not limits.min_key_size <= size <= limits.max_key_size:
        raise KmeError(BAD_REQUEST, f"size: {size}; expected a multiple of 8 from min_key_size = "
                                    f"{limits.min_key_size} to max_key_size = {limits.max_key_size} bits")
    extra = obj.get("additional_slave_SAE_IDs")
    if extra not in (None, []):
        raise KmeError(BAD_REQUEST, f"additional_slave_SAE_IDs: {extra!r}; expected none "
                                    f"(max_SAE_ID_count = {limits.max_SAE_ID_count})")
    mandatory = obj.get("extension_mandatory")
    if mandatory not in (None, []):
        raise KmeError(BAD_REQUEST, "not all extension_mandatory parameters are supported",
                       details=[{"extension_mandatory_unsupported": mandatory}])
    return number, size


def key_ids(obj) -> list[str]:
    """The key_IDs of a Key IDs object (clause 6.4), each a UUID, none twice."""
    if not isinstance(obj, dict) or not isinstance(obj.get("key_IDs"), list) or not obj["key_IDs"]:
        raise KmeError(BAD_REQUEST, "Key IDs: expected a JSON object with a non-empty array key_IDs "
                                    "(ETSI GS QKD 014 clause 6.4)")
    out = []
    for i, item in enumerate(obj["key_IDs"]):
        kid = item.get("key_ID") if isinstance(item, dict) else None
        out.append(uuid_string(kid, f"key_IDs[{i}].key_ID"))
    if len(set(out)) != len(out):
        raise KmeError(BAD_REQUEST, "key_IDs: a key_ID appears twice; expected each key once")
    return out


def uuid_string(value, name: str = "key_ID") -> str:
    """``value`` as a canonical UUID string (clause 6.3: key_ID is a UUID)."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise KmeError(BAD_REQUEST, f"{name}: {value!r}; expected a UUID such as "
                                    "'bc490419-7d60-487f-adc1-4ddcc177c139'") from None


def key_container(keys) -> dict:
    """A Key container (clause 6.3) from ``(key_ID, material bytes)`` pairs; keys in base64."""
    return {"keys": [{"key_ID": kid, "key": base64.b64encode(material).decode("ascii")} for kid, material in keys]}
