"""`end_to_end`: latency from event time to the row in Cassandra at a fixed offered load, and the
throughput of the job's whole `foreachBatch` with its sinks.

Latency runs the producer's loop at OFFERED events/s into the local broker; a bridge consumer moves what
the broker delivers into Parquet files every BRIDGE_INTERVAL_S, because Spark's Kafka connector cannot run
here; the job's own query (`start_query`: transform, `foreachBatch`, checkpoint on HDFS) reads them with
Spark's file source and upserts into Cassandra. A row's latency is Cassandra's write time of the row minus
its event_time. The baseline is the Kafka hop alone: the bridge's receive time minus the event's Kafka
timestamp (librdkafka's create time), so the ratio says how much of the latency the broker accounts for;
the bridge interval and the file source add the rest that a Kafka source would not.

Throughput runs a de-duplicated batch of BATCH_ROWS through the job's `BatchWriter` with its three event
sinks (Cassandra, S3, HDFS), against the writer before issue 11 (bench/previous_job.py), which counted the
batch several times.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from confluent_kafka import Consumer, TopicPartition

from bench import previous_job
from bench.kafka_records import write_kafka_records
from bench.report import Record, record
from bench.servers import TABLE, Servers
from tests.fixtures.spark import kafka_source_table
from workloads.producer.kafka_sink import KafkaSink, producer_config
from workloads.producer.runner import EventProducer, Limits
from workloads.producer.sources import SyntheticSource
from workloads.streaming_job import cassandra_sink
from workloads.streaming_job.batch_writer import BatchWriter, batch_writer_from_config
from workloads.streaming_job.config import JobConfig
from workloads.streaming_job.parquet_sink import ParquetSink
from workloads.streaming_job.schema import EVENT_DATE, KAFKA_SOURCE_SCHEMA
from workloads.streaming_job.session import start_query
from workloads.streaming_job.transform import parse_records

STAGE = "end_to_end"
OFFERED = 1_000  # events/s
DURATION_S = 20.0
BRIDGE_INTERVAL_S = 0.25
PARTITIONS = 3
BATCH_ROWS = 20_000
_CATCH_UP_TIMEOUT_S = 180.0


class Bridge(threading.Thread):
    """Consumes the topic from the start and writes what arrived as one Parquet file per interval; records
    each event's Kafka-hop latency (receive time minus the record's Kafka timestamp)."""

    def __init__(self, bootstrap: str, topic: str, directory: Path) -> None:
        super().__init__(daemon=True)
        self.directory, self.hop_ms, self.received = directory, [], 0
        self.stopping = threading.Event()
        self._consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench", "enable.auto.commit": False})
        self._consumer.assign([TopicPartition(topic, partition, 0) for partition in range(PARTITIONS)])
        directory.mkdir(parents=True)
        self._staging = directory.parent / f"{directory.name}-staging"
        self._staging.mkdir()

    def run(self) -> None:
        files = 0
        while not self.stopping.is_set():
            deadline, messages = time.monotonic() + BRIDGE_INTERVAL_S, []
            while (left := deadline - time.monotonic()) > 0:
                messages.extend(message for message in self._consumer.consume(10_000, left) if not message.error())
            if not messages:
                continue
            received_ms = time.time() * 1000
            self.hop_ms.extend(received_ms - message.timestamp()[1] for message in messages)
            self.received += len(messages)
            staged = self._staging / f"part-{files:06d}.parquet"
            pq.write_table(kafka_source_table(messages), staged)
            staged.rename(self.directory / staged.name)  # whole files only: the file source lists the directory
            files += 1
        self._consumer.close()


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _cassandra_latencies(servers: Servers, config: JobConfig) -> list[float]:
    assert config.cassandra is not None
    cluster, session = servers.cassandra().connect(config.cassandra.keyspace)
    try:
        rows = session.execute(f"SELECT event_time, writetime(first_name) FROM {TABLE}")
        return [row[1] / 1000 - row[0].replace(tzinfo=UTC).timestamp() * 1000 for row in rows]
    finally:
        cluster.shutdown()


def _row_count(servers: Servers, config: JobConfig) -> int:
    assert config.cassandra is not None
    cluster, session = servers.cassandra().connect(config.cassandra.keyspace)
    try:
        return session.execute(f"SELECT count(*) FROM {TABLE}").one()[0]
    finally:
        cluster.shutdown()


def latency_run(
    servers: Servers, duration_s: float, progress: Callable[[str], None]
) -> tuple[list[float], list[float]]:
    """One run at OFFERED events/s for `duration_s`: (pipeline latencies, Kafka-hop latencies) in ms."""
    broker = servers.kafka()
    topic = broker.create_topic(partitions=PARTITIONS)
    config = servers.job_config("cassandra", TRIGGER_INTERVAL="0 seconds")
    spark = servers.spark()
    files = servers.workdir / STAGE / topic
    bridge = Bridge(broker.bootstrap, topic, files)
    bridge.start()
    stream = spark.readStream.schema(KAFKA_SOURCE_SCHEMA).parquet(str(files))
    query = start_query(stream, config, batch_writer_from_config(config))
    try:
        producer = EventProducer(
            source=SyntheticSource(seed=41),
            sink=KafkaSink(producer_config(broker.bootstrap, delivery_timeout_s=30.0, client_id="bench")),
            topic=topic,
            pseudonym_key=b"bench",
            events_per_second=OFFERED,
            batch_size=500,
            progress_interval_s=3600.0,
            delivery_timeout_s=30.0,
            report=lambda line: None,
        )
        summary = producer.run(Limits(duration_s=duration_s))
        if not summary.ok:
            raise RuntimeError(f"the producer lost events: {summary.describe()}")
        deadline = time.monotonic() + _CATCH_UP_TIMEOUT_S
        while (landed := _row_count(servers, config)) < summary.delivered:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {landed} of {summary.delivered} events reached Cassandra")
            time.sleep(1.0)
    finally:
        query.stop()
        bridge.stopping.set()
        bridge.join()
    progress(f"{summary.delivered:,} events at {OFFERED:,}/s reached Cassandra")
    return _cassandra_latencies(servers, config), bridge.hop_ms


def foreach_batch_run(servers: Servers, batch: Any, batch_id: int, config: JobConfig) -> tuple[float, float]:
    """(rows/s ours, rows/s previous) for one batch through all three event sinks."""
    assert config.cassandra is not None and config.s3 is not None and config.hdfs_events_path is not None
    target = config.cassandra

    def sinks(suffix: str) -> dict[str, Callable[[Any, int], None]]:
        return {
            "cassandra": lambda events, _batch_id: cassandra_sink.write_events(events, target),
            "s3": ParquetSink("s3", f"{config.s3.events_path}-{suffix}", EVENT_DATE).write,
            "hdfs": ParquetSink("hdfs", f"{config.hdfs_events_path}-{suffix}", EVENT_DATE).write,
        }

    def ours() -> float:
        started = time.perf_counter()
        BatchWriter(sinks("ours"), {})(batch, batch_id)
        return BATCH_ROWS / (time.perf_counter() - started)

    def previous() -> float:
        started = time.perf_counter()
        previous_job.write_batch(batch, batch_id, sinks("previous"))
        return BATCH_ROWS / (time.perf_counter() - started)

    if batch_id % 2:  # alternate which goes first, so warming up favours neither
        return ours(), previous()
    rate_of_previous = previous()
    return ours(), rate_of_previous


def run(servers: Servers, runs: int, progress: Callable[[str], None]) -> list[Record]:
    progress("warm-up latency run")
    latency_run(servers, DURATION_S / 4, progress)
    p50: dict[str, list[float]] = {"ours": [], "hop": []}
    p99: dict[str, list[float]] = {"ours": [], "hop": []}
    for round_number in range(1, runs + 1):
        pipeline, hop = latency_run(servers, DURATION_S, progress)
        for name, values in (("ours", pipeline), ("hop", hop)):
            p50[name].append(_percentile(values, 0.50))
            p99[name].append(_percentile(values, 0.99))
        progress(
            f"round {round_number}/{runs}: p50 {p50['ours'][-1]:,.0f} ms, p99 {p99['ours'][-1]:,.0f} ms "
            f"(Kafka hop p50 {p50['hop'][-1]:,.0f} ms, p99 {p99['hop'][-1]:,.0f} ms)"
        )

    config = servers.job_config("cassandra,s3,hdfs")
    spark = servers.spark()
    source = servers.workdir / STAGE / "batch-records"
    write_kafka_records(source, BATCH_ROWS, 0.0, seed=43)
    batch = parse_records(spark.read.schema(KAFKA_SOURCE_SCHEMA).parquet(str(source)))
    rates: dict[str, list[float]] = {"ours": [], "previous": []}
    foreach_batch_run(servers, batch, 0, config)  # warm-up
    for round_number in range(1, runs + 1):
        ours, previous = foreach_batch_run(servers, batch, round_number, config)
        rates["ours"].append(ours)
        rates["previous"].append(previous)
        progress(f"round {round_number}/{runs}: foreachBatch rows/s ours {ours:,.0f}, previous {previous:,.0f}")

    hop = "Kafka hop alone (event's Kafka timestamp to consumer)"
    load = f"{OFFERED:,} events/s offered for {DURATION_S:.0f} s"
    return [
        record(STAGE, f"p50 latency, event time to Cassandra row ({load})", "ms", p50["ours"],
               baseline=hop, baseline_values=p50["hop"], higher_is_better=False),
        record(STAGE, f"p99 latency, event time to Cassandra row ({load})", "ms", p99["ours"],
               baseline=hop, baseline_values=p99["hop"], higher_is_better=False),
        record(STAGE, f"foreachBatch with Cassandra, S3 and HDFS sinks ({BATCH_ROWS:,} rows)", "rows/s",
               rates["ours"], baseline="writer before issue 11 (counts the batch again)",
               baseline_values=rates["previous"]),
    ]  # fmt: skip
