"""The change-data-capture edge: events as rows of the pipeline database's users table.

In `ingestion: cdc` the producer writes here instead of Kafka, and Debezium streams each inserted row
to the events topic. PostgreSQL turns the contract's JSON into a row itself (json_populate_recordset
maps keys to the columns of the same names), so the row is exactly the event that was validated. A
row counts as delivered once its transaction commits; `ON CONFLICT (event_id) DO NOTHING` makes a
replayed batch harmless, as upserts by event id do downstream.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from workloads.producer.kafka_sink import DeliveryCounts

log = logging.getLogger(__name__)

Connect = Callable[[], psycopg.Connection[Any]]


@dataclass(frozen=True)
class PipelineDatabase:
    """Where `--sink postgres` writes (ingestion: cdc); the password comes from PIPELINE_DB_PASSWORD only."""

    host: str
    port: int
    name: str
    user: str
    password: str
    table: str


def connector(database: PipelineDatabase, timeout_s: float) -> Connect:
    """Opens a connection to the pipeline database (psycopg 3, a well-kept PostgreSQL driver)."""

    def connect() -> psycopg.Connection[Any]:
        return psycopg.connect(
            host=database.host,
            port=database.port,
            dbname=database.name,
            user=database.user,
            password=database.password,
            connect_timeout=max(1, int(timeout_s)),
        )

    return connect


class PostgresSink:
    """Buffers events and inserts each batch in one statement and one transaction."""

    def __init__(self, connect: Connect, table: str, batch_rows: int = 500) -> None:
        self.counts = DeliveryCounts()
        self.last_error: str | None = None
        self.fatal_error: str | None = None
        self._connect = connect
        self._connection: psycopg.Connection[Any] | None = None
        self._batch_rows = batch_rows
        self._buffer: list[bytes] = []
        self._insert = sql.SQL(
            "INSERT INTO {table} SELECT * FROM json_populate_recordset(NULL::{table}, %s::json)"
            " ON CONFLICT (event_id) DO NOTHING"
        ).format(table=sql.Identifier(table))

    def send(self, _topic: str, _key: str, value: bytes) -> None:
        """Queue one event (its contract JSON); a full batch is inserted at once."""
        self._buffer.append(value)
        self.counts.sent += 1
        if len(self._buffer) >= self._batch_rows:
            self._commit()

    def poll(self, timeout_s: float) -> None:
        """Insert what is buffered, then wait out the rest of `timeout_s` (the runner paces with it)."""
        started = time.monotonic()
        self._commit()
        time.sleep(max(0.0, timeout_s - (time.monotonic() - started)))

    def flush(self, _timeout_s: float) -> int:
        """Insert what is buffered; returns how many events are still unaccounted for (none: a failed
        batch is counted failed)."""
        self._commit()
        return 0

    def _commit(self) -> None:
        if not self._buffer:
            return
        rows, self._buffer = self._buffer, []
        document = b"[" + b",".join(rows) + b"]"
        try:
            if self._connection is None or self._connection.closed:
                self._connection = self._connect()
            with self._connection.transaction():
                self._connection.execute(self._insert, [document.decode()])
        except psycopg.Error as error:
            self.counts.failed += len(rows)
            self.last_error = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            log.error("could not insert %d events: %s", len(rows), self.last_error)
            if self._connection is not None and not self._connection.closed and self._connection.broken:
                self._connection.close()
            return
        self.counts.delivered += len(rows)
