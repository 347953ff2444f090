"""Kafka in KRaft mode: N combined broker+controller nodes and the pipeline's topics."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass

import pulumi

from components import versions
from components.image_facts import User
from components.service import HealthCheck, Lifecycle, Port, Resources, ServiceSpec, Target, Volume
from components.settings import KafkaSettings

SERVICE = "kafka"
INTERNAL_PORT = 9092
CONTROLLER_PORT = 9093
HOST_LISTENER_PORT = 19092
HEAP_MIB = 384
MEMORY_MIB = 768  # heap + metaspace, page-cache headroom and the health check's small JVM
TOOLS_HEAP = "-Xms32m -Xmx96m"
BIN = "/opt/kafka/bin"
APPUSER = User(1000, 1000)  # the image's appuser (components/versions.py)


@dataclass(frozen=True)
class KafkaArgs:
    settings: KafkaSettings
    target: Target
    cluster_seed: str  # stable per stack: the KRaft cluster id is derived from it


def kraft_cluster_id(seed: str) -> str:
    """A KRaft cluster id (16 bytes, URL-safe base64) that is stable for a stack across deployments."""
    raw = uuid.uuid5(uuid.NAMESPACE_URL, f"streamstack:{seed}").bytes
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def internal_topic_replication(settings: KafkaSettings) -> int:
    """Replication factor of every client's internal topic (consumer offsets, transaction state,
    share-group state, the schema registry's `_schemas`): three copies where there are three brokers,
    never fewer than the cluster's min.insync.replicas (acks=all writes would fail), never more than
    the brokers. Kafka's own defaults (3, min ISR 2) fail on a smaller cluster."""
    return min(settings.brokers, max(3, settings.min_insync_replicas))


def quorum_voters(target: Target, brokers: int) -> str:
    """`id@host:port` of every controller; node ids equal replica ordinals."""
    return ",".join(f"{i}@{target.host(SERVICE, i)}:{CONTROLLER_PORT}" for i in range(brokers))


def topic_command(
    topic: str, partitions: int, replication: int, min_insync: int, bootstrap: str, *, compacted: bool = False
) -> str:
    """Creates `topic` unless it exists; `compacted` keeps the last record per key (Connect's internal topics)."""
    return (
        f"{BIN}/kafka-topics.sh --bootstrap-server {bootstrap} --create --if-not-exists --topic {topic}"
        f" --partitions {partitions} --replication-factor {replication} --config min.insync.replicas={min_insync}"
        + (" --config cleanup.policy=compact" if compacted else "")
    )


class Kafka(pulumi.ComponentResource):
    """KRaft cluster; offers internal and host-side bootstrap servers and the two topics."""

    bootstrap_servers: pulumi.Output[str]
    host_bootstrap_servers: pulumi.Output[str]
    topic: pulumi.Output[str]
    dead_letter_topic: pulumi.Output[str]
    internal_replication: int

    def __init__(self, name: str, args: KafkaArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("streamstack:index:Kafka", name, None, opts)
        settings, target = args.settings, args.target
        host_port = Port("host", HOST_LISTENER_PORT, settings.host_port)
        internal = [f"{target.host(SERVICE, i)}:{INTERNAL_PORT}" for i in range(settings.brokers)]
        published = [target.published_endpoint(SERVICE, host_port, i) for i in range(settings.brokers)]
        image = target.upstream_image(versions.KAFKA, self)
        internal_replication = internal_topic_replication(settings)
        min_insync = str(settings.min_insync_replicas)

        def broker_identity(ordinal: int) -> dict[str, str]:
            # Both listeners are derived from the same ordinal and the same port table: the
            # advertised host address is always the port this replica publishes.
            return {
                "KAFKA_NODE_ID": str(ordinal),
                "KAFKA_ADVERTISED_LISTENERS": f"INTERNAL://{internal[ordinal]},HOST://{published[ordinal]}",
            }

        brokers = target.run(
            ServiceSpec(
                name=SERVICE,
                image=image,
                replicas=settings.brokers,
                entrypoint=["/etc/kafka/docker/run"],
                env={
                    "CLUSTER_ID": kraft_cluster_id(args.cluster_seed),
                    "KAFKA_PROCESS_ROLES": "broker,controller",
                    "KAFKA_CONTROLLER_QUORUM_VOTERS": quorum_voters(target, settings.brokers),
                    "KAFKA_LISTENERS": (
                        f"INTERNAL://:{INTERNAL_PORT},CONTROLLER://:{CONTROLLER_PORT},HOST://:{HOST_LISTENER_PORT}"
                    ),
                    "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT,HOST:PLAINTEXT",
                    "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
                    "KAFKA_INTER_BROKER_LISTENER_NAME": "INTERNAL",
                    # A subdirectory: a fresh volume's root may hold lost+found, which Kafka refuses.
                    "KAFKA_LOG_DIRS": "/var/lib/kafka/data/logs",
                    "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "false",
                    "KAFKA_NUM_PARTITIONS": str(settings.partitions),
                    "KAFKA_DEFAULT_REPLICATION_FACTOR": str(settings.replication_factor),
                    "KAFKA_MIN_INSYNC_REPLICAS": str(settings.min_insync_replicas),
                    "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": str(internal_replication),
                    "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": str(internal_replication),
                    "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": min_insync,
                    "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR": str(internal_replication),
                    "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR": min_insync,
                    "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
                    "KAFKA_HEAP_OPTS": f"-Xms{HEAP_MIB}m -Xmx{HEAP_MIB}m",
                },
                per_replica_env=broker_identity,
                ports=[
                    Port("internal", INTERNAL_PORT),
                    Port("controller", CONTROLLER_PORT, replicas_only=True),
                    host_port,
                ],
                volumes=[Volume("data", "/var/lib/kafka/data")],
                # The image's run script writes the final configuration; kafka-run-class.sh its log dir.
                writes=["/opt/kafka/config", "/opt/kafka/logs"],
                health=HealthCheck(
                    f'KAFKA_HEAP_OPTS="{TOOLS_HEAP}" {BIN}/kafka-broker-api-versions.sh'
                    f" --bootstrap-server localhost:{INTERNAL_PORT} > /dev/null",
                    interval_seconds=15,
                    timeout_seconds=10,
                    retries=10,
                    start_period_seconds=20,
                ),
                resources=Resources(memory_mib=MEMORY_MIB, cpu=0.5, jvm_heap_mib=HEAP_MIB),
                # No pre-stop command: SIGTERM itself starts the broker's controlled shutdown, which moves
                # its partition leadership away first; it gets a minute for that before SIGKILL.
                stop_grace_seconds=60,
                # Controllers must all be up to form a quorum, so replicas start together.
                ordered_start=False,
                user=APPUSER,
            ),
            self,
        )
        bootstrap = ",".join(internal)
        commands = " && ".join(
            topic_command(
                topic, settings.partitions, settings.replication_factor, settings.min_insync_replicas, bootstrap
            )
            for topic in (settings.topic, settings.dead_letter_topic)
        )
        target.run(
            ServiceSpec(
                name="kafka-topics",
                image=image,
                lifecycle=Lifecycle.ONE_SHOT,
                entrypoint=["/bin/bash", "-c"],
                args=[f"set -euo pipefail; {commands}"],
                env={"KAFKA_HEAP_OPTS": TOOLS_HEAP},
                resources=Resources(memory_mib=256, cpu=0.1, jvm_heap_mib=96),
                depends_on=brokers.resources,
                user=APPUSER,
            ),
            self,
        )
        self.bootstrap_servers = pulumi.Output.from_input(bootstrap)
        self.host_bootstrap_servers = pulumi.Output.from_input(",".join(published))
        self.topic = pulumi.Output.from_input(settings.topic)
        self.dead_letter_topic = pulumi.Output.from_input(settings.dead_letter_topic)
        self.internal_replication = internal_replication
        self.register_outputs(
            {
                "bootstrap_servers": self.bootstrap_servers,
                "host_bootstrap_servers": self.host_bootstrap_servers,
                "topic": self.topic,
                "dead_letter_topic": self.dead_letter_topic,
            }
        )
