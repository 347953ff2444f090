"""The job's configuration: environment interface, flag precedence, validation, masked description."""

from __future__ import annotations

from pathlib import Path

import pytest

from workloads.streaming_job.config import ConfigError, describe, parse_config
from workloads.streaming_job.session import spark_conf

FULL_ENVIRONMENT = {
    "KAFKA_BOOTSTRAP_SERVERS": "kafka-1:9092,kafka-2:9092",
    "EVENTS_TOPIC": "user-events",
    "DEAD_LETTER_TOPIC": "user-events-dlq",
    "SPARK_MASTER_URL": "spark://spark-master:7077",
    "SINKS": "cassandra, s3,hdfs",
    "CASSANDRA_HOSTS": "cassandra-1,cassandra-2",
    "CASSANDRA_PORT": "9142",
    "CASSANDRA_KEYSPACE": "pipeline",
    "CASSANDRA_TABLE": "user_events",
    "CASSANDRA_USERNAME": "writer",
    "CASSANDRA_PASSWORD": "cassandra-secret",
    "S3_ENDPOINT": "http://object-store:8333",
    "S3_BUCKET": "lake",
    "S3_ACCESS_KEY": "access",
    "S3_SECRET_KEY": "s3-secret",
    "HDFS_URL": "hdfs://hdfs-namenode:8020",
    "CHECKPOINT_LOCATION": "s3a://lake/checkpoints/streaming-job",
    "TRIGGER_INTERVAL": "5 seconds",
    "MAX_OFFSETS_PER_TRIGGER": "5000",
    "SHUFFLE_PARTITIONS": "8",
    "EXECUTOR_MEMORY": "2g",
    "EXECUTOR_CORES": "2",
    "DRIVER_MEMORY": "512m",
    "HEALTH_FILE": "/tmp/healthy",
}


def test_every_environment_variable_reaches_the_configuration() -> None:
    config = parse_config([], FULL_ENVIRONMENT)

    assert config.kafka_bootstrap_servers == "kafka-1:9092,kafka-2:9092"
    assert (config.events_topic, config.dead_letter_topic) == ("user-events", "user-events-dlq")
    assert config.spark_master_url == "spark://spark-master:7077"
    assert config.sinks == ("cassandra", "s3", "hdfs")
    assert config.cassandra is not None
    assert config.cassandra.hosts == ("cassandra-1", "cassandra-2")
    assert (config.cassandra.port, config.cassandra.keyspace, config.cassandra.table) == (
        9142,
        "pipeline",
        "user_events",
    )
    assert (config.cassandra.username, config.cassandra.password) == ("writer", "cassandra-secret")
    assert config.s3 is not None
    assert config.s3.events_path == "s3a://lake/events"
    assert config.s3.dead_letters_path == "s3a://lake/dead_letters"
    assert config.hdfs_events_path == "hdfs://hdfs-namenode:8020/streamstack/events"
    assert config.checkpoint_location == "s3a://lake/checkpoints/streaming-job"
    assert (config.trigger_interval, config.max_offsets_per_trigger, config.shuffle_partitions) == (
        "5 seconds",
        5000,
        8,
    )
    assert (config.executor_memory, config.executor_cores, config.driver_memory) == ("2g", 2, "512m")
    assert config.health_file == Path("/tmp/healthy")


def test_a_flag_wins_over_its_environment_variable() -> None:
    config = parse_config(
        ["--events-topic", "from-flag", "--sinks", "hdfs", "--checkpoint-location", "hdfs://nn:8020/cp"],
        FULL_ENVIRONMENT,
    )

    assert config.events_topic == "from-flag"
    assert config.sinks == ("hdfs",)
    assert config.cassandra is None
    assert config.s3 is None


def test_a_checkpoint_on_s3_keeps_s3_credentials_without_the_s3_sink() -> None:
    from workloads.streaming_job.batch_writer import batch_writer_from_config
    from workloads.streaming_job.session import spark_conf

    config = parse_config(["--sinks", "hdfs"], FULL_ENVIRONMENT)

    assert config.checkpoint_location == "s3a://lake/checkpoints/streaming-job"
    assert config.s3 is not None and config.s3.endpoint == "http://object-store:8333"
    assert spark_conf(config)["spark.hadoop.fs.s3a.endpoint"] == "http://object-store:8333"
    assert sorted(batch_writer_from_config(config).event_sinks) == ["hdfs"]
    environment = {key: value for key, value in FULL_ENVIRONMENT.items() if key != "S3_ENDPOINT"}
    with pytest.raises(ConfigError, match=r"S3_ENDPOINT \(or --s3-endpoint\) must be set for the checkpoint on S3"):
        parse_config(["--sinks", "hdfs"], environment)


def test_the_driver_advertises_the_address_and_fixed_ports_it_is_given() -> None:
    from workloads.streaming_job.session import spark_conf

    environment = {
        **FULL_ENVIRONMENT,
        "SPARK_DRIVER_HOST": "streaming-job-0",
        "SPARK_DRIVER_PORT": "7078",
        "SPARK_BLOCK_MANAGER_PORT": "7079",
    }
    conf = spark_conf(parse_config([], environment))
    assert conf["spark.driver.host"] == "streaming-job-0"
    assert conf["spark.driver.bindAddress"] == "0.0.0.0"
    assert (conf["spark.driver.port"], conf["spark.driver.blockManager.port"]) == ("7078", "7079")
    assert "spark.driver.host" not in spark_conf(parse_config([], FULL_ENVIRONMENT))


def test_the_checkpoint_defaults_to_hdfs_when_not_given() -> None:
    environment = {key: value for key, value in FULL_ENVIRONMENT.items() if key != "CHECKPOINT_LOCATION"}

    config = parse_config([], environment)

    assert config.checkpoint_location == "hdfs://hdfs-namenode:8020/streamstack/checkpoints/streaming-job"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"SINKS": "cassandra,elasticsearch"}, "SINKS must be a non-empty subset"),
        ({"CASSANDRA_PASSWORD": ""}, "CASSANDRA_PASSWORD (or --cassandra-password) must be set for the cassandra sink"),
        ({"S3_BUCKET": ""}, "S3_BUCKET (or --s3-bucket) must be set for the s3 sink"),
        ({"HDFS_URL": ""}, "HDFS_URL (or --hdfs-url) must be set for the hdfs sink"),
        ({"MAX_OFFSETS_PER_TRIGGER": "many"}, "MAX_OFFSETS_PER_TRIGGER must be an integer"),
        ({"SHUFFLE_PARTITIONS": "0"}, "SHUFFLE_PARTITIONS must be positive"),
        ({"EVENTS_TOPIC": ""}, "EVENTS_TOPIC (or --events-topic) must be set"),
    ],
)
def test_an_unusable_configuration_names_the_variable_to_fix(changes: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        parse_config([], FULL_ENVIRONMENT | changes)


def test_the_description_masks_secrets_and_shows_everything_else() -> None:
    lines = describe(parse_config([], FULL_ENVIRONMENT)).splitlines()

    assert "cassandra.password = ****" in lines
    assert "s3.secret_key = ****" in lines
    assert "s3.access_key = access" in lines
    assert "events_topic = user-events" in lines
    assert not any("secret" in line.split(" = ")[1] for line in lines)


def test_spark_settings_follow_the_configuration() -> None:
    conf = spark_conf(parse_config([], FULL_ENVIRONMENT))

    assert conf["spark.master"] == "spark://spark-master:7077"
    assert conf["spark.sql.shuffle.partitions"] == "8"
    assert (conf["spark.executor.memory"], conf["spark.executor.cores"], conf["spark.driver.memory"]) == (
        "2g",
        "2",
        "512m",
    )
    assert conf["spark.sql.session.timeZone"] == "UTC"
    assert conf["spark.hadoop.fs.s3a.endpoint"] == "http://object-store:8333"
    assert conf["spark.hadoop.fs.s3a.path.style.access"] == "true"
    assert conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] == "false"
