"""The query API over the DynamoDB tables the sinks write (`fleetpulse api`)."""
