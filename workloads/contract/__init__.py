"""The user event contract shared by the producer, the streaming job and the infrastructure."""

from workloads.contract.events import (
    CONTRACT_VERSION,
    EVENT_FIELDS,
    PRIMARY_KEY,
    Field,
    FieldType,
    UserEvent,
    ValidationError,
    cassandra_table_ddl,
    decode_event,
    decoder,
    encode_event,
    json_schema,
    postgres_table_ddl,
    reason,
    validate_event,
)

__all__ = [
    "CONTRACT_VERSION",
    "EVENT_FIELDS",
    "PRIMARY_KEY",
    "Field",
    "FieldType",
    "UserEvent",
    "ValidationError",
    "cassandra_table_ddl",
    "decode_event",
    "decoder",
    "encode_event",
    "json_schema",
    "postgres_table_ddl",
    "reason",
    "validate_event",
]
