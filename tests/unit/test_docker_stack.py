"""The `local` stack on Docker, run under Pulumi mocks: wiring asserted by value."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from components import versions
from components.targets.docker import docker_socket_group
from tests.fixtures.pulumi_program import DeclaredResource, Deployment

CONTAINER = "docker:index/container:Container"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
BUILT_IMAGE = "docker:index/image:Image"
VOLUME = "docker:index/volume:Volume"
NETWORK = "docker:index/network:Network"


def env_of(container: DeclaredResource) -> dict[str, str]:
    return dict(entry.split("=", 1) for entry in container.inputs["envs"])


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


def test_local_stack_declares_every_service_once(local: Deployment) -> None:
    assert sorted(containers(local)) == [
        "airflow-api-server-0",
        "airflow-dag-processor-0",
        "airflow-init-0",
        "airflow-scheduler-0",
        "cassandra-0",
        "cassandra-init-0",
        "hdfs-datanode-0",
        "hdfs-init-0",
        "hdfs-namenode-0",
        "kafka-0",
        "kafka-topics-0",
        "kafka-ui-0",
        "minio-0",
        "minio-init-0",
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


def test_upstream_images_are_pinned_and_come_from_the_versions_module(local: Deployment) -> None:
    pinned = set(versions.upstream_images().values())
    declared = {image.inputs["name"] for image in local.of_type(REMOTE_IMAGE)}
    assert declared == pinned - {versions.AIRFLOW_IMAGE, versions.PRODUCER_BASE_IMAGE, versions.SPARK_IMAGE} | {
        versions.SPARK_IMAGE
    }
    for reference in declared:
        name, _, tag = reference.rpartition(":")
        assert name and tag and tag != "latest" and re.search(r"\d", tag), reference
    for container in local.of_type(CONTAINER):
        image = container.inputs["image"]
        assert image.startswith("sha256:") or image.startswith("streamstack/"), image


def test_workload_images_are_built_locally_from_the_repository(local: Deployment) -> None:
    built = {image.name: image for image in local.of_type(BUILT_IMAGE)}
    assert sorted(built) == ["airflow-image", "producer-image", "streaming-job-image"]
    job = built["streaming-job-image"].inputs
    assert job["skipPush"] is True
    assert job["imageName"] == "streamstack/streaming-job:streamstack-local"
    assert job["build"]["dockerfile"].endswith("workloads/streaming_job/Dockerfile")
    assert job["build"]["args"]["SPARK_IMAGE"] == versions.SPARK_IMAGE
    kafka_connector = f"org.apache.spark:spark-sql-kafka-0-10_{versions.SCALA_BINARY_VERSION}:{versions.SPARK_VERSION}"
    assert kafka_connector in job["build"]["args"]["JOB_JARS"].split(" ")
    assert built["producer-image"].inputs["build"]["args"] == {"BASE_IMAGE": versions.PRODUCER_BASE_IMAGE}
    assert built["airflow-image"].inputs["build"]["args"] == {"AIRFLOW_IMAGE": versions.AIRFLOW_IMAGE}
    assert containers(local)["producer-0"].inputs["image"] == "streamstack/producer:streamstack-local"
    job_image = "streamstack/streaming-job:streamstack-local"
    assert containers(local)["streaming-job-0"].inputs["image"] == job_image
    assert containers(local)["spark-worker-0"].inputs["image"] == job_image
    assert containers(local)["spark-master-0"].inputs["image"] == f"sha256:{versions.SPARK_IMAGE}"


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
        "minioConsoleUrl": "http://127.0.0.1:9001",
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
        ("minio-0", 9000): 9000,
        ("minio-0", 9001): 9001,
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
    assert by_name["schema-registry-0"].inputs["healthcheck"]["tests"][1] == probe.format("8081/_health")


def test_one_shot_tasks_run_to_completion_once(local: Deployment) -> None:
    one_shot = sorted(c.name for c in local.of_type(CONTAINER) if not c.inputs["mustRun"])
    assert one_shot == ["airflow-init-0", "cassandra-init-0", "hdfs-init-0", "kafka-topics-0", "minio-init-0"]
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
        "minio-init-0": {"minio-0"},
        "hdfs-datanode-0": {"hdfs-namenode-0"},
        "hdfs-init-0": {"hdfs-datanode-0"},
        "spark-worker-0": {"spark-master-0"},
        "producer-0": {"kafka-topics-0", "schema-registry-0"},
        "streaming-job-0": {
            "kafka-topics-0",
            "cassandra-init-0",
            "minio-init-0",
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
    assert "hdfs namenode -format -nonInteractive -clusterId streamstack-local" in guard
    assert start == "exec hdfs namenode"
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
        ("minio-0", "/data"),
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
        "minio-0": {"MINIO_ROOT_PASSWORD"},
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
            "_AIRFLOW_WWW_USER_PASSWORD",
        },
    }
    for name, secret_names in expected_secret.items():
        assert secret_env_names(by_name[name]) == secret_names, name
    for container in local.of_type(CONTAINER):
        for i, entry in enumerate(container.inputs["envs"]):
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
    assert env_of(by_name["airflow-init-0"])["_AIRFLOW_WWW_USER_PASSWORD"] == "configured-admin-pw"
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
            "endpoint_url": "http://minio:9000",
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
    assert facts["producer_image"] == "streamstack/producer:streamstack-local"
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
        "http://minio:9000",
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
        assert memory >= 128 and container.inputs["memorySwap"] == memory, container.name
        heap = _heap_mib(container)
        if container.name in JVM_SERVICES:
            assert heap is not None, f"{container.name} must set its JVM heap explicitly"
        if heap is not None:
            assert heap < memory, f"{container.name}: heap {heap} MiB >= limit {memory} MiB"


def test_default_local_stack_fits_in_8_gib(local: Deployment) -> None:
    total = sum(c.inputs["memory"] for c in long_running(local))
    assert total <= 8192, total


def test_minimal_profile_runs_only_the_core_in_4_gib() -> None:
    from tests.fixtures.pulumi_program import run_program

    minimal = run_program("minimal")
    services = sorted(c.name for c in long_running(minimal))
    assert services == ["cassandra-0", "kafka-0", "producer-0", "spark-master-0", "spark-worker-0", "streaming-job-0"]
    assert sum(c.inputs["memory"] for c in long_running(minimal)) <= 4096
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
            {"minio-0", "minio-init-0"},
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
