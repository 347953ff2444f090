"""Stack config variations that several test modules run the program with."""

from typing import Any

ONE_BROKER_CASSANDRA_ONLY: dict[str, Any] = {
    "kafka": {"brokers": 1, "replicationFactor": 1, "minInsyncReplicas": 1},
    "cassandra": {"nodes": 1, "replicationFactor": 1},
    "sinks": ["cassandra"],
    "schemaRegistry": {"enabled": False},
    "kafkaUi": {"enabled": False},
    "hdfs": {"enabled": False},
    "objectStore": {"enabled": False},
    "airflow": {"enabled": False},
}
