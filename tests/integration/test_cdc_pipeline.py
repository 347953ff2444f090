"""The deployment's own change data capture on real servers, end to end: the pipeline database's init SQL,
the producer's `--sink postgres`, the deployment's Debezium connector applied by `python -m workloads.connect`
to a real Connect worker, the Tansu broker, then the streaming job's parse and de-duplication of what arrived.

Debezium delivers at least once: a connector whose committed offsets are gone (a worker killed before its
offset flush, an operator resetting it) sends rows again. Resetting the offsets (KIP-875) makes that happen on
purpose here; the job's de-duplication by event id leaves one row per event.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import msgspec
import pyarrow.parquet as pq
import pytest
from confluent_kafka import Message
from psycopg import sql

from components.kafka_connect import cdc_connector_config
from components.pipeline_database import DatabaseAddress, init_sql
from components.settings import CDC_CONNECTOR, PIPELINE_DB_PASSWORD_ENV
from tests.fixtures.kafka_broker import KafkaBroker
from tests.fixtures.kafka_connect import KafkaConnect
from tests.fixtures.postgres import PostgresServer
from tests.fixtures.spark import kafka_source_table
from tools.status import connector_states
from workloads.connect.apply import EXIT_OK, EXIT_REFUSED
from workloads.connect.apply import main as apply_connectors
from workloads.contract import UserEvent, decode_event
from workloads.streaming_job.schema import KAFKA_SOURCE_SCHEMA
from workloads.streaming_job.transform import transform

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


@dataclass
class CdcPipeline:
    """One test's table, publication (= slot) and events topic, and the worker its connector runs on."""

    postgres: PostgresServer
    broker: KafkaBroker
    worker: KafkaConnect
    table: str
    publication: str
    topic: str

    def connector(self) -> dict[str, str]:
        """The deployment's connector config, pointed at the test's servers and names."""
        source = DatabaseAddress(
            "127.0.0.1",
            self.postgres.port,
            self.postgres.dbname,
            self.postgres.user,
            self.table,
            self.publication,
            "unused: the worker resolves the password from its environment",
        )
        return cdc_connector_config(source, self.topic)

    def apply(self, connectors: dict[str, dict[str, str]]) -> int:
        arguments = ["--url", self.worker.url, "--connectors", json.dumps(connectors), "--timeout", "120"]
        return apply_connectors(arguments, {})

    def produce(self, count: int, seed: int) -> None:
        """The producer's command line, as the deployment runs it with `ingestion: cdc`."""
        environment = {
            "PYTHONPATH": str(REPO),
            "PATH": "/usr/bin:/bin",
            "PSEUDONYM_KEY": "cdc-test-key",
            "PRODUCER_SINK": "postgres",
            "PIPELINE_DB_HOST": "127.0.0.1",
            "PIPELINE_DB_PORT": str(self.postgres.port),
            "PIPELINE_DB_NAME": self.postgres.dbname,
            "PIPELINE_DB_USER": self.postgres.user,
            "PIPELINE_DB_TABLE": self.table,
            "PIPELINE_DB_PASSWORD": self.postgres.password,
        }
        command = [sys.executable, "-m", "workloads.producer", "--source", "synthetic", "--seed", str(seed)]
        command += ["--count", str(count), "--events-per-second", "2000"]
        result = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, result.stderr[-2000:]
        assert self.postgres.password not in result.stderr

    def stored_events(self) -> dict[str, UserEvent]:
        """The table's rows as contract events, by event id."""
        with self.postgres.connect() as connection:
            rows = connection.execute(sql.SQL("SELECT row_to_json(u) FROM {} u").format(sql.Identifier(self.table)))
            events = [msgspec.convert(row, UserEvent) for (row,) in rows]
        return {event.event_id: event for event in events}

    def received(self, expected: int) -> list[Message]:
        return self.broker.consume_all(self.topic, expected=expected, extra_wait_s=3.0, deadline_s=120)


def deduplicated_event_ids(spark, messages: list[Message], directory: Path) -> list[str]:
    """The event ids the job's streaming transform keeps of `messages`, read as its Kafka source gives them
    (its columns and types), from Parquet files as the streaming-job tests feed it."""
    pq.write_table(kafka_source_table(messages), directory / "records.parquet")
    records = spark.readStream.schema(KAFKA_SOURCE_SCHEMA).parquet(str(directory))
    kept = transform(records, "10 minutes").where("error IS NULL").select("event.event_id")
    name = f"cdc_{uuid.uuid4().hex[:8]}"
    query = kept.writeStream.format("memory").queryName(name).outputMode("append").start()
    try:
        query.processAllAvailable()
    finally:
        query.stop()
    return [row.event_id for row in spark.table(name).collect()]


@pytest.fixture
def cdc_pipeline(
    postgres_server: PostgresServer, kafka_broker: KafkaBroker, kafka_connect_factory
) -> Iterator[CdcPipeline]:
    suffix = uuid.uuid4().hex[:10]
    pipeline = CdcPipeline(
        postgres=postgres_server,
        broker=kafka_broker,
        worker=kafka_connect_factory(env={PIPELINE_DB_PASSWORD_ENV: postgres_server.password}),
        table=f"users_{suffix}",
        publication=f"users_{suffix}",
        topic=kafka_broker.create_topic(f"user-events-{suffix}", partitions=3),
    )
    with postgres_server.connect() as connection:
        for _ in range(2):  # the init task runs at every deployment: it must be idempotent
            connection.execute(init_sql(pipeline.table, pipeline.publication))
    yield pipeline
    pipeline.worker.stop()
    postgres_server.drop_slot(pipeline.publication)
    with postgres_server.connect() as connection:
        connection.execute(sql.SQL("DROP PUBLICATION {}").format(sql.Identifier(pipeline.publication)))
        connection.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(pipeline.table)))


def test_every_row_the_producer_writes_arrives_once_as_the_contract_event_it_is(cdc_pipeline: CdcPipeline) -> None:
    cdc_pipeline.produce(120, seed=1)  # before the connector: read by its initial snapshot
    assert cdc_pipeline.apply({CDC_CONNECTOR: cdc_pipeline.connector()}) == EXIT_OK
    cdc_pipeline.produce(180, seed=2)  # streamed from the publication
    stored = cdc_pipeline.stored_events()
    assert len(stored) == 300

    received = cdc_pipeline.received(expected=300)
    events = [decode_event(message.value()) for message in received]  # every one valid under the contract
    assert Counter(event["event_id"] for event in events) == Counter(list(stored))
    for message, event in zip(received, events, strict=True):
        assert message.key().decode() == event["user_id"]
        assert msgspec.json.decode(message.value(), type=UserEvent) == stored[event["event_id"]]
    # timestamptz: ISO-8601 in UTC with its offset (`Z`), microseconds.
    assert all(event["event_time"].endswith("Z") for event in events)


def test_connect_refuses_a_bad_connector_with_its_own_message_and_removed_connectors_go(
    cdc_pipeline: CdcPipeline, caplog: pytest.LogCaptureFixture
) -> None:
    bad = cdc_pipeline.connector() | {"plugin.name": "wal2nothing"}
    with caplog.at_level(logging.ERROR, logger="workloads.connect"):
        assert cdc_pipeline.apply({CDC_CONNECTOR: bad}) == EXIT_REFUSED
    (refusal,) = [record.getMessage() for record in caplog.records if record.levelno == logging.ERROR]
    assert refusal.startswith(f"connector {CDC_CONNECTOR}: Connect refused its config: plugin.name: ")
    assert cdc_pipeline.worker.call("GET", "/connectors") == []  # nothing was applied

    assert cdc_pipeline.apply({CDC_CONNECTOR: cdc_pipeline.connector()}) == EXIT_OK
    assert cdc_pipeline.apply({CDC_CONNECTOR: cdc_pipeline.connector() | {"tasks.max": "1"}}) == EXIT_OK
    stored = cdc_pipeline.worker.call("GET", f"/connectors/{CDC_CONNECTOR}/config")
    assert stored["database.password"] == f"${{env:{PIPELINE_DB_PASSWORD_ENV}}}"
    assert connector_states(cdc_pipeline.worker.url) == {CDC_CONNECTOR: "RUNNING"}  # what `make status` prints
    assert cdc_pipeline.apply({}) == EXIT_OK
    assert cdc_pipeline.worker.call("GET", "/connectors") == []


def test_no_row_is_lost_across_a_worker_restart_and_the_job_absorbs_redelivered_rows(
    cdc_pipeline: CdcPipeline, spark, tmp_path: Path
) -> None:
    assert cdc_pipeline.apply({CDC_CONNECTOR: cdc_pipeline.connector()}) == EXIT_OK
    cdc_pipeline.produce(100, seed=3)
    cdc_pipeline.received(expected=100)
    cdc_pipeline.worker.restart()
    cdc_pipeline.produce(100, seed=4)  # committed while the worker rejoins its group
    assert cdc_pipeline.apply({CDC_CONNECTOR: cdc_pipeline.connector()}) == EXIT_OK
    stored = cdc_pipeline.stored_events()
    after_restart = cdc_pipeline.received(expected=200)
    assert set(Counter(decode_event(m.value())["event_id"] for m in after_restart)) == set(stored)

    # An operator resets the connector (stop, delete its offsets, resume): its snapshot sends every row again.
    worker = cdc_pipeline.worker
    worker.call("PUT", f"/connectors/{CDC_CONNECTOR}/stop")
    deadline = time.monotonic() + 60
    while worker.call("GET", f"/connectors/{CDC_CONNECTOR}/status")["connector"]["state"] != "STOPPED":
        assert time.monotonic() < deadline, "the connector did not stop"
        time.sleep(0.5)
    worker.call("DELETE", f"/connectors/{CDC_CONNECTOR}/offsets")
    worker.call("PUT", f"/connectors/{CDC_CONNECTOR}/resume")
    received = cdc_pipeline.received(expected=2 * len(stored))
    redelivered = Counter(decode_event(m.value())["event_id"] for m in received)
    assert set(redelivered) == set(stored)
    assert min(redelivered.values()) >= 2

    assert sorted(deduplicated_event_ids(spark, received, tmp_path)) == sorted(stored)
