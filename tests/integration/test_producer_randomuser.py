"""The randomuser source against a local HTTP server that misbehaves on cue: retries, fallback, no crash."""

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.integration.test_producer_kafka import run_producer, summary_of
from tests.unit.test_producer_transform import PROFILE
from workloads.contract import decode_event
from workloads.producer.sources import (
    RANDOMUSER,
    SYNTHETIC,
    FallbackSource,
    RandomUserSource,
    SourceUnavailableError,
    SyntheticSource,
)

pytestmark = pytest.mark.integration


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    delay_s: float = 0.0


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class ScriptedServer:
    """Answers requests with the scripted replies in order (the last one repeats) and records them."""

    url: str
    replies: list[Reply]
    requests: list[Request] = field(default_factory=list)

    def next_reply(self, request: Request) -> Reply:
        self.requests.append(request)
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]


@contextlib.contextmanager
def scripted_server() -> Iterator[ScriptedServer]:
    """A real HTTP server on a free loopback port, in a thread, for as long as the block runs."""
    script = ScriptedServer(url="", replies=[Reply(503)])

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            parts = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            reply = script.next_reply(
                Request(self.command, parts.path, parse_qs(parts.query), dict(self.headers.items()), body)
            )
            time.sleep(reply.delay_s)
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out and left, as the test intended

        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            self._answer()

        def log_message(self, *_args) -> None:
            """Keep the test output to what the test asserts."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    script.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield script
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def http_server() -> Iterator[ScriptedServer]:
    with scripted_server() as server:
        yield server


def results(*profiles) -> bytes:
    return json.dumps({"results": list(profiles), "info": {"seed": "t", "results": len(profiles)}}).encode()


def api_source(server: ScriptedServer, slept: list[float], retries: int = 3) -> RandomUserSource:
    return RandomUserSource(f"{server.url}/api/?nat=us", timeout_s=0.5, retries=retries, sleep=slept.append)


def test_5xx_malformed_and_timeouts_are_retried_until_a_good_answer(http_server):
    http_server.replies = [
        Reply(503, b"busy"),
        Reply(200, b"<html>not json</html>"),
        Reply(200, results(PROFILE), delay_s=2.0),  # slower than the client's timeout
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
    assert "rejected randomuser record: login.uuid: missing in profile" in result.stderr
    assert "rejected randomuser record: profile: expected a JSON object, got str" in result.stderr
    events = [decode_event(message.value()) for message in kafka_broker.consume_all(topic, expected=2)]
    assert sorted(event["user_id"] for event in events) == sorted([PROFILE["login"]["uuid"], other["login"]["uuid"]])
    assert {event["source"] for event in events} == {RANDOMUSER}
    assert PROFILE["email"].lower() not in json.dumps(events).lower()


def test_producer_falls_back_to_synthetic_when_the_api_stays_unreachable(http_server, kafka_broker):
    topic = kafka_broker.create_topic()
    http_server.replies = [Reply(503)]
    result = run_api_producer(
        http_server, kafka_broker.bootstrap, topic, "--count", "30", "--http-retries", "1", "--http-timeout", "1"
    )

    assert result.returncode == 0, result.stderr
    assert "using the fallback source" in result.stderr
    assert summary_of(result.stderr)["delivered"] == 30
    events = [decode_event(message.value()) for message in kafka_broker.consume_all(topic, expected=30)]
    assert len(events) == 30
    assert {event["source"] for event in events} == {SYNTHETIC}
    assert len(http_server.requests) == 2
