"""The `dev` stack on Kubernetes, run under Pulumi mocks: wiring asserted by value against the
Kubernetes DNS names, plus the variations a user can configure."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from components.settings import ConfigError
from tests.unit.shell import command_words
from tests.unit.variations import ONE_BROKER_CASSANDRA_ONLY_ON_KUBERNETES
from tools.mock_deploy import SECRET_TEST_VALUE, DeclaredResource, Deployment, ProgramFailedError, run_program

NS = "streamstack-dev"
DOMAIN = f"{NS}.svc.cluster.local"
PROVIDER = "pulumi:providers:kubernetes"
NAME = "app.kubernetes.io/name"
REGISTRY = "localhost:5001"
COMPONENTS_DIR = Path(__file__).resolve().parents[2] / "components"


def replica(service: str, ordinal: int) -> str:
    return f"{service}-{ordinal}.{service}.{DOMAIN}"


def objects(deployment: Deployment, kind: str) -> dict[str, dict[str, Any]]:
    found = [r.inputs for r in deployment.resources if r.type.startswith("kubernetes:") and r.inputs["kind"] == kind]
    return {o["metadata"]["name"]: o for o in found}


def declared(deployment: Deployment, kind: str, name: str) -> DeclaredResource:
    return next(
        r
        for r in deployment.resources
        if r.type.startswith("kubernetes:") and r.inputs["kind"] == kind and r.inputs["metadata"]["name"] == name
    )


def workloads(deployment: Deployment) -> dict[str, dict[str, Any]]:
    return {**objects(deployment, "StatefulSet"), **objects(deployment, "Deployment"), **objects(deployment, "Job")}


def pod(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]


def container(workload: dict[str, Any]) -> dict[str, Any]:
    (only,) = pod(workload)["spec"]["containers"]
    return only


def plain_env(workload: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container(workload).get("env", []) if "value" in e}


def secret_env(workload: dict[str, Any]) -> dict[str, tuple[str, str]]:
    refs = [e for e in container(workload).get("env", []) if "valueFrom" in e]
    return {e["name"]: (e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"]) for e in refs}


def replica_env(workload: dict[str, Any], ordinal: int) -> dict[str, str]:
    """Runs the container's real wrapper script with /bin/sh as replica `ordinal` would, then `env`."""
    name = workload["metadata"]["name"]
    result = subprocess.run(
        [*container(workload)["command"], "env"],
        env={"HOSTNAME": f"{name}-{ordinal}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    matched = all(labels.get(key) == value for key, value in selector.get("matchLabels", {}).items())
    return matched and all(
        expression["operator"] == "In" and labels.get(expression["key"]) in expression["values"]
        for expression in selector.get("matchExpressions", [])
    )


def admitted(deployment: Deployment, server: str, client_labels: dict[str, str]) -> bool:
    """Whether any NetworkPolicy lets pods labelled `client_labels` open connections to `server`."""
    server_labels = pod(workloads(deployment)[server])["metadata"]["labels"]
    return any(
        selects(peer["podSelector"], client_labels)
        for policy in objects(deployment, "NetworkPolicy").values()
        if selects(policy["spec"]["podSelector"], server_labels)
        for rule in policy["spec"].get("ingress", [])
        for peer in rule.get("from", [])
    )


def admits(deployment: Deployment, server: str, client: str) -> bool:
    return admitted(deployment, server, pod(workloads(deployment)[client])["metadata"]["labels"])


@pytest.fixture(scope="module")
def dev() -> Deployment:
    return run_program("dev")


@pytest.fixture(scope="module")
def one_broker_minimal() -> Deployment:
    return run_program("dev", ONE_BROKER_CASSANDRA_ONLY_ON_KUBERNETES)


def test_dev_runs_each_service_as_the_kind_of_workload_it_needs(dev: Deployment) -> None:
    kinds = {name: o["kind"] for name, o in workloads(dev).items()}
    assert kinds == {
        "kafka": "StatefulSet",
        "cassandra": "StatefulSet",
        "hdfs-namenode": "StatefulSet",
        "hdfs-datanode": "StatefulSet",
        "object-store": "StatefulSet",
        "postgres": "StatefulSet",
        "spark-master": "StatefulSet",
        "streaming-job": "StatefulSet",
        "spark-worker": "Deployment",
        "schema-registry": "Deployment",
        "kafka-ui": "Deployment",
        "producer": "Deployment",
        "airflow-api-server": "Deployment",
        "airflow-scheduler": "Deployment",
        "airflow-dag-processor": "Deployment",
        "kafka-topics": "Job",
        "cassandra-init": "Job",
        "hdfs-init": "Job",
        "airflow-init": "Job",
    }


def test_dev_has_the_production_like_shape(dev: Deployment) -> None:
    replicas = {name: o["spec"]["replicas"] for name, o in workloads(dev).items() if "replicas" in o["spec"]}
    assert (replicas["kafka"], replicas["cassandra"], replicas["spark-worker"], replicas["hdfs-datanode"]) == (
        3,
        3,
        2,
        2,
    )
    topics = container(objects(dev, "Job")["kafka-topics"])["args"][0]
    assert topics.count("--replication-factor 3 --config min.insync.replicas=2") == 2
    schema = objects(dev, "ConfigMap")["cassandra-init-files"]["data"]["streamstack--schema.cql"]
    assert "{'class': 'NetworkTopologyStrategy', 'dc1': 3}" in schema


def test_namespace_and_provider_hold_every_object(dev: Deployment) -> None:
    (provider,) = dev.of_type(PROVIDER)
    (namespace,) = objects(dev, "Namespace").values()
    assert namespace["metadata"]["name"] == NS
    k8s = [r for r in dev.resources if r.type.startswith("kubernetes:")]
    assert {r.provider.rsplit("::", 1)[0] for r in k8s} == {provider.urn}
    assert {r.inputs["metadata"]["namespace"] for r in k8s if r.inputs["kind"] != "Namespace"} == {NS}


def test_kafka_brokers_know_their_quorum_and_advertise_their_own_pod_names(dev: Deployment) -> None:
    kafka = objects(dev, "StatefulSet")["kafka"]
    assert kafka["spec"]["serviceName"] == "kafka"
    assert kafka["spec"]["podManagementPolicy"] == "Parallel"  # controllers must start together
    assert plain_env(kafka)["KAFKA_CONTROLLER_QUORUM_VOTERS"] == ",".join(
        f"{i}@{replica('kafka', i)}:9093" for i in range(3)
    )
    for i in range(3):
        identity = replica_env(kafka, i)
        assert identity["KAFKA_NODE_ID"] == str(i)
        # Outside the cluster, broker i is reached by a port-forward to its own pod on 9094 + i.
        assert identity["KAFKA_ADVERTISED_LISTENERS"] == (
            f"INTERNAL://{replica('kafka', i)}:9092,HOST://127.0.0.1:{9094 + i}"
        )
    assert container(kafka)["args"] == ["/etc/kafka/docker/run"]
    headless = objects(dev, "Service")["kafka"]["spec"]
    assert (headless["clusterIP"], headless["publishNotReadyAddresses"]) == ("None", True)


def test_replica_script_refuses_a_pod_it_has_no_identity_for(dev: Deployment) -> None:
    kafka = objects(dev, "StatefulSet")["kafka"]
    result = subprocess.run(
        [*container(kafka)["command"], "env"], env={"HOSTNAME": "kafka-3"}, capture_output=True, text=True, check=False
    )
    assert result.returncode == 64
    assert "kafka-3" in result.stderr


def test_clients_get_kafka_addresses_that_the_brokers_advertise(dev: Deployment) -> None:
    bootstrap = ",".join(f"{replica('kafka', i)}:9092" for i in range(3))
    every = workloads(dev)
    assert plain_env(every["producer"])["KAFKA_BOOTSTRAP_SERVERS"] == bootstrap
    assert plain_env(every["streaming-job"])["KAFKA_BOOTSTRAP_SERVERS"] == bootstrap
    assert plain_env(every["schema-registry"])["KARAPACE_BOOTSTRAP_URI"] == bootstrap
    assert plain_env(every["kafka-ui"])["KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS"] == bootstrap
    assert f"--bootstrap-server {bootstrap} " in container(every["kafka-topics"])["args"][0]
    assert dev.outputs["kafkaBootstrapServers"] == "127.0.0.1:9094,127.0.0.1:9095,127.0.0.1:9096"


def test_streaming_job_is_wired_to_every_store_by_dns_name(dev: Deployment) -> None:
    job = workloads(dev)["streaming-job"]
    env = plain_env(job)
    assert env["SPARK_MASTER_URL"] == f"spark://{replica('spark-master', 0)}:7077"
    assert env["SPARK_DRIVER_HOST"] == replica("streaming-job", 0)
    assert env["CASSANDRA_HOSTS"] == ",".join(replica("cassandra", i) for i in range(3))
    assert env["S3_ENDPOINT"] == f"http://object-store.{DOMAIN}:8333"
    assert env["HDFS_URL"] == f"hdfs://{replica('hdfs-namenode', 0)}:8020"
    assert env["CHECKPOINT_LOCATION"] == "s3a://streamstack/checkpoints/streaming-job"
    assert env["SINKS"] == "cassandra,s3,hdfs"
    assert secret_env(job) == {
        "CASSANDRA_PASSWORD": ("streaming-job-env", "CASSANDRA_PASSWORD"),
        "S3_SECRET_KEY": ("streaming-job-env", "S3_SECRET_KEY"),
    }


def test_spark_cassandra_and_hdfs_find_their_peers_by_pod_name(dev: Deployment) -> None:
    every = workloads(dev)
    master_url = f"spark://{replica('spark-master', 0)}:7077"
    assert container(every["spark-master"])["args"][:3] == [
        "org.apache.spark.deploy.master.Master",
        "--host",
        replica("spark-master", 0),
    ]
    assert container(every["spark-worker"])["args"][1] == master_url
    assert plain_env(every["cassandra"])["CASSANDRA_SEEDS"] == f"{replica('cassandra', 0)},{replica('cassandra', 1)}"
    assert every["cassandra"]["spec"]["podManagementPolicy"] == "OrderedReady"  # nodes join one at a time
    core_site = objects(dev, "ConfigMap")["hdfs-datanode-files"]["data"]["opt--hadoop--etc--hadoop--core-site.xml"]
    assert f"<value>hdfs://{replica('hdfs-namenode', 0)}:8020</value>" in core_site
    mounts = container(every["hdfs-datanode"])["volumeMounts"]
    assert {
        "name": "files",
        "mountPath": "/opt/hadoop/etc/hadoop/core-site.xml",
        "subPath": "opt--hadoop--etc--hadoop--core-site.xml",
        "readOnly": True,
    } in mounts


def test_airflow_connections_and_facts_name_kubernetes_services(dev: Deployment) -> None:
    scheduler = workloads(dev)["airflow-scheduler"]
    facts = json.loads(plain_env(scheduler)["AIRFLOW_VAR_STREAMSTACK_DEPLOYMENT"])
    assert facts["target"] == "kubernetes"
    assert facts["kubernetes_namespace"] == NS
    assert facts["spark_master_url"] == f"spark://{replica('spark-master', 0)}:7077"
    assert facts["producer_image"].startswith(f"{REGISTRY}/streamstack-producer@sha256:")
    launched = json.loads(facts["kubernetes_pod_labels"])
    for service in ("kafka", "schema-registry", "cassandra", "object-store", "spark-master", "hdfs-namenode"):
        assert admitted(dev, service, launched), service
    assert not admitted(dev, "kafka", {NAME: "producer"})  # a launched pod without the labels
    secrets = secret_env(scheduler)
    assert {
        "AIRFLOW_CONN_STREAMSTACK_KAFKA",
        "AIRFLOW_CONN_STREAMSTACK_CASSANDRA",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    } <= set(secrets)
    connection = declared(dev, "Secret", "airflow-scheduler-env")
    assert connection.is_secret("stringData.AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")
    sql = connection.inputs["stringData"]["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert sql.endswith(f"@postgres.{DOMAIN}:5432/airflow")
    cassandra = json.loads(connection.inputs["stringData"]["AIRFLOW_CONN_STREAMSTACK_CASSANDRA"])
    assert cassandra["host"] == ",".join(replica("cassandra", i) for i in range(3))


def test_images_are_pinned_upstream_or_pushed_and_referenced_by_digest(dev: Deployment) -> None:
    images = {name: container(o)["image"] for name, o in workloads(dev).items()}
    assert images["kafka"] == "apache/kafka:4.1.1"
    assert images["cassandra"] == "cassandra:4.1.11-bookworm"
    assert images["object-store"] == "chrislusf/seaweedfs:4.44"
    # Executors run the job's code, so the Spark daemons run the job's own image (the stack's one Spark).
    assert images["spark-worker"] == images["spark-master"] == images["streaming-job"]
    repositories = {"producer": "producer", "streaming-job": "streaming-job", "airflow-scheduler": "airflow"}
    for service, repository in repositories.items():
        assert images[service].startswith(f"{REGISTRY}/streamstack-{repository}@sha256:"), service
    pushed = {r.inputs["imageName"]: r.inputs.get("skipPush") for r in dev.of_type("docker:index/image:Image")}
    assert pushed == {
        f"{REGISTRY}/streamstack-producer:streamstack-dev": False,
        f"{REGISTRY}/streamstack-streaming-job:streamstack-dev": False,
        f"{REGISTRY}/streamstack-airflow:streamstack-dev": False,
    }


def test_every_credential_is_a_secret_reference_never_a_plain_value(dev: Deployment) -> None:
    for secret in (r for r in dev.resources if r.type == "kubernetes:core/v1:Secret"):
        assert secret.is_secret("stringData"), secret.name
    for name, workload in workloads(dev).items():
        for value in plain_env(workload).values():
            assert "generated-" not in value and SECRET_TEST_VALUE not in value, name
        for secret_name, key in secret_env(workload).values():
            assert key in objects(dev, "Secret")[secret_name]["stringData"]


def test_every_container_is_probed_bounded_and_unprivileged(dev: Deployment) -> None:
    for name, workload in workloads(dev).items():
        spec = container(workload)
        assert set(spec["resources"]) == {"requests", "limits"}, name
        assert set(spec["resources"]["limits"]) == {"cpu", "memory"}, name
        assert spec["resources"]["limits"]["memory"] == spec["resources"]["requests"]["memory"], name
        assert spec["securityContext"]["allowPrivilegeEscalation"] is False, name
        assert spec["securityContext"]["capabilities"]["drop"] == ["ALL"], name
        assert pod(workload)["spec"]["enableServiceLinks"] is False, name
        if workload["kind"] == "Job":
            assert not {"startupProbe", "readinessProbe", "livenessProbe"} & set(spec), name
        else:
            assert "readinessProbe" in spec, name
    kafka = container(objects(dev, "StatefulSet")["kafka"])
    assert kafka["resources"] == {
        "requests": {"cpu": "500m", "memory": "768Mi"},
        "limits": {"cpu": "1000m", "memory": "768Mi"},
    }
    assert kafka["livenessProbe"] == {"tcpSocket": {"port": 9092}, "periodSeconds": 15, "failureThreshold": 10}
    assert kafka["startupProbe"]["failureThreshold"] == 12  # 20 s start period at 15 s, then 10 retries
    kafka_pod = pod(objects(dev, "StatefulSet")["kafka"])["spec"]["securityContext"]
    assert (kafka_pod["runAsUser"], kafka_pod["runAsGroup"], kafka_pod["runAsNonRoot"]) == (1000, 1000, True)


HEARTBEAT = 'test -n "$(find /tmp/streamstack/healthy -mmin -2 2>/dev/null)"'
CHEAP_LIVENESS = {
    # A port that answers, where the thorough check is a JVM or Python CLI, or waits out safe mode.
    "kafka": {"tcpSocket": {"port": 9092}},
    "hdfs-namenode": {"tcpSocket": {"port": 8020}},
    "schema-registry": {"tcpSocket": {"port": 8081}},
    "spark-master": {"tcpSocket": {"port": 7077}},
    "spark-worker": {"tcpSocket": {"port": 8081}},
    "object-store": {"tcpSocket": {"port": 8333}},
    # A thorough check that is cheap already: a shell built-in, a small HTTP client, a file's age.
    "cassandra": {"exec": {"command": ["/bin/sh", "-c", "bash -c '</dev/tcp/127.0.0.1/9042'"]}},
    "hdfs-datanode": {"exec": {"command": ["/bin/sh", "-c", "bash -c '</dev/tcp/127.0.0.1/9866'"]}},
    "kafka-ui": {"exec": {"command": ["/bin/sh", "-c", "wget -q -O /dev/null http://localhost:8080/actuator/health"]}},
    "postgres": {"exec": {"command": ["/bin/sh", "-c", "pg_isready -h 127.0.0.1 -p 5432 -U airflow -d airflow"]}},
    "producer": {"exec": {"command": ["/bin/sh", "-c", HEARTBEAT]}},
    "streaming-job": {"exec": {"command": ["/bin/sh", "-c", HEARTBEAT]}},
    "airflow-api-server": {
        "exec": {"command": ["/bin/sh", "-c", "curl --fail --silent http://localhost:8080/api/v2/version"]}
    },
    "airflow-scheduler": {"exec": {"command": ["/bin/sh", "-c", "curl --fail --silent http://localhost:8974/health"]}},
}


def test_liveness_is_cheap_and_readiness_thorough(dev: Deployment) -> None:
    long_running = {name: container(w) for name, w in workloads(dev).items() if w["kind"] != "Job"}
    alive = {
        name: {key: value for key, value in spec["livenessProbe"].items() if key in ("tcpSocket", "exec")}
        for name, spec in long_running.items()
        if "livenessProbe" in spec
    }
    assert alive == CHEAP_LIVENESS
    for name, spec in long_running.items():
        startup = {key: value for key, value in spec.get("startupProbe", {}).items() if key in ("tcpSocket", "exec")}
        assert startup == alive.get(name, {}), name
    # The dag-processor has no port and only a heavy check: no liveness probe, readiness only.
    assert "livenessProbe" not in long_running["airflow-dag-processor"]
    readiness = {
        name: spec["readinessProbe"].get("exec", {}).get("command", [""])[-1] for name, spec in long_running.items()
    }
    assert readiness["kafka"].endswith("kafka-broker-api-versions.sh --bootstrap-server localhost:9092 > /dev/null")
    assert readiness["hdfs-namenode"] == "/opt/hadoop/bin/hdfs dfsadmin -safemode get | grep -q OFF"
    assert readiness["airflow-dag-processor"] == "airflow jobs check --job-type DagProcessorJob --local"
    assert "schema_registry_ready" in readiness["schema-registry"]


def test_stateful_services_claim_storage_of_the_configured_size(dev: Deployment) -> None:
    for name in ("kafka", "cassandra", "hdfs-namenode", "hdfs-datanode", "object-store", "postgres"):
        (claim,) = objects(dev, "StatefulSet")[name]["spec"]["volumeClaimTemplates"]
        assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi", name
        assert claim["spec"]["accessModes"] == ["ReadWriteOnce"], name


def test_disruption_budgets_guard_replicated_services_only(dev: Deployment, one_broker_minimal: Deployment) -> None:
    budgets = objects(dev, "PodDisruptionBudget")
    assert sorted(budgets) == ["cassandra", "hdfs-datanode", "kafka", "spark-worker"]
    assert budgets["kafka"]["spec"] == {"maxUnavailable": 1, "selector": {"matchLabels": {NAME: "kafka"}}}
    assert sorted(objects(one_broker_minimal, "PodDisruptionBudget")) == ["spark-worker"]  # 1 broker, 1 Cassandra node


def test_network_policies_admit_the_services_that_talk_and_no_others(dev: Deployment) -> None:
    (deny,) = [p for p in objects(dev, "NetworkPolicy").values() if p["spec"]["podSelector"] == {}]
    assert deny["spec"]["policyTypes"] == ["Ingress"] and "ingress" not in deny["spec"]
    talks = [
        ("kafka", "producer"),
        ("kafka", "streaming-job"),
        ("kafka", "kafka-topics"),
        ("kafka", "schema-registry"),
        ("kafka", "kafka"),
        ("schema-registry", "kafka-ui"),
        ("cassandra", "cassandra-init"),
        ("cassandra", "streaming-job"),
        ("hdfs-namenode", "hdfs-datanode"),
        ("hdfs-namenode", "hdfs-init"),
        ("spark-master", "spark-worker"),
        ("spark-worker", "spark-master"),
        ("streaming-job", "spark-worker"),  # executors call the driver back
        ("postgres", "airflow-scheduler"),
        ("airflow-api-server", "airflow-scheduler"),
        ("kafka", "airflow-scheduler"),
        # Executors run the streaming job's code on the workers: they read Kafka and write the sinks.
        ("kafka", "spark-worker"),
        ("cassandra", "spark-worker"),
        ("object-store", "spark-worker"),
        ("hdfs-namenode", "spark-worker"),
        ("hdfs-datanode", "spark-worker"),
    ]
    silent = [
        ("cassandra", "producer"),
        ("postgres", "producer"),
        ("postgres", "kafka-ui"),
        ("object-store", "kafka"),
        ("streaming-job", "producer"),
        ("airflow-api-server", "producer"),
        ("postgres", "spark-worker"),
    ]
    assert [pair for pair in talks if not admits(dev, *pair)] == []
    assert [pair for pair in silent if admits(dev, *pair)] == []


def ingress_rules(deployment: Deployment, service: str) -> list[dict]:
    return objects(deployment, "NetworkPolicy")[service]["spec"]["ingress"]


def test_published_ports_open_to_nobody_extra_through_port_forwards(dev: Deployment) -> None:
    """`kubectl port-forward` enters the pod itself: with ClusterIP Services no rule opens a port to all."""
    assert all("from" in rule for rule in ingress_rules(dev, "kafka-ui"))
    assert all(s["spec"].get("type", "ClusterIP") == "ClusterIP" for s in objects(dev, "Service").values())
    assert dev.outputs["kafkaUiUrl"] == "http://127.0.0.1:8082"


def test_published_ports_open_to_anyone_with_node_ports_and_to_the_ingress_controller_with_an_ingress() -> None:
    node_ports = run_program("dev", {"kubernetes": {"uiServiceType": "NodePort"}})
    assert {"ports": [{"port": 8080, "protocol": "TCP"}]} in ingress_rules(node_ports, "kafka-ui")
    routed = run_program("dev", {"kubernetes": {"ingressHost": "streamstack.example", "ingressNamespace": "edge"}})
    assert {
        "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "edge"}}}],
        "ports": [{"port": 8080, "protocol": "TCP"}],
    } in ingress_rules(routed, "kafka-ui")
    assert all("from" in rule for rule in ingress_rules(routed, "kafka"))  # not HTTP: never routed


def test_clients_reach_the_client_ports_and_only_replicas_the_quorum_and_gossip_ports(dev: Deployment) -> None:
    kafka = ingress_rules(dev, "kafka")
    own_replicas = {"key": "app.kubernetes.io/name", "operator": "In", "values": ["kafka"]}
    assert kafka[0] == {"from": [{"podSelector": {"matchExpressions": [own_replicas]}}]}
    assert [rule["ports"] for rule in kafka[1:]] == [
        [{"port": 9092, "protocol": "TCP"}, {"port": 19092, "protocol": "TCP"}]  # not the controller's 9093
    ]
    assert [rule["ports"] for rule in ingress_rules(dev, "cassandra")[1:]] == [[{"port": 9042, "protocol": "TCP"}]]
    # The workers' executors listen on ports picked at start: their clients (the driver) reach any port.
    assert [rule.get("ports") for rule in ingress_rules(dev, "spark-worker")] == [None, None]


def egress_to(deployment: Deployment, service: str) -> dict:
    rules = objects(deployment, "NetworkPolicy")[f"{service}-egress"]["spec"]["egress"]
    (services,) = [rule for rule in rules if "ports" not in rule]
    outside = [rule["ports"] for rule in rules if rule["to"][0].get("ipBlock")]
    return {
        "services": set(services["to"][0]["podSelector"]["matchExpressions"][0]["values"]),
        "dns": any(rule["to"][0].get("namespaceSelector") for rule in rules),
        "outside": [port["port"] for ports in outside for port in ports],
    }


def test_egress_reaches_the_conversation_partners_dns_and_the_named_outside_ports_only(dev: Deployment) -> None:
    producer = egress_to(dev, "producer")
    assert producer["services"] >= {"producer", "kafka"} and "cassandra" not in producer["services"]
    assert (producer["dns"], producer["outside"]) == (True, [443])
    cassandra = egress_to(dev, "cassandra")
    assert cassandra["outside"] == [] and "kafka" not in cassandra["services"]
    worker = egress_to(dev, "spark-worker")
    assert {"spark-master", "streaming-job", "kafka", "cassandra", "object-store", "hdfs-datanode"} <= worker[
        "services"
    ]
    assert egress_to(dev, "airflow-scheduler")["outside"] == [443, 6443]
    synthetic = run_program("dev", {"producer": {"source": "synthetic"}})
    assert egress_to(synthetic, "producer")["outside"] == []


def test_node_port_services_publish_the_ui_ports_when_asked() -> None:
    deployment = run_program("dev", {"kubernetes": {"uiServiceType": "NodePort"}})
    published = {n: o["spec"] for n, o in objects(deployment, "Service").items() if n.endswith("-published")}
    assert published["kafka-ui-published"]["type"] == "NodePort"
    assert published["kafka-ui-published"]["ports"] == [{"name": "http", "port": 8080, "targetPort": 8080}]
    assert [p["port"] for p in published["object-store-published"]["ports"]] == [8333, 23646]
    assert "producer-published" not in published and "postgres-published" not in published


def test_only_the_scheduler_may_start_pods_and_only_in_its_namespace(dev: Deployment) -> None:
    (role,) = objects(dev, "Role").values()
    assert role["metadata"]["name"] == "airflow-scheduler"
    assert {
        "apiGroups": [""],
        "resources": ["pods"],
        "verbs": ["create", "delete", "get", "list", "patch", "watch"],
    } in role["rules"]
    (binding,) = objects(dev, "RoleBinding").values()
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "airflow-scheduler", "namespace": NS}]
    accounts = {n: pod(o)["spec"].get("serviceAccountName") for n, o in workloads(dev).items()}
    assert {n for n, account in accounts.items() if account} == {"airflow-scheduler"}
    tokens = {n for n, o in workloads(dev).items() if pod(o)["spec"]["automountServiceAccountToken"]}
    assert tokens == {"airflow-scheduler"}


def test_dags_reach_airflow_as_one_config_map_with_the_directory_layout(dev: Deployment) -> None:
    dags = objects(dev, "ConfigMap")["directory-dags"]["data"]
    volumes = pod(workloads(dev)["airflow-scheduler"])["spec"]["volumes"]
    (mounted,) = [v for v in volumes if v["configMap"]["name"] == "directory-dags"]
    paths = {item["path"]: item["key"] for item in mounted["configMap"]["items"]}
    assert paths["streamstack_ingestion.py"] == "streamstack_ingestion.py"
    assert set(paths.values()) == set(dags)
    nested = [path for path in paths if "/" in path]
    assert all(paths[path] == path.replace("/", "--") for path in nested)


def test_one_broker_and_components_off(one_broker_minimal: Deployment) -> None:
    every = workloads(one_broker_minimal)
    assert sorted(every) == [
        "cassandra",
        "cassandra-init",
        "kafka",
        "kafka-topics",
        "producer",
        "spark-master",
        "spark-worker",
        "streaming-job",
    ]
    kafka = every["kafka"]
    assert kafka["spec"]["replicas"] == 1
    assert plain_env(kafka)["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"0@{replica('kafka', 0)}:9093"
    assert replica_env(kafka, 0)["KAFKA_ADVERTISED_LISTENERS"].startswith(f"INTERNAL://{replica('kafka', 0)}:9092,")
    assert "--replication-factor 1 --config min.insync.replicas=1" in container(every["kafka-topics"])["args"][0]
    job_env = plain_env(every["streaming-job"])
    assert job_env["SINKS"] == "cassandra"
    assert not {"S3_ENDPOINT", "HDFS_URL"} & set(job_env)
    assert "SCHEMA_REGISTRY_URL" not in plain_env(every["producer"])
    assert plain_env(every["cassandra"])["CASSANDRA_SEEDS"] == replica("cassandra", 0)
    assert objects(one_broker_minimal, "Role") == {}  # nothing launches pods without Airflow


def test_a_checkpoint_volume_is_one_shared_claim_of_the_shared_storage_class() -> None:
    deployment = run_program(
        "dev", {"streamingJob": {"checkpoint": "volume"}, "kubernetes": {"sharedStorageClass": "nfs-client"}}
    )
    claims = objects(deployment, "PersistentVolumeClaim")
    assert list(claims) == ["checkpoints"]
    assert claims["checkpoints"]["spec"]["accessModes"] == ["ReadWriteMany"]
    assert claims["checkpoints"]["spec"]["storageClassName"] == "nfs-client"
    for name in ("streaming-job", "spark-worker"):
        volumes = pod(workloads(deployment)[name])["spec"]["volumes"]
        assert {"name": "checkpoints", "persistentVolumeClaim": {"claimName": "checkpoints"}} in volumes, name


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"kubernetes": {"imageRegistry": None}}, "kubernetes.imageRegistry"),
        ({"kubernetes": {"ingressHost": "not a host"}}, "kubernetes.ingressHost"),
    ],
)
def test_settings_the_target_cannot_honour_fail_before_any_object(overrides: dict[str, Any], key: str) -> None:
    with pytest.raises(ProgramFailedError) as failure:
        run_program("dev", overrides)
    assert isinstance(failure.value.error, ConfigError)
    assert failure.value.error.key == key
    assert failure.value.declared == []


def test_an_ingress_host_routes_every_ui_by_its_own_name() -> None:
    deployment = run_program("dev", {"kubernetes": {"ingressHost": "streamstack.example.com", "ingressClass": "nginx"}})
    ingresses = objects(deployment, "Ingress")
    assert sorted(ingresses) == [
        "airflow-api-server",
        "hdfs-namenode",
        "kafka-ui",
        "object-store",
        "schema-registry",
        "spark-master",
        "streaming-job",
    ]
    kafka_ui = ingresses["kafka-ui"]["spec"]
    assert kafka_ui["ingressClassName"] == "nginx"
    assert kafka_ui["rules"] == [
        {
            "host": "kafka-ui-http.streamstack.example.com",
            "http": {
                "paths": [
                    {
                        "path": "/",
                        "pathType": "Prefix",
                        "backend": {"service": {"name": "kafka-ui-published", "port": {"number": 8080}}},
                    }
                ]
            },
        }
    ]
    assert [rule["host"] for rule in ingresses["object-store"]["spec"]["rules"]] == [
        "object-store-api.streamstack.example.com",
        "object-store-console.streamstack.example.com",
    ]
    published = objects(deployment, "Service")["kafka-ui-published"]["spec"]
    assert (published["type"], published["ports"]) == (
        "ClusterIP",
        [{"name": "http", "port": 8080, "targetPort": 8080}],
    )
    assert deployment.outputs["kafkaUiUrl"] == "http://kafka-ui-http.streamstack.example.com:80"
    assert deployment.outputs["airflowUrl"] == "http://airflow-api-server-http.streamstack.example.com:80"
    assert "cassandra" not in ingresses and "kafka" not in ingresses


def test_no_component_knows_which_target_it_runs_on() -> None:
    modules = [m for m in sorted(COMPONENTS_DIR.glob("*.py")) if m.name != "settings.py"]
    assert {"kafka.py", "pipeline.py", "workloads.py"} <= {m.name for m in modules}
    for module in modules:
        source = module.read_text()
        for marker in ("pulumi_docker", "pulumi_kubernetes", "settings.target", '"kubernetes"', '"docker"'):
            assert marker not in source, f"{module.name} mentions {marker}"


def test_a_cold_deploy_waits_for_each_workload_as_long_as_its_pods_start(dev: Deployment) -> None:
    # 3 Cassandra nodes join one at a time, each given its start period and 30 retries of 10 s, after
    # an image pull: far beyond pulumi-kubernetes' default 10 minutes.
    timeouts = {
        (r.inputs["kind"], r.inputs["metadata"]["name"]): r.timeouts
        for r in dev.resources
        if r.type.startswith("kubernetes:") and r.inputs["kind"] in ("StatefulSet", "Deployment", "Job", "Service")
    }
    assert timeouts[("StatefulSet", "cassandra")] == {"create": "1380s", "update": "1380s"}
    assert timeouts[("StatefulSet", "kafka")] == {"create": "470s", "update": "470s"}
    assert timeouts[("Job", "cassandra-init")] == {"create": "1200s", "update": "1200s"}
    for (kind, name), timeout in timeouts.items():
        if kind == "Service":
            workload = next(t for (k, n), t in timeouts.items() if n == name and k != "Service")
            assert timeout == workload, name


def test_services_are_created_with_their_workload_once_its_dependencies_are_ready(dev: Deployment) -> None:
    """pulumi-kubernetes awaits a Service's endpoints: declared early, it would wait on pods that are
    deliberately started after Kafka, Cassandra, HDFS, the object store and airflow-init."""
    kinds = ("StatefulSet", "Deployment")
    resources = {
        (r.inputs["kind"], r.inputs["metadata"]["name"]): r for r in dev.resources if r.type.startswith("kubernetes:")
    }
    checked = []
    for (kind, name), service in resources.items():
        if kind != "Service" or name.endswith("-published"):
            continue
        workload = next(resources[(k, name)] for k in kinds if (k, name) in resources)
        waits_for = {urn for urn in workload.dependencies if ":apps/v1:" in urn or ":batch/v1:Job" in urn}
        assert waits_for <= set(service.dependencies), name
        if waits_for:
            checked.append(name)
    by_name = {
        (r.inputs["kind"], r.inputs["metadata"]["name"]): r for r in dev.resources if r.type.startswith("kubernetes:")
    }
    api_server = short(by_name[("Service", "airflow-api-server")].dependencies)
    assert {"airflow-init", "kafka", "cassandra", "hdfs-datanode", "object-store"} <= api_server
    assert {"schema-registry", "streaming-job", "spark-worker", "hdfs-datanode", "airflow-api-server"} <= set(checked)


def short(urns: list[str]) -> set[str]:
    return {urn.split("::")[-1] for urn in urns}


def test_external_clients_reach_every_broker_through_the_port_forwards_listed(dev: Deployment) -> None:
    forwards = dev.outputs["portForwardCommands"].splitlines()
    kafka = objects(dev, "StatefulSet")["kafka"]
    for i in range(3):
        advertised = replica_env(kafka, i)["KAFKA_ADVERTISED_LISTENERS"].split(",")[1]
        host_port = int(advertised.rsplit(":", 1)[1])
        assert f"kubectl -n {NS} port-forward pod/kafka-{i} {host_port}:19092" in forwards
    assert f"kubectl -n {NS} port-forward svc/kafka-ui 8082:8080" in forwards
    assert len(forwards) == len(set(forwards)) == 12


def test_a_checkpoint_volume_without_a_shared_storage_class_is_refused() -> None:
    with pytest.raises(ProgramFailedError) as failure:
        run_program("dev", {"streamingJob": {"checkpoint": "volume"}})
    assert isinstance(failure.value.error, ConfigError)
    assert failure.value.error.key == "streamingJob.checkpoint"
    assert "kubernetes.sharedStorageClass" in str(failure.value.error)
    assert failure.value.declared == []


def test_init_jobs_fail_the_deployment_as_the_provider_awaits_them(dev: Deployment) -> None:
    """pulumi-kubernetes fails a Job on BackoffLimitExceeded (docs/image-facts.md): every Job has a
    backoff limit, none skips the await, and what needs a Job's work depends on the Job itself."""
    jobs = {r.inputs["metadata"]["name"]: r for r in dev.resources if r.type == "kubernetes:batch/v1:Job"}
    assert sorted(jobs) == ["airflow-init", "cassandra-init", "hdfs-init", "kafka-topics"]
    for name, job in jobs.items():
        assert job.inputs["spec"]["backoffLimit"] == 4, name
        assert "pulumi.com/skipAwait" not in job.inputs["metadata"].get("annotations", {}), name
    needs = {"producer": "kafka-topics", "streaming-job": "cassandra-init", "airflow-scheduler": "airflow-init"}
    for workload, job in needs.items():
        deployed = next(
            r
            for r in dev.resources
            if r.type.startswith("kubernetes:apps") and r.inputs["metadata"]["name"] == workload
        )
        assert jobs[job].urn in deployed.dependencies, workload


def kind_and_name(urn: str) -> str:
    """`StatefulSet/kafka` from a resource URN."""
    kind = urn.split("::")[-2].rsplit("$", 1)[-1].rsplit(":", 1)[-1]
    return f"{kind}/{urn.rsplit('::', maxsplit=1)[-1]}"


WAITS_FOR = {
    "Job/kafka-topics": {"StatefulSet/kafka"},
    "Deployment/schema-registry": {"StatefulSet/kafka", "Job/kafka-topics"},
    "Deployment/kafka-ui": {"StatefulSet/kafka", "Deployment/schema-registry"},
    "Job/cassandra-init": {"StatefulSet/cassandra"},
    "StatefulSet/hdfs-datanode": {"StatefulSet/hdfs-namenode"},
    "Job/hdfs-init": {"StatefulSet/hdfs-datanode"},
    "Deployment/spark-worker": {"StatefulSet/spark-master"},
    "Deployment/producer": {"Job/kafka-topics", "Deployment/schema-registry"},
    "StatefulSet/streaming-job": {
        "Job/kafka-topics",
        "Job/cassandra-init",
        "StatefulSet/object-store",
        "Job/hdfs-init",
        "Deployment/spark-worker",
    },
    "Job/airflow-init": {"StatefulSet/postgres"},
    "Deployment/airflow-scheduler": {"Job/airflow-init", "Job/kafka-topics", "Job/cassandra-init", "Job/hdfs-init"},
    "Deployment/airflow-api-server": {"Job/airflow-init", "Job/kafka-topics", "Job/cassandra-init"},
    "Deployment/airflow-dag-processor": {"Job/airflow-init", "StatefulSet/object-store"},
}


@pytest.mark.parametrize(
    "overrides",
    [{}, {"kafka": {"brokers": 5, "replicationFactor": 3, "minInsyncReplicas": 2}, "hdfs": {"datanodes": 4}}],
    ids=["dev", "5 brokers, 4 datanodes"],
)
def test_every_workload_and_job_waits_for_what_it_uses(overrides: dict[str, Any]) -> None:
    deployment = run_program("dev", overrides)
    workloads_by_kind = {
        f"{r.inputs['kind']}/{r.inputs['metadata']['name']}": {kind_and_name(urn) for urn in r.dependencies}
        for r in deployment.resources
        if r.type.startswith("kubernetes:") and r.inputs["kind"] in ("StatefulSet", "Deployment", "Job")
    }
    missing = {name: needs - workloads_by_kind[name] for name, needs in WAITS_FOR.items()}
    assert {name: needs for name, needs in missing.items() if needs} == {}
    # and nothing waits for what uses it
    assert "Deployment/producer" not in workloads_by_kind["StatefulSet/kafka"]
    assert "StatefulSet/streaming-job" not in workloads_by_kind["Deployment/spark-worker"]


def test_destroy_removes_the_claims_unless_retain_data_keeps_them_and_their_namespace() -> None:
    def retention(overrides: dict) -> tuple[set[str], bool]:
        deployment = run_program("dev", overrides)
        policies = {
            r.inputs["spec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"]
            for r in deployment.resources
            if r.inputs.get("kind") == "StatefulSet"
        }
        (namespace,) = [r for r in deployment.resources if r.type == "kubernetes:core/v1:Namespace"]
        return policies, namespace.retain_on_delete

    assert retention({}) == ({"Delete"}, False)
    assert retention({"retainData": True}) == ({"Retain"}, True)


def test_replicas_prefer_different_nodes_and_stateful_services_stop_cleanly() -> None:
    deployment = run_program("dev", {"kubernetes": {"clusterDomain": "corp.internal"}})
    pods = {name: pod(workload)["spec"] for name, workload in workloads(deployment).items()}
    spread = pods["cassandra"]["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert spread == [
        {
            "weight": 100,
            "podAffinityTerm": {
                "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "cassandra"}},
                "topologyKey": "kubernetes.io/hostname",
            },
        }
    ]
    assert "affinity" not in pods["postgres"]  # one replica: nothing to spread
    assert "requiredDuringSchedulingIgnoredDuringExecution" not in pods["kafka"]["affinity"]["podAntiAffinity"]
    (cassandra,) = pods["cassandra"]["containers"]
    assert cassandra["lifecycle"] == {
        "preStop": {"exec": {"command": ["sh", "-c", "MAX_HEAP_SIZE=96m exec nodetool drain"]}}
    }
    assert (pods["cassandra"]["terminationGracePeriodSeconds"], pods["kafka"]["terminationGracePeriodSeconds"]) == (
        120,
        60,
    )
    env = {variable["name"]: variable.get("value") for variable in cassandra["env"]}
    assert env["CASSANDRA_SEEDS"].endswith(".cassandra.streamstack-dev.svc.corp.internal")


def test_pre_stop_commands_are_tools_of_their_images() -> None:
    stopping = [spec for spec in run_program("dev").specs if spec.pre_stop is not None]
    assert [spec.name for spec in stopping] == ["cassandra"]
    for spec in stopping:
        shell, flag, script = spec.pre_stop
        assert (shell, flag) == ("sh", "-c") and spec.image.facts.has_tool(shell)
        assert [word for word in command_words(script) if not spec.image.facts.has_tool(word)] == []
