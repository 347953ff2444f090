"""Source logic that needs no server: response parsing, URLs, backoff, synthetic data, fallback."""

import json
import random
import uuid

import pytest

from tests.unit.test_producer_transform import KEY, WHEN
from workloads.contract import validate_event
from workloads.producer.retry import backoff_delays, call_with_retries
from workloads.producer.sources import (
    RANDOMUSER,
    SYNTHETIC,
    Batch,
    FallbackSource,
    MalformedResponseError,
    SourceUnavailableError,
    SyntheticSource,
    parse_randomuser_response,
    with_results,
)
from workloads.producer.transform import contract_time, to_event


def test_results_of_a_randomuser_response_are_returned_as_they_are():
    body = json.dumps({"results": [{"email": "a@example.com"}, "odd"], "info": {"seed": "x"}}).encode()
    assert parse_randomuser_response(body) == [{"email": "a@example.com"}, "odd"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>502 Bad Gateway</html>", "response is not JSON"),
        (b"\xff", "response is not JSON"),
        (b"[]", "expected a JSON object, got list"),
        (b'{"error": "Uh oh, something has gone wrong."}', "API reported an error: 'Uh oh, something has gone wrong.'"),
        (b'{"results": []}', "response has no non-empty 'results' list"),
        (b'{"results": {"a": 1}}', "response has no non-empty 'results' list"),
        (b'{"info": {}}', "response has no non-empty 'results' list"),
    ],
)
def test_malformed_responses_are_refused_as_a_whole(body, message):
    with pytest.raises(MalformedResponseError) as caught:
        parse_randomuser_response(body)
    assert str(caught.value).startswith(message)


def test_the_batch_size_is_asked_for_and_configured_parameters_kept():
    assert with_results("https://randomuser.me/api/", 50) == "https://randomuser.me/api/?results=50"
    assert with_results("http://h:8/api/?nat=fr,de&results=3", 7) == "http://h:8/api/?nat=fr%2Cde&results=7"


def test_backoff_grows_exponentially_up_to_the_cap_with_jitter_below_it():
    delays = backoff_delays(6, 0.5, 4.0, random.Random(1))
    ceilings = [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert len(delays) == 6
    assert all(0.0 <= delay <= ceiling for delay, ceiling in zip(delays, ceilings, strict=True))
    assert len(set(delays)) == 6  # jittered, not a fixed ladder
    assert backoff_delays(6, 0.5, 4.0, random.Random(1)) == delays


def test_retries_sleep_the_given_delays_then_give_up_with_the_last_error():
    slept = []
    attempts = []

    def flaky():
        attempts.append(len(attempts))
        raise ConnectionError(f"attempt {len(attempts)}")

    with pytest.raises(ConnectionError, match="attempt 3"):
        call_with_retries(flaky, what="flaky", delays=[0.1, 0.2], retry_on=(ConnectionError,), sleep=slept.append)
    assert slept == [0.1, 0.2]
    assert len(attempts) == 3


def test_retries_stop_at_the_first_success_and_do_not_catch_other_errors():
    outcomes = iter([ConnectionError("down"), "ok"])

    def recovering():
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert call_with_retries(recovering, what="r", delays=[0.0] * 5, retry_on=(OSError,), sleep=lambda _: None) == "ok"
    with pytest.raises(KeyError):
        call_with_retries(lambda: {}["x"], what="k", delays=[0.0], retry_on=(OSError,), sleep=lambda _: None)


def test_synthetic_profiles_are_reproducible_from_the_seed():
    first = SyntheticSource(seed=7).fetch(50)
    assert first == SyntheticSource(seed=7).fetch(50)
    assert first.source == SYNTHETIC
    assert first.profiles != SyntheticSource(seed=8).fetch(50).profiles


def test_synthetic_profiles_transform_into_valid_events_with_distinct_users():
    profiles = SyntheticSource(seed=3).fetch(500).profiles
    events = [to_event(p, source=SYNTHETIC, pseudonym_key=KEY, event_time=contract_time(WHEN)) for p in profiles]
    for event in events:
        validate_event(event)
    assert len({event["user_id"] for event in events}) == 500


def test_synthetic_users_are_new_users_over_a_seeded_set_of_people():
    profiles = SyntheticSource(seed=5, people=3).fetch(300).profiles
    people = {(p["name"]["first"], p["name"]["last"], p["location"]["postcode"], p["dob"]["age"]) for p in profiles}
    assert len(people) == 3
    assert len({p["login"]["uuid"] for p in profiles}) == 300
    assert all(p["email"] == f"{p['login']['username']}@example.com" for p in profiles)


def test_synthetic_login_uuids_are_random_rfc_4122_version_4_uuids():
    uuids = [uuid.UUID(profile["login"]["uuid"]) for profile in SyntheticSource(seed=4).fetch(400).profiles]
    assert {(value.version, value.variant) for value in uuids} == {(4, uuid.RFC_4122)}
    assert [str(value) for value in uuids] == [
        profile["login"]["uuid"] for profile in SyntheticSource(seed=4).fetch(400).profiles
    ]
    assert {str(value)[19] for value in uuids} == set("89ab")


class ScriptedSource:
    """A source that fails or succeeds as scripted, recording the fetches it received."""

    def __init__(self, name, outcomes):
        self.name = name
        self.outcomes = list(outcomes)
        self.fetches = 0

    def fetch(self, count):
        self.fetches += 1
        if self.outcomes.pop(0) == "down":
            raise SourceUnavailableError(f"{self.name} down")
        return Batch(self.name, [{"n": i} for i in range(count)])


def test_fallback_serves_the_fallback_while_the_primary_is_down_then_tries_it_again():
    now = [0.0]
    primary = ScriptedSource(RANDOMUSER, ["ok", "down", "ok"])
    fallback = ScriptedSource(SYNTHETIC, ["ok"] * 3)
    source = FallbackSource(primary, fallback, retry_primary_after_s=60.0, clock=lambda: now[0])

    assert source.fetch(2).source == RANDOMUSER
    assert source.fetch(2).source == SYNTHETIC  # primary failed: fall back at once
    now[0] = 59.0
    assert source.fetch(2).source == SYNTHETIC  # still within the fallback period: primary not asked
    assert primary.fetches == 2
    now[0] = 61.0
    assert source.fetch(3) == Batch(RANDOMUSER, [{"n": 0}, {"n": 1}, {"n": 2}])
    assert fallback.fetches == 2
