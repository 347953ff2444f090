"""Kafka Connect in distributed mode (Debezium's image) and the connectors the deployment applies to it.

N workers share one group; their config, offset and status topics are created by the deployment,
compacted, with the cluster's internal replication, before any worker starts (a worker left to create
them would pick Connect's defaults). Connectors are applied by a one-shot task once the workers are
healthy: Connect validates each config first, so a bad one fails `pulumi up` with Connect's own message
(workloads/connect/apply.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi

from components import versions
from components.kafka import topic_command
from components.pipeline_database import DatabaseAddress
from components.service import (
    HealthCheck,
    Image,
    Lifecycle,
    Port,
    Resources,
    ServiceSpec,
    Target,
    curl_check,
)
from components.settings import PIPELINE_DB_PASSWORD_ENV, KafkaConnectSettings, KafkaSettings

SERVICE = "kafka-connect"
REST_PORT = 8083
GROUP_ID = "streamstack-connect"
CONFIG_TOPIC = "streamstack-connect-configs"
OFFSET_TOPIC = "streamstack-connect-offsets"
STATUS_TOPIC = "streamstack-connect-status"
# Connect requires exactly one partition for its config topic; offsets and status spread over a few.
INTERNAL_TOPIC_PARTITIONS = {CONFIG_TOPIC: 1, OFFSET_TOPIC: 5, STATUS_TOPIC: 3}
HEAP_MIB = 384
MEMORY_MIB = 768
TOOLS_HEAP = "-Xms32m -Xmx96m"
ENV_CONFIG_PROVIDER = "org.apache.kafka.common.config.provider.EnvVarConfigProvider"


def cdc_connector_config(source: DatabaseAddress, topic: str) -> dict[str, str]:
    """Debezium's PostgreSQL connector turning each inserted row into one contract event on `topic`.

    The row's columns are the contract's fields (workloads/contract: postgres_table_ddl), so the flattened
    row (ExtractNewRecordState) is the event; JSON without embedded schemas is the contract's wire format;
    timestamptz columns are ZonedTimestamp strings, ISO-8601 with an offset; the key is the user id, as
    the producer keys its events. Inserts before the connector first starts are read by its initial snapshot.
    """
    return {
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
        "tasks.max": "1",
        "plugin.name": "pgoutput",
        "database.hostname": source.host,
        "database.port": str(source.port),
        "database.user": source.user,
        "database.password": f"${{env:{PIPELINE_DB_PASSWORD_ENV}}}",
        "database.dbname": source.database,
        "topic.prefix": "streamstack-cdc",
        "table.include.list": f"public.{source.table}",
        "publication.name": source.publication,
        "publication.autocreate.mode": "disabled",
        "slot.name": source.publication,
        "snapshot.mode": "initial",
        "message.key.columns": f"public.{source.table}:user_id",
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
        "transforms": "unwrap,key,route",
        "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
        # Only inserts are published; were a delete to come through, no tombstone reaches the events topic.
        "transforms.unwrap.delete.tombstone.handling.mode": "drop",
        "transforms.key.type": "org.apache.kafka.connect.transforms.ExtractField$Key",
        "transforms.key.field": "user_id",
        "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
        "transforms.route.regex": ".*",
        "transforms.route.replacement": topic,
    }


@dataclass(frozen=True)
class KafkaConnectArgs:
    settings: KafkaConnectSettings
    kafka: KafkaSettings
    target: Target
    bootstrap_servers: pulumi.Input[str]
    internal_replication: int
    tools_image: Image  # runs workloads/connect (the producer's image)
    connectors: Mapping[str, Mapping[str, pulumi.Input[str]]]  # the declared ones and, for cdc, the deployment's
    secret_env: Mapping[str, pulumi.Input[str]]  # what connector configs reference as ${env:NAME}
    depends_on: Sequence[pulumi.Resource]  # the brokers and their topics
    # What the connectors read (the pipeline database): the workers converse with it, the apply task waits for it.
    sources: Sequence[pulumi.Resource]


class KafkaConnect(pulumi.ComponentResource):
    """Offers the REST API's URL, in the network and on the host."""

    url: pulumi.Output[str]
    host_url: pulumi.Output[str]

    def __init__(self, name: str, args: KafkaConnectArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("streamstack:index:KafkaConnect", name, None, opts)
        settings, target = args.settings, args.target
        kafka_image = target.upstream_image(versions.KAFKA, self)
        topics = target.run(
            ServiceSpec(
                name=f"{SERVICE}-topics",
                image=kafka_image,
                lifecycle=Lifecycle.ONE_SHOT,
                entrypoint=["/bin/bash", "-c"],
                args=[f"set -euo pipefail; {internal_topics_command(args.kafka, args.internal_replication)}"],
                env={"KAFKA_HEAP_OPTS": TOOLS_HEAP, "BOOTSTRAP_SERVERS": args.bootstrap_servers},
                resources=Resources(memory_mib=256, cpu=0.1, jvm_heap_mib=96),
                depends_on=args.depends_on,
                user=versions.KAFKA.user.value,
            ),
            self,
        )
        rest = Port("rest", REST_PORT, settings.host_port, http=True)
        replication = str(args.internal_replication)
        workers = target.run(
            ServiceSpec(
                name=SERVICE,
                image=target.upstream_image(versions.KAFKA_CONNECT, self),
                replicas=settings.workers,
                entrypoint=list(versions.KAFKA_CONNECT.entrypoint.value[:1]),
                args=list(versions.KAFKA_CONNECT.entrypoint.value[1:]),
                env={
                    "BOOTSTRAP_SERVERS": args.bootstrap_servers,
                    "GROUP_ID": GROUP_ID,
                    "CONFIG_STORAGE_TOPIC": CONFIG_TOPIC,
                    "OFFSET_STORAGE_TOPIC": OFFSET_TOPIC,
                    "STATUS_STORAGE_TOPIC": STATUS_TOPIC,
                    "CONNECT_CONFIG_STORAGE_REPLICATION_FACTOR": replication,
                    "CONNECT_OFFSET_STORAGE_REPLICATION_FACTOR": replication,
                    "CONNECT_STATUS_STORAGE_REPLICATION_FACTOR": replication,
                    "CONNECT_OFFSET_STORAGE_PARTITIONS": str(INTERNAL_TOPIC_PARTITIONS[OFFSET_TOPIC]),
                    "CONNECT_STATUS_STORAGE_PARTITIONS": str(INTERNAL_TOPIC_PARTITIONS[STATUS_TOPIC]),
                    # Source offsets are committed this often: after a worker crash, at most this much is sent
                    # again (the image's default is a minute; the streaming job de-duplicates by event id).
                    "OFFSET_FLUSH_INTERVAL_MS": "10000",
                    "CONNECT_CONFIG_PROVIDERS": "env",
                    "CONNECT_CONFIG_PROVIDERS_ENV_CLASS": ENV_CONFIG_PROVIDER,
                    "HEAP_OPTS": f"-Xms{HEAP_MIB}m -Xmx{HEAP_MIB}m",
                },
                # Each worker advertises its own address: the others forward REST writes to the group's leader.
                per_replica_env=lambda ordinal: {"ADVERTISED_HOST_NAME": target.host(SERVICE, ordinal)},
                talks_outside=settings.outside_ports,
                secret_env=args.secret_env,
                ports=[rest],
                # The entrypoint rewrites the worker's properties at every start; log4j writes its log file.
                writes=["/kafka/config", "/kafka/logs"],
                health=HealthCheck(
                    curl_check(REST_PORT, "/health"), interval_seconds=10, retries=12, start_period_seconds=30
                ),
                resources=Resources(memory_mib=MEMORY_MIB, cpu=0.5, jvm_heap_mib=HEAP_MIB),
                depends_on=[*args.depends_on, *topics.resources, *args.sources],
            ),
            self,
        )
        self.url = pulumi.Output.from_input(f"http://{target.host(SERVICE)}:{REST_PORT}")
        documents = pulumi.Output.from_input(args.connectors).apply(lambda value: json.dumps(value, sort_keys=True))
        target.run(
            ServiceSpec(
                name=f"{SERVICE}-connectors",
                image=args.tools_image,
                lifecycle=Lifecycle.ONE_SHOT,
                entrypoint=["python", "-m", "workloads.connect"],
                env={"CONNECT_URL": self.url, "CONNECTORS": documents},
                resources=Resources(memory_mib=64, cpu=0.1),
                read_only_root=True,  # it writes nothing
                depends_on=[*workers.resources, *args.sources],
            ),
            self,
        )
        self.host_url = pulumi.Output.from_input(f"http://{target.published_endpoint(SERVICE, rest)}")
        self.register_outputs({"url": self.url, "host_url": self.host_url})


def internal_topics_command(kafka: KafkaSettings, replication: int) -> str:
    """Creates the workers' three topics, compacted, as Connect requires of them."""
    bootstrap = "$BOOTSTRAP_SERVERS"
    return " && ".join(
        topic_command(
            topic, partitions, replication, min(kafka.min_insync_replicas, replication), bootstrap, compacted=True
        )
        for topic, partitions in INTERNAL_TOPIC_PARTITIONS.items()
    )
