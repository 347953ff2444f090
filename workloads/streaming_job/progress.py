"""The job's progress where Kafka users look: after each micro-batch, the Kafka source's end offsets are
committed as the offsets of consumer group PROGRESS_GROUP.

Spark's Kafka source tracks its offsets in the checkpoint only and commits none to Kafka, so Kafka UI and
`kafka-consumer-groups --describe` would show no lag for the job. The group never consumes; its committed
offsets say how far the job has processed, and `make status` reads them back for the job's lag. A failed
commit is logged and never fails the query: the checkpoint stays the truth.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from pyspark.sql.streaming import StreamingQueryListener

from workloads.streaming_job.config import PROGRESS_GROUP

log = logging.getLogger(__name__)

Commit = Callable[[list[TopicPartition]], None]


def kafka_end_offsets(end_offset: str | None) -> list[TopicPartition]:
    """The partitions and next offsets of one source's `endOffset` JSON (`{"topic": {"0": 42}}`); nothing for
    a source that is not Kafka (a file source's `{"logOffset": 3}`)."""
    try:
        document = json.loads(end_offset or "null")
    except json.JSONDecodeError:
        return []
    if not isinstance(document, dict):
        return []
    positions = []
    for topic, partitions in document.items():
        if not isinstance(partitions, dict):
            return []
        for partition, offset in partitions.items():
            if not (partition.isdigit() and isinstance(offset, int) and offset >= 0):
                return []
            positions.append(TopicPartition(topic, int(partition), offset))
    return positions


def _report_failures(error: KafkaError | None, positions: list[TopicPartition]) -> None:
    failed = [position for position in positions if position.error is not None]
    if error is not None or failed:
        log.warning("could not commit the job's progress to consumer group %s: %s", PROGRESS_GROUP, error or failed)


def kafka_group_commit(bootstrap_servers: str, group: str = PROGRESS_GROUP) -> Commit:
    """Commits offsets for `group` with a consumer that never subscribes, so it never joins or rebalances.

    Commits are asynchronous: a broker that is away must not hold up Spark's listener thread. Each call
    serves the reports of earlier commits, and failures are logged.
    """
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap_servers,
            "group.id": group,
            "enable.auto.commit": False,
            "client.id": group,
            "on_commit": _report_failures,
        }
    )

    def commit(positions: list[TopicPartition]) -> None:
        consumer.commit(offsets=positions, asynchronous=True)
        consumer.poll(0)

    return commit


class OffsetCommitter(StreamingQueryListener):
    """A StreamingQueryListener: each progress event's Kafka end offsets go to the consumer group."""

    def __init__(self, commit: Commit) -> None:
        self._commit = commit

    def onQueryStarted(self, event: Any) -> None:  # noqa: N802 (pyspark's listener interface)
        """Nothing is known to have been processed when a query starts."""

    def onQueryProgress(self, event: Any) -> None:  # noqa: N802
        sources: Sequence[Any] = event.progress.sources
        positions = [position for source in sources for position in kafka_end_offsets(source.endOffset)]
        if not positions:
            return
        try:
            self._commit(positions)
        except KafkaException as error:
            log.warning("could not commit the job's progress to consumer group %s: %s", PROGRESS_GROUP, error)

    def onQueryIdle(self, event: Any) -> None:  # noqa: N802
        """An idle query has nothing new to commit."""

    def onQueryTerminated(self, event: Any) -> None:  # noqa: N802
        """The last progress event already committed what the query processed."""
