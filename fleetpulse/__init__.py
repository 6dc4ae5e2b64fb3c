"""FleetPulse: shared plumbing (settings, Kafka client config, the local stack, the CLI)."""
