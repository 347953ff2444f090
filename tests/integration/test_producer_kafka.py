"""The producer against a real Kafka-protocol broker (Tansu): delivery, shutdown and broker failures."""

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.fixtures._servers import free_port
from workloads.contract import decode_event
from workloads.producer.kafka_sink import KafkaSink, producer_config
from workloads.producer.runner import EventProducer, Limits
from workloads.producer.sources import SYNTHETIC, SyntheticSource

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SUMMARY = re.compile(
    r"summary sent=(?P<sent>\d+) delivered=(?P<delivered>\d+) failed=(?P<failed>\d+) "
    r"undelivered=(?P<undelivered>\d+) rejected=(?P<rejected>\d+)"
)


def producer_command(bootstrap: str, topic: str, *flags: str, source: str = SYNTHETIC) -> list[str]:
    return [
        sys.executable, "-m", "workloads.producer",
        "--bootstrap-servers", bootstrap,
        "--topic", topic,
        "--source", source,
        *flags,
    ]  # fmt: skip


def producer_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "PSEUDONYM_KEY": "integration-key", **extra}


def run_producer(bootstrap: str, topic: str, *flags: str, source: str = SYNTHETIC, **env: str):
    """Run the producer's command line to its end (at most 2 min); the caller asserts on status and log."""
    return subprocess.run(
        producer_command(bootstrap, topic, *flags, source=source),
        env=producer_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def summary_of(log: str) -> dict[str, int]:
    match = SUMMARY.search(log)
    assert match, f"no summary line in:\n{log}"
    return {name: int(value) for name, value in match.groupdict().items()}


def wait_for_line(process: subprocess.Popen, pattern: str, deadline_s: float = 120) -> list[str]:
    """Read the producer's log until a line matches; returns the lines read so far. A producer that
    goes quiet is killed after `deadline_s`, which ends the read instead of hanging the suite."""
    lines = []
    watchdog = threading.Timer(deadline_s, process.kill)
    watchdog.start()
    try:
        for line in process.stderr:
            lines.append(line)
            if re.search(pattern, line):
                return lines
    finally:
        watchdog.cancel()
    pytest.fail("producer ended before logging /{}/:\n{}".format(pattern, "".join(lines)))


def test_n_events_produced_are_n_valid_events_consumed_keyed_by_user(kafka_broker):
    topic = kafka_broker.create_topic()
    sink = KafkaSink(producer_config(kafka_broker.bootstrap, delivery_timeout_s=30.0, client_id="test"))
    producer = EventProducer(
        source=SyntheticSource(seed=11),
        sink=sink,
        topic=topic,
        pseudonym_key=b"k",
        events_per_second=1e6,
        batch_size=500,
        progress_interval_s=10.0,
        delivery_timeout_s=30.0,
    )

    summary = producer.run(Limits(count=2000))

    assert summary.ok
    assert (summary.sent, summary.delivered, summary.failed, summary.undelivered) == (2000, 2000, 0, 0)
    messages = kafka_broker.consume_all(topic, expected=2000)
    assert len(messages) == 2000
    events = [decode_event(message.value()) for message in messages]
    assert all(message.key().decode() == event["user_id"] for message, event in zip(messages, events, strict=True))
    assert len({event["event_id"] for event in events}) == 2000
    assert {event["source"] for event in events} == {SYNTHETIC}


def test_command_line_run_delivers_reports_and_touches_the_health_file(kafka_broker, tmp_path):
    topic = kafka_broker.create_topic()
    health_file = tmp_path / "health" / "producer"
    result = run_producer(
        kafka_broker.bootstrap, topic, "--count", "300", "--events-per-second", "100000", HEALTH_FILE=str(health_file)
    )
    assert result.returncode == 0, result.stderr
    assert summary_of(result.stderr) == {"sent": 300, "delivered": 300, "failed": 0, "undelivered": 0, "rejected": 0}
    assert re.search(r"progress sent=300 delivered=300 failed=0 in_flight=0 rejected=0 rate=[\d.]+/s", result.stderr)
    assert health_file.exists()
    assert len(kafka_broker.consume_all(topic, expected=300)) == 300


def test_sigterm_flushes_what_was_sent_and_exits_cleanly(kafka_broker):
    topic = kafka_broker.create_topic()
    process = subprocess.Popen(
        producer_command(kafka_broker.bootstrap, topic, "--events-per-second", "2000", "--progress-interval", "0.2"),
        env=producer_env(),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_line(process, r"progress sent=[1-9]")
        process.send_signal(signal.SIGTERM)
        _, rest = process.communicate(timeout=60)
    finally:
        process.kill()
    assert "received SIGTERM" in rest
    assert process.returncode == 0, rest
    summary = summary_of(rest)
    assert summary["sent"] == summary["delivered"] > 0
    assert (summary["failed"], summary["undelivered"]) == (0, 0)
    messages = kafka_broker.consume_all(topic, expected=summary["delivered"])
    assert len(messages) == summary["delivered"]


def test_broker_down_at_start_reports_nothing_delivered_and_fails(tmp_path):
    nobody_listens = f"127.0.0.1:{free_port()}"
    result = run_producer(
        nobody_listens, "events", "--count", "50", "--events-per-second", "1000", "--delivery-timeout", "2"
    )
    assert result.returncode == 1, result.stderr
    assert summary_of(result.stderr) == {"sent": 50, "delivered": 0, "failed": 50, "undelivered": 0, "rejected": 0}


def test_broker_lost_mid_run_never_reports_undelivered_events_as_delivered(kafka_broker_factory):
    broker = kafka_broker_factory()
    topic = broker.create_topic(partitions=1)
    process = subprocess.Popen(
        producer_command(
            broker.bootstrap, topic,
            "--events-per-second", "500", "--duration", "6", "--delivery-timeout", "2", "--progress-interval", "0.2",
        ),
        env=producer_env(),
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        wait_for_line(process, r"progress sent=\d+ delivered=[1-9]")
        broker.pause()
        _, rest = process.communicate(timeout=120)
    finally:
        process.kill()
        broker.resume()
    summary = summary_of(rest)
    assert process.returncode == 1, rest
    assert summary["failed"] + summary["undelivered"] > 0
    assert summary["delivered"] + summary["failed"] + summary["undelivered"] == summary["sent"]
    # Whatever was reported delivered must really be in the topic (more may be: unacknowledged writes).
    stored = broker.consume_all(topic, expected=summary["delivered"])
    assert len({decode_event(message.value())["event_id"] for message in stored}) >= summary["delivered"]
