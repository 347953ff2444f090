"""The checks `make up`, `make down` and `make status` run first: one line each, with the fix."""

import socket
import subprocess
from types import SimpleNamespace

from components.settings import parse_settings
from tools.mock_deploy import run_program
from tools.preflight import (
    docker_engine,
    docker_memory,
    host_ports,
    kube_context,
    passphrase,
    port_is_free,
    published_ports,
    pulumi_cli,
)


def ran(stdout: str, returncode: int = 0):
    return lambda command, **_: subprocess.CompletedProcess(command, returncode, stdout, "")


def test_a_missing_pulumi_cli_says_where_to_get_it():
    check = pulumi_cli(which=lambda name: None)
    assert check.line() == (
        "FAIL pulumi: the Pulumi CLI is not on PATH; install it: curl -fsSL https://get.pulumi.com | sh "
        "(https://www.pulumi.com/docs/iac/download-install/)"
    )


def test_the_pulumi_cli_must_be_version_3():
    assert pulumi_cli(which=lambda name: "/usr/bin/pulumi", run=ran("v3.205.0\n")).line() == "ok   pulumi: v3.205.0"
    old = pulumi_cli(which=lambda name: "/usr/bin/pulumi", run=ran("v2.25.2\n"))
    assert not old.ok and old.detail.startswith("`pulumi version` said 'v2.25.2'; need v3; install it")


def test_the_passphrase_comes_from_the_environment_or_a_file():
    assert passphrase({"PULUMI_CONFIG_PASSPHRASE": ""}).ok  # an empty passphrase is a passphrase
    assert passphrase({"PULUMI_CONFIG_PASSPHRASE_FILE": "/run/secrets/p"}).ok
    assert passphrase({}).detail.startswith("export PULUMI_CONFIG_PASSPHRASE (it encrypts this stack's secrets")


def test_the_docker_engine_answers_or_says_how_to_start_one():
    def unreachable():
        raise ConnectionError("connection refused")

    check, info = docker_engine(connect=unreachable)
    assert (check.ok, info) == (False, {})
    assert check.detail.startswith("no Docker engine answers (connection refused); start it, or install:")
    engine_info = {"ServerVersion": "26.1.5", "NCPU": 4, "MemTotal": 8 * 1024**3}
    check, info = docker_engine(connect=lambda: SimpleNamespace(info=lambda: engine_info))
    assert (check.line(), info) == ("ok   docker: engine 26.1.5, 4 CPUs", engine_info)


def test_docker_memory_below_the_stacks_limits_names_the_fix():
    info = {"MemTotal": 6 * 1024**3}
    short = docker_memory(info, "local", needed_mib=8896, minimal_mib=4484)
    assert short.line() == (
        "FAIL memory: the engine has 6.0 GiB; stack local limits its containers to 8.7 GiB: raise Docker's memory "
        "(Docker Desktop: Settings > Resources > Memory), or use STACK=minimal (4.4 GiB)"
    )
    assert docker_memory({"MemTotal": 4 * 1024**3}, "minimal", 4484, 4484).detail.endswith("> Memory)")
    assert docker_memory({"MemTotal": 16 * 1024**3}, "local", 8896, 4484).ok


def test_the_ports_the_local_stack_publishes():
    assert sorted(published_ports(run_program("local", {"kafka": {"brokers": 2}}))) == [
        ("streamstack-local-airflow-api-server-0", 8080),
        ("streamstack-local-cassandra-0", 9042),
        ("streamstack-local-hdfs-namenode-0", 9870),
        ("streamstack-local-kafka-0", 9094),
        ("streamstack-local-kafka-1", 9095),
        ("streamstack-local-kafka-ui-0", 8082),
        ("streamstack-local-object-store-0", 9000),
        ("streamstack-local-object-store-0", 9001),
        ("streamstack-local-schema-registry-0", 8081),
        ("streamstack-local-spark-master-0", 8090),
        ("streamstack-local-streaming-job-0", 4040),
    ]


def test_a_host_port_in_use_by_another_program_is_named_and_ours_are_not():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        assert not port_is_free(busy)
        failed = host_ports([("streamstack-local-kafka-0", busy)], ours=set())
        assert failed.detail.startswith(f"port {busy}, which streamstack-local-kafka-0 publishes, is in use by another")
        assert host_ports([("streamstack-local-kafka-0", busy)], ours={busy}).ok


def test_an_unreachable_kube_context_is_one_line():
    settings = parse_settings(
        {"streamstack:target": "kubernetes", "streamstack:kubernetes": '{"context": "kind-nope", "imageRegistry": "r"}',
         "streamstack:streamingJob": '{"checkpoint": "s3"}'},
        [], "streamstack", "dev",
    )  # fmt: skip

    def missing(**_):
        raise FileNotFoundError("Invalid kube-config file. No configuration found.")

    check = kube_context(settings, load=missing)
    assert check.line() == (
        "FAIL kubernetes: kind-nope does not answer (Invalid kube-config file. No configuration found.); create a "
        "cluster (README: The dev stack on Kubernetes) or set kubernetes.context"
    )
