"""The produce loop: fetch profiles, transform, pace, send, report, and stop cleanly."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from workloads.contract import ValidationError, encode_event
from workloads.health import touch_heartbeat
from workloads.producer.kafka_sink import DeliveryCounts
from workloads.producer.sources import Profile, ProfileSource
from workloads.producer.transform import EventClock, to_event

log = logging.getLogger(__name__)

_LOGGED_REJECTIONS = 20  # log each reason for the first few, then only count
_MAX_POLL_WHILE_PACING_S = 0.1
# Events sent between two looks at the clock, the stop signal and the progress line: about 10 ms of
# work unthrottled, and never more than the rate allows at that moment.
_CHUNK = 500


class EventSink(Protocol):
    counts: DeliveryCounts
    fatal_error: str | None
    last_error: str | None

    def send(self, topic: str, key: str, value: bytes) -> None: ...
    def poll(self, timeout_s: float) -> None: ...
    def flush(self, timeout_s: float) -> int: ...


class RateLimiter:
    """Paces sends to `rate` per second; the schedule, not each gap, is kept, so it does not drift.

    After a stall (a slow API call) it catches up by at most `max_burst_s` worth of events rather
    than flooding the broker with everything the stall "owed".
    """

    def __init__(self, rate: float, max_burst_s: float = 1.0) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._interval_s = 1.0 / rate
        self._max_burst_s = max_burst_s
        self._next_due: float | None = None

    def delay(self, now: float) -> float:
        """Seconds to wait before the next send is due (0 when it is due)."""
        return 0.0 if self._next_due is None else max(0.0, self._next_due - now)

    def due(self, now: float, at_most: int) -> int:
        """How many sends are due at `now` (at most `at_most`), so they can go without a clock read each."""
        if self._next_due is None:
            return 1
        earliest = max(self._next_due, now - self._max_burst_s)
        if now < earliest:
            return 0
        return min(at_most, int((now - earliest) / self._interval_s) + 1)

    def record_send(self, now: float, count: int = 1) -> None:
        due = now if self._next_due is None else max(self._next_due, now - self._max_burst_s)
        self._next_due = due + count * self._interval_s


@dataclass(frozen=True)
class Limits:
    """A bounded run for DAG tasks; both None means run until stopped."""

    count: int | None = None
    duration_s: float | None = None


@dataclass
class RunSummary:
    sent: int
    delivered: int
    failed: int
    undelivered: int
    rejected: int
    elapsed_s: float
    rejections: Counter[str] = field(default_factory=Counter)
    fatal_error: str | None = None

    @property
    def ok(self) -> bool:
        """True only if every event handed to Kafka was acknowledged."""
        return self.failed == 0 and self.undelivered == 0 and self.fatal_error is None

    def describe(self) -> str:
        return (
            f"summary sent={self.sent} delivered={self.delivered} failed={self.failed} "
            f"undelivered={self.undelivered} rejected={self.rejected} elapsed={self.elapsed_s:.1f}s "
            f"rejections={dict(self.rejections.most_common(5))}"
        )


def progress_line(previous: DeliveryCounts, current: DeliveryCounts, rejected: int, interval_s: float) -> str:
    rate = (current.delivered - previous.delivered) / interval_s if interval_s > 0 else 0.0
    return (
        f"progress sent={current.sent} delivered={current.delivered} failed={current.failed} "
        f"in_flight={current.in_flight} rejected={rejected} rate={rate:.1f}/s"
    )


def made_progress(previous: DeliveryCounts, current: DeliveryCounts) -> bool:
    """Healthy: deliveries advanced, or nothing is waiting and nothing new failed (idle at a low rate)."""
    if current.failed > previous.failed and current.delivered == previous.delivered:
        return False
    return current.delivered > previous.delivered or current.in_flight == 0


def _reason_kind(reason: str) -> str:
    """The field part of a rejection reason (`latitude: ...` -> `latitude`), for grouping counts."""
    return reason.split(":", 1)[0]


class ProgressReporter:
    """A progress line, and a touched health file while healthy, at most once per interval."""

    def __init__(self, interval_s: float, report: Callable[[str], None], health_file: Path | None, now: float) -> None:
        self._interval_s = interval_s
        self._report = report
        self._health_file = health_file
        self._last_at = now
        self._last_counts = DeliveryCounts()

    def maybe_report(self, now: float, counts: DeliveryCounts, rejected: int, *, force: bool = False) -> None:
        elapsed = now - self._last_at
        if not force and elapsed < self._interval_s:
            return
        current = dataclasses.replace(counts)
        self._report(progress_line(self._last_counts, current, rejected, elapsed))
        if self._health_file is not None and made_progress(self._last_counts, current):
            touch_heartbeat(self._health_file)
        self._last_at, self._last_counts = now, current


@dataclass
class EventProducer:
    """Wires a profile source to an event sink under a rate, limits and a stop signal."""

    source: ProfileSource
    sink: EventSink
    topic: str
    pseudonym_key: bytes
    events_per_second: float
    batch_size: int
    progress_interval_s: float
    delivery_timeout_s: float
    health_file: Path | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    clock: Callable[[], float] = time.monotonic
    event_clock: Callable[[], str] = field(default_factory=EventClock)
    report: Callable[[str], None] = log.info

    def run(self, limits: Limits) -> RunSummary:
        """Produce until the limits are reached or `stop` is set, then flush and account for every event."""
        started = self.clock()
        limiter = RateLimiter(self.events_per_second)
        progress = ProgressReporter(self.progress_interval_s, self.report, self.health_file, started)
        rejections: Counter[str] = Counter()
        attempted = 0

        def finished() -> bool:
            return (
                self.stop.is_set()
                or self.sink.fatal_error is not None
                or (limits.count is not None and attempted >= limits.count)
                or (limits.duration_s is not None and self.clock() - started >= limits.duration_s)
            )

        def wait_for_turn() -> int:
            """Serve delivery reports until the rate allows sends; how many may go now (0 if stopped)."""
            while (wait := limiter.delay(self.clock())) > 0:
                if finished():
                    return 0
                self.sink.poll(min(wait, _MAX_POLL_WHILE_PACING_S))
                progress.maybe_report(self.clock(), self.sink.counts, rejections.total())
            return limiter.due(self.clock(), _CHUNK)

        def send(profiles: list[Profile], source: str) -> int:
            """Map, validate, encode and send each profile; how many were sent."""
            sent, key, topic, clock, sink_send = 0, self.pseudonym_key, self.topic, self.event_clock, self.sink.send
            for profile in profiles:
                try:
                    event = to_event(profile, source=source, pseudonym_key=key, event_time=clock())
                    value = encode_event(event)
                except ValidationError as error:
                    rejections[_reason_kind(error.reason)] += 1
                    if rejections.total() <= _LOGGED_REJECTIONS:
                        log.warning("rejected %s record: %s", source, error.reason)
                    continue
                sink_send(topic, event["user_id"], value)
                sent += 1
            return sent

        while not finished():
            wanted = self.batch_size if limits.count is None else min(self.batch_size, limits.count - attempted)
            batch = self.source.fetch(wanted)
            position = 0
            while position < len(batch.profiles) and not finished() and (allowed := wait_for_turn()):
                chunk = batch.profiles[position : position + allowed]
                position += len(chunk)
                attempted += len(chunk)
                limiter.record_send(self.clock(), send(chunk, batch.source))
                progress.maybe_report(self.clock(), self.sink.counts, rejections.total())

        self.report(f"stopping: flushing {self.sink.counts.in_flight} in-flight events")
        self.sink.flush(self.delivery_timeout_s + 5.0)
        counts = self.sink.counts
        progress.maybe_report(self.clock(), counts, rejections.total(), force=True)
        return RunSummary(
            sent=counts.sent,
            delivered=counts.delivered,
            failed=counts.failed,
            undelivered=counts.in_flight,
            rejected=rejections.total(),
            elapsed_s=self.clock() - started,
            rejections=rejections,
            fatal_error=self.sink.fatal_error,
        )
