"""The producer's command line, and how to find the streaming job the deployment runs.

The streaming job is a long-running service of the deployment (its settings, driver address and
checkpoint belong to the Pulumi program). The supervisor therefore never starts a second copy: it
restarts that service, whose driver then submits the query to the Spark master again and resumes
from the same checkpoint.
"""

from __future__ import annotations

from .deployment import Deployment

PRODUCER_MODULE = "workloads.producer"
STREAMING_JOB_SERVICE = "streaming-job"  # the service name components/workloads.py gives the job
DOCKER_STACK_LABEL = "streamstack.stack"  # on Docker its value is the stack's network name
DOCKER_SERVICE_LABEL = "streamstack.service"
KUBERNETES_NAME_LABEL = "app.kubernetes.io/name"


def producer_arguments(event_count: int | str) -> list[str]:
    """A bounded producer run: send `event_count` events, then exit (count may be a template)."""
    return ["python", "-m", PRODUCER_MODULE, "--count", str(event_count)]


def producer_environment(deployment: Deployment, bootstrap_servers: str) -> dict[str, str]:
    """Where a batch goes: the events topic, or with cdc ingestion the pipeline database's table (the
    password is a secret, passed apart)."""
    if deployment.ingestion == "cdc":
        database = deployment.pipeline_database
        return {
            "PRODUCER_SINK": "postgres",
            "EVENTS_TOPIC": deployment.events_topic,
            "PIPELINE_DB_HOST": str(database["host"]),
            "PIPELINE_DB_PORT": str(database["port"]),
            "PIPELINE_DB_NAME": str(database["database"]),
            "PIPELINE_DB_USER": str(database["user"]),
            "PIPELINE_DB_TABLE": str(database["table"]),
        }
    return {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
        "EVENTS_TOPIC": deployment.events_topic,
    }


def streaming_job_container_labels(deployment: Deployment) -> list[str]:
    """Docker label filters matching the job's container of this stack only."""
    return [f"{DOCKER_STACK_LABEL}={deployment.docker_network}", f"{DOCKER_SERVICE_LABEL}={STREAMING_JOB_SERVICE}"]


def streaming_job_pod_selector() -> str:
    """Label selector of the job's pods within the deployment's namespace."""
    return f"{KUBERNETES_NAME_LABEL}={STREAMING_JOB_SERVICE}"
