"""Profile -> contract event: field mapping, pseudonymisation and rejection of broken records."""

import copy
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.test_contract import valid_event
from workloads.contract import EVENT_FIELDS, ValidationError, validate_event
from workloads.producer.transform import (
    EVENT_ID_NAMESPACE,
    EventClock,
    contract_time,
    event_id_for,
    pseudonymise,
    to_event,
)

KEY = b"test-key"
WHEN = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
AT = contract_time(WHEN)

# One result of https://randomuser.me/api/ as documented, including the fields we must drop.
PROFILE = {
    "gender": "female",
    "name": {"title": "Miss", "first": "Jennie", "last": "Nichols"},
    "location": {
        "street": {"number": 8929, "name": "Valwood Pkwy"},
        "city": "Billings",
        "state": "Michigan",
        "country": "United States",
        "postcode": "63104",
        "coordinates": {"latitude": "-69.8246", "longitude": "134.8719"},
        "timezone": {"offset": "+9:30", "description": "Adelaide, Darwin"},
    },
    "email": "Jennie.Nichols@Example.com",
    "login": {
        "uuid": "7a0eed16-9430-4d68-901f-c0d4c1c3bf00",
        "username": "yellowpeacock117",
        "password": "addison",
        "salt": "sld1yGtd",
        "md5": "ab54ac4c0be9480ae8fa5e9e2a5196a3",
    },
    "dob": {"date": "1992-03-08T15:13:16.688Z", "age": 30},
    "registered": {"date": "2007-07-09T05:51:59.390Z", "age": 14},
    "phone": "(272) 790-0888",
    "cell": "(489) 330-2385",
    "id": {"name": "SSN", "value": "405-88-3636"},
    "nat": "US",
}


def profile_with(path: str, value):
    """A copy of PROFILE with the dotted path set to value (or removed when value is ...)."""
    profile = copy.deepcopy(PROFILE)
    *parents, last = path.split(".")
    node = profile
    for part in parents:
        node = node[part]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return profile


def transform(profile):
    """As the producer does it: map, then check against the contract (which encoding does)."""
    event = to_event(profile, source="randomuser", pseudonym_key=KEY, event_time=AT)
    validate_event(event)
    return event


def test_a_randomuser_profile_becomes_a_flat_contract_event():
    event = to_event(PROFILE, source="randomuser", pseudonym_key=KEY, event_time=AT)
    validate_event(event)
    assert event == valid_event(
        event_id=event_id_for("7a0eed16-9430-4d68-901f-c0d4c1c3bf00", "2024-05-01T12:00:00.123+00:00"),
        schema_version=1,
        email_hash=hmac.new(KEY, b"jennie.nichols@example.com", hashlib.sha256).hexdigest(),
        postcode_hash=hmac.new(KEY, b"63104", hashlib.sha256).hexdigest(),
        registered_at="2007-07-09T05:51:59.390Z",  # as randomuser wrote it: RFC 3339, UTC
    )


def test_no_raw_personal_data_survives():
    wire = json.dumps(transform(PROFILE)).lower()
    for secret in (
        "jennie.nichols@example.com",
        "63104",
        "valwood",
        "addison",
        "405-88-3636",
        "790-0888",
        "1992-03-08",
    ):
        assert secret not in wire


def test_event_id_is_stable_for_the_same_user_and_time_and_differs_otherwise():
    assert transform(PROFILE)["event_id"] == transform(copy.deepcopy(PROFILE))["event_id"]
    later_time = contract_time(WHEN + timedelta(milliseconds=1))
    later = to_event(PROFILE, source="randomuser", pseudonym_key=KEY, event_time=later_time)
    assert later["event_id"] != transform(PROFILE)["event_id"]
    other_user = transform(profile_with("login.uuid", "00000000-0000-4000-8000-000000000000"))
    assert other_user["event_id"] != transform(PROFILE)["event_id"]


def test_event_time_keeps_its_offset():
    paris = datetime(2024, 5, 1, 14, 0, 0, 987654, tzinfo=timezone(timedelta(hours=2)))
    event = to_event(PROFILE, source="synthetic", pseudonym_key=KEY, event_time=contract_time(paris))
    assert event["event_time"] == "2024-05-01T14:00:00.987+02:00"
    assert event["source"] == "synthetic"


def test_naive_event_time_is_a_programming_error():
    with pytest.raises(ValueError, match="timezone-aware"):
        contract_time(datetime(2024, 5, 1))


def test_the_event_clock_formats_once_per_millisecond_and_truncates_like_contract_time():
    readings = iter([1_714_564_800_123_456_789, 1_714_564_800_123_999_999, 1_714_564_800_124_000_000])
    clock = EventClock(now_ns=lambda: next(readings))
    first, same_millisecond, next_millisecond = clock(), clock(), clock()
    assert first == "2024-05-01T12:00:00.123+00:00" == contract_time(datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC))
    assert same_millisecond is first
    assert next_millisecond == "2024-05-01T12:00:00.124+00:00"


def test_the_event_clock_reads_the_system_clock_by_default():
    before = datetime.now(UTC)
    reading = datetime.fromisoformat(EventClock()())
    assert before.replace(microsecond=before.microsecond // 1000 * 1000) <= reading <= datetime.now(UTC)


def test_pseudonyms_are_stable_for_the_same_input_and_key():
    assert pseudonymise("a@example.com", KEY) == pseudonymise("a@example.com", KEY)
    assert pseudonymise("a@example.com", KEY) == hmac.new(KEY, b"a@example.com", hashlib.sha256).hexdigest()


def test_pseudonyms_differ_across_keys_and_inputs():
    assert pseudonymise("a@example.com", b"key-1") != pseudonymise("a@example.com", b"key-2")
    assert pseudonymise("a@example.com", KEY) != pseudonymise("b@example.com", KEY)


def test_email_and_postcode_are_normalised_before_hashing():
    assert (
        transform(profile_with("email", "  JENNIE.nichols@example.COM "))["email_hash"]
        == transform(PROFILE)["email_hash"]
    )
    spaced = transform(profile_with("location.postcode", "sw1a 1aa"))["postcode_hash"]
    assert spaced == transform(profile_with("location.postcode", "SW1A1AA"))["postcode_hash"]


def test_event_ids_are_the_rfc_4122_version_5_uuids_of_user_and_time():
    assert event_id_for("7a0eed16", "2024-05-01T12:00:00.123+00:00") == str(
        uuid.uuid5(EVENT_ID_NAMESPACE, "7a0eed16|2024-05-01T12:00:00.123+00:00")
    )


@settings(max_examples=200, deadline=None)
@given(user_id=st.text(), event_time=st.text())
def test_event_ids_equal_the_standard_librarys_uuid5_for_any_text(user_id, event_time):
    assert event_id_for(user_id, event_time) == str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{user_id}|{event_time}"))


def test_numeric_postcodes_are_hashed_as_text():
    assert transform(profile_with("location.postcode", 63104))["postcode_hash"] == transform(PROFILE)["postcode_hash"]


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("login.username", "username"),
        ("gender", "gender"),
        ("location.postcode", "postcode_hash"),
        ("location.city", "city"),
        ("location.state", "state"),
        ("nat", "nationality"),
        ("registered.date", "registered_at"),
    ],
)
@pytest.mark.parametrize("blank", ["", " \t"])
def test_each_optional_text_is_left_out_when_blank(path, field, blank):
    assert field in transform(PROFILE)
    assert field not in transform(profile_with(path, blank))


def test_event_keys_come_in_the_contracts_field_order():
    assert list(transform(PROFILE)) == [field.name for field in EVENT_FIELDS]


def test_blank_optional_values_are_left_out():
    event = transform(profile_with("location.state", "  "))
    assert "state" not in event
    assert "postcode_hash" not in transform(profile_with("location.postcode", ...))
    assert "latitude" not in transform(profile_with("location.coordinates", ...))


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        ("login", ..., "login: required field missing"),
        ("login.uuid", ..., "login.uuid: required field missing"),
        ("email", None, "email: expected `str`, got `null`"),
        ("email", 42, "email: expected `str`, got `int`"),
        ("name.first", ..., "name.first: required field missing"),
        ("name.first", 7, "name.first: expected `str`, got `int`"),
        ("location.country", ..., "location.country: required field missing"),
        ("location.coordinates.latitude", "north", "location.coordinates.latitude: not a number: 'north'"),
        (
            "location.coordinates.latitude",
            True,
            "location.coordinates.latitude: expected `float | str | null`, got `bool`",
        ),
        (
            "location.coordinates.longitude",
            [1],
            "location.coordinates.longitude: expected `float | str | null`, got `array`",
        ),
        ("location.coordinates.latitude", "123.0", "latitude: expected `float` <= 90.0"),
        ("location.postcode", {"code": 1}, "location.postcode: expected `int | str | null`, got `object`"),
        ("dob.age", "thirty", "dob.age: expected `int | null`, got `str`"),
        ("dob.age", 151, "age: expected `int` <= 150"),
        ("registered.date", "last tuesday", "registered_at: invalid RFC3339 encoded datetime"),
        ("registered.date", 20070709, "registered.date: expected `str | null`, got `int`"),
        ("registered.date", "2007-07-09T05:51:59", "registered_at: expected `datetime` with a timezone component"),
        ("login.uuid", 12345, "login.uuid: expected `str`, got `int`"),
        ("name.last", "x" * 129, "last_name: expected `str` of length <= 128"),
    ],
)
def test_broken_profiles_are_rejected_with_a_reason(path, value, reason):
    with pytest.raises(ValidationError) as caught:
        transform(profile_with(path, value))
    assert caught.value.reason == reason


def test_a_profile_that_is_not_an_object_is_rejected():
    with pytest.raises(ValidationError) as caught:
        transform("not a profile")
    assert caught.value.reason == "profile: expected a JSON object, got str"
