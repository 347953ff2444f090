"""Spark settings the job needs, from its configuration, and the streaming query itself."""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.streaming import StreamingQuery

from workloads.streaming_job.config import JobConfig
from workloads.streaming_job.transform import transform

QUERY_NAME = "streamstack-events"
_HADOOP_PREFIX = "spark.hadoop."

NO_DATA_BATCHES = "spark.sql.streaming.noDataMicroBatches.enabled"
"""Spark 3.5.8's SQLConf: "Whether streaming micro-batch engine will execute batches without data for eager
state management for stateful streaming queries", default true. With it, every data batch of the job's
de-duplication is followed by one without data that only evicts expired keys: a second set of checkpoint
commits (offset log, commit log, a state version per shuffle partition) and a `foreachBatch` call that counts
an empty batch. De-duplication emits a row the first time it sees it, and the next data batch evicts the same
keys, so the job turns it off (tests/unit/test_streaming_routing.py runs both)."""


def spark_conf(config: JobConfig) -> dict[str, str]:
    """Every Spark setting of the job: sizing, UTC time, Parquet timestamps readable by pyarrow, no batches without
    data, s3a."""
    conf = {
        "spark.app.name": QUERY_NAME,
        "spark.executor.memory": config.executor_memory,
        "spark.executor.cores": str(config.executor_cores),
        "spark.driver.memory": config.driver_memory,
        "spark.sql.shuffle.partitions": str(config.shuffle_partitions),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        "spark.sql.streaming.stopTimeout": "60s",
        NO_DATA_BATCHES: "false",
    }
    if config.spark_master_url:
        conf["spark.master"] = config.spark_master_url
    if config.driver_host:
        # Executors connect back to this name; the driver listens on every interface of its pod.
        conf |= {"spark.driver.host": config.driver_host, "spark.driver.bindAddress": "0.0.0.0"}
    if config.driver_port:
        conf["spark.driver.port"] = str(config.driver_port)
    if config.block_manager_port:
        conf["spark.driver.blockManager.port"] = str(config.block_manager_port)
    if config.s3 is not None:
        s3a = "spark.hadoop.fs.s3a."
        conf |= {
            f"{s3a}endpoint": config.s3.endpoint,
            f"{s3a}access.key": config.s3.access_key,
            f"{s3a}secret.key": config.s3.secret_key,
            f"{s3a}path.style.access": "true",
            f"{s3a}connection.ssl.enabled": str(config.s3.endpoint.startswith("https://")).lower(),
            f"{s3a}aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        }
    return conf


def build_session(config: JobConfig) -> SparkSession:
    builder = SparkSession.builder
    for key, value in spark_conf(config).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def apply_runtime_conf(spark: SparkSession, config: JobConfig) -> None:
    """Apply the SQL and Hadoop settings to a session that is already running (tests share one)."""
    hadoop = spark.sparkContext._jsc.hadoopConfiguration()  # the only handle on Hadoop's conf
    for key, value in spark_conf(config).items():
        if key.startswith(_HADOOP_PREFIX):
            hadoop.set(key.removeprefix(_HADOOP_PREFIX), value)
        elif key.startswith("spark.sql."):
            spark.conf.set(key, value)


def read_kafka(spark: SparkSession, config: JobConfig) -> DataFrame:
    """The events topic through Spark's Kafka source (its connector is baked into the job image)."""
    return (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", config.kafka_bootstrap_servers)
        .option("subscribe", config.events_topic)
        .option("startingOffsets", config.starting_offsets)
        .option("maxOffsetsPerTrigger", str(config.max_offsets_per_trigger))
        .load()
    )


def start_query(
    kafka_records: DataFrame, config: JobConfig, write_batch: Callable[[DataFrame, int], None]
) -> StreamingQuery:
    """Start the query over any DataFrame with the Kafka source's columns, checkpointed durably."""
    return (
        transform(kafka_records, config.dedupe_watermark)
        .writeStream.queryName(QUERY_NAME)
        .foreachBatch(write_batch)
        .option("checkpointLocation", config.checkpoint_location)
        .trigger(processingTime=config.trigger_interval)
        .start()
    )
