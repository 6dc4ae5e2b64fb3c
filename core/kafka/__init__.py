"""Kafka for every process: client configuration, the one producer module, group-less readers."""
