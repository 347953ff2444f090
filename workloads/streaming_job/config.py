"""The job's configuration: environment variables of docs/interfaces.md, each overridable by a flag.

Parsing is pure (argv and environ in, a frozen `JobConfig` out) so it can be tested without Spark;
`describe` renders the effective configuration for the startup log with secrets masked.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

KNOWN_SINKS = ("cassandra", "s3", "hdfs")
# The consumer group whose committed offsets are the job's progress (progress.py); `make status` reads its lag.
PROGRESS_GROUP = "streamstack-streaming-job"
_MASK = "****"


@dataclass(frozen=True)
class CassandraConfig:
    hosts: tuple[str, ...]
    port: int
    keyspace: str
    table: str
    username: str
    password: str
    concurrency: int


@dataclass(frozen=True)
class S3Config:
    endpoint: str
    bucket: str
    access_key: str
    secret_key: str

    @property
    def events_path(self) -> str:
        return f"s3a://{self.bucket}/events"

    @property
    def dead_letters_path(self) -> str:
        return f"s3a://{self.bucket}/dead_letters"


@dataclass(frozen=True)
class JobConfig:
    kafka_bootstrap_servers: str
    events_topic: str
    dead_letter_topic: str | None
    spark_master_url: str | None
    driver_host: str | None
    driver_port: int | None
    block_manager_port: int | None
    sinks: tuple[str, ...]
    cassandra: CassandraConfig | None
    s3: S3Config | None
    hdfs_url: str | None
    checkpoint_location: str
    trigger_interval: str
    max_offsets_per_trigger: int
    shuffle_partitions: int
    executor_memory: str
    executor_cores: int
    driver_memory: str
    health_file: Path | None
    dedupe_watermark: str
    starting_offsets: str

    @property
    def hdfs_events_path(self) -> str | None:
        return f"{self.hdfs_url.rstrip('/')}/streamstack/events" if self.hdfs_url else None


# (flag, environment variable, default, help); a None default means "required when relevant".
_OPTIONS: tuple[tuple[str, str | None, str | None, str], ...] = (
    ("--kafka-bootstrap-servers", "KAFKA_BOOTSTRAP_SERVERS", None, "comma-separated host:port of Kafka"),
    ("--events-topic", "EVENTS_TOPIC", None, "topic the events are read from"),
    ("--dead-letter-topic", "DEAD_LETTER_TOPIC", None, "topic invalid records are sent to (optional)"),
    ("--spark-master-url", "SPARK_MASTER_URL", None, "e.g. spark://spark-master:7077; spark-submit's when unset"),
    ("--driver-host", "SPARK_DRIVER_HOST", None, "address executors use to reach the driver"),
    ("--driver-port", "SPARK_DRIVER_PORT", None, "fixed driver RPC port (network policies admit it)"),
    ("--block-manager-port", "SPARK_BLOCK_MANAGER_PORT", None, "fixed driver block manager port"),
    ("--sinks", "SINKS", "cassandra,s3,hdfs", "comma-separated subset of cassandra,s3,hdfs"),
    ("--cassandra-hosts", "CASSANDRA_HOSTS", None, "comma-separated Cassandra contact points"),
    ("--cassandra-port", "CASSANDRA_PORT", "9042", "Cassandra native protocol port"),
    ("--cassandra-keyspace", "CASSANDRA_KEYSPACE", "streamstack", "keyspace of the events table"),
    ("--cassandra-table", "CASSANDRA_TABLE", "events", "events table"),
    ("--cassandra-username", "CASSANDRA_USERNAME", None, "Cassandra user"),
    ("--cassandra-password", "CASSANDRA_PASSWORD", None, "Cassandra password"),
    ("--cassandra-concurrency", None, "256", "in-flight writes per executor task"),
    ("--s3-endpoint", "S3_ENDPOINT", None, "S3 endpoint URL (path-style access)"),
    ("--s3-bucket", "S3_BUCKET", None, "bucket for events, dead letters and (optionally) checkpoints"),
    ("--s3-access-key", "S3_ACCESS_KEY", None, "S3 access key"),
    ("--s3-secret-key", "S3_SECRET_KEY", None, "S3 secret key"),
    ("--hdfs-url", "HDFS_URL", None, "e.g. hdfs://hdfs-namenode:8020"),
    ("--checkpoint-location", "CHECKPOINT_LOCATION", None, "durable checkpoint URL (s3a:// or hdfs://)"),
    ("--trigger-interval", "TRIGGER_INTERVAL", "10 seconds", "micro-batch trigger interval"),
    ("--max-offsets-per-trigger", "MAX_OFFSETS_PER_TRIGGER", "20000", "upper bound of records per micro-batch"),
    ("--shuffle-partitions", "SHUFFLE_PARTITIONS", "4", "spark.sql.shuffle.partitions"),
    ("--executor-memory", "EXECUTOR_MEMORY", "1g", "spark.executor.memory"),
    ("--executor-cores", "EXECUTOR_CORES", "1", "spark.executor.cores"),
    (
        "--driver-memory",
        "DRIVER_MEMORY",
        "1g",
        "driver heap; it takes effect through the image's entrypoint (spark-submit --driver-memory), as a"
        " running driver cannot be resized",
    ),
    ("--health-file", "HEALTH_FILE", None, "file touched while the query is active"),
    ("--dedupe-watermark", None, "1 hour", "how long an event id is remembered for de-duplication"),
    ("--starting-offsets", None, "earliest", "where a query without a checkpoint starts"),
)

_SECRETS = frozenset({"password", "secret_key"})


class ConfigError(ValueError):
    """A configuration that cannot run; the message names the variable to set."""


def _parser(environ: Mapping[str, str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m workloads.streaming_job",
        description="Spark Structured Streaming job: Kafka events -> Cassandra, S3 and HDFS, invalid records to "
        "dead letters. Every option defaults to the environment variable named in its help.",
    )
    for flag, variable, default, help_text in _OPTIONS:
        value = environ.get(variable, default) if variable else default
        suffix = f" (env {variable})" if variable else ""
        parser.add_argument(flag, default=value, help=f"{help_text}{suffix}; default: {default or 'none'}")
    return parser


def _require(value: str | None, flag: str, variable: str, reason: str) -> str:
    if not value:
        raise ConfigError(f"{variable} (or {flag}) must be set {reason}")
    return value


def _positive_int(value: str, variable: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{variable} must be an integer, got {value!r}") from None
    if number <= 0:
        raise ConfigError(f"{variable} must be positive, got {number}")
    return number


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _default_checkpoint(hdfs_url: str | None, bucket: str | None) -> str | None:
    if hdfs_url:
        return f"{hdfs_url.rstrip('/')}/streamstack/checkpoints/streaming-job"
    if bucket:
        return f"s3a://{bucket}/checkpoints/streaming-job"
    return None


def parse_config(argv: Sequence[str], environ: Mapping[str, str]) -> JobConfig:
    """Build the configuration from flags over environment variables; raise ConfigError if unusable."""
    args = _parser(environ).parse_args(argv)
    sinks = _split(args.sinks)
    unknown = sorted(set(sinks) - set(KNOWN_SINKS))
    if unknown or not sinks:
        raise ConfigError(f"SINKS must be a non-empty subset of {','.join(KNOWN_SINKS)}, got {args.sinks!r}")
    cassandra = None
    if "cassandra" in sinks:
        why = "for the cassandra sink"
        cassandra = CassandraConfig(
            hosts=_split(_require(args.cassandra_hosts, "--cassandra-hosts", "CASSANDRA_HOSTS", why)),
            port=_positive_int(args.cassandra_port, "CASSANDRA_PORT"),
            keyspace=args.cassandra_keyspace,
            table=args.cassandra_table,
            username=_require(args.cassandra_username, "--cassandra-username", "CASSANDRA_USERNAME", why),
            password=_require(args.cassandra_password, "--cassandra-password", "CASSANDRA_PASSWORD", why),
            concurrency=_positive_int(args.cassandra_concurrency, "--cassandra-concurrency"),
        )
    s3 = None
    checkpoint_on_s3 = (args.checkpoint_location or "").startswith("s3a://")
    if "s3" in sinks or checkpoint_on_s3:
        why = "for the s3 sink" if "s3" in sinks else "for the checkpoint on S3"
        s3 = S3Config(
            endpoint=_require(args.s3_endpoint, "--s3-endpoint", "S3_ENDPOINT", why),
            bucket=_require(args.s3_bucket, "--s3-bucket", "S3_BUCKET", why),
            access_key=_require(args.s3_access_key, "--s3-access-key", "S3_ACCESS_KEY", why),
            secret_key=_require(args.s3_secret_key, "--s3-secret-key", "S3_SECRET_KEY", why),
        )
    if "hdfs" in sinks:
        _require(args.hdfs_url, "--hdfs-url", "HDFS_URL", "for the hdfs sink")
    checkpoint = args.checkpoint_location or _default_checkpoint(args.hdfs_url, s3.bucket if s3 else None)
    return JobConfig(
        kafka_bootstrap_servers=_require(
            args.kafka_bootstrap_servers, "--kafka-bootstrap-servers", "KAFKA_BOOTSTRAP_SERVERS", "to read events"
        ),
        events_topic=_require(args.events_topic, "--events-topic", "EVENTS_TOPIC", "to read events"),
        dead_letter_topic=args.dead_letter_topic or None,
        spark_master_url=args.spark_master_url or None,
        driver_host=args.driver_host or None,
        driver_port=_positive_int(args.driver_port, "SPARK_DRIVER_PORT") if args.driver_port else None,
        block_manager_port=(
            _positive_int(args.block_manager_port, "SPARK_BLOCK_MANAGER_PORT") if args.block_manager_port else None
        ),
        sinks=sinks,
        cassandra=cassandra,
        s3=s3,
        hdfs_url=args.hdfs_url or None,
        checkpoint_location=_require(
            checkpoint, "--checkpoint-location", "CHECKPOINT_LOCATION", "(no HDFS_URL or S3 bucket to derive it from)"
        ),
        trigger_interval=args.trigger_interval,
        max_offsets_per_trigger=_positive_int(args.max_offsets_per_trigger, "MAX_OFFSETS_PER_TRIGGER"),
        shuffle_partitions=_positive_int(args.shuffle_partitions, "SHUFFLE_PARTITIONS"),
        executor_memory=args.executor_memory,
        executor_cores=_positive_int(args.executor_cores, "EXECUTOR_CORES"),
        driver_memory=args.driver_memory,
        health_file=Path(args.health_file) if args.health_file else None,
        dedupe_watermark=args.dedupe_watermark,
        starting_offsets=args.starting_offsets,
    )


def _lines(prefix: str, record: object) -> list[str]:
    lines = []
    for field in fields(record):  # type: ignore[arg-type]
        value = getattr(record, field.name)
        if field.name in _SECRETS and value:
            value = _MASK
        if isinstance(value, CassandraConfig | S3Config):
            lines.extend(_lines(f"{prefix}{field.name}.", value))
        else:
            lines.append(f"{prefix}{field.name} = {value}")
    return lines


def describe(config: JobConfig) -> str:
    """One `name = value` line per setting, secrets replaced by ****, for the startup log."""
    return "\n".join(_lines("", config))
