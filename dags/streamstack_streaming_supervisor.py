"""Streaming-job supervisor: keep the streaming query running, and fail loudly when it keeps dying.

Every few minutes the Spark master is asked whether the query's application is alive. If not, the
deployment's streaming-job service is restarted (container restart on Docker, pod recreated by its
controller on Kubernetes): its driver submits the query to the master again from the same
checkpoint, and the run waits until the master lists it. When the query died too often within the window, the run fails
with the application ids and states instead of feeding a crash loop.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from airflow.exceptions import AirflowFailException
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Param, PokeReturnValue, Variable, task
from streamstack_checks.deployment import VARIABLE_KEY, parse_deployment
from streamstack_checks.spark_master import Action, alive_apps, judge_streaming_query
from streamstack_tasks.dag_defaults import dag_arguments
from streamstack_tasks.launch import restart_streaming_job
from streamstack_tasks.stores import spark_master_status

log = logging.getLogger(__name__)

with DAG(
    dag_id="streamstack_streaming_supervisor",
    description="Resubmit the streaming query when it is not running; fail when it keeps dying",
    schedule="*/5 * * * *",
    params={
        "max_deaths": Param(3, type="integer", minimum=1, description="deaths within the window before giving up"),
        "death_window_minutes": Param(60, type="integer", minimum=1, description="how far back deaths count"),
    },
    tags=["streamstack", "streaming"],
    doc_md=__doc__,
    **dag_arguments(retries=1, retry_delay=timedelta(minutes=1), execution_timeout=timedelta(minutes=15)),
) as dag:

    @task.branch
    def inspect_streaming_query(params: dict[str, int]) -> str:
        verdict = judge_streaming_query(
            spark_master_status(),
            now=datetime.now(UTC),
            window=timedelta(minutes=params["death_window_minutes"]),
            max_deaths=params["max_deaths"],
        )
        if verdict.action is Action.GIVE_UP:
            raise AirflowFailException(verdict.reason)
        log.info(verdict.reason)
        return "query_running" if verdict.action is Action.KEEP else "resubmit_streaming_query"

    @task
    def resubmit_streaming_query() -> list[str]:
        """Restart the job's service; its driver submits the query to the Spark master on start."""
        return restart_streaming_job(parse_deployment(Variable.get(VARIABLE_KEY)))

    @task.sensor(poke_interval=15, timeout=600, mode="reschedule")
    def wait_for_streaming_query() -> PokeReturnValue:
        running = alive_apps(spark_master_status())
        return PokeReturnValue(is_done=bool(running), xcom_value=[app.app_id for app in running])

    inspect = inspect_streaming_query()
    inspect >> EmptyOperator(task_id="query_running")
    inspect >> resubmit_streaming_query() >> wait_for_streaming_query()
