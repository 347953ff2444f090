"""The streaming job end to end in pyspark local[2], against real Cassandra, S3 (moto) and HDFS.

The Kafka connector is not obtainable here, so the query reads Kafka-shaped records from Parquet
files (one file per micro-batch) through Spark's file source; everything after the source is the
production code path: transform, foreachBatch writer, sinks, checkpoint on HDFS.
"""

from __future__ import annotations

import io
import json
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.errors import StreamingQueryException
from pyspark.sql import DataFrame, SparkSession

from tests.fixtures.cassandra import CassandraServer
from tests.fixtures.hdfs import HdfsServer
from tests.fixtures.s3 import S3Server
from tests.fixtures.spark import KAFKA_SOURCE_ARROW_SCHEMA
from workloads.contract.events import EVENT_FIELDS, FieldType, cassandra_table_ddl
from workloads.streaming_job.batch_writer import BatchWriter, batch_writer_from_config
from workloads.streaming_job.config import JobConfig, parse_config
from workloads.streaming_job.main import run_with_restarts
from workloads.streaming_job.schema import KAFKA_SOURCE_SCHEMA
from workloads.streaming_job.session import apply_runtime_conf, start_query
from workloads.streaming_job.transform import MAX_MESSAGE_BYTES, parse_records

pytestmark = pytest.mark.integration

TOPIC = "events"
TABLE = "events"
_TIMESTAMPS = [field.name for field in EVENT_FIELDS if field.type is FieldType.TIMESTAMP]


def event(number: int, **changes: Any) -> dict[str, Any]:
    """A contract-valid event; optional fields are left out for every third number."""
    document: dict[str, Any] = {
        "event_id": f"evt-{number:05d}",
        # 23:30 at UTC-2 is the next day in UTC: event_date must follow UTC.
        "event_time": f"2024-05-0{1 + number % 2}T23:30:00.250-02:00",
        "schema_version": 1,
        "user_id": f"user-{number}",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email_hash": f"{number:064x}",
        "country": "United Kingdom",
        "source": "synthetic",
    }
    if number % 3:
        document |= {
            "username": f"ada{number}",
            "gender": "female",
            "city": "London",
            "nationality": "GB",
            "latitude": 51.5 + number / 1000,
            "longitude": -0.125,
            "age": 20 + number % 50,
            "registered_at": "2019-03-04T05:06:07+01:00",
        }
    return document | changes


def encode(document: dict[str, Any]) -> bytes:
    return json.dumps(document).encode()


def expected_row(document: dict[str, Any]) -> dict[str, Any]:
    """What Cassandra returns for a valid event: naive UTC datetimes, floats for doubles, None when absent."""
    row = {field.name: document.get(field.name) for field in EVENT_FIELDS}
    for name in _TIMESTAMPS:
        if row[name] is not None:
            row[name] = datetime.fromisoformat(row[name]).astimezone(UTC).replace(tzinfo=None)
    for field in EVENT_FIELDS:
        if field.type is FieldType.DOUBLE and row[field.name] is not None:
            row[field.name] = float(row[field.name])
    return row


class KafkaFiles:
    """Writes Kafka-shaped records as one Parquet file per micro-batch, offsets continuing across files."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True)
        self.next_offset = 0
        self.files = 0

    def add_batch(self, values: list[bytes | None]) -> list[int]:
        offsets = list(range(self.next_offset, self.next_offset + len(values)))
        self.next_offset += len(values)
        now = datetime.now(UTC)
        table = pa.table(
            {
                "key": [None] * len(values),
                "value": values,
                "topic": [TOPIC] * len(values),
                "partition": [0] * len(values),
                "offset": offsets,
                "timestamp": [now] * len(values),
                "timestampType": [0] * len(values),
            },
            schema=KAFKA_SOURCE_ARROW_SCHEMA,
        )
        pq.write_table(table, self.directory / f"batch-{self.files:04d}.parquet")
        self.files += 1
        return offsets

    def stream(self, spark: SparkSession) -> DataFrame:
        return spark.readStream.schema(KAFKA_SOURCE_SCHEMA).option("maxFilesPerTrigger", 1).parquet(str(self.directory))


@dataclass
class Stack:
    spark: SparkSession
    config: JobConfig
    cassandra: CassandraServer
    s3: S3Server
    source: KafkaFiles

    def writer(self) -> BatchWriter:
        return batch_writer_from_config(self.config)

    def run_until_caught_up(self, writer: BatchWriter | None = None) -> None:
        """Start the query from the checkpoint, process every file present, stop."""
        query = start_query(self.source.stream(self.spark), self.config, writer or self.writer())
        try:
            query.processAllAvailable()
        finally:
            query.stop()

    def cassandra_rows(self) -> list[dict[str, Any]]:
        assert self.config.cassandra is not None
        cluster, session = self.cassandra.connect(self.config.cassandra.keyspace)
        try:
            return [row._asdict() for row in session.execute(f"SELECT * FROM {TABLE}")]
        finally:
            cluster.shutdown()

    def s3_objects(self, prefix: str) -> dict[str, pa.Table]:
        assert self.config.s3 is not None
        client = self.s3.client()
        listing = client.list_objects_v2(Bucket=self.config.s3.bucket, Prefix=prefix)
        return {
            item["Key"]: pq.read_table(
                io.BytesIO(client.get_object(Bucket=self.config.s3.bucket, Key=item["Key"])["Body"].read())
            )
            for item in listing.get("Contents", [])
            if item["Key"].endswith(".parquet")
        }

    def s3_event_ids(self) -> list[str]:
        tables = self.s3_objects("events/").values()
        return sorted(event_id for table in tables for event_id in table.column("event_id").to_pylist())

    def hdfs_event_ids(self) -> list[str]:
        assert self.config.hdfs_events_path is not None
        frame = self.spark.read.parquet(self.config.hdfs_events_path)
        return sorted(row.event_id for row in frame.select("event_id").collect())

    def dead_letters(self) -> dict[int, str]:
        """Reason of every dead letter in S3, by source offset."""
        reasons = {}
        for table in self.s3_objects("dead_letters/").values():
            reasons |= dict(zip(table.column("offset").to_pylist(), table.column("reason").to_pylist(), strict=True))
        return reasons


@pytest.fixture
def stack(
    *,
    spark: SparkSession,
    cassandra_server: CassandraServer,
    cassandra_keyspace: str,
    s3_server: S3Server,
    s3_bucket: str,
    hdfs_server: HdfsServer,
    tmp_path: Path,
) -> Iterator[Stack]:
    """The job configured, through its own environment interface, for this test's keyspace, bucket and HDFS dir."""
    cluster, session = cassandra_server.connect()
    session.execute(cassandra_table_ddl(cassandra_keyspace, TABLE))
    cluster.shutdown()
    environ = {
        "KAFKA_BOOTSTRAP_SERVERS": "unused:9092",
        "EVENTS_TOPIC": TOPIC,
        "SINKS": "cassandra,s3,hdfs",
        "CASSANDRA_HOSTS": cassandra_server.host,
        "CASSANDRA_PORT": str(cassandra_server.port),
        "CASSANDRA_KEYSPACE": cassandra_keyspace,
        "CASSANDRA_TABLE": TABLE,
        "CASSANDRA_USERNAME": cassandra_server.username,
        "CASSANDRA_PASSWORD": cassandra_server.password,
        "S3_ENDPOINT": s3_server.endpoint,
        "S3_BUCKET": s3_bucket,
        "S3_ACCESS_KEY": s3_server.access_key,
        "S3_SECRET_KEY": s3_server.secret_key,
        "HDFS_URL": f"{hdfs_server.url}/{uuid.uuid4().hex[:12]}",
        "TRIGGER_INTERVAL": "0 seconds",
        "SHUFFLE_PARTITIONS": "2",
    }
    config = parse_config([], environ)
    apply_runtime_conf(spark, config)
    yield Stack(spark, config, cassandra_server, s3_server, KafkaFiles(tmp_path / "kafka"))


def test_valid_events_land_in_every_sink_with_their_values_and_types(stack: Stack) -> None:
    documents = [event(number) for number in range(12)]
    stack.source.add_batch([encode(document) for document in documents[:7]])
    stack.source.add_batch([encode(document) for document in documents[7:]])

    stack.run_until_caught_up()

    rows = {row.pop("event_id"): row for row in stack.cassandra_rows()}
    assert sorted(rows) == sorted(document["event_id"] for document in documents)
    for document in documents:
        expected = expected_row(document)
        ingested_at = rows[document["event_id"]].pop("ingested_at")
        assert isinstance(ingested_at, datetime)
        assert rows[document["event_id"]] == {name: value for name, value in expected.items() if name != "event_id"}

    s3_files = stack.s3_objects("events/")
    by_date = {key.split("/")[1]: table for key, table in s3_files.items()}
    assert set(by_date) == {"event_date=2024-05-02", "event_date=2024-05-03"}
    assert all(key.split("/")[2].startswith("batch-") for key in s3_files)
    s3_rows = {row["event_id"]: row for table in s3_files.values() for row in table.to_pylist()}
    sample = documents[1]
    assert s3_rows[sample["event_id"]]["event_time"] == datetime(2024, 5, 3, 1, 30, 0, 250000, tzinfo=UTC)
    assert s3_rows[sample["event_id"]]["age"] == sample["age"]
    assert s3_rows[sample["event_id"]]["latitude"] == sample["latitude"]
    assert s3_rows[documents[0]["event_id"]]["username"] is None
    schema = next(iter(s3_files.values())).schema
    assert schema.field("age").type == pa.int32()
    assert schema.field("latitude").type == pa.float64()
    assert schema.field("event_time").type == pa.timestamp("us", tz="UTC")

    assert stack.hdfs_event_ids() == sorted(rows)
    hdfs_row = (
        stack.spark.read.parquet(stack.config.hdfs_events_path).where(f"event_id = '{sample['event_id']}'").first()
    )
    assert str(hdfs_row.event_date) == "2024-05-03"
    assert hdfs_row.city == "London"


def test_invalid_records_become_dead_letters_and_duplicates_are_dropped(stack: Stack) -> None:
    too_long = "x" * 129
    offsets = stack.source.add_batch(
        [
            encode(event(1)),
            b'{"event_id": "broken",',
            encode({key: value for key, value in event(2).items() if key != "country"}),
            encode(event(3, age="thirty")),
            encode(event(4, first_name=too_long)),
            encode(event(5, city="y" * MAX_MESSAGE_BYTES)),
            encode(event(1)),  # duplicate id in the same batch
            encode(event(6, schema_version=2)),
            None,
        ]
    )
    later = stack.source.add_batch([encode(event(1)), encode(event(7))])  # a duplicate across batches

    stack.run_until_caught_up()

    assert sorted(row["event_id"] for row in stack.cassandra_rows()) == ["evt-00001", "evt-00007"]
    assert stack.s3_event_ids() == ["evt-00001", "evt-00007"]
    assert stack.hdfs_event_ids() == ["evt-00001", "evt-00007"]
    reasons = stack.dead_letters()
    assert sorted(reasons) == [offsets[index] for index in (1, 2, 3, 4, 5, 7, 8)]
    assert reasons[offsets[1]].startswith("malformed JSON")
    assert reasons[offsets[2]] == "country: required field missing"
    assert reasons[offsets[3]] == "age: expected `int | null`, got `str`"
    assert reasons[offsets[4]] == "first_name: expected `str` of length <= 128"
    assert reasons[offsets[5]].endswith(f"exceeds {MAX_MESSAGE_BYTES}")
    assert reasons[offsets[7]] == "schema_version: expected `int` <= 1"
    assert reasons[offsets[8]] == "empty message"
    assert later[1] not in reasons


def test_replaying_a_batch_id_writes_each_row_once(stack: Stack) -> None:
    documents = [event(number) for number in range(20)]
    values = [encode(document) for document in documents]
    batch = parse_records(
        stack.spark.createDataFrame(
            [(None, value, TOPIC, 0, offset, datetime.now(UTC), 0) for offset, value in enumerate(values)],
            KAFKA_SOURCE_SCHEMA,
        )
    )
    writer = stack.writer()

    writer(batch, 5)
    first_files = set(stack.s3_objects("events/"))
    writer(batch, 5)

    distinct = sorted(document["event_id"] for document in documents)
    assert sorted(row["event_id"] for row in stack.cassandra_rows()) == distinct
    assert stack.s3_event_ids() == distinct
    assert stack.hdfs_event_ids() == distinct
    assert writer.last_report is not None
    assert writer.last_report.written == {"cassandra": 20, "s3": 20, "hdfs": 20}
    assert all("/batch-5-" in key for key in first_files)


def test_restart_from_the_checkpoint_loses_nothing_and_duplicates_nothing(stack: Stack) -> None:
    stack.source.add_batch([encode(event(number)) for number in range(10)])
    stack.run_until_caught_up()
    stack.source.add_batch([encode(event(number)) for number in range(5, 15)])  # 5..9 were sent before
    stack.source.add_batch([encode(event(number)) for number in range(15, 18)])

    stack.run_until_caught_up()

    distinct = [f"evt-{number:05d}" for number in range(18)]
    assert sorted(row["event_id"] for row in stack.cassandra_rows()) == distinct
    assert stack.s3_event_ids() == distinct
    assert stack.hdfs_event_ids() == distinct


def test_a_batch_failing_while_cassandra_is_down_is_replayed_after_recovery(stack: Stack) -> None:
    stack.source.add_batch([encode(event(number)) for number in range(6)])
    stack.run_until_caught_up()
    stack.source.add_batch([encode(event(number)) for number in range(6, 12)])

    stack.cassandra.pause()
    try:
        with pytest.raises(StreamingQueryException, match=r"OperationTimedOut|NoHostAvailable"):
            stack.run_until_caught_up()
    finally:
        stack.cassandra.resume()
    stack.run_until_caught_up()

    distinct = [f"evt-{number:05d}" for number in range(12)]
    assert sorted(row["event_id"] for row in stack.cassandra_rows()) == distinct
    assert stack.s3_event_ids() == distinct
    assert stack.hdfs_event_ids() == distinct


def test_the_job_restarts_a_failed_query_from_its_checkpoint_once_the_sink_is_back(stack: Stack) -> None:
    stack.source.add_batch([encode(event(number)) for number in range(4)])
    stack.run_until_caught_up()
    stack.source.add_batch([encode(event(number)) for number in range(4, 9)])
    writer = stack.writer()
    backoffs: list[float] = []

    def recover_during_backoff(seconds: float) -> None:
        backoffs.append(seconds)
        stack.cassandra.resume()

    def terminate_once_a_batch_is_written() -> None:
        deadline = time.monotonic() + 180
        # Wait for a batch that wrote rows, not merely any report.
        while (writer.last_report is None or writer.last_report.valid == 0) and time.monotonic() < deadline:
            time.sleep(0.5)
        stack.cassandra.resume()
        os.kill(os.getpid(), signal.SIGTERM)

    stack.cassandra.pause()
    threading.Thread(target=terminate_once_a_batch_is_written, daemon=True).start()
    run_with_restarts(
        lambda: start_query(stack.source.stream(stack.spark), stack.config, writer),
        writer,
        health_file=None,
        sleep=recover_during_backoff,
    )

    assert backoffs == [2]
    distinct = [f"evt-{number:05d}" for number in range(9)]
    assert sorted(row["event_id"] for row in stack.cassandra_rows()) == distinct
    assert stack.s3_event_ids() == distinct
    assert stack.hdfs_event_ids() == distinct
