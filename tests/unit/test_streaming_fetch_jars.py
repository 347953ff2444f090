"""The image's jar fetcher: Maven layout and checksum verification, against a file:// repository."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from components.versions import job_jars
from workloads.streaming_job.fetch_jars import ChecksumMismatchError, fetch, jar_url

COORDINATE = "org.example.group:connector_2.12:1.2.3"


def publish(repository: Path, content: bytes, checksum: str | None = None) -> Path:
    jar = repository / "org/example/group/connector_2.12/1.2.3/connector_2.12-1.2.3.jar"
    jar.parent.mkdir(parents=True)
    jar.write_bytes(content)
    sha1 = checksum or hashlib.sha1(content, usedforsecurity=False).hexdigest()
    jar.with_name(jar.name + ".sha1").write_text(f"{sha1}  {jar.name}\n")
    return jar


def test_the_url_follows_the_maven_repository_layout() -> None:
    assert jar_url("https://repo1.maven.org/maven2/", "org.apache.spark:spark-sql-kafka-0-10_2.12:3.5.8") == (
        "https://repo1.maven.org/maven2/org/apache/spark/spark-sql-kafka-0-10_2.12/3.5.8/"
        "spark-sql-kafka-0-10_2.12-3.5.8.jar"
    )


def test_every_job_jar_of_the_versions_module_is_a_full_coordinate() -> None:
    assert all(len(coordinate.split(":")) == 3 for coordinate in job_jars())


def test_a_jar_matching_its_published_checksum_is_saved(tmp_path: Path) -> None:
    publish(tmp_path / "repo", b"jar bytes")
    destination = tmp_path / "jars"
    destination.mkdir()

    saved = fetch((tmp_path / "repo").as_uri(), COORDINATE, destination)

    assert saved == destination / "connector_2.12-1.2.3.jar"
    assert saved.read_bytes() == b"jar bytes"


def test_a_jar_not_matching_its_published_checksum_fails_and_is_not_saved(tmp_path: Path) -> None:
    publish(tmp_path / "repo", b"tampered bytes", checksum=hashlib.sha1(b"original").hexdigest())
    destination = tmp_path / "jars"
    destination.mkdir()

    with pytest.raises(ChecksumMismatchError, match=COORDINATE):
        fetch((tmp_path / "repo").as_uri(), COORDINATE, destination)
    assert list(destination.iterdir()) == []
