"""Pure mapping from a randomuser-shaped profile to a contract event.

Only what the pipeline needs leaves this module: street, phone numbers, passwords, national ids
and the exact birth date are dropped; e-mail and postcode are replaced by keyed hashes so that
the same person links up across events without the raw values ever reaching Kafka.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import datetime
from typing import Any

from workloads.contract import CONTRACT_VERSION, ValidationError

# Fixed namespace so that the same user at the same instant always yields the same event id.
EVENT_ID_NAMESPACE = uuid.UUID("5f1c9a9e-3c0b-4d8e-9a57-6d3f1f0b2c11")

_MISSING = object()


def pseudonymise(value: str, key: bytes) -> str:
    """HMAC-SHA256 of `value` under `key`, hex: stable per key, useless without it."""
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def normalise_email(email: str) -> str:
    """Case and surrounding blanks do not make a different address."""
    return email.strip().lower()


def normalise_postcode(postcode: str) -> str:
    """`sw1a 1aa` and `SW1A1AA` are the same postcode."""
    return "".join(postcode.split()).upper()


def event_id_for(user_id: str, event_time: str) -> str:
    """Deterministic id, so re-transforming the same record cannot mint a second event."""
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{user_id}|{event_time}"))


def _lookup(profile: dict[str, Any], path: str) -> Any:
    """Value at a dotted path, or _MISSING when any level is absent or not an object."""
    node: Any = profile
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:  # parsed JSON: plain dicts (cheaper than the ABC)
            return _MISSING
        node = node[part]
    return node


def _required(profile: dict[str, Any], path: str) -> Any:
    value = _lookup(profile, path)
    if value is _MISSING or value is None:
        raise ValidationError(f"{path}: missing in profile")
    return value


def _optional(profile: dict[str, Any], path: str) -> Any:
    """None for absent, null or blank values, so optional fields are simply left out."""
    value = _lookup(profile, path)
    if value is _MISSING or value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value


def _as_float(value: Any, path: str) -> float | None:
    """randomuser sends coordinates as strings; the contract wants numbers."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValidationError(f"{path}: expected a number, got {type(value).__name__}")
    try:
        return float(value)
    except ValueError:
        raise ValidationError(f"{path}: not a number: {value!r}") from None


def _as_text(value: Any, path: str) -> str:
    """Postcodes arrive as numbers for some nationalities; anything else is a broken record."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValidationError(f"{path}: expected text, got {type(value).__name__}")
    return str(value)


def _as_timestamp(value: Any, path: str) -> str | None:
    """Normalise `...Z` timestamps to ISO-8601 with an explicit offset, as the contract requires."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{path}: expected a timestamp string, got {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"{path}: not an ISO-8601 timestamp: {value!r}") from None
    return parsed.isoformat(timespec="milliseconds")


def to_event(profile: Any, *, source: str, pseudonym_key: bytes, event_time: datetime) -> dict[str, Any]:
    """The event for one profile; ValidationError when the profile lacks what the mapping needs.

    The result is not validated here: `encode_event` does that once, on the way to the wire,
    so nothing reaches Kafka unchecked and nothing is checked twice.
    """
    if event_time.tzinfo is None:
        raise ValueError("event_time must be timezone-aware")
    if not isinstance(profile, dict):
        raise ValidationError(f"profile: expected a JSON object, got {type(profile).__name__}")
    user_id = _required(profile, "login.uuid")
    email = _required(profile, "email")
    if not isinstance(email, str):
        raise ValidationError(f"email: expected text, got {type(email).__name__}")
    postcode = _optional(profile, "location.postcode")
    when = event_time.isoformat(timespec="milliseconds")
    candidate = {
        "event_id": event_id_for(str(user_id), when),
        "event_time": when,
        "schema_version": CONTRACT_VERSION,
        "user_id": user_id,
        "username": _optional(profile, "login.username"),
        "first_name": _required(profile, "name.first"),
        "last_name": _required(profile, "name.last"),
        "gender": _optional(profile, "gender"),
        "email_hash": pseudonymise(normalise_email(email), pseudonym_key),
        "postcode_hash": (
            None
            if postcode is None
            else pseudonymise(normalise_postcode(_as_text(postcode, "location.postcode")), pseudonym_key)
        ),
        "city": _optional(profile, "location.city"),
        "state": _optional(profile, "location.state"),
        "country": _required(profile, "location.country"),
        "nationality": _optional(profile, "nat"),
        "latitude": _as_float(_optional(profile, "location.coordinates.latitude"), "location.coordinates.latitude"),
        "longitude": _as_float(_optional(profile, "location.coordinates.longitude"), "location.coordinates.longitude"),
        "age": _optional(profile, "dob.age"),
        "registered_at": _as_timestamp(_optional(profile, "registered.date"), "registered.date"),
        "source": source,
    }
    return {name: value for name, value in candidate.items() if value is not None}
