"""The job's parsing and validation of one Kafka value, which mirrors the contract exactly."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from cassandra.query import UNSET_VALUE

from workloads.contract.events import EVENT_FIELDS
from workloads.streaming_job.batch_writer import BatchReport
from workloads.streaming_job.cassandra_sink import bind_values, insert_statement, table_columns
from workloads.streaming_job.schema import event_schema
from workloads.streaming_job.transform import MAX_MESSAGE_BYTES, parse_event

VALID = {
    "event_id": "3f1c",
    "event_time": "2024-05-01T23:30:00.250-02:00",
    "schema_version": 1,
    "user_id": "u-1",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email_hash": "ab" * 32,
    "country": "United Kingdom",
    "source": "randomuser",
    "latitude": 51,
    "age": 36,
}


def parsed(document: dict[str, Any]) -> dict[str, Any]:
    event, _, error = parse_event(json.dumps(document).encode())
    assert error is None
    assert event is not None
    return dict(zip([field.name for field in EVENT_FIELDS], event, strict=True))


def reason(value: bytes | None) -> str | None:
    event, event_date, error = parse_event(value)
    assert (event, event_date) == (None, None)
    return error


def test_a_valid_event_is_typed_for_spark_and_dated_in_utc() -> None:
    event, event_date, error = parse_event(json.dumps(VALID).encode())

    assert error is None
    assert event_date == date(2024, 5, 2)
    values = parsed(VALID)
    assert values["event_time"] == datetime(2024, 5, 2, 1, 30, 0, 250000, tzinfo=UTC)
    assert values["latitude"] == 51.0
    assert isinstance(values["latitude"], float)
    assert values["age"] == 36
    assert values["username"] is None
    assert len(event or ()) == len(event_schema().fields)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "empty message"),
        (b"[1, 2]", "expected a JSON object, got list"),
        (json.dumps(VALID | {"first_name": 7}).encode(), "first_name: expected string, got int"),
        (json.dumps(VALID | {"age": True}).encode(), "age: expected integer, got bool"),
        (json.dumps(VALID | {"latitude": 91.5}).encode(), "latitude: 91.5 outside -90.0..90.0"),
        (json.dumps(VALID | {"nickname": "x"}).encode(), "unknown field(s): nickname"),
        (json.dumps(VALID | {"schema_version": 2}).encode(), "schema_version: expected 1, got 2"),
    ],
)
def test_contract_violations_are_rejected_with_the_contract_reason(value: bytes | None, expected: str) -> None:
    assert reason(value) == expected


def test_a_naive_timestamp_is_rejected_for_lack_of_an_offset() -> None:
    assert reason(json.dumps(VALID | {"event_time": "2024-05-01T23:30:00"}).encode()) == (
        "event_time: timestamp needs a UTC offset: '2024-05-01T23:30:00'"
    )


def test_undecodable_bytes_and_oversized_messages_are_rejected_before_parsing() -> None:
    assert (reason(b"\xff\xfe") or "").startswith("malformed JSON")
    oversized = b" " * (MAX_MESSAGE_BYTES + 1)
    assert reason(oversized) == f"message of {MAX_MESSAGE_BYTES + 1} bytes exceeds {MAX_MESSAGE_BYTES}"


def test_the_cassandra_insert_binds_every_contract_column_and_ingested_at() -> None:
    columns = table_columns()

    assert columns == [
        "event_id",
        "event_time",
        "schema_version",
        "user_id",
        "username",
        "first_name",
        "last_name",
        "gender",
        "email_hash",
        "postcode_hash",
        "city",
        "state",
        "country",
        "nationality",
        "latitude",
        "longitude",
        "age",
        "registered_at",
        "source",
        "ingested_at",
    ]
    cql = insert_statement("pipeline", "events", ["event_id", "age"])
    assert cql == "INSERT INTO pipeline.events (event_id, age) VALUES (?, ?)"


def test_absent_values_are_bound_unset_so_no_tombstones_are_written() -> None:
    assert bind_values(("id", None, 0, "")) == ("id", UNSET_VALUE, 0, "")


def test_the_batch_progress_line_names_every_count() -> None:
    report = BatchReport(7, rows=10, valid=8, dead_lettered=2, written={"cassandra": 8, "s3": 8}, duration_s=1.234)

    assert report.log_line() == "batch=7 rows=10 valid=8 dead_lettered=2 written: cassandra=8 s3=8 duration=1.23s"
