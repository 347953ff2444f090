"""`transform`: rows/s of the job's streaming transform (parse, validate, de-duplicate) as the job runs it.

Every plan runs the same way: a streaming query over the same Parquet files of Kafka-shaped records (the
Kafka connector cannot run here), one availableNow micro-batch, a fresh checkpoint and de-duplication
state, `foreachBatch` into Spark's `noop` sink, in local[2] with the job's own session settings. Plans:
- ours: the job's `transform()` (msgspec decode in `mapInArrow`);
- floor: scan and de-duplicate on the Kafka key, no parsing: what any plan over this input costs;
- from_json: `from_json` with the contract's schema, event_id-not-null filter, de-duplicate on event_id:
  the tutorials' plan, which validates far less (it coerces types, ignores unknown fields);
- previous UDF: the job's transform before issue 11 (bench/previous_job.py);
- from_json batch: the from_json plan as a batch query into `noop`, the reference of issue 11's numbers.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as sf

from bench import previous_job
from bench.kafka_records import TOPIC, write_kafka_records
from bench.report import Goal, Record, record
from bench.servers import Servers
from workloads.streaming_job.config import parse_config
from workloads.streaming_job.schema import KAFKA_SOURCE_SCHEMA, event_schema
from workloads.streaming_job.session import spark_conf
from workloads.streaming_job.transform import transform

ROWS = 200_000
INVALID_FRACTION = 0.02
STAGE = "transform"
OURS, FLOOR, FROM_JSON, PREVIOUS, FROM_JSON_BATCH = (
    "job transform()",
    "floor: scan + dedupe",
    "from_json + dedupe",
    "previous UDF transform()",
    "from_json + dedupe, batch query",
)
GOALS = {FROM_JSON: Goal(1.2, "ratio"), PREVIOUS: Goal(2.5, "ratio"), FROM_JSON_BATCH: Goal(1.2, "ratio")}


def _floor(records: DataFrame, watermark: str) -> DataFrame:
    return records.withWatermark("timestamp", watermark).dropDuplicatesWithinWatermark(["key"])


def _from_json(records: DataFrame) -> DataFrame:
    parsed = records.select(
        sf.from_json(sf.col("value").cast("string"), event_schema()).alias("event"), "offset", "timestamp"
    )
    return parsed.where(sf.col("event.event_id").isNotNull()).select("event.*", "offset", "timestamp")


def _stream_rate(spark: SparkSession, source: Path, plan: Callable[[DataFrame], DataFrame], workdir: Path) -> float:
    records = spark.readStream.schema(KAFKA_SOURCE_SCHEMA).parquet(str(source))
    started = time.perf_counter()
    query = (
        plan(records)
        .writeStream.foreachBatch(lambda batch, _batch_id: batch.write.format("noop").mode("overwrite").save())
        .option("checkpointLocation", tempfile.mkdtemp(prefix="checkpoint-", dir=workdir))
        .trigger(availableNow=True)
        .start()
    )
    query.awaitTermination()
    elapsed = time.perf_counter() - started
    processed = sum(progress["numInputRows"] for progress in query.recentProgress)
    if processed != ROWS:
        raise RuntimeError(f"the query read {processed} of {ROWS} rows")
    return ROWS / elapsed


def _batch_rate(spark: SparkSession, source: Path) -> float:
    records = spark.read.schema(KAFKA_SOURCE_SCHEMA).parquet(str(source))
    started = time.perf_counter()
    _from_json(records).dropDuplicates(["event_id"]).write.format("noop").mode("overwrite").save()
    return ROWS / (time.perf_counter() - started)


def run(servers: Servers, runs: int, progress: Callable[[str], None]) -> list[Record]:
    # The job's defaults; the sink settings only satisfy the parser and are never contacted.
    config = parse_config(
        [],
        {"KAFKA_BOOTSTRAP_SERVERS": "unused:9092", "EVENTS_TOPIC": TOPIC, "SINKS": "hdfs", "HDFS_URL": "hdfs://unused"},
    )
    spark = servers.spark()
    for key, value in spark_conf(config).items():
        if key.startswith("spark.sql."):
            spark.conf.set(key, value)
    workdir = servers.workdir / STAGE
    source = workdir / "kafka-records"
    mean_bytes = write_kafka_records(source, ROWS, INVALID_FRACTION)
    progress(f"{ROWS:,} Kafka-shaped rows of {mean_bytes:.0f} bytes on average, {INVALID_FRACTION:.0%} invalid")
    watermark = config.dedupe_watermark
    streaming_plans: dict[str, Callable[[DataFrame], DataFrame]] = {
        OURS: lambda records: transform(records, watermark),
        FLOOR: lambda records: _floor(records, watermark),
        FROM_JSON: lambda records: (
            _from_json(records).withWatermark("timestamp", watermark).dropDuplicatesWithinWatermark(["event_id"])
        ),
        PREVIOUS: lambda records: previous_job.transform(records, watermark),
    }
    plans: dict[str, Callable[[], float]] = {
        name: (lambda plan=plan: _stream_rate(spark, source, plan, workdir)) for name, plan in streaming_plans.items()
    }
    plans[FROM_JSON_BATCH] = lambda: _batch_rate(spark, source)
    progress("warm-up: one run of each plan")
    for measure in plans.values():
        measure()
    rates: dict[str, list[float]] = {name: [] for name in plans}
    for round_number in range(1, runs + 1):
        for name, measure in plans.items():
            rates[name].append(measure())
        line = ", ".join(f"{name} {values[-1]:,.0f}" for name, values in rates.items())
        progress(f"round {round_number}/{runs}: rows/s {line}")
    ours = rates.pop(OURS)
    progress(f"median rows/s: ours {statistics.median(ours):,.0f}")
    return [
        record(
            STAGE,
            "streaming transform",
            "rows/s",
            ours,
            baseline=name,
            baseline_values=values,
            goal=GOALS.get(name),
        )
        for name, values in rates.items()
    ]
