"""`producer`: events/s delivered to the local Kafka-protocol broker (Tansu), against the tutorials' loop that
flushes after every message.

- batched sink: the producer's `KafkaSink` (idempotent, acks=all, lz4, linger) sending pre-encoded events;
- whole loop: `EventProducer` unthrottled with the synthetic source: source, mapping, validation, encoding
  and sending, every event acknowledged before it counts (goal: 60k events/s).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from confluent_kafka import Producer

from bench.report import Goal, Record, record
from bench.servers import Servers
from workloads.contract import encode_event
from workloads.producer.kafka_sink import KafkaSink, producer_config
from workloads.producer.runner import EventProducer, Limits
from workloads.producer.sources import SYNTHETIC, SyntheticSource
from workloads.producer.transform import contract_time, to_event

STAGE = "producer"
FLUSH_EVENTS = 3_000
SINK_EVENTS = 200_000
LOOP_EVENTS = 100_000
WHOLE_LOOP_GOAL = Goal(60_000, "ours")


def encoded_events(count: int) -> list[tuple[str, bytes]]:
    now = datetime.now(UTC)
    profiles = SyntheticSource(seed=1).fetch(count).profiles
    events = [
        to_event(profile, source=SYNTHETIC, pseudonym_key=b"bench", event_time=contract_time(now))
        for profile in profiles
    ]
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
    if sink.counts.delivered != len(events):
        raise RuntimeError(f"the sink lost events: {sink.counts}")
    return len(events) / elapsed


def whole_loop(bootstrap: str, topic: str, count: int) -> float:
    """Source, mapping, validation, encoding and sending together, unthrottled; rate of acknowledged events."""
    producer = EventProducer(
        source=SyntheticSource(seed=2),
        sink=KafkaSink(producer_config(bootstrap, delivery_timeout_s=60.0, client_id="bench")),
        topic=topic,
        pseudonym_key=b"bench",
        events_per_second=1e9,
        batch_size=1000,
        progress_interval_s=3600.0,
        delivery_timeout_s=60.0,
        report=lambda line: None,
    )
    summary = producer.run(Limits(count=count))
    if not summary.ok or summary.delivered != count:
        raise RuntimeError(f"the loop lost events: {summary.describe()}")
    return summary.delivered / summary.elapsed_s


def run(servers: Servers, runs: int, progress: Callable[[str], None]) -> list[Record]:
    broker = servers.kafka()
    events = encoded_events(SINK_EVENTS)
    measures: dict[str, Callable[[], float]] = {
        "flush": lambda: flush_per_message(broker.bootstrap, broker.create_topic(), events[:FLUSH_EVENTS]),
        "sink": lambda: batched_sink(broker.bootstrap, broker.create_topic(), events),
        "loop": lambda: whole_loop(broker.bootstrap, broker.create_topic(), LOOP_EVENTS),
    }
    for measure in measures.values():
        measure()  # warm-up
    rates: dict[str, list[float]] = {name: [] for name in measures}
    for round_number in range(1, runs + 1):
        for name, measure in measures.items():
            rates[name].append(measure())
        progress(
            f"round {round_number}/{runs}: events/s flush per message {rates['flush'][-1]:,.0f}, "
            f"batched sink {rates['sink'][-1]:,.0f}, whole loop {rates['loop'][-1]:,.0f}"
        )
    baseline = f"produce + flush per message ({FLUSH_EVENTS:,} events)"
    return [
        record(
            STAGE,
            f"events/s delivered, batched sink ({SINK_EVENTS:,} pre-encoded events)",
            "events/s",
            rates["sink"],
            baseline=baseline,
            baseline_values=rates["flush"],
        ),
        record(
            STAGE,
            f"events/s delivered, whole loop ({LOOP_EVENTS:,} synthetic events)",
            "events/s",
            rates["loop"],
            baseline=baseline,
            baseline_values=rates["flush"],
            goal=WHOLE_LOOP_GOAL,
        ),
    ]
