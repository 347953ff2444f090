"""The DAGs' other decisions as plain functions: deployment facts, supervisor verdicts, job launch."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from components.targets.kubernetes import NAME_LABEL
from components.workloads import STREAMING_JOB
from dags.streamstack_checks.deployment import Target, parse_deployment
from dags.streamstack_checks.jobs import (
    producer_arguments,
    producer_environment,
    streaming_job_container_labels,
    streaming_job_pod_selector,
)
from dags.streamstack_checks.spark_master import (
    STREAMING_APP_NAME,
    Action,
    alive_apps,
    judge_streaming_query,
    master_status_url,
)
from workloads.streaming_job.session import QUERY_NAME

FACTS = {
    "target": "docker",
    "events_topic": "user-events",
    "dead_letter_topic": "user-events-dlq",
    "cassandra_keyspace": "streamstack",
    "cassandra_table": "user_events",
    "bucket": "lake",
    "sinks": ["cassandra", "s3"],
    "producer_image": "streamstack/producer:1",
    "streaming_job_image": "streamstack/streaming-job:1",
    "docker_network": "streamstack-local",
    "spark_master_url": "spark://spark-master:7077",
    "hdfs_events_path": "/streamstack/events",
    "s3_events_prefix": "events/",
    "dead_letter_rate_threshold": 0.05,
}
KUBERNETES_PLACEMENT = {
    "target": "kubernetes",
    "kubernetes_namespace": "data",
    "kubernetes_pod_labels": '{"app.kubernetes.io/part-of": "streamstack", "streamstack.io/peer-kafka": "true"}',
    "kubernetes_pod_spec": '{"secret": "producer-env", "security_context": {"runAsNonRoot": true}}',
}
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
MINUTE_MS = 60_000


def test_parse_deployment_reads_the_variable_json():
    deployment = parse_deployment(json.dumps(FACTS))

    assert deployment.target is Target.DOCKER
    assert deployment.sinks == ("cassandra", "s3")
    assert deployment.cassandra_qualified_table == "streamstack.user_events"
    assert deployment.dead_letter_rate_threshold == 0.05
    assert (deployment.bucket, deployment.docker_network, deployment.kubernetes_namespace) == (
        "lake",
        "streamstack-local",
        None,
    )
    assert deployment.kubernetes_pod_labels == {}


def test_parse_deployment_reads_kubernetes_placement_with_labels_as_json():
    facts = {key: value for key, value in FACTS.items() if key != "docker_network"} | KUBERNETES_PLACEMENT

    deployment = parse_deployment(facts)

    assert deployment.target is Target.KUBERNETES
    assert deployment.kubernetes_namespace == "data"
    assert deployment.kubernetes_pod_labels == {
        "app.kubernetes.io/part-of": "streamstack",
        "streamstack.io/peer-kafka": "true",
    }
    assert deployment.kubernetes_pod_spec == {"secret": "producer-env", "security_context": {"runAsNonRoot": True}}


def test_facts_of_absent_sinks_may_be_null():
    deployment = parse_deployment({**FACTS, "sinks": ["cassandra"], "bucket": None, "hdfs_events_path": None})

    assert (deployment.sinks, deployment.bucket, deployment.hdfs_events_path) == (("cassandra",), None, None)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sinks": ["s3"], "bucket": None}, "bucket must be a non-empty string"),
        ({"sinks": ["hdfs"], "hdfs_events_path": ""}, "hdfs_events_path must be a non-empty string"),
        ({"target": "kubernetes"}, "missing kubernetes_namespace"),
        ({"docker_network": None}, "docker_network must be a non-empty string"),
        ({"kubernetes_pod_labels": "{not json"}, "kubernetes_pod_labels must be an object"),
        ({"kubernetes_pod_labels": {"tier": 1}}, "kubernetes_pod_labels must be an object"),
        ({"kubernetes_pod_spec": "[1]"}, "kubernetes_pod_spec must be an object"),
        (
            {**KUBERNETES_PLACEMENT, "kubernetes_pod_spec": "{}"},
            "kubernetes_pod_spec must name the Secret launched pods take credentials from",
        ),
    ],
)
def test_facts_a_deployment_needs_are_required(change, message):
    with pytest.raises(ValueError, match=message):
        parse_deployment({**FACTS, **change})


def test_parse_deployment_names_every_missing_fact():
    facts = {key: value for key, value in FACTS.items() if key not in {"bucket", "target"}}

    with pytest.raises(ValueError, match=r"^streamstack_deployment: missing target; missing bucket$"):
        parse_deployment(facts)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"target": "nomad"}, "target 'nomad' is not one of"),
        ({"sinks": ["cassandra", "elastic"]}, "sinks must be a non-empty list"),
        ({"sinks": []}, "sinks must be a non-empty list"),
        ({"sinks": "s3"}, "sinks must be a non-empty list"),
        ({"dead_letter_rate_threshold": 1.5}, "dead_letter_rate_threshold must be a number in 0..1"),
        ({"dead_letter_rate_threshold": True}, "dead_letter_rate_threshold must be a number in 0..1"),
        ({"events_topic": " "}, "events_topic must be a non-empty string"),
        ({"producer_image": None}, "producer_image must be a non-empty string"),
    ],
)
def test_parse_deployment_rejects_wrong_facts(change, message):
    with pytest.raises(ValueError, match=message):
        parse_deployment({**FACTS, **change})


def test_the_supervisor_watches_the_application_name_the_streaming_job_sets():
    assert STREAMING_APP_NAME == QUERY_NAME


def app(app_id: str, state: str, started_ms: int, duration_ms: int = 0, name: str = STREAMING_APP_NAME):
    return {"id": app_id, "name": name, "state": state, "starttime": started_ms, "duration": duration_ms}


def test_a_running_query_is_kept():
    status = {"status": "ALIVE", "activeapps": [app("app-2", "RUNNING", NOW_MS - MINUTE_MS)], "completedapps": []}

    verdict = judge_streaming_query(status, NOW, timedelta(hours=1), max_deaths=3)

    assert verdict.action is Action.KEEP
    assert verdict.reason == "streamstack-events is alive: app-2 (RUNNING)"


def test_a_missing_query_is_submitted_with_its_recent_deaths_counted():
    status = {
        "status": "ALIVE",
        "activeapps": [app("app-9", "RUNNING", NOW_MS, name="someone-else")],
        "completedapps": [
            app("app-1", "FINISHED", NOW_MS - 30 * MINUTE_MS, 5 * MINUTE_MS),
            app("app-0", "FAILED", NOW_MS - 300 * MINUTE_MS, MINUTE_MS),  # died long before the window
        ],
    }

    verdict = judge_streaming_query(status, NOW, timedelta(hours=1), max_deaths=3)

    assert verdict.action is Action.SUBMIT
    assert verdict.reason == "streamstack-events is not running (1 deaths in the last 60 min)"


def test_a_query_that_keeps_dying_is_given_up_with_the_app_ids():
    status = {
        "activeapps": [],
        "completedapps": [
            app("app-3", "FINISHED", NOW_MS - 10 * MINUTE_MS, 20_000),
            app("app-1", "KILLED", NOW_MS - 50 * MINUTE_MS, 30_000),
            app("app-2", "FAILED", NOW_MS - 30 * MINUTE_MS, 40_000),
        ],
    }

    verdict = judge_streaming_query(status, NOW, timedelta(hours=1), max_deaths=3)

    assert verdict.action is Action.GIVE_UP
    assert verdict.reason == (
        "streamstack-events died 3 times in the last 60 min (limit 3): "
        "app-1 KILLED after 30s, app-2 FAILED after 40s, app-3 FINISHED after 20s"
    )


def test_a_master_that_is_not_alive_is_a_failure():
    verdict = judge_streaming_query({"status": "STANDBY"}, NOW, timedelta(hours=1), max_deaths=3)

    assert verdict.action is Action.GIVE_UP
    assert verdict.reason == "Spark master is STANDBY, not ALIVE"


def test_alive_apps_count_waiting_ones_but_not_finished_ones():
    status = {"activeapps": [app("a", "WAITING", NOW_MS), app("b", "FINISHED", NOW_MS)]}

    assert [found.app_id for found in alive_apps(status)] == ["a"]


@pytest.mark.parametrize(
    ("master", "port", "url"),
    [
        ("spark://spark-master:7077", 8080, "http://spark-master:8080/json/"),
        ("spark-master", 18080, "http://spark-master:18080/json/"),
    ],
)
def test_master_status_url(master, port, url):
    assert master_status_url(master, port) == url


def test_master_status_url_needs_a_host():
    with pytest.raises(ValueError, match="no host"):
        master_status_url("spark://:7077", 8080)


def test_producer_runs_a_bounded_batch_against_the_events_topic():
    deployment = parse_deployment(FACTS)

    assert producer_arguments("{{ params.event_count }}") == [
        "python",
        "-m",
        "workloads.producer",
        "--count",
        "{{ params.event_count }}",
    ]
    assert producer_environment(deployment, "kafka-0:9092") == {
        "KAFKA_BOOTSTRAP_SERVERS": "kafka-0:9092",
        "EVENTS_TOPIC": "user-events",
    }


def test_the_streaming_job_is_found_by_the_labels_the_targets_give_it():
    assert streaming_job_container_labels(parse_deployment(FACTS)) == [
        "streamstack.stack=streamstack-local",
        "streamstack.service=streaming-job",
    ]
    assert streaming_job_pod_selector() == "app.kubernetes.io/name=streaming-job"
    assert f"{NAME_LABEL}={STREAMING_JOB}" == streaming_job_pod_selector()
