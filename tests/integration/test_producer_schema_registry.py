"""The producer's command line registering the contract with a stub schema registry before it
delivers to a real Kafka-protocol broker (Tansu)."""

import pytest

from tests.fixtures.stub_http import Reply
from tests.integration.test_producer_kafka import run_producer, summary_of

pytestmark = pytest.mark.integration


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
