"""The Kafka edge: an idempotent, batching producer that counts an event delivered only once acknowledged.

An event counts as delivered only when the broker acknowledged it to all in-sync replicas (acks=all);
everything else is failed or, at shutdown, undelivered. librdkafka reports failures only
(`delivery.report.only.error`), which spares a Python callback per event: an event that is neither
failed nor still held by librdkafka (`len(producer)`) was acknowledged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

log = logging.getLogger(__name__)


def producer_config(bootstrap_servers: str, *, delivery_timeout_s: float, client_id: str) -> dict[str, Any]:
    """librdkafka settings for throughput without loss or duplicates from retries."""
    return {
        "bootstrap.servers": bootstrap_servers,
        "client.id": client_id,
        "enable.idempotence": True,  # broker de-duplicates internal retries; keeps per-partition order
        "acks": "all",
        "compression.type": "lz4",
        "linger.ms": 20,  # wait briefly so batches fill; one request carries thousands of events
        "batch.size": 1_000_000,
        "message.timeout.ms": int(delivery_timeout_s * 1000),  # after this an event is reported failed
        "delivery.report.only.error": True,  # see the module docstring for how deliveries are counted
        "logger": logging.getLogger("librdkafka"),
    }


@dataclass
class DeliveryCounts:
    """Running totals; `in_flight` are events handed to librdkafka with no report yet."""

    sent: int = 0
    delivered: int = 0
    failed: int = 0

    @property
    def in_flight(self) -> int:
        return self.sent - self.delivered - self.failed


# Failure reports and librdkafka's logs are served every this many sends (and whenever the caller polls).
_POLL_EVERY = 100


class KafkaSink:
    """Hands events to librdkafka without ever blocking on a single one."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.last_error: str | None = None
        self.fatal_error: str | None = None
        self._sent = 0
        self._failed = 0
        self._producer = Producer({**config, "error_cb": self._on_error, "on_delivery": self._on_failure})

    @property
    def counts(self) -> DeliveryCounts:
        """Totals now. librdkafka's out-queue length (rdkafka.h, rd_kafka_outq_len) holds every event not yet
        acknowledged, every failure report not yet served, and a few protocol requests, so `delivered` can
        only be under-counted while events are in flight, never over-counted; after a flush it is exact."""
        held = len(self._producer)
        return DeliveryCounts(self._sent, max(0, self._sent - self._failed - held), self._failed)

    def send(self, topic: str, key: str, value: bytes) -> None:
        """Queue one event; when the local queue is full, serve reports until there is room."""
        while True:
            try:
                self._producer.produce(topic, value, key.encode())
                break
            except BufferError:
                self._producer.poll(0.1)
            except KafkaException as error:
                # Refused before it was queued (e.g. too large): it will never be delivered.
                self._sent += 1
                self._failed += 1
                self.last_error = str(error)
                log.error("produce refused: %s", error)
                return
        self._sent += 1
        if self._sent % _POLL_EVERY == 0:
            self._producer.poll(0)

    def poll(self, timeout_s: float) -> None:
        """Serve failure reports and logs for up to `timeout_s`; the way to wait while pacing."""
        self._producer.poll(timeout_s)

    def flush(self, timeout_s: float) -> int:
        """Wait for outstanding events; returns how many librdkafka still holds."""
        return self._producer.flush(timeout_s)

    def _on_failure(self, error: KafkaError | None, message: Message) -> None:
        if error is None:
            return
        self._failed += 1
        self.last_error = str(error)
        if self._failed == 1:
            log.error("delivery failed (topic %s, key %s): %s", message.topic(), message.key(), error)

    def _on_error(self, error: KafkaError) -> None:
        """Fatal errors end the run; the rest (reconnects and the like) librdkafka logs and retries itself."""
        if error.fatal():
            self.fatal_error = str(error)
            log.error("fatal producer error: %s", error)
        else:
            log.debug("producer error: %s", error)
