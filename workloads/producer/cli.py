"""Command line and environment of the producer (docs/interfaces.md); flags win over variables."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from workloads.contract import json_schema
from workloads.producer.kafka_sink import KafkaSink, producer_config
from workloads.producer.postgres_sink import PipelineDatabase, PostgresSink, connector
from workloads.producer.runner import EventProducer, EventSink, Limits
from workloads.producer.schema_registry import RegistrationError, register_schema
from workloads.producer.sources import (
    RANDOMUSER,
    RANDOMUSER_MAX_RESULTS,
    SYNTHETIC,
    FallbackSource,
    ProfileSource,
    RandomUserSource,
    SyntheticSource,
)

log = logging.getLogger("workloads.producer")

EXIT_OK = 0
EXIT_UNDELIVERED = 1
EXIT_USAGE = 2
EXIT_SCHEMA_REGISTRY = 3

DEFAULT_RANDOMUSER_URL = "https://randomuser.me/api/"

_EPILOG = f"""\
exit status: {EXIT_OK} every event sent was delivered; {EXIT_UNDELIVERED} some were not (failed or still in flight
at shutdown); {EXIT_USAGE} bad usage; {EXIT_SCHEMA_REGISTRY} the contract could not be registered.
SIGTERM/SIGINT stop the run: in-flight events are flushed and a summary is logged."""


KAFKA, POSTGRES = "kafka", "postgres"


@dataclass(frozen=True)
class Settings:
    sink: str
    bootstrap_servers: str | None
    topic: str | None
    pipeline_database: PipelineDatabase | None
    events_per_second: float
    source: str
    randomuser_url: str
    pseudonym_key: bytes
    schema_registry_url: str | None
    health_file: Path | None
    limits: Limits
    progress_interval_s: float
    batch_size: int
    seed: int
    delivery_timeout_s: float
    http_timeout_s: float
    http_retries: int
    fallback_for_s: float


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _batch_size(text: str) -> int:
    value = _positive_int(text)
    if value > RANDOMUSER_MAX_RESULTS:
        raise argparse.ArgumentTypeError(f"at most {RANDOMUSER_MAX_RESULTS} (the API's limit), got {text}")
    return value


def build_parser(environ: Mapping[str, str]) -> argparse.ArgumentParser:
    """Flags whose defaults come from the environment, so either way of configuring works."""
    parser = argparse.ArgumentParser(
        prog="python -m workloads.producer",
        description="Turn random user profiles into contract events on Kafka.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--sink",
        choices=(KAFKA, POSTGRES),
        default=environ.get("PRODUCER_SINK", KAFKA),
        help="kafka: the events topic; postgres: the pipeline database's table, for change data capture "
        "(env PRODUCER_SINK, default kafka)",
    )
    kafka = parser.add_argument_group("Kafka")
    kafka.add_argument(
        "--bootstrap-servers",
        default=environ.get("KAFKA_BOOTSTRAP_SERVERS"),
        help="host:port[,host:port] (env KAFKA_BOOTSTRAP_SERVERS)",
    )
    kafka.add_argument("--topic", default=environ.get("EVENTS_TOPIC"), help="events topic (env EVENTS_TOPIC)")
    kafka.add_argument(
        "--delivery-timeout",
        type=_positive_float,
        default=60.0,
        metavar="SECONDS",
        help="an event not acknowledged within this is reported failed (default 60)",
    )
    kafka.add_argument(
        "--schema-registry-url",
        default=environ.get("SCHEMA_REGISTRY_URL") or None,
        help="register the contract under <topic>-value here first (env SCHEMA_REGISTRY_URL)",
    )
    database = parser.add_argument_group("pipeline database (--sink postgres; password: env PIPELINE_DB_PASSWORD)")
    database.add_argument("--db-host", default=environ.get("PIPELINE_DB_HOST"), help="env PIPELINE_DB_HOST")
    database.add_argument(
        "--db-port", type=_positive_int, default=environ.get("PIPELINE_DB_PORT", "5432"), help="env PIPELINE_DB_PORT"
    )
    database.add_argument("--db-name", default=environ.get("PIPELINE_DB_NAME", "pipeline"), help="env PIPELINE_DB_NAME")
    database.add_argument("--db-user", default=environ.get("PIPELINE_DB_USER", "pipeline"), help="env PIPELINE_DB_USER")
    database.add_argument("--db-table", default=environ.get("PIPELINE_DB_TABLE", "users"), help="env PIPELINE_DB_TABLE")
    source = parser.add_argument_group("source")
    source.add_argument(
        "--source",
        choices=(RANDOMUSER, SYNTHETIC),
        default=environ.get("PRODUCER_SOURCE", RANDOMUSER),
        help="randomuser falls back to synthetic while the API is unreachable (env PRODUCER_SOURCE)",
    )
    source.add_argument(
        "--randomuser-url",
        default=environ.get("RANDOMUSER_URL", DEFAULT_RANDOMUSER_URL),
        help=f"API base URL (env RANDOMUSER_URL, default {DEFAULT_RANDOMUSER_URL})",
    )
    source.add_argument("--batch-size", type=_batch_size, default=100, help="profiles per API request (default 100)")
    source.add_argument(
        "--http-timeout", type=_positive_float, default=10.0, metavar="SECONDS", help="per API request (default 10)"
    )
    source.add_argument("--http-retries", type=int, default=3, help="retries per API request (default 3)")
    source.add_argument(
        "--fallback-for",
        type=_positive_float,
        default=300.0,
        metavar="SECONDS",
        help="after the API failed, use synthetic profiles this long before trying it again",
    )
    source.add_argument("--seed", type=int, default=0, help="seed of the synthetic source (default 0)")
    source.add_argument(
        "--pseudonym-key-file",
        type=Path,
        help="file holding the keyed-hash secret (else env PSEUDONYM_KEY; kept off the command line)",
    )
    run = parser.add_argument_group("run")
    run.add_argument(
        "--events-per-second",
        type=_positive_float,
        default=environ.get("EVENTS_PER_SECOND", "50"),
        help="target rate (env EVENTS_PER_SECOND, default 50)",
    )
    run.add_argument("--count", type=_positive_int, help="stop after this many records (sent or rejected)")
    run.add_argument("--duration", type=_positive_float, metavar="SECONDS", help="stop after this long")
    run.add_argument(
        "--progress-interval",
        type=_positive_float,
        default=10.0,
        metavar="SECONDS",
        help="progress line and health-file touch interval (default 10)",
    )
    run.add_argument(
        "--health-file",
        type=Path,
        default=environ.get("HEALTH_FILE") or None,
        help="touched at every progress interval while healthy (env HEALTH_FILE)",
    )
    return parser


def parse_settings(argv: Sequence[str], environ: Mapping[str, str]) -> Settings:
    """Settings from flags and environment; exits with usage status on anything missing or invalid."""
    parser = build_parser(environ)
    args = parser.parse_args(argv)
    database = None
    if args.sink == KAFKA:
        if not args.bootstrap_servers:
            parser.error("--bootstrap-servers or KAFKA_BOOTSTRAP_SERVERS is required")
        if not args.topic:
            parser.error("--topic or EVENTS_TOPIC is required")
    else:
        if not args.db_host:
            parser.error("--db-host or PIPELINE_DB_HOST is required with --sink postgres")
        if not environ.get("PIPELINE_DB_PASSWORD"):
            parser.error("PIPELINE_DB_PASSWORD is required with --sink postgres")
        database = PipelineDatabase(
            args.db_host, args.db_port, args.db_name, args.db_user, environ["PIPELINE_DB_PASSWORD"], args.db_table
        )
    if args.schema_registry_url and not args.topic:
        parser.error("--topic or EVENTS_TOPIC is required to register the contract under <topic>-value")
    key = args.pseudonym_key_file.read_bytes().strip() if args.pseudonym_key_file else environ.get("PSEUDONYM_KEY", "")
    key_bytes = key.encode() if isinstance(key, str) else key
    if not key_bytes:
        parser.error(
            "a pseudonym key is required (PSEUDONYM_KEY or --pseudonym-key-file): hashes without one are reversible"
        )
    return Settings(
        sink=args.sink,
        bootstrap_servers=args.bootstrap_servers,
        topic=args.topic,
        pipeline_database=database,
        events_per_second=args.events_per_second,
        source=args.source,
        randomuser_url=args.randomuser_url,
        pseudonym_key=key_bytes,
        schema_registry_url=args.schema_registry_url,
        health_file=args.health_file,
        limits=Limits(count=args.count, duration_s=args.duration),
        progress_interval_s=args.progress_interval,
        batch_size=args.batch_size,
        seed=args.seed,
        delivery_timeout_s=args.delivery_timeout,
        http_timeout_s=args.http_timeout,
        http_retries=args.http_retries,
        fallback_for_s=args.fallback_for,
    )


def _http_policy(settings: Settings, stop: threading.Event) -> dict[str, Any]:
    """Keyword arguments of every HTTP call of a run (randomuser API, schema registry): the same
    timeout and retries, with backoff waits that a stop request cuts short."""
    return {"timeout_s": settings.http_timeout_s, "retries": settings.http_retries, "sleep": stop.wait}


def build_source(settings: Settings, stop: threading.Event) -> ProfileSource:
    synthetic = SyntheticSource(settings.seed)
    if settings.source == SYNTHETIC:
        return synthetic
    api = RandomUserSource(settings.randomuser_url, **_http_policy(settings, stop))
    return FallbackSource(api, synthetic, retry_primary_after_s=settings.fallback_for_s)


def build_sink(settings: Settings) -> EventSink:
    database = settings.pipeline_database
    if database is not None:
        return PostgresSink(connector(database, settings.http_timeout_s), database.table)
    assert settings.bootstrap_servers is not None  # parse_settings requires it for the Kafka sink
    return KafkaSink(
        producer_config(
            settings.bootstrap_servers, delivery_timeout_s=settings.delivery_timeout_s, client_id="streamstack-producer"
        )
    )


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr)
    settings = parse_settings(sys.argv[1:] if argv is None else argv, os.environ if environ is None else environ)
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s: finishing up", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    if settings.schema_registry_url and settings.topic:
        try:
            schema_id = register_schema(
                settings.schema_registry_url, settings.topic, json_schema(), **_http_policy(settings, stop)
            )
        except RegistrationError as error:
            log.error("%s", error)
            return EXIT_SCHEMA_REGISTRY
        log.info("contract registered as schema id %d under %s-value", schema_id, settings.topic)

    sink = build_sink(settings)
    producer = EventProducer(
        source=build_source(settings, stop),
        sink=sink,
        topic=settings.topic or "",
        pseudonym_key=settings.pseudonym_key,
        events_per_second=settings.events_per_second,
        batch_size=settings.batch_size,
        progress_interval_s=settings.progress_interval_s,
        delivery_timeout_s=settings.delivery_timeout_s,
        health_file=settings.health_file,
        stop=stop,
        report=log.info,
    )
    summary = producer.run(settings.limits)
    if summary.ok:
        log.info("%s", summary.describe())
        return EXIT_OK
    log.error("%s; last error: %s", summary.describe(), summary.fatal_error or sink.last_error)
    return EXIT_UNDELIVERED
