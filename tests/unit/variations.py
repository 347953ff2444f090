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

# On Kubernetes, a checkpoint volume (the only checkpoint store left here) needs a ReadWriteMany class.
ONE_BROKER_CASSANDRA_ONLY_ON_KUBERNETES: dict[str, Any] = {
    **ONE_BROKER_CASSANDRA_ONLY,
    "kubernetes": {"sharedStorageClass": "nfs-client"},
}
