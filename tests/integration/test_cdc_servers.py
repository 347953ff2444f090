"""Change data capture on real servers: PostgreSQL -> Debezium in Kafka Connect (distributed mode) -> Tansu.

Each test has its own table, publication, replication slot, connector and topic; the PostgreSQL server,
the broker and the shared Connect worker last the session. Connector configs name the password only
through a config provider placeholder (`${file:...}` or `${env:...}`), never in plain text.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from confluent_kafka import Message
from confluent_kafka.admin import AdminClient
from psycopg import sql

from tests.fixtures.kafka_broker import KafkaBroker
from tests.fixtures.kafka_connect import POSTGRES_CONNECTOR, KafkaConnect
from tests.fixtures.postgres import PostgresServer

pytestmark = pytest.mark.integration

PASSWORD_ENV = "PIPELINE_DB_PASSWORD"
REGISTERED_AT = dt.datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2)))


@dataclass
class CdcCase:
    """The names one test uses, and the workers its connector was started on (for the clean-up)."""

    table: str
    publication: str
    slot: str
    topic_prefix: str
    connector: str
    workers: list[KafkaConnect] = field(default_factory=list)

    @property
    def topic(self) -> str:
        return f"{self.topic_prefix}.public.{self.table}"

    def start(self, worker: KafkaConnect, config: dict[str, str]) -> None:
        """Create the connector on `worker` and wait until its task runs (the snapshot, if any, has begun)."""
        self.workers.append(worker)
        worker.put_connector(self.connector, config)
        worker.wait_until_running(self.connector)


@pytest.fixture
def cdc_case(postgres_server: PostgresServer) -> Iterator[CdcCase]:
    """A `users` table and a publication of it; afterwards the connector, slot, publication and table go."""
    suffix = uuid.uuid4().hex[:10]
    case = CdcCase(f"users_{suffix}", f"pub_{suffix}", f"slot_{suffix}", f"cdc_{suffix}", f"users-cdc-{suffix}")
    with postgres_server.connect() as connection:
        connection.execute(
            sql.SQL(
                "CREATE TABLE {} (event_id text PRIMARY KEY, user_id text NOT NULL, first_name text NOT NULL,"
                " age integer, score double precision, registered_at timestamptz NOT NULL)"
            ).format(sql.Identifier(case.table))
        )
        connection.execute(
            sql.SQL("CREATE PUBLICATION {} FOR TABLE {}").format(
                sql.Identifier(case.publication), sql.Identifier(case.table)
            )
        )
    yield case
    for worker in case.workers:
        if worker.process.poll() is None:
            worker.delete_connector(case.connector)
    postgres_server.drop_slot(case.slot)
    with postgres_server.connect() as connection:
        connection.execute(sql.SQL("DROP PUBLICATION IF EXISTS {}").format(sql.Identifier(case.publication)))
        connection.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(case.table)))


def connector_config(postgres: PostgresServer, case: CdcCase, password: str) -> dict[str, str]:
    """Debezium's PostgreSQL source as the pipeline runs it: pgoutput, the publication made beforehand, flat
    JSON values (no schema envelope) keyed by user_id as a plain string."""
    return {
        "name": case.connector,
        "connector.class": POSTGRES_CONNECTOR,
        "tasks.max": "1",
        "database.hostname": postgres.host,
        "database.port": str(postgres.port),
        "database.user": postgres.user,
        "database.password": password,
        "database.dbname": postgres.dbname,
        "topic.prefix": case.topic_prefix,
        "table.include.list": f"public.{case.table}",
        "plugin.name": "pgoutput",
        "publication.name": case.publication,
        "publication.autocreate.mode": "disabled",
        "slot.name": case.slot,
        "snapshot.mode": "initial",
        "time.precision.mode": "adaptive",
        "topic.creation.default.replication.factor": "1",
        "topic.creation.default.partitions": "3",
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
        "transforms": "unwrap,userKey,userKeyField",
        "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
        "transforms.unwrap.delete.tombstone.handling.mode": "drop",
        "transforms.userKey.type": "org.apache.kafka.connect.transforms.ValueToKey",
        "transforms.userKey.fields": "user_id",
        "transforms.userKeyField.type": "org.apache.kafka.connect.transforms.ExtractField$Key",
        "transforms.userKeyField.field": "user_id",
    }


def insert_users(postgres: PostgresServer, table: str, first: int, count: int) -> list[str]:
    """Insert users number `first`..`first + count - 1` in one transaction; their user ids."""
    rows = [
        (str(uuid.uuid4()), f"user-{number:05d}", f"Name{number}", 20 + number % 50, number / 4, REGISTERED_AT)
        for number in range(first, first + count)
    ]
    with postgres.connect(autocommit=False) as connection:
        connection.cursor().executemany(
            sql.SQL(
                "INSERT INTO {} (event_id, user_id, first_name, age, score, registered_at)"
                " VALUES (%s, %s, %s, %s, %s, %s)"
            ).format(sql.Identifier(table)),
            rows,
        )
    return [row[1] for row in rows]


def records(broker: KafkaBroker, topic: str, expected: int, extra_wait_s: float = 2.0) -> list[Message]:
    """Every record of `topic` once `expected` have arrived (or 90 s passed) and `extra_wait_s` brought no more,
    after the topic exists."""
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    deadline = time.monotonic() + 60
    while topic not in admin.list_topics(timeout=10).topics and time.monotonic() < deadline:
        time.sleep(0.5)
    return broker.consume_all(topic, expected=expected, extra_wait_s=extra_wait_s, deadline_s=90)


def test_validate_returns_connects_errors_for_a_bad_config_and_none_for_a_good_one(
    kafka_connect, postgres_server, cdc_case
):
    good = connector_config(postgres_server, cdc_case, kafka_connect.secret("pg.password", postgres_server.password))

    bad = kafka_connect.validate({**good, "plugin.name": "wal2json", "snapshot.mode": "sometimes"})
    wrong_password = kafka_connect.validate({**good, "database.password": kafka_connect.secret("pg.wrong", "nope")})

    assert bad["error_count"] == 2
    assert errors_of(bad) == {
        "plugin.name": ["The 'plugin.name' value is invalid: Value must be one of decoderbufs, pgoutput"],
        "snapshot.mode": [
            "The 'snapshot.mode' value is invalid: Value must be one of always, initial_only, configuration_based,"
            " when_needed, initial, custom, no_data"
        ],
    }
    assert wrong_password["error_count"] == 1
    assert "password authentication failed" in errors_of(wrong_password)["database.hostname"][0]
    assert kafka_connect.validate(good)["error_count"] == 0


def errors_of(verdict: dict[str, Any]) -> dict[str, list[str]]:
    """The keys Connect's validation found fault with, and its messages."""
    return {item["value"]["name"]: item["value"]["errors"] for item in verdict["configs"] if item["value"]["errors"]}


def test_rows_from_snapshot_and_stream_arrive_once_each_keyed_by_user(
    kafka_connect, kafka_broker, postgres_server, cdc_case
):
    password = kafka_connect.secret("pg.password", postgres_server.password)
    before = insert_users(postgres_server, cdc_case.table, 0, 20)

    cdc_case.start(kafka_connect, connector_config(postgres_server, cdc_case, password))
    after = insert_users(postgres_server, cdc_case.table, 20, 30)
    received = records(kafka_broker, cdc_case.topic, expected=50)

    assert Counter(message.key().decode() for message in received) == Counter(before + after)
    values = {message.key().decode(): json.loads(message.value()) for message in received}
    first = values["user-00001"]
    assert set(first) == {"event_id", "user_id", "first_name", "age", "score", "registered_at"}
    assert uuid.UUID(first["event_id"])
    assert (first["first_name"], first["age"], first["score"]) == ("Name1", 21, 0.25)
    # timestamptz: Debezium's ZonedTimestamp, an ISO-8601 string in UTC, whatever time.precision.mode says.
    assert first["registered_at"] == "2026-03-04T03:06:07.123456Z"
    stored = kafka_connect.call("GET", f"/connectors/{cdc_case.connector}/config")
    assert stored["database.password"] == password != postgres_server.password


class RowWriter(threading.Thread):
    """Inserts a few users every 50 ms, each batch its own transaction, until `finish()`: rows keep being
    committed while the worker stops, is down and starts again."""

    def __init__(self, postgres: PostgresServer, table: str) -> None:
        super().__init__(daemon=True)
        self.postgres, self.table = postgres, table
        self.sent: list[str] = []
        self.error: BaseException | None = None
        self._done = threading.Event()

    def run(self) -> None:
        try:
            while not self._done.is_set():
                self.sent += insert_users(self.postgres, self.table, len(self.sent), 5)
                time.sleep(0.05)
        except BaseException as error:  # reported by finish(), in the test's thread
            self.error = error

    def finish(self) -> list[str]:
        """Stop inserting; the user ids of every committed row."""
        self._done.set()
        self.join(timeout=30)
        if self.error is not None:
            raise self.error
        return self.sent


def test_no_row_is_lost_when_the_worker_restarts_mid_stream(
    kafka_connect_factory, kafka_broker, postgres_server, cdc_case
):
    worker = kafka_connect_factory(env={PASSWORD_ENV: postgres_server.password})
    # no_data: stream from the slot, created at the connector's first start, with no snapshot to repeat on a
    # start that finds no committed offset.
    config = connector_config(postgres_server, cdc_case, f"${{env:{PASSWORD_ENV}}}") | {"snapshot.mode": "no_data"}
    cdc_case.start(worker, config)
    writer = RowWriter(postgres_server, cdc_case.table)
    writer.start()

    records(kafka_broker, cdc_case.topic, expected=50, extra_wait_s=0)  # streaming is under way
    worker.restart()
    worker.wait_until_running(cdc_case.connector)
    records(kafka_broker, cdc_case.topic, expected=len(writer.sent), extra_wait_s=0)
    worker.stop()
    time.sleep(1)  # rows committed while no worker runs
    worker.start()
    worker.wait_until_running(cdc_case.connector)
    sent = writer.finish()
    received = records(kafka_broker, cdc_case.topic, expected=len(sent))

    keys = Counter(message.key().decode() for message in received)
    assert set(keys) == set(sent), f"lost {len(set(sent) - set(keys))} of {len(sent)}"
    if worker.forced_stops == 0:  # after graceful stops the committed offsets say exactly where to resume
        assert keys.most_common(1)[0][1] == 1, f"duplicated: {[key for key, n in keys.items() if n > 1][:10]}"
    offsets = kafka_broker.consume_all(worker.offset_topic, expected=1)
    assert any(cdc_case.connector in (message.key() or b"").decode() for message in offsets)
