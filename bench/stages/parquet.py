"""`parquet`: MB/s and files per 100k rows written to the S3-compatible server (moto, through s3a) and to HDFS.

Ours is the job's replay-safe sink (`ParquetSink.write`: stage the batch, write a manifest, move the files
into their `event_date` partitions); the baseline a plain `DataFrame.write.partitionBy(...).parquet` append,
which is what the sink adds its safety to. Both write the same cached frame of valid events.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from bench.kafka_records import write_kafka_records
from bench.report import Record, record
from bench.servers import Servers
from workloads.streaming_job.parquet_sink import ParquetSink
from workloads.streaming_job.schema import EVENT_DATE, KAFKA_SOURCE_SCHEMA
from workloads.streaming_job.transform import parse_records, valid_events

STAGE = "parquet"
ROWS = 100_000


def parquet_files(spark: SparkSession, directory: str) -> tuple[int, int]:
    """(files, bytes) of the Parquet files under `directory`, through Hadoop's file system API."""
    path = spark._jvm.org.apache.hadoop.fs.Path(directory)
    files = path.getFileSystem(spark._jsc.hadoopConfiguration()).listFiles(path, True)
    count = size = 0
    while files.hasNext():
        status = files.next()
        if status.getPath().getName().endswith(".parquet"):
            count, size = count + 1, size + status.getLen()
    return count, size


def _timed(write: Callable[[], Any], spark: SparkSession, directory: str) -> tuple[float, float]:
    """(MB/s, files per 100k rows) of one write into an empty `directory`."""
    started = time.perf_counter()
    write()
    elapsed = time.perf_counter() - started
    files, size = parquet_files(spark, directory)
    return size / 1e6 / elapsed, files * 100_000 / ROWS


def events_frame(servers: Servers) -> DataFrame:
    """ROWS valid events as the sinks receive them, cached so the writes measure writing only."""
    spark = servers.spark()
    source = servers.workdir / STAGE / "kafka-records"
    write_kafka_records(source, ROWS, 0.0, seed=31)
    records = spark.read.schema(KAFKA_SOURCE_SCHEMA).parquet(str(source))
    frame = valid_events(parse_records(records), datetime.now(UTC)).cache()
    if frame.count() != ROWS:
        raise RuntimeError("the parsed frame lost rows")
    return frame


def run(servers: Servers, runs: int, progress: Callable[[str], None]) -> list[Record]:
    config = servers.job_config("s3,hdfs")
    spark = servers.spark()
    frame = events_frame(servers)
    assert config.s3 is not None and config.hdfs_events_path is not None
    targets = {"s3": f"s3a://{config.s3.bucket}", "hdfs": config.hdfs_events_path}
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    attempt = 0
    for round_number in range(0, runs + 1):  # round 0 is the warm-up
        for target, base in targets.items():
            attempt += 1
            sink_dir, plain_dir = f"{base}/sink-{attempt}", f"{base}/plain-{attempt}"
            sink = ParquetSink(target, sink_dir, EVENT_DATE)
            ours = _timed(lambda: sink.write(frame, attempt), spark, sink_dir)  # noqa: B023 (called at once)
            plain = _timed(
                lambda: frame.write.mode("append").partitionBy(EVENT_DATE).parquet(plain_dir),  # noqa: B023
                spark,
                plain_dir,
            )
            if round_number:
                results.setdefault((target, "ours"), []).append(ours)
                results.setdefault((target, "plain"), []).append(plain)
                progress(
                    f"round {round_number}/{runs} {target}: MB/s ours {ours[0]:.1f}, plain {plain[0]:.1f}; "
                    f"files/100k rows ours {ours[1]:.0f}, plain {plain[1]:.0f}"
                )
    frame.unpersist()
    records = []
    for target in targets:
        ours, plain = results[(target, "ours")], results[(target, "plain")]
        records.append(
            record(
                STAGE,
                f"MB/s written to {target} ({ROWS:,} rows)",
                "MB/s",
                [rate for rate, _ in ours],
                baseline="plain partitioned append",
                baseline_values=[rate for rate, _ in plain],
            )
        )
        records.append(
            record(
                STAGE,
                f"files per 100k rows on {target}",
                "files",
                [files for _, files in ours],
                baseline="plain partitioned append",
                baseline_values=[files for _, files in plain],
                higher_is_better=False,
            )
        )
    return records
