"""The event contract: validation, wire encoding, JSON Schema and Cassandra DDL agree with the fields."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workloads.contract import (
    CONTRACT_VERSION,
    EVENT_FIELDS,
    FieldType,
    ValidationError,
    cassandra_table_ddl,
    decode_event,
    encode_event,
    json_schema,
    validate_event,
)


def valid_event(**overrides):
    """A valid event, `overrides` applied (None removes a field): PROFILE of test_producer_transform.py as
    the producer maps it, except for its id and hashes (which depend on the key)."""
    event = {
        "event_id": "0b9f1c3e-8d5a-5b44-9a43-1f6f2a9b7c10",
        "event_time": "2024-05-01T12:00:00.123+00:00",
        "schema_version": CONTRACT_VERSION,
        "user_id": "7a0eed16-9430-4d68-901f-c0d4c1c3bf00",
        "username": "yellowpeacock117",
        "first_name": "Jennie",
        "last_name": "Nichols",
        "gender": "female",
        "email_hash": "a" * 64,
        "postcode_hash": "b" * 64,
        "city": "Billings",
        "state": "Michigan",
        "country": "United States",
        "nationality": "US",
        "latitude": -69.8246,
        "longitude": 134.8719,
        "age": 30,
        "registered_at": "2007-07-09T05:51:59.390+00:00",
        "source": "randomuser",
    }
    event.update(overrides)
    return {name: value for name, value in event.items() if value is not None}


def reason_for(event) -> str:
    with pytest.raises(ValidationError) as caught:
        validate_event(event)
    return caught.value.reason


def test_a_complete_event_is_valid():
    validate_event(valid_event())


def test_optional_fields_may_be_absent():
    optional = [field.name for field in EVENT_FIELDS if not field.required]
    validate_event(valid_event(**dict.fromkeys(optional)))


@pytest.mark.parametrize("name", [field.name for field in EVENT_FIELDS if field.required])
def test_each_required_field_is_enforced(name):
    event = valid_event()
    del event[name]
    assert reason_for(event) == f"{name}: required field missing"


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"first_name": 5}, "first_name: expected `str`, got `int`"),
        ({"first_name": ""}, "first_name: expected `str` of length >= 1"),
        ({"nationality": "X" * 9}, "nationality: expected `str` of length <= 8"),
        ({"age": "30"}, "age: expected `int | null`, got `str`"),
        ({"age": True}, "age: expected `int | null`, got `bool`"),
        ({"age": 30.0}, "age: expected `int | null`, got `float`"),
        ({"age": 151}, "age: expected `int` <= 150"),
        ({"age": -1}, "age: expected `int` >= 0"),
        ({"latitude": "1.5"}, "latitude: expected `float | null`, got `str`"),
        ({"latitude": float("nan")}, "latitude: expected `float` >= -90.0"),
        ({"longitude": float("inf")}, "longitude: expected `float` <= 180.0"),
        ({"latitude": 90.5}, "latitude: expected `float` <= 90.0"),
        ({"longitude": -180.01}, "longitude: expected `float` >= -180.0"),
        ({"event_time": "yesterday"}, "event_time: invalid RFC3339 encoded datetime"),
        ({"event_time": "2024-05-01T12:00:00"}, "event_time: expected `datetime` with a timezone component"),
        ({"event_time": 1714564800}, "event_time: expected `datetime`, got `int`"),
        ({"registered_at": "2007-07-09"}, "registered_at: invalid RFC3339 encoded datetime"),
        ({"schema_version": CONTRACT_VERSION + 1}, f"schema_version: expected `int` <= {CONTRACT_VERSION}"),
        ({"schema_version": 0}, f"schema_version: expected `int` >= {CONTRACT_VERSION}"),
        ({"full_name": "Jennie Nichols"}, "unknown field: full_name"),
    ],
)
def test_contract_violations_name_the_field_and_the_reason(overrides, reason):
    assert reason_for(valid_event(**overrides)) == reason


def test_integers_are_accepted_where_doubles_are_expected():
    validate_event(valid_event(latitude=45, longitude=-7))


def test_encoding_round_trips_through_decoding():
    event = valid_event(city="Zürich")
    raw = encode_event(event)
    assert "Zürich".encode() in raw  # UTF-8 on the wire, not \\u escapes
    assert decode_event(raw) == event


def test_encoding_refuses_an_invalid_event():
    with pytest.raises(ValidationError, match="country: required field missing"):
        encode_event({k: v for k, v in valid_event().items() if k != "country"})


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "malformed JSON: "),
        (b"\xff\xfe", "malformed JSON: "),
        (b"[1, 2]", "expected a JSON object, got array"),
        (b"null", "expected a JSON object, got null"),
        (b'{"event_id": "x", "event_time": null}', "event_time: expected `datetime`, got `null`"),
        (json.dumps({"event_id": "x"}).encode(), "event_time: required field missing"),
    ],
)
def test_decoding_rejects_what_is_not_a_valid_event(raw, reason):
    with pytest.raises(ValidationError) as caught:
        decode_event(raw)
    assert caught.value.reason.startswith(reason)


def test_json_schema_lists_every_field_with_its_json_type():
    schema = json_schema()
    expected_types = {
        FieldType.STRING: "string",
        FieldType.INTEGER: "integer",
        FieldType.DOUBLE: "number",
        FieldType.TIMESTAMP: "string",
    }
    assert list(schema["properties"]) == [field.name for field in EVENT_FIELDS]
    assert schema["required"] == [
        "event_id",
        "event_time",
        "schema_version",
        "user_id",
        "first_name",
        "last_name",
        "email_hash",
        "country",
        "source",
    ]
    assert schema["additionalProperties"] is False
    for field in EVENT_FIELDS:
        spec = schema["properties"][field.name]
        if not field.required:
            assert spec["anyOf"][1] == {"type": "null"}
            spec = spec["anyOf"][0]
        assert spec["type"] == expected_types[field.type]
        assert spec.get("maxLength") == field.max_length


def test_json_schema_carries_ranges_and_timestamp_format():
    properties = json_schema()["properties"]
    assert properties["event_time"]["format"] == "date-time"
    assert properties["latitude"]["anyOf"][0]["minimum"] == -90.0
    assert properties["longitude"]["anyOf"][0]["maximum"] == 180.0


def test_json_schema_is_serialisable_for_the_registry():
    assert json.loads(json.dumps(json_schema())) == json_schema()


def test_cassandra_ddl_has_one_typed_column_per_field_and_the_event_id_key():
    assert cassandra_table_ddl("shop", "orders") == (
        "CREATE TABLE IF NOT EXISTS shop.orders (\n"
        "  event_id text,\n"
        "  event_time timestamp,\n"
        "  schema_version int,\n"
        "  user_id text,\n"
        "  username text,\n"
        "  first_name text,\n"
        "  last_name text,\n"
        "  gender text,\n"
        "  email_hash text,\n"
        "  postcode_hash text,\n"
        "  city text,\n"
        "  state text,\n"
        "  country text,\n"
        "  nationality text,\n"
        "  latitude double,\n"
        "  longitude double,\n"
        "  age int,\n"
        "  registered_at timestamp,\n"
        "  source text,\n"
        "  ingested_at timestamp,\n"
        "  PRIMARY KEY (event_id)\n"
        ");"
    )


def test_encoding_refuses_nan_which_the_encoder_would_write_as_null():
    with pytest.raises(ValidationError, match="latitude"):
        encode_event(valid_event(latitude=float("nan")))


def test_integer_fields_are_bounded_within_cql_int():
    integers = {field.name: (field.minimum, field.maximum) for field in EVENT_FIELDS if field.type is FieldType.INTEGER}
    assert integers == {"schema_version": (CONTRACT_VERSION, CONTRACT_VERSION), "age": (0, 150)}
    assert all(-(2**31) <= low <= high <= 2**31 - 1 for low, high in integers.values())


def test_json_schema_refuses_what_the_decoder_refuses():
    properties = json_schema()["properties"]
    assert properties["schema_version"]["const"] == CONTRACT_VERSION
    assert properties["first_name"]["minLength"] == 1
    assert "minLength" not in properties["city"]["anyOf"][0]
    assert properties["age"]["anyOf"][0] | {"description": ""} == {
        "type": "integer",
        "minimum": 0,
        "maximum": 150,
        "description": "",
    }


# msgspec's typed decoder reads a JSON integer beyond 64 bits as a float, so its reason says `float`
# where the check on Python values says `int`: the verdict agrees (see the test below), the word does not.
INT64_TO_UINT64 = st.integers(min_value=-(2**63), max_value=2**64 - 1)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | INT64_TO_UINT64
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda children: st.lists(children, max_size=2) | st.dictionaries(st.text(max_size=3), children, max_size=2),
    max_leaves=4,
)
FIELD_VALUES = st.sampled_from(
    ["", "x" * 65, "2024-05-01T12:00:00Z", "2024-05-01T12:00:00", 1, -1, 151, 2**31, 1.5, 91.0, True, None]
)


@settings(max_examples=300, deadline=None)
@given(
    changes=st.dictionaries(
        st.sampled_from([field.name for field in EVENT_FIELDS] + ["nickname"]), FIELD_VALUES | JSON_VALUES, max_size=3
    )
)
def test_the_producer_check_and_the_job_decoder_give_one_verdict(changes):
    """validate_event (producer, on Python values) and decode_event (job, on bytes) agree, reason and all."""
    event = valid_event() | changes
    try:
        validate_event(event)
    except ValidationError as refused:
        with pytest.raises(ValidationError) as decoded:
            decode_event(json.dumps(event))
        assert decoded.value.reason == refused.reason
    else:
        assert decode_event(encode_event(event)) == event


@pytest.mark.parametrize("beyond_64_bits", [-(2**63) - 1, 2**64, 10**30])
@pytest.mark.parametrize("field", ["event_id", "age"])
def test_integers_beyond_64_bits_are_refused_by_both_checks(field, beyond_64_bits):
    event = valid_event() | {field: beyond_64_bits}
    with pytest.raises(ValidationError, match=f"^{field}: "):
        validate_event(event)
    with pytest.raises(ValidationError, match=f"^{field}: "):
        decode_event(json.dumps(event))
