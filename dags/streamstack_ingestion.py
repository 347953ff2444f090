"""Ingestion: check that the topic, table and bucket exist, then run one bounded producer batch.

With `ingestion: cdc` the batch goes to the pipeline database's users table, which Debezium streams to
the events topic; the password comes from a secret Variable (Docker) or the producer's Secret (Kubernetes).

The producer runs as a container on Docker deployments and as a pod on Kubernetes ones; which of
the two is decided from the deployment Variable when this file is parsed, so the same file serves
both targets.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.exceptions import AirflowFailException
from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.providers.apache.cassandra.hooks.cassandra import CassandraHook
from airflow.providers.apache.kafka.hooks.client import KafkaAdminClientHook
from airflow.sdk import DAG, Param, Variable, task
from streamstack_checks.deployment import (
    CASSANDRA_CONN_ID,
    KAFKA_CONN_ID,
    S3_CONN_ID,
    VARIABLE_KEY,
    parse_deployment,
)
from streamstack_checks.jobs import producer_arguments, producer_environment
from streamstack_tasks.dag_defaults import dag_arguments
from streamstack_tasks.launch import batch_job_operator

DEPLOYMENT = parse_deployment(Variable.get(VARIABLE_KEY))
PSEUDONYM_SECRET_VARIABLE = "streamstack_pseudonym_secret"  # "secret" in the name: Airflow masks it in logs and UI
PIPELINE_DB_SECRET_VARIABLE = "streamstack_pipeline_db_secret"  # the pipeline database's password (ingestion: cdc)
METADATA_TIMEOUT_S = 30


class MissingResourceError(AirflowFailException):
    """Something the pipeline writes to does not exist: a finding for the operator, so this run fails
    at once (the next scheduled run checks again); unreachable servers raise other errors and retry."""


with DAG(
    dag_id="streamstack_ingestion",
    description="Bounded producer batch into the events topic (or, with cdc, the pipeline database)",
    schedule="*/30 * * * *",
    params={
        "event_count": Param(3000, type="integer", minimum=1, description="events in one batch"),
        "events_per_second": Param(50, type="number", exclusiveMinimum=0, description="producer rate"),
    },
    tags=["streamstack", "ingestion"],
    doc_md=__doc__,
    **dag_arguments(retries=2, retry_delay=timedelta(minutes=2), execution_timeout=timedelta(minutes=30)),
) as dag:

    @task
    def check_topics() -> list[str]:
        """The events and dead-letter topics must exist: the producer must not auto-create them."""
        wanted = [DEPLOYMENT.events_topic, DEPLOYMENT.dead_letter_topic]
        admin = KafkaAdminClientHook(kafka_config_id=KAFKA_CONN_ID).get_conn
        existing = admin.list_topics(timeout=METADATA_TIMEOUT_S).topics
        missing = [topic for topic in wanted if topic not in existing]
        if missing:
            raise MissingResourceError(f"Kafka topic(s) missing: {', '.join(missing)}")
        return wanted

    @task
    def check_cassandra_table() -> str:
        table = DEPLOYMENT.cassandra_qualified_table
        hook = CassandraHook(cassandra_conn_id=CASSANDRA_CONN_ID)
        try:
            if not hook.table_exists(table):
                raise MissingResourceError(f"Cassandra table {table} missing")
        finally:
            hook.shutdown_cluster()
        return table

    @task
    def check_bucket() -> str:
        if not S3Hook(aws_conn_id=S3_CONN_ID).check_for_bucket(DEPLOYMENT.bucket):
            raise MissingResourceError(f"S3 bucket {DEPLOYMENT.bucket} missing")
        return DEPLOYMENT.bucket

    checks = [check_topics()]
    if "cassandra" in DEPLOYMENT.sinks:
        checks.append(check_cassandra_table())
    if "s3" in DEPLOYMENT.sinks:
        checks.append(check_bucket())

    produce_events = batch_job_operator(
        task_id="produce_events",
        deployment=DEPLOYMENT,
        image=DEPLOYMENT.producer_image,
        arguments=producer_arguments("{{ params.event_count }}"),
        environment={
            **producer_environment(DEPLOYMENT, f"{{{{ conn.{KAFKA_CONN_ID}.extra_dejson['bootstrap.servers'] }}}}"),
            "EVENTS_PER_SECOND": "{{ params.events_per_second }}",
        },
        secret_environment={
            "PSEUDONYM_KEY": f"{{{{ var.value.{PSEUDONYM_SECRET_VARIABLE} }}}}",
            **(
                {"PIPELINE_DB_PASSWORD": f"{{{{ var.value.{PIPELINE_DB_SECRET_VARIABLE} }}}}"}
                if DEPLOYMENT.ingestion == "cdc"
                else {}
            ),
        },
    )
    checks >> produce_events
