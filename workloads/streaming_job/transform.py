"""The job's core: Kafka records in, typed events and dead letters out, duplicates removed.

Validation calls the contract's own `validate_event` (inside one Python UDF that also parses), so
the job accepts exactly what the producer is allowed to send: `from_json` would silently coerce a
number into a string field, drop unknown fields and accept `true` as an integer. The UDF is marked
non-deterministic so the optimiser cannot duplicate it below filters and run it twice per row.

De-duplication keys valid events by `event_id` and dead letters by their source offset, with the
watermark on the Kafka timestamp: the time the record reached the broker advances steadily even
when producers send old `event_time`s, so the watermark never makes a valid event "late".
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as sf
from pyspark.sql.types import DateType, StringType, StructField, StructType

from workloads.contract.events import EVENT_FIELDS, FieldType, ValidationError, validate_event
from workloads.streaming_job.schema import EVENT_DATE, event_schema

MAX_MESSAGE_BYTES = 64 * 1024
_EVENT_TIME_INDEX = [field.name for field in EVENT_FIELDS].index("event_time")

PARSED_SCHEMA = StructType(
    [
        StructField("event", event_schema()),
        StructField(EVENT_DATE, DateType()),
        StructField("error", StringType()),
    ]
)

ParsedRecord = tuple[tuple[Any, ...] | None, date | None, str | None]


def _typed(field_type: FieldType, value: Any) -> Any:
    """Convert one contract-valid JSON value to the Python value Spark stores for its type."""
    if value is None:
        return None
    if field_type is FieldType.TIMESTAMP:
        return datetime.fromisoformat(value)
    if field_type is FieldType.DOUBLE:
        return float(value)
    return value


def parse_event(value: bytes | None) -> ParsedRecord:
    """Parse and validate one Kafka value: (event tuple, UTC event date, None) or (None, None, reason)."""
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
    try:
        validate_event(document)
        event = tuple(_typed(field.type, document.get(field.name)) for field in EVENT_FIELDS)
    except ValidationError as error:
        return None, None, error.reason
    return event, event[_EVENT_TIME_INDEX].astimezone(UTC).date(), None


_parse_udf = sf.udf(parse_event, PARSED_SCHEMA).asNondeterministic()


def parse_records(kafka_records: DataFrame) -> DataFrame:
    """Kafka-source rows to: event (struct), event_date, error, raw, topic, partition, offset, kafka_timestamp."""
    parsed = kafka_records.select(
        _parse_udf(sf.col("value")).alias("parsed"),
        sf.col("value").cast("string").alias("raw"),
        "topic",
        "partition",
        "offset",
        sf.col("timestamp").alias("kafka_timestamp"),
    )
    return parsed.select("parsed.*", "raw", "topic", "partition", "offset", "kafka_timestamp")


def dedupe_key() -> Column:
    """Valid rows by event id; dead letters by source position, so distinct bad records never merge."""
    source_position = sf.concat_ws("/", sf.col("topic"), sf.col("partition"), sf.col("offset"))
    dead_letter_key = sf.concat(sf.lit("dead-letter:"), source_position)
    return sf.when(sf.col("error").isNull(), sf.col("event.event_id")).otherwise(dead_letter_key)


def deduplicate(parsed: DataFrame, watermark_delay: str) -> DataFrame:
    """Keep one row per event id (and per dead-letter source offset) within the watermark delay."""
    keyed = parsed.withColumn("dedupe_key", dedupe_key()).withWatermark("kafka_timestamp", watermark_delay)
    return keyed.dropDuplicatesWithinWatermark(["dedupe_key"]).drop("dedupe_key")


def transform(kafka_records: DataFrame, watermark_delay: str) -> DataFrame:
    """The streaming plan up to the sinks: parse, validate and de-duplicate."""
    return deduplicate(parse_records(kafka_records), watermark_delay)


def valid_events(batch: DataFrame, ingested_at: datetime) -> DataFrame:
    """Rows that passed validation: the contract's columns, ingested_at and event_date."""
    return batch.where(sf.col("error").isNull()).select(
        "event.*", sf.lit(ingested_at).alias("ingested_at"), sf.col(EVENT_DATE)
    )


def dead_letters(batch: DataFrame) -> DataFrame:
    """Rows that failed validation, in the dead-letter shape of docs/interfaces.md."""
    return batch.where(sf.col("error").isNotNull()).select(
        "raw", sf.col("error").alias("reason"), "topic", "partition", "offset"
    )


def dead_letter_json(letters: DataFrame) -> DataFrame:
    """Dead letters as Kafka records: key = source position, value = the JSON document."""
    return letters.select(
        sf.concat_ws("/", "topic", "partition", "offset").alias("key"),
        sf.to_json(sf.struct("raw", "reason", "topic", "partition", "offset")).alias("value"),
    )
