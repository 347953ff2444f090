"""Read the records of one topic whose timestamps fall in an interval, and nothing else.

Start offsets come from the broker's time index (offsets_for_times), a shortcut that only skips
records known to be older; each record's own timestamp decides. Each partition is read up to
its current end (partition EOF) or its first record at or after the interval's end. No consumer
group offsets are committed: the check must not disturb anyone and must be repeatable.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from streamstack_checks.quality import KafkaRecord

# Partitions are assigned, never subscribed: confluent-kafka still demands a group id, used by no one.
_READER_SETTINGS = {"enable.auto.commit": False, "enable.partition.eof": True}


def read_window(
    client_config: Mapping[str, Any],
    topic: str,
    since_ms: int,
    until_ms: int | None = None,
    timeout_s: float = 30.0,
) -> Iterator[KafkaRecord]:
    """Records of `topic` with since_ms <= timestamp < until_ms (no upper bound when None)."""
    consumer = Consumer({**client_config, **_READER_SETTINGS, "group.id": f"streamstack-window-{uuid.uuid4().hex}"})
    try:
        metadata = consumer.list_topics(topic, timeout=timeout_s).topics[topic]
        if metadata.error is not None:
            raise KafkaException(metadata.error)
        wanted = [TopicPartition(topic, partition, since_ms) for partition in sorted(metadata.partitions)]
        starts = [tp for tp in consumer.offsets_for_times(wanted, timeout=timeout_s) if tp.offset >= 0]
        if not starts:
            return
        consumer.assign(starts)
        unfinished = {tp.partition for tp in starts}
        while unfinished:
            message = consumer.poll(timeout_s)
            if message is None:
                raise TimeoutError(f"no record or end of partition from {topic} within {timeout_s}s")
            if message.error() is not None:
                if message.error().code() != KafkaError._PARTITION_EOF:
                    raise KafkaException(message.error())
                unfinished.discard(message.partition())
                continue
            if message.partition() not in unfinished:
                continue
            timestamp_ms = message.timestamp()[1]
            if timestamp_ms < since_ms:  # the time index is a lower bound only, and some brokers ignore it
                continue
            if until_ms is not None and timestamp_ms >= until_ms:
                unfinished.discard(message.partition())
                consumer.pause([TopicPartition(topic, message.partition())])
                continue
            yield KafkaRecord(topic, message.partition(), message.offset(), timestamp_ms, message.value())
    finally:
        consumer.close()
