"""Dashboards and alerting as code: the metric contract, the alert catalogue, generated Grafana and
Prometheus artefacts, and the `fleetpulse watch` terminal view."""
