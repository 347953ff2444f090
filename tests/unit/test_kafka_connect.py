"""Kafka Connect and change data capture under Pulumi mocks, on both targets: wiring asserted by value."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.kafka_connect import cdc_connector_config, internal_topics_command
from components.settings import ConfigError, parse_settings
from tests.fixtures.pulumi_program import Deployment, run_program
from tests.unit.test_docker_stack import containers, env_of, secret_env_names, short_names
from tests.unit.variations import CDC

# Values unlike every default and unlike each other: a wire crossed anywhere shows.
THREE_BROKERS = {"brokers": 3, "replicationFactor": 3, "minInsyncReplicas": 2, "partitions": 6, "topic": "signups"}
CDC_ON_THREE_BROKERS: dict[str, Any] = {**CDC, "kafka": THREE_BROKERS}
SECRET = "PIPELINE_DB_PASSWORD"


@pytest.fixture(scope="module")
def local_cdc() -> Deployment:
    return run_program("local", CDC_ON_THREE_BROKERS)


@pytest.fixture(scope="module")
def dev_cdc() -> Deployment:
    return run_program("dev", CDC_ON_THREE_BROKERS)


def connectors_of(deployment: Deployment) -> dict[str, dict[str, str]]:
    return json.loads(env_of(containers(deployment)["kafka-connect-connectors-0"])["CONNECTORS"])


def test_the_cdc_stack_adds_connect_workers_the_pipeline_database_and_their_tasks(local_cdc: Deployment) -> None:
    added = set(containers(local_cdc)) - set(containers(run_program("local", {"kafka": THREE_BROKERS})))
    assert added == {
        "kafka-connect-0",
        "kafka-connect-1",
        "kafka-connect-topics-0",
        "kafka-connect-connectors-0",
        "pipeline-db-0",
        "pipeline-db-init-0",
    }


def test_workers_share_one_group_on_kafka_internal_listeners_each_advertising_itself(local_cdc: Deployment) -> None:
    by_name = containers(local_cdc)
    bootstrap = ",".join(f"kafka-{i}:9092" for i in range(3))
    advertised = []
    for ordinal in range(2):
        worker = by_name[f"kafka-connect-{ordinal}"]
        env = env_of(worker)
        assert env["BOOTSTRAP_SERVERS"] == bootstrap
        assert env["GROUP_ID"] == "streamstack-connect"
        assert (env["CONFIG_STORAGE_TOPIC"], env["OFFSET_STORAGE_TOPIC"], env["STATUS_STORAGE_TOPIC"]) == (
            "streamstack-connect-configs",
            "streamstack-connect-offsets",
            "streamstack-connect-status",
        )
        for store in ("CONFIG", "OFFSET", "STATUS"):
            assert env[f"CONNECT_{store}_STORAGE_REPLICATION_FACTOR"] == "3"
        assert env["CONNECT_CONFIG_PROVIDERS_ENV_CLASS"].endswith("EnvVarConfigProvider")
        assert secret_env_names(worker) == {SECRET}
        assert worker.inputs["entrypoints"] == ["/docker-entrypoint.sh"]
        assert worker.inputs["command"] == ["start"]
        assert worker.inputs["user"] == "1001:1001"
        (port,) = worker.inputs["ports"]
        assert port == {"internal": 8083, "external": 18383 + ordinal, "ip": "127.0.0.1"}
        advertised.append(env["ADVERTISED_HOST_NAME"])
        assert {"kafka-connect-topics-0", "kafka-topics-0"} <= short_names(worker.dependencies)
    assert advertised == ["kafka-connect-0", "kafka-connect-1"]


def test_internal_topics_are_compacted_with_the_clusters_internal_replication(local_cdc: Deployment) -> None:
    task = containers(local_cdc)["kafka-connect-topics-0"]
    script = task.inputs["command"][0]
    for topic, partitions in (("configs", 1), ("offsets", 5), ("status", 3)):
        assert (
            f"--topic streamstack-connect-{topic} --partitions {partitions} --replication-factor 3"
            " --config min.insync.replicas=2 --config cleanup.policy=compact"
        ) in script
    assert script.startswith("set -euo pipefail; ")
    assert env_of(task)["BOOTSTRAP_SERVERS"] == ",".join(f"kafka-{i}:9092" for i in range(3))
    assert {"kafka-0", "kafka-1", "kafka-2", "kafka-topics-0"} <= short_names(task.dependencies)


def test_connectors_are_applied_after_the_workers_and_the_table_with_no_plaintext_secret(local_cdc: Deployment) -> None:
    by_name = containers(local_cdc)
    task = by_name["kafka-connect-connectors-0"]
    assert task.inputs["entrypoints"] == ["python", "-m", "workloads.connect"]
    assert env_of(task)["CONNECT_URL"] == "http://kafka-connect:8083"
    assert {"kafka-connect-0", "kafka-connect-1", "pipeline-db-init-0"} <= short_names(task.dependencies)
    connectors = connectors_of(local_cdc)
    assert sorted(connectors) == ["heartbeat-mirror", "streamstack-users-cdc"]
    assert connectors["heartbeat-mirror"] == CDC["kafkaConnect"]["connectors"]["heartbeat-mirror"] | {"tasks.max": "1"}
    cdc = connectors["streamstack-users-cdc"]
    assert cdc["database.password"] == "${env:PIPELINE_DB_PASSWORD}"
    assert cdc["database.hostname"] == "pipeline-db"
    assert cdc["transforms.route.replacement"] == "signups"
    assert (cdc["publication.name"], cdc["table.include.list"]) == ("streamstack_users", "public.users")
    # The generated password is nowhere in the task's inputs; the workers hold it, marked secret.
    password = env_of(by_name["pipeline-db-0"])["POSTGRES_PASSWORD"]
    assert password == "generated-pipeline-db-password"
    assert password not in json.dumps(task.inputs)
    assert env_of(by_name["kafka-connect-0"])[SECRET] == password
    assert secret_env_names(task) == set()


def test_in_cdc_mode_the_producer_writes_the_pipeline_database(local_cdc: Deployment) -> None:
    by_name = containers(local_cdc)
    producer = by_name["producer-0"]
    env = env_of(producer)
    assert env["PRODUCER_SINK"] == "postgres"
    assert (env["PIPELINE_DB_HOST"], env["PIPELINE_DB_PORT"], env["PIPELINE_DB_NAME"]) == (
        "pipeline-db",
        "5432",
        "pipeline",
    )
    assert (env["PIPELINE_DB_USER"], env["PIPELINE_DB_TABLE"], env["EVENTS_TOPIC"]) == ("pipeline", "users", "signups")
    assert "KAFKA_BOOTSTRAP_SERVERS" not in env
    assert secret_env_names(producer) == {"PSEUDONYM_KEY", SECRET}
    assert "pipeline-db-init-0" in short_names(producer.dependencies)


def test_the_pipeline_database_replicates_logically_and_its_init_makes_the_table_and_publication(
    local_cdc: Deployment,
) -> None:
    by_name = containers(local_cdc)
    server = by_name["pipeline-db-0"]
    assert server.inputs["command"] == [
        "postgres",
        *("-c", "wal_level=logical", "-c", "max_replication_slots=4", "-c", "max_wal_senders=4"),
    ]
    assert secret_env_names(server) == {"POSTGRES_PASSWORD"}
    init = by_name["pipeline-db-init-0"]
    assert init.inputs["entrypoints"] == ["psql"]
    assert init.inputs["command"][:8] == [
        *("--host", "pipeline-db", "--port", "5432"),
        *("--username", "pipeline", "--dbname", "pipeline"),
    ]
    (upload,) = init.inputs["uploads"]
    assert "CREATE TABLE IF NOT EXISTS users (" in upload["content"]
    assert "CREATE PUBLICATION streamstack_users FOR TABLE users WITH (publish = 'insert');" in upload["content"]
    assert "pipeline-db-0" in short_names(init.dependencies)


def test_kafka_ui_shows_the_connect_cluster(local_cdc: Deployment) -> None:
    ui = containers(local_cdc)["kafka-ui-0"]
    env = env_of(ui)
    assert env["KAFKA_CLUSTERS_0_KAFKACONNECT_0_ADDRESS"] == "http://kafka-connect:8083"
    assert env["KAFKA_CLUSTERS_0_KAFKACONNECT_0_NAME"] == "streamstack-connect"
    assert {"kafka-connect-0", "kafka-connect-1"} <= short_names(ui.dependencies)
    assert local_cdc.outputs["kafkaConnectUrl"] == "http://127.0.0.1:18383"


def test_the_dags_learn_the_ingestion_mode_and_where_the_database_is(local_cdc: Deployment) -> None:
    from dags.streamstack_checks.deployment import parse_deployment
    from dags.streamstack_checks.jobs import producer_environment

    scheduler = env_of(containers(local_cdc)["airflow-scheduler-0"])
    deployment = parse_deployment(scheduler["AIRFLOW_VAR_STREAMSTACK_DEPLOYMENT"])
    assert deployment.ingestion == "cdc"
    producer = env_of(containers(local_cdc)["producer-0"])
    launched = producer_environment(deployment, "ignored:9092")
    assert launched == {name: producer[name] for name in launched}
    assert "AIRFLOW_VAR_STREAMSTACK_PIPELINE_DB_SECRET" in secret_env_names(
        containers(local_cdc)["airflow-scheduler-0"]
    )


def test_on_kubernetes_workers_are_a_statefulset_and_the_tasks_jobs_that_wait(dev_cdc: Deployment) -> None:
    stateful = {r.name: r for r in dev_cdc.of_type("kubernetes:apps/v1:StatefulSet")}
    jobs = {r.name: r for r in dev_cdc.of_type("kubernetes:batch/v1:Job")}
    workers = stateful["kafka-connect"]
    assert workers.inputs["spec"]["replicas"] == 2
    (container,) = workers.inputs["spec"]["template"]["spec"]["containers"]
    env = {entry["name"]: entry for entry in container["env"]}
    assert env["BOOTSTRAP_SERVERS"]["value"] == ",".join(
        f"kafka-{i}.kafka.streamstack-dev.svc.cluster.local:9092" for i in range(3)
    )
    assert env[SECRET]["valueFrom"]["secretKeyRef"]["key"] == SECRET
    assert workers.inputs["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == 1001
    assert {"kafka-connect-topics"} <= short_names(workers.dependencies)
    assert {"kafka-connect", "pipeline-db-init"} <= short_names(jobs["kafka-connect-connectors"].dependencies)
    deployments = {r.name: r for r in dev_cdc.of_type("kubernetes:apps/v1:Deployment")}
    assert "pipeline-db-init" in short_names(deployments["producer"].dependencies)


def test_on_kubernetes_network_policies_let_the_workers_reach_kafka_and_the_database(dev_cdc: Deployment) -> None:
    from tests.unit.test_kubernetes_stack import admits, egress_to

    talks = [
        ("kafka", "kafka-connect"),
        ("pipeline-db", "kafka-connect"),
        ("kafka-connect", "kafka-connect-connectors"),
        ("kafka-connect", "kafka-ui"),
        ("pipeline-db", "producer"),
        ("pipeline-db", "pipeline-db-init"),
    ]
    silent = [("cassandra", "kafka-connect"), ("pipeline-db", "kafka-ui"), ("kafka-connect", "producer")]
    assert [pair for pair in talks if not admits(dev_cdc, *pair)] == []
    assert [pair for pair in silent if admits(dev_cdc, *pair)] == []
    workers = egress_to(dev_cdc, "kafka-connect")
    assert {"kafka", "pipeline-db", "kafka-connect"} <= workers["services"] and "cassandra" not in workers["services"]
    assert workers["outside"] == []
    reaching_out = run_program("dev", {**CDC, "kafkaConnect": {**CDC["kafkaConnect"], "outsidePorts": [5433, 443]}})
    assert egress_to(reaching_out, "kafka-connect")["outside"] == [443, 5433]


def test_the_cdc_connector_turns_rows_into_contract_events_keyed_by_user() -> None:
    from components.pipeline_database import DatabaseAddress

    address = DatabaseAddress("db.internal", 6543, "crm", "reader", "people", "people_pub", "pw")
    config = cdc_connector_config(address, "t1")
    assert config["plugin.name"] == "pgoutput"
    assert (config["database.hostname"], config["database.port"], config["database.dbname"]) == (
        "db.internal",
        "6543",
        "crm",
    )
    assert (config["database.user"], config["table.include.list"]) == ("reader", "public.people")
    assert (config["publication.name"], config["slot.name"]) == ("people_pub", "people_pub")
    assert config["publication.autocreate.mode"] == "disabled"
    assert config["message.key.columns"] == "public.people:user_id"
    assert config["transforms.route.replacement"] == "t1"
    assert config["value.converter.schemas.enable"] == "false"
    assert "pw" not in config.values()


def test_internal_topic_min_isr_never_exceeds_their_replication() -> None:
    settings = parse_settings(
        {"streamstack:kafka": json.dumps({"brokers": 3, "replicationFactor": 3, "minInsyncReplicas": 3})}, [], "p", "s"
    )
    assert "--replication-factor 2 --config min.insync.replicas=2" in internal_topics_command(settings.kafka, 2)


def _parse(**raw: Any) -> Any:
    """Settings from `raw`; kafkaConnectSecrets, when given, set with --secret."""
    secret = ["streamstack:kafkaConnectSecrets"] if "kafkaConnectSecrets" in raw else []
    return parse_settings({f"streamstack:{key}": json.dumps(value) for key, value in raw.items()}, secret, "p", "s")


CRM = {"connector.class": "X", "db.password": "${env:CRM_PASSWORD}"}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"ingestion": "cdc"},
            "invalid stack config streamstack:ingestion = 'cdc': cdc streams the pipeline database through Kafka"
            " Connect: set kafkaConnect.enabled: true",
        ),
        ({"ingestion": "debezium"}, "streamstack:ingestion = 'debezium': must be one of producer, cdc"),
        (
            {"kafkaConnect": {"connectors": {"a": {"connector.class": "X"}}}},
            "streamstack:kafkaConnect.connectors = ['a']: need kafkaConnect.enabled: true",
        ),
        (
            {
                "kafkaConnect": {
                    "enabled": True,
                    "connectors": {"a": {"connector.class": "X", "db.password": "hunter2"}},
                }
            },
            "streamstack:kafkaConnect.connectors.a.db.password = '<hidden>': a credential in plaintext",
        ),
        (
            {"kafkaConnect": {"enabled": True, "connectors": {"a": {**CRM, "db.password": "${file:/s:pw}"}}}},
            "kafkaConnect.connectors.a.db.password = '<hidden>': a credential in plaintext",
        ),
        (
            {"kafkaConnect": {"enabled": True, "connectors": {"a": CRM}}},
            "kafkaConnect.connectors.a.db.password = '${env:CRM_PASSWORD}': names CRM_PASSWORD, which the workers",
        ),
        (
            {"kafkaConnect": {"enabled": True}, "kafkaConnectSecrets": {"CONNECT_SASL_PASSWORD": "x"}},
            "kafkaConnectSecrets.CONNECT_SASL_PASSWORD = '<hidden>': must be a variable name",
        ),
        (
            {"kafkaConnectSecrets": {"CRM_PASSWORD": "x"}},
            "kafkaConnectSecrets = '<hidden>': needs kafkaConnect.enabled: true",
        ),
        (
            {"kafkaConnect": {"enabled": True, "connectors": {"streamstack-users-cdc": {"connector.class": "X"}}}},
            "this name is the deployment's own CDC connector",
        ),
        (
            {"kafkaConnect": {"enabled": True, "connectors": {"a": {"tasks.max": 1}}}},
            "streamstack:kafkaConnect.connectors.a = {'tasks.max': 1}: must be a mapping of Connect config keys",
        ),
        ({"kafkaConnect": {"enabled": True, "workers": 10}}, "kafkaConnect.workers = 10: must be between 1 and 9"),
        (
            {"kafkaConnect": {"enabled": True, "outsidePorts": [443, 70000]}},
            "kafkaConnect.outsidePorts = [443, 70000]: must be a list of TCP ports (1-65535)",
        ),
        (
            {"kafkaConnect": {"enabled": True, "workers": 3, "hostPort": 65534}},
            "kafkaConnect.hostPort = 65534: 3 workers take host ports 65534-65536",
        ),
        (
            {"kafkaConnect": {"enabled": True, "hostPort": 8082}},
            "kafkaConnect.hostPort = 8082: host port 8082 is also kafkaUi.hostPort's default",
        ),
    ],
)
def test_connect_and_cdc_config_errors_name_the_key_the_value_and_what_is_allowed(raw: Any, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        _parse(**raw)
    assert message in str(raised.value)


def test_a_placeholder_credential_and_plain_values_are_kept_as_connect_strings() -> None:
    config = {**CRM, "tasks.max": 2, "flag": True}
    settings = _parse(
        kafkaConnect={"enabled": True, "connectors": {"crm": config}}, kafkaConnectSecrets={"CRM_PASSWORD": "crm-pw-7"}
    )
    assert settings.kafka_connect.connectors == {
        "crm": {"connector.class": "X", "db.password": "${env:CRM_PASSWORD}", "tasks.max": "2", "flag": "true"}
    }
    assert settings.ingestion == "producer"


def test_the_workers_hold_the_declared_connectors_secrets_marked_secret() -> None:
    """What a connector names as ${env:CRM_PASSWORD} reaches every worker's environment, as a secret."""
    from tests.unit.test_kubernetes_stack import container, secret_env

    overrides = {
        **CDC,
        "kafkaConnect": {**CDC["kafkaConnect"], "connectors": {"crm": CRM}},
        "kafkaConnectSecrets": {"CRM_PASSWORD": "crm-pw-7"},
    }
    local = run_program("local", overrides, secret_keys=["kafkaConnectSecrets"])
    for ordinal in range(2):
        worker = containers(local)[f"kafka-connect-{ordinal}"]
        assert secret_env_names(worker) == {"CRM_PASSWORD", "PIPELINE_DB_PASSWORD"}
        assert env_of(worker)["CRM_PASSWORD"] == "crm-pw-7"
    assert "crm-pw-7" not in json.dumps(containers(local)["kafka-connect-connectors-0"].inputs)
    dev = run_program("dev", overrides, secret_keys=["kafkaConnectSecrets"])
    (workers,) = [r for r in dev.of_type("kubernetes:apps/v1:StatefulSet") if r.name == "kafka-connect"]
    assert secret_env(workers.inputs)["CRM_PASSWORD"] == ("kafka-connect-env", "CRM_PASSWORD")
    assert "CRM_PASSWORD" not in {entry["name"] for entry in container(workers.inputs)["env"] if "value" in entry}


def test_connector_secrets_set_in_plaintext_are_refused() -> None:
    config = {
        "streamstack:kafkaConnect": json.dumps({"enabled": True}),
        "streamstack:kafkaConnectSecrets": json.dumps({"CRM_PASSWORD": "crm-pw-7"}),
    }
    with pytest.raises(ConfigError) as raised:
        parse_settings(config, [], "p", "s")
    assert str(raised.value) == (
        "invalid stack config streamstack:kafkaConnectSecrets = '<hidden>': is stored in plaintext; set each with"
        " `pulumi config set --secret --path 'kafkaConnectSecrets.NAME' <value>`"
    )
