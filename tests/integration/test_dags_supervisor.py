"""`airflow dags test` runs the supervisor's judgement against a real Spark standalone master.

The master comes from the pyspark the tests install; drivers named like the streaming query
register with it from a separate Python process. Restarting the job's service needs the
deployment's container engine or cluster, so that task and the wait after it are marked
successful instead of run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyspark
import pytest

from dags.streamstack_checks.spark_master import STREAMING_APP_NAME
from tests.fixtures.airflow import AirflowInstallation, airflow_connection, deployment_facts
from tests.fixtures.kafka_broker import free_port

pytestmark = pytest.mark.integration

_STARTUP_TIMEOUT_S = 60.0
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


@dataclass
class SparkMaster:
    url: str
    ui_port: int
    process: subprocess.Popen[bytes]

    def status(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ui_port}/json/", timeout=5) as response:
            return json.load(response)

    def driver(self, mode: str, count: int = 1) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-c", _DRIVER, self.url, STREAMING_APP_NAME, mode, str(count)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )


@pytest.fixture
def spark_master(tmp_path: Path) -> Iterator[SparkMaster]:
    """A fresh standalone master per test, so applications of one test never count in another."""
    spark_home = Path(pyspark.__file__).parent
    port, ui_port = free_port(), free_port()
    log_path = tmp_path / "spark-master.log"
    command = [str(spark_home / "bin" / "spark-class"), "org.apache.spark.deploy.master.Master",
               "--host", "127.0.0.1", "--port", str(port), "--webui-port", str(ui_port)]  # fmt: skip
    env = {**os.environ, "SPARK_HOME": str(spark_home), "SPARK_DAEMON_MEMORY": "256m", "SPARK_LOG_DIR": str(tmp_path)}
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    master = SparkMaster(f"spark://127.0.0.1:{port}", ui_port, process)
    deadline = time.monotonic() + _STARTUP_TIMEOUT_S
    while process.poll() is None and time.monotonic() < deadline:
        try:
            if master.status().get("status") == "ALIVE":
                break
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail(f"Spark master did not start; log:\n{log_path.read_text()}", pytrace=False)
    yield master
    process.terminate()
    process.wait(timeout=30)


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
    driver = spark_master.driver("hold")
    try:
        assert driver.stdout.readline().strip() == "registered"
        app_id = spark_master.status()["activeapps"][0]["id"]

        returncode, output = run_supervisor(airflow, spark_master)
    finally:
        driver.communicate(timeout=60)

    assert returncode == 0, output
    assert f"{STREAMING_APP_NAME} is alive: {app_id} (" in output


def test_a_query_that_keeps_dying_fails_the_run_with_its_deaths(airflow, spark_master):
    assert spark_master.driver("die", count=2).wait(timeout=180) == 0
    dead = sorted(app["id"] for app in spark_master.status()["completedapps"])

    returncode, output = run_supervisor(airflow, spark_master, max_deaths=2)

    assert len(dead) == 2
    assert returncode != 0
    assert f"{STREAMING_APP_NAME} died 2 times in the last 60 min (limit 2): {dead[0]} FINISHED" in output
