"""The program hands Airflow a Variable and Connections; the DAG code parses exactly those.

The program's own output under mocks, on both targets and with stores switched off, goes through
the DAGs' own parsers and lookups (dags/streamstack_checks, importable without Airflow). A fact or
connection field renamed on either side fails here instead of at every DAG import of a deployment.
The same output is loaded by the real Airflow in tests/integration/test_dags_structure.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from dags.streamstack_checks.deployment import (
    CASSANDRA_CONN_ID,
    KAFKA_CONN_ID,
    S3_CONN_ID,
    SPARK_CONN_ID,
    VARIABLE_KEY,
    WEBHDFS_CONN_ID,
    Deployment,
    Target,
    parse_deployment,
)
from dags.streamstack_checks.jobs import streaming_job_container_labels, streaming_job_pod_selector
from dags.streamstack_checks.spark_master import master_status_url
from tools.mock_deploy import Deployment as Declared
from tools.mock_deploy import fake_digest, run_program

CONTAINER = "docker:index/container:Container"
VARIABLE_ENV = f"AIRFLOW_VAR_{VARIABLE_KEY.upper()}"
NS = "streamstack-dev"
DOMAIN = f"{NS}.svc.cluster.local"


def airflow_env(declared: Declared) -> dict[str, str]:
    """The scheduler's environment, plain and secret, as the program declares it on either target."""
    for resource in declared.of_type(CONTAINER):
        if resource.name == "airflow-scheduler-0":
            return dict(entry.split("=", 1) for entry in resource.inputs["envs"])
    kubernetes = [r.inputs for r in declared.resources if r.type.startswith("kubernetes:")]
    (pod,) = [
        o["spec"]["template"]
        for o in kubernetes
        if o["kind"] == "Deployment" and o["metadata"]["name"] == "airflow-scheduler"
    ]
    (container,) = pod["spec"]["containers"]
    (secret,) = [o for o in kubernetes if o["kind"] == "Secret" and o["metadata"]["name"] == "airflow-scheduler-env"]
    env = {}
    for entry in container["env"]:
        env[entry["name"]] = entry["value"] if "value" in entry else secret["stringData"][entry["name"]]
    return env


def connection(env: dict[str, str], conn_id: str) -> dict[str, Any]:
    return json.loads(env[f"AIRFLOW_CONN_{conn_id.upper()}"])


@pytest.fixture(scope="module")
def local() -> tuple[Declared, dict[str, str]]:
    declared = run_program(
        "local",
        {
            "kafka": {"topic": "clicks", "deadLetterTopic": "clicks-rejected"},
            "cassandra": {"keyspace": "lake", "table": "clicks_by_id", "hostPort": 19042},
            "objectStore": {"bucket": "raw-clicks"},
            "sinks": ["s3", "hdfs"],
        },
    )
    return declared, airflow_env(declared)


@pytest.fixture(scope="module")
def dev() -> tuple[Declared, dict[str, str]]:
    declared = run_program("dev", {"hdfs": {"enabled": False}, "sinks": ["cassandra", "s3"]})
    return declared, airflow_env(declared)


def test_the_deployment_variable_parses_into_the_configured_facts_on_docker(local) -> None:
    declared, env = local
    deployment = parse_deployment(env[VARIABLE_ENV])
    assert deployment == Deployment(
        target=Target.DOCKER,
        events_topic="clicks",
        dead_letter_topic="clicks-rejected",
        cassandra_keyspace="lake",
        cassandra_table="clicks_by_id",
        sinks=("s3", "hdfs"),
        producer_image=fake_digest("streamstack/producer:streamstack-local"),
        streaming_job_image=fake_digest("streamstack/streaming-job:streamstack-local"),
        spark_master_url="spark://spark-master-0:7077",
        s3_events_prefix="events/",
        dead_letter_rate_threshold=0.01,
        bucket="raw-clicks",
        hdfs_events_path="hdfs://hdfs-namenode-0:8020/streamstack/events",
        docker_network="streamstack-local",
    )
    job = next(r for r in declared.of_type(CONTAINER) if r.name == "streaming-job-0")
    labels = {f"{label['label']}={label['value']}" for label in job.inputs["labels"]}
    assert set(streaming_job_container_labels(deployment)) <= labels


def test_the_deployment_variable_parses_into_the_configured_facts_on_kubernetes(dev) -> None:
    declared, env = dev
    deployment = parse_deployment(env[VARIABLE_ENV])
    assert (deployment.target, deployment.kubernetes_namespace, deployment.docker_network) == (
        Target.KUBERNETES,
        NS,
        None,
    )
    assert (deployment.sinks, deployment.bucket, deployment.hdfs_events_path) == (
        ("cassandra", "s3"),
        "streamstack",
        None,
    )
    assert (
        deployment.producer_image
        == f"localhost:5001/streamstack-producer@{fake_digest('localhost:5001/streamstack-producer:streamstack-dev')}"
    )
    assert deployment.spark_master_url == f"spark://spark-master-0.spark-master.{DOMAIN}:7077"
    job_pod = next(
        r.inputs["spec"]["template"]
        for r in declared.resources
        if r.type.startswith("kubernetes:apps") and r.inputs["metadata"]["name"] == "streaming-job"
    )
    key, _, value = streaming_job_pod_selector().partition("=")
    assert job_pod["metadata"]["labels"][key] == value


@pytest.mark.parametrize("stack", ["local", "dev"])
def test_every_connection_the_dags_use_carries_the_fields_they_read(stack: str, request: pytest.FixtureRequest) -> None:
    _, env = request.getfixturevalue(stack)
    kafka = connection(env, KAFKA_CONN_ID)
    spark = connection(env, SPARK_CONN_ID)
    cassandra = connection(env, CASSANDRA_CONN_ID)
    s3 = connection(env, S3_CONN_ID)
    if stack == "local":
        assert kafka["extra"]["bootstrap.servers"] == "kafka-0:9092"
        assert (
            master_status_url(spark["host"], int(spark["extra"]["master_ui_port"]))
            == "http://spark-master-0:8080/json/"
        )
        assert (cassandra["host"], cassandra["port"], cassandra["schema"]) == ("cassandra-0", 9042, "lake")
        assert s3["extra"]["endpoint_url"] == "http://object-store:8333"
        assert connection(env, WEBHDFS_CONN_ID) == {"conn_type": "webhdfs", "host": "hdfs-namenode-0", "port": 9870}
    else:
        assert kafka["extra"]["bootstrap.servers"] == ",".join(f"kafka-{i}.kafka.{DOMAIN}:9092" for i in range(3))
        assert master_status_url(spark["host"], int(spark["extra"]["master_ui_port"])) == (
            f"http://spark-master-0.spark-master.{DOMAIN}:8080/json/"
        )
        assert cassandra["host"] == ",".join(f"cassandra-{i}.cassandra.{DOMAIN}" for i in range(3))
        assert s3["extra"]["endpoint_url"] == f"http://object-store.{DOMAIN}:8333"
        assert f"AIRFLOW_CONN_{WEBHDFS_CONN_ID.upper()}" not in env  # HDFS is off in this variation
    assert (cassandra["login"], s3["login"]) == ("streamstack", "streamstack")
    assert cassandra["password"] == "generated-cassandra-password"
    assert s3["password"] == "generated-object-store-password"
    assert s3["extra"]["config_kwargs"] == {"s3": {"addressing_style": "path"}}


def test_a_renamed_fact_would_fail_the_dags_parser(local) -> None:
    """The parser is strict about what the DAGs need: the contract test above can fail."""
    _, env = local
    facts = json.loads(env[VARIABLE_ENV])
    facts["event_topic"] = facts.pop("events_topic")
    with pytest.raises(ValueError, match="missing events_topic"):
        parse_deployment(json.dumps(facts))
