"""No credential appears anywhere in what the program declares or exports unless it is marked secret.

Every resource input of every stack is walked, not just the places a credential belongs: a password
that leaks into a label, an argument, a ConfigMap, a plain environment variable or an output fails
here. (Kubernetes Secret data is marked secret by the SDK itself: that alone proves nothing, hence the
walk over everything.) The workloads' start-up logs are checked too.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest

from components.credentials import _fernet_key
from tests.unit.variations import CDC
from tools.mock_deploy import DeclaredResource, Deployment, run_program
from workloads.streaming_job.config import describe, parse_config

CONFIGURED = "configured-credential-1234"
# What the mocks answer: every RandomPassword is `generated-<name>`, the RandomBytes behind the Fernet key fixed.
GENERATED = re.compile(r"generated-[a-z-]+")
FERNET = _fernet_key("c3RyZWFtc3RhY2stdGVzdC1rZXktMzItYnl0ZXMtbG9uZyE=")
SECRET_KEYS = [
    "cassandraPassword",
    "objectStorePassword",
    "postgresPassword",
    "pipelineDbPassword",
    "airflowAdminPassword",
    "pseudonymKey",
]


def walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, f"{path}.{index}")
    else:
        yield path, value


def is_credential(value: Any) -> bool:
    return isinstance(value, str) and bool(GENERATED.search(value) or CONFIGURED in value or FERNET in value)


def leaks(deployment: Deployment) -> list[str]:
    found = [
        f"{resource.type} {resource.name}: {path}"
        for resource in deployment.resources
        for path, value in walk(resource.inputs)
        if is_credential(value) and not resource.is_secret(path)
    ]
    found += [
        f"output {name}"
        for name, value in deployment.outputs.items()
        if is_credential(value) and name not in deployment.secret_outputs
    ]
    return found


@pytest.mark.parametrize(
    ("stack", "overrides", "configured"),
    [
        ("local", {}, False),
        ("minimal", {}, False),
        ("kind", {}, False),
        ("dev", {"kubernetes": {"ingressHost": "streamstack.example.com"}}, False),
        ("local", dict.fromkeys(SECRET_KEYS, CONFIGURED), True),
        ("dev", dict.fromkeys(SECRET_KEYS, CONFIGURED), True),
        ("local", CDC, False),
        ("dev", {**CDC, **dict.fromkeys(SECRET_KEYS, CONFIGURED)}, True),
    ],
    ids=[
        "local",
        "minimal",
        "kind",
        "dev",
        "local, configured",
        "dev, configured",
        "local, cdc",
        "dev, cdc, configured",
    ],
)
def test_no_credential_appears_unmarked_in_any_input_or_output(stack: str, overrides: dict, configured: bool) -> None:
    deployment = run_program(stack, overrides, secret_keys=SECRET_KEYS if configured else None)
    carried = [
        path for resource in deployment.resources for path, value in walk(resource.inputs) if is_credential(value)
    ]
    assert carried  # the walk sees the credentials where they belong
    assert leaks(deployment) == []


def test_the_walk_finds_a_credential_leaked_into_a_plain_input() -> None:
    deployment = run_program("minimal")
    leaked = DeclaredResource(
        type="docker:index/container:Container",
        name="leaky",
        urn="urn:leaky",
        parent="",
        dependencies=[],
        inputs={"labels": [{"label": "debug", "value": "generated-cassandra-password"}]},
    )
    deployment.resources.append(leaked)
    assert leaks(deployment) == ["docker:index/container:Container leaky: labels.0.value"]


def test_the_jobs_start_up_log_masks_every_credential() -> None:
    environ = {
        "KAFKA_BOOTSTRAP_SERVERS": "kafka-0:9092",
        "EVENTS_TOPIC": "events",
        "SINKS": "cassandra,s3",
        "CASSANDRA_HOSTS": "cassandra-0",
        "CASSANDRA_USERNAME": "streamstack",
        "CASSANDRA_PASSWORD": CONFIGURED,
        "S3_ENDPOINT": "http://object-store:8333",
        "S3_BUCKET": "lake",
        "S3_ACCESS_KEY": "streamstack",
        "S3_SECRET_KEY": f"{CONFIGURED}-s3",
    }
    text = describe(parse_config([], environ))
    assert "cassandra.password = ****" in text
    assert CONFIGURED not in text


def test_the_producers_start_up_log_never_shows_its_pseudonym_key(caplog: pytest.LogCaptureFixture) -> None:
    from workloads.producer.cli import main

    caplog.set_level(logging.DEBUG)
    environ = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "EVENTS_TOPIC": "events", "PSEUDONYM_KEY": CONFIGURED}
    # A registry nobody answers: the producer logs its start, fails registration and exits, sending nothing.
    code = main(["--schema-registry-url", "http://127.0.0.1:1", "--http-retries", "0", "--http-timeout", "1"], environ)
    assert code == 3
    assert caplog.records
    assert CONFIGURED not in caplog.text
