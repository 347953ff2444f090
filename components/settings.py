"""Stack config, parsed and validated once into typed objects before any resource is declared.

Nothing else reads `pulumi.Config`. Every problem raises ConfigError with one message naming the
key, the value and what is allowed, so a typo fails `pulumi preview` before it can half-deploy.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import pulumi
from pulumi.runtime import config as runtime_config

NAMESPACE = "streamstack"
TARGETS = ("docker", "kubernetes")
SINKS = ("cassandra", "s3", "hdfs")
PRODUCER_SOURCES = ("randomuser", "synthetic")
CHECKPOINT_STORES = ("s3", "hdfs", "volume")
UI_SERVICE_TYPES = ("ClusterIP", "NodePort")
INGESTION_MODES = ("producer", "cdc")
# The connector the deployment declares itself for `ingestion: cdc` (components/kafka_connect.py), and the
# Connect workers' variable holding the pipeline database's password, which that connector names.
CDC_CONNECTOR = "streamstack-users-cdc"
PIPELINE_DB_PASSWORD_ENV = "PIPELINE_DB_PASSWORD"
CONNECT_SECRETS = "kafkaConnectSecrets"
# Namespaces of the providers' own settings, which their providers read (e.g. kubernetes:context).
OTHER_NAMESPACES = ("pulumi", "docker", "kubernetes", "random")
SECRET_KEYS = (
    "cassandraPassword",
    "objectStorePassword",
    "postgresPassword",
    "pipelineDbPassword",
    "airflowAdminPassword",
    "pseudonymKey",
)

# Spark refuses a driver or executor below 1.5 x its 300 MiB reserved memory (INVALID_DRIVER_MEMORY,
# INVALID_EXECUTOR_MEMORY: "must be at least 471859200"), measured with Spark 3.5.8.
SPARK_MINIMUM_MEMORY_MIB = 450
_MEMORY = re.compile(r"^(\d+)([mMgG])$")
_TOPIC = re.compile(r"^[A-Za-z0-9._-]{1,249}$")
_CQL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_SECRET_CHARACTERS = re.compile(r"^[A-Za-z0-9._-]+$")
_SPARK_INTERVAL = re.compile(r"^\d+ (second|seconds|minute|minutes)$")
_CONNECTOR_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
# What the deployed workers resolve in a connector's config: they configure Kafka's EnvVarConfigProvider
# alone, as `env`, so a credential is ${env:NAME}, NAME a variable of their environment; the secret itself
# never enters the connector's stored config, the REST API or the stack.
_ENV_PLACEHOLDER = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SECRET_LIKE_KEY = re.compile(r"password|secret|credential|token|(^|[._])key$", re.IGNORECASE)

T = TypeVar("T")


class ConfigError(pulumi.RunError, ValueError):
    """A stack config value that cannot be deployed: names the key, the value and what is allowed.

    A pulumi.RunError, which the Pulumi CLI reports as its message alone, without the traceback
    (pulumi/errors.py: "a clean exit rather than the usual verbose unhandled error logic").
    """

    def __init__(self, key: str, value: object, allowed: str, *, namespace: str = NAMESPACE) -> None:
        self.key = key
        self.value = value
        self.allowed = allowed
        qualified = f"{namespace}:{key}" if namespace else key
        super().__init__(f"invalid stack config {qualified} = {value!r}: {allowed}")


@dataclass(frozen=True)
class KafkaSettings:
    brokers: int
    partitions: int
    replication_factor: int
    min_insync_replicas: int
    topic: str
    dead_letter_topic: str
    host_port: int


@dataclass(frozen=True)
class ToggleSettings:
    """A service that is optional and offers one UI or API port on the host."""

    enabled: bool
    host_port: int


@dataclass(frozen=True)
class HdfsSettings:
    enabled: bool
    datanodes: int
    ui_host_port: int


@dataclass(frozen=True)
class SparkSettings:
    workers: int
    worker_cores: int
    worker_memory_mib: int
    ui_host_port: int


@dataclass(frozen=True)
class CassandraSettings:
    nodes: int
    keyspace: str
    table: str
    replication_factor: int
    host_port: int


@dataclass(frozen=True)
class ObjectStoreSettings:
    enabled: bool
    bucket: str
    api_host_port: int
    console_host_port: int


@dataclass(frozen=True)
class ProducerSettings:
    events_per_second: float
    source: str
    randomuser_url: str


@dataclass(frozen=True)
class StreamingJobSettings:
    trigger_interval: str
    max_offsets_per_trigger: int
    shuffle_partitions: int
    executor_memory_mib: int
    executor_cores: int
    driver_memory_mib: int
    checkpoint: str
    ui_host_port: int


@dataclass(frozen=True)
class KafkaConnectSettings:
    """Kafka Connect workers in distributed mode and the connectors the deployment applies to them."""

    enabled: bool
    workers: int
    host_port: int
    connectors: Mapping[str, Mapping[str, str]]  # connector name -> its config, as Connect's REST API takes it
    # TCP ports the declared connectors reach outside the deployment (a source database, an HTTP API): on
    # Kubernetes the workers' egress policy opens exactly these.
    outside_ports: tuple[int, ...]


@dataclass(frozen=True)
class KubernetesSettings:
    namespace: str
    kubeconfig: str | None
    context: str | None
    storage_class: str | None
    shared_storage_class: str | None  # offers ReadWriteMany: a checkpoint volume seen by driver and executors
    storage_gib: int
    image_registry: str | None
    ui_service_type: str
    ingress_host: str | None  # UIs are routed as <service>-<port name>.<ingress_host>
    ingress_class: str | None
    ingress_namespace: str  # where the ingress controller runs: the only source admitted to routed ports
    cluster_domain: str  # the cluster's DNS domain, in every service's fully qualified name


@dataclass(frozen=True)
class Secrets:
    """Credentials set with `pulumi config set --secret`; None means: generate one."""

    cassandra_password: pulumi.Output[str] | None
    object_store_password: pulumi.Output[str] | None
    postgres_password: pulumi.Output[str] | None
    pipeline_db_password: pulumi.Output[str] | None
    kafka_connect_env: Mapping[str, pulumi.Output[str]]  # the workers' secret environment, for ${env:NAME}
    airflow_admin_password: pulumi.Output[str] | None
    pseudonym_key: pulumi.Output[str] | None


@dataclass(frozen=True)
class Settings:
    project: str
    stack: str
    target: str
    kafka: KafkaSettings
    schema_registry: ToggleSettings
    kafka_ui: ToggleSettings
    hdfs: HdfsSettings
    spark: SparkSettings
    cassandra: CassandraSettings
    object_store: ObjectStoreSettings
    airflow: ToggleSettings
    producer: ProducerSettings
    streaming_job: StreamingJobSettings
    sinks: tuple[str, ...]
    kafka_connect: KafkaConnectSettings
    ingestion: str  # producer: the producer writes to Kafka; cdc: to PostgreSQL, which Debezium streams to Kafka
    kubernetes: KubernetesSettings
    secrets: Secrets
    retain_data: bool = False  # volumes holding data survive `pulumi destroy`


class _Section:
    """Reads one structured config key (a YAML mapping) and rejects keys it does not know."""

    def __init__(self, key: str, raw: object) -> None:
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise ConfigError(key, raw, "must be a mapping of settings")
        self.key = key
        self._raw: dict[str, Any] = raw
        self._read: set[str] = set()

    def _take(self, name: str, default: T, kind: type, kind_name: str) -> T:
        self._read.add(name)
        value = self._raw.get(name, default)
        is_bool = isinstance(value, bool)
        int_as_float = kind is float and isinstance(value, int) and not is_bool
        if ((kind is bool) != is_bool or not isinstance(value, kind)) and not int_as_float:
            raise ConfigError(f"{self.key}.{name}", value, f"must be {kind_name}")
        return value

    def integer(self, name: str, default: int, minimum: int, maximum: int) -> int:
        value = self._take(name, default, int, "an integer")
        if not minimum <= value <= maximum:
            raise ConfigError(f"{self.key}.{name}", value, f"must be between {minimum} and {maximum}")
        return value

    def port(self, name: str, default: int) -> int:
        return self.integer(name, default, 1024, 65535)

    def number(self, name: str, default: float, minimum: float, maximum: float) -> float:
        value = float(self._take(name, default, float, "a number"))
        if not minimum < value <= maximum:
            raise ConfigError(f"{self.key}.{name}", value, f"must be above {minimum} and at most {maximum}")
        return value

    def flag(self, name: str, default: bool) -> bool:
        return self._take(name, default, bool, "true or false")

    def text(self, name: str, default: str | None, pattern: re.Pattern[str] | None = None, hint: str = "") -> str:
        value = self._take(name, default, str, "a string")
        if pattern is not None and not pattern.match(value):
            raise ConfigError(f"{self.key}.{name}", value, hint or f"must match {pattern.pattern}")
        return value

    def optional_text(self, name: str) -> str | None:
        if self._raw.get(name) is None:
            self._read.add(name)
            return None
        return self.text(name, None)

    def choice(self, name: str, default: str, allowed: Iterable[str]) -> str:
        options = tuple(allowed)
        value = self._take(name, default, str, f"one of {', '.join(options)}")
        if value not in options:
            raise ConfigError(f"{self.key}.{name}", value, f"must be one of {', '.join(options)}")
        return value

    def memory_mib(self, name: str, default: str, minimum_mib: int) -> int:
        value = self._take(name, default, str, "a size like 512m or 2g")
        match = _MEMORY.match(value)
        if not match:
            raise ConfigError(f"{self.key}.{name}", value, "must be a size like 512m or 2g")
        mib = int(match.group(1)) * (1024 if match.group(2) in "gG" else 1)
        if mib < minimum_mib:
            raise ConfigError(f"{self.key}.{name}", value, f"must be at least {minimum_mib}m")
        return mib

    def mapping(self, name: str, what: str) -> dict[str, Any]:
        return self._take(name, {}, dict, f"a mapping of {what}")

    def port_list(self, name: str) -> tuple[int, ...]:
        raw = self._take(name, [], list, "a list of TCP ports")
        if not all(isinstance(port, int) and not isinstance(port, bool) and 1 <= port <= 65535 for port in raw):
            raise ConfigError(f"{self.key}.{name}", raw, "must be a list of TCP ports (1-65535)")
        return tuple(sorted(set(raw)))

    def done(self) -> None:
        unknown = sorted(set(self._raw) - self._read)
        if unknown:
            allowed = ", ".join(sorted(self._read))
            raise ConfigError(f"{self.key}.{unknown[0]}", self._raw[unknown[0]], f"unknown key; allowed: {allowed}")


def _parse_section(key: str, raw: Mapping[str, object], build: Callable[[_Section], T]) -> T:
    section = _Section(key, raw.get(key))
    result = build(section)
    section.done()
    return result


def _kafka(s: _Section) -> KafkaSettings:
    brokers = s.integer("brokers", 1, 1, 9)
    replication = s.integer("replicationFactor", 1, 1, 9)
    if replication > brokers:
        raise ConfigError("kafka.replicationFactor", replication, f"must be at most kafka.brokers ({brokers})")
    min_isr = s.integer("minInsyncReplicas", max(1, replication - 1), 1, 9)
    if min_isr > replication:
        raise ConfigError(
            "kafka.minInsyncReplicas", min_isr, f"must be at most kafka.replicationFactor ({replication})"
        )
    topic_hint = "must be 1-249 characters of letters, digits, '.', '_' or '-'"
    topic = s.text("topic", "user-events", _TOPIC, topic_hint)
    dead_letter_topic = s.text("deadLetterTopic", f"{topic}.dead-letter", _TOPIC, topic_hint)
    if dead_letter_topic == topic:
        raise ConfigError("kafka.deadLetterTopic", dead_letter_topic, "must differ from kafka.topic")
    return KafkaSettings(
        brokers=brokers,
        partitions=s.integer("partitions", 3, 1, 1000),
        replication_factor=replication,
        min_insync_replicas=min_isr,
        topic=topic,
        dead_letter_topic=dead_letter_topic,
        host_port=s.port("hostPort", 9094),
    )


def _toggle(default_port: int) -> Callable[[_Section], ToggleSettings]:
    return lambda s: ToggleSettings(enabled=s.flag("enabled", True), host_port=s.port("hostPort", default_port))


def _hdfs(s: _Section) -> HdfsSettings:
    return HdfsSettings(
        enabled=s.flag("enabled", True),
        datanodes=s.integer("datanodes", 1, 1, 20),
        ui_host_port=s.port("uiHostPort", 9870),
    )


def _spark(s: _Section) -> SparkSettings:
    return SparkSettings(
        workers=s.integer("workers", 1, 1, 50),
        worker_cores=s.integer("workerCores", 1, 1, 64),
        worker_memory_mib=s.memory_mib("workerMemory", "768m", 512),
        ui_host_port=s.port("uiHostPort", 8090),
    )


def _cassandra(s: _Section) -> CassandraSettings:
    nodes = s.integer("nodes", 1, 1, 20)
    replication = s.integer("replicationFactor", 1, 1, 20)
    if replication > nodes:
        raise ConfigError("cassandra.replicationFactor", replication, f"must be at most cassandra.nodes ({nodes})")
    cql_hint = "must be lower-case letters, digits and '_', starting with a letter, at most 48 characters"
    return CassandraSettings(
        nodes=nodes,
        keyspace=s.text("keyspace", "streamstack", _CQL_NAME, cql_hint),
        table=s.text("table", "user_events", _CQL_NAME, cql_hint),
        replication_factor=replication,
        host_port=s.port("hostPort", 9042),
    )


def _object_store(s: _Section) -> ObjectStoreSettings:
    return ObjectStoreSettings(
        enabled=s.flag("enabled", True),
        bucket=s.text("bucket", "streamstack", _BUCKET, "must be a valid S3 bucket name (3-63 of a-z, 0-9, '.', '-')"),
        api_host_port=s.port("apiHostPort", 9000),
        console_host_port=s.port("consoleHostPort", 9001),
    )


def _producer(s: _Section) -> ProducerSettings:
    return ProducerSettings(
        events_per_second=s.number("eventsPerSecond", 10.0, 0.0, 100_000.0),
        source=s.choice("source", "randomuser", PRODUCER_SOURCES),
        randomuser_url=s.text(
            "randomuserUrl", "https://randomuser.me/api/", re.compile(r"^https?://\S+$"), "must be an http(s) URL"
        ),
    )


def _streaming_job(s: _Section, default_checkpoint: str, spark: SparkSettings) -> StreamingJobSettings:
    executor_memory = s.memory_mib("executorMemory", "512m", SPARK_MINIMUM_MEMORY_MIB)
    if executor_memory > spark.worker_memory_mib:
        raise ConfigError(
            "streamingJob.executorMemory",
            f"{executor_memory}m",
            f"must fit spark.workerMemory ({spark.worker_memory_mib}m)",
        )
    executor_cores = s.integer("executorCores", 1, 1, 64)
    if executor_cores > spark.worker_cores:
        # A worker with fewer cores than one executor asks for can never launch it: the job would wait forever.
        raise ConfigError(
            "streamingJob.executorCores", executor_cores, f"must fit spark.workerCores ({spark.worker_cores})"
        )
    return StreamingJobSettings(
        trigger_interval=s.text(
            "triggerInterval", "10 seconds", _SPARK_INTERVAL, "must look like '10 seconds' or '1 minute'"
        ),
        max_offsets_per_trigger=s.integer("maxOffsetsPerTrigger", 20_000, 1, 100_000_000),
        shuffle_partitions=s.integer("shufflePartitions", 4, 1, 10_000),
        executor_memory_mib=executor_memory,
        executor_cores=executor_cores,
        driver_memory_mib=s.memory_mib("driverMemory", "512m", SPARK_MINIMUM_MEMORY_MIB),
        checkpoint=s.choice("checkpoint", default_checkpoint, CHECKPOINT_STORES),
        ui_host_port=s.port("uiHostPort", 4040),
    )


def _kafka_connect(s: _Section) -> KafkaConnectSettings:
    raw = s.mapping("connectors", "connector name to its config")
    return KafkaConnectSettings(
        enabled=s.flag("enabled", False),
        workers=s.integer("workers", 1, 1, 9),
        host_port=s.port("hostPort", 8083),
        connectors={name: _connector_config(name, config) for name, config in raw.items()},
        outside_ports=s.port_list("outsidePorts"),
    )


def _connector_config(name: object, config: object) -> dict[str, str]:
    """One declared connector: Connect validates the config itself at deploy time; this checks only what
    Connect cannot know: the name is ours to use and no credential is written in plaintext."""
    key = f"kafkaConnect.connectors.{name}"
    if not isinstance(name, str) or not _CONNECTOR_NAME.match(name):
        raise ConfigError(key, name, "a connector name must be 1-128 letters, digits, '.', '_' or '-'")
    if name == CDC_CONNECTOR:
        raise ConfigError(
            key, "...", "this name is the deployment's own CDC connector (ingestion: cdc); choose another"
        )
    if not isinstance(config, dict) or not isinstance(config.get("connector.class"), str):
        raise ConfigError(key, config, "must be a mapping of Connect config keys to values, with connector.class")
    values: dict[str, str] = {}
    for option, value in config.items():
        if not isinstance(value, str | int | float):
            raise ConfigError(f"{key}.{option}", value, "must be a string, number or true/false")
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        if _SECRET_LIKE_KEY.search(option) and not _ENV_PLACEHOLDER.fullmatch(text):
            raise ConfigError(
                f"{key}.{option}",
                "<hidden>",
                "a credential in plaintext would be stored by Connect and in the stack; write ${env:NAME} and"
                f" set NAME with `pulumi config set --secret --path '{CONNECT_SECRETS}.NAME' <value>`",
            )
        values[option] = text
    if values.get("name", name) != name:
        raise ConfigError(f"{key}.name", values["name"], f"must equal the connector's key ({name}) or be left out")
    return values


def _kubernetes(s: _Section) -> KubernetesSettings:
    return KubernetesSettings(
        namespace=s.text("namespace", "streamstack", _DNS_LABEL, "must be a DNS label (a-z, 0-9, '-')"),
        kubeconfig=s.optional_text("kubeconfig"),
        context=s.optional_text("context"),
        storage_class=s.optional_text("storageClass"),
        shared_storage_class=s.optional_text("sharedStorageClass"),
        storage_gib=s.integer("storageGib", 10, 1, 10_000),
        image_registry=s.optional_text("imageRegistry"),
        ui_service_type=s.choice("uiServiceType", "ClusterIP", UI_SERVICE_TYPES),
        ingress_host=_optional_dns_name(s, "ingressHost"),
        ingress_class=s.optional_text("ingressClass"),
        ingress_namespace=s.text(
            "ingressNamespace", "ingress-nginx", _DNS_LABEL, "must be a DNS label (a-z, 0-9, '-')"
        ),
        cluster_domain=_dns_name(s, "clusterDomain", "cluster.local"),
    )


def _dns_name(s: _Section, name: str, default: str) -> str:
    value = s.text(name, default)
    if not all(_DNS_LABEL.match(label) for label in value.split(".")):
        raise ConfigError(f"{s.key}.{name}", value, "must be a DNS name such as cluster.local")
    return value


def _optional_dns_name(s: _Section, name: str) -> str | None:
    value = s.optional_text(name)
    if value is not None and not all(_DNS_LABEL.match(label) for label in value.split(".")):
        raise ConfigError(f"{s.key}.{name}", value, "must be a DNS name such as streamstack.example.com")
    return value


def _sinks(raw: object) -> tuple[str, ...]:
    if raw is None:
        return ("cassandra", "s3", "hdfs")
    if not isinstance(raw, list) or not raw:
        raise ConfigError("sinks", raw, f"must be a non-empty list of {', '.join(SINKS)}")
    for sink in raw:
        if sink not in SINKS:
            raise ConfigError("sinks", raw, f"unknown sink {sink!r}; allowed: {', '.join(SINKS)}")
    if len(set(raw)) != len(raw):
        raise ConfigError("sinks", raw, "must not name a sink twice")
    return tuple(raw)


def _check_sink_stores(
    sinks: tuple[str, ...], explicit: bool, hdfs: HdfsSettings, object_store: ObjectStoreSettings
) -> None:
    """A sink needs its store. With the default sinks the user only wrote `<store>.enabled: false`: say so."""
    stores = (("hdfs", "hdfs.enabled", hdfs.enabled), ("s3", "objectStore.enabled", object_store.enabled))
    for sink, key, enabled in stores:
        if sink not in sinks or enabled:
            continue
        if explicit:
            raise ConfigError("sinks", list(sinks), f"sink {sink!r} needs {key}: true")
        without = [name for name in sinks if name != sink]
        raise ConfigError(
            key, False, f"the default sinks include {sink}; set sinks (e.g. {without}) to leave it out, or enable it"
        )


def _check_checkpoint_store(job: StreamingJobSettings, hdfs: HdfsSettings, object_store: ObjectStoreSettings) -> None:
    needs = {"hdfs": ("hdfs.enabled", hdfs.enabled), "s3": ("objectStore.enabled", object_store.enabled)}
    if job.checkpoint in needs and not needs[job.checkpoint][1]:
        raise ConfigError("streamingJob.checkpoint", job.checkpoint, f"needs {needs[job.checkpoint][0]}: true")


def _check_kubernetes_checkpoint(settings: Settings, explicit: bool) -> None:
    """A checkpoint volume is written by the driver and by every executor's state store, so on
    Kubernetes it needs a ReadWriteMany claim, which kind's default storage class cannot provide."""
    if settings.streaming_job.checkpoint != "volume" or settings.kubernetes.shared_storage_class is not None:
        return
    value = "volume" if explicit else "volume (its default while hdfs and objectStore are disabled)"
    raise ConfigError(
        "streamingJob.checkpoint",
        value,
        "on Kubernetes a checkpoint volume needs kubernetes.sharedStorageClass, a storage class offering"
        " ReadWriteMany (kind's default does not); or checkpoint to s3 or hdfs",
    )


def _check_host_ports(settings: Settings, explicit: set[str]) -> None:
    """Two services on one host port would fail at `pulumi up` (Docker) or at the second port-forward
    (Kubernetes); refuse it here, blaming the key the user set rather than a default they never touched."""
    # (key, its value, the host ports it takes): replicas take the next ports (Kafka brokers, Cassandra nodes).
    replicated = [
        ("kafka.hostPort", settings.kafka.host_port, settings.kafka.brokers, "broker"),
        ("cassandra.hostPort", settings.cassandra.host_port, settings.cassandra.nodes, "node"),
    ]
    if settings.kafka_connect.enabled:
        replicated.append(
            ("kafkaConnect.hostPort", settings.kafka_connect.host_port, settings.kafka_connect.workers, "worker")
        )
    claims: list[tuple[str, int, int, str]] = []
    for key, first, count, unit in replicated:
        if first + count - 1 > 65535:
            raise ConfigError(
                key, first, f"{count} {unit}s take host ports {first}-{first + count - 1}; at most {65536 - count}"
            )
        claims += [(key, first, first + i, f"{key} ({unit} {i})") for i in range(count)]
    single = [
        (True, "spark.uiHostPort", settings.spark.ui_host_port),
        (True, "streamingJob.uiHostPort", settings.streaming_job.ui_host_port),
        (settings.schema_registry.enabled, "schemaRegistry.hostPort", settings.schema_registry.host_port),
        (settings.kafka_ui.enabled, "kafkaUi.hostPort", settings.kafka_ui.host_port),
        (settings.hdfs.enabled, "hdfs.uiHostPort", settings.hdfs.ui_host_port),
        (settings.object_store.enabled, "objectStore.apiHostPort", settings.object_store.api_host_port),
        (settings.object_store.enabled, "objectStore.consoleHostPort", settings.object_store.console_host_port),
        (settings.airflow.enabled, "airflow.hostPort", settings.airflow.host_port),
    ]
    claims += [(key, port, port, key) for enabled, key, port in single if enabled]
    owner: dict[int, tuple[str, int, str]] = {}
    for key, value, port, label in claims:
        if port in owner:
            earlier_key, earlier_value, earlier_label = owner[port]
            if key not in explicit and earlier_key in explicit:
                raise ConfigError(earlier_key, earlier_value, f"host port {port} is also {label}'s default")
            raise ConfigError(key, value, f"host port {port} is already taken by {earlier_label}")
        owner[port] = (key, value, label)


def _connect_secrets(raw: Mapping[str, object], secret_keys: set[str]) -> dict[str, pulumi.Output[str]]:
    """The Connect workers' secret environment that declared connectors name as ${env:NAME}."""
    value = raw.get(CONNECT_SECRETS)
    if value is None:
        return {}
    how = f"set each with `pulumi config set --secret --path '{CONNECT_SECRETS}.NAME' <value>`"
    if CONNECT_SECRETS not in secret_keys:
        raise ConfigError(CONNECT_SECRETS, "<hidden>", f"is stored in plaintext; {how}")
    if not isinstance(value, dict):
        raise ConfigError(CONNECT_SECRETS, "<hidden>", f"must be a mapping of variable name to secret; {how}")
    for name, secret in value.items():
        # Debezium's entrypoint writes every CONNECT_* variable into the worker's properties and its log
        # (components/versions.py, KAFKA_CONNECT notes).
        if not _ENV_NAME.match(name) or name.startswith("CONNECT_") or name == PIPELINE_DB_PASSWORD_ENV:
            raise ConfigError(
                f"{CONNECT_SECRETS}.{name}",
                "<hidden>",
                f"must be a variable name (letters, digits, '_'), not starting with CONNECT_ (the image logs those),"
                f" and not {PIPELINE_DB_PASSWORD_ENV} (the deployment's own)",
            )
        if not isinstance(secret, str) or not secret:
            raise ConfigError(f"{CONNECT_SECRETS}.{name}", "<hidden>", "must be a non-empty string")
    return {name: pulumi.Output.secret(secret) for name, secret in value.items()}


def _check_connector_variables(connect: KafkaConnectSettings, provided: set[str]) -> None:
    """Every ${env:NAME} a declared connector names is a variable the workers have."""
    for name, config in connect.connectors.items():
        for option, value in config.items():
            for variable in _ENV_PLACEHOLDER.findall(value):
                if variable not in provided:
                    raise ConfigError(
                        f"kafkaConnect.connectors.{name}.{option}",
                        value,
                        f"names {variable}, which the workers do not have; set it with"
                        f" `pulumi config set --secret --path '{CONNECT_SECRETS}.{variable}' <value>`",
                    )


def _secret(raw: Mapping[str, object], secret_keys: set[str], name: str) -> pulumi.Output[str] | None:
    value = raw.get(name)
    if value is None:
        return None
    if name not in secret_keys:
        raise ConfigError(name, "<hidden>", f"is stored in plaintext; set it with `pulumi config set --secret {name}`")
    if not isinstance(value, str) or len(value) < 12:
        raise ConfigError(name, "<hidden>", "must be a string of at least 12 characters")
    if not _SECRET_CHARACTERS.match(value):
        # Credentials are embedded in CQL statements, connection URLs and shell commands.
        raise ConfigError(name, "<hidden>", "may contain only letters, digits, '.', '_' and '-'")
    return pulumi.Output.secret(value)


def _check_namespace(full_key: str, text: str) -> None:
    """Refuse config in a namespace nothing reads: `streamstak:kafka` would otherwise be silently ignored."""
    namespace = full_key.split(":", 1)[0]
    if namespace == NAMESPACE or namespace in OTHER_NAMESPACES:
        return
    close = difflib.get_close_matches(namespace, [NAMESPACE, *OTHER_NAMESPACES], n=1)
    hint = f"did you mean {close[0]}:{full_key.split(':', 1)[-1]}? " if close else ""
    allowed = f"{hint}no one reads namespace {namespace!r}; this project's keys are {NAMESPACE}:<key>"
    raise ConfigError(full_key, text, allowed, namespace="")


def _unknown_key(key: str, value: object, known: Iterable[str]) -> ConfigError:
    """An unknown top-level key; a dotted one whose head is a section was set without `--path`."""
    section, _, rest = key.partition(".")
    if rest and section in known:
        return ConfigError(
            key, value, f"unknown key; to set {rest!r} inside {section}, use `pulumi config set --path {key} <value>`"
        )
    return ConfigError(key, value, f"unknown key; allowed: {', '.join(sorted(known))}")


def parse_settings(config: Mapping[str, str], secret_keys: Iterable[str], project: str, stack: str) -> Settings:
    """Turn the raw `namespace:key -> string` config of a stack into Settings, or raise ConfigError."""
    prefix = f"{NAMESPACE}:"
    raw: dict[str, object] = {}
    for full_key, text in config.items():
        _check_namespace(full_key, text)
        if not full_key.startswith(prefix):
            continue
        key = full_key[len(prefix) :]
        try:
            raw[key] = json.loads(text)
        except (json.JSONDecodeError, TypeError):
            raw[key] = text
    secret_names = {key[len(prefix) :] for key in secret_keys if key.startswith(prefix)}
    sections = {
        "kafka": _kafka,
        "schemaRegistry": _toggle(8081),
        "kafkaUi": _toggle(8082),
        "hdfs": _hdfs,
        "spark": _spark,
        "cassandra": _cassandra,
        "objectStore": _object_store,
        "airflow": _toggle(8080),
        "producer": _producer,
        "kafkaConnect": _kafka_connect,
        "kubernetes": _kubernetes,
    }
    known = {*sections, "target", "sinks", "streamingJob", "retainData", "ingestion", CONNECT_SECRETS, *SECRET_KEYS}
    for key in sorted(raw):
        if key not in known:
            raise _unknown_key(key, raw[key], known)
    for key in SECRET_KEYS:
        if key in raw and key not in secret_names:
            _secret(raw, secret_names, key)

    retain_data = raw.get("retainData", False)
    if not isinstance(retain_data, bool):
        raise ConfigError("retainData", retain_data, "must be true or false")
    target = raw.get("target", "docker")
    if target not in TARGETS:
        raise ConfigError("target", target, f"must be one of {', '.join(TARGETS)}")
    ingestion = raw.get("ingestion", "producer")
    if ingestion not in INGESTION_MODES:
        raise ConfigError("ingestion", ingestion, f"must be one of {', '.join(INGESTION_MODES)}")
    parsed = {name: _parse_section(name, raw, build) for name, build in sections.items()}
    kafka_connect: KafkaConnectSettings = parsed["kafkaConnect"]
    if ingestion == "cdc" and not kafka_connect.enabled:
        raise ConfigError(
            "ingestion",
            ingestion,
            "cdc streams the pipeline database through Kafka Connect: set kafkaConnect.enabled: true",
        )
    connect_env = _connect_secrets(raw, secret_names)
    if connect_env and not kafka_connect.enabled:
        raise ConfigError(CONNECT_SECRETS, "<hidden>", "needs kafkaConnect.enabled: true")
    cdc_env = {PIPELINE_DB_PASSWORD_ENV} if ingestion == "cdc" else set()
    _check_connector_variables(kafka_connect, set(connect_env) | cdc_env)
    if kafka_connect.connectors and not kafka_connect.enabled:
        raise ConfigError(
            "kafkaConnect.connectors", sorted(kafka_connect.connectors), "need kafkaConnect.enabled: true"
        )
    hdfs: HdfsSettings = parsed["hdfs"]
    object_store: ObjectStoreSettings = parsed["objectStore"]
    spark: SparkSettings = parsed["spark"]
    sinks = _sinks(raw.get("sinks"))
    _check_sink_stores(sinks, "sinks" in raw, hdfs, object_store)
    default_checkpoint = "s3" if object_store.enabled else "hdfs" if hdfs.enabled else "volume"
    streaming_job = _parse_section("streamingJob", raw, lambda s: _streaming_job(s, default_checkpoint, spark))
    _check_checkpoint_store(streaming_job, hdfs, object_store)

    settings = Settings(
        project=project,
        stack=stack,
        target=str(target),
        kafka=parsed["kafka"],
        schema_registry=parsed["schemaRegistry"],
        kafka_ui=parsed["kafkaUi"],
        hdfs=hdfs,
        spark=spark,
        cassandra=parsed["cassandra"],
        object_store=object_store,
        airflow=parsed["airflow"],
        producer=parsed["producer"],
        streaming_job=streaming_job,
        sinks=sinks,
        kafka_connect=kafka_connect,
        ingestion=str(ingestion),
        retain_data=retain_data,
        kubernetes=parsed["kubernetes"],
        secrets=Secrets(
            cassandra_password=_secret(raw, secret_names, "cassandraPassword"),
            object_store_password=_secret(raw, secret_names, "objectStorePassword"),
            postgres_password=_secret(raw, secret_names, "postgresPassword"),
            pipeline_db_password=_secret(raw, secret_names, "pipelineDbPassword"),
            kafka_connect_env=connect_env,
            airflow_admin_password=_secret(raw, secret_names, "airflowAdminPassword"),
            pseudonym_key=_secret(raw, secret_names, "pseudonymKey"),
        ),
    )
    # Host ports are published on Docker and port-forwarded to on Kubernetes: on both, each is one's own.
    explicit = {f"{section}.{name}" for section, values in raw.items() if isinstance(values, dict) for name in values}
    _check_host_ports(settings, explicit)
    if settings.target == "kubernetes":
        _check_kubernetes_checkpoint(settings, explicit="checkpoint" in (raw.get("streamingJob") or {}))
    if settings.target == "kubernetes" and settings.kubernetes.image_registry is None:
        raise ConfigError(
            "kubernetes.imageRegistry",
            None,
            "is required with target kubernetes: the producer, streaming-job and Airflow images are pushed"
            " there for the cluster to pull (with kind, a local registry such as localhost:5001)",
        )
    return settings


def load_settings() -> Settings:
    """Settings of the running Pulumi program's stack."""
    config = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secret_keys = {*runtime_config.get_config_secret_keys_env(), *runtime_config._SECRET_KEYS.get()}
    return parse_settings(config, secret_keys, pulumi.get_project(), pulumi.get_stack())
