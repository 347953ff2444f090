"""The pipeline's own workloads: the producer and the streaming job, built from `workloads/`.

Both are configured only through the environment documented in docs/interfaces.md, derived
here from the other components' outputs.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from components import versions
from components.pipeline_database import DatabaseAddress
from components.service import HealthCheck, Image, Port, Resources, ServiceSpec, Target, Volume
from components.settings import ProducerSettings, StreamingJobSettings

PRODUCER = "producer"
STREAMING_JOB = "streaming-job"
HEALTH_FILE = "/tmp/streamstack/healthy"  # the workloads create its directory (workloads/health.py)
DRIVER_PORT = 7078
BLOCK_MANAGER_PORT = 7079
JOB_UI_PORT = 4040
# Measured (docs/memory.md): the driver JVM takes its heap plus up to ~240 MiB; its Python process 72 MiB
# before the job's sinks import cassandra-driver and friends.
DRIVER_OFF_HEAP_MIB = 256
DRIVER_PYTHON_MIB = 160
CHECKPOINT_VOLUME = Volume("checkpoints", versions.CHECKPOINT_DIR, shared=True)


def url_port(url: str) -> int:
    """The TCP port an http(s) URL connects to."""
    parts = urllib.parse.urlsplit(url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def heartbeat_check(max_age_minutes: int = 2, path: str = HEALTH_FILE) -> HealthCheck:
    """Healthy while the process keeps touching its heartbeat file."""
    return HealthCheck(
        f'test -n "$(find {path} -mmin -{max_age_minutes} 2>/dev/null)"',
        interval_seconds=30,
        retries=4,
        start_period_seconds=60,
        cheap=True,
    )


@dataclass(frozen=True)
class ProducerArgs:
    settings: ProducerSettings
    target: Target
    bootstrap_servers: pulumi.Input[str]
    topic: pulumi.Input[str]
    pseudonym_key: pulumi.Input[str]
    schema_registry_url: pulumi.Input[str] | None
    depends_on: Sequence[pulumi.Resource]
    database: DatabaseAddress | None = None  # set: events go to this table (cdc), not to Kafka


def producer_destination(args: ProducerArgs) -> tuple[dict[str, pulumi.Input[str]], dict[str, pulumi.Input[str]]]:
    """Plain and secret environment that tell the producer where events go."""
    database = args.database
    if database is None:
        return {"KAFKA_BOOTSTRAP_SERVERS": args.bootstrap_servers, "EVENTS_TOPIC": args.topic}, {}
    plain: dict[str, pulumi.Input[str]] = {
        "PRODUCER_SINK": "postgres",
        "EVENTS_TOPIC": args.topic,  # the schema registry's subject is still <topic>-value
        "PIPELINE_DB_HOST": database.host,
        "PIPELINE_DB_PORT": str(database.port),
        "PIPELINE_DB_NAME": database.database,
        "PIPELINE_DB_USER": database.user,
        "PIPELINE_DB_TABLE": database.table,
    }
    return plain, {"PIPELINE_DB_PASSWORD": database.password}


class Producer(pulumi.ComponentResource):
    """Turns random user profiles into contract events on the events topic (or, with change data capture,
    into rows of the pipeline database), continuously."""

    image: pulumi.Output[str]
    built: Image  # the image, for the other one-shot tools it carries (workloads/connect)

    def __init__(self, name: str, args: ProducerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("streamstack:index:Producer", name, None, opts)
        settings, target = args.settings, args.target
        image = target.built_image(versions.PRODUCER, self)
        destination, destination_secrets = producer_destination(args)
        env: dict[str, pulumi.Input[str]] = {
            **destination,
            "EVENTS_PER_SECOND": str(settings.events_per_second),
            "PRODUCER_SOURCE": settings.source,
            "RANDOMUSER_URL": settings.randomuser_url,
            "HEALTH_FILE": HEALTH_FILE,
        }
        if args.schema_registry_url is not None:
            env["SCHEMA_REGISTRY_URL"] = args.schema_registry_url
        target.run(
            ServiceSpec(
                name=PRODUCER,
                image=image,
                env=env,
                secret_env={"PSEUDONYM_KEY": args.pseudonym_key, **destination_secrets},
                writes=[HEALTH_FILE],
                # randomuser.me is the one place outside the deployment it talks to.
                talks_outside=[url_port(settings.randomuser_url)] if settings.source == "randomuser" else [],
                # It writes only its heartbeat: the root filesystem stays read-only, /tmp is scratch.
                read_only_root=True,
                scratch=["/tmp"],
                health=heartbeat_check(),
                # 33 MiB measured at 50 events/s; librdkafka may queue up to 100k events besides.
                resources=Resources(memory_mib=192, cpu=0.1),
                depends_on=args.depends_on,
            ),
            self,
        )
        self.image = pulumi.Output.from_input(image.reference)
        self.built = image
        self.register_outputs({"image": self.image})


@dataclass(frozen=True)
class CassandraSink:
    """What the job needs of the Cassandra component to write events."""

    contact_points: pulumi.Input[str]
    port: pulumi.Input[int]
    keyspace: pulumi.Input[str]
    table: pulumi.Input[str]
    username: pulumi.Input[str]
    password: pulumi.Input[str]


@dataclass(frozen=True)
class S3Sink:
    """What the job needs of the object store: Parquet output and, if chosen, checkpoints."""

    endpoint: pulumi.Input[str]
    bucket: pulumi.Input[str]
    access_key: pulumi.Input[str]
    secret_key: pulumi.Input[str]


@dataclass(frozen=True)
class StreamingJobArgs:
    settings: StreamingJobSettings
    target: Target
    image: Image
    sinks: tuple[str, ...]
    master_url: pulumi.Input[str]
    bootstrap_servers: pulumi.Input[str]
    topic: pulumi.Input[str]
    dead_letter_topic: pulumi.Input[str]
    cassandra: CassandraSink | None
    s3: S3Sink | None
    hdfs_url: pulumi.Input[str] | None
    depends_on: Sequence[pulumi.Resource]


def streaming_job_image(target: Target, parent: pulumi.Resource) -> Image:
    """The job's image: driver, executors and the Spark daemons all run it, since executors need the
    job's code, its Python dependencies and the connector jars baked in at build time."""
    return target.built_image(versions.STREAMING_JOB, parent)


def checkpoint_location(
    store: str, bucket: pulumi.Input[str] | None, hdfs_url: pulumi.Input[str] | None
) -> pulumi.Output[str]:
    """Durable checkpoint URL: a restarted query resumes from it without loss or duplicates."""
    if store == "s3" and bucket is not None:
        return pulumi.Output.concat("s3a://", bucket, "/checkpoints/", STREAMING_JOB)
    if store == "hdfs" and hdfs_url is not None:
        return pulumi.Output.concat(hdfs_url, "/streamstack/checkpoints/", STREAMING_JOB)
    return pulumi.Output.from_input(f"file://{CHECKPOINT_VOLUME.mount_path}/{STREAMING_JOB}")


class StreamingJob(pulumi.ComponentResource):
    """Runs the Spark driver of the streaming query; executors run on the Spark workers."""

    image: pulumi.Output[str]
    ui_url: pulumi.Output[str]

    def __init__(self, name: str, args: StreamingJobArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("streamstack:index:StreamingJob", name, None, opts)
        settings, target, image = args.settings, args.target, args.image
        env: dict[str, pulumi.Input[str]] = {
            "SPARK_MASTER_URL": args.master_url,
            "SPARK_DRIVER_HOST": target.host(STREAMING_JOB, 0),
            "SPARK_DRIVER_PORT": str(DRIVER_PORT),
            "SPARK_BLOCK_MANAGER_PORT": str(BLOCK_MANAGER_PORT),
            "KAFKA_BOOTSTRAP_SERVERS": args.bootstrap_servers,
            "EVENTS_TOPIC": args.topic,
            "DEAD_LETTER_TOPIC": args.dead_letter_topic,
            "SINKS": ",".join(args.sinks),
            "CHECKPOINT_LOCATION": checkpoint_location(
                settings.checkpoint, args.s3.bucket if args.s3 else None, args.hdfs_url
            ),
            "TRIGGER_INTERVAL": settings.trigger_interval,
            "MAX_OFFSETS_PER_TRIGGER": str(settings.max_offsets_per_trigger),
            "SHUFFLE_PARTITIONS": str(settings.shuffle_partitions),
            "EXECUTOR_MEMORY": f"{settings.executor_memory_mib}m",
            "EXECUTOR_CORES": str(settings.executor_cores),
            "DRIVER_MEMORY": f"{settings.driver_memory_mib}m",
            "HEALTH_FILE": HEALTH_FILE,
        }
        secret_env: dict[str, pulumi.Input[str]] = {}
        ui_port = Port("ui", JOB_UI_PORT, settings.ui_host_port, http=True)
        if args.cassandra is not None:
            env.update(
                {
                    "CASSANDRA_HOSTS": args.cassandra.contact_points,
                    "CASSANDRA_PORT": pulumi.Output.from_input(args.cassandra.port).apply(str),
                    "CASSANDRA_KEYSPACE": args.cassandra.keyspace,
                    "CASSANDRA_TABLE": args.cassandra.table,
                    "CASSANDRA_USERNAME": args.cassandra.username,
                }
            )
            secret_env["CASSANDRA_PASSWORD"] = args.cassandra.password
        if args.s3 is not None:
            env.update(
                {"S3_ENDPOINT": args.s3.endpoint, "S3_BUCKET": args.s3.bucket, "S3_ACCESS_KEY": args.s3.access_key}
            )
            secret_env["S3_SECRET_KEY"] = args.s3.secret_key
        if args.hdfs_url is not None:
            env["HDFS_URL"] = args.hdfs_url
        target.run(
            ServiceSpec(
                name=STREAMING_JOB,
                image=image,
                env=env,
                secret_env=secret_env,
                ports=[Port("driver", DRIVER_PORT), Port("block-manager", BLOCK_MANAGER_PORT), ui_port],
                volumes=[CHECKPOINT_VOLUME] if settings.checkpoint == "volume" else [],
                writes=[HEALTH_FILE, "/tmp"],
                health=heartbeat_check(),
                resources=Resources(
                    memory_mib=settings.driver_memory_mib + DRIVER_OFF_HEAP_MIB + DRIVER_PYTHON_MIB,
                    cpu=0.25,
                    jvm_heap_mib=settings.driver_memory_mib,
                ),
                depends_on=args.depends_on,
                user=versions.SPARK_USER,
            ),
            self,
        )
        self.image = pulumi.Output.from_input(image.reference)
        self.ui_url = pulumi.Output.from_input(f"http://{target.published_endpoint(STREAMING_JOB, ui_port)}")
        self.register_outputs({"image": self.image, "ui_url": self.ui_url})
