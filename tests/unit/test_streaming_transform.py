"""The job's parsing and validation of one Kafka value, which mirrors the contract exactly."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
import pytest
from cassandra.query import UNSET_VALUE
from hypothesis import given, settings
from hypothesis import strategies as st

from workloads.contract import ValidationError, decode_event
from workloads.contract.events import EVENT_FIELDS
from workloads.streaming_job.batch_writer import BatchReport
from workloads.streaming_job.cassandra_sink import bind_values, insert_statement, table_columns
from workloads.streaming_job.schema import event_schema
from workloads.streaming_job.transform import MAX_MESSAGE_BYTES, parse_batch

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


ARRIVED = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def parse_one(value: bytes | None) -> dict[str, Any]:
    """One Kafka value through the job's Arrow parse, with made-up source position columns."""
    records = pa.record_batch(
        [
            pa.array([value], pa.binary()),
            pa.array(["clicks"]),
            pa.array([2], pa.int32()),
            pa.array([41], pa.int64()),
            pa.array([ARRIVED], pa.timestamp("us", tz="UTC")),
        ],
        names=["value", "topic", "partition", "offset", "kafka_timestamp"],
    )
    (row,) = parse_batch(records).to_pylist()
    assert (row["topic"], row["partition"], row["offset"], row["kafka_timestamp"]) == ("clicks", 2, 41, ARRIVED)
    return row


def reason(value: bytes | None) -> str | None:
    row = parse_one(value)
    assert (row["event"], row["event_date"]) == (None, None)
    return row["error"]


def test_a_valid_event_is_typed_for_spark_and_dated_in_utc() -> None:
    row = parse_one(json.dumps(VALID).encode())

    assert (row["error"], row["raw"]) == (None, None)
    assert row["event_date"] == date(2024, 5, 2)
    values = row["event"]
    assert list(values) == [field.name for field in EVENT_FIELDS] == event_schema().fieldNames()
    assert values["event_time"] == datetime(2024, 5, 2, 1, 30, 0, 250000, tzinfo=UTC)
    assert values["latitude"] == 51.0
    assert isinstance(values["latitude"], float)
    assert values["age"] == 36
    assert values["username"] is None
    assert values["country"] == "United Kingdom"


def test_a_batch_keeps_each_row_with_its_own_verdict() -> None:
    values = [json.dumps(VALID | {"event_id": f"e-{n}"}).encode() for n in range(3)]
    values[1] = b"{broken"
    records = pa.record_batch(
        [
            pa.array(values, pa.binary()),
            pa.array(["clicks"] * 3),
            pa.array([0, 1, 2], pa.int32()),
            pa.array([7, 8, 9], pa.int64()),
            pa.array([ARRIVED] * 3, pa.timestamp("us", tz="UTC")),
        ],
        names=["value", "topic", "partition", "offset", "kafka_timestamp"],
    )
    rows = parse_batch(records).to_pylist()
    assert [row["offset"] for row in rows] == [7, 9, 8]  # valid events first, then dead letters
    assert [(row["event"] or {}).get("event_id") for row in rows] == ["e-0", "e-2", None]
    assert [row["partition"] for row in rows] == [0, 2, 1]
    assert [row["raw"] for row in rows] == [None, None, "{broken"]
    assert [row["error"] is None for row in rows] == [True, True, False]
    assert [row["event_date"] for row in rows] == [date(2024, 5, 2), date(2024, 5, 2), None]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "empty message"),
        (b"[1, 2]", "expected a JSON object, got array"),
        (json.dumps(VALID | {"first_name": 7}).encode(), "first_name: expected `str`, got `int`"),
        (json.dumps(VALID | {"age": True}).encode(), "age: expected `int | null`, got `bool`"),
        (json.dumps(VALID | {"latitude": 91.5}).encode(), "latitude: expected `float` <= 90.0"),
        (json.dumps(VALID | {"nickname": "x"}).encode(), "unknown field: nickname"),
        (json.dumps(VALID | {"schema_version": 2}).encode(), "schema_version: expected `int` <= 1"),
    ],
)
def test_contract_violations_are_rejected_with_the_contract_reason(value: bytes | None, expected: str) -> None:
    assert reason(value) == expected


def test_a_naive_timestamp_is_rejected_for_lack_of_an_offset() -> None:
    assert reason(json.dumps(VALID | {"event_time": "2024-05-01T23:30:00"}).encode()) == (
        "event_time: expected `datetime` with a timezone component"
    )


def test_undecodable_bytes_and_oversized_messages_are_rejected_before_parsing() -> None:
    row = parse_one(b"\xff\xfe")
    assert row["error"] == "malformed JSON: invalid character (byte 0)"
    assert row["raw"] == "\ufffd\ufffd"
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


def kafka_batch(values: list[bytes | None], value_type: pa.DataType | None = None) -> pa.RecordBatch:
    count = len(values)
    return pa.record_batch(
        [
            pa.array(values, value_type or pa.binary()),
            pa.array(["clicks"] * count),
            pa.array([0] * count, pa.int32()),
            pa.array(range(count), pa.int64()),
            pa.array([ARRIVED] * count, pa.timestamp("us", tz="UTC")),
        ],
        names=["value", "topic", "partition", "offset", "kafka_timestamp"],
    )


@pytest.mark.parametrize("value_type", [pa.binary(), pa.large_binary()])
def test_a_slice_of_a_batch_is_read_from_its_own_offsets(value_type: pa.DataType) -> None:
    values = [json.dumps(VALID | {"event_id": f"e-{n}"}).encode() for n in range(4)]
    rows = parse_batch(kafka_batch([*values[:2], None, b"", *values[2:]], value_type).slice(1, 4)).to_pylist()
    assert [(row["offset"], (row["event"] or {}).get("event_id"), row["error"]) for row in rows] == [
        (1, "e-1", None),
        (4, "e-2", None),
        (2, None, "empty message"),
        (3, None, "malformed JSON: Input data was truncated"),
    ]


VALUES = st.one_of(
    st.builds(lambda changes: json.dumps(VALID | changes).encode(), st.dictionaries(
        st.sampled_from(["event_id", "age", "latitude", "city", "event_time", "nickname", "source"]),
        st.one_of(st.none(), st.integers(-5, 200), st.floats(-100, 100), st.text(max_size=4),
                  st.sampled_from(["2024-05-01T23:30:00+05:30", "2024-05-01T23:30:00", "2024-13-01T00:00:00Z"])),
        max_size=2,
    )),
    st.binary(max_size=12),
    st.none(),
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(values=st.lists(VALUES, max_size=8))
def test_each_value_gets_the_contracts_own_verdict_and_typed_fields(values: list[bytes | None]) -> None:
    rows = {row["offset"]: row for row in parse_batch(kafka_batch(values)).to_pylist()}
    assert sorted(rows) == list(range(len(values)))
    for offset, value in enumerate(values):
        row = rows[offset]
        try:
            expected = decode_event(value) if value is not None else None
        except ValidationError as refused:
            assert (row["event"], row["error"]) == (None, refused.reason)
            continue
        if expected is None:
            assert row["error"] == "empty message"
            continue
        assert row["error"] is None
        assert row["event"]["event_id"] == expected["event_id"]
        assert row["event"]["age"] == expected.get("age")
        assert row["event"]["event_time"] == datetime.fromisoformat(expected["event_time"])
        assert row["event_date"] == datetime.fromisoformat(expected["event_time"]).astimezone(UTC).date()
