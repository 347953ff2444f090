"""The streaming job's routing on real DataFrames (pyspark local[1], no servers): which rows are events
and which dead letters, the de-duplication key and watermark, the shape of the dead-letter records,
and the Kafka source options. The Kafka connector itself cannot run here, so its two edges (the
source and the dead-letter writer) are checked on the DataFrame side."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pyspark.sql import DataFrame, SparkSession

from tests.unit.test_contract import valid_event
from workloads.streaming_job.batch_writer import BatchWriter, count_rows_and_dead_letters
from workloads.streaming_job.config import parse_config
from workloads.streaming_job.progress import OffsetCommitter
from workloads.streaming_job.schema import KAFKA_SOURCE_SCHEMA
from workloads.streaming_job.session import NO_DATA_BATCHES, read_kafka, spark_conf
from workloads.streaming_job.transform import (
    dead_letter_json,
    dead_letters,
    dedupe_key,
    deduplicate,
    parse_records,
    valid_events,
)

ARRIVED = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
T = TypeVar("T")


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    os.environ["PYSPARK_PYTHON"] = sys.executable  # the Python workers decode with this venv's msgspec
    session = (
        SparkSession.builder.master("local[1]")
        .appName("streamstack-routing-tests")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    yield session
    session.stop()


def kafka_records(spark: SparkSession, values: list[bytes | None], topic: str = "clicks") -> DataFrame:
    rows = [(b"key", value, topic, 2, 40 + offset, ARRIVED, 0) for offset, value in enumerate(values)]
    return spark.createDataFrame(rows, KAFKA_SOURCE_SCHEMA)


def encoded(**overrides: Any) -> bytes:
    return json.dumps(valid_event(**overrides)).encode()


def test_valid_rows_become_events_and_invalid_ones_dead_letters_with_their_reason(spark: SparkSession) -> None:
    batch = parse_records(kafka_records(spark, [encoded(event_id="e-1"), b"{not json", encoded(age="30")]))
    events = valid_events(batch, ARRIVED).collect()
    letters = dead_letters(batch).orderBy("offset").collect()

    assert [(row.event_id, row.ingested_at, row.event_date) for row in events] == [
        ("e-1", ARRIVED.replace(tzinfo=None), date(2024, 5, 1))
    ]
    assert [(row.raw, row.topic, row.partition, row.offset) for row in letters] == [
        ("{not json", "clicks", 2, 41),
        (encoded(age="30").decode(), "clicks", 2, 42),
    ]
    assert letters[0].reason.startswith("malformed JSON")
    assert letters[1].reason == "age: expected `int | null`, got `str`"


def test_events_are_keyed_by_id_and_dead_letters_by_their_source_position(spark: SparkSession) -> None:
    batch = parse_records(kafka_records(spark, [encoded(event_id="e-7"), b"oops"], topic="orders"))
    keys = [row.key for row in batch.select(dedupe_key().alias("key"), "offset").orderBy("offset").collect()]
    assert keys == ["e-7", "dead-letter:orders/2/41"]


def kafka_stream(spark: SparkSession, values: list[bytes | None], directory: Path) -> DataFrame:
    """The same records as a streaming source: de-duplication within a watermark is streaming-only."""
    kafka_records(spark, values).write.parquet(str(directory / "source"))
    return spark.readStream.schema(KAFKA_SOURCE_SCHEMA).parquet(str(directory / "source"))


def deduplicated_batches(
    spark: SparkSession, values: list[bytes | None], directory: Path, read: Callable[[DataFrame], T]
) -> list[tuple[int, T]]:
    """(batch id, `read` of the batch) for every `foreachBatch` call while the job's parse and de-duplication
    read all the records there are."""
    seen: list[tuple[int, T]] = []
    query = (
        deduplicate(parse_records(kafka_stream(spark, values, directory)), "1 hour")
        .writeStream.foreachBatch(lambda frame, batch_id: seen.append((batch_id, read(frame))))
        .option("checkpointLocation", str(directory / "checkpoint"))
        .trigger(availableNow=True)
        .start()
    )
    query.awaitTermination(120)
    return seen


def test_duplicates_collapse_by_event_id_while_distinct_bad_records_stay_apart(
    spark: SparkSession, tmp_path: Path
) -> None:
    values = [encoded(event_id="same"), encoded(event_id="same"), encoded(event_id="other"), b"bad", b"bad"]
    batches = deduplicated_batches(spark, values, tmp_path, DataFrame.collect)
    rows = sorted((row for _batch_id, kept in batches for row in kept), key=lambda row: row.offset)
    assert [(row.event.event_id, row.offset) for row in rows if row.error is None] == [("same", 40), ("other", 42)]
    assert [row.offset for row in rows if row.error is not None] == [43, 44]  # same bytes, two records


def test_spark_follows_a_data_batch_with_an_empty_one_unless_the_job_turns_that_off(
    spark: SparkSession, tmp_path: Path
) -> None:
    values = [encoded(event_id="first"), encoded(event_id="second"), b"bad"]
    job = spark_conf(
        parse_config(
            [], {"KAFKA_BOOTSTRAP_SERVERS": "k:9092", "EVENTS_TOPIC": "e", "SINKS": "hdfs", "HDFS_URL": "hdfs://nn"}
        )
    )
    spark_default = spark._jvm.org.apache.spark.sql.internal.SQLConf.STREAMING_NO_DATA_MICRO_BATCHES_ENABLED()
    earlier = spark.conf.get(NO_DATA_BATCHES, None)  # the session may be shared with tests that set it

    assert spark_default.defaultValueString() == "true"
    try:
        spark.conf.set(NO_DATA_BATCHES, spark_default.defaultValueString())
        assert deduplicated_batches(spark, values, tmp_path / "spark-default", DataFrame.count) == [(0, 3), (1, 0)]
        spark.conf.set(NO_DATA_BATCHES, job[NO_DATA_BATCHES])
        assert deduplicated_batches(spark, values, tmp_path / "job", DataFrame.count) == [(0, 3)]
    finally:
        if earlier is None:
            spark.conf.unset(NO_DATA_BATCHES)
        else:
            spark.conf.set(NO_DATA_BATCHES, earlier)


def test_the_watermark_is_the_kafka_timestamp_with_the_configured_delay(spark: SparkSession, tmp_path: Path) -> None:
    stream = kafka_stream(spark, [encoded()], tmp_path)
    logical = deduplicate(parse_records(stream), "90 minutes")._jdf.queryExecution().logical().toString()
    assert "EventTimeWatermark kafka_timestamp" in logical
    assert re.search(r"kafka_timestamp#\d+-T5400000ms", logical)  # the watermark column, delayed 90 minutes


def test_a_dead_letter_record_is_keyed_by_position_and_carries_the_reason(spark: SparkSession) -> None:
    letters = dead_letters(parse_records(kafka_records(spark, [b"[1]"], topic="orders")))
    (record,) = dead_letter_json(letters).collect()
    assert record.key == "orders/2/40"
    assert json.loads(record.value) == {
        "raw": "[1]",
        "reason": "expected a JSON object, got array",
        "topic": "orders",
        "partition": 2,
        "offset": 40,
    }


class _Recorder:
    """Stands in for an event or dead-letter sink: keeps what it was given."""

    def __init__(self) -> None:
        self.batches: list[tuple[list[Any], int]] = []

    def __call__(self, frame: DataFrame, batch_id: int) -> None:
        self.batches.append((frame.collect(), batch_id))


def test_the_batch_writer_sends_events_to_event_sinks_and_letters_to_letter_sinks(spark: SparkSession) -> None:
    events, letters = _Recorder(), _Recorder()
    writer = BatchWriter({"cassandra": events}, {"kafka": letters})
    batch = parse_records(kafka_records(spark, [encoded(event_id="a"), encoded(event_id="b"), b"x"]))

    writer(batch, 9)

    assert [row.event_id for row in events.batches[0][0]] == ["a", "b"]
    assert [row.raw for row in letters.batches[0][0]] == ["x"]
    assert (events.batches[0][1], letters.batches[0][1]) == (9, 9)
    report = writer.last_report
    assert report is not None
    assert (report.rows, report.valid, report.dead_lettered) == (3, 2, 1)
    assert report.written == {"cassandra": 2, "dead_letters.kafka": 1}


def test_a_batch_of_only_dead_letters_writes_no_events(spark: SparkSession) -> None:
    events, letters = _Recorder(), _Recorder()
    BatchWriter({"s3": events}, {"kafka": letters})(parse_records(kafka_records(spark, [b"x", b"y"])), 3)
    assert events.batches == []
    assert len(letters.batches[0][0]) == 2


class _RecordingReader:
    """The builder `spark.readStream` returns, recording the source and options the job sets."""

    def __init__(self) -> None:
        self.source = ""
        self.options: dict[str, str] = {}

    @property
    def readStream(self) -> _RecordingReader:  # noqa: N802 (pyspark's name)
        return self

    def format(self, source: str) -> _RecordingReader:
        self.source = source
        return self

    def option(self, key: str, value: str) -> _RecordingReader:
        self.options[key] = value
        return self

    def load(self) -> str:
        return "loaded"


def test_the_kafka_source_reads_the_configured_topic_from_its_start_within_the_batch_bound() -> None:
    environ = {
        "KAFKA_BOOTSTRAP_SERVERS": "kafka-0:9092,kafka-1:9092",
        "EVENTS_TOPIC": "clicks",
        "SINKS": "hdfs",
        "HDFS_URL": "hdfs://nn:8020",
        "MAX_OFFSETS_PER_TRIGGER": "3333",
    }
    reader = _RecordingReader()
    assert read_kafka(reader, parse_config([], environ)) == "loaded"  # type: ignore[arg-type]
    assert (reader.source, reader.options) == (
        "kafka",
        {
            "kafka.bootstrap.servers": "kafka-0:9092,kafka-1:9092",
            "subscribe": "clicks",
            "startingOffsets": "earliest",
            "maxOffsetsPerTrigger": "3333",
        },
    )


def spark_jobs(spark: SparkSession, group: str, action: Callable[[], object]) -> int:
    """How many Spark jobs `action` starts."""
    spark.sparkContext.setJobGroup(group, group)
    try:
        action()
    finally:
        spark.sparkContext.setLocalProperty("spark.jobGroup.id", None)
    return len(spark.sparkContext.statusTracker().getJobIdsForGroup(group))


def test_the_batch_is_counted_in_one_action_and_each_sink_reads_it_once(spark: SparkSession) -> None:
    values = [encoded(event_id="a"), b"x", encoded(event_id="c")]
    events, more_events, letters = _Recorder(), _Recorder(), _Recorder()
    writer = BatchWriter({"cassandra": events, "s3": more_events}, {"kafka": letters})
    reference = parse_records(kafka_records(spark, values)).persist()
    one_count = spark_jobs(spark, "reference", lambda: count_rows_and_dead_letters(reference))
    reference.unpersist()

    jobs = spark_jobs(spark, "one-batch", lambda: writer(parse_records(kafka_records(spark, values)), 4))

    assert jobs == one_count + 3  # each _Recorder collects once: nothing else counts or reads the batch
    assert [len(sink.batches) for sink in (events, more_events, letters)] == [1, 1, 1]
    assert writer.last_report is not None
    assert writer.last_report.written == {"cassandra": 2, "s3": 2, "dead_letters.kafka": 1}


class _CountingCommitter(OffsetCommitter):
    """The job's listener, counting the progress events Spark hands it (through py4j's callback server)."""

    def __init__(self) -> None:
        self.commits: list[list[tuple[str, int, int]]] = []
        super().__init__(lambda positions: self.commits.append([(p.topic, p.partition, p.offset) for p in positions]))
        self.progress_events = 0

    def onQueryProgress(self, event: Any) -> None:  # noqa: N802 (pyspark's listener interface)
        self.progress_events += 1
        super().onQueryProgress(event)


def test_the_progress_listener_hears_each_micro_batch_and_commits_nothing_for_a_file_source(
    spark: SparkSession, tmp_path: Path
) -> None:
    source = tmp_path / "records"
    kafka_records(spark, [encoded(event_id="a")]).write.parquet(str(source))
    listener = _CountingCommitter()
    spark.streams.addListener(listener)
    try:
        query = (
            spark.readStream.schema(KAFKA_SOURCE_SCHEMA).parquet(str(source))
            .writeStream.format("noop").option("checkpointLocation", str(tmp_path / "checkpoint"))
            .trigger(availableNow=True).start()
        )  # fmt: skip
        query.awaitTermination()
        deadline = time.monotonic() + 10  # listener events arrive asynchronously
        while listener.progress_events == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        spark.streams.removeListener(listener)
    assert listener.progress_events >= 1
    assert listener.commits == []
