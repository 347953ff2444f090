"""The `foreachBatch` function: splits a de-duplicated micro-batch and writes it to every sink.

The batch is cached and counted once, in one pass that also fills the cache; then each sink reads it
once. A sink writes all its rows or raises, so the counts of that one pass are what each wrote.
Each sink is idempotent per batch id (Cassandra upserts by key, Parquet sinks replace an earlier
attempt of the same batch), so a batch that fails half-way can simply be replayed. An exception
from any sink fails the batch: Spark does not commit its offsets and the next run replays it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as sf

from workloads.health import touch_heartbeat
from workloads.streaming_job import cassandra_sink
from workloads.streaming_job.config import JobConfig
from workloads.streaming_job.parquet_sink import ParquetSink
from workloads.streaming_job.schema import EVENT_DATE
from workloads.streaming_job.transform import dead_letter_json, dead_letters, valid_events

log = logging.getLogger(__name__)

BatchSink = Callable[[DataFrame, int], None]
"""Writes all the rows given (valid events or dead letters) of batch `batch_id`, or raises."""


@dataclass(frozen=True)
class BatchReport:
    batch_id: int
    rows: int
    valid: int
    dead_lettered: int
    written: dict[str, int]
    duration_s: float

    def log_line(self) -> str:
        sinks = " ".join(f"{name}={count}" for name, count in self.written.items())
        return (
            f"batch={self.batch_id} rows={self.rows} valid={self.valid} dead_lettered={self.dead_lettered} "
            f"written: {sinks or 'none'} duration={self.duration_s:.2f}s"
        )


def _kafka_dead_letter_writer(bootstrap_servers: str, topic: str) -> BatchSink:
    """Dead letters to Kafka; a replayed batch may send them twice (Kafka has no upsert)."""

    def write(letters: DataFrame, _batch_id: int) -> None:
        records = dead_letter_json(letters)
        records.write.format("kafka").option("kafka.bootstrap.servers", bootstrap_servers).option("topic", topic).save()

    return write


def count_rows_and_dead_letters(batch: DataFrame) -> tuple[int, int]:
    """(rows, dead letters) of the batch in one pass."""
    counts = batch.agg(sf.count(sf.lit(1)), sf.count("error")).first()
    return (int(counts[0]), int(counts[1])) if counts is not None else (0, 0)


@dataclass
class BatchWriter:
    """Callable for `foreachBatch(batch_frame, batch_id)`; sinks are name -> writer."""

    event_sinks: dict[str, BatchSink]
    dead_letter_sinks: dict[str, BatchSink]
    health_file: Path | None = None
    last_report: BatchReport | None = None

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        started = time.monotonic()
        ingested_at = datetime.now(UTC)
        batch.persist(StorageLevel.MEMORY_AND_DISK)
        try:
            rows, dead_lettered = count_rows_and_dead_letters(batch)
            valid = rows - dead_lettered
            written = dict.fromkeys(self.event_sinks, 0)
            if valid:
                events = valid_events(batch, ingested_at)
                for name, write in self.event_sinks.items():
                    write(events, batch_id)
                    written[name] = valid
            if dead_lettered:
                letters = dead_letters(batch)
                for name, write in self.dead_letter_sinks.items():
                    write(letters, batch_id)
                    written[f"dead_letters.{name}"] = dead_lettered
        finally:
            batch.unpersist()
        report = BatchReport(batch_id, rows, valid, dead_lettered, written, time.monotonic() - started)
        self.last_report = report
        log.info(report.log_line())
        if self.health_file is not None:
            touch_heartbeat(self.health_file)


def batch_writer_from_config(config: JobConfig) -> BatchWriter:
    """The sinks `SINKS` selects, with the data locations of docs/interfaces.md."""
    event_sinks: dict[str, BatchSink] = {}
    dead_letter_sinks: dict[str, BatchSink] = {}
    if config.cassandra is not None:
        target = config.cassandra
        event_sinks["cassandra"] = lambda events, _batch_id: cassandra_sink.write_events(events, target)
    if "s3" in config.sinks and config.s3 is not None:
        event_sinks["s3"] = ParquetSink("s3", config.s3.events_path, EVENT_DATE).write
        dead_letter_sinks["s3"] = ParquetSink("s3-dead-letters", config.s3.dead_letters_path).write
    if config.hdfs_events_path is not None and "hdfs" in config.sinks:
        event_sinks["hdfs"] = ParquetSink("hdfs", config.hdfs_events_path, EVENT_DATE).write
    if config.dead_letter_topic:
        dead_letter_sinks["kafka"] = _kafka_dead_letter_writer(config.kafka_bootstrap_servers, config.dead_letter_topic)
    return BatchWriter(event_sinks, dead_letter_sinks, config.health_file)
