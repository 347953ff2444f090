"""checkov on every Kubernetes object of every Kubernetes stack (and its variations) and on every Dockerfile:
any failed check not accepted, with its reason, in checkov-skips.yaml fails the suite, and so does an
accepted finding that no longer occurs (the list stays short and true).

A scanner, not a server: marked integration because its first run installs checkov into .cache/.
"""

import fnmatch
import json
import subprocess

import pytest
import yaml

from tests.fixtures._servers import REPO, tool_venv
from tests.unit.test_pod_security import KUBERNETES_VARIATIONS
from tools.manifests import manifests
from tools.mock_deploy import run_program
from tools.render import write

pytestmark = pytest.mark.integration

CHECKOV = "checkov==3.3.30"
SKIPS = REPO / "checkov-skips.yaml"
DOCKERFILES = sorted(str(path.relative_to(REPO)) for path in REPO.glob("workloads/*/Dockerfile"))
RENDERINGS = {"dev": ("dev", {}), "kind": ("kind", {})} | {
    f"dev, {name}": ("dev", overrides) for name, overrides in KUBERNETES_VARIATIONS.items()
}


def checkov(*arguments: str) -> list[dict]:
    """checkov's failed checks for `arguments` (its JSON output, one report or a list of them)."""
    binary = tool_venv("checkov-venv", CHECKOV) / "bin" / "checkov"
    done = subprocess.run(
        [str(binary), *arguments, "--quiet", "--compact", "--output", "json", "--skip-download"],
        capture_output=True, text=True, cwd=REPO, timeout=600, check=False,
    )  # fmt: skip
    if done.returncode not in (0, 1) or not done.stdout.strip():
        pytest.fail(f"checkov failed to run ({done.returncode}):\n{done.stderr[-3000:]}", pytrace=False)
    reports = json.loads(done.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    return [failed for report in reports for failed in report.get("results", {}).get("failed_checks", [])]


def accepted(finding: dict, skips: list[dict]) -> dict | None:
    for skip in skips:
        patterns = skip.get("resources", ["*"])
        if skip["check"] == finding["check_id"] and any(fnmatch.fnmatch(finding["resource"], p) for p in patterns):
            return skip
    return None


@pytest.fixture(scope="module")
def findings(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    rendered = tmp_path_factory.mktemp("rendered")
    for index, (stack, overrides) in enumerate(RENDERINGS.values()):
        write(manifests(run_program(stack, overrides)), rendered / f"{index:02d}-{stack}")
    found = checkov("--directory", str(rendered), "--framework", "kubernetes")
    dockerfile_arguments = [argument for path in DOCKERFILES for argument in ("--file", path)]
    return found + checkov(*dockerfile_arguments, "--framework", "dockerfile")


def test_every_skip_says_why():
    skips = yaml.safe_load(SKIPS.read_text())
    assert all(set(skip) <= {"check", "resources", "why"} and len(skip["why"].split()) >= 8 for skip in skips)
    assert len(skips) <= 10


def test_checkov_finds_nothing_that_is_not_accepted_with_a_reason(findings: list[dict]):
    skips = yaml.safe_load(SKIPS.read_text())
    unaccepted = sorted(
        {f"{finding['check_id']} {finding['resource']}: {finding['check_name']}" for finding in findings
         if accepted(finding, skips) is None}
    )  # fmt: skip
    assert unaccepted == []
    used = {id(accepted(finding, skips)) for finding in findings}
    assert [skip["check"] for skip in skips if id(skip) not in used] == []


def test_the_scan_covers_every_stack_and_dockerfile(findings: list[dict]):
    assert DOCKERFILES == [
        "workloads/airflow/Dockerfile",
        "workloads/producer/Dockerfile",
        "workloads/streaming_job/Dockerfile",
    ]
    assert {finding["check_id"] for finding in findings} >= {"CKV_K8S_43", "CKV_DOCKER_7"}
