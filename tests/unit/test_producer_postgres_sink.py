"""The producer's PostgreSQL sink (ingestion: cdc) when the database fails; the happy path runs on a real
PostgreSQL in tests/integration/test_cdc_pipeline.py."""

import psycopg
import pytest

from workloads.producer.postgres_sink import PostgresSink


def refused() -> psycopg.Connection:
    raise psycopg.OperationalError('connection to server at "pipeline-db" (10.0.0.9), port 5432 failed\nDETAIL: x')


def test_a_batch_that_cannot_be_inserted_is_counted_failed_with_the_first_line_of_the_error():
    sink = PostgresSink(refused, "users", batch_rows=3)
    for number in range(4):
        sink.send("ignored", f"user-{number}", b'{"event_id": "%d"}' % number)
    assert (sink.counts.sent, sink.counts.failed, sink.counts.delivered) == (4, 3, 0)
    assert sink.last_error == 'connection to server at "pipeline-db" (10.0.0.9), port 5432 failed'
    assert sink.flush(1.0) == 0
    assert (sink.counts.failed, sink.counts.in_flight) == (4, 0)


@pytest.mark.parametrize("batch_rows", [1, 500])
def test_nothing_is_sent_to_the_database_before_a_batch_fills_or_a_poll_comes(batch_rows):
    calls = []

    def counting() -> psycopg.Connection:
        calls.append(1)
        raise psycopg.OperationalError("down")

    sink = PostgresSink(counting, "users", batch_rows=batch_rows)
    sink.send("ignored", "user-1", b"{}")
    assert len(calls) == (1 if batch_rows == 1 else 0)
    sink.poll(0.0)
    assert len(calls) == 1
