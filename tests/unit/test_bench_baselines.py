"""The transform benchmark compares like with like: on the benchmark's own records, the frozen previous UDF
(bench/previous_job.py) and the job's transform accept the same rows as the same events, reject the same
ones and hand the sinks the same columns."""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import SparkSession

from bench import previous_job
from bench.kafka_records import write_kafka_records
from workloads.streaming_job.schema import KAFKA_SOURCE_SCHEMA
from workloads.streaming_job.transform import parse_records, transform

ROWS = 400


def test_the_previous_udf_and_the_job_accept_the_same_events_on_the_benchmark_records(
    spark: SparkSession, tmp_path: Path
) -> None:
    write_kafka_records(tmp_path / "records", ROWS, invalid_fraction=0.25, seed=7)
    records = spark.read.schema(KAFKA_SOURCE_SCHEMA).parquet(str(tmp_path / "records"))

    ours = parse_records(records).select("event", "event_date", "partition", "offset", "error").collect()
    previous = (
        previous_job.parse_records(records).select("event", "event_date", "partition", "offset", "error").collect()
    )

    def accepted(rows: list) -> list:
        return sorted((row.partition, row.offset, row.event, row.event_date) for row in rows if row.error is None)

    def rejected(rows: list) -> list[tuple[int, int]]:
        return sorted((row.partition, row.offset) for row in rows if row.error is not None)

    assert len(ours) == len(previous) == ROWS
    assert accepted(ours) == accepted(previous)
    assert 50 < len(rejected(ours)) < 150  # about a quarter of the records break the contract
    assert rejected(ours) == rejected(previous)


def test_the_previous_udf_and_the_job_hand_the_sinks_the_same_columns(spark: SparkSession, tmp_path: Path) -> None:
    write_kafka_records(tmp_path / "records", 1, invalid_fraction=0.0)
    stream = spark.readStream.schema(KAFKA_SOURCE_SCHEMA).parquet(str(tmp_path / "records"))

    assert previous_job.transform(stream, "5 minutes").columns == transform(stream, "5 minutes").columns
