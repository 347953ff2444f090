"""The Spark of the job image, its Kafka connector and the tests' pyspark agree by construction."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyspark

from components import versions

ROOT = Path(__file__).resolve().parents[2]


def test_installed_pyspark_is_the_job_images_spark() -> None:
    assert pyspark.__version__ == versions.SPARK_VERSION


def test_versions_module_answers_the_makefile() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "components.versions", "pyspark"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == f"pyspark=={versions.SPARK_VERSION}"
    assert '"$$($(BIN)/python -m components.versions pyspark)"' in (ROOT / "Makefile").read_text()


def test_versions_module_rejects_unknown_queries() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "components.versions", "flink"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "usage: python -m components.versions {pyspark|spark|airflow}" in result.stderr


def test_requirements_leave_pyspark_to_the_versions_module() -> None:
    pins = [line.split("==")[0].lower() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    assert "pyspark" not in pins


def test_spark_image_and_connectors_derive_from_one_spark_version() -> None:
    spark, scala = versions.SPARK_VERSION, versions.SCALA_BINARY_VERSION
    assert versions.SPARK_IMAGE == f"apache/spark:{spark}-scala{scala}-java17-python3-ubuntu"
    jars = versions.job_jars()
    assert f"org.apache.spark:spark-sql-kafka-0-10_{scala}:{spark}" in jars
    assert f"org.apache.spark:spark-token-provider-kafka-0-10_{scala}:{spark}" in jars
    assert all(len(jar.split(":")) == 3 for jar in jars)


def test_every_upstream_image_is_pinned_to_an_exact_version() -> None:
    images = versions.upstream_images()
    assert set(images) >= {"KAFKA_IMAGE", "CASSANDRA_IMAGE", "SPARK_IMAGE", "AIRFLOW_IMAGE", "MINIO_IMAGE"}
    for name, reference in images.items():
        tag = reference.rpartition(":")[2]
        assert tag not in {"", "latest", "stable"} and any(ch.isdigit() for ch in tag), name
