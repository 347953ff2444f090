"""One definition of the user event.

The producer validates against it, the streaming job derives its Spark schema from it, the
Cassandra table is created from it and the schema registry receives its JSON Schema. Changing a
field here changes all of them together, so producer and job cannot drift apart.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

CONTRACT_VERSION = 1
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


class FieldType(enum.Enum):
    """Wire types of the contract; each maps to one JSON, Spark and CQL type."""

    STRING = "string"
    INTEGER = "integer"
    DOUBLE = "double"
    TIMESTAMP = "timestamp"  # ISO-8601 string with an offset, e.g. 2024-05-01T12:00:00.123+00:00

    @property
    def cql_type(self) -> str:
        return {
            FieldType.STRING: "text",
            FieldType.INTEGER: "int",
            FieldType.DOUBLE: "double",
            FieldType.TIMESTAMP: "timestamp",
        }[self]


@dataclass(frozen=True)
class Field:
    name: str
    type: FieldType
    required: bool
    description: str
    max_length: int | None = None


EVENT_FIELDS: tuple[Field, ...] = (
    Field("event_id", FieldType.STRING, True, "Stable id of this event (UUID); the de-duplication key.", 64),
    Field("event_time", FieldType.TIMESTAMP, True, "When the event happened (UTC)."),
    Field("schema_version", FieldType.INTEGER, True, "Contract version the producer wrote."),
    Field("user_id", FieldType.STRING, True, "Stable user id (randomuser login.uuid); the Kafka key.", 64),
    Field("username", FieldType.STRING, False, "Public user name.", 128),
    Field("first_name", FieldType.STRING, True, "Given name.", 128),
    Field("last_name", FieldType.STRING, True, "Family name.", 128),
    Field("gender", FieldType.STRING, False, "As reported by the source.", 32),
    Field("email_hash", FieldType.STRING, True, "Keyed hash (HMAC-SHA256, hex) of the e-mail address.", 64),
    Field("postcode_hash", FieldType.STRING, False, "Keyed hash (HMAC-SHA256, hex) of the postcode.", 64),
    Field("city", FieldType.STRING, False, "City.", 128),
    Field("state", FieldType.STRING, False, "State or region.", 128),
    Field("country", FieldType.STRING, True, "Country name.", 128),
    Field("nationality", FieldType.STRING, False, "ISO 3166-1 alpha-2 nationality code.", 8),
    Field("latitude", FieldType.DOUBLE, False, "Decimal degrees, -90..90."),
    Field("longitude", FieldType.DOUBLE, False, "Decimal degrees, -180..180."),
    Field("age", FieldType.INTEGER, False, "Age in years."),
    Field("registered_at", FieldType.TIMESTAMP, False, "When the user registered."),
    Field("source", FieldType.STRING, True, "Where the profile came from: randomuser or synthetic.", 32),
)

PRIMARY_KEY = "event_id"

_FIELDS_BY_NAME: Mapping[str, Field] = {field.name: field for field in EVENT_FIELDS}
_RANGES: Mapping[str, tuple[float, float]] = {"latitude": (-90.0, 90.0), "longitude": (-180.0, 180.0), "age": (0, 150)}


class ValidationError(ValueError):
    """An event that breaks the contract; `reason` says which field and why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _check_value(field: Field, value: Any) -> None:
    if field.type is FieldType.STRING:
        if not isinstance(value, str):
            raise ValidationError(f"{field.name}: expected string, got {type(value).__name__}")
        if field.required and not value:
            raise ValidationError(f"{field.name}: must not be empty")
        if field.max_length is not None and len(value) > field.max_length:
            raise ValidationError(f"{field.name}: longer than {field.max_length} characters")
    elif field.type is FieldType.INTEGER:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(f"{field.name}: expected integer, got {type(value).__name__}")
        if not INT32_MIN <= value <= INT32_MAX:
            raise ValidationError(f"{field.name}: {value} does not fit a 32-bit integer (CQL int)")
    elif field.type is FieldType.DOUBLE:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValidationError(f"{field.name}: expected finite number, got {value!r}")
    elif field.type is FieldType.TIMESTAMP:
        if not isinstance(value, str):
            raise ValidationError(f"{field.name}: expected ISO-8601 timestamp string, got {type(value).__name__}")
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError(f"{field.name}: not an ISO-8601 timestamp: {value!r}") from None
        if parsed.tzinfo is None:
            raise ValidationError(f"{field.name}: timestamp needs a UTC offset: {value!r}")
    bounds = _RANGES.get(field.name)
    if bounds is not None and not bounds[0] <= value <= bounds[1]:
        raise ValidationError(f"{field.name}: {value!r} outside {bounds[0]}..{bounds[1]}")


def validate_event(event: Mapping[str, Any]) -> None:
    """Raise ValidationError naming the first field that breaks the contract."""
    unknown = sorted(set(event) - set(_FIELDS_BY_NAME))
    if unknown:
        raise ValidationError(f"unknown field(s): {', '.join(unknown)}")
    for field in EVENT_FIELDS:
        value = event.get(field.name)
        if value is None:
            if field.required:
                raise ValidationError(f"{field.name}: required field missing")
            continue
        _check_value(field, value)
    if event["schema_version"] != CONTRACT_VERSION:
        raise ValidationError(f"schema_version: expected {CONTRACT_VERSION}, got {event['schema_version']}")


def encode_event(event: Mapping[str, Any]) -> bytes:
    """Validate, then serialise to the compact UTF-8 JSON that goes on the wire as the Kafka value."""
    validate_event(event)
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()


def decode_event(raw: bytes | str) -> dict[str, Any]:
    """Parse a Kafka value back into an event, raising ValidationError if it is not a valid one."""
    try:
        event = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValidationError(f"not JSON: {error}") from None
    if not isinstance(event, dict):
        raise ValidationError(f"expected a JSON object, got {type(event).__name__}")
    validate_event(event)
    return event


def json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of the event, as registered in the schema registry."""
    json_types = {
        FieldType.STRING: {"type": "string"},
        FieldType.INTEGER: {"type": "integer"},
        FieldType.DOUBLE: {"type": "number"},
        FieldType.TIMESTAMP: {"type": "string", "format": "date-time"},
    }
    properties: dict[str, Any] = {}
    for field in EVENT_FIELDS:
        spec = dict(json_types[field.type], description=field.description)
        if field.max_length is not None:
            spec["maxLength"] = field.max_length
        if field.name in _RANGES:
            spec["minimum"], spec["maximum"] = _RANGES[field.name]
        properties[field.name] = spec if field.required else {"anyOf": [spec, {"type": "null"}]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "streamstack.UserEvent",
        "description": f"User event, contract version {CONTRACT_VERSION}.",
        "type": "object",
        "properties": properties,
        "required": [field.name for field in EVENT_FIELDS if field.required],
        "additionalProperties": False,
    }


def cassandra_table_ddl(keyspace: str, table: str) -> str:
    """CREATE TABLE IF NOT EXISTS for the events table; upserts by event_id make replays harmless."""
    columns = ",\n  ".join(f"{field.name} {field.type.cql_type}" for field in EVENT_FIELDS)
    return (
        f"CREATE TABLE IF NOT EXISTS {keyspace}.{table} (\n  {columns},\n"
        f"  ingested_at timestamp,\n  PRIMARY KEY ({PRIMARY_KEY})\n);"
    )
