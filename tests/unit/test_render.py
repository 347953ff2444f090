"""tools/render.py writes the dev stack's objects as YAML files a person can read and diff."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tools import render
from tools.manifests import REDACTED, file_name, manifests
from tools.mock_deploy import SECRET_TEST_VALUE, run_program


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rendered")
    (out / "99-statefulset-removed-since.yaml").write_text("stale\n")
    (out / "notes.txt").write_text("a person's own file\n")
    assert render.main(["--stack", "dev", "--out", str(out)]) == 0
    return out


def test_one_file_per_declared_object_and_stale_renderings_removed(rendered: Path) -> None:
    expected = {file_name(document) for document in manifests(run_program("dev"))}
    assert {p.name for p in rendered.glob("*.yaml")} == expected
    assert (rendered / "notes.txt").exists()
    assert "00-namespace-streamstack-dev.yaml" in expected


def test_files_hold_the_manifests_that_pulumi_would_apply(rendered: Path) -> None:
    kafka = yaml.safe_load((rendered / "10-statefulset-kafka.yaml").read_text())
    assert (kafka["apiVersion"], kafka["kind"], kafka["spec"]["replicas"]) == ("apps/v1", "StatefulSet", 3)
    expected = next(
        d for d in manifests(run_program("dev")) if d["kind"] == "StatefulSet" and d["metadata"]["name"] == "kafka"
    )
    assert kafka == expected
    script = (rendered / "10-statefulset-kafka.yaml").read_text()
    assert 'case "${HOSTNAME##*-}" in\n' in script  # multi-line strings stay readable


def test_secret_values_never_reach_the_files(rendered: Path) -> None:
    secret = yaml.safe_load((rendered / "05-secret-streaming-job-env.yaml").read_text())
    assert secret["stringData"] == {"CASSANDRA_PASSWORD": REDACTED, "S3_SECRET_KEY": REDACTED}
    for path in rendered.glob("*.yaml"):
        text = path.read_text()
        assert "generated-" not in text and SECRET_TEST_VALUE not in text, path.name


def test_rendering_is_deterministic(rendered: Path, tmp_path: Path) -> None:
    assert render.main(["--stack", "dev", "--out", str(tmp_path)]) == 0
    for path in rendered.glob("*.yaml"):
        assert (tmp_path / path.name).read_text() == path.read_text(), path.name


def test_a_docker_stack_has_nothing_to_render(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert render.main(["--stack", "local", "--out", str(tmp_path)]) == 2
    assert "no Kubernetes objects" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
