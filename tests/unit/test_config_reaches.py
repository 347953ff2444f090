"""Every config key reaches what it configures, by value.

The values differ from the defaults and from each other (5 brokers with replication factor 2 and
min.insync 1, 4 DataNodes, 3 workers of 2 cores, the synthetic source at 37.5 events/s, checkpoints
on a volume while the object store is on...), so a key dropped, swapped or replaced by a constant
cannot pass by coincidence. Property tests (hypothesis) then cover the config space at large.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.settings import ConfigError, parse_settings
from tools.mock_deploy import DeclaredResource, Deployment, ProgramFailedError, run_program, stack_config

CONTAINER = "docker:index/container:Container"
DISTINCT: dict[str, Any] = {
    "kafka": {
        "brokers": 5,
        "replicationFactor": 2,
        "minInsyncReplicas": 1,
        "partitions": 7,
        "topic": "orders",
        "deadLetterTopic": "orders.bad",
        "hostPort": 19094,
    },
    "schemaRegistry": {"hostPort": 18081},
    "kafkaUi": {"hostPort": 18082},
    "airflow": {"hostPort": 18080},
    "hdfs": {"datanodes": 4, "uiHostPort": 19870},
    "spark": {"workers": 3, "workerCores": 2, "workerMemory": "1536m", "uiHostPort": 18090},
    "cassandra": {"nodes": 2, "replicationFactor": 2, "keyspace": "shop", "table": "orders_by_id", "hostPort": 19042},
    "objectStore": {"bucket": "shop-lake", "apiHostPort": 19000, "consoleHostPort": 19001},
    "producer": {"eventsPerSecond": 37.5, "source": "synthetic", "randomuserUrl": "http://users.example:8000/api/"},
    "streamingJob": {
        "triggerInterval": "25 seconds",
        "maxOffsetsPerTrigger": 3333,
        "shufflePartitions": 6,
        "executorMemory": "700m",
        "executorCores": 2,
        "driverMemory": "600m",
        "checkpoint": "volume",
        "uiHostPort": 14040,
    },
    "sinks": ["hdfs", "cassandra"],
}


def containers(deployment: Deployment) -> dict[str, DeclaredResource]:
    return {c.name: c for c in deployment.of_type(CONTAINER)}


def env_of(container: DeclaredResource) -> dict[str, str]:
    return dict(entry.split("=", 1) for entry in container.inputs.get("envs", []))


def published(container: DeclaredResource) -> dict[int, int]:
    return {port["internal"]: port["external"] for port in container.inputs.get("ports", [])}


@pytest.fixture(scope="module")
def distinct() -> Deployment:
    return run_program("local", DISTINCT)


def test_kafka_settings_reach_the_brokers_topics_and_clients(distinct: Deployment) -> None:
    by_name = containers(distinct)
    brokers = sorted(name for name in by_name if name.startswith("kafka-") and name[6:].isdigit())
    assert brokers == [f"kafka-{i}" for i in range(5)]
    bootstrap = ",".join(f"kafka-{i}:9092" for i in range(5))
    for i in range(5):
        env = env_of(by_name[f"kafka-{i}"])
        assert env["KAFKA_ADVERTISED_LISTENERS"] == f"INTERNAL://kafka-{i}:9092,HOST://127.0.0.1:{19094 + i}"
        assert published(by_name[f"kafka-{i}"]) == {19092: 19094 + i}
        assert (env["KAFKA_NUM_PARTITIONS"], env["KAFKA_DEFAULT_REPLICATION_FACTOR"]) == ("7", "2")
        assert (env["KAFKA_MIN_INSYNC_REPLICAS"], env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"]) == ("1", "3")
    script = by_name["kafka-topics-0"].inputs["command"][0]
    for topic in ("orders", "orders.bad"):
        assert f"--topic {topic} --partitions 7 --replication-factor 2 --config min.insync.replicas=1" in script, topic
    assert env_of(by_name["producer-0"])["EVENTS_TOPIC"] == "orders"
    job = env_of(by_name["streaming-job-0"])
    assert (job["EVENTS_TOPIC"], job["DEAD_LETTER_TOPIC"], job["KAFKA_BOOTSTRAP_SERVERS"]) == (
        "orders",
        "orders.bad",
        bootstrap,
    )
    assert distinct.outputs["kafkaBootstrapServers"] == ",".join(f"127.0.0.1:{19094 + i}" for i in range(5))


def test_cassandra_settings_reach_the_nodes_schema_and_job(distinct: Deployment) -> None:
    by_name = containers(distinct)
    assert sorted(name for name in by_name if name.startswith("cassandra-") and name[10:].isdigit()) == [
        "cassandra-0",
        "cassandra-1",
    ]
    assert env_of(by_name["cassandra-1"])["CASSANDRA_SEEDS"] == "cassandra-0,cassandra-1"
    assert published(by_name["cassandra-0"]) == {9042: 19042}
    (schema,) = by_name["cassandra-init-0"].inputs["uploads"]
    assert (
        "CREATE KEYSPACE IF NOT EXISTS shop WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 2};"
        in (schema["content"])
    )
    assert "CREATE TABLE IF NOT EXISTS shop.orders_by_id (" in schema["content"]
    assert "'dc1': 2}; CREATE ROLE" in by_name["cassandra-init-0"].inputs["command"][0]  # system_auth on both nodes
    job = env_of(by_name["streaming-job-0"])
    assert (job["CASSANDRA_HOSTS"], job["CASSANDRA_KEYSPACE"], job["CASSANDRA_TABLE"]) == (
        "cassandra-0,cassandra-1",
        "shop",
        "orders_by_id",
    )
    assert distinct.outputs["cassandraContactPoint"] == "127.0.0.1:19042"


def test_spark_and_job_settings_reach_the_workers_and_the_driver(distinct: Deployment) -> None:
    by_name = containers(distinct)
    workers = sorted(name for name in by_name if name.startswith("spark-worker-"))
    assert workers == ["spark-worker-0", "spark-worker-1", "spark-worker-2"]
    for worker in workers:
        args = by_name[worker].inputs["command"]
        assert args[args.index("--cores") + 1] == "2"
        assert args[args.index("--memory") + 1] == "1536m"
        # daemon, then one executor of 700m (1536m holds two, 2 cores only one of 2 cores) and its 2 Python workers
        assert by_name[worker].inputs["memory"] == 320 + 700 + 288 + 2 * 128
    assert published(by_name["spark-master-0"]) == {8080: 18090}
    job = env_of(by_name["streaming-job-0"])
    assert {key: job[key] for key in ("TRIGGER_INTERVAL", "MAX_OFFSETS_PER_TRIGGER", "SHUFFLE_PARTITIONS")} == {
        "TRIGGER_INTERVAL": "25 seconds",
        "MAX_OFFSETS_PER_TRIGGER": "3333",
        "SHUFFLE_PARTITIONS": "6",
    }
    assert (job["EXECUTOR_MEMORY"], job["EXECUTOR_CORES"], job["DRIVER_MEMORY"]) == ("700m", "2", "600m")
    assert by_name["streaming-job-0"].inputs["memory"] == 600 + 256 + 160
    assert job["SINKS"] == "hdfs,cassandra"
    # Checkpoints on the volume although the object store is on: driver and every executor see it.
    assert job["CHECKPOINT_LOCATION"] == "file:///checkpoints/streaming-job"
    checkpoint = {"volumeName": "streamstack-local-checkpoints", "containerPath": "/checkpoints"}
    for name in ("streaming-job-0", *workers):
        assert checkpoint in by_name[name].inputs["volumes"], name
    assert published(by_name["streaming-job-0"]) == {4040: 14040}


def test_hdfs_object_store_and_ui_settings_reach_their_services(distinct: Deployment) -> None:
    by_name = containers(distinct)
    assert sorted(name for name in by_name if name.startswith("hdfs-datanode-") and name[14:].isdigit()) == [
        f"hdfs-datanode-{i}" for i in range(4)
    ]
    site = {upload["file"]: upload["content"] for upload in by_name["hdfs-namenode-0"].inputs["uploads"]}
    assert "<name>dfs.replication</name><value>3</value>" in site["/opt/hadoop/etc/hadoop/hdfs-site.xml"]
    assert published(by_name["hdfs-namenode-0"]) == {9870: 19870}
    store = by_name["object-store-0"]
    assert "-bucket=shop-lake" in store.inputs["command"]
    assert "/buckets/shop-lake?metadata=true" in store.inputs["healthcheck"]["tests"][1]
    assert published(store) == {8333: 19000, 23646: 19001}
    assert published(by_name["schema-registry-0"]) == {8081: 18081}
    assert published(by_name["kafka-ui-0"]) == {8080: 18082}
    assert published(by_name["airflow-api-server-0"]) == {8080: 18080}
    facts = json.loads(env_of(by_name["airflow-scheduler-0"])["AIRFLOW_VAR_STREAMSTACK_DEPLOYMENT"])
    assert (facts["bucket"], facts["sinks"], facts["events_topic"]) == ("shop-lake", ["hdfs", "cassandra"], "orders")


def test_producer_settings_reach_the_producer(distinct: Deployment) -> None:
    env = env_of(containers(distinct)["producer-0"])
    assert (env["EVENTS_PER_SECOND"], env["PRODUCER_SOURCE"], env["RANDOMUSER_URL"]) == (
        "37.5",
        "synthetic",
        "http://users.example:8000/api/",
    )


@pytest.mark.parametrize("sink", ["cassandra", "s3", "hdfs"])
def test_each_sink_alone_configures_only_its_store_for_the_job(sink: str) -> None:
    job = env_of(containers(run_program("local", {"sinks": [sink]}))["streaming-job-0"])
    assert job["SINKS"] == sink
    assert ("CASSANDRA_HOSTS" in job) == (sink == "cassandra")
    assert ("CASSANDRA_PASSWORD" in job) == (sink == "cassandra")


@pytest.mark.parametrize(
    ("overrides", "connections", "bucket", "hdfs_path"),
    [
        (
            {"objectStore": {"enabled": False}, "sinks": ["cassandra", "hdfs"]},
            {"KAFKA", "SPARK", "CASSANDRA", "WEBHDFS"},
            None,
            "hdfs://hdfs-namenode-0:8020/streamstack/events",
        ),
        (
            {"hdfs": {"enabled": False}, "sinks": ["s3"]},
            {"KAFKA", "SPARK", "CASSANDRA", "S3"},
            "streamstack",
            None,
        ),
    ],
)
def test_airflow_with_a_store_off_is_given_only_the_connections_and_facts_that_exist(
    overrides: dict[str, Any], connections: set[str], bucket: str | None, hdfs_path: str | None
) -> None:
    env = env_of(containers(run_program("local", overrides))["airflow-scheduler-0"])
    assert {name.removeprefix("AIRFLOW_CONN_STREAMSTACK_") for name in env if name.startswith("AIRFLOW_CONN_")} == (
        connections
    )
    facts = json.loads(env["AIRFLOW_VAR_STREAMSTACK_DEPLOYMENT"])
    assert (facts["bucket"], facts["hdfs_events_path"], facts["sinks"]) == (bucket, hdfs_path, overrides["sinks"])


# --- the config space at large -------------------------------------------------------------------------


@st.composite
def valid_configs(draw: st.DrawFn) -> dict[str, Any]:
    """A valid stack config: every key in range, replication within the node counts, sinks on enabled
    stores, distinct host ports (each replica of Kafka and Cassandra takes the next one)."""
    brokers = draw(st.integers(1, 5))
    replication = draw(st.integers(1, brokers))
    nodes = draw(st.integers(1, 3))
    hdfs_on, store_on = draw(st.booleans()), draw(st.booleans())
    stores = ["cassandra", *(["s3"] if store_on else []), *(["hdfs"] if hdfs_on else [])]
    sinks = draw(st.lists(st.sampled_from(stores), min_size=1, max_size=len(stores), unique=True))
    worker_memory = draw(st.integers(512, 2048))
    cores = draw(st.integers(1, 3))
    base = draw(st.integers(20000, 64000))
    return {
        "kafka": {
            "brokers": brokers,
            "replicationFactor": replication,
            "minInsyncReplicas": draw(st.integers(1, replication)),
            "partitions": draw(st.integers(1, 12)),
            "hostPort": base,
        },
        "cassandra": {"nodes": nodes, "replicationFactor": draw(st.integers(1, nodes)), "hostPort": base + 10},
        "hdfs": {"enabled": hdfs_on, "datanodes": draw(st.integers(1, 4)), "uiHostPort": base + 20},
        "objectStore": {"enabled": store_on, "apiHostPort": base + 21, "consoleHostPort": base + 22},
        "spark": {
            "workers": draw(st.integers(1, 3)),
            "workerCores": cores,
            "workerMemory": f"{worker_memory}m",
            "uiHostPort": base + 23,
        },
        "streamingJob": {
            "executorMemory": f"{draw(st.integers(450, worker_memory))}m",
            "executorCores": draw(st.integers(1, cores)),
            "uiHostPort": base + 24,
        },
        "schemaRegistry": {"enabled": draw(st.booleans()), "hostPort": base + 25},
        "kafkaUi": {"enabled": draw(st.booleans()), "hostPort": base + 26},
        "airflow": {"enabled": draw(st.booleans()), "hostPort": base + 27},
        "producer": {"eventsPerSecond": draw(st.floats(0.5, 500, allow_nan=False))},
        "sinks": sinks,
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_configs())
def test_every_valid_config_builds_a_graph_whose_values_are_the_configs(config: dict[str, Any]) -> None:
    deployment = run_program("local", config)
    by_name = containers(deployment)
    kafka, spark = config["kafka"], config["spark"]
    assert sum(1 for name in by_name if name.startswith("kafka-") and name[6:].isdigit()) == kafka["brokers"]
    assert sum(1 for name in by_name if name.startswith("spark-worker-")) == spark["workers"]
    for i in range(kafka["brokers"]):
        assert published(by_name[f"kafka-{i}"]) == {19092: kafka["hostPort"] + i}
    script = by_name["kafka-topics-0"].inputs["command"][0]
    assert f"--partitions {kafka['partitions']} --replication-factor {kafka['replicationFactor']}" in script
    job = env_of(by_name["streaming-job-0"])
    assert job["SINKS"] == ",".join(config["sinks"])
    assert job["EXECUTOR_MEMORY"] == config["streamingJob"]["executorMemory"]
    externals = [port for c in by_name.values() for port in published(c).values()]
    assert len(externals) == len(set(externals))
    assert ("hdfs-namenode-0" in by_name) == config["hdfs"]["enabled"]
    assert ("object-store-0" in by_name) == config["objectStore"]["enabled"]
    assert ("airflow-scheduler-0" in by_name) == config["airflow"]["enabled"]
    for container in by_name.values():
        assert container.inputs["memory"] == container.inputs["memorySwap"] > 0


junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 100_000),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
SECTIONS = ["kafka", "cassandra", "hdfs", "objectStore", "spark", "streamingJob", "producer", "airflow", "kubernetes"]


@settings(max_examples=300, deadline=None)
@given(
    valid_configs(),
    st.sampled_from([*SECTIONS, "sinks", "target", "kafak"]),
    st.text(min_size=1, max_size=20),
    junk,
)
def test_any_config_is_either_settings_or_one_config_error(
    config: dict[str, Any], section: str, key: str, value: object
) -> None:
    """Junk anywhere (a wrong type, a number out of range, an unknown key or section) is refused with
    the one ConfigError, never a KeyError, TypeError or ValueError from inside the parser."""
    broken = json.loads(json.dumps(config))
    if section in SECTIONS and isinstance(broken.get(section), dict):
        broken[section][key] = value
    else:
        broken[section] = value
    raw, secrets = stack_config("local", broken)
    try:
        parse_settings(raw, secrets, "streamstack", "local")
    except ConfigError as error:
        assert str(error).startswith(f"invalid stack config streamstack:{error.key} = ")


@settings(max_examples=10, deadline=None)
@given(valid_configs(), st.sampled_from(["kafka", "cassandra", "spark", "streamingJob"]), junk)
def test_an_invalid_config_declares_nothing(config: dict[str, Any], section: str, value: object) -> None:
    broken = {**config, section: {**config[section], "brokers" if section == "kafka" else "nodes": value}}
    try:
        run_program("local", broken)
    except ProgramFailedError as failure:
        assert isinstance(failure.error, ConfigError)
        assert failure.declared == []
