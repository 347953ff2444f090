"""`airflow dags test` runs the data-quality DAG for real against Kafka, Cassandra and S3 servers.

The events topic gets records stamped inside the run's data interval (one malformed, rejected by a
dead letter); Cassandra and S3 get the accepted events. With everything landed the DAG passes; with
rows missing from Cassandra it fails and its message carries the numbers.
"""

from __future__ import annotations

import io
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from confluent_kafka import Producer

from tests.fixtures.airflow import AirflowInstallation, deployment_facts, streamstack_env
from workloads.contract.events import cassandra_table_ddl

pytestmark = pytest.mark.integration

TABLE = "user_events"
ACCEPTED = 20
# The run's data interval ends far enough back that the DAG's landing grace has already passed.
LOGICAL_DATE = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)


@dataclass
class Landscape:
    """Servers and names one data-quality run is pointed at."""

    env: dict[str, str]
    keyspace: str
    accepted_ids: list[str]


def _produce(bootstrap: str, topic: str, values: list[bytes], timestamp_ms: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    for value in values:
        producer.produce(topic, value, timestamp=timestamp_ms)
    assert producer.flush(30) == 0


@pytest.fixture
def landscape(kafka_broker, cassandra_server, cassandra_keyspace, s3_server, s3_bucket) -> Landscape:
    """20 accepted events and 1 rejected one in the interval (and one on each side of it); the
    accepted ones in Cassandra and S3."""
    events_topic, dead_letter_topic = kafka_broker.create_topic(partitions=1), kafka_broker.create_topic(partitions=1)
    in_interval_ms = int((LOGICAL_DATE - timedelta(minutes=30)).timestamp() * 1000)
    before_interval_ms = int((LOGICAL_DATE - timedelta(hours=2)).timestamp() * 1000)
    after_interval_ms = int((LOGICAL_DATE + timedelta(minutes=5)).timestamp() * 1000)
    accepted_ids = [str(uuid.uuid4()) for _ in range(ACCEPTED)]
    _produce(kafka_broker.bootstrap, events_topic, [b'{"event_id": "stale"}'], before_interval_ms)
    _produce(kafka_broker.bootstrap, events_topic, [b"{not json"], in_interval_ms)  # offset 1: rejected below
    _produce(
        kafka_broker.bootstrap,
        events_topic,
        [json.dumps({"event_id": event_id, "first_name": "Ada"}).encode() for event_id in accepted_ids],
        in_interval_ms,
    )
    _produce(kafka_broker.bootstrap, events_topic, [b'{"event_id": "next-hour"}'], after_interval_ms)
    letter = {"raw": "{not json", "reason": "not JSON", "topic": events_topic, "partition": 0, "offset": 1}
    _produce(kafka_broker.bootstrap, dead_letter_topic, [json.dumps(letter).encode()], in_interval_ms + 1000)

    cluster, session = cassandra_server.connect(cassandra_keyspace)
    try:
        session.execute(cassandra_table_ddl(cassandra_keyspace, TABLE))
        insert = session.prepare(f"INSERT INTO {TABLE} (event_id, first_name, ingested_at) VALUES (?, ?, ?)")
        for event_id in accepted_ids:
            session.execute(insert, (event_id, "Ada", datetime.now(UTC)))
    finally:
        cluster.shutdown()

    parquet = io.BytesIO()
    pq.write_table(pa.table({"event_id": accepted_ids, "first_name": ["Ada"] * ACCEPTED}), parquet)
    event_date = (LOGICAL_DATE - timedelta(minutes=30)).date()
    s3_server.client().put_object(
        Bucket=s3_bucket, Key=f"events/event_date={event_date}/part-00000.snappy.parquet", Body=parquet.getvalue()
    )

    facts = deployment_facts(events_topic, dead_letter_topic, cassandra_keyspace, s3_bucket)
    env = streamstack_env(facts, kafka_broker.bootstrap, cassandra_server, cassandra_keyspace, s3_server)
    return Landscape(env, cassandra_keyspace, accepted_ids)


def run_data_quality(airflow: AirflowInstallation, landscape: Landscape):
    return airflow.run("dags", "test", "streamstack_data_quality", LOGICAL_DATE.isoformat(), env=landscape.env)


EXPECTED_NUMBERS = "produced 21, dead-lettered 1 (4.76%), expected in each sink 20"


def test_data_quality_passes_when_every_accepted_event_landed(airflow, landscape):
    done = run_data_quality(airflow, landscape)
    output = done.stdout + done.stderr

    assert done.returncode == 0, output
    assert f"{EXPECTED_NUMBERS}, found: cassandra 20, s3 20" in output
    assert "problems:" not in output


def test_data_quality_fails_with_the_numbers_when_rows_are_missing(airflow, landscape, cassandra_server):
    cluster, session = cassandra_server.connect(landscape.keyspace)
    try:
        for event_id in landscape.accepted_ids[:5]:
            session.execute(f"DELETE FROM {TABLE} WHERE event_id = %s", (event_id,))
    finally:
        cluster.shutdown()

    done = run_data_quality(airflow, landscape)
    output = done.stdout + done.stderr

    assert done.returncode != 0, output
    assert f"{EXPECTED_NUMBERS}, found: cassandra 15, s3 20; problems: cassandra: 5 of 20 events missing" in output
