"""Cassandra sink: every executor task upserts its partition with one prepared INSERT.

The Spark Cassandra connector is not available, so the executors use cassandra-driver directly.
Writes are asynchronous with a bounded window of in-flight requests, waiting on the oldest first
(measured: a deque window of 256 beat both synchronous writes and a semaphore with callbacks).
INSERT is an upsert by primary key, so a replayed micro-batch rewrites the same rows. Missing
optional values are bound as UNSET rather than null, which would write tombstones.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from functools import partial
from typing import Any

from cassandra import ConsistencyLevel
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster, ResponseFuture, Session
from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy
from cassandra.query import UNSET_VALUE, PreparedStatement
from pyspark.sql import DataFrame
from pyspark.sql import functions as sf

from workloads.streaming_job.config import CassandraConfig
from workloads.streaming_job.schema import INGESTED_AT, event_column_names, timestamp_column_names

# One driver session per executor Python worker and target, reused across tasks and batches.
_SESSIONS: dict[CassandraConfig, Session] = {}
_STATEMENTS: dict[tuple[CassandraConfig, str], PreparedStatement] = {}


def table_columns() -> list[str]:
    """Columns written, in bind order: the contract's fields, then ingested_at."""
    return [*event_column_names(), INGESTED_AT]


def insert_statement(keyspace: str, table: str, columns: Sequence[str]) -> str:
    placeholders = ", ".join("?" for _ in columns)
    return f"INSERT INTO {keyspace}.{table} ({', '.join(columns)}) VALUES ({placeholders})"


def _session(target: CassandraConfig) -> Session:
    session = _SESSIONS.get(target)
    if session is None or session.is_shutdown:
        cluster = Cluster(
            list(target.hosts),
            port=target.port,
            auth_provider=PlainTextAuthProvider(username=target.username, password=target.password),
            load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy()),
            protocol_version=4,
        )
        session = cluster.connect()
        session.default_consistency_level = ConsistencyLevel.LOCAL_QUORUM
        _SESSIONS[target] = session
    return session


def _prepared(target: CassandraConfig, session: Session, cql: str) -> PreparedStatement:
    statement = _STATEMENTS.get((target, cql))
    if statement is None:
        statement = session.prepare(cql)
        _STATEMENTS[(target, cql)] = statement
    return statement


def bind_values(row: Sequence[Any]) -> tuple[Any, ...]:
    """Row values to bind: None becomes UNSET so an absent optional field writes no tombstone."""
    return tuple(UNSET_VALUE if value is None else value for value in row)


def write_partition(rows: Iterable[Sequence[Any]], target: CassandraConfig, cql: str) -> None:
    """Upsert one partition with at most `target.concurrency` requests in flight; raise if any fails."""
    session = _session(target)
    statement = _prepared(target, session, cql)
    in_flight: deque[ResponseFuture] = deque()
    for row in rows:
        if len(in_flight) >= target.concurrency:
            in_flight.popleft().result()
        in_flight.append(session.execute_async(statement, bind_values(row)))
    while in_flight:
        in_flight.popleft().result()


def write_events(events: DataFrame, target: CassandraConfig) -> None:
    """Upsert the valid events of a batch from the executors; every row is acknowledged or the batch fails."""
    columns = table_columns()
    # Timestamps travel as epoch milliseconds: the driver binds those exactly, whatever the worker's time zone.
    as_millis = set(timestamp_column_names()) | {INGESTED_AT}
    bindable = events.select(
        *[sf.unix_millis(sf.col(name)).alias(name) if name in as_millis else sf.col(name) for name in columns]
    )
    cql = insert_statement(target.keyspace, target.table, columns)
    bindable.foreachPartition(partial(write_partition, target=target, cql=cql))
