"""`cassandra`: rows/s upserted into the real local Cassandra, as the job's executors write them.

Ours is the job's partition writer (`cassandra_sink.write_partition`: one prepared INSERT, a window of
in-flight asynchronous requests, UNSET for absent values); the baseline a synchronous `execute` loop with
the same prepared statement and rows. Client and server share this machine's two cores.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from bench.report import Record, record
from bench.servers import Servers
from workloads.contract import EVENT_FIELDS, cassandra_table_ddl, decoder, encode_event
from workloads.producer.sources import SYNTHETIC, SyntheticSource
from workloads.producer.transform import contract_time, to_event
from workloads.streaming_job.cassandra_sink import bind_values, insert_statement, table_columns, write_partition
from workloads.streaming_job.config import CassandraConfig
from workloads.streaming_job.schema import timestamp_column_names

STAGE = "cassandra"
OURS_ROWS = 30_000
BASELINE_ROWS = 3_000
TABLE = "events"


def bound_rows(count: int, *, seed: int) -> list[tuple[object, ...]]:
    """Rows as the job binds them: the contract's columns then ingested_at, timestamps in epoch milliseconds."""
    source, when = SyntheticSource(seed=seed), datetime.now(UTC)
    events = [
        decoder().decode(
            encode_event(to_event(profile, source=SYNTHETIC, pseudonym_key=b"bench", event_time=contract_time(when)))
        )
        for profile in source.fetch(count).profiles
    ]
    millis = set(timestamp_column_names())
    ingested_at = int(when.timestamp() * 1000)
    rows = []
    for event in events:
        values = [getattr(event, field.name) for field in EVENT_FIELDS]
        as_bound = [
            int(value.timestamp() * 1000) if field.name in millis and value is not None else value
            for field, value in zip(EVENT_FIELDS, values, strict=True)
        ]
        rows.append((*as_bound, ingested_at))
    return rows


def run(servers: Servers, runs: int, progress: Callable[[str], None]) -> list[Record]:
    server = servers.cassandra()
    keyspace = servers.cassandra_keyspace()
    cluster, session = server.connect()
    try:
        session.execute(cassandra_table_ddl(keyspace, TABLE))
        target = CassandraConfig(
            hosts=(server.host,),
            port=server.port,
            keyspace=keyspace,
            table=TABLE,
            username=server.username,
            password=server.password,
            concurrency=256,
        )
        cql = insert_statement(keyspace, TABLE, table_columns())
        statement = session.prepare(cql)
        rows = bound_rows(OURS_ROWS, seed=21)

        def ours() -> float:
            started = time.perf_counter()
            write_partition(rows, target, cql)
            return len(rows) / (time.perf_counter() - started)

        def synchronous() -> float:
            started = time.perf_counter()
            for row in rows[:BASELINE_ROWS]:
                session.execute(statement, bind_values(row))
            return BASELINE_ROWS / (time.perf_counter() - started)

        ours(), synchronous()  # warm-up: connections, prepared statements, JIT of the server
        rates: dict[str, list[float]] = {"ours": [], "baseline": []}
        for round_number in range(1, runs + 1):
            rates["ours"].append(ours())
            rates["baseline"].append(synchronous())
            progress(
                f"round {round_number}/{runs}: rows/s ours {rates['ours'][-1]:,.0f} "
                f"(window {target.concurrency}), synchronous {rates['baseline'][-1]:,.0f}"
            )
    finally:
        cluster.shutdown()
    return [
        record(
            STAGE,
            f"rows/s upserted ({OURS_ROWS:,} rows, window of {target.concurrency})",
            "rows/s",
            rates["ours"],
            baseline=f"synchronous execute loop ({BASELINE_ROWS:,} rows)",
            baseline_values=rates["baseline"],
        )
    ]
