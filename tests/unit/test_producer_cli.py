"""Settings from flags and the environment of docs/interfaces.md; flags win."""

import threading

import pytest

from workloads.producer.cli import build_source, parse_settings
from workloads.producer.postgres_sink import PipelineDatabase
from workloads.producer.runner import Limits
from workloads.producer.sources import FallbackSource, SyntheticSource

ENV = {
    "KAFKA_BOOTSTRAP_SERVERS": "kafka-1:9092,kafka-2:9092",
    "EVENTS_TOPIC": "user-events",
    "EVENTS_PER_SECOND": "250.5",
    "PRODUCER_SOURCE": "synthetic",
    "RANDOMUSER_URL": "http://mirror.local/api/",
    "PSEUDONYM_KEY": "s3cret",
    "SCHEMA_REGISTRY_URL": "http://karapace:8081",
    "HEALTH_FILE": "/tmp/producer.health",
}

CDC_ENV = {
    "PRODUCER_SINK": "postgres",
    "PIPELINE_DB_HOST": "pipeline-db",
    "PIPELINE_DB_PORT": "6543",
    "PIPELINE_DB_NAME": "crm",
    "PIPELINE_DB_USER": "writer",
    "PIPELINE_DB_TABLE": "people",
    "PIPELINE_DB_PASSWORD": "db-s3cret",
    "PSEUDONYM_KEY": "s3cret",
}
PASSWORDS = {"PIPELINE_DB_PASSWORD": "pw-1", "PSEUDONYM_KEY": "k"}


def test_every_documented_variable_is_honoured():
    settings = parse_settings([], ENV)
    assert settings.bootstrap_servers == "kafka-1:9092,kafka-2:9092"
    assert settings.topic == "user-events"
    assert settings.events_per_second == 250.5
    assert settings.source == "synthetic"
    assert settings.randomuser_url == "http://mirror.local/api/"
    assert settings.pseudonym_key == b"s3cret"
    assert settings.schema_registry_url == "http://karapace:8081"
    assert str(settings.health_file) == "/tmp/producer.health"
    assert settings.limits == Limits(count=None, duration_s=None)
    assert settings.progress_interval_s == 10.0


def test_flags_win_over_the_environment(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("from-file\n")
    argv = [
        "--bootstrap-servers", "localhost:19092",
        "--topic", "other",
        "--events-per-second", "5",
        "--source", "randomuser",
        "--pseudonym-key-file", str(key_file),
        "--count", "1000",
        "--duration", "30",
    ]  # fmt: skip
    settings = parse_settings(argv, ENV)
    assert (settings.bootstrap_servers, settings.topic, settings.events_per_second) == ("localhost:19092", "other", 5.0)
    assert settings.source == "randomuser"
    assert settings.pseudonym_key == b"from-file"
    assert settings.limits == Limits(count=1000, duration_s=30.0)


def test_defaults_when_only_the_essentials_are_set():
    settings = parse_settings([], {"KAFKA_BOOTSTRAP_SERVERS": "k:9092", "EVENTS_TOPIC": "t", "PSEUDONYM_KEY": "x"})
    assert settings.source == "randomuser"
    assert settings.randomuser_url == "https://randomuser.me/api/"
    assert settings.schema_registry_url is None
    assert settings.health_file is None
    assert settings.events_per_second == 50.0


@pytest.mark.parametrize(
    ("base", "env_without", "argv", "message"),
    [
        (ENV, "KAFKA_BOOTSTRAP_SERVERS", [], "--bootstrap-servers or KAFKA_BOOTSTRAP_SERVERS is required"),
        (ENV, "EVENTS_TOPIC", [], "--topic or EVENTS_TOPIC is required"),
        (ENV, "PSEUDONYM_KEY", [], "a pseudonym key is required"),
        (ENV, None, ["--events-per-second", "0"], "must be > 0, got 0"),
        (ENV, None, ["--count", "-1"], "must be > 0, got -1"),
        (ENV, None, ["--batch-size", "5001"], "at most 5000"),
        (ENV, None, ["--source", "kafka"], "invalid choice: 'kafka'"),
        (CDC_ENV, "PIPELINE_DB_HOST", [], "--db-host or PIPELINE_DB_HOST is required with --sink postgres"),
        (CDC_ENV, "PIPELINE_DB_PASSWORD", [], "PIPELINE_DB_PASSWORD is required with --sink postgres"),
        (CDC_ENV, None, ["--schema-registry-url", "http://k:8081"], "--topic or EVENTS_TOPIC is required to register"),
        (CDC_ENV, None, ["--sink", "mysql"], "invalid choice: 'mysql'"),
    ],
)
def test_bad_usage_exits_with_status_2_and_says_why(base, env_without, argv, message, capsys):
    env = {name: value for name, value in base.items() if name != env_without}
    with pytest.raises(SystemExit) as caught:
        parse_settings(argv, env)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "db-s3cret" not in err


def test_randomuser_source_falls_back_to_synthetic_and_synthetic_is_used_alone():
    stop = threading.Event()
    assert isinstance(build_source(parse_settings(["--source", "randomuser"], ENV), stop), FallbackSource)
    assert isinstance(build_source(parse_settings(["--source", "synthetic"], ENV), stop), SyntheticSource)


def test_the_postgres_sink_takes_its_database_from_the_environment_and_flags_win():
    settings = parse_settings([], CDC_ENV)
    assert (settings.sink, settings.bootstrap_servers) == ("postgres", None)
    assert settings.pipeline_database == PipelineDatabase("pipeline-db", 6543, "crm", "writer", "db-s3cret", "people")
    flagged = parse_settings(["--db-host", "db2", "--db-port", "5433", "--db-table", "users"], CDC_ENV)
    assert flagged.pipeline_database == PipelineDatabase("db2", 5433, "crm", "writer", "db-s3cret", "users")
    defaults = parse_settings([], {"PRODUCER_SINK": "postgres", "PIPELINE_DB_HOST": "h", **PASSWORDS})
    assert defaults.pipeline_database == PipelineDatabase("h", 5432, "pipeline", "pipeline", "pw-1", "users")
