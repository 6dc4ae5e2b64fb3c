"""The local stack: Kafka (KRaft), Kafka Connect, DynamoDB Local and Prometheus as native processes."""
