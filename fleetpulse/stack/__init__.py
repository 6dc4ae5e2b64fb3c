"""The local stack as native processes: Kafka (KRaft), Connect, dynoxide (DynamoDB API), Prometheus, Alertmanager."""
