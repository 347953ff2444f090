"""The pipeline's source: random user profiles turned into contract events on Kafka."""
