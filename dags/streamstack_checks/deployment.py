"""The deployment facts Airflow receives as the Variable `streamstack_deployment` (docs/interfaces.md).

Facts that only exist for some deployments are optional here and required only where they apply:
`bucket` with the s3 sink, `hdfs_events_path` with the hdfs sink, `docker_network` on Docker,
`kubernetes_namespace` on Kubernetes. Keys this module does not know are ignored, so the
deployment can add facts before the DAGs use them.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
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
    sinks: tuple[str, ...]
    producer_image: str
    streaming_job_image: str
    spark_master_url: str
    s3_events_prefix: str
    dead_letter_rate_threshold: float
    bucket: str | None = None
    hdfs_events_path: str | None = None
    docker_network: str | None = None
    kubernetes_namespace: str | None = None
    kubernetes_pod_labels: Mapping[str, str] = field(default_factory=dict)  # admit launched pods to the services
    # How a launched pod passes the namespace's restricted Pod Security profile: security contexts in the API's
    # spelling, requests and limits, and the Secret its credentials come from (components/targets/kubernetes.py).
    kubernetes_pod_spec: Mapping[str, Any] = field(default_factory=dict)
    # producer: batches go to Kafka; cdc: to the pipeline database (host, port, database, user, table),
    # which Debezium streams to the events topic.
    ingestion: str = "producer"
    pipeline_database: Mapping[str, Any] = field(default_factory=dict)

    @property
    def cassandra_qualified_table(self) -> str:
        return f"{self.cassandra_keyspace}.{self.cassandra_table}"


INGESTION_MODES = ("producer", "cdc")
PIPELINE_DATABASE_FIELDS = ("host", "port", "database", "user", "table")
_ALWAYS = (
    "events_topic",
    "dead_letter_topic",
    "cassandra_keyspace",
    "cassandra_table",
    "producer_image",
    "streaming_job_image",
    "spark_master_url",
    "s3_events_prefix",
)


def _conditional(facts: Mapping[str, Any]) -> dict[str, bool]:
    """Optional text facts, each with whether this deployment needs it."""
    sinks = facts.get("sinks") if isinstance(facts.get("sinks"), list) else []
    return {
        "bucket": "s3" in sinks,
        "hdfs_events_path": "hdfs" in sinks,
        "docker_network": facts.get("target") == Target.DOCKER.value,
        "kubernetes_namespace": facts.get("target") == Target.KUBERNETES.value,
    }


def parse_deployment(raw: str | Mapping[str, Any]) -> Deployment:
    """Validate the Variable's JSON; a wrong deployment fails here with every problem named at once."""
    facts = json.loads(raw) if isinstance(raw, str) else dict(raw)
    texts = [*_ALWAYS, *(name for name, needed in _conditional(facts).items() if needed)]
    required = ("target", "sinks", "dead_letter_rate_threshold", *texts)
    problems = [f"missing {name}" for name in required if name not in facts]
    if problems:
        raise ValueError(f"{VARIABLE_KEY}: {'; '.join(problems)}")
    targets = sorted(target.value for target in Target)
    if facts["target"] not in targets:
        problems.append(f"target {facts['target']!r} is not one of {targets}")
    problems += [f"{name} must be a non-empty string" for name in texts if not _is_text(facts[name])]
    sinks = facts["sinks"]
    if not isinstance(sinks, list) or not sinks or not set(sinks) <= KNOWN_SINKS:
        problems.append(f"sinks must be a non-empty list drawn from {sorted(KNOWN_SINKS)}, got {sinks!r}")
    threshold = facts["dead_letter_rate_threshold"]
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 <= threshold <= 1:
        problems.append(f"dead_letter_rate_threshold must be a number in 0..1, got {threshold!r}")
    labels = _pod_labels(facts.get("kubernetes_pod_labels"))
    if labels is None:
        problems.append("kubernetes_pod_labels must be an object (or its JSON) of string labels")
    ingestion = facts.get("ingestion", "producer")
    if ingestion not in INGESTION_MODES:
        problems.append(f"ingestion must be one of {list(INGESTION_MODES)}, got {ingestion!r}")
    database = _json_object(facts.get("pipeline_database"))
    if ingestion == "cdc" and not (database and set(PIPELINE_DATABASE_FIELDS) <= set(database)):
        problems.append(f"pipeline_database must be an object with {', '.join(PIPELINE_DATABASE_FIELDS)} for cdc")
    pod_spec = _json_object(facts.get("kubernetes_pod_spec"))
    if pod_spec is None:
        problems.append("kubernetes_pod_spec must be an object (or its JSON)")
    elif facts["target"] == Target.KUBERNETES.value and "secret" not in pod_spec:
        # Without it, a launched pod could not take its credentials from the deployment's Secret.
        problems.append("kubernetes_pod_spec must name the Secret launched pods take credentials from")
    if problems:
        raise ValueError(f"{VARIABLE_KEY}: {'; '.join(problems)}")
    return Deployment(
        target=Target(facts["target"]),
        sinks=tuple(sinks),
        dead_letter_rate_threshold=float(threshold),
        kubernetes_pod_labels=labels or {},
        kubernetes_pod_spec=pod_spec or {},
        ingestion=ingestion,
        pipeline_database=database or {},
        **{name: facts[name] for name in texts},
    )


def _pod_labels(value: object) -> dict[str, str] | None:
    """Labels given as an object or as its JSON text (how the Kubernetes target emits them)."""
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        return None
    return value


def _json_object(value: object) -> dict[str, Any] | None:
    """An object given as itself or as its JSON text; {} when absent, None when it is neither."""
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, dict) else None


def _is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())
