"""Consumed messages become the rows Spark's Kafka source would give the job, timestamp type included."""

from datetime import UTC, datetime

from confluent_kafka import TIMESTAMP_CREATE_TIME, TIMESTAMP_LOG_APPEND_TIME, TIMESTAMP_NOT_AVAILABLE, Message

from tests.fixtures.spark import KAFKA_SOURCE_ARROW_SCHEMA, kafka_source_table


def test_messages_become_kafka_source_rows_with_kafkas_timestamp_type_ids():
    messages = [
        Message(
            topic="events", partition=2, offset=7, key=b"u-1", value=b"{}", timestamp=(TIMESTAMP_CREATE_TIME, 1_000)
        ),
        Message(
            topic="other", partition=0, offset=9, key=None, value=b"x", timestamp=(TIMESTAMP_LOG_APPEND_TIME, 2_500)
        ),
        Message(topic="events", partition=1, offset=3, key=b"u-3", value=None, timestamp=(TIMESTAMP_NOT_AVAILABLE, 0)),
    ]
    table = kafka_source_table(messages)
    assert table.schema == KAFKA_SOURCE_ARROW_SCHEMA
    assert table.to_pydict() == {
        "key": [b"u-1", None, b"u-3"],
        "value": [b"{}", b"x", None],
        "topic": ["events", "other", "events"],
        "partition": [2, 0, 1],
        "offset": [7, 9, 3],
        "timestamp": [
            datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC),
            datetime(1970, 1, 1, 0, 0, 2, 500_000, tzinfo=UTC),
            datetime(1970, 1, 1, tzinfo=UTC),
        ],
        "timestampType": [0, 1, -1],
    }
