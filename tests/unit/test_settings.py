"""Stack config: defaults, and every invalid value failing before any resource is declared."""

from __future__ import annotations

import pulumi
import pytest

from components.settings import ConfigError, parse_settings
from tests.fixtures.pulumi_program import ProgramFailedError, run_program, stack_config


def test_local_stack_defaults() -> None:
    config, secrets = stack_config("local")
    settings = parse_settings(config, secrets, "streamstack", "local")
    assert settings.target == "docker"
    assert (settings.kafka.brokers, settings.kafka.partitions, settings.kafka.replication_factor) == (1, 3, 1)
    assert settings.kafka.min_insync_replicas == 1
    assert (settings.kafka.topic, settings.kafka.dead_letter_topic) == ("user-events", "user-events.dead-letter")
    assert (settings.spark.workers, settings.spark.worker_cores, settings.spark.worker_memory_mib) == (1, 1, 768)
    assert (settings.cassandra.nodes, settings.cassandra.keyspace, settings.cassandra.replication_factor) == (
        1,
        "streamstack",
        1,
    )
    assert settings.sinks == ("cassandra", "s3", "hdfs")
    assert settings.producer.events_per_second == 20.0
    assert settings.streaming_job.checkpoint == "s3"
    assert settings.secrets.cassandra_password is None


def test_min_insync_defaults_to_one_below_replication() -> None:
    config, _ = stack_config("local", {"kafka": {"brokers": 3, "replicationFactor": 3}})
    assert parse_settings(config, [], "streamstack", "x").kafka.min_insync_replicas == 2


def test_memory_sizes_accept_megabytes_and_gigabytes() -> None:
    config, _ = stack_config("local", {"spark": {"workerMemory": "2g"}, "streamingJob": {"executorMemory": "1536m"}})
    settings = parse_settings(config, [], "streamstack", "x")
    assert (settings.spark.worker_memory_mib, settings.streaming_job.executor_memory_mib) == (2048, 1536)


def test_checkpoint_store_follows_what_is_enabled() -> None:
    config, _ = stack_config("local", {"objectStore": {"enabled": False}, "sinks": ["cassandra"]})
    assert parse_settings(config, [], "streamstack", "x").streaming_job.checkpoint == "hdfs"


INVALID = [
    ({"kafka": {"replicationFactor": 3}}, "kafka.replicationFactor", 3, "must be at most kafka.brokers (1)"),
    (
        {"kafka": {"brokers": 3, "replicationFactor": 2, "minInsyncReplicas": 3}},
        "kafka.minInsyncReplicas",
        3,
        "must be at most kafka.replicationFactor (2)",
    ),
    (
        {"cassandra": {"nodes": 2, "replicationFactor": 3}},
        "cassandra.replicationFactor",
        3,
        "must be at most cassandra.nodes (2)",
    ),
    ({"kafka": {"brokers": 0}}, "kafka.brokers", 0, "must be between 1 and 9"),
    ({"spark": {"workers": 0}}, "spark.workers", 0, "must be between 1 and 50"),
    ({"cassandra": {"nodes": 0}}, "cassandra.nodes", 0, "must be between 1 and 20"),
    ({"hdfs": {"datanodes": 0}}, "hdfs.datanodes", 0, "must be between 1 and 20"),
    ({"kafka": {"partitions": 0}}, "kafka.partitions", 0, "must be between 1 and 1000"),
    (
        {"sinks": ["cassandra", "kinesis"]},
        "sinks",
        ["cassandra", "kinesis"],
        "unknown sink 'kinesis'; allowed: cassandra, s3, hdfs",
    ),
    ({"sinks": []}, "sinks", [], "must be a non-empty list of cassandra, s3, hdfs"),
    ({"sinks": ["s3", "s3"]}, "sinks", ["s3", "s3"], "must not name a sink twice"),
    # With the default sinks the user wrote only hdfs.enabled: false, so that is what the message names.
    (
        {"hdfs": {"enabled": False}},
        "hdfs.enabled",
        False,
        "the default sinks include hdfs; set sinks (e.g. ['cassandra', 's3']) to leave it out, or enable it",
    ),
    (
        {"hdfs": {"enabled": False}, "sinks": ["cassandra", "hdfs"]},
        "sinks",
        ["cassandra", "hdfs"],
        "sink 'hdfs' needs hdfs.enabled: true",
    ),
    (
        {"objectStore": {"enabled": False}},
        "objectStore.enabled",
        False,
        "the default sinks include s3; set sinks (e.g. ['cassandra', 'hdfs'])",
    ),
    (
        {"objectStore": {"enabled": False}, "sinks": ["s3"]},
        "sinks",
        ["s3"],
        "sink 's3' needs objectStore.enabled: true",
    ),
    (
        {"objectStore": {"enabled": False}, "sinks": ["cassandra"], "streamingJob": {"checkpoint": "s3"}},
        "streamingJob.checkpoint",
        "s3",
        "needs objectStore.enabled: true",
    ),
    # A collision blames the key the user set, even when the default it meets is declared later.
    ({"kafkaUi": {"hostPort": 8080}}, "kafkaUi.hostPort", 8080, "host port 8080 is also airflow.hostPort's default"),
    ({"kafka": {"hostPort": 8080}}, "kafka.hostPort", 8080, "host port 8080 is also airflow.hostPort's default"),
    ({"airflow": {"hostPort": 9094}}, "airflow.hostPort", 9094, "already taken by kafka.hostPort (broker 0)"),
    (
        {"kafka": {"brokers": 3, "hostPort": 65534}},
        "kafka.hostPort",
        65534,
        "3 brokers take host ports 65534-65536; at most 65533",
    ),
    (
        {"cassandra": {"nodes": 2, "hostPort": 65535}},
        "cassandra.hostPort",
        65535,
        "2 nodes take host ports 65535-65536; at most 65534",
    ),
    # `pulumi config set kafka.brokers 3` without --path makes a top-level key with a dot in it.
    ({"kafka.brokers": 3}, "kafka.brokers", 3, "use `pulumi config set --path kafka.brokers <value>`"),
    (
        {"kafka": {"brokers": 3, "hostPort": 9040}, "cassandra": {"hostPort": 9042}},
        "cassandra.hostPort",
        9042,
        "host port 9042 is already taken by kafka.hostPort (broker 2)",
    ),
    (
        {"cassandra": {"nodes": 3, "replicationFactor": 1}, "objectStore": {"apiHostPort": 9044}},
        "objectStore.apiHostPort",
        9044,
        "host port 9044 is already taken by cassandra.hostPort (node 2)",
    ),
    ({"spark": {"uiHostPort": 80}}, "spark.uiHostPort", 80, "must be between 1024 and 65535"),
    ({"target": "nomad"}, "target", "nomad", "must be one of docker, kubernetes"),
    ({"retainData": "yes"}, "retainData", "yes", "must be true or false"),
    ({"kafka": {"brokerz": 3}}, "kafka.brokerz", 3, "unknown key; allowed: brokers, deadLetterTopic"),
    (
        {"kafak": {"brokers": 3}},
        "kafak",
        {"brokers": 3},
        "unknown key; allowed: airflow, airflowAdminPassword, cassandra",
    ),
    ({"kafka": {"brokers": "three"}}, "kafka.brokers", "three", "must be an integer"),
    ({"hdfs": {"enabled": "yes"}}, "hdfs.enabled", "yes", "must be true or false"),
    ({"kafka": {"topic": "user events"}}, "kafka.topic", "user events", "must be 1-249 characters"),
    ({"cassandra": {"keyspace": "Bad-Name"}}, "cassandra.keyspace", "Bad-Name", "must be lower-case letters"),
    ({"objectStore": {"bucket": "B"}}, "objectStore.bucket", "B", "must be a valid S3 bucket name"),
    ({"producer": {"eventsPerSecond": 0}}, "producer.eventsPerSecond", 0.0, "must be above 0.0"),
    ({"producer": {"source": "faker"}}, "producer.source", "faker", "must be one of randomuser, synthetic"),
    ({"spark": {"workerMemory": "lots"}}, "spark.workerMemory", "lots", "must be a size like 512m or 2g"),
    (
        {"streamingJob": {"executorMemory": "2g"}},
        "streamingJob.executorMemory",
        "2048m",
        "must fit spark.workerMemory (768m)",
    ),
    (
        {"spark": {"workerCores": 2}, "streamingJob": {"executorCores": 3}},
        "streamingJob.executorCores",
        3,
        "must fit spark.workerCores (2)",
    ),
    # Spark refuses less than 450 MiB for a driver or an executor (INVALID_DRIVER_MEMORY).
    ({"streamingJob": {"driverMemory": "449m"}}, "streamingJob.driverMemory", "449m", "must be at least 450m"),
    ({"streamingJob": {"executorMemory": "384m"}}, "streamingJob.executorMemory", "384m", "must be at least 450m"),
    ({"streamingJob": {"triggerInterval": "soon"}}, "streamingJob.triggerInterval", "soon", "must look like"),
    ({"kafka": "three brokers"}, "kafka", "three brokers", "must be a mapping of settings"),
]


@pytest.mark.parametrize(("overrides", "key", "value", "allowed"), INVALID, ids=[case[1] for case in INVALID])
def test_invalid_config_fails_with_one_clear_message_and_declares_nothing(
    overrides: dict, key: str, value: object, allowed: str
) -> None:
    with pytest.raises(ProgramFailedError) as failure:
        run_program("local", overrides)
    error = failure.value.error
    assert isinstance(error, ConfigError)
    assert (error.key, error.value) == (key, value)
    assert allowed in error.allowed
    assert str(error).startswith(f"invalid stack config streamstack:{key} = {value!r}: ")
    assert failure.value.declared == []


def test_a_password_stored_in_plaintext_is_refused() -> None:
    with pytest.raises(ProgramFailedError) as failure:
        run_program("local", {"cassandraPassword": "plaintext-password"})
    error = failure.value.error
    assert isinstance(error, ConfigError)
    assert error.key == "cassandraPassword" and error.value == "<hidden>"
    assert "pulumi config set --secret cassandraPassword" in str(error)
    assert "plaintext-password" not in str(error)
    assert failure.value.declared == []


def test_short_configured_passwords_are_refused_without_echoing_them() -> None:
    with pytest.raises(ConfigError) as failure:
        parse_settings({"streamstack:postgresPassword": "short"}, ["streamstack:postgresPassword"], "p", "s")
    assert "short" not in str(failure.value)
    assert failure.value.allowed == "must be a string of at least 12 characters"


def test_configured_passwords_with_quotes_or_spaces_are_refused_without_echoing_them() -> None:
    for password in ("it's-a-long-password", "long password with spaces", 'quote"d-password-x'):
        with pytest.raises(ConfigError) as failure:
            parse_settings({"streamstack:cassandraPassword": password}, ["streamstack:cassandraPassword"], "p", "s")
        assert password not in str(failure.value)
        assert failure.value.allowed == "may contain only letters, digits, '.', '_' and '-'"
    settings = parse_settings(
        {"streamstack:cassandraPassword": "Long.enough_pass-1"}, ["streamstack:cassandraPassword"], "p", "s"
    )
    assert settings.secrets.cassandra_password is not None


def test_committed_stack_files_hold_no_plaintext_secrets() -> None:
    from pathlib import Path

    import yaml

    from components.settings import SECRET_KEYS

    for stack_file in Path(__file__).resolve().parents[2].glob("Pulumi.*.yaml"):
        config = (yaml.safe_load(stack_file.read_text()) or {}).get("config") or {}
        for key in SECRET_KEYS:
            value = config.get(f"streamstack:{key}")
            assert value is None or set(value) == {"secure"}, f"{stack_file.name}: {key} is not encrypted"


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (
            "streamstak:kafka",
            "did you mean streamstack:kafka? no one reads namespace 'streamstak'; this project's keys are "
            "streamstack:<key>",
        ),
        ("pipeline:kafka", "no one reads namespace 'pipeline'; this project's keys are streamstack:<key>"),
    ],
)
def test_a_key_in_a_namespace_nothing_reads_is_refused(key: str, message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_settings({key: '{"brokers": 3}'}, [], "streamstack", "local")
    assert str(refused.value) == f"invalid stack config {key} = '{{\"brokers\": 3}}': {message}"


def test_the_providers_namespaces_are_theirs_to_read() -> None:
    settings = parse_settings(
        {"docker:host": "unix:///var/run/docker.sock", "kubernetes:context": "kind-streamstack", "pulumi:tags": "{}"},
        [],
        "streamstack",
        "local",
    )
    assert settings.target == "docker"


def test_a_config_error_is_a_pulumi_run_error_reported_without_a_traceback() -> None:
    """pulumi/errors.py: RunError ends the program "resulting in a clean exit rather than the usual verbose
    unhandled error logic which emits the source program text and complete stack trace"."""
    assert issubclass(ConfigError, pulumi.RunError)
    assert "clean exit" in " ".join((pulumi.RunError.__doc__ or "").split())
