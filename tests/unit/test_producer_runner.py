"""The produce loop's pure parts: pacing, health, progress lines, and the loop's own bookkeeping."""

import threading

import pytest

from workloads.contract import decode_event
from workloads.producer.kafka_sink import DeliveryCounts
from workloads.producer.runner import (
    EventProducer,
    Limits,
    ProgressReporter,
    RateLimiter,
    made_progress,
    progress_line,
)
from workloads.producer.sources import SYNTHETIC, Batch, SyntheticSource


def test_rate_limiter_spaces_sends_by_the_interval():
    limiter = RateLimiter(rate=4.0)
    assert limiter.delay(10.0) == 0.0
    limiter.record_send(10.0)
    assert limiter.delay(10.0) == pytest.approx(0.25)
    assert limiter.delay(10.1) == pytest.approx(0.15)
    limiter.record_send(10.25)
    assert limiter.delay(10.25) == pytest.approx(0.25)


def test_rate_limiter_keeps_the_schedule_rather_than_each_gap():
    limiter = RateLimiter(rate=10.0)
    limiter.record_send(0.0)
    limiter.record_send(0.15)  # sent late: the next one is still due at 0.2, not 0.25
    assert limiter.delay(0.15) == pytest.approx(0.05)


def test_rate_limiter_catches_up_after_a_stall_by_at_most_the_burst_window():
    limiter = RateLimiter(rate=4.0, max_burst_s=1.0)
    limiter.record_send(0.0)
    due_immediately = 0
    now = 30.0  # a 30 s stall "owes" 120 events
    while limiter.delay(now) == 0.0:
        limiter.record_send(now)
        due_immediately += 1
    assert due_immediately == 5  # one second's worth, plus the one due right now


def test_rate_limiter_grants_what_is_due_in_one_go_and_keeps_the_schedule():
    limiter = RateLimiter(rate=4.0, max_burst_s=1.0)
    assert limiter.due(0.0, at_most=100) == 1  # the first send is due at once, no more
    limiter.record_send(0.0)
    assert limiter.due(0.1, at_most=100) == 0
    assert limiter.due(0.6, at_most=100) == 2  # due at 0.25 and 0.5
    assert limiter.due(0.6, at_most=1) == 1
    limiter.record_send(0.6, count=2)
    assert limiter.delay(0.6) == pytest.approx(0.15)  # the next is due at 0.75, as scheduled
    assert limiter.due(30.0, at_most=100) == 5  # after a stall: the burst window's worth


def test_rate_must_be_positive():
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(rate=0)


@pytest.mark.parametrize(
    ("previous", "current", "healthy"),
    [
        (DeliveryCounts(10, 10, 0), DeliveryCounts(20, 15, 0), True),  # deliveries advancing
        (DeliveryCounts(10, 10, 0), DeliveryCounts(10, 10, 0), True),  # idle, nothing waiting
        (DeliveryCounts(10, 5, 0), DeliveryCounts(20, 5, 0), False),  # stuck: waiting, nothing delivered
        (DeliveryCounts(10, 10, 0), DeliveryCounts(20, 10, 10), False),  # everything failing
        (DeliveryCounts(10, 10, 0), DeliveryCounts(30, 20, 10), True),  # some failures, still delivering
    ],
)
def test_health_means_deliveries_advance_or_nothing_is_waiting(previous, current, healthy):
    assert made_progress(previous, current) is healthy


def test_progress_line_reports_counts_and_delivery_rate():
    line = progress_line(DeliveryCounts(100, 90, 0), DeliveryCounts(250, 240, 3), rejected=2, interval_s=10.0)
    assert line == "progress sent=250 delivered=240 failed=3 in_flight=7 rejected=2 rate=15.0/s"


def test_progress_is_reported_once_per_interval_and_the_health_file_touched_only_while_healthy(tmp_path):
    health_file = tmp_path / "state" / "healthy"
    lines = []
    reporter = ProgressReporter(10.0, lines.append, health_file, now=0.0)

    reporter.maybe_report(9.9, DeliveryCounts(50, 40, 0), rejected=0)
    assert lines == []
    reporter.maybe_report(10.0, DeliveryCounts(100, 100, 0), rejected=1)
    assert lines == ["progress sent=100 delivered=100 failed=0 in_flight=0 rejected=1 rate=10.0/s"]
    assert health_file.exists()

    health_file.unlink()
    reporter.maybe_report(20.0, DeliveryCounts(200, 100, 0), rejected=1)  # 100 waiting, none delivered
    assert lines[-1] == "progress sent=200 delivered=100 failed=0 in_flight=100 rejected=1 rate=0.0/s"
    assert not health_file.exists()


class RecordingSink:
    """Our own EventSink port, in memory: acknowledges everything it is given on the next poll."""

    def __init__(self):
        self.counts = DeliveryCounts()
        self.fatal_error = None
        self.sent = []

    def send(self, topic, key, value):
        self.sent.append((topic, key, value))
        self.counts.sent += 1

    def poll(self, timeout_s):
        self.counts.delivered = self.counts.sent

    def flush(self, timeout_s):
        self.poll(0)
        return 0


class FixedSource:
    def __init__(self, profiles):
        self.profiles = profiles

    def fetch(self, count):
        return Batch(SYNTHETIC, self.profiles[:count])


def make_producer(source, sink, **overrides):
    settings = {
        "source": source,
        "sink": sink,
        "topic": "events",
        "pseudonym_key": b"k",
        "events_per_second": 1e9,
        "batch_size": 10,
        "progress_interval_s": 3600.0,
        "delivery_timeout_s": 1.0,
        "event_clock": lambda: "2024-05-01T00:00:00.000+00:00",
        "report": lambda line: None,
    }
    return EventProducer(**(settings | overrides))


def test_a_counted_run_sends_exactly_that_many_valid_events_keyed_by_user():
    sink = RecordingSink()
    summary = make_producer(SyntheticSource(seed=1), sink, batch_size=7).run(Limits(count=25))
    assert summary.ok
    assert (summary.sent, summary.delivered, summary.rejected) == (25, 25, 0)
    assert len(sink.sent) == 25
    for topic, key, value in sink.sent:
        assert topic == "events"
        assert decode_event(value)["user_id"] == key


def test_broken_profiles_are_counted_by_field_and_never_sent():
    good = SyntheticSource(seed=2).fetch(3).profiles
    broken = [{"email": "x@example.com"}, "junk", {**good[0], "email": 5}]
    sink = RecordingSink()
    summary = make_producer(FixedSource(good + broken), sink).run(Limits(count=6))
    assert (summary.sent, summary.rejected) == (3, 3)
    assert summary.rejections == {"name": 1, "profile": 1, "email": 1}
    assert [key for _, key, _ in sink.sent] == [profile["login"]["uuid"] for profile in good]


def test_a_stop_request_ends_the_run_and_still_flushes():
    stop = threading.Event()
    stop.set()
    sink = RecordingSink()
    summary = make_producer(SyntheticSource(seed=1), sink, stop=stop).run(Limits())
    assert (summary.sent, summary.delivered, summary.undelivered) == (0, 0, 0)


def test_a_summary_with_undelivered_events_is_not_ok():
    sink = RecordingSink()
    sink.poll = lambda timeout_s: None  # the broker never acknowledges anything
    sink.flush = lambda timeout_s: 5
    summary = make_producer(SyntheticSource(seed=1), sink).run(Limits(count=5))
    assert (summary.sent, summary.delivered, summary.undelivered, summary.ok) == (5, 0, 5, False)
