"""Registration of the contract with a Confluent-compatible schema registry, seen from the server side."""

import json

import pytest

from tests.integration.test_producer_kafka import run_producer, summary_of
from tests.integration.test_producer_randomuser import Reply, scripted_server
from workloads.contract import json_schema
from workloads.producer.schema_registry import RegistrationError, register_schema

pytestmark = pytest.mark.integration


@pytest.fixture
def http_server():
    with scripted_server() as server:
        yield server


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


def test_the_producer_registers_before_it_produces(http_server, kafka_broker):
    topic = kafka_broker.create_topic()
    http_server.replies = [Reply(200, b'{"id": 1}')]
    result = run_producer(kafka_broker.bootstrap, topic, "--count", "5", SCHEMA_REGISTRY_URL=http_server.url)
    assert result.returncode == 0, result.stderr
    assert f"contract registered as schema id 1 under {topic}-value" in result.stderr
    assert [request.path for request in http_server.requests] == [f"/subjects/{topic}-value/versions"]
    assert summary_of(result.stderr)["delivered"] == 5


def test_the_producer_exits_with_status_3_when_registration_fails(http_server, kafka_broker):
    topic = kafka_broker.create_topic()
    http_server.replies = [Reply(409, b'{"error_code": 409, "message": "incompatible"}')]
    result = run_producer(
        kafka_broker.bootstrap, topic, "--count", "5", "--http-retries", "0", SCHEMA_REGISTRY_URL=http_server.url
    )
    assert result.returncode == 3, result.stderr
    assert f"could not register {topic}-value" in result.stderr
    assert "HTTP Error 409" in result.stderr
    assert "summary" not in result.stderr  # nothing was produced
