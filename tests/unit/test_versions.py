"""The Spark and the Python that run the job agree with the tests' by construction; every pin is exact."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pyspark

from components import versions

ROOT = Path(__file__).resolve().parents[2]


def test_installed_pyspark_is_the_job_images_spark() -> None:
    assert pyspark.__version__ == versions.SPARK_VERSION == "3.5.8"
    assert versions.STREAMING_JOB.build_args["SPARK_VERSION"] == "3.5.8"


def test_the_tests_python_is_the_python_of_the_job_and_producer_images() -> None:
    assert f"{sys.version_info.major}.{sys.version_info.minor}" == versions.PYTHON_RELEASE == "3.11"
    assert versions.STREAMING_JOB.build_args["BASE_IMAGE"] == "python:3.11.15-slim-bookworm"
    assert versions.PRODUCER.build_args["BASE_IMAGE"] == "python:3.11.15-slim-bookworm"
    for image in (versions.STREAMING_JOB, versions.PRODUCER, versions.AIRFLOW_IMAGE):
        assert image.facts.python.value == "3.11", image.name
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11,<3.12"
    assert re.search(r"^PYTHON \?= python3\.11$", (ROOT / "Makefile").read_text(), re.MULTILINE)


def test_versions_module_answers_the_makefile() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "components.versions", "pyspark"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "pyspark==3.5.8"
    assert '"$$($(BIN)/python -m components.versions pyspark)"' in (ROOT / "Makefile").read_text()


def test_versions_module_rejects_unknown_queries() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "components.versions", "flink"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "usage: python -m components.versions {pyspark|spark|airflow|facts}" in result.stderr


def test_requirements_leave_pyspark_to_the_versions_module() -> None:
    pins = [line.split("==")[0].lower() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    assert "pyspark" not in pins


def test_connectors_derive_from_the_one_spark_version() -> None:
    assert versions.job_jars() == (
        "org.apache.spark:spark-sql-kafka-0-10_2.12:3.5.8",
        "org.apache.spark:spark-token-provider-kafka-0-10_2.12:3.5.8",
        "org.apache.kafka:kafka-clients:3.4.1",
        "org.apache.commons:commons-pool2:2.11.1",
        "org.apache.hadoop:hadoop-aws:3.3.4",
        "com.amazonaws:aws-java-sdk-bundle:1.12.262",
    )
    assert versions.STREAMING_JOB.build_args["JOB_JARS"] == " ".join(versions.job_jars())


def test_hadoop_aws_matches_the_hadoop_client_pyspark_bundles() -> None:
    jars = {path.name for path in (Path(pyspark.__file__).parent / "jars").glob("hadoop-client-*.jar")}
    assert jars == {"hadoop-client-api-3.3.4.jar", "hadoop-client-runtime-3.3.4.jar"}
    assert versions.HADOOP_AWS_VERSION == "3.3.4"


def test_every_upstream_image_is_pinned_to_an_exact_version() -> None:
    for reference in versions.UPSTREAM:
        tag = reference.rpartition(":")[2]
        assert tag not in {"", "latest", "stable"} and re.search(r"\d+\.\d+", tag), reference
