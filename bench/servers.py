"""The real local servers the stages measure against, started on first use as the tests start them, and
stopped when the run ends."""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

from bench.kafka_records import TOPIC
from tests.fixtures._servers import REPO
from tests.fixtures.cassandra import CassandraServer, start_cassandra
from tests.fixtures.hdfs import HdfsServer, start_hdfs
from tests.fixtures.kafka_broker import KafkaBroker, start_broker
from tests.fixtures.s3 import S3Server, start_s3
from tests.fixtures.spark import s3a_jars
from workloads.contract import cassandra_table_ddl
from workloads.streaming_job.config import JobConfig, parse_config
from workloads.streaming_job.session import apply_runtime_conf

TABLE = "events"


class Servers:
    """Each server once per run, started when a stage first asks for it; `close()` stops them all."""

    def __init__(self, report: Callable[[str], None]) -> None:
        self._report = report
        self._stack = ExitStack()
        self.workdir = Path(self._stack.enter_context(tempfile.TemporaryDirectory(prefix="streamstack-bench-")))
        self._started: dict[str, Any] = {}

    def _start(self, name: str, start: Callable[[Path], Any], stop: Callable[[Any], None]) -> Any:
        if name not in self._started:
            self._report(f"starting {name}")
            directory = self.workdir / name
            directory.mkdir()
            server = start(directory)
            self._stack.callback(stop, server)
            self._started[name] = server
        return self._started[name]

    def kafka(self) -> KafkaBroker:
        return self._start("kafka (Tansu)", start_broker, lambda server: server.stop())

    def cassandra(self) -> CassandraServer:
        return self._start("cassandra", start_cassandra, lambda server: server.stop())

    def s3(self) -> S3Server:
        return self._start("s3 (moto)", start_s3, lambda server: server.stop())

    def hdfs(self) -> HdfsServer:
        return self._start("hdfs", start_hdfs, lambda server: server.stop())

    def spark(self) -> SparkSession:
        return self._start("spark", _start_spark, lambda session: session.stop())

    def cassandra_keyspace(self) -> str:
        """A fresh keyspace (RF 1) on the run's Cassandra."""
        keyspace = f"bench_{uuid.uuid4().hex[:10]}"
        cluster, session = self.cassandra().connect()
        try:
            session.execute(
                f"CREATE KEYSPACE {keyspace} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}"
            )
        finally:
            cluster.shutdown()
        return keyspace

    def s3_bucket(self) -> str:
        bucket = f"bench-{uuid.uuid4().hex[:10]}"
        self.s3().client().create_bucket(Bucket=bucket)
        return bucket

    def job_config(self, sinks: str, **environ: str) -> JobConfig:
        """The job's configuration, through its own environment interface, for fresh places on the run's
        servers (a keyspace with the events table, a bucket, an HDFS directory), applied to the run's Spark."""
        # The job reads Kafka-shaped files here (no Kafka connector): the bootstrap servers are never contacted.
        settings = {"KAFKA_BOOTSTRAP_SERVERS": "unused:9092", "EVENTS_TOPIC": TOPIC, "SINKS": sinks}
        settings["HDFS_URL"] = f"{self.hdfs().url}/bench-{uuid.uuid4().hex[:10]}"
        if "cassandra" in sinks:
            server, keyspace = self.cassandra(), self.cassandra_keyspace()
            cluster, session = server.connect()
            try:
                session.execute(cassandra_table_ddl(keyspace, TABLE))
            finally:
                cluster.shutdown()
            settings |= {
                "CASSANDRA_HOSTS": server.host,
                "CASSANDRA_PORT": str(server.port),
                "CASSANDRA_KEYSPACE": keyspace,
                "CASSANDRA_TABLE": TABLE,
                "CASSANDRA_USERNAME": server.username,
                "CASSANDRA_PASSWORD": server.password,
            }
        if "s3" in sinks:
            s3 = self.s3()
            settings |= {
                "S3_ENDPOINT": s3.endpoint,
                "S3_BUCKET": self.s3_bucket(),
                "S3_ACCESS_KEY": s3.access_key,
                "S3_SECRET_KEY": s3.secret_key,
            }
        config = parse_config([], settings | environ)
        apply_runtime_conf(self.spark(), config)
        return config

    def close(self) -> None:
        self._stack.close()


def _start_spark(workdir: Path) -> SparkSession:
    """local[2] with the s3a jars, UTC and the job's modules importable by the Python workers, like the tests'."""
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    session = (
        SparkSession.builder.master("local[2]")
        .appName("streamstack-bench")
        .config("spark.jars", ",".join(str(jar) for jar in s3a_jars()))
        .config("spark.driver.memory", "1g")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.local.dir", str(workdir / "local"))
        .config("spark.sql.warehouse.dir", str(workdir / "warehouse"))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session
