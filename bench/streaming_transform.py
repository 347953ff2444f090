"""The streaming job's transform in pyspark local[2], side by side with a floor and a `from_json` baseline.

Run from the repository root: `.venv/bin/python -m bench.streaming_transform [--rows N] [--repetitions R]
[--invalid-fraction F]`. Not a test. It builds N Kafka-shaped rows in memory (the producer's synthetic events
as values, ~610 bytes each with two UUIDs and two HMAC hex digests, plus a fraction F of invalid ones: bad
JSON, a wrong type, an unknown or a missing field), writes them once to a local Parquet directory, and runs
four plans over those files into Spark's `noop` sink, in a session with the job's own settings (`spark_conf`
of its default configuration: 4 shuffle partitions, UTC, 1g driver; master local[2]):

- floor: scan + `dropDuplicates` on the Kafka key, no parsing: what any plan over this input costs;
- from_json: `from_json` with the contract-derived schema + event_id-not-null filter + `dropDuplicates`,
  the usual tutorial plan, which validates far less than the job (it coerces types, ignores unknown fields);
- job transform(): the job's `transform()` itself, as the job runs it: a streaming query (file source,
  one availableNow micro-batch, fresh checkpoint and de-duplication state, `foreachBatch` into `noop`);
  it includes the query's start-up and state store, which the batch plans do not have;
- job, batch dedupe: the job's `parse_records` and de-duplication key with a batch `dropDuplicates`,
  because Spark rejects `dropDuplicatesWithinWatermark` on a batch DataFrame; the like-for-like
  comparison with the two batch plans above.

One warm-up run of each plan, then R rounds in which the four run one after another, so drift on a shared
machine hits them alike. Each rate line gives the median rows/s and the range over the rounds. Each ratio
line is the median of the per-round ratios of rates: 0.60x means the job sustains 60% of the reference's
rows/s. Compare ratios between runs and machines, not the absolute rates, which drift 10-30% between runs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as sf

from tests.fixtures.spark import KAFKA_SOURCE_ARROW_SCHEMA
from workloads.contract import encode_event
from workloads.producer.sources import SYNTHETIC, SyntheticSource
from workloads.producer.transform import to_event
from workloads.streaming_job.config import JobConfig, parse_config
from workloads.streaming_job.schema import KAFKA_SOURCE_SCHEMA, event_schema
from workloads.streaming_job.session import spark_conf
from workloads.streaming_job.transform import dedupe_key, parse_records, transform

REPO = Path(__file__).resolve().parent.parent
TOPIC = "events"
PARTITIONS = 3
FLOOR, BASELINE, JOB, JOB_BATCH = "floor (scan + dedupe)", "from_json baseline", "job transform()", "job, batch dedupe"
RATIOS = (
    ("transform() / from_json", JOB, BASELINE),
    ("transform() / floor", JOB, FLOOR),
    ("batch dedupe / from_json", JOB_BATCH, BASELINE),
    ("batch dedupe / floor", JOB_BATCH, FLOOR),
)
Rates = dict[str, list[float]]
FILE_ROWS = 10_000  # Spark packs the files into one partition per core


def job_config() -> JobConfig:
    """The job's defaults; the sink arguments only satisfy the parser and are never contacted."""
    argv = ["--kafka-bootstrap-servers", "unused:9092", "--events-topic", TOPIC]
    return parse_config([*argv, "--sinks", "hdfs", "--hdfs-url", "hdfs://unused:8020"], {})


def start_session(config: JobConfig, workdir: Path) -> SparkSession:
    """local[2] with the job's settings (shuffle partitions, UTC, driver memory) and its modules on the workers."""
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    builder = SparkSession.builder
    for key, value in spark_conf(config).items():
        builder = builder.config(key, value)
    builder = (
        builder.master("local[2]").config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
    )
    session = builder.config("spark.local.dir", str(workdir / "spark-local")).getOrCreate()
    session.sparkContext.setLogLevel("WARN")
    return session


def invalid_value(valid: dict[str, Any], rng: random.Random) -> bytes:
    """One of the ways a record breaks the contract: bad JSON, a wrong type, an unknown or a missing field."""
    kind = rng.randrange(4)
    if kind == 0:
        return encode_event(valid)[:-20]
    if kind == 1:
        broken: dict[str, Any] = valid | {"age": str(valid["age"])}
    elif kind == 2:
        broken = valid | {"nickname": valid["username"]}
    else:
        broken = {name: value for name, value in valid.items() if name != "event_id"}
    return json.dumps(broken, separators=(",", ":")).encode()


def write_kafka_records(directory: Path, count: int, invalid_fraction: float) -> float:
    """Kafka-source rows as Parquet files of FILE_ROWS rows; returns the mean value size in bytes.

    Values are producer events, keys their user ids, offsets round-robin over PARTITIONS, timestamps 1 ms apart.
    """
    directory.mkdir(parents=True)
    source, rng = SyntheticSource(seed=1), random.Random(7)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    value_bytes = 0
    for first in range(0, count, FILE_ROWS):
        columns: dict[str, list[Any]] = {name: [] for name in KAFKA_SOURCE_ARROW_SCHEMA.names}
        for offset, profile in enumerate(source.fetch(min(FILE_ROWS, count - first)).profiles, start=first):
            timestamp = start + timedelta(milliseconds=offset)
            event = to_event(profile, source=SYNTHETIC, pseudonym_key=b"bench", event_time=timestamp)
            value = invalid_value(event, rng) if rng.random() < invalid_fraction else encode_event(event)
            row = (event["user_id"].encode(), value, TOPIC, offset % PARTITIONS, offset // PARTITIONS, timestamp, 0)
            for name, cell in zip(KAFKA_SOURCE_ARROW_SCHEMA.names, row, strict=True):
                columns[name].append(cell)
            value_bytes += len(value)
        pq.write_table(pa.table(columns, schema=KAFKA_SOURCE_ARROW_SCHEMA), directory / f"records-{first:09d}.parquet")
    return value_bytes / count


def floor(records: DataFrame) -> DataFrame:
    return records.dropDuplicates(["key"])


def from_json_baseline(records: DataFrame) -> DataFrame:
    parsed = records.select(sf.from_json(sf.col("value").cast("string"), event_schema()).alias("event"), "offset")
    valid = parsed.where(sf.col("event.event_id").isNotNull()).select("event.*", "offset")
    return valid.dropDuplicates(["event_id"])


def job_batch(records: DataFrame) -> DataFrame:
    """`transform()` with a batch `dropDuplicates` on the job's own key in place of the watermarked one."""
    return parse_records(records).withColumn("dedupe_key", dedupe_key()).dropDuplicates(["dedupe_key"])


def timed_batch(plan: DataFrame, count: int) -> float:
    started = time.perf_counter()
    plan.write.format("noop").mode("overwrite").save()
    return count / (time.perf_counter() - started)


def timed_stream(spark: SparkSession, source: Path, workdir: Path, count: int, watermark: str) -> float:
    records = spark.readStream.schema(KAFKA_SOURCE_SCHEMA).parquet(str(source))
    started = time.perf_counter()
    query = (
        transform(records, watermark)
        .writeStream.foreachBatch(lambda batch, _batch_id: batch.write.format("noop").mode("overwrite").save())
        .option("checkpointLocation", tempfile.mkdtemp(prefix="checkpoint-", dir=workdir))
        .trigger(availableNow=True)
        .start()
    )
    query.awaitTermination()
    elapsed = time.perf_counter() - started
    processed = sum(progress["numInputRows"] for progress in query.recentProgress)
    assert processed == count, f"the query read {processed} of {count} rows"
    return count / elapsed


def measure(spark: SparkSession, source: Path, workdir: Path, *, count: int, rounds: int, watermark: str) -> Rates:
    """A warm-up run of each plan (JIT, Python workers, code generation), then `rounds` rounds of all four."""
    records = spark.read.schema(KAFKA_SOURCE_SCHEMA).parquet(str(source))
    plans: dict[str, Callable[[], float]] = {
        FLOOR: lambda: timed_batch(floor(records), count),
        BASELINE: lambda: timed_batch(from_json_baseline(records), count),
        JOB: lambda: timed_stream(spark, source, workdir, count, watermark),
        JOB_BATCH: lambda: timed_batch(job_batch(records), count),
    }
    for run in plans.values():
        run()
    rates: Rates = {name: [] for name in plans}
    for _ in range(rounds):
        for name, run in plans.items():
            rates[name].append(run())
    return rates


def median_ratio(numerators: list[float], denominators: list[float]) -> float:
    return statistics.median(n / d for n, d in zip(numerators, denominators, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--invalid-fraction", type=float, default=0.02)
    args = parser.parse_args()
    config = job_config()
    with tempfile.TemporaryDirectory(prefix="bench-streaming-") as temporary:
        workdir = Path(temporary)
        source = workdir / "kafka-records"
        mean_bytes = write_kafka_records(source, args.rows, args.invalid_fraction)
        spark = start_session(config, workdir)
        try:
            rates = measure(
                spark, source, workdir, count=args.rows, rounds=args.repetitions, watermark=config.dedupe_watermark
            )
        finally:
            spark.stop()
    print(f"{args.rows:,} rows of {mean_bytes:.0f} bytes on average, {args.invalid_fraction:.1%} invalid; "
          f"local[2]; median of {args.repetitions} rounds after a warm-up")  # fmt: skip
    for name, values in rates.items():
        print(f"{name:<28} {statistics.median(values):>10,.0f} rows/s  ({min(values):,.0f}-{max(values):,.0f})")
    for label, job, reference in RATIOS:
        print(f"{label:<28} {median_ratio(rates[job], rates[reference]):>10.2f}x")


if __name__ == "__main__":
    main()
