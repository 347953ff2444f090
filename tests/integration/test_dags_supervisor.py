"""`airflow dags test` runs the supervisor's judgement against a real Spark standalone master.

The master is the `spark_master` fixture (tests/fixtures/spark.py); drivers named like the streaming query
register with it from a separate Python process. Restarting the job's service needs the
deployment's container engine or cluster, so that task and the wait after it are marked
successful instead of run.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from dags.streamstack_checks.spark_master import STREAMING_APP_NAME
from tests.fixtures.airflow import AirflowInstallation, airflow_connection, deployment_facts
from tests.fixtures.spark import SparkMaster

pytestmark = pytest.mark.integration

_NOT_RUN = "^(resubmit_streaming_query|wait_for_streaming_query)$"

# A driver named like the streaming query: `hold` keeps one registered until stdin closes,
# `die N` registers and stops N times (each a completed application on the master).
_DRIVER = """
import sys
from pyspark.sql import SparkSession
master, app_name, mode, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def session():
    return (SparkSession.builder.master(master).appName(app_name).config("spark.ui.enabled", "false")
            .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1").getOrCreate())
if mode == "hold":
    spark = session()
    print("registered", flush=True)
    sys.stdin.read()
    spark.stop()
else:
    for _ in range(count):
        session().stop()
"""


def start_driver(master: SparkMaster, mode: str, count: int = 1) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _DRIVER, master.url, STREAMING_APP_NAME, mode, str(count)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def run_supervisor(airflow: AirflowInstallation, master: SparkMaster, max_deaths: int = 3) -> tuple[int, str]:
    host, port = master.url.rsplit(":", 1)
    env = {
        "AIRFLOW_VAR_STREAMSTACK_DEPLOYMENT": json.dumps(deployment_facts("events", "dead-letters", "ks", "bucket")),
        "AIRFLOW_CONN_STREAMSTACK_SPARK": airflow_connection(
            "spark", host=host, port=int(port), extra={"master_ui_port": master.ui_port}
        ),
    }
    done = airflow.run(
        "dags", "test", "streamstack_streaming_supervisor", "--mark-success-pattern", _NOT_RUN,
        "--conf", json.dumps({"max_deaths": max_deaths}), env=env,
    )  # fmt: skip
    return done.returncode, done.stdout + done.stderr


def test_a_query_that_is_not_running_is_resubmitted(airflow, spark_master):
    returncode, output = run_supervisor(airflow, spark_master)

    assert returncode == 0, output
    assert f"{STREAMING_APP_NAME} is not running (0 deaths in the last 60 min)" in output


def test_a_running_query_is_left_alone(airflow, spark_master):
    driver = start_driver(spark_master, "hold")
    try:
        assert driver.stdout.readline().strip() == "registered"
        app_id = spark_master.status()["activeapps"][0]["id"]

        returncode, output = run_supervisor(airflow, spark_master)
    finally:
        driver.communicate(timeout=60)

    assert returncode == 0, output
    assert f"{STREAMING_APP_NAME} is alive: {app_id} (" in output


def test_a_query_that_keeps_dying_fails_the_run_with_its_deaths(airflow, spark_master):
    assert start_driver(spark_master, "die", count=2).wait(timeout=180) == 0
    dead = sorted(app["id"] for app in spark_master.status()["completedapps"])

    returncode, output = run_supervisor(airflow, spark_master, max_deaths=2)

    assert len(dead) == 2
    assert returncode != 0
    assert f"{STREAMING_APP_NAME} died 2 times in the last 60 min (limit 2): {dead[0]} FINISHED" in output
