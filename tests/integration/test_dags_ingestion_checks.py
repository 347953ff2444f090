"""`airflow dags test` runs the ingestion DAG's existence checks against real Kafka, Cassandra, S3.

The producer batch needs a container engine or a cluster, neither available to the tests, so it
is marked successful instead of run (`--mark-success-pattern`); everything before it runs for real.
"""

from __future__ import annotations

import pytest

from tests.fixtures.airflow import AirflowInstallation, deployment_facts, streamstack_env
from workloads.contract.events import cassandra_table_ddl

pytestmark = pytest.mark.integration


@pytest.fixture
def stores(kafka_broker, cassandra_server, cassandra_keyspace, s3_server, s3_bucket):
    """Topics, table and bucket as the deployment creates them; returns (facts, servers)."""
    facts = deployment_facts(kafka_broker.create_topic(), kafka_broker.create_topic(), cassandra_keyspace, s3_bucket)
    cluster, session = cassandra_server.connect()
    try:
        session.execute(cassandra_table_ddl(cassandra_keyspace, facts["cassandra_table"]))
    finally:
        cluster.shutdown()
    return facts, (kafka_broker.bootstrap, cassandra_server, cassandra_keyspace, s3_server)


def run_ingestion_checks(airflow: AirflowInstallation, facts, servers) -> tuple[int, str]:
    done = airflow.run(
        "dags", "test", "streamstack_ingestion", "--mark-success-pattern", "^produce_events$",
        env=streamstack_env(facts, *servers),
    )  # fmt: skip
    return done.returncode, done.stdout + done.stderr


def test_ingestion_checks_pass_when_topics_table_and_bucket_exist(airflow, stores):
    returncode, output = run_ingestion_checks(airflow, *stores)

    assert returncode == 0, output
    assert "MissingResourceError" not in output


def test_ingestion_fails_naming_every_missing_store(airflow, stores):
    facts, servers = stores
    missing = {"dead_letter_topic": "no-such-topic", "cassandra_table": "no_such_table", "bucket": "no-such-bucket"}

    returncode, output = run_ingestion_checks(airflow, {**facts, **missing}, servers)

    assert returncode != 0
    assert "Kafka topic(s) missing: no-such-topic" in output
    assert f"Cassandra table {facts['cassandra_keyspace']}.no_such_table missing" in output
    assert "S3 bucket no-such-bucket missing" in output
