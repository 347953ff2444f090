"""Spark types derived from the event contract, so the job cannot drift from the producer.

Nothing here lists event fields: every struct is built from `EVENT_FIELDS`, and adding a field to
the contract adds it to the parsed events, the Parquet files and the Cassandra writes.
"""

from __future__ import annotations

from pyspark.sql.types import (
    BinaryType,
    DataType,
    DoubleType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from workloads.contract.events import EVENT_FIELDS, FieldType

SPARK_TYPES: dict[FieldType, DataType] = {
    FieldType.STRING: StringType(),
    FieldType.INTEGER: IntegerType(),  # CQL int: 32 bits
    FieldType.DOUBLE: DoubleType(),
    FieldType.TIMESTAMP: TimestampType(),
}

INGESTED_AT = "ingested_at"
EVENT_DATE = "event_date"

# Columns of Spark's Kafka source, which the transformation takes as its input.
KAFKA_SOURCE_SCHEMA = StructType(
    [
        StructField("key", BinaryType()),
        StructField("value", BinaryType()),
        StructField("topic", StringType()),
        StructField("partition", IntegerType()),
        StructField("offset", LongType()),
        StructField("timestamp", TimestampType()),
        StructField("timestampType", IntegerType()),
    ]
)


def event_schema() -> StructType:
    """The contract's fields as Spark columns; required ones are still nullable until validated."""
    return StructType([StructField(field.name, SPARK_TYPES[field.type]) for field in EVENT_FIELDS])


def event_column_names() -> list[str]:
    return [field.name for field in EVENT_FIELDS]


def timestamp_column_names() -> list[str]:
    return [field.name for field in EVENT_FIELDS if field.type is FieldType.TIMESTAMP]
