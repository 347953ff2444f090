"""`make status`: its reading of the job's log, the HDFS probe, the replicas' problems and the verdict."""

import json
from types import SimpleNamespace

from tests.fixtures.stub_http import Reply
from tools.status import DockerEngine, Flow, Replica, connector_states, hdfs_files, last_batch, verdict
from workloads.streaming_job.batch_writer import BatchReport


def test_the_last_batch_is_read_back_from_the_line_the_job_logs():
    first = BatchReport(6, rows=4, valid=4, dead_lettered=0, written={"cassandra": 4}, duration_s=0.5).log_line()
    second = BatchReport(7, rows=10, valid=8, dead_lettered=2, written={"s3": 8}, duration_s=1.25).log_line()
    log = f"2026-12-02 10:00:00 INFO job {first}\nnoise\n2026-12-02 10:00:10 INFO job {second}\n"
    assert last_batch(log) == second == "batch=7 rows=10 valid=8 dead_lettered=2 written: s3=8 duration=1.25s"
    assert last_batch("starting\n") is None


def test_hdfs_files_come_from_webhdfs_content_summary(http_server):
    summary = {"ContentSummary": {"directoryCount": 3, "fileCount": 12, "length": 4096, "quota": -1}}
    http_server.replies = [Reply(200, json.dumps(summary).encode())]
    assert hdfs_files(http_server.url, "/streamstack/events") == 12
    (request,) = http_server.requests
    assert request.path == "/webhdfs/v1/streamstack/events"
    assert request.query["op"] == ["GETCONTENTSUMMARY"]


def test_connector_states_name_the_connector_and_task_that_is_not_running(http_server):
    def status(connector: str, *tasks: str) -> dict:
        listed = [{"id": i, "state": state, "worker_id": "w:8083"} for i, state in enumerate(tasks)]
        return {"status": {"connector": {"state": connector, "worker_id": "w:8083"}, "tasks": listed, "type": "source"}}

    found = {
        "cdc": status("RUNNING", "RUNNING", "FAILED"),
        "mirror": status("RUNNING", "RUNNING"),
        "idle": status("PAUSED"),
    }
    http_server.replies = [Reply(200, json.dumps(found).encode())]
    assert connector_states(http_server.url) == {
        "cdc": "task 1 FAILED",
        "idle": "connector PAUSED",
        "mirror": "RUNNING",
    }
    (request,) = http_server.requests
    assert (request.path, request.query["expand"]) == ("/connectors", ["status"])


def test_replicas_name_what_is_wrong_and_how_to_look():
    assert Replica("kafka", "streamstack-local-kafka-0", False, "running", "healthy").problem is None
    assert Replica("kafka", "k-0", False, "exited").problem == "k-0 is exited (make logs SERVICE=kafka)"
    assert (
        Replica("kafka", "k-0", False, "running", "unhealthy").problem == "k-0 is unhealthy (make logs SERVICE=kafka)"
    )
    assert Replica("hdfs-init", "h", True, "exited", exit_code=0).problem is None
    assert Replica("hdfs-init", "h", True, "exited", exit_code=3).problem == (
        "h failed with exit code 3 (make logs SERVICE=hdfs-init)"
    )


def test_the_verdict_is_flowing_only_with_events_arriving_and_a_batch_logged():
    batch = "batch=1 rows=1 valid=1 dead_lettered=0 written: cassandra=1 duration=0.1s"
    assert verdict([], Flow(events_per_second=20.0, lag=None, last_batch=batch)) == (
        True,
        "flowing: 20.0 events/s, lag unknown (no offsets committed yet)",
    )
    failed = Replica("cassandra-init", "c", True, "exited", exit_code=1)
    assert verdict([failed], Flow(events_per_second=0.0, problems=["s3: EndpointConnectionError: x"])) == (
        False,
        "not flowing: c failed with exit code 1 (make logs SERVICE=cassandra-init) (and 3 more)",
    )


class FakeContainer(SimpleNamespace):
    def logs(self, tail):
        return f"last {tail} lines of {self.name}\n".encode()


def test_docker_replicas_come_from_the_stacks_labelled_containers():
    containers = [
        FakeContainer(
            name="streamstack-local-kafka-0",
            labels={"streamstack.service": "kafka"},
            attrs={"State": {"Status": "running", "ExitCode": 0, "Health": {"Status": "healthy"}}, "Config": {}},
        ),
        FakeContainer(
            name="streamstack-local-kafka-topics",
            labels={"streamstack.service": "kafka-topics"},
            attrs={"State": {"Status": "exited", "ExitCode": 0}, "Config": {"Env": ["A=1", "B=x=y"]}},
        ),
    ]
    asked = []

    def list_containers(all, filters):
        asked.append(filters)
        wanted = [label.split("=", 1)[1] for label in filters["label"] if label.startswith("streamstack.service=")]
        return [c for c in containers if not wanted or c.labels["streamstack.service"] in wanted]

    engine = DockerEngine.__new__(DockerEngine)
    engine._client = SimpleNamespace(containers=SimpleNamespace(list=list_containers))
    engine._prefix, engine._one_shot = "streamstack-local", {"kafka-topics"}
    assert [replica.describe() for replica in engine.replicas()] == [
        "streamstack-local-kafka-0    running   healthy",
        "streamstack-local-kafka-topics one-shot  exit code 0",
    ]
    assert asked[0] == {"label": ["streamstack.stack=streamstack-local"]}
    assert engine.environment("kafka-topics") == {"A": "1", "B": "x=y"}
    assert engine.logs("kafka", tail=50) == "last 50 lines of streamstack-local-kafka-0\n"
