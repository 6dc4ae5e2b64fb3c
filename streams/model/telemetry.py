"""The failure model's own Prometheus counters, registered on import in the default registry, so any
process that scores with the model (the worker) exports them on its existing /metrics endpoint.

Incremented where the event happens (a debounced drift in `DeviceModel`, a refused envelope in
`envelope.load`), so no caller can forget to count them.
"""

from __future__ import annotations

from prometheus_client import Counter

from schemas.readings import DEVICE_TYPES

drift_events = Counter(
    "fleetpulse_worker_model_drift_events",
    "Debounced concept-drift detections on a device's residuals (the model re-baselines faster for a while).",
    ["device_type"],
)
envelope_rejections = Counter(
    "fleetpulse_worker_model_envelope_rejections",
    "Persisted device models not reused (corrupt, format, model_version, river_version, feature_schema; the "
    "device restarts from the fleet prior or cold) and stored readings not re-learned (pending_input).",
    ["reason"],
)
relevels = Counter(
    "fleetpulse_worker_model_relevels",
    "Device models that forgot their level after a failure label (the repaired device is re-learned).",
    ["device_type"],
)
model_updates = Counter(
    "fleetpulse_worker_model_updates",
    "Device-model updates: one per reading learned (prequential: scored, then learned) and one per failure "
    "label or feedback verdict learned.",
    ["kind"],
)

# Exposed at zero from the start, so dashboards and alerts see the series before the first event.
for _device_type in DEVICE_TYPES:
    drift_events.labels(_device_type)
for _kind in ("reading", "failure_label", "feedback"):
    model_updates.labels(_kind)
