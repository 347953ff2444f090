"""`make plan`: what a stack would start, offline, from the same graph `pulumi up` would declare."""

import pytest

from tools import mock_deploy
from tools.plan import describe, main


def test_the_local_plan_lists_services_tasks_memory_and_urls():
    lines = describe("local", mock_deploy.run_program("local"))
    assert lines[0] == "stack local (target docker): 15 services, 4 one-shot tasks"
    assert lines[2].split() == ["service", "replicas", "image", "memory", "each"]
    assert lines[3].split() == ["kafka", "1", "apache/kafka:4.1.1", "768", "MiB"]
    assert ["kafka-topics", "1", "apache/kafka:4.1.1", "256", "MiB"] in [line.split() for line in lines]
    assert "memory of the 15 long-running containers: 8,896 MiB (8.7 GiB): give Docker at least this much" in lines
    assert "  kafkaUiUrl               http://127.0.0.1:8082" in lines
    assert not any("Password" in line for line in lines)


def test_a_kubernetes_plan_adds_requests_and_limits():
    lines = describe("kind", mock_deploy.run_program("kind"))
    assert lines[0] == "stack kind (target kubernetes): 13 services, 3 one-shot tasks"
    worker = next(line.split() for line in lines if line.startswith("spark-worker"))
    assert worker[-6:] == ["1000m", "/", "2000m", "1248Mi", "/", "1248Mi"]
    assert "requests of the 13 long-running pods: 7,872 MiB memory, 3.55 CPU: the nodes must have this free" in lines


def test_a_bad_config_or_stack_file_ends_the_plan_with_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(mock_deploy, "REPOSITORY_ROOT", tmp_path)
    (tmp_path / "Pulumi.broken.yaml").write_text("config:\n  streamstack:kafka:\n    brokers: 3\n   bad: indent\n")
    with pytest.raises(SystemExit) as ended:
        main(["--stack", "broken"])
    assert str(ended.value.code).startswith("error: Pulumi.broken.yaml: line 4, column 4: ")
    with pytest.raises(SystemExit) as ended:
        main(["--stack", "nosuch"])
    assert ended.value.code == "error: Pulumi.nosuch.yaml: no such stack file; stacks here: broken"


def test_a_config_error_ends_the_plan_with_its_one_line(monkeypatch):
    from components.settings import ConfigError

    def failing(stack):
        raise mock_deploy.ProgramFailedError(ConfigError("kafka.brokers", 0, "must be between 1 and 9"), [])

    monkeypatch.setattr(mock_deploy, "run_program", failing)
    with pytest.raises(SystemExit) as ended:
        main(["--stack", "local"])
    assert ended.value.code == "error: invalid stack config streamstack:kafka.brokers = 0: must be between 1 and 9"
