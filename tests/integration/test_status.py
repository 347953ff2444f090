"""`make status`'s data-flow probes against the real local servers: Tansu, Cassandra 3.11 and moto S3.

WebHDFS is not among them (the PyPI HDFS has no NameNode web application), so the HDFS probe is tested
against a stub of its documented reply in tests/unit/test_status.py.
"""

import time

import pytest
from confluent_kafka import Producer, TopicPartition

from tools.status import Flow, cassandra_rows, consumer_lag, events_per_second, measure_flow, s3_files, verdict
from workloads.contract import cassandra_table_ddl
from workloads.streaming_job.progress import kafka_group_commit

pytestmark = pytest.mark.integration


def produce(bootstrap: str, topic: str, count: int) -> None:
    """One message per produce request: Tansu's end offsets count requests, not messages (its known quirk),
    where Apache Kafka's count messages."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    for number in range(count):
        producer.produce(topic, f"event-{number}".encode(), key=str(number).encode())
        assert producer.flush(30) == 0


def test_the_event_rate_counts_what_arrives_in_the_topic_during_the_window(kafka_broker):
    topic = kafka_broker.create_topic(partitions=3)
    produce(kafka_broker.bootstrap, topic, 40)  # before the window: not counted

    def produce_during_window(seconds: float) -> None:
        produce(kafka_broker.bootstrap, topic, 30)
        time.sleep(seconds)

    rate = events_per_second(kafka_broker.bootstrap, topic, 1.0, sleep=produce_during_window)
    assert 30 / 3.0 < rate <= 30 / 1.0


def test_the_job_lag_is_the_topic_end_minus_the_offsets_the_job_commits(kafka_broker):
    topic = kafka_broker.create_topic(partitions=2)
    group = f"job-{topic}"
    produce(kafka_broker.bootstrap, topic, 50)
    assert consumer_lag(kafka_broker.bootstrap, topic, group) is None  # nothing committed yet

    commit = kafka_group_commit(kafka_broker.bootstrap, group)
    ends = {partition: kafka_broker_end(kafka_broker.bootstrap, topic, partition) for partition in (0, 1)}
    commit([TopicPartition(topic, 0, ends[0] - 3), TopicPartition(topic, 1, ends[1] - 4)])
    deadline = time.monotonic() + 15  # the commit is asynchronous
    while (lag := consumer_lag(kafka_broker.bootstrap, topic, group)) != 7 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert lag == 7


def kafka_broker_end(bootstrap: str, topic: str, partition: int) -> int:
    from confluent_kafka import Consumer

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "probe"})
    try:
        return consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)[1]
    finally:
        consumer.close()


def test_rows_in_cassandra_are_counted(cassandra_server, cassandra_keyspace):
    cluster, session = cassandra_server.connect(cassandra_keyspace)
    try:
        session.execute(cassandra_table_ddl(cassandra_keyspace, "events"))
        for number in range(7):
            session.execute(f"INSERT INTO events (event_id, first_name) VALUES ('e-{number}', 'Ada')")
    finally:
        cluster.shutdown()
    contact = f"{cassandra_server.host}:{cassandra_server.port}"
    assert (
        cassandra_rows(contact, cassandra_server.username, cassandra_server.password, cassandra_keyspace, "events") == 7
    )


def test_parquet_files_in_the_bucket_are_counted_under_the_prefix(s3_server, s3_bucket):
    client = s3_server.client()
    for key in ("events/event_date=2026-12-01/a.parquet", "events/event_date=2026-12-02/b.parquet",
                "events/_manifests/batch-1", "dead_letters/c.parquet"):  # fmt: skip
        client.put_object(Bucket=s3_bucket, Key=key, Body=b"x")
    files = s3_files(s3_server.endpoint, s3_server.access_key, s3_server.secret_key, s3_bucket, "events/")
    assert files == 2


def test_a_running_pipeline_reads_as_flowing_and_a_dead_store_as_the_reason(kafka_broker, s3_server, s3_bucket):
    from components.settings import parse_settings

    topic = kafka_broker.create_topic()
    config = {
        "streamstack:sinks": '["s3"]',
        "streamstack:kafka": f'{{"topic": "{topic}"}}',
        "streamstack:objectStore": f'{{"bucket": "{s3_bucket}"}}',
        "streamstack:hdfs": '{"enabled": false}',
    }
    settings = parse_settings(config, [], "streamstack", "local")
    outputs = {"kafkaBootstrapServers": kafka_broker.bootstrap, "s3Endpoint": s3_server.endpoint}
    job_env = {"S3_ACCESS_KEY": s3_server.access_key, "S3_SECRET_KEY": s3_server.secret_key}
    log = "INFO batch=4 rows=10 valid=9 dead_lettered=1 written: s3=9 dead_letters.kafka=1 duration=0.40s\n"
    s3_server.client().put_object(Bucket=s3_bucket, Key="events/x.parquet", Body=b"x")
    produce(kafka_broker.bootstrap, topic, 5)

    flow = measure_flow(settings, outputs, job_env, log, window_s=0.2)
    assert flow.problems == []
    assert flow.stores == {"s3 parquet files": 1}
    assert (
        flow.last_batch == "batch=4 rows=10 valid=9 dead_lettered=1 written: s3=9 dead_letters.kafka=1 duration=0.40s"
    )
    assert flow.events_per_second == 0.0
    assert verdict([], flow) == (
        False,
        "not flowing: no events arrived in the topic during the window (make logs SERVICE=producer)",
    )
    assert verdict([], Flow(events_per_second=12.5, lag=3, last_batch=flow.last_batch)) == (
        True,
        "flowing: 12.5 events/s, lag 3",
    )

    dead = measure_flow(settings, outputs | {"s3Endpoint": "http://127.0.0.1:9"}, job_env, log, window_s=0.1)
    assert [problem.split(":")[0] for problem in dead.problems] == ["s3"]
