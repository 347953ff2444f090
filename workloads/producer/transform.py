"""Pure mapping from a randomuser-shaped profile to a contract event.

Only what the pipeline needs leaves this module: street, phone numbers, passwords, national ids
and the exact birth date are dropped; e-mail and postcode are replaced by keyed hashes so that
the same person links up across events without the raw values ever reaching Kafka.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
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


# The RFC 4122 variant nibble (binary 10xx) for each hex digit the hash put there.
_VARIANT_NIBBLE = {f"{nibble:x}": f"{nibble & 0x3 | 0x8:x}" for nibble in range(16)}


def event_id_for(user_id: str, event_time: str) -> str:
    """Deterministic id, so re-transforming the same record cannot mint a second event: the UUID version 5
    (RFC 4122) of `user_id|event_time` in EVENT_ID_NAMESPACE, formatted from the SHA-1's hex digits without
    building a UUID object, which costs more than the SHA-1 itself."""
    text = hashlib.sha1(_NAMESPACE_BYTES + f"{user_id}|{event_time}".encode()).hexdigest()
    return f"{text[:8]}-{text[8:12]}-5{text[13:16]}-{_VARIANT_NIBBLE[text[16]]}{text[17:20]}-{text[20:32]}"


def _as_float(value: str | float, path: str) -> float:
    if isinstance(value, float):
        return value
    try:
        return float(value)
    except ValueError:
        raise ValidationError(f"{path}: not a number: {value!r}") from None


def contract_time(when: datetime) -> str:
    """`when` as events carry it: RFC 3339 to the millisecond, with its own offset."""
    if when.tzinfo is None:
        raise ValueError("event_time must be timezone-aware")
    return when.isoformat(timespec="milliseconds")


class EventClock:
    """Now, as contract text (`contract_time`), formatted once per millisecond instead of once per event:
    at tens of thousands of events a second, formatting every timestamp was a twentieth of the loop."""

    def __init__(self, now_ns: Callable[[], int] = time.time_ns) -> None:
        self._now_ns = now_ns
        self._millisecond = -1
        self._text = ""

    def __call__(self) -> str:
        millisecond = self._now_ns() // 1_000_000
        if millisecond != self._millisecond:
            seconds, fraction = divmod(millisecond, 1000)
            self._text = contract_time(datetime.fromtimestamp(seconds, UTC).replace(microsecond=fraction * 1000))
            self._millisecond = millisecond
        return self._text


def to_event(profile: Any, *, source: str, pseudonym_key: bytes, event_time: str) -> dict[str, Any]:
    """The event for one profile at `event_time` (`contract_time` text); ValidationError when the profile
    lacks what the mapping needs.

    The result is not validated here: `encode_event` does that once, on the way to the wire, so nothing
    reaches Kafka unchecked and nothing is checked twice. Keys are inserted in the contract's field order;
    absent and blank optional values are left out.
    """
    if not isinstance(profile, dict):
        raise ValidationError(f"profile: expected a JSON object, got {type(profile).__name__}")
    try:
        parsed = msgspec.convert(profile, Profile)
    except msgspec.ValidationError as error:
        raise ValidationError(reason(error)) from None
    location, login = parsed.location, parsed.login
    event: dict[str, Any] = {
        "event_id": event_id_for(login.uuid, event_time),
        "event_time": event_time,
        "schema_version": CONTRACT_VERSION,
        "user_id": login.uuid,
    }
    if (username := login.username) and not username.isspace():
        event["username"] = username
    event["first_name"] = parsed.name.first
    event["last_name"] = parsed.name.last
    if (gender := parsed.gender) and not gender.isspace():
        event["gender"] = gender
    event["email_hash"] = pseudonymise(normalise_email(parsed.email), pseudonym_key)
    postcode = location.postcode
    if isinstance(postcode, int) or (postcode and not postcode.isspace()):
        event["postcode_hash"] = pseudonymise(normalise_postcode(str(postcode)), pseudonym_key)
    if (city := location.city) and not city.isspace():
        event["city"] = city
    if (state := location.state) and not state.isspace():
        event["state"] = state
    event["country"] = location.country
    if (nationality := parsed.nat) and not nationality.isspace():
        event["nationality"] = nationality
    if (coordinates := location.coordinates) is not None:
        if coordinates.latitude is not None:
            event["latitude"] = _as_float(coordinates.latitude, "location.coordinates.latitude")
        if coordinates.longitude is not None:
            event["longitude"] = _as_float(coordinates.longitude, "location.coordinates.longitude")
    if parsed.dob is not None and parsed.dob.age is not None:
        event["age"] = parsed.dob.age
    if parsed.registered is not None and (registered := parsed.registered.date) and not registered.isspace():
        event["registered_at"] = registered
    event["source"] = source
    return event
