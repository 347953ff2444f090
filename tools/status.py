"""Is the running stack up, and is data flowing through it?

    python -m tools.status --stack local        (make status STACK=local)

Asks the engine (the Docker SDK, or the Kubernetes client for Kubernetes stacks) for each service's state
and health and each one-shot task's exit code, then the stores on their published endpoints: events per
second arriving in the topic, the job's last micro-batch (from its log), its lag (the offsets it commits as
consumer group PROGRESS_GROUP against the topic's end), rows in Cassandra and files in the Parquet sinks.
Ends with one verdict line; the exit status is 0 only when data flows. What the stack should contain comes
from the stack config, read offline like `make plan`.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from components.service import Lifecycle
from components.settings import Settings, parse_settings
from tools.mock_deploy import Deployment, deployment_or_exit, stack_config
from workloads.connect.apply import is_running, status_parts
from workloads.streaming_job.config import PROGRESS_GROUP

PROBE_TIMEOUT_S = 5.0
JOB_SERVICE = "streaming-job"
# BatchWriter's log line (workloads/streaming_job/batch_writer.py, BatchReport.log_line).
BATCH_LINE = re.compile(r"batch=\d+ rows=\d+ valid=\d+ dead_lettered=\d+ written: .* duration=\S+")


@dataclass(frozen=True)
class Replica:
    service: str
    name: str
    one_shot: bool
    state: str  # running, exited, pending, ...
    health: str | None = None  # healthy, unhealthy, starting; None without a health check
    exit_code: int | None = None

    @property
    def problem(self) -> str | None:
        if self.one_shot:
            if self.exit_code not in (None, 0):
                return f"{self.name} failed with exit code {self.exit_code} (make logs SERVICE={self.service})"
            return None
        if self.state != "running":
            return f"{self.name} is {self.state} (make logs SERVICE={self.service})"
        if self.health == "unhealthy":
            return f"{self.name} is unhealthy (make logs SERVICE={self.service})"
        return None

    def describe(self) -> str:
        if self.one_shot:
            outcome = "running" if self.exit_code is None else f"exit code {self.exit_code}"
            return f"{self.name:<28} one-shot  {outcome}"
        return f"{self.name:<28} {self.state:<9} {self.health or ''}".rstrip()


class Engine(Protocol):
    def replicas(self) -> list[Replica]: ...
    def logs(self, service: str, tail: int) -> str: ...
    def environment(self, service: str) -> dict[str, str]: ...


class DockerEngine:
    """The stack's containers, found by the labels the Docker target gives them."""

    def __init__(self, prefix: str, one_shot: set[str]) -> None:
        import docker

        self._client = docker.from_env(timeout=int(PROBE_TIMEOUT_S))
        self._client.ping()
        self._prefix, self._one_shot = prefix, one_shot

    def _containers(self, service: str | None = None) -> list[Any]:
        labels = [f"streamstack.stack={self._prefix}"] + ([f"streamstack.service={service}"] if service else [])
        return self._client.containers.list(all=True, filters={"label": labels})

    def replicas(self) -> list[Replica]:
        found = []
        for container in self._containers():
            state = container.attrs["State"]
            service = container.labels["streamstack.service"]
            found.append(
                Replica(
                    service=service,
                    name=container.name,
                    one_shot=service in self._one_shot,
                    state=state["Status"],
                    health=(state.get("Health") or {}).get("Status"),
                    exit_code=state["ExitCode"] if state["Status"] == "exited" else None,
                )
            )
        return sorted(found, key=lambda replica: replica.name)

    def logs(self, service: str, tail: int) -> str:
        return "".join(container.logs(tail=tail).decode(errors="replace") for container in self._containers(service))

    def environment(self, service: str) -> dict[str, str]:
        for container in self._containers(service):
            return dict(item.split("=", 1) for item in container.attrs["Config"]["Env"])
        return {}


class KubernetesEngine:
    """The stack's pods in its namespace, by the app.kubernetes.io/name label the Kubernetes target sets."""

    def __init__(self, namespace: str, one_shot: set[str], kubeconfig: str | None, context: str | None) -> None:
        from kubernetes import client, config

        config.load_kube_config(config_file=kubeconfig, context=context)
        self._core = client.CoreV1Api()
        self._core.list_namespaced_pod(namespace, limit=1, _request_timeout=PROBE_TIMEOUT_S)
        self._namespace, self._one_shot = namespace, one_shot

    def _pods(self, service: str | None = None) -> list[Any]:
        selector = f"app.kubernetes.io/name={service}" if service else "app.kubernetes.io/name"
        return self._core.list_namespaced_pod(self._namespace, label_selector=selector).items

    def replicas(self) -> list[Replica]:
        found = []
        for pod in self._pods():
            service = pod.metadata.labels["app.kubernetes.io/name"]
            statuses = pod.status.container_statuses or []
            terminated = statuses[0].state.terminated if statuses else None
            ready = bool(statuses) and all(status.ready for status in statuses)
            phase = pod.status.phase.lower()
            found.append(
                Replica(
                    service=service,
                    name=pod.metadata.name,
                    one_shot=service in self._one_shot,
                    state="running" if phase == "running" else phase,
                    health=("healthy" if ready else "starting") if phase == "running" else None,
                    exit_code=terminated.exit_code if terminated else None,
                )
            )
        return sorted(found, key=lambda replica: replica.name)

    def logs(self, service: str, tail: int) -> str:
        return "".join(
            self._core.read_namespaced_pod_log(pod.metadata.name, self._namespace, tail_lines=tail)
            for pod in self._pods(service)
        )

    def environment(self, service: str) -> dict[str, str]:
        """The first container's environment, secret references resolved."""
        for pod in self._pods(service):
            values = {}
            for variable in pod.spec.containers[0].env or []:
                if variable.value is not None:
                    values[variable.name] = variable.value
                elif variable.value_from and variable.value_from.secret_key_ref:
                    reference = variable.value_from.secret_key_ref
                    secret = self._core.read_namespaced_secret(reference.name, self._namespace)
                    values[variable.name] = base64.b64decode(secret.data[reference.key]).decode()
            return values
        return {}


# --- data flow: each probe talks to one store on its published endpoint -------------------------------------


def topic_end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    """The next offset of every partition of `topic`."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "streamstack-status", "enable.auto.commit": False})
    try:
        metadata = consumer.list_topics(topic, timeout=PROBE_TIMEOUT_S)
        partitions = metadata.topics[topic].partitions
        return {
            partition: consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=PROBE_TIMEOUT_S)[1]
            for partition in partitions
        }
    finally:
        consumer.close()


def events_per_second(
    bootstrap: str, topic: str, window_s: float, sleep: Callable[[float], None] = time.sleep
) -> float:
    """Messages appended to `topic` per second over `window_s`, from its end offsets before and after."""
    before = sum(topic_end_offsets(bootstrap, topic).values())
    started = time.monotonic()
    sleep(window_s)
    after = sum(topic_end_offsets(bootstrap, topic).values())
    return (after - before) / (time.monotonic() - started)


def consumer_lag(bootstrap: str, topic: str, group: str = PROGRESS_GROUP) -> int | None:
    """Messages of `topic` past the group's committed offsets; None when the group committed nothing."""
    from confluent_kafka import Consumer, TopicPartition

    ends = topic_end_offsets(bootstrap, topic)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        committed = consumer.committed(
            [TopicPartition(topic, partition) for partition in ends], timeout=PROBE_TIMEOUT_S
        )
    finally:
        consumer.close()
    positions = {position.partition: position.offset for position in committed if position.offset >= 0}
    if not positions:
        return None
    return sum(end - positions.get(partition, 0) for partition, end in ends.items())


def cassandra_rows(contact_point: str, username: str, password: str, keyspace: str, table: str) -> int:
    """Rows in the events table (a full count: fine for a local stack, slow for a big table)."""
    from cassandra.auth import PlainTextAuthProvider
    from cassandra.cluster import Cluster

    host, port = contact_point.rsplit(":", 1)
    cluster = Cluster(
        [host],
        port=int(port),
        auth_provider=PlainTextAuthProvider(username=username, password=password),
        protocol_version=4,
        connect_timeout=PROBE_TIMEOUT_S,
    )
    try:
        session = cluster.connect()
        return session.execute(f"SELECT count(*) FROM {keyspace}.{table}", timeout=60).one()[0]
    finally:
        cluster.shutdown()


def s3_files(endpoint: str, access_key: str, secret_key: str, bucket: str, prefix: str) -> int:
    """Parquet files under `prefix` in `bucket`."""
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, connect_timeout=PROBE_TIMEOUT_S, retries={"max_attempts": 1}),
    )
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sum(1 for page in pages for item in page.get("Contents", []) if item["Key"].endswith(".parquet"))


def hdfs_files(namenode_ui: str, path: str) -> int:
    """Files under `path`, from WebHDFS's GETCONTENTSUMMARY on the NameNode's HTTP port."""
    url = f"{namenode_ui.rstrip('/')}/webhdfs/v1{path}?op=GETCONTENTSUMMARY&user.name=status"
    with urllib.request.urlopen(url, timeout=PROBE_TIMEOUT_S) as response:
        return int(json.load(response)["ContentSummary"]["fileCount"])


def connector_states(connect_url: str) -> dict[str, str]:
    """Each connector's state and its tasks' (`GET /connectors?expand=status`): RUNNING, or what is not."""
    with urllib.request.urlopen(
        f"{connect_url.rstrip('/')}/connectors?expand=status", timeout=PROBE_TIMEOUT_S
    ) as reply:
        found = json.load(reply)
    states = {}
    for name, entry in sorted(found.items()):
        status = entry["status"]
        unwell = [f"{what} {part['state']}" for what, part in status_parts(status) if part["state"] != "RUNNING"]
        states[name] = "RUNNING" if is_running(status) else ", ".join(unwell) or "no tasks"
    return states


def last_batch(log_text: str) -> str | None:
    """The job's last micro-batch report in its log."""
    reports = BATCH_LINE.findall(log_text)
    return reports[-1] if reports else None


# --- putting it together ---------------------------------------------------------------------------------------


@dataclass
class Flow:
    events_per_second: float | None = None
    lag: int | None = None
    last_batch: str | None = None
    stores: dict[str, int] = field(default_factory=dict)
    connectors: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _probe(flow: Flow, what: str, probe: Callable[[], Any]) -> Any:
    try:
        return probe()
    except Exception as error:  # any failure of a probe is reported, and the others still run
        flow.problems.append(f"{what}: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}")
        return None


def measure_flow(settings: Settings, outputs: Mapping[str, str], job_env: Mapping[str, str], job_log: str,
                 window_s: float) -> Flow:  # fmt: skip
    """Every data-flow probe of the stack; a probe that fails is a problem, never an exception."""
    flow = Flow(last_batch=last_batch(job_log))
    bootstrap, topic = outputs["kafkaBootstrapServers"], settings.kafka.topic
    flow.events_per_second = _probe(flow, "kafka", lambda: events_per_second(bootstrap, topic, window_s))
    flow.lag = _probe(flow, "kafka consumer group", lambda: consumer_lag(bootstrap, topic))
    if "cassandra" in settings.sinks:
        rows = _probe(
            flow,
            "cassandra",
            lambda: cassandra_rows(
                outputs["cassandraContactPoint"],
                job_env.get("CASSANDRA_USERNAME", "streamstack"),
                job_env["CASSANDRA_PASSWORD"],
                settings.cassandra.keyspace,
                settings.cassandra.table,
            ),
        )
        if rows is not None:
            flow.stores["cassandra rows"] = rows
    if "s3" in settings.sinks:
        files = _probe(
            flow,
            "s3",
            lambda: s3_files(
                outputs["s3Endpoint"], job_env["S3_ACCESS_KEY"], job_env["S3_SECRET_KEY"], settings.object_store.bucket,
                "events/",
            ),
        )  # fmt: skip
        if files is not None:
            flow.stores["s3 parquet files"] = files
    if "hdfs" in settings.sinks:
        files = _probe(flow, "hdfs", lambda: hdfs_files(outputs["hdfsNamenodeUiUrl"], "/streamstack/events"))
        if files is not None:
            flow.stores["hdfs files"] = files
    if settings.kafka_connect.enabled:
        states = _probe(flow, "kafka connect", lambda: connector_states(outputs["kafkaConnectUrl"]))
        flow.connectors = states or {}
        flow.problems += [
            f"connector {name}: {state} (make logs SERVICE=kafka-connect)"
            for name, state in flow.connectors.items()
            if state != "RUNNING"
        ]
    return flow


def verdict(replicas: Sequence[Replica], flow: Flow) -> tuple[bool, str]:
    """One line: flowing, with its rate and lag, or the first thing that is wrong."""
    problems = [problem for replica in replicas if (problem := replica.problem)] + flow.problems
    if flow.events_per_second is not None and flow.events_per_second <= 0:
        problems.append("no events arrived in the topic during the window (make logs SERVICE=producer)")
    if flow.last_batch is None:
        problems.append("the streaming job has logged no micro-batch yet (make logs SERVICE=streaming-job)")
    if problems:
        return False, f"not flowing: {problems[0]}" + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
    lag = "unknown (no offsets committed yet)" if flow.lag is None else f"{flow.lag:,}"
    return True, f"flowing: {flow.events_per_second:,.1f} events/s, lag {lag}"


def engine_for(settings: Settings, deployment: Deployment) -> Engine:
    one_shot = {spec.name for spec in deployment.specs if spec.lifecycle is not Lifecycle.LONG_RUNNING}
    if settings.target == "docker":
        return DockerEngine(f"{settings.project}-{settings.stack}", one_shot)
    kubernetes = settings.kubernetes
    return KubernetesEngine(kubernetes.namespace, one_shot, kubernetes.kubeconfig, kubernetes.context)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="local")
    parser.add_argument("--window", type=float, default=5.0, help="seconds to count arriving events (default 5)")
    options = parser.parse_args(argv)
    deployment = deployment_or_exit(options.stack)
    config, secret_keys = stack_config(options.stack)
    settings = parse_settings(config, secret_keys, "streamstack", options.stack)
    engine_name = "Docker" if settings.target == "docker" else "Kubernetes"
    try:
        engine = engine_for(settings, deployment)
    except Exception as error:  # whatever the client raises, the answer is one line
        print(f"error: cannot reach the {engine_name} engine of stack {options.stack}: {error}", file=sys.stderr)
        return 1
    replicas = engine.replicas()
    if not replicas:
        print(f"stack {options.stack} is not running on this {engine_name} engine; start it with "
              f"`make up STACK={options.stack}`", file=sys.stderr)  # fmt: skip
        return 1
    print(f"stack {options.stack} ({engine_name})")
    for replica in replicas:
        print(f"  {replica.describe()}")
    outputs = {name: str(value) for name, value in deployment.outputs.items()}
    flow = measure_flow(
        settings, outputs, engine.environment(JOB_SERVICE), engine.logs(JOB_SERVICE, tail=200), options.window
    )
    rate = "unknown" if flow.events_per_second is None else f"{flow.events_per_second:,.1f}/s"
    print(f"events into {settings.kafka.topic}: {rate}; job lag: {'unknown' if flow.lag is None else flow.lag}")
    print(f"last micro-batch: {flow.last_batch or 'none yet'}")
    for store, count in flow.stores.items():
        print(f"{store}: {count:,}")
    for name, state in flow.connectors.items():
        print(f"connector {name}: {state}")
    flowing, line = verdict(replicas, flow)
    print(line)
    return 0 if flowing else 1


if __name__ == "__main__":
    sys.exit(main())
