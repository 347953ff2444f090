"""Data quality: did what was produced in the last hour land, and how much was rejected?

For the run's data interval, the events topic says what was produced; each sink in use
(Cassandra, S3, HDFS) is asked which of those event ids it holds; the dead-letter topic says how
many were rejected. The last task fails with all the numbers when a sink misses events, holds
more than the accepted ones, or the dead-letter rate is above the deployment's threshold.
Every task reads the interval's records from Kafka itself: event ids are too many for XCom, and
each task stays retryable on its own.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from airflow.exceptions import AirflowFailException
from airflow.providers.standard.sensors.time_delta import TimeDeltaSensor
from airflow.sdk import DAG, Param, Variable, task
from airflow.timetables.trigger import CronTriggerTimetable
from streamstack_checks.deployment import VARIABLE_KEY, Deployment, parse_deployment
from streamstack_checks.quality import (
    Interval,
    assess_interval,
    event_ids,
    produced_counts,
    summarize_produced,
)
from streamstack_tasks.dag_defaults import dag_arguments
from streamstack_tasks.kafka_window import read_window
from streamstack_tasks.stores import cassandra_matches, hdfs_event_ids, kafka_client_config, s3_event_ids

LANDING_GRACE = timedelta(minutes=10)  # events produced at the interval's end need a few triggers to land

log = logging.getLogger(__name__)


def _deployment() -> Deployment:
    return parse_deployment(Variable.get(VARIABLE_KEY))


def _interval(data_interval_start: datetime, data_interval_end: datetime) -> Interval:
    return Interval(data_interval_start.astimezone(UTC), data_interval_end.astimezone(UTC))


def _window_ids(deployment: Deployment, interval: Interval) -> frozenset[str]:
    return event_ids(read_window(kafka_client_config(), deployment.events_topic, interval.start_ms, interval.end_ms))


with DAG(
    dag_id="streamstack_data_quality",
    description="Compare produced events with Cassandra rows and S3/HDFS files; check the dead-letter rate",
    schedule=CronTriggerTimetable("0 * * * *", timezone="UTC", interval=timedelta(hours=1)),
    params={"min_produced": Param(1, type="integer", minimum=0, description="fewer events means ingestion stopped")},
    tags=["streamstack", "data-quality"],
    doc_md=__doc__,
    **dag_arguments(retries=2, retry_delay=timedelta(minutes=2), execution_timeout=timedelta(minutes=30)),
) as dag:
    wait_for_landing = TimeDeltaSensor(task_id="wait_for_landing", delta=LANDING_GRACE, mode="reschedule")

    @task
    def count_produced(data_interval_start: datetime, data_interval_end: datetime) -> dict[str, int]:
        deployment = _deployment()
        interval = _interval(data_interval_start, data_interval_end)
        config = kafka_client_config()
        records = read_window(config, deployment.events_topic, interval.start_ms, interval.end_ms)
        dead_letters = (record.value for record in read_window(config, deployment.dead_letter_topic, interval.start_ms))
        counts = produced_counts(summarize_produced(records, dead_letters))
        log.info("interval %s: %s", interval, counts)
        return counts

    @task
    def count_in_cassandra(data_interval_start: datetime, data_interval_end: datetime) -> int | None:
        """Rows among the interval's event ids; None when Cassandra is not a sink."""
        deployment = _deployment()
        if "cassandra" not in deployment.sinks:
            return None
        return cassandra_matches(deployment, _window_ids(deployment, _interval(data_interval_start, data_interval_end)))

    @task
    def count_in_s3(data_interval_start: datetime, data_interval_end: datetime) -> int | None:
        deployment = _deployment()
        if "s3" not in deployment.sinks:
            return None
        interval = _interval(data_interval_start, data_interval_end)
        return len(_window_ids(deployment, interval) & s3_event_ids(deployment, interval))

    @task
    def count_in_hdfs(data_interval_start: datetime, data_interval_end: datetime) -> int | None:
        deployment = _deployment()
        if "hdfs" not in deployment.sinks:
            return None
        interval = _interval(data_interval_start, data_interval_end)
        return len(_window_ids(deployment, interval) & hdfs_event_ids(deployment, interval))

    @task(retries=0)
    def assess(
        *,
        produced: dict[str, int],
        cassandra: int | None,
        s3: int | None,
        hdfs: int | None,
        data_interval_start: datetime,
        data_interval_end: datetime,
        params: dict[str, int],
    ) -> str:
        by_sink = {"cassandra": cassandra, "s3": s3, "hdfs": hdfs}
        found = {sink: count for sink, count in by_sink.items() if count is not None}
        report = assess_interval(
            _interval(data_interval_start, data_interval_end),
            produced,
            found,
            dead_letter_rate_threshold=_deployment().dead_letter_rate_threshold,
            min_produced=params["min_produced"],
        )
        if report.problems:
            raise AirflowFailException(f"{report.summary()}; problems: {'; '.join(report.problems)}")
        log.info(report.summary())
        return report.summary()

    produced, cassandra, s3, hdfs = count_produced(), count_in_cassandra(), count_in_s3(), count_in_hdfs()
    wait_for_landing >> [produced, cassandra, s3, hdfs]
    assess(produced=produced, cassandra=cassandra, s3=s3, hdfs=hdfs)
