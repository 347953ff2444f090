"""The data-quality DAG's counting rules, without Airflow or servers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dags.streamstack_checks.quality import (
    Interval,
    KafkaRecord,
    SourceOffset,
    StoredObject,
    assess_interval,
    batched,
    data_files_written_since,
    dead_letter_rate,
    dead_letter_source,
    event_date_partitions,
    event_id_of,
    event_ids,
    produced_counts,
    summarize_produced,
)

START = datetime(2026, 3, 1, 10, tzinfo=UTC)
HOUR = Interval(START, START + timedelta(hours=1))


def record(offset: int, value: bytes | None, partition: int = 0, topic: str = "events") -> KafkaRecord:
    return KafkaRecord(topic, partition, offset, HOUR.start_ms + offset, value)


def event(event_id: str) -> bytes:
    return json.dumps({"event_id": event_id, "first_name": "Ada"}).encode()


def letter(topic: str, partition: int, offset: int) -> bytes:
    return json.dumps(
        {"raw": "x", "reason": "age: -1 outside 0..150", "topic": topic, "partition": partition, "offset": offset}
    ).encode()


def test_interval_is_half_open_in_epoch_milliseconds():
    assert HOUR.start_ms == 1772359200000
    assert HOUR.contains_ms(HOUR.start_ms)
    assert HOUR.contains_ms(HOUR.end_ms - 1)
    assert not HOUR.contains_ms(HOUR.end_ms)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (START, START, "empty interval"),
        (START.replace(tzinfo=None), START + timedelta(hours=1), "timezone"),
    ],
)
def test_interval_rejects_empty_or_naive_bounds(start, end, message):
    with pytest.raises(ValueError, match=message):
        Interval(start, end)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (event("e-1"), "e-1"),
        (b"not json", None),
        (b"[1, 2]", None),
        (json.dumps({"event_id": ""}).encode(), None),
        (json.dumps({"event_id": 7}).encode(), None),
        (None, None),
    ],
)
def test_event_id_of_reads_only_real_event_ids(value, expected):
    assert event_id_of(value) == expected


def test_dead_letter_source_names_the_rejected_record():
    assert dead_letter_source(letter("events", 2, 41)) == SourceOffset("events", 2, 41)


@pytest.mark.parametrize(
    "value",
    [
        b"{",
        None,
        b'"text"',
        json.dumps({"topic": "events", "partition": "2", "offset": 41}).encode(),
        json.dumps({"topic": "events", "partition": True, "offset": 41}).encode(),
        json.dumps({"partition": 2, "offset": 41}).encode(),
    ],
)
def test_dead_letter_source_ignores_letters_that_do_not_say(value):
    assert dead_letter_source(value) is None


def test_summarize_produced_leaves_rejected_records_out_of_the_expected_ids():
    records = [record(0, event("a")), record(1, event("b")), record(2, b"garbage"), record(0, event("c"), partition=1)]
    letters = [letter("events", 0, 2), letter("events", 1, 0), letter("other-topic", 0, 1), b"unreadable"]

    summary = summarize_produced(records, letters)

    assert (summary.produced, summary.dead_lettered) == (4, 2)
    assert summary.expected_ids == {"a", "b"}
    assert produced_counts(summary) == {"produced": 4, "dead_lettered": 2, "expected": 2}


def test_summarize_produced_counts_a_replayed_event_once():
    summary = summarize_produced([record(0, event("a")), record(1, event("a"))], [])

    assert (summary.produced, summary.expected) == (2, 1)


def test_event_ids_are_distinct_and_skip_non_events():
    assert event_ids([record(0, event("a")), record(1, event("a")), record(2, b"x"), record(3, event("b"))]) == {
        "a",
        "b",
    }


@pytest.mark.parametrize(("dead", "produced", "rate"), [(0, 0, 0.0), (1, 4, 0.25), (5, 5, 1.0)])
def test_dead_letter_rate(dead, produced, rate):
    assert dead_letter_rate(dead, produced) == rate


def test_matching_counts_are_healthy():
    report = assess_interval(
        HOUR,
        {"produced": 100, "dead_lettered": 2, "expected": 98},
        {"cassandra": 98, "s3": 98},
        dead_letter_rate_threshold=0.05,
        min_produced=1,
    )

    assert report.problems == ()
    assert report.summary() == (
        "interval 2026-03-01T10:00:00+00:00 .. 2026-03-01T11:00:00+00:00: produced 100, dead-lettered 2 (2.00%), "
        "expected in each sink 98, found: cassandra 98, s3 98"
    )


def test_missing_rows_are_reported_with_the_numbers():
    report = assess_interval(
        HOUR,
        {"produced": 100, "dead_lettered": 0, "expected": 100},
        {"cassandra": 60, "s3": 100, "hdfs": 101},
        dead_letter_rate_threshold=0.05,
    )

    assert report.problems == (
        "cassandra: 40 of 100 events missing (60 found)",
        "hdfs: 101 events found, more than the 100 accepted ones",
    )


def test_dead_letter_rate_above_threshold_is_a_problem():
    report = assess_interval(
        HOUR, {"produced": 50, "dead_lettered": 6, "expected": 44}, {"s3": 44}, dead_letter_rate_threshold=0.1
    )

    assert report.problems == ("dead-letter rate 12.00% (6 of 50) above threshold 10.00%",)


def test_rate_at_the_threshold_passes():
    report = assess_interval(
        HOUR, {"produced": 10, "dead_lettered": 1, "expected": 9}, {"s3": 9}, dead_letter_rate_threshold=0.1
    )

    assert report.problems == ()


def test_too_few_produced_events_mean_ingestion_stopped():
    report = assess_interval(
        HOUR,
        {"produced": 0, "dead_lettered": 0, "expected": 0},
        {"cassandra": 0},
        dead_letter_rate_threshold=0.05,
        min_produced=1,
    )

    assert report.problems == ("only 0 events produced, expected at least 1",)


def test_assess_accepts_a_summary_as_well_as_counts():
    summary = summarize_produced([record(0, event("a")), record(1, event("b"))], [])

    report = assess_interval(HOUR, summary, {"cassandra": 1}, dead_letter_rate_threshold=0.0)

    assert report.problems == ("cassandra: 1 of 2 events missing (1 found)",)


def test_event_date_partitions_cover_a_day_of_slack_and_the_end_date():
    late_evening = Interval(datetime(2026, 3, 1, 23, 30, tzinfo=UTC), datetime(2026, 3, 2, 0, 30, tzinfo=UTC))

    assert event_date_partitions(late_evening) == [
        "event_date=2026-02-28",
        "event_date=2026-03-01",
        "event_date=2026-03-02",
    ]
    assert event_date_partitions(HOUR, slack=timedelta(0)) == ["event_date=2026-03-01"]


def test_event_date_partitions_follow_utc_whatever_the_bounds_zone():
    tokyo = datetime(2026, 3, 2, 8, tzinfo=UTC).astimezone(ZoneInfo("Asia/Tokyo"))
    interval = Interval(tokyo - timedelta(hours=1), tokyo)

    assert event_date_partitions(interval, slack=timedelta(0)) == ["event_date=2026-03-02"]


def test_only_parquet_data_files_written_since_the_start_are_read():
    before, after = START - timedelta(minutes=1), START + timedelta(minutes=5)
    listed = [
        StoredObject("events/event_date=2026-03-01/part-0001.snappy.parquet", after, 10),
        StoredObject("events/event_date=2026-03-01/part-0000.snappy.parquet", before, 10),
        StoredObject("events/event_date=2026-03-01/part-0002.snappy.parquet", START, 10),
        StoredObject("events/_spark_metadata/0", after, 10),
        StoredObject("events/event_date=2026-03-01/_SUCCESS", after, 0),
        StoredObject("events/event_date=2026-03-01/.part-0003.parquet.crc", after, 1),
        StoredObject("events/_temporary/0/part-0004.parquet", after, 10),
    ]

    assert data_files_written_since(listed, START) == [
        "events/event_date=2026-03-01/part-0001.snappy.parquet",
        "events/event_date=2026-03-01/part-0002.snappy.parquet",
    ]


def test_batched_slices_in_order():
    assert list(batched(["a", "b", "c", "d", "e"], 2)) == [["a", "b"], ["c", "d"], ["e"]]
    assert list(batched([], 3)) == []
    with pytest.raises(ValueError, match="positive"):
        list(batched(["a"], 0))
