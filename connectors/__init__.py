"""Kafka Connect → DynamoDB: connector configs (plain Connect JSON), the tables they write, and the
REST client that applies them. The sink plugin itself is the Java module in dynamodb-sink/."""
