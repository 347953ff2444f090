"""The `local` stack on Docker, run under Pulumi mocks: wiring asserted by value."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from components.targets.docker import OneShotTaskFailedError, docker_socket_group
from tests.fixtures.pulumi_program import DeclaredResource, Deployment
from tools.mock_deploy import fake_digest

CONTAINER = "docker:index/container:Container"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
BUILT_IMAGE = "docker:index/image:Image"
VOLUME = "docker:index/volume:Volume"
NETWORK = "docker:index/network:Network"


def env_of(container: DeclaredResource) -> dict[str, str]:
    return dict(entry.split("=", 1) for entry in container.inputs.get("envs", []))


def secret_env_names(container: DeclaredResource) -> set[str]:
    return {
        entry.split("=", 1)[0] for i, entry in enumerate(container.inputs["envs"]) if container.is_secret(f"envs.{i}")
    }


def short_names(urns: list[str]) -> set[str]:
    return {urn.split("::")[-1] for urn in urns}


def containers(deployment: Deployment) -> dict[str, DeclaredResource]:
    return {c.name: c for c in deployment.of_type(CONTAINER)}


def long_running(deployment: Deployment) -> list[DeclaredResource]:
    return [c for c in deployment.of_type(CONTAINER) if c.inputs["mustRun"]]


@pytest.fixture(scope="module")
def local(request: pytest.FixtureRequest) -> Deployment:
    from tests.fixtures.pulumi_program import run_program

    return run_program("local")


@pytest.fixture(scope="module")
def three_brokers() -> Deployment:
    from tests.fixtures.pulumi_program import run_program

    return run_program(
        "local",
        {
            "kafka": {"brokers": 3, "replicationFactor": 3, "minInsyncReplicas": 2, "partitions": 6},
            "cassandra": {"nodes": 3, "replicationFactor": 3},
            "spark": {"workers": 2},
            "hdfs": {"datanodes": 2},
        },
    )


VOLUME_OWNER_TASKS = ["hdfs-datanode-0-data-owner", "hdfs-namenode-0-data-owner"]


def test_local_stack_declares_every_service_once(local: Deployment) -> None:
    assert sorted(containers(local)) == [
        "airflow-api-server-0",
        "airflow-dag-processor-0",
        "airflow-init-0",
        "airflow-scheduler-0",
        "cassandra-0",
        "cassandra-init-0",
        "hdfs-datanode-0",
        "hdfs-datanode-0-data-owner",
        "hdfs-init-0",
        "hdfs-namenode-0",
        "hdfs-namenode-0-data-owner",
        "kafka-0",
        "kafka-topics-0",
        "kafka-ui-0",
        "object-store-0",
        "postgres-0",
        "producer-0",
        "schema-registry-0",
        "spark-master-0",
        "spark-worker-0",
        "streaming-job-0",
    ]


def test_every_container_is_on_the_one_network_under_stable_aliases(local: Deployment) -> None:
    (network,) = local.of_type(NETWORK)
    assert network.inputs["name"] == "streamstack-local"
    for name, container in containers(local).items():
        if name in VOLUME_OWNER_TASKS:
            assert "networksAdvanced" not in container.inputs, name
            continue
        service = name.rsplit("-", 1)[0]
        assert container.inputs["networksAdvanced"] == [{"name": "streamstack-local", "aliases": [service, name]}]
        assert container.inputs["hostname"] == name
        assert container.inputs["name"] == f"streamstack-local-{name}"


@pytest.mark.parametrize("stack_fixture", ["local", "three_brokers"])
def test_workloads_bootstrap_from_kafkas_internal_listeners(stack_fixture: str, request: pytest.FixtureRequest) -> None:
    deployment: Deployment = request.getfixturevalue(stack_fixture)
    brokers = sorted(name for name in containers(deployment) if re.fullmatch(r"kafka-\d+", name))
    internal = ",".join(f"{broker}:9092" for broker in brokers)
    by_name = containers(deployment)
    for broker in brokers:
        advertised = env_of(by_name[broker])["KAFKA_ADVERTISED_LISTENERS"]
        assert f"INTERNAL://{broker}:9092" in advertised.split(",")
    assert env_of(by_name["producer-0"])["KAFKA_BOOTSTRAP_SERVERS"] == internal
    assert env_of(by_name["streaming-job-0"])["KAFKA_BOOTSTRAP_SERVERS"] == internal
    assert env_of(by_name["schema-registry-0"])["KARAPACE_BOOTSTRAP_URI"] == internal
    assert env_of(by_name["kafka-ui-0"])["KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS"] == internal
    airflow_kafka = json.loads(env_of(by_name["airflow-scheduler-0"])["AIRFLOW_CONN_STREAMSTACK_KAFKA"])
    assert airflow_kafka["extra"]["bootstrap.servers"] == internal


def test_quorum_voters_list_every_controller_with_its_node_id(three_brokers: Deployment) -> None:
    by_name = containers(three_brokers)
    expected = "0@kafka-0:9093,1@kafka-1:9093,2@kafka-2:9093"
    node_ids = []
    for i in range(3):
        env = env_of(by_name[f"kafka-{i}"])
        assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == expected
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
        assert env["KAFKA_LISTENERS"] == "INTERNAL://:9092,CONTROLLER://:9093,HOST://:19092"
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
        assert env["KAFKA_LOG_DIRS"] == "/var/lib/kafka/data/logs"
        node_ids.append(env["KAFKA_NODE_ID"])
    assert node_ids == ["0", "1", "2"]
    cluster_ids = {env_of(by_name[f"kafka-{i}"])["CLUSTER_ID"] for i in range(3)}
    assert len(cluster_ids) == 1
    assert len(cluster_ids.pop()) == 22


def test_each_broker_advertises_exactly_the_host_port_it_publishes(three_brokers: Deployment) -> None:
    by_name = containers(three_brokers)
    published = []
    for i in range(3):
        broker = by_name[f"kafka-{i}"]
        (port,) = broker.inputs["ports"]
        assert port == {"internal": 19092, "external": 9094 + i, "ip": "127.0.0.1"}
        host_listener = f"HOST://127.0.0.1:{port['external']}"
        assert env_of(broker)["KAFKA_ADVERTISED_LISTENERS"] == f"INTERNAL://kafka-{i}:9092,{host_listener}"
        published.append(f"127.0.0.1:{port['external']}")
    assert three_brokers.outputs["kafkaBootstrapServers"] == ",".join(published)


def test_kafka_brokers_start_together_and_topics_wait_for_all_of_them(three_brokers: Deployment) -> None:
    by_name = containers(three_brokers)
    for i in range(3):
        assert not short_names(by_name[f"kafka-{i}"].dependencies) & {"kafka-0", "kafka-1", "kafka-2"}
    topics = by_name["kafka-topics-0"]
    assert {"kafka-0", "kafka-1", "kafka-2"} <= short_names(topics.dependencies)
    script = topics.inputs["command"][0]
    bootstrap = "kafka-0:9092,kafka-1:9092,kafka-2:9092"
    for topic in ("user-events", "user-events.dead-letter"):
        assert (
            f"--bootstrap-server {bootstrap} --create --if-not-exists --topic {topic} --partitions 6"
            f" --replication-factor 3 --config min.insync.replicas=2"
        ) in script
    assert topics.inputs["entrypoints"] == ["/bin/bash", "-c"]


def test_cassandra_seeds_ordered_start_and_schema(three_brokers: Deployment) -> None:
    by_name = containers(three_brokers)
    for i in range(3):
        env = env_of(by_name[f"cassandra-{i}"])
        assert env["CASSANDRA_SEEDS"] == "cassandra-0,cassandra-1"
        assert env["MAX_HEAP_SIZE"] == "512M"
        assert "authenticator: PasswordAuthenticator" in by_name[f"cassandra-{i}"].inputs["command"][0]
    assert "cassandra-0" in short_names(by_name["cassandra-1"].dependencies)
    assert "cassandra-1" in short_names(by_name["cassandra-2"].dependencies)
    assert "cassandra-1" not in short_names(by_name["cassandra-0"].dependencies)
    init = by_name["cassandra-init-0"]
    (upload,) = init.inputs["uploads"]
    assert upload["file"] == "/streamstack/schema.cql"
    assert (
        "CREATE KEYSPACE IF NOT EXISTS streamstack WITH replication = "
        "{'class': 'NetworkTopologyStrategy', 'dc1': 3};" in upload["content"]
    )
    assert "CREATE TABLE IF NOT EXISTS streamstack.user_events (" in upload["content"]
    assert "PRIMARY KEY (event_id)" in upload["content"]
    job = env_of(by_name["streaming-job-0"])
    assert job["CASSANDRA_HOSTS"] == "cassandra-0,cassandra-1,cassandra-2"
    assert (job["CASSANDRA_KEYSPACE"], job["CASSANDRA_TABLE"], job["CASSANDRA_USERNAME"]) == (
        "streamstack",
        "user_events",
        "streamstack",
    )


def test_cassandra_init_never_puts_passwords_in_its_command(local: Deployment) -> None:
    init = containers(local)["cassandra-init-0"]
    script = init.inputs["command"][0]
    assert "generated-" not in script
    assert '-p "$CASSANDRA_PASSWORD"' in script
    assert "LOGIN = false" in script
    assert secret_env_names(init) == {"CASSANDRA_PASSWORD", "RETIRED_PASSWORD"}
    assert env_of(init)["CASSANDRA_PASSWORD"] == "generated-cassandra-password"
    assert env_of(init)["RETIRED_PASSWORD"] == "generated-cassandra-retired-default-password"


def test_upstream_images_are_pulled_once_by_their_pinned_reference_and_run_by_image_id(local: Deployment) -> None:
    declared = sorted(image.inputs["name"] for image in local.of_type(REMOTE_IMAGE))
    assert declared == [
        "apache/hadoop:3.4.1",
        "apache/kafka:4.1.1",
        "cassandra:4.1.11-bookworm",
        "chrislusf/seaweedfs:4.44",
        "ghcr.io/aiven-open/karapace:5.0.3",
        "ghcr.io/kafbat/kafka-ui:v1.4.2",
        "postgres:16.13-bookworm",
    ]
    by_name = containers(local)
    # The mocks answer a RemoteImage's imageId as `sha256:<name>`: containers run the pulled image's id.
    assert by_name["kafka-0"].inputs["image"] == "sha256:apache/kafka:4.1.1"
    assert by_name["object-store-0"].inputs["image"] == "sha256:chrislusf/seaweedfs:4.44"
    assert by_name["hdfs-namenode-0-data-owner"].inputs["image"] == "sha256:apache/hadoop:3.4.1"


def test_workload_images_are_built_locally_and_run_by_the_id_of_this_build(local: Deployment) -> None:
    built = {image.name: image for image in local.of_type(BUILT_IMAGE)}
    assert sorted(built) == ["airflow-image", "producer-image", "streaming-job-image"]
    job = built["streaming-job-image"].inputs
    assert job["skipPush"] is True
    assert job["imageName"] == "streamstack/streaming-job:streamstack-local"
    assert job["build"]["dockerfile"].endswith("workloads/streaming_job/Dockerfile")
    assert {name: value for name, value in job["build"]["args"].items() if name != "JOB_JARS"} == {
        "BASE_IMAGE": "python:3.11.15-slim-bookworm",
        "JAVA_RELEASE": "17",
        "SPARK_VERSION": "3.5.8",
        "PYTHON_RELEASE": "3.11",
    }
    assert "org.apache.spark:spark-sql-kafka-0-10_2.12:3.5.8" in job["build"]["args"]["JOB_JARS"].split(" ")
    assert built["producer-image"].inputs["build"]["args"] == {"BASE_IMAGE": "python:3.11.15-slim-bookworm"}
    assert built["airflow-image"].inputs["build"]["args"] == {"AIRFLOW_IMAGE": "apache/airflow:3.1.8-python3.11"}
    # Without a push, pulumi-docker reports the built image's id as repoDigest: a rebuild changes it,
    # and with it every container that runs the image (a constant tag would never replace them).
    by_name = containers(local)
    job_image = fake_digest("streamstack/streaming-job:streamstack-local")
    for name in ("streaming-job-0", "spark-worker-0", "spark-master-0"):
        assert by_name[name].inputs["image"] == job_image, name
    assert by_name["producer-0"].inputs["image"] == fake_digest("streamstack/producer:streamstack-local")
    assert by_name["airflow-scheduler-0"].inputs["image"] == fake_digest("streamstack/airflow:streamstack-local")


@pytest.mark.parametrize("stack_fixture", ["local", "three_brokers"])
def test_published_ports_bind_loopback_only_and_never_collide(
    stack_fixture: str, request: pytest.FixtureRequest
) -> None:
    deployment: Deployment = request.getfixturevalue(stack_fixture)
    published = [port for c in deployment.of_type(CONTAINER) for port in c.inputs.get("ports", [])]
    assert published, "the local stack publishes UIs and endpoints"
    assert {port["ip"] for port in published} == {"127.0.0.1"}
    externals = [port["external"] for port in published]
    assert len(externals) == len(set(externals))


def test_published_ports_match_the_stack_outputs(local: Deployment) -> None:
    assert local.outputs == {
        "kafkaBootstrapServers": "127.0.0.1:9094",
        "schemaRegistryUrl": "http://127.0.0.1:8081",
        "kafkaUiUrl": "http://127.0.0.1:8082",
        "cassandraContactPoint": "127.0.0.1:9042",
        "s3Endpoint": "http://127.0.0.1:9000",
        "objectStoreConsoleUrl": "http://127.0.0.1:9001",
        "hdfsNamenodeUiUrl": "http://127.0.0.1:9870",
        "sparkMasterUiUrl": "http://127.0.0.1:8090",
        "streamingJobUiUrl": "http://127.0.0.1:4040",
        "airflowUrl": "http://127.0.0.1:8080",
        "cassandraPassword": "generated-cassandra-password",
        "objectStorePassword": "generated-object-store-password",
        "airflowAdminPassword": "generated-airflow-admin-password",
    }
    assert local.secret_outputs == {"cassandraPassword", "objectStorePassword", "airflowAdminPassword"}
    by_name = containers(local)
    published = {
        (name, port["internal"]): port["external"] for name, c in by_name.items() for port in c.inputs.get("ports", [])
    }
    assert published == {
        ("kafka-0", 19092): 9094,
        ("schema-registry-0", 8081): 8081,
        ("kafka-ui-0", 8080): 8082,
        ("cassandra-0", 9042): 9042,
        ("object-store-0", 8333): 9000,
        ("object-store-0", 23646): 9001,
        ("hdfs-namenode-0", 9870): 9870,
        ("spark-master-0", 8080): 8090,
        ("streaming-job-0", 4040): 4040,
        ("airflow-api-server-0", 8080): 8080,
    }


def test_long_running_services_have_health_checks_and_are_awaited(local: Deployment) -> None:
    for container in long_running(local):
        health = container.inputs["healthcheck"]
        assert health["tests"][0] == "CMD-SHELL" and health["tests"][1].strip(), container.name
        assert container.inputs["wait"] is True, container.name
        assert container.inputs["restart"] == "unless-stopped"
        assert container.inputs["waitTimeout"] >= 60


def test_images_without_curl_are_probed_with_their_own_python(local: Deployment) -> None:
    probe = "python3 -c \"import urllib.request; urllib.request.urlopen('http://localhost:{}', timeout=4)\""
    by_name = containers(local)
    assert by_name["spark-master-0"].inputs["healthcheck"]["tests"][1] == probe.format("8080/")
    assert by_name["spark-worker-0"].inputs["healthcheck"]["tests"][1] == probe.format("8081/")
    assert by_name["schema-registry-0"].inputs["healthcheck"]["tests"][1] == (
        'python3 -c "import json, urllib.request; status = json.load(urllib.request.urlopen('
        "'http://localhost:8081/_health', timeout=4))['status']; "
        "raise SystemExit(0 if status['schema_registry_ready'] else 1)\""
    )


def test_one_shot_tasks_run_to_completion_once(local: Deployment) -> None:
    one_shot = sorted(c.name for c in local.of_type(CONTAINER) if not c.inputs["mustRun"])
    assert one_shot == sorted(
        ["airflow-init-0", "cassandra-init-0", "hdfs-init-0", "kafka-topics-0", *VOLUME_OWNER_TASKS]
    )
    for name in one_shot:
        inputs = containers(local)[name].inputs
        assert (inputs["attach"], inputs["restart"], inputs["logs"]) == (True, "no", True)


def test_dependents_start_after_their_dependencies(local: Deployment) -> None:
    by_name = containers(local)
    expected = {
        "kafka-topics-0": {"kafka-0"},
        "schema-registry-0": {"kafka-topics-0"},
        "kafka-ui-0": {"kafka-0", "schema-registry-0"},
        "cassandra-init-0": {"cassandra-0"},
        "hdfs-namenode-0": {"hdfs-namenode-0-data-owner"},
        "hdfs-datanode-0": {"hdfs-namenode-0", "hdfs-datanode-0-data-owner"},
        "hdfs-init-0": {"hdfs-datanode-0"},
        "spark-worker-0": {"spark-master-0"},
        "producer-0": {"kafka-topics-0", "schema-registry-0"},
        "streaming-job-0": {
            "kafka-topics-0",
            "cassandra-init-0",
            "object-store-0",
            "hdfs-init-0",
            "spark-worker-0",
        },
        "airflow-init-0": {"postgres-0"},
        "airflow-api-server-0": {"airflow-init-0", "cassandra-init-0", "kafka-topics-0"},
        "airflow-scheduler-0": {"airflow-init-0"},
        "airflow-dag-processor-0": {"airflow-init-0"},
    }
    for name, needs in expected.items():
        assert needs <= short_names(by_name[name].dependencies), name
    assert "producer-0" not in short_names(by_name["kafka-0"].dependencies)


def test_hdfs_namenode_formats_only_when_it_has_no_metadata(local: Deployment) -> None:
    namenode = containers(local)["hdfs-namenode-0"]
    command = namenode.inputs["command"][0]
    guard, _, start = command.partition("; fi; ")
    assert guard.startswith("if [ ! -f /data/dfs/name/current/VERSION ]; then")
    assert "/opt/hadoop/bin/hdfs namenode -format -nonInteractive -clusterId streamstack-local" in guard
    assert start == "exec /opt/hadoop/bin/hdfs namenode"
    assert namenode.inputs["volumes"] == [
        {"volumeName": "streamstack-local-hdfs-namenode-0-data", "containerPath": "/data"}
    ]
    files = {upload["file"]: upload["content"] for upload in namenode.inputs["uploads"]}
    assert (
        "<name>fs.defaultFS</name><value>hdfs://hdfs-namenode-0:8020</value>"
        in files["/opt/hadoop/etc/hadoop/core-site.xml"]
    )
    assert env_of(containers(local)["streaming-job-0"])["HDFS_URL"] == "hdfs://hdfs-namenode-0:8020"


def test_state_lives_in_named_volumes(local: Deployment) -> None:
    volumes = {v.inputs["name"] for v in local.of_type(VOLUME)}
    by_name = containers(local)
    for name, path in [
        ("kafka-0", "/var/lib/kafka/data"),
        ("cassandra-0", "/var/lib/cassandra"),
        ("object-store-0", "/data"),
        ("postgres-0", "/var/lib/postgresql/data"),
        ("hdfs-namenode-0", "/data"),
        ("hdfs-datanode-0", "/data"),
    ]:
        (volume,) = [v for v in by_name[name].inputs["volumes"] if "volumeName" in v]
        assert volume == {"volumeName": f"streamstack-local-{name}-data", "containerPath": path}
        assert volume["volumeName"] in volumes


def test_secrets_reach_containers_only_as_secret_environment(local: Deployment) -> None:
    by_name = containers(local)
    expected_secret = {
        "producer-0": {"PSEUDONYM_KEY"},
        "streaming-job-0": {"CASSANDRA_PASSWORD", "S3_SECRET_KEY"},
        "object-store-0": {"AWS_SECRET_ACCESS_KEY", "WEED_ADMIN_PASSWORD"},
        "postgres-0": {"POSTGRES_PASSWORD"},
        "airflow-init-0": {
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
            "AIRFLOW__CORE__FERNET_KEY",
            "AIRFLOW__API_AUTH__JWT_SECRET",
            "AIRFLOW_CONN_STREAMSTACK_KAFKA",
            "AIRFLOW_CONN_STREAMSTACK_SPARK",
            "AIRFLOW_CONN_STREAMSTACK_CASSANDRA",
            "AIRFLOW_CONN_STREAMSTACK_S3",
            "AIRFLOW_CONN_STREAMSTACK_WEBHDFS",
            "AIRFLOW_VAR_STREAMSTACK_PSEUDONYM_SECRET",
            "ADMIN_PASSWORD",
        },
    }
    for name, secret_names in expected_secret.items():
        assert secret_env_names(by_name[name]) == secret_names, name
    for container in local.of_type(CONTAINER):
        for i, entry in enumerate(container.inputs.get("envs", [])):
            if "generated-" in entry:
                assert container.is_secret(f"envs.{i}"), f"{container.name}: {entry.split('=')[0]}"
    assert env_of(by_name["streaming-job-0"])["CASSANDRA_PASSWORD"] == "generated-cassandra-password"
    assert env_of(by_name["postgres-0"])["POSTGRES_PASSWORD"] == "generated-postgres-password"


def test_configured_secrets_replace_generated_ones() -> None:
    from tests.fixtures.pulumi_program import run_program

    deployment = run_program(
        "local",
        {"cassandraPassword": "configured-cassandra-pw", "airflowAdminPassword": "configured-admin-pw"},
        secret_keys=["cassandraPassword", "airflowAdminPassword"],
    )
    generated = {p.name for p in deployment.of_type("random:index/randomPassword:RandomPassword")}
    assert "cassandra-password" not in generated and "airflow-admin-password" not in generated
    assert "postgres-password" in generated
    by_name = containers(deployment)
    assert env_of(by_name["streaming-job-0"])["CASSANDRA_PASSWORD"] == "configured-cassandra-pw"
    assert env_of(by_name["airflow-init-0"])["ADMIN_PASSWORD"] == "configured-admin-pw"
    assert "CASSANDRA_PASSWORD" in secret_env_names(by_name["streaming-job-0"])


def test_airflow_connections_and_deployment_facts_come_from_component_outputs(local: Deployment) -> None:
    env = env_of(containers(local)["airflow-scheduler-0"])
    cassandra = json.loads(env["AIRFLOW_CONN_STREAMSTACK_CASSANDRA"])
    assert cassandra == {
        "conn_type": "cassandra",
        "host": "cassandra-0",
        "port": 9042,
        "login": "streamstack",
        "password": "generated-cassandra-password",
        "schema": "streamstack",
    }
    s3 = json.loads(env["AIRFLOW_CONN_STREAMSTACK_S3"])
    assert s3 == {
        "conn_type": "aws",
        "login": "streamstack",
        "password": "generated-object-store-password",
        "extra": {
            "endpoint_url": "http://object-store:8333",
            "region_name": "us-east-1",
            "config_kwargs": {"s3": {"addressing_style": "path"}},
        },
    }
    spark = json.loads(env["AIRFLOW_CONN_STREAMSTACK_SPARK"])
    assert spark == {"conn_type": "spark", "host": "spark-master-0", "port": 7077, "extra": {"master_ui_port": 8080}}
    assert env["AIRFLOW_VAR_STREAMSTACK_PSEUDONYM_SECRET"] == env_of(containers(local)["producer-0"])["PSEUDONYM_KEY"]
    facts = json.loads(env["AIRFLOW_VAR_STREAMSTACK_DEPLOYMENT"])
    assert facts["target"] == "docker"
    assert facts["docker_network"] == "streamstack-local"
    assert facts["producer_image"] == fake_digest("streamstack/producer:streamstack-local")
    assert facts["streaming_job_image"] == fake_digest("streamstack/streaming-job:streamstack-local")
    assert (facts["events_topic"], facts["dead_letter_topic"]) == ("user-events", "user-events.dead-letter")
    assert facts["sinks"] == ["cassandra", "s3", "hdfs"]
    assert facts["spark_master_url"] == "spark://spark-master-0:7077"
    scheduler = containers(local)["airflow-scheduler-0"]
    assert {"hostPath": "/var/run/docker.sock", "containerPath": "/var/run/docker.sock"} in scheduler.inputs["volumes"]
    assert scheduler.inputs.get("groupAdds") == docker_socket_group()
    api_server = containers(local)["airflow-api-server-0"]
    assert "groupAdds" not in api_server.inputs
    assert all(v.get("hostPath") != "/var/run/docker.sock" for v in api_server.inputs["volumes"])
    dags = [v for v in scheduler.inputs["volumes"] if v.get("containerPath") == "/opt/airflow/dags"]
    assert len(dags) == 1 and dags[0]["hostPath"].endswith("/dags") and dags[0]["readOnly"] is True


def test_streaming_job_configuration(local: Deployment) -> None:
    env = env_of(containers(local)["streaming-job-0"])
    assert env["SPARK_MASTER_URL"] == "spark://spark-master-0:7077"
    assert env["SPARK_DRIVER_HOST"] == "streaming-job-0"
    assert env["SINKS"] == "cassandra,s3,hdfs"
    assert env["CHECKPOINT_LOCATION"] == "s3a://streamstack/checkpoints/streaming-job"
    assert (env["S3_ENDPOINT"], env["S3_BUCKET"], env["S3_ACCESS_KEY"]) == (
        "http://object-store:8333",
        "streamstack",
        "streamstack",
    )
    assert (env["TRIGGER_INTERVAL"], env["MAX_OFFSETS_PER_TRIGGER"], env["SHUFFLE_PARTITIONS"]) == (
        "10 seconds",
        "20000",
        "4",
    )
    assert (env["EXECUTOR_MEMORY"], env["DRIVER_MEMORY"]) == ("512m", "512m")


def _heap_mib(container: DeclaredResource) -> int | None:
    """The JVM heap a container's environment or command configures, in MiB."""
    env = env_of(container)
    text = " ".join(
        [
            env.get("KAFKA_HEAP_OPTS", ""),
            env.get("HDFS_NAMENODE_OPTS", ""),
            env.get("HDFS_DATANODE_OPTS", ""),
            env.get("JAVA_OPTS", ""),
        ]
    )
    heaps = [int(m) for m in re.findall(r"-Xmx(\d+)m", text)]
    if "MAX_HEAP_SIZE" in env:
        heaps.append(int(env["MAX_HEAP_SIZE"].rstrip("M")))
    if "SPARK_DAEMON_MEMORY" in env:
        daemon = int(env["SPARK_DAEMON_MEMORY"].rstrip("m"))
        command: list[Any] = container.inputs.get("command", [])
        executors = int(command[command.index("--memory") + 1].rstrip("m")) if "--memory" in command else 0
        heaps.append(daemon + executors)
    if "DRIVER_MEMORY" in env:
        heaps.append(int(env["DRIVER_MEMORY"].rstrip("m")))
    return sum(heaps) if heaps else None


JVM_SERVICES = {
    "kafka-0",
    "kafka-topics-0",
    "kafka-ui-0",
    "cassandra-0",
    "hdfs-namenode-0",
    "hdfs-datanode-0",
    "spark-master-0",
    "spark-worker-0",
    "streaming-job-0",
}


def test_every_container_has_a_memory_limit_and_every_jvm_heap_fits_under_it(local: Deployment) -> None:
    for container in local.of_type(CONTAINER):
        memory = container.inputs["memory"]
        assert memory >= (64 if container.name in VOLUME_OWNER_TASKS else 128), container.name
        assert container.inputs["memorySwap"] == memory, container.name
        heap = _heap_mib(container)
        if container.name in JVM_SERVICES:
            assert heap is not None, f"{container.name} must set its JVM heap explicitly"
        if heap is not None:
            assert heap < memory, f"{container.name}: heap {heap} MiB >= limit {memory} MiB"


def test_every_long_running_container_is_sized_from_its_measured_parts(local: Deployment) -> None:
    """docs/memory.md: each limit is the sum of parts measured with the stack's own settings."""
    assert {c.name: c.inputs["memory"] for c in long_running(local)} == {
        "kafka-0": 768,
        "schema-registry-0": 256,
        "kafka-ui-0": 448,
        "cassandra-0": 1152,
        "object-store-0": 512,
        "hdfs-namenode-0": 640,
        "hdfs-datanode-0": 384,
        "spark-master-0": 192 + 128,
        "spark-worker-0": 192 + 128 + 512 + 288 + 128,  # daemon, one 512m executor and its Python worker
        "producer-0": 192,
        "streaming-job-0": 512 + 256 + 160,  # driver heap, JVM beyond it, the job's Python
        "postgres-0": 256,
        "airflow-api-server-0": 448,
        "airflow-scheduler-0": 320 + 4 * 128,  # four LocalExecutor task slots
        "airflow-dag-processor-0": 512,
    }


def test_default_local_stack_fits_in_9_gib(local: Deployment) -> None:
    total = sum(c.inputs["memory"] for c in long_running(local))
    assert total == 8896
    assert total <= 9 * 1024


def test_minimal_profile_runs_only_the_core_in_4_and_a_half_gib() -> None:
    from tests.fixtures.pulumi_program import run_program

    minimal = run_program("minimal")
    services = sorted(c.name for c in long_running(minimal))
    assert services == ["cassandra-0", "kafka-0", "producer-0", "spark-master-0", "spark-worker-0", "streaming-job-0"]
    total = sum(c.inputs["memory"] for c in long_running(minimal))
    assert total == 4484
    assert total <= 4608
    job = env_of(containers(minimal)["streaming-job-0"])
    assert job["SINKS"] == "cassandra"
    assert job["CHECKPOINT_LOCATION"] == "file:///checkpoints/streaming-job"
    checkpoint = {"volumeName": "streamstack-minimal-checkpoints", "containerPath": "/checkpoints"}
    assert checkpoint in containers(minimal)["streaming-job-0"].inputs["volumes"]
    assert checkpoint in containers(minimal)["spark-worker-0"].inputs["volumes"]


@pytest.mark.parametrize(
    ("overrides", "absent", "checks"),
    [
        (
            {"hdfs": {"enabled": False}, "sinks": ["cassandra", "s3"]},
            {"hdfs-namenode-0", "hdfs-datanode-0", "hdfs-init-0"},
            {"SINKS": "cassandra,s3", "HDFS_URL": None},
        ),
        (
            {"objectStore": {"enabled": False}, "sinks": ["cassandra", "hdfs"]},
            {"object-store-0"},
            {
                "SINKS": "cassandra,hdfs",
                "S3_ENDPOINT": None,
                "CHECKPOINT_LOCATION": "hdfs://hdfs-namenode-0:8020/streamstack/checkpoints/streaming-job",
            },
        ),
        (
            {"sinks": ["s3"]},
            set(),
            {"SINKS": "s3", "CASSANDRA_HOSTS": None, "S3_BUCKET": "streamstack"},
        ),
        (
            {"airflow": {"enabled": False}},
            {"postgres-0", "airflow-init-0", "airflow-api-server-0", "airflow-scheduler-0", "airflow-dag-processor-0"},
            {"SINKS": "cassandra,s3,hdfs"},
        ),
    ],
)
def test_switching_services_and_sinks(overrides: dict, absent: set[str], checks: dict[str, str | None]) -> None:
    from tests.fixtures.pulumi_program import run_program

    deployment = run_program("local", overrides)
    by_name = containers(deployment)
    assert not absent & set(by_name)
    assert {"kafka-0", "producer-0", "streaming-job-0", "spark-master-0"} <= set(by_name)
    job = env_of(by_name["streaming-job-0"])
    for key, value in checks.items():
        assert job.get(key) == value, key


def test_schema_registry_off_removes_it_from_producer_and_ui() -> None:
    from tests.fixtures.pulumi_program import run_program

    deployment = run_program("local", {"schemaRegistry": {"enabled": False}})
    by_name = containers(deployment)
    assert "schema-registry-0" not in by_name
    assert "SCHEMA_REGISTRY_URL" not in env_of(by_name["producer-0"])
    assert "KAFKA_CLUSTERS_0_SCHEMAREGISTRY" not in env_of(by_name["kafka-ui-0"])
    assert "schemaRegistryUrl" not in deployment.outputs


def test_schema_registry_on_is_wired_to_producer_and_ui(local: Deployment) -> None:
    by_name = containers(local)
    assert env_of(by_name["producer-0"])["SCHEMA_REGISTRY_URL"] == "http://schema-registry:8081"
    assert env_of(by_name["kafka-ui-0"])["KAFKA_CLUSTERS_0_SCHEMAREGISTRY"] == "http://schema-registry:8081"


def test_kafka_ui_off() -> None:
    from tests.fixtures.pulumi_program import run_program

    deployment = run_program("local", {"kafkaUi": {"enabled": False}})
    assert "kafka-ui-0" not in containers(deployment)
    assert "kafkaUiUrl" not in deployment.outputs


def test_components_are_typed_and_own_their_children(local: Deployment) -> None:
    components = {r.name: r for r in local.resources if r.type.startswith("streamstack:index:")}
    assert {name: r.type for name, r in components.items()} == {
        "streamstack": "streamstack:index:Pipeline",
        "credentials": "streamstack:index:Credentials",
        "kafka": "streamstack:index:Kafka",
        "schema-registry": "streamstack:index:SchemaRegistry",
        "kafka-ui": "streamstack:index:KafkaUi",
        "cassandra": "streamstack:index:Cassandra",
        "object-store": "streamstack:index:ObjectStore",
        "hdfs": "streamstack:index:Hdfs",
        "spark": "streamstack:index:Spark",
        "producer": "streamstack:index:Producer",
        "streaming-job": "streamstack:index:StreamingJob",
        "airflow": "streamstack:index:Airflow",
    }
    by_name = containers(local)
    owner = {
        "kafka-0": "kafka",
        "kafka-topics-0": "kafka",
        "cassandra-init-0": "cassandra",
        "hdfs-namenode-0": "hdfs",
        "spark-worker-0": "spark",
        "producer-0": "producer",
        "postgres-0": "airflow",
    }
    for container, component in owner.items():
        assert by_name[container].parent == components[component].urn


DEPENDENTS_OF_TASK = {
    "kafka-topics-0": {"schema-registry-0", "kafka-ui-0", "producer-0", "streaming-job-0", "airflow-scheduler-0"},
    "cassandra-init-0": {"streaming-job-0", "airflow-api-server-0", "airflow-scheduler-0"},
    "hdfs-init-0": {"streaming-job-0", "airflow-dag-processor-0"},
    "airflow-init-0": {"airflow-api-server-0", "airflow-scheduler-0", "airflow-dag-processor-0"},
    "hdfs-namenode-0-data-owner": {"hdfs-namenode-0", "hdfs-datanode-0", "hdfs-init-0", "streaming-job-0"},
}


@pytest.mark.parametrize("task", sorted(DEPENDENTS_OF_TASK))
def test_a_failed_one_shot_task_fails_the_deployment_before_anything_that_needs_it(task: str) -> None:
    """pulumi-docker records a one-shot container's exit code but never fails on it; the target does."""
    from tests.fixtures.pulumi_program import ProgramFailedError, run_program

    with pytest.raises(ProgramFailedError) as failure:
        run_program("local", exit_codes={task: 3})
    assert isinstance(failure.value.error, OneShotTaskFailedError)
    message = str(failure.value.error)
    assert message.startswith(f"one-shot task {task} failed with exit code 3; nothing that depends on it was started.")
    assert f"{task}: done" in message  # its last output
    assert "pulumi up --replace 'urn:pulumi:local::streamstack::" in message
    declared = {r.name for r in failure.value.declared if r.type == CONTAINER}
    assert task in declared
    assert DEPENDENTS_OF_TASK[task].isdisjoint(declared)


def test_dependents_carry_the_outcome_of_every_task_they_need(local: Deployment) -> None:
    labels = {
        name: {label["label"]: label["value"] for label in c.inputs["labels"]} for name, c in containers(local).items()
    }
    assert labels["streaming-job-0"]["streamstack.after"] == ",".join(
        sorted(
            [
                "cassandra-init-0",
                "hdfs-datanode-0-data-owner",
                "hdfs-init-0",
                "hdfs-namenode-0-data-owner",
                "kafka-topics-0",
            ]
        )
    )
    assert labels["airflow-scheduler-0"]["streamstack.after"].split(",")[0] == "airflow-init-0"
    assert "streamstack.after" not in labels["kafka-0"]


def test_airflow_unpauses_new_dags_so_the_supervisor_and_checks_run(local: Deployment) -> None:
    airflow = [name for name in containers(local) if name.startswith("airflow-")]
    assert len(airflow) == 4
    for name in airflow:
        assert env_of(containers(local)[name])["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] == "False", name


def test_airflow_init_runs_its_own_commands_rather_than_the_entrypoints_which_swallow_errors(local: Deployment) -> None:
    init = containers(local)["airflow-init-0"]
    assert init.inputs["command"][:2] == ["bash", "-c"]
    assert init.inputs["command"][2].startswith("set -euo pipefail\nairflow db migrate\n")
    assert not {"_AIRFLOW_DB_MIGRATE", "_AIRFLOW_WWW_USER_CREATE"} & set(env_of(init))


@pytest.mark.parametrize(
    ("kafka", "internal"),
    [
        ({"brokers": 1, "replicationFactor": 1, "minInsyncReplicas": 1}, 1),
        ({"brokers": 2, "replicationFactor": 2, "minInsyncReplicas": 2}, 2),
        ({"brokers": 3, "replicationFactor": 3, "minInsyncReplicas": 2}, 3),
        ({"brokers": 5, "replicationFactor": 2, "minInsyncReplicas": 1}, 3),
        ({"brokers": 5, "replicationFactor": 5, "minInsyncReplicas": 4}, 4),
    ],
)
def test_every_internal_topic_of_every_client_meets_the_clusters_replication(kafka: dict, internal: int) -> None:
    """Offsets, transaction and share-group state, and the schema registry's _schemas: each at least
    min.insync.replicas copies (acks=all writes fail below it), at most the brokers, three if possible."""
    from tests.fixtures.pulumi_program import run_program

    by_name = containers(run_program("local", {"kafka": kafka}))
    broker = env_of(by_name["kafka-0"])
    min_isr = str(kafka["minInsyncReplicas"])
    assert broker["KAFKA_MIN_INSYNC_REPLICAS"] == min_isr
    assert {
        name: broker[name]
        for name in (
            "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
            "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
            "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
            "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR",
            "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR",
        )
    } == {
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": str(internal),
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": str(internal),
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": min_isr,
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR": str(internal),
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR": min_isr,
    }
    assert env_of(by_name["schema-registry-0"])["KARAPACE_REPLICATION_FACTOR"] == str(internal)


def test_nothing_is_privileged_and_only_volume_handovers_run_as_root(local: Deployment) -> None:
    every = local.of_type("docker:index/container:Container")
    assert [c.inputs["name"] for c in every if c.inputs.get("privileged")] == []
    as_root = sorted(c.inputs["name"] for c in every if c.inputs.get("user") in (None, "0:0", "0", "root"))
    handovers = sorted(c.inputs["name"] for c in every if (c.inputs.get("entrypoints") or [None])[0] == "chown")
    assert (
        as_root
        == handovers
        == [
            "streamstack-local-hdfs-datanode-0-data-owner",
            "streamstack-local-hdfs-namenode-0-data-owner",
        ]
    )
    users = {c.inputs["name"].removeprefix("streamstack-local-"): c.inputs["user"] for c in every}
    assert (users["cassandra-0"], users["postgres-0"], users["kafka-ui-0"], users["producer-0"]) == (
        "999:999",
        "999:999",
        "100:101",
        "10001:10001",
    )


def test_the_docker_socket_reaches_only_the_services_that_launch_containers(local: Deployment) -> None:
    with_socket = sorted(
        c.inputs["name"]
        for c in local.of_type("docker:index/container:Container")
        if any(v.get("hostPath") == "/var/run/docker.sock" for v in c.inputs.get("volumes") or [])
    )
    assert with_socket == ["streamstack-local-airflow-scheduler-0"]


def test_the_producer_runs_on_a_read_only_root_with_tmp_as_scratch(local: Deployment) -> None:
    producer = containers(local)["producer-0"]
    assert producer.inputs["readOnly"] is True
    assert producer.inputs["tmpfs"] == {"/tmp": "rw,nosuid,nodev,uid=10001,gid=10001"}


def test_destroy_removes_the_volumes_unless_retain_data_keeps_them() -> None:
    from tools.mock_deploy import run_program

    def retained(deployment: Deployment) -> list[str]:
        return sorted(v.inputs["name"] for v in deployment.of_type("docker:index/volume:Volume") if v.retain_on_delete)

    assert retained(run_program("local")) == []
    kept = retained(run_program("local", {"retainData": True}))
    assert kept == sorted(v.inputs["name"] for v in run_program("local").of_type("docker:index/volume:Volume"))
    assert "streamstack-local-cassandra-0-data" in kept


def test_containers_get_their_stop_grace_before_sigkill(local: Deployment) -> None:
    every = containers(local)
    assert (every["cassandra-0"].inputs["stopTimeout"], every["kafka-0"].inputs["stopTimeout"]) == (120, 60)
    assert every["cassandra-0"].inputs["destroyGraceSeconds"] == 120
    assert every["producer-0"].inputs["stopTimeout"] == 30
