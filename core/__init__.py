"""The ground floor: what every stage shares (settings, Kafka clients, topics, partitioning). It imports
no stage, so producers/, streams/, connectors/, api/, bot/ and grafana/ may all build on it."""
