"""Producers: put canonical, validated readings on Kafka, keyed by device_id."""
