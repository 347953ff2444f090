"""Every DAG file imports in a real Airflow with no import errors, and has the agreed structure.

Needs no servers: the DAGs only touch connections when their tasks run. The deployment Variable is
injected as AIRFLOW_VAR_STREAMSTACK_DEPLOYMENT, as a deployment does.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.fixtures.airflow import DAGS_FOLDER, AirflowInstallation

pytestmark = pytest.mark.integration  # a real Airflow, installed by the suite

FACTS: dict[str, Any] = {
    "target": "docker",
    "events_topic": "user-events",
    "dead_letter_topic": "user-events-dlq",
    "cassandra_keyspace": "streamstack",
    "cassandra_table": "user_events",
    "bucket": "lake",
    "sinks": ["cassandra", "s3", "hdfs"],
    "producer_image": "streamstack/producer:1",
    "streaming_job_image": "streamstack/streaming-job:1",
    "docker_network": "streamstack-net",
    "spark_master_url": "spark://spark-master:7077",
    "hdfs_events_path": "/streamstack/events",
    "s3_events_prefix": "events/",
    "dead_letter_rate_threshold": 0.05,
}
DAG_FILES = {
    "streamstack_ingestion": "streamstack_ingestion.py",
    "streamstack_streaming_supervisor": "streamstack_streaming_supervisor.py",
    "streamstack_data_quality": "streamstack_data_quality.py",
}


def describe(airflow: AirflowInstallation, **changes: Any) -> dict[str, Any]:
    return airflow.describe_dags({"AIRFLOW_VAR_STREAMSTACK_DEPLOYMENT": json.dumps({**FACTS, **changes})})


@pytest.fixture(scope="module")
def docker_dags(airflow: AirflowInstallation) -> dict[str, Any]:
    return describe(airflow)


def test_every_dag_file_imports_without_errors_or_warnings(docker_dags):
    assert docker_dags["import_errors"] == {}
    assert docker_dags["warnings"] == []
    assert {dag_id: dag["fileloc"] for dag_id, dag in docker_dags["dags"].items()} == {
        dag_id: str(DAGS_FOLDER / file) for dag_id, file in DAG_FILES.items()
    }


def edges(dag: dict[str, Any]) -> set[tuple[str, str]]:
    return {(task_id, after) for task_id, task in dag["tasks"].items() for after in task["downstream"]}


def test_ingestion_checks_then_runs_one_producer_batch_in_a_container(docker_dags):
    dag = docker_dags["dags"]["streamstack_ingestion"]

    assert edges(dag) == {
        ("check_topics", "produce_events"),
        ("check_cassandra_table", "produce_events"),
        ("check_bucket", "produce_events"),
    }
    assert (dag["schedule"], dag["catchup"], dag["max_active_runs"]) == ("*/30 * * * *", False, 1)
    assert dag["tags"] == ["ingestion", "streamstack"]
    assert dag["params"] == {"event_count": 3000, "events_per_second": 50}
    assert {task_id: task["retries"] for task_id, task in dag["tasks"].items()} == dict.fromkeys(dag["tasks"], 2)
    producer = dag["tasks"]["produce_events"]
    assert producer["operator"] == "DockerOperator"
    assert producer["placement"] == {"image": "streamstack/producer:1", "network_mode": "streamstack-net"}


def test_ingestion_runs_the_producer_as_a_pod_admitted_to_the_services_on_kubernetes(airflow):
    labels = {"app.kubernetes.io/part-of": "streamstack", "streamstack.io/peer-kafka": "true"}
    pod_spec = {"secret": "producer-env", "security_context": {"runAsNonRoot": True}}
    described = describe(
        airflow,
        target="kubernetes",
        kubernetes_namespace="streamstack-ns",
        kubernetes_pod_labels=json.dumps(labels),
        kubernetes_pod_spec=json.dumps(pod_spec),
    )

    assert described["import_errors"] == {}
    producer = described["dags"]["streamstack_ingestion"]["tasks"]["produce_events"]
    assert producer["operator"] == "KubernetesPodOperator"
    assert producer["placement"] == {"image": "streamstack/producer:1", "namespace": "streamstack-ns", "labels": labels}


def test_ingestion_checks_only_the_stores_of_the_sinks_in_use(airflow):
    described = describe(airflow, sinks=["hdfs"], bucket=None)

    assert edges(described["dags"]["streamstack_ingestion"]) == {("check_topics", "produce_events")}


def test_a_missing_or_wrong_deployment_variable_is_an_import_error_naming_it(airflow):
    missing = airflow.describe_dags({})
    wrong = describe(airflow, target="nomad")

    ingestion = str(DAGS_FOLDER / "streamstack_ingestion.py")
    assert list(missing["import_errors"]) == [ingestion]
    assert "streamstack_deployment" in missing["import_errors"][ingestion]
    assert "target 'nomad' is not one of ['docker', 'kubernetes']" in wrong["import_errors"][ingestion]
    assert set(missing["dags"]) == {"streamstack_streaming_supervisor", "streamstack_data_quality"}


def test_supervisor_resubmits_only_when_the_query_is_not_running(docker_dags):
    dag = docker_dags["dags"]["streamstack_streaming_supervisor"]

    assert edges(dag) == {
        ("inspect_streaming_query", "query_running"),
        ("inspect_streaming_query", "resubmit_streaming_query"),
        ("resubmit_streaming_query", "wait_for_streaming_query"),
    }
    assert dag["tasks"]["inspect_streaming_query"]["operator"] == "_BranchPythonDecoratedOperator"
    assert dag["tasks"]["wait_for_streaming_query"]["operator"] == "DecoratedSensorOperator"
    assert (dag["schedule"], dag["catchup"], dag["max_active_runs"]) == ("*/5 * * * *", False, 1)
    assert dag["tags"] == ["streaming", "streamstack"]
    assert dag["params"] == {"max_deaths": 3, "death_window_minutes": 60}
    assert {task["retries"] for task in dag["tasks"].values()} == {1}


def test_data_quality_counts_every_store_then_assesses_the_last_hour(docker_dags):
    dag = docker_dags["dags"]["streamstack_data_quality"]
    counts = ["count_in_cassandra", "count_in_hdfs", "count_in_s3", "count_produced"]

    assert edges(dag) == {("wait_for_landing", count) for count in counts} | {(count, "assess") for count in counts}
    assert (dag["timetable"], dag["schedule"], dag["data_interval_hours"]) == ("CronTriggerTimetable", "0 * * * *", 1)
    assert (dag["catchup"], dag["max_active_runs"]) == (False, 1)
    assert dag["tags"] == ["data-quality", "streamstack"]
    assert dag["params"] == {"min_produced": 1}
    assert {task_id: task["retries"] for task_id, task in dag["tasks"].items()} == {
        **dict.fromkeys(counts, 2),
        "wait_for_landing": 2,
        "assess": 0,  # a divergence is a finding, not a hiccup: no retry
    }


_KNOWN_OPTIONS = """
import json, sys
from airflow.configuration import conf
described = conf.configuration_description
options = json.loads(sys.argv[1])
unknown = [n for n, (section, key) in options.items() if key not in described.get(section, {}).get("options", {})]
print(json.dumps(unknown))
"""


def test_every_airflow_option_the_deployment_sets_is_one_the_pinned_airflow_knows(airflow: AirflowInstallation):
    """An AIRFLOW__SECTION__KEY Airflow does not know is silently ignored: a renamed option would
    leave the deployment running on a default (its DAGs paused, its scheduler's health server off)."""
    import subprocess

    from tools.mock_deploy import run_program

    scheduler = next(r for r in run_program("local").resources if r.name == "airflow-scheduler-0")
    names = [entry.split("=", 1)[0] for entry in scheduler.inputs["envs"]]
    options = {
        name: name.removeprefix("AIRFLOW__").lower().split("__", 1) for name in names if name.startswith("AIRFLOW__")
    }
    assert len(options) >= 10
    done = subprocess.run(
        [str(airflow.venv / "bin" / "python"), "-c", _KNOWN_OPTIONS, json.dumps(options)],
        env=airflow.base_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


_CONNECTIONS = """
import json, sys
from airflow.models.connection import Connection
found = {}
for conn_id in sys.argv[1:]:
    c = Connection.get_connection_from_secrets(conn_id)
    found[conn_id] = {"type": c.conn_type, "host": c.host, "port": c.port, "login": c.login, "schema": c.schema,
                      "extra": c.extra_dejson}
print(json.dumps(found))
"""


@pytest.mark.parametrize("stack", ["local", "dev"])
def test_the_dags_load_the_programs_own_variable_and_connections(airflow: AirflowInstallation, stack: str):
    """The Variable and Connections exactly as the Pulumi program hands them to Airflow, on both
    targets: the DAG files import, place the producer where the program says, and every connection
    the DAGs use resolves in Airflow with the fields the DAGs read."""
    import subprocess

    from tests.unit.test_program_dag_contract import airflow_env
    from tools.mock_deploy import run_program

    declared = run_program(stack)
    handed = {name: value for name, value in airflow_env(declared).items() if name.startswith("AIRFLOW_")}
    described = airflow.describe_dags(
        {k: v for k, v in handed.items() if k.startswith(("AIRFLOW_VAR_", "AIRFLOW_CONN_"))}
    )
    assert described["import_errors"] == {}
    assert set(described["dags"]) == set(DAG_FILES)
    facts = json.loads(handed["AIRFLOW_VAR_STREAMSTACK_DEPLOYMENT"])
    placement = described["dags"]["streamstack_ingestion"]["tasks"]["produce_events"]["placement"]
    assert placement["image"] == facts["producer_image"]
    if stack == "local":
        assert placement["network_mode"] == "streamstack-local"
    else:
        assert placement["namespace"] == "streamstack-dev"
        assert placement["labels"] == json.loads(facts["kubernetes_pod_labels"])
        # The restricted profile the namespace enforces: admitted, credentials from the producer's Secret.
        pod = described["dags"]["streamstack_ingestion"]["tasks"]["produce_events"]["pod"]
        assert pod == {
            "env_names": ["EVENTS_PER_SECOND", "EVENTS_TOPIC", "KAFKA_BOOTSTRAP_SERVERS"],
            "secrets": [["PSEUDONYM_KEY", "producer-env", "PSEUDONYM_KEY"]],
            "security_context": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "container_security_context": {
                "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"]},
                "privileged": False,
            },
            "resources": {
                "requests": {"cpu": "100m", "memory": "192Mi"},
                "limits": {"cpu": "1000m", "memory": "192Mi"},
            },
            "automount_service_account_token": False,
        }

    conn_ids = [
        "streamstack_kafka",
        "streamstack_spark",
        "streamstack_cassandra",
        "streamstack_s3",
        "streamstack_webhdfs",
    ]
    done = subprocess.run(
        [str(airflow.venv / "bin" / "python"), "-c", _CONNECTIONS, *conn_ids],
        env={**airflow.base_env, **{k: v for k, v in handed.items() if k.startswith("AIRFLOW_CONN_")}},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    connections = json.loads(done.stdout.strip().splitlines()[-1])
    assert connections["streamstack_kafka"]["extra"]["bootstrap.servers"]
    assert connections["streamstack_spark"]["extra"]["master_ui_port"] == 8080
    assert connections["streamstack_spark"]["port"] == 7077
    assert connections["streamstack_cassandra"]["schema"] == "streamstack"
    assert connections["streamstack_s3"]["extra"]["config_kwargs"] == {"s3": {"addressing_style": "path"}}
    assert connections["streamstack_webhdfs"]["port"] == 9870


def test_with_cdc_ingestion_the_batches_go_to_the_pipeline_database_with_its_password_from_the_secret(
    airflow: AirflowInstallation,
):
    """The program's own cdc Variable: the launched producer writes the pipeline database, its password from
    the producer's Secret (Kubernetes), never from the DAG's environment."""
    from tests.unit.test_program_dag_contract import airflow_env
    from tests.unit.variations import CDC
    from tools.mock_deploy import run_program

    handed = airflow_env(run_program("dev", CDC))
    described = airflow.describe_dags(
        {k: v for k, v in handed.items() if k.startswith(("AIRFLOW_VAR_", "AIRFLOW_CONN_"))}
    )
    assert described["import_errors"] == {}
    pod = described["dags"]["streamstack_ingestion"]["tasks"]["produce_events"]["pod"]
    assert pod["env_names"] == [
        "EVENTS_PER_SECOND",
        "EVENTS_TOPIC",
        "PIPELINE_DB_HOST",
        "PIPELINE_DB_NAME",
        "PIPELINE_DB_PORT",
        "PIPELINE_DB_TABLE",
        "PIPELINE_DB_USER",
        "PRODUCER_SINK",
    ]
    assert pod["secrets"] == [
        ["PIPELINE_DB_PASSWORD", "producer-env", "PIPELINE_DB_PASSWORD"],
        ["PSEUDONYM_KEY", "producer-env", "PSEUDONYM_KEY"],
    ]
