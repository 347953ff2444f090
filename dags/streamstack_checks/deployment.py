"""The deployment facts Airflow receives as the Variable `streamstack_deployment` (docs/interfaces.md)."""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

VARIABLE_KEY = "streamstack_deployment"

KAFKA_CONN_ID = "streamstack_kafka"
SPARK_CONN_ID = "streamstack_spark"
CASSANDRA_CONN_ID = "streamstack_cassandra"
S3_CONN_ID = "streamstack_s3"
WEBHDFS_CONN_ID = "streamstack_webhdfs"

KNOWN_SINKS = frozenset({"cassandra", "s3", "hdfs"})


class Target(enum.Enum):
    """Where the stack runs; decides whether a batch job becomes a container or a pod."""

    DOCKER = "docker"
    KUBERNETES = "kubernetes"


@dataclass(frozen=True)
class Deployment:
    """Everything a DAG may know about the deployment besides its connections."""

    target: Target
    events_topic: str
    dead_letter_topic: str
    cassandra_keyspace: str
    cassandra_table: str
    bucket: str
    sinks: tuple[str, ...]
    producer_image: str
    streaming_job_image: str
    docker_network: str
    kubernetes_namespace: str
    spark_master_url: str
    hdfs_events_path: str
    s3_events_prefix: str
    dead_letter_rate_threshold: float

    @property
    def cassandra_qualified_table(self) -> str:
        return f"{self.cassandra_keyspace}.{self.cassandra_table}"


_TEXT_FIELDS = (
    "events_topic",
    "dead_letter_topic",
    "cassandra_keyspace",
    "cassandra_table",
    "bucket",
    "producer_image",
    "streaming_job_image",
    "docker_network",
    "kubernetes_namespace",
    "spark_master_url",
    "hdfs_events_path",
    "s3_events_prefix",
)


def parse_deployment(raw: str | Mapping[str, Any]) -> Deployment:
    """Validate the Variable's JSON; a wrong deployment fails here with every problem named at once."""
    facts = json.loads(raw) if isinstance(raw, str) else dict(raw)
    required = ("target", "sinks", "dead_letter_rate_threshold", *_TEXT_FIELDS)
    problems = [f"missing {name}" for name in required if name not in facts]
    if problems:
        raise ValueError(f"{VARIABLE_KEY}: {'; '.join(problems)}")
    targets = {target.value for target in Target}
    if facts["target"] not in targets:
        problems.append(f"target {facts['target']!r} is not one of {sorted(targets)}")
    problems += [f"{name} must be a non-empty string" for name in _TEXT_FIELDS if not _is_text(facts[name])]
    sinks = facts["sinks"]
    if not isinstance(sinks, list) or not sinks or not set(sinks) <= KNOWN_SINKS:
        problems.append(f"sinks must be a non-empty list drawn from {sorted(KNOWN_SINKS)}, got {sinks!r}")
    threshold = facts["dead_letter_rate_threshold"]
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 <= threshold <= 1:
        problems.append(f"dead_letter_rate_threshold must be a number in 0..1, got {threshold!r}")
    if problems:
        raise ValueError(f"{VARIABLE_KEY}: {'; '.join(problems)}")
    return Deployment(
        target=Target(facts["target"]),
        sinks=tuple(sinks),
        dead_letter_rate_threshold=float(threshold),
        **{name: facts[name] for name in _TEXT_FIELDS},
    )


def _is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())
