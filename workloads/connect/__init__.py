"""Applies the deployment's declared connectors to its Kafka Connect cluster (`python -m workloads.connect`)."""
