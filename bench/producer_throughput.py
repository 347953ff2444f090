"""Producer throughput against a local Tansu broker: per-message flush vs. the batched sink vs. the whole loop.

Run from the repository root: `.venv/bin/python -m bench.producer_throughput`. Not a test: numbers
vary between machines and runs; compare the lines of one run with each other.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from confluent_kafka import Producer

from tests.fixtures.kafka_broker import start_broker
from workloads.contract import encode_event
from workloads.producer.kafka_sink import KafkaSink, producer_config
from workloads.producer.runner import EventProducer, Limits
from workloads.producer.sources import SYNTHETIC, SyntheticSource
from workloads.producer.transform import to_event


def encoded_events(count: int) -> list[tuple[str, bytes]]:
    now = datetime.now(UTC)
    profiles = SyntheticSource(seed=1).fetch(count).profiles
    events = [to_event(profile, source=SYNTHETIC, pseudonym_key=b"bench", event_time=now) for profile in profiles]
    return [(event["user_id"], encode_event(event)) for event in events]


def flush_per_message(bootstrap: str, topic: str, events: list[tuple[str, bytes]]) -> float:
    """The tutorial loop: produce, then flush, for every event."""
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    started = time.perf_counter()
    for key, value in events:
        producer.produce(topic, value, key.encode())
        producer.flush()
    return len(events) / (time.perf_counter() - started)


def batched_sink(bootstrap: str, topic: str, events: list[tuple[str, bytes]]) -> float:
    sink = KafkaSink(producer_config(bootstrap, delivery_timeout_s=60.0, client_id="bench"))
    started = time.perf_counter()
    for key, value in events:
        sink.send(topic, key, value)
    sink.flush(60.0)
    elapsed = time.perf_counter() - started
    assert sink.counts.delivered == len(events), sink.counts
    return len(events) / elapsed


def whole_loop(bootstrap: str, topic: str, count: int) -> float:
    """Source, transformation, validation and sink together, unthrottled."""
    sink = KafkaSink(producer_config(bootstrap, delivery_timeout_s=60.0, client_id="bench"))
    producer = EventProducer(
        source=SyntheticSource(seed=2),
        sink=sink,
        topic=topic,
        pseudonym_key=b"bench",
        events_per_second=1e9,
        batch_size=1000,
        progress_interval_s=3600.0,
        delivery_timeout_s=60.0,
        report=lambda line: None,
    )
    summary = producer.run(Limits(count=count))
    assert summary.ok, summary.describe()
    return summary.delivered / summary.elapsed_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--baseline-events", type=int, default=3000)
    parser.add_argument("--events", type=int, default=200_000)
    args = parser.parse_args()
    broker = start_broker(Path(tempfile.mkdtemp(prefix="bench-kafka-")))
    try:
        events = encoded_events(args.events)
        baseline = flush_per_message(broker.bootstrap, broker.create_topic(), events[: args.baseline_events])
        batched = batched_sink(broker.bootstrap, broker.create_topic(), events)
        loop = whole_loop(broker.bootstrap, broker.create_topic(), args.events // 4)
    finally:
        broker.stop()
    print(f"flush per message      {baseline:>10,.0f} events/s  ({args.baseline_events} events)")
    print(f"batched KafkaSink      {batched:>10,.0f} events/s  ({args.events} pre-encoded events)")
    print(f"whole producer loop    {loop:>10,.0f} events/s  ({args.events // 4} events incl. transformation)")
    print(f"batched / per-message  {batched / baseline:>10.1f}x")


if __name__ == "__main__":
    main()
