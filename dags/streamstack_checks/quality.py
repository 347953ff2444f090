"""Does what was produced in an interval match what landed? Counting rules of the data-quality DAG.

"Produced" is read from the events topic itself: every record whose Kafka timestamp falls in the
interval. Records the streaming job rejected are recognised by the dead-letter records pointing
back at their (topic, partition, offset); the rest must appear in every sink, matched by event id,
so duplicates and replays (upserts by event_id) never inflate a count.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NamedTuple


@dataclass(frozen=True)
class Interval:
    """A half-open time range [start, end) in UTC, as Airflow's data interval."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("interval bounds need a timezone")
        if self.start >= self.end:
            raise ValueError(f"empty interval: {self.start.isoformat()} .. {self.end.isoformat()}")

    @property
    def start_ms(self) -> int:
        return _epoch_ms(self.start)

    @property
    def end_ms(self) -> int:
        return _epoch_ms(self.end)

    def contains_ms(self, timestamp_ms: int) -> bool:
        return self.start_ms <= timestamp_ms < self.end_ms

    def __str__(self) -> str:
        return f"{self.start.isoformat()} .. {self.end.isoformat()}"


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class SourceOffset(NamedTuple):
    """Where a Kafka record sits; dead letters name the record they reject this way."""

    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class KafkaRecord:
    """The parts of a consumed record the checks need."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    value: bytes | None

    @property
    def source(self) -> SourceOffset:
        return SourceOffset(self.topic, self.partition, self.offset)


def event_id_of(value: bytes | None) -> str | None:
    """The event id of a record's JSON value, or None when the value is not an event at all."""
    try:
        event = json.loads(value) if value is not None else None
    except ValueError:
        return None
    event_id = event.get("event_id") if isinstance(event, dict) else None
    return event_id if isinstance(event_id, str) and event_id else None


def dead_letter_source(value: bytes | None) -> SourceOffset | None:
    """Which record a dead letter rejects, or None for a dead letter that does not say."""
    try:
        letter = json.loads(value) if value is not None else None
    except ValueError:
        return None
    if not isinstance(letter, dict):
        return None
    topic, partition, offset = letter.get("topic"), letter.get("partition"), letter.get("offset")
    if not isinstance(topic, str) or not _is_int(partition) or not _is_int(offset):
        return None
    return SourceOffset(topic, partition, offset)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class ProducedSummary:
    """What the events topic holds for an interval."""

    produced: int  # records on the events topic
    dead_lettered: int  # of those, rejected by the streaming job
    expected_ids: frozenset[str] = field(repr=False)  # distinct ids every sink must hold

    @property
    def expected(self) -> int:
        return len(self.expected_ids)


def summarize_produced(records: Iterable[KafkaRecord], dead_letters: Iterable[bytes | None]) -> ProducedSummary:
    """Count the interval's records and the ids that should have landed, leaving out rejected ones."""
    rejected = {source for value in dead_letters if (source := dead_letter_source(value)) is not None}
    produced = dead_lettered = 0
    expected_ids: set[str] = set()
    for record in records:
        produced += 1
        if record.source in rejected:
            dead_lettered += 1
        elif (event_id := event_id_of(record.value)) is not None:
            expected_ids.add(event_id)
    return ProducedSummary(produced, dead_lettered, frozenset(expected_ids))


def event_ids(records: Iterable[KafkaRecord]) -> frozenset[str]:
    """Distinct event ids among records, whatever their fate in the streaming job."""
    return frozenset(event_id for record in records if (event_id := event_id_of(record.value)) is not None)


def dead_letter_rate(dead_lettered: int, produced: int) -> float:
    """Share of produced records the job rejected; an empty interval rejected nothing."""
    return dead_lettered / produced if produced else 0.0


@dataclass(frozen=True)
class QualityReport:
    """Numbers of one interval and what is wrong with them; empty `problems` means healthy."""

    interval: str
    produced: int
    dead_lettered: int
    expected: int
    found_by_sink: Mapping[str, int]
    dead_letter_rate_threshold: float
    min_produced: int

    @property
    def dead_letter_rate(self) -> float:
        return dead_letter_rate(self.dead_lettered, self.produced)

    @property
    def problems(self) -> tuple[str, ...]:
        problems = []
        if self.produced < self.min_produced:
            problems.append(f"only {self.produced} events produced, expected at least {self.min_produced}")
        if self.dead_letter_rate > self.dead_letter_rate_threshold:
            problems.append(
                f"dead-letter rate {self.dead_letter_rate:.2%} ({self.dead_lettered} of {self.produced}) "
                f"above threshold {self.dead_letter_rate_threshold:.2%}"
            )
        for sink, found in sorted(self.found_by_sink.items()):
            if found < self.expected:
                problems.append(f"{sink}: {self.expected - found} of {self.expected} events missing ({found} found)")
            elif found > self.expected:
                problems.append(f"{sink}: {found} events found, more than the {self.expected} accepted ones")
        return tuple(problems)

    def summary(self) -> str:
        landed = ", ".join(f"{sink} {found}" for sink, found in sorted(self.found_by_sink.items())) or "no sinks"
        return (
            f"interval {self.interval}: produced {self.produced}, dead-lettered {self.dead_lettered} "
            f"({self.dead_letter_rate:.2%}), expected in each sink {self.expected}, found: {landed}"
        )


def assess_interval(
    interval: Interval,
    produced: ProducedSummary | Mapping[str, int],
    found_by_sink: Mapping[str, int],
    dead_letter_rate_threshold: float,
    min_produced: int = 0,
) -> QualityReport:
    """Put an interval's numbers side by side; the caller fails when `problems` is not empty."""
    counts = produced if isinstance(produced, Mapping) else produced_counts(produced)
    return QualityReport(
        interval=str(interval),
        produced=counts["produced"],
        dead_lettered=counts["dead_lettered"],
        expected=counts["expected"],
        found_by_sink=dict(found_by_sink),
        dead_letter_rate_threshold=dead_letter_rate_threshold,
        min_produced=min_produced,
    )


def produced_counts(summary: ProducedSummary) -> dict[str, int]:
    """The summary's numbers alone, small enough to pass between tasks."""
    return {"produced": summary.produced, "dead_lettered": summary.dead_lettered, "expected": summary.expected}


@dataclass(frozen=True)
class StoredObject:
    """A file in S3 or HDFS as a listing shows it."""

    path: str
    modified: datetime
    size: int


def event_date_partitions(interval: Interval, slack: timedelta = timedelta(days=1)) -> list[str]:
    """Partition directories (`event_date=YYYY-MM-DD`) that can hold the interval's events.

    Partitions follow event_time, which the producer stamps just before sending, so a day of
    slack before the interval covers late clocks without listing the whole table.
    """
    first = (interval.start - slack).astimezone(UTC).date()
    last = interval.end.astimezone(UTC).date()
    return [f"event_date={first + timedelta(days=day)}" for day in range((last - first).days + 1)]


def data_files_written_since(objects: Iterable[StoredObject], since: datetime) -> list[str]:
    """Parquet files that can hold events produced after `since`: files written earlier cannot.

    Spark's bookkeeping (`_spark_metadata`, `_SUCCESS`) and in-progress hidden files are skipped.
    """
    return sorted(
        stored.path
        for stored in objects
        if stored.modified >= since
        and stored.path.endswith(".parquet")
        and not any(part.startswith(("_", ".")) for part in stored.path.split("/"))
    )


def batched(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    """Consecutive slices of at most `size` items (bounded IN lists for Cassandra)."""
    if size < 1:
        raise ValueError("batch size must be positive")
    for start in range(0, len(items), size):
        yield items[start : start + size]
