"""Every word of the commands the services start with, literally: the image-facts tests check that the
executable exists and the config tests that values reach the command, but a wrong subcommand or module name
(`weed mini`, `python3 -m karapace`) would pass both, as mutation testing showed."""

import re

import pytest

from tools.mock_deploy import Deployment, run_program

LOCAL_COMMANDS = {
    "kafka": (["/etc/kafka/docker/run"], None),
    "schema-registry": (["python3", "-m", "karapace"], None),
    "kafka-ui": (None, None),
    "object-store": (
        None,
        ["mini", "-dir=/data", "-bucket=streamstack", "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
         "-master.telemetry=false"],
    ),
    "hdfs-datanode": (["/opt/hadoop/bin/hdfs"], ["datanode"]),
    "spark-master": (
        ["spark-class"],
        ["org.apache.spark.deploy.master.Master", "--host", "spark-master-0", "--port", "7077", "--webui-port", "8080"],
    ),
    "spark-worker": (
        ["spark-class"],
        ["org.apache.spark.deploy.worker.Worker", "spark://spark-master-0:7077", "--cores", "1", "--memory", "768m",
         "--webui-port", "8081", "--work-dir", "/var/lib/spark/work"],
    ),
    "producer": (None, None),
    "streaming-job": (None, None),
    "postgres": (None, None),
    "airflow-api-server": (None, ["api-server"]),
    "airflow-scheduler": (None, ["scheduler"]),
    "airflow-dag-processor": (None, ["dag-processor"]),
}  # fmt: skip
SCRIPTED = {"kafka-topics", "cassandra", "cassandra-init", "hdfs-namenode", "hdfs-init", "airflow-init"}
JVM_OPTION_VARIABLES = ("KAFKA_HEAP_OPTS", "KAFKA_JVM_PERFORMANCE_OPTS", "HDFS_NAMENODE_OPTS", "HDFS_DATANODE_OPTS",
                        "JAVA_OPTS", "JVM_OPTS", "SPARK_DAEMON_JAVA_OPTS")  # fmt: skip
JVM_FLAG = re.compile(r"^-(Xm[sx]\d+[mMgG]|Xss\d+[kKmM]|XX:[+-]?[A-Za-z0-9]+(=\S+)?|D[\w.]+=\S*|server)$")


@pytest.fixture(scope="module")
def local() -> Deployment:
    return run_program("local")


def test_each_service_starts_with_exactly_these_words(local: Deployment) -> None:
    commands = {
        spec.name: (list(spec.entrypoint) if spec.entrypoint else None, list(spec.args) if spec.args else None)
        for spec in local.specs
        if spec.name not in SCRIPTED
    }
    assert commands == LOCAL_COMMANDS


def test_scripted_services_run_their_script_with_bash(local: Deployment) -> None:
    shells = {
        spec.name: (list(spec.entrypoint or []) + list(spec.args or []))[:2]
        for spec in local.specs
        if spec.name in SCRIPTED
    }
    assert shells == {name: ["/bin/bash", "-c"] if name != "airflow-init" else ["bash", "-c"] for name in SCRIPTED}


@pytest.mark.parametrize("stack", ["local", "dev"])
def test_every_word_of_a_jvm_option_variable_is_a_jvm_flag(stack: str) -> None:
    checked = 0
    for spec in run_program(stack).specs:
        for name in JVM_OPTION_VARIABLES:
            value = spec.env.get(name)
            if isinstance(value, str):
                checked += 1
                assert all(JVM_FLAG.match(word) for word in value.split()), (spec.name, name, value)
    assert checked >= 4


def test_the_hdfs_cluster_id_names_the_stack() -> None:
    for stack in ("local", "dev"):
        namenode = next(spec for spec in run_program(stack).specs if spec.name == "hdfs-namenode")
        assert f"-clusterId streamstack-{stack} " in namenode.args[0]
