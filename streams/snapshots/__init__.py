"""Model snapshots: export the fleet's device models and priors to S3 and import them into a new fleet.

Beside the model, not in it: this package reads the worker's table format and Kafka topics; the model
(streams/model/) knows nothing of it."""
