"""The streaming job's parse and micro-batch writer as they were before issue 11 (commit 96bd313), frozen
here as baselines: a row-at-a-time Python UDF with hand-written contract checks, and a `foreachBatch`
writer that counted the batch several times. Not used by the job; only `bench` imports this module."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as sf
from pyspark.sql.types import DateType, StringType, StructField, StructType

from workloads.contract import CONTRACT_VERSION, EVENT_FIELDS, FieldType
from workloads.streaming_job.schema import EVENT_DATE, event_schema
from workloads.streaming_job.transform import MAX_MESSAGE_BYTES, dead_letters, deduplicate, valid_events

_RANGES = {"latitude": (-90.0, 90.0), "longitude": (-180.0, 180.0), "age": (0, 150)}
_BY_NAME = {field.name: field for field in EVENT_FIELDS}
_EVENT_TIME_INDEX = [field.name for field in EVENT_FIELDS].index("event_time")
_PARSED = StructType(
    [StructField("event", event_schema()), StructField(EVENT_DATE, DateType()), StructField("error", StringType())]
)


def _problem(field: Any, value: Any) -> str | None:
    """The hand-written check of one present value, as the contract module had it."""
    if field.type is FieldType.STRING:
        if not isinstance(value, str):
            return f"{field.name}: expected string, got {type(value).__name__}"
        if field.required and not value:
            return f"{field.name}: must not be empty"
        if field.max_length is not None and len(value) > field.max_length:
            return f"{field.name}: longer than {field.max_length} characters"
    elif field.type is FieldType.INTEGER:
        if isinstance(value, bool) or not isinstance(value, int):
            return f"{field.name}: expected integer, got {type(value).__name__}"
        if not -(2**31) <= value <= 2**31 - 1:
            return f"{field.name}: {value} does not fit a 32-bit integer (CQL int)"
    elif field.type is FieldType.DOUBLE:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return f"{field.name}: expected finite number, got {value!r}"
    elif field.type is FieldType.TIMESTAMP:
        if not isinstance(value, str):
            return f"{field.name}: expected ISO-8601 timestamp string, got {type(value).__name__}"
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return f"{field.name}: not an ISO-8601 timestamp: {value!r}"
        if parsed.tzinfo is None:
            return f"{field.name}: timestamp needs a UTC offset: {value!r}"
    bounds = _RANGES.get(field.name)
    if bounds is not None and not bounds[0] <= value <= bounds[1]:
        return f"{field.name}: {value!r} outside {bounds[0]}..{bounds[1]}"
    return None


def _validate(event: dict[str, Any]) -> str | None:
    unknown = sorted(set(event) - set(_BY_NAME))
    if unknown:
        return f"unknown field(s): {', '.join(unknown)}"
    for field in EVENT_FIELDS:
        value = event.get(field.name)
        if value is None:
            if field.required:
                return f"{field.name}: required field missing"
            continue
        if problem := _problem(field, value):
            return problem
    if event["schema_version"] != CONTRACT_VERSION:
        return f"schema_version: expected {CONTRACT_VERSION}, got {event['schema_version']}"
    return None


def _typed(field_type: FieldType, value: Any) -> Any:
    if value is None:
        return None
    if field_type is FieldType.TIMESTAMP:
        return datetime.fromisoformat(value)
    return float(value) if field_type is FieldType.DOUBLE else value


def parse_event(value: bytes | None) -> tuple[Any, Any, str | None]:
    if value is None:
        return None, None, "empty message"
    if len(value) > MAX_MESSAGE_BYTES:
        return None, None, f"message of {len(value)} bytes exceeds {MAX_MESSAGE_BYTES}"
    try:
        document = json.loads(value)
    except (UnicodeDecodeError, ValueError) as error:
        return None, None, f"malformed JSON: {error}"
    if not isinstance(document, dict):
        return None, None, f"expected a JSON object, got {type(document).__name__}"
    if problem := _validate(document):
        return None, None, problem
    event = tuple(_typed(field.type, document.get(field.name)) for field in EVENT_FIELDS)
    return event, event[_EVENT_TIME_INDEX].astimezone(UTC).date(), None


_parse_udf = sf.udf(parse_event, _PARSED).asNondeterministic()


def parse_records(kafka_records: DataFrame) -> DataFrame:
    parsed = kafka_records.select(
        _parse_udf(sf.col("value")).alias("parsed"),
        sf.col("value").cast("string").alias("raw"),
        "topic",
        "partition",
        "offset",
        sf.col("timestamp").alias("kafka_timestamp"),
    )
    return parsed.select("parsed.*", "raw", "topic", "partition", "offset", "kafka_timestamp")


def transform(kafka_records: DataFrame, watermark_delay: str) -> DataFrame:
    """The UDF's parse, then the de-duplication the job had then and still has."""
    return deduplicate(parse_records(kafka_records), watermark_delay)


def write_batch(
    batch: DataFrame, batch_id: int, event_sinks: dict[str, Callable[[DataFrame, int], None]]
) -> dict[str, int]:
    """The old `BatchWriter.__call__`: counts the batch and the letters, then every Parquet-style sink
    counted its events again after writing."""
    batch.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        events = valid_events(batch, datetime.now(UTC))
        letters = dead_letters(batch)
        rows = batch.count()
        dead_lettered = letters.count()
        written = dict.fromkeys(event_sinks, 0)
        if rows > dead_lettered:
            for name, write in event_sinks.items():
                write(events, batch_id)
                written[name] = events.count()
        return written
    finally:
        batch.unpersist()
