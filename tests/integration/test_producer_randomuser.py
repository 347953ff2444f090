"""The producer's command line with its randomuser source pointed at a stub server, delivering to a
real Kafka-protocol broker (Tansu): what it sends, what it rejects, how it falls back."""

import json

import pytest

from tests.fixtures.stub_http import Reply, ScriptedServer
from tests.integration.test_producer_kafka import run_producer, summary_of
from tests.unit.test_producer_http_stub import results
from tests.unit.test_producer_transform import PROFILE
from workloads.contract import decode_event
from workloads.producer.sources import (
    RANDOMUSER,
    SYNTHETIC,
)

pytestmark = pytest.mark.integration


def run_api_producer(http_server: ScriptedServer, bootstrap: str, topic: str, *flags: str):
    """The producer's command line with the randomuser source pointed at the scripted server."""
    return run_producer(bootstrap, topic, *flags, source=RANDOMUSER, RANDOMUSER_URL=f"{http_server.url}/api/")


def test_producer_sends_api_profiles_and_rejects_the_broken_ones(http_server, kafka_broker):
    topic = kafka_broker.create_topic()
    broken = {key: value for key, value in PROFILE.items() if key != "login"}
    other = {**PROFILE, "login": {**PROFILE["login"], "uuid": "11111111-2222-4333-8444-555555555555"}}
    http_server.replies = [Reply(200, results(PROFILE, broken, other, "garbage"))]
    result = run_api_producer(http_server, kafka_broker.bootstrap, topic, "--count", "4", "--batch-size", "4")

    assert result.returncode == 0, result.stderr
    assert summary_of(result.stderr) == {"sent": 2, "delivered": 2, "failed": 0, "undelivered": 0, "rejected": 2}
    assert "rejected randomuser record: login: required field missing" in result.stderr
    assert "rejected randomuser record: profile: expected a JSON object, got str" in result.stderr
    events = [decode_event(message.value()) for message in kafka_broker.consume_all(topic, expected=2)]
    assert sorted(event["user_id"] for event in events) == sorted([PROFILE["login"]["uuid"], other["login"]["uuid"]])
    assert {event["source"] for event in events} == {RANDOMUSER}
    assert PROFILE["email"].lower() not in json.dumps(events).lower()


def test_producer_falls_back_to_synthetic_when_the_api_stays_unreachable(http_server, kafka_broker):
    topic = kafka_broker.create_topic()
    http_server.replies = [Reply(503)]
    result = run_api_producer(
        http_server, kafka_broker.bootstrap, topic, "--count", "30", "--http-retries", "1", "--http-timeout", "5"
    )

    assert result.returncode == 0, result.stderr
    assert "using the fallback source" in result.stderr
    assert summary_of(result.stderr)["delivered"] == 30
    events = [decode_event(message.value()) for message in kafka_broker.consume_all(topic, expected=30)]
    assert len(events) == 30
    assert {event["source"] for event in events} == {SYNTHETIC}
    assert len(http_server.requests) == 2
