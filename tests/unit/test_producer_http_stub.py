"""The producer's HTTP clients (the randomuser source, schema registration) against a stub server
that misbehaves on cue: retries, fallback, no crash. A stub, so these are unit tests."""

from __future__ import annotations

import json

import pytest

from tests.fixtures.stub_http import Reply, ScriptedServer
from tests.unit.test_producer_transform import PROFILE
from workloads.contract import json_schema
from workloads.producer.schema_registry import RegistrationError, register_schema
from workloads.producer.sources import (
    RANDOMUSER,
    SYNTHETIC,
    FallbackSource,
    RandomUserSource,
    SourceUnavailableError,
    SyntheticSource,
)


def results(*profiles) -> bytes:
    return json.dumps({"results": list(profiles), "info": {"seed": "t", "results": len(profiles)}}).encode()


def api_source(server: ScriptedServer, slept: list[float], retries: int = 3) -> RandomUserSource:
    # A client timeout no local answer comes near, even on a loaded machine: only the delayed reply times out.
    return RandomUserSource(f"{server.url}/api/?nat=us", timeout_s=2.0, retries=retries, sleep=slept.append)


def test_5xx_malformed_and_timeouts_are_retried_until_a_good_answer(http_server):
    http_server.replies = [
        Reply(503, b"busy"),
        Reply(200, b"<html>not json</html>"),
        Reply(200, results(PROFILE), delay_s=3.0),  # slower than the client's timeout
        Reply(200, results(PROFILE, {**PROFILE, "email": "x@example.com"})),
    ]
    slept = []

    batch = api_source(http_server, slept).fetch(2)

    assert batch.source == RANDOMUSER
    assert [profile["email"] for profile in batch.profiles] == [PROFILE["email"], "x@example.com"]
    assert len(http_server.requests) == 4
    assert len(slept) == 3
    assert all(request.query == {"nat": ["us"], "results": ["2"]} for request in http_server.requests)


def test_an_api_that_stays_down_is_reported_unavailable_after_the_retries(http_server):
    http_server.replies = [Reply(500, b'{"error": "Uh oh"}')]
    with pytest.raises(SourceUnavailableError, match=r"after 3 attempts: HTTP Error 500"):
        api_source(http_server, [], retries=2).fetch(10)
    assert len(http_server.requests) == 3


def test_an_api_error_document_is_retried_like_a_failure(http_server):
    http_server.replies = [Reply(200, b'{"error": "Uh oh, something has gone wrong."}'), Reply(200, results(PROFILE))]
    assert api_source(http_server, []).fetch(1).profiles == [PROFILE]


def test_fallback_keeps_profiles_flowing_while_the_api_is_down(http_server):
    http_server.replies = [Reply(502)]
    source = FallbackSource(api_source(http_server, [], retries=1), SyntheticSource(seed=5), retry_primary_after_s=300)
    batch = source.fetch(20)
    assert batch.source == SYNTHETIC
    assert len(batch.profiles) == 20


def test_the_contract_is_posted_under_the_topic_value_subject(http_server):
    http_server.replies = [Reply(200, b'{"id": 7}')]

    schema_id = register_schema(http_server.url + "/", "user-events", json_schema(), timeout_s=5, retries=0)

    assert schema_id == 7
    [request] = http_server.requests
    assert (request.method, request.path) == ("POST", "/subjects/user-events-value/versions")
    assert request.headers["Content-Type"] == "application/vnd.schemaregistry.v1+json"
    payload = json.loads(request.body)
    assert payload["schemaType"] == "JSON"
    assert json.loads(payload["schema"]) == json_schema()


def test_a_registry_that_keeps_failing_is_an_error_after_the_retries(http_server):
    http_server.replies = [Reply(500, b'{"error_code": 50001}'), Reply(200, b"{}")]
    with pytest.raises(RegistrationError, match=r"could not register user-events-value at .*: 'id'"):
        register_schema(http_server.url, "user-events", json_schema(), timeout_s=5, retries=1, sleep=lambda _: None)
    assert len(http_server.requests) == 2
