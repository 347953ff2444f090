"""Pure mapping from a randomuser-shaped profile to a contract event.

Only what the pipeline needs leaves this module: street, phone numbers, passwords, national ids
and the exact birth date are dropped; e-mail and postcode are replaced by keyed hashes so that
the same person links up across events without the raw values ever reaching Kafka.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import uuid
from datetime import datetime
from typing import Any

import msgspec

from workloads.contract import CONTRACT_VERSION, ValidationError, reason

# Fixed namespace so that the same user at the same instant always yields the same event id.
EVENT_ID_NAMESPACE = uuid.UUID("5f1c9a9e-3c0b-4d8e-9a57-6d3f1f0b2c11")
_NAMESPACE_BYTES = EVENT_ID_NAMESPACE.bytes


class _Name(msgspec.Struct):
    first: str
    last: str


class _Coordinates(msgspec.Struct):
    latitude: str | float | None = None  # randomuser sends coordinates as strings
    longitude: str | float | None = None


class _Location(msgspec.Struct):
    country: str
    city: str | None = None
    state: str | None = None
    postcode: str | int | None = None  # a number for some nationalities
    coordinates: _Coordinates | None = None


class _Login(msgspec.Struct):
    uuid: str
    username: str | None = None


class _Dob(msgspec.Struct):
    age: int | None = None


class _Registered(msgspec.Struct):
    date: str | None = None  # passed on as written: the contract checks it is RFC 3339 with an offset


class Profile(msgspec.Struct):
    """The parts of a randomuser.me result the pipeline uses; the rest (street, phone numbers, password,
    national id, exact birth date...) is never read. Types are checked without coercion."""

    name: _Name
    location: _Location
    email: str
    login: _Login
    gender: str | None = None
    nat: str | None = None
    dob: _Dob | None = None
    registered: _Registered | None = None


@functools.lru_cache(maxsize=4)
def _keyed_hmac(key: bytes) -> Any:
    """An HMAC-SHA256 already keyed: copying it skips the key schedule for every value."""
    return hmac.new(key, digestmod=hashlib.sha256)


def pseudonymise(value: str, key: bytes) -> str:
    """HMAC-SHA256 of `value` under `key`, hex: stable per key, useless without it."""
    digest = _keyed_hmac(key).copy()
    digest.update(value.encode())
    return digest.hexdigest()


def normalise_email(email: str) -> str:
    """Case and surrounding blanks do not make a different address."""
    return email.strip().lower()


def normalise_postcode(postcode: str) -> str:
    """`sw1a 1aa` and `SW1A1AA` are the same postcode."""
    return "".join(postcode.split()).upper()


def event_id_for(user_id: str, event_time: str) -> str:
    """Deterministic id, so re-transforming the same record cannot mint a second event: the UUID version 5
    (RFC 4122) of `user_id|event_time` in EVENT_ID_NAMESPACE, formatted without building a UUID object,
    which costs more than the SHA-1 itself."""
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + f"{user_id}|{event_time}".encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    text = digest.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def _present(text: str | None) -> str | None:
    """None for absent and blank text, so optional fields are simply left out."""
    return text if text and not text.isspace() else None


def _as_float(value: str | float | None, path: str) -> float | None:
    if value is None or isinstance(value, float):
        return value
    try:
        return float(value)
    except ValueError:
        raise ValidationError(f"{path}: not a number: {value!r}") from None


def to_event(profile: Any, *, source: str, pseudonym_key: bytes, event_time: datetime) -> dict[str, Any]:
    """The event for one profile; ValidationError when the profile lacks what the mapping needs.

    The result is not validated here: `encode_event` does that once, on the way to the wire,
    so nothing reaches Kafka unchecked and nothing is checked twice.
    """
    if event_time.tzinfo is None:
        raise ValueError("event_time must be timezone-aware")
    if not isinstance(profile, dict):
        raise ValidationError(f"profile: expected a JSON object, got {type(profile).__name__}")
    try:
        parsed = msgspec.convert(profile, Profile)
    except msgspec.ValidationError as error:
        raise ValidationError(reason(error)) from None
    location, login = parsed.location, parsed.login
    coordinates = location.coordinates or _Coordinates()
    postcode = location.postcode if isinstance(location.postcode, int) else _present(location.postcode)
    when = event_time.isoformat(timespec="milliseconds")
    candidate = {
        "event_id": event_id_for(login.uuid, when),
        "event_time": when,
        "schema_version": CONTRACT_VERSION,
        "user_id": login.uuid,
        "username": _present(login.username),
        "first_name": parsed.name.first,
        "last_name": parsed.name.last,
        "gender": _present(parsed.gender),
        "email_hash": pseudonymise(normalise_email(parsed.email), pseudonym_key),
        "postcode_hash": None if postcode is None else pseudonymise(normalise_postcode(str(postcode)), pseudonym_key),
        "city": _present(location.city),
        "state": _present(location.state),
        "country": location.country,
        "nationality": _present(parsed.nat),
        "latitude": _as_float(coordinates.latitude, "location.coordinates.latitude"),
        "longitude": _as_float(coordinates.longitude, "location.coordinates.longitude"),
        "age": parsed.dob.age if parsed.dob else None,
        "registered_at": _present(parsed.registered.date) if parsed.registered else None,
        "source": source,
    }
    return {name: value for name, value in candidate.items() if value is not None}
