"""One definition of the user event: a msgspec Struct.

msgspec (a well-kept, C-backed library) validates the event strictly as it decodes it: no coercion
(no number for a string, no `true` for an integer), unknown fields refused, lengths, ranges and
timestamps with an offset enforced. The producer validates the very bytes it sends with it, the
streaming job decodes Kafka values with it, and everything else derives from `UserEvent`: the field
list (EVENT_FIELDS), the JSON Schema the registry receives, the Spark schema and the Cassandra table.
Changing a field here changes all of them together, so producer and job cannot drift apart.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import Meta

CONTRACT_VERSION = 1


def _required_text(max_length: int, description: str) -> Any:
    return Annotated[str, Meta(min_length=1, max_length=max_length, description=description)]


def _optional_text(max_length: int, description: str) -> Any:
    return Annotated[Annotated[str, Meta(max_length=max_length)] | None, Meta(description=description)]


def _timestamp(description: str) -> Any:
    return Annotated[datetime, Meta(tz=True, description=description)]


class UserEvent(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    """User event, contract version 1. Field order is the column order of every derived schema."""

    event_id: _required_text(64, "Stable id of this event (UUID); the de-duplication key.")
    event_time: _timestamp("When the event happened (UTC).")
    schema_version: Annotated[
        int, Meta(ge=CONTRACT_VERSION, le=CONTRACT_VERSION, description="Contract version the producer wrote.")
    ]
    user_id: _required_text(64, "Stable user id (randomuser login.uuid); the Kafka key.")
    username: _optional_text(128, "Public user name.") = None
    first_name: _required_text(128, "Given name.")
    last_name: _required_text(128, "Family name.")
    gender: _optional_text(32, "As reported by the source.") = None
    email_hash: _required_text(64, "Keyed hash (HMAC-SHA256, hex) of the e-mail address.")
    postcode_hash: _optional_text(64, "Keyed hash (HMAC-SHA256, hex) of the postcode.") = None
    city: _optional_text(128, "City.") = None
    state: _optional_text(128, "State or region.") = None
    country: _required_text(128, "Country name.")
    nationality: _optional_text(8, "ISO 3166-1 alpha-2 nationality code.") = None
    latitude: Annotated[Annotated[float, Meta(ge=-90, le=90)] | None, Meta(description="Decimal degrees, -90..90.")] = (
        None
    )
    longitude: Annotated[
        Annotated[float, Meta(ge=-180, le=180)] | None, Meta(description="Decimal degrees, -180..180.")
    ] = None
    age: Annotated[Annotated[int, Meta(ge=0, le=150)] | None, Meta(description="Age in years.")] = None
    registered_at: Annotated[
        Annotated[datetime, Meta(tz=True)] | None, Meta(description="When the user registered.")
    ] = None
    source: _required_text(32, "Where the profile came from: randomuser or synthetic.")


class FieldType(enum.Enum):
    """Wire types of the contract; each maps to one JSON, Spark and CQL type."""

    STRING = "string"
    INTEGER = "integer"
    DOUBLE = "double"
    TIMESTAMP = "timestamp"  # RFC 3339 / ISO-8601 string with an offset, e.g. 2024-05-01T12:00:00.123+00:00

    @property
    def sql_type(self) -> str:
        """PostgreSQL type of the pipeline database's users table (change data capture)."""
        return {
            FieldType.STRING: "text",
            FieldType.INTEGER: "integer",
            FieldType.DOUBLE: "double precision",
            FieldType.TIMESTAMP: "timestamptz",
        }[self]

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
    """One field of UserEvent as the derived schemas see it."""

    name: str
    type: FieldType
    required: bool
    description: str
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None


_TYPES = {
    msgspec.inspect.StrType: FieldType.STRING,
    msgspec.inspect.IntType: FieldType.INTEGER,
    msgspec.inspect.FloatType: FieldType.DOUBLE,
    msgspec.inspect.DateTimeType: FieldType.TIMESTAMP,
}


def _field(info: msgspec.inspect.Field) -> Field:
    described = info.type
    description = described.extra_json_schema["description"]  # type: ignore[union-attr]
    kind = described.type  # type: ignore[union-attr]
    if isinstance(kind, msgspec.inspect.UnionType):
        (kind,) = [member for member in kind.types if not isinstance(member, msgspec.inspect.NoneType)]
    if isinstance(kind, msgspec.inspect.Metadata):
        kind = kind.type
    return Field(
        name=info.name,
        type=_TYPES[type(kind)],
        required=info.required,
        description=description,
        max_length=getattr(kind, "max_length", None),
        minimum=getattr(kind, "ge", None),
        maximum=getattr(kind, "le", None),
    )


EVENT_FIELDS: tuple[Field, ...] = tuple(_field(info) for info in msgspec.inspect.type_info(UserEvent).fields)
PRIMARY_KEY = "event_id"

_DECODER = msgspec.json.Decoder(UserEvent)
_ENCODER = msgspec.json.Encoder()
_AT_PATH = re.compile(r"^(?P<message>.*) - at `\$\.?(?P<path>[^`]*)`$")
_MISSING = re.compile(r"^Object missing required field `(?P<field>[^`]+)`")
_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<field>[^`]+)`")


class ValidationError(ValueError):
    """An event that breaks the contract; `reason` says which field and why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def reason(error: msgspec.MsgspecError) -> str:
    """msgspec's message as `<field>: <what is wrong>`, the form dead letters and rejections carry."""
    text = str(error)
    if isinstance(error, msgspec.DecodeError) and not isinstance(error, msgspec.ValidationError):
        return f"malformed JSON: {text.removeprefix('JSON is malformed: ')}"
    at = _AT_PATH.match(text)
    location, text = (at["path"], at["message"]) if at else ("", text)
    if missing := _MISSING.match(text):
        return f"{location + '.' if location else ''}{missing['field']}: required field missing"
    if unknown := _UNKNOWN.match(text):
        return f"unknown field: {location + '.' if location else ''}{unknown['field']}"
    if text == "Expected `object`, got `array`" or (not location and text.startswith("Expected `object`")):
        return f"expected a JSON object, got {text.rsplit('`', 2)[-2]}"
    return f"{location}: {text[0].lower()}{text[1:]}" if location else text


def decoder() -> msgspec.json.Decoder[UserEvent]:
    """The strict decoder of the wire format: reusable, cheap to call; raises msgspec errors (see `reason`)."""
    return _DECODER


def decode_event(raw: bytes | str) -> dict[str, Any]:
    """Validate a Kafka value and return it as the JSON object it is, raising ValidationError if it breaks
    the contract."""
    try:
        _DECODER.decode(raw)
    except msgspec.MsgspecError as error:
        raise ValidationError(reason(error)) from None
    return msgspec.json.decode(raw)


def validate_event(event: Mapping[str, Any]) -> None:
    """Raise ValidationError naming the first field of `event` (JSON values) that breaks the contract."""
    try:
        msgspec.convert(event, UserEvent)
    except msgspec.ValidationError as error:
        raise ValidationError(reason(error)) from None


def encode_event(event: Mapping[str, Any]) -> bytes:
    """Validate, then serialise to the compact UTF-8 JSON that goes on the wire as the Kafka value.

    Validation runs on the mapping, not on the bytes, because the encoder writes NaN as `null`.
    """
    validate_event(event)
    return _ENCODER.encode(event)


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
        if field.type is FieldType.STRING and field.required:
            spec["minLength"] = 1
        if field.minimum is not None and field.name != "schema_version":
            spec["minimum"], spec["maximum"] = field.minimum, field.maximum
        if field.name == "schema_version":
            spec["const"] = CONTRACT_VERSION
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


def postgres_table_ddl(table: str) -> str:
    """CREATE TABLE IF NOT EXISTS for the pipeline database's users table, one column per field: a row is an
    event, and change data capture turns each inserted row back into exactly that event."""
    columns = ",\n  ".join(
        f"{field.name} {field.type.sql_type}{' NOT NULL' if field.required else ''}" for field in EVENT_FIELDS
    )
    return f"CREATE TABLE IF NOT EXISTS {table} (\n  {columns},\n  PRIMARY KEY ({PRIMARY_KEY})\n);"
