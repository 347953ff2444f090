"""Registers the event contract with a Confluent-compatible schema registry (e.g. Karapace)."""

from __future__ import annotations

import http.client
import json
import random
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from workloads.producer.retry import backoff_delays, call_with_retries

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class RegistrationError(Exception):
    """The registry could not be reached or refused the schema."""


def subject_for(topic: str) -> str:
    """TopicNameStrategy: the value schema of `topic` lives under `<topic>-value`."""
    return f"{topic}-value"


def registration_request(base_url: str, topic: str, schema: dict[str, Any]) -> urllib.request.Request:
    """POST /subjects/<subject>/versions with the schema as a JSON string, as the registry API expects."""
    body = json.dumps({"schemaType": "JSON", "schema": json.dumps(schema, sort_keys=True)}).encode()
    url = f"{base_url.rstrip('/')}/subjects/{subject_for(topic)}/versions"
    return urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": CONTENT_TYPE})


def register_schema(
    base_url: str,
    topic: str,
    schema: dict[str, Any],
    *,
    timeout_s: float,
    retries: int,
    sleep: Callable[[float], object] = time.sleep,
) -> int:
    """Register (idempotently: the registry returns the existing id) and return the schema id."""

    def post() -> int:
        with urllib.request.urlopen(registration_request(base_url, topic, schema), timeout=timeout_s) as response:
            return int(json.loads(response.read())["id"])

    try:
        return call_with_retries(
            post,
            what=f"registering {subject_for(topic)}",
            delays=backoff_delays(retries, 0.5, 10.0, random.Random()),
            retry_on=(OSError, http.client.HTTPException, ValueError, KeyError),
            sleep=sleep,
        )
    except (OSError, http.client.HTTPException, ValueError, KeyError) as error:
        raise RegistrationError(f"could not register {subject_for(topic)} at {base_url}: {error}") from error
