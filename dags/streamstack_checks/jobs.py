"""Command lines and environments of the containers the DAGs start, per docs/interfaces.md."""

from __future__ import annotations

from dataclasses import dataclass

from .deployment import Deployment

PRODUCER_MODULE = "workloads.producer"
STREAMING_JOB_DRIVER_NAME = "streamstack-streaming-job-driver"
HDFS_RPC_PORT = 8020  # the NameNode's default RPC port; the webhdfs connection only names its HTTP port


def producer_arguments(event_count: int | str) -> list[str]:
    """A bounded producer run: send `event_count` events, then exit (count may be a template)."""
    return ["python", "-m", PRODUCER_MODULE, "--count", str(event_count)]


def producer_environment(deployment: Deployment, bootstrap_servers: str) -> dict[str, str]:
    return {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
        "EVENTS_TOPIC": deployment.events_topic,
    }


@dataclass(frozen=True)
class SinkEndpoints:
    """Addresses and credentials of the stores, as read from the Airflow connections."""

    kafka_bootstrap_servers: str
    cassandra_hosts: str
    cassandra_port: int
    cassandra_username: str
    cassandra_password: str
    s3_endpoint: str
    s3_access_key: str
    s3_secret_key: str
    hdfs_namenode_host: str


def checkpoint_location(deployment: Deployment, hdfs_url: str) -> str:
    """The durable checkpoint URL the interface prescribes: on S3 unless only HDFS is a file sink."""
    if "hdfs" in deployment.sinks and "s3" not in deployment.sinks:
        return f"{hdfs_url}/streamstack/checkpoints/streaming-job"
    return f"s3a://{deployment.bucket}/checkpoints/streaming-job"


def streaming_job_environment(deployment: Deployment, endpoints: SinkEndpoints) -> dict[str, str]:
    """Everything the streaming job reads from its environment, so a resubmitted driver resumes
    from the same checkpoint as the one the deployment started."""
    hdfs_url = f"hdfs://{endpoints.hdfs_namenode_host}:{HDFS_RPC_PORT}"
    return {
        "KAFKA_BOOTSTRAP_SERVERS": endpoints.kafka_bootstrap_servers,
        "EVENTS_TOPIC": deployment.events_topic,
        "DEAD_LETTER_TOPIC": deployment.dead_letter_topic,
        "SPARK_MASTER_URL": deployment.spark_master_url,
        "SINKS": ",".join(deployment.sinks),
        "CASSANDRA_HOSTS": endpoints.cassandra_hosts,
        "CASSANDRA_PORT": str(endpoints.cassandra_port),
        "CASSANDRA_KEYSPACE": deployment.cassandra_keyspace,
        "CASSANDRA_TABLE": deployment.cassandra_table,
        "CASSANDRA_USERNAME": endpoints.cassandra_username,
        "CASSANDRA_PASSWORD": endpoints.cassandra_password,
        "S3_ENDPOINT": endpoints.s3_endpoint,
        "S3_BUCKET": deployment.bucket,
        "S3_ACCESS_KEY": endpoints.s3_access_key,
        "S3_SECRET_KEY": endpoints.s3_secret_key,
        "HDFS_URL": hdfs_url,
        "CHECKPOINT_LOCATION": checkpoint_location(deployment, hdfs_url),
    }
