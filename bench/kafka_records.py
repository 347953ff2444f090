"""Kafka-shaped input for the Spark stages: the producer's synthetic events as Kafka values, written once to
Parquet with the Kafka source's schema, so every plan reads the same rows from the same files."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tests.fixtures.spark import KAFKA_SOURCE_ARROW_SCHEMA
from workloads.contract import encode_event
from workloads.producer.sources import SYNTHETIC, SyntheticSource
from workloads.producer.transform import contract_time, to_event

TOPIC = "events"
PARTITIONS = 3
FILE_ROWS = 10_000  # Spark packs the files into one partition per core


def invalid_value(valid: dict[str, Any], rng: random.Random) -> bytes:
    """One of the ways a record breaks the contract: bad JSON, a wrong type, an unknown or a missing field."""
    kind = rng.randrange(4)
    if kind == 0:
        return encode_event(valid)[:-20]
    if kind == 1:
        broken: dict[str, Any] = valid | {"age": str(valid["age"])}
    elif kind == 2:
        broken = valid | {"nickname": valid["username"]}
    else:
        broken = {name: value for name, value in valid.items() if name != "event_id"}
    return json.dumps(broken, separators=(",", ":")).encode()


def write_kafka_records(directory: Path, count: int, invalid_fraction: float, *, seed: int = 1) -> float:
    """Kafka-source rows as Parquet files of FILE_ROWS rows; returns the mean value size in bytes.

    Values are producer events, keys their user ids, offsets round-robin over PARTITIONS, timestamps 1 ms apart.
    """
    directory.mkdir(parents=True)
    source, rng = SyntheticSource(seed=seed), random.Random(seed + 6)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    value_bytes = 0
    for first in range(0, count, FILE_ROWS):
        columns: dict[str, list[Any]] = {name: [] for name in KAFKA_SOURCE_ARROW_SCHEMA.names}
        for offset, profile in enumerate(source.fetch(min(FILE_ROWS, count - first)).profiles, start=first):
            timestamp = start + timedelta(milliseconds=offset)
            event = to_event(profile, source=SYNTHETIC, pseudonym_key=b"bench", event_time=contract_time(timestamp))
            value = invalid_value(event, rng) if rng.random() < invalid_fraction else encode_event(event)
            row = (event["user_id"].encode(), value, TOPIC, offset % PARTITIONS, offset // PARTITIONS, timestamp, 0)
            for name, cell in zip(KAFKA_SOURCE_ARROW_SCHEMA.names, row, strict=True):
                columns[name].append(cell)
            value_bytes += len(value)
        pq.write_table(pa.table(columns, schema=KAFKA_SOURCE_ARROW_SCHEMA), directory / f"records-{first:09d}.parquet")
    return value_bytes / count
