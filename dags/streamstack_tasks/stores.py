"""Gather numbers from the stores through the connections the deployment defines.

Each reader answers one question (which of these event ids does this sink hold?) and leaves the
judging to streamstack_checks.quality.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import requests
from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.providers.apache.cassandra.hooks.cassandra import CassandraHook
from airflow.sdk import BaseHook, Connection
from streamstack_checks.deployment import (
    CASSANDRA_CONN_ID,
    KAFKA_CONN_ID,
    S3_CONN_ID,
    SPARK_CONN_ID,
    WEBHDFS_CONN_ID,
    Deployment,
)
from streamstack_checks.quality import Interval, StoredObject, batched, data_files_written_since, event_date_partitions
from streamstack_checks.spark_master import master_status_url

CASSANDRA_IN_BATCH = 100  # ids per `IN ?` lookup: bounded coordinator work per query
HTTP_TIMEOUT_S = 30
DEFAULT_SPARK_UI_PORT = 8080


def kafka_client_config() -> dict[str, Any]:
    """The confluent-kafka settings the deployment put in the Kafka connection's extra."""
    return dict(BaseHook.get_connection(KAFKA_CONN_ID).extra_dejson)


def cassandra_matches(deployment: Deployment, event_ids: Collection[str]) -> int:
    """How many of `event_ids` have a row in the events table (event_id is its primary key)."""
    hook = CassandraHook(cassandra_conn_id=CASSANDRA_CONN_ID)
    try:
        session = hook.get_conn()
        lookup = session.prepare(f"SELECT event_id FROM {deployment.cassandra_qualified_table} WHERE event_id IN ?")
        chunks = batched(sorted(event_ids), CASSANDRA_IN_BATCH)
        return sum(len(session.execute(lookup, (list(chunk),)).all()) for chunk in chunks)
    finally:
        hook.shutdown_cluster()


def s3_event_ids(deployment: Deployment, interval: Interval) -> set[str]:
    """Event ids in the Parquet files under the events prefix that were written since the interval began."""
    hook = S3Hook(aws_conn_id=S3_CONN_ID)
    prefix = deployment.s3_events_prefix.strip("/")
    listed = [
        StoredObject(meta["Key"], meta["LastModified"], meta["Size"])
        for partition in event_date_partitions(interval)
        for meta in hook.get_file_metadata(prefix=f"{prefix}/{partition}/", bucket_name=deployment.bucket)
    ]
    client = hook.get_conn()
    ids: set[str] = set()
    for key in data_files_written_since(listed, interval.start):
        ids.update(parquet_event_ids(client.get_object(Bucket=deployment.bucket, Key=key)["Body"].read()))
    return ids


def hdfs_event_ids(deployment: Deployment, interval: Interval) -> set[str]:
    """The same as s3_event_ids for HDFS, over WebHDFS (LISTSTATUS, OPEN)."""
    webhdfs = _WebHdfs(BaseHook.get_connection(WEBHDFS_CONN_ID))
    root = str(deployment.hdfs_events_path).rstrip("/")
    listed = [
        stored for partition in event_date_partitions(interval) for stored in webhdfs.files(f"{root}/{partition}")
    ]
    ids: set[str] = set()
    for path in data_files_written_since(listed, interval.start):
        ids.update(parquet_event_ids(webhdfs.read(path)))
    return ids


def parquet_event_ids(data: bytes) -> list[str]:
    column = pq.read_table(pa.BufferReader(data), columns=["event_id"])["event_id"]
    return [value for value in column.to_pylist() if value]


class _WebHdfs:
    """The two WebHDFS calls the checks need; the NameNode redirects OPEN to a DataNode."""

    def __init__(self, connection: Connection) -> None:
        self._base = f"http://{connection.host}:{connection.port}/webhdfs/v1"
        self._user = connection.login or "airflow"

    def files(self, directory: str) -> Iterator[StoredObject]:
        response = requests.get(
            f"{self._base}{directory}", params={"op": "LISTSTATUS", "user.name": self._user}, timeout=HTTP_TIMEOUT_S
        )
        if response.status_code == 404:
            return
        response.raise_for_status()
        for status in response.json()["FileStatuses"]["FileStatus"]:
            if status["type"] == "FILE":
                modified = datetime.fromtimestamp(status["modificationTime"] / 1000, UTC)
                yield StoredObject(f"{directory}/{status['pathSuffix']}", modified, status["length"])

    def read(self, path: str) -> bytes:
        response = requests.get(
            f"{self._base}{path}", params={"op": "OPEN", "user.name": self._user}, timeout=HTTP_TIMEOUT_S
        )
        response.raise_for_status()
        return response.content


def spark_master_status() -> dict[str, Any]:
    """The standalone master's status document; its UI port comes from the connection's extra
    `master_ui_port` (default 8080), since the connection's own port is the RPC port."""
    connection = BaseHook.get_connection(SPARK_CONN_ID)
    ui_port = int(connection.extra_dejson.get("master_ui_port", DEFAULT_SPARK_UI_PORT))
    response = requests.get(master_status_url(connection.host, ui_port), timeout=HTTP_TIMEOUT_S)
    response.raise_for_status()
    return response.json()
