"""`make pin-digests`: resolving tags to digests through a registry's token flow, and pulling by digest."""

import json

import pytest

from components import image_facts, versions
from tests.fixtures.stub_http import Reply
from tools.mock_deploy import run_program
from tools.pin_digests import ACCEPT, Reference, resolve

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("reference", "parsed"),
    [
        ("cassandra:4.1.11-bookworm", ("registry-1.docker.io", "library/cassandra", "4.1.11-bookworm")),
        ("apache/kafka:4.1.1", ("registry-1.docker.io", "apache/kafka", "4.1.1")),
        ("ghcr.io/kafbat/kafka-ui:v1.4.2", ("ghcr.io", "kafbat/kafka-ui", "v1.4.2")),
        ("localhost:5001/streamstack:x", ("localhost:5001", "streamstack", "x")),
    ],
)
def test_references_name_their_registry_repository_and_tag(reference, parsed):
    found = Reference.parse(reference)
    assert (found.registry, found.repository, found.tag) == parsed


def test_a_tag_resolves_through_the_registrys_bearer_challenge(http_server):
    host = http_server.url.removeprefix("http://")
    challenge = (
        f'Bearer realm="{http_server.url}/token",service="registry.test",scope="repository:library/cassandra:pull"'
    )
    http_server.replies = [
        Reply(401, headers={"WWW-Authenticate": challenge}),
        Reply(200, json.dumps({"token": "t0k"}).encode()),
        Reply(200, headers={"Docker-Content-Digest": DIGEST}),
    ]
    assert resolve(Reference(host, "library/cassandra", "4.1"), scheme="http") == DIGEST
    first, token, second = http_server.requests
    assert (first.method, first.path, first.headers["Accept"]) == (
        "HEAD",
        "/v2/library/cassandra/manifests/4.1",
        ACCEPT,
    )
    assert (token.path, token.query) == (
        "/token",
        {"service": ["registry.test"], "scope": ["repository:library/cassandra:pull"]},
    )
    assert second.headers["Authorization"] == "Bearer t0k"


def test_an_answer_without_a_digest_is_refused(http_server):
    http_server.replies = [Reply(200, headers={"Docker-Content-Digest": "md5:x"})]
    with pytest.raises(ValueError, match="no sha256 Docker-Content-Digest"):
        resolve(Reference(http_server.url.removeprefix("http://"), "r", "t"), scheme="http")


def test_recorded_digests_are_pulled_by_both_targets(tmp_path, monkeypatch):
    digests = tmp_path / "image-digests.json"
    digests.write_text(json.dumps({versions.KAFKA.reference: DIGEST}))
    monkeypatch.setattr(image_facts, "DIGESTS_FILE", digests)
    image_facts.recorded_digests.cache_clear()
    try:
        local = run_program("local")
        pulled = {r.inputs["name"] for r in local.of_type("docker:index/remoteImage:RemoteImage")}
        assert f"apache/kafka:4.1.1@{DIGEST}" in pulled and "cassandra:4.1.11-bookworm" in pulled
        images = {
            container["image"]
            for r in run_program("dev").resources
            if r.inputs.get("kind") == "StatefulSet"
            for container in r.inputs["spec"]["template"]["spec"]["containers"]
        }
        assert f"apache/kafka:4.1.1@{DIGEST}" in images
    finally:
        image_facts.recorded_digests.cache_clear()


def test_the_recorded_digests_name_upstream_images_only():
    assert set(image_facts.recorded_digests()) <= set(versions.UPSTREAM)
