"""The one list of metric names the dashboards and alerts depend on.

Everything in grafana/ refers to metrics through these constants, so aligning with a renamed metric is a
one-line change here and `tests/grafana/test_live_queries.py` proves each name is really exposed.
`PROVIDER` says who is expected to expose each one (the issue that owns it).
"""

from __future__ import annotations

from typing import Final

# --- worker: pipeline (streams/metrics.py, exposed today) ---
RECORDS_IN: Final = "fleetpulse_worker_records_in_total"  # {topic}
RECORDS_OUT: Final = "fleetpulse_worker_records_out_total"  # {topic}
DEAD_LETTERS: Final = "fleetpulse_worker_dead_letters_total"  # {reason}
PROCESSING_SECONDS: Final = "fleetpulse_worker_processing_seconds"  # histogram
REPLAYED: Final = "fleetpulse_worker_replayed_readings_total"
SKIPPED_READ_BACK: Final = "fleetpulse_worker_skipped_records_read_back_total"  # {topic}
STALLED_TAKEN_OVER: Final = "fleetpulse_worker_stalled_records_taken_over_total"
EVENT_LAG_SECONDS: Final = "fleetpulse_worker_event_lag_seconds"  # histogram
# --- producers (producers/kafka_producer.py, exposed today) ---
PRODUCED: Final = "fleetpulse_producer_records_total"  # {topic}
PRODUCER_ERRORS: Final = "fleetpulse_producer_delivery_errors_total"  # {topic}

# --- worker: per device and fleet (issue 4, streams core) ---
DEVICE_SCORE: Final = "fleetpulse_worker_device_failure_score"  # {device_id} 0..1
DEVICE_REASON: Final = "fleetpulse_worker_device_reason_contribution"  # {device_id, sensor} 0..1
DEVICE_SENSOR: Final = "fleetpulse_worker_device_sensor_value"  # {device_id, sensor} latest value
DEVICE_WINDOW: Final = "fleetpulse_worker_device_window_stat"  # {device_id, sensor, stat=mean|min|max|std|slope_per_s}
DEVICE_LIVENESS: Final = "fleetpulse_worker_device_liveness_state"  # {device_id} 0 on_time 1 late 2 silent 3 dead
FLEET_DEVICES: Final = "fleetpulse_worker_devices"  # {state=on_time|late|silent|dead}
FLEET_AT_RISK: Final = "fleetpulse_worker_devices_at_risk"  # latest score >= 0.5
FLEET_SILENT_RATIO: Final = "fleetpulse_worker_fleet_silent_over_10m_ratio"
FLEET_REPORT_INTERVAL: Final = "fleetpulse_worker_fleet_report_interval_mean_seconds"
FLEET_LIFESPAN: Final = "fleetpulse_worker_fleet_lifespan_mean_seconds"
CONSUMER_LAG: Final = "fleetpulse_worker_consumer_lag_records"  # {partition}
# --- model (issue 5, River) ---
DRIFT_EVENTS: Final = "fleetpulse_worker_model_drift_events_total"  # {device_type} (not per device)
MODEL_UPDATES: Final = "fleetpulse_worker_model_updates_total"  # {kind=reading|failure_label|feedback}
# --- Kafka Connect, through the Prometheus JMX exporter javaagent ---
CONNECT_FAILED_TASKS: Final = "kafka_connect_connector_failed_tasks"  # {connector}
CONNECT_RUNNING_TASKS: Final = "kafka_connect_connector_running_tasks"
CONNECT_SINK_RECORDS: Final = "kafka_connect_sink_task_metrics_sink_record_send_total"  # {connector, task}
CONNECT_DEAD_LETTERS: Final = "kafka_connect_task_error_metrics_deadletterqueue_produce_requests_total"
# --- Prometheus itself ---
UP: Final = "up"
ALERTS: Final = "ALERTS"

WORKER_JOB: Final = "fleetpulse-worker"
CONNECT_JOB: Final = "fleetpulse-connect"
LIVENESS_STATES: Final = ("on_time", "late", "silent", "dead")  # the values 0..3 of DEVICE_LIVENESS
SILENT: Final = 2

PROVIDER: Final[dict[str, str]] = {
    **dict.fromkeys(
        (
            RECORDS_IN,
            RECORDS_OUT,
            DEAD_LETTERS,
            PROCESSING_SECONDS,
            EVENT_LAG_SECONDS,
            REPLAYED,
            SKIPPED_READ_BACK,
            STALLED_TAKEN_OVER,
            PRODUCED,
            PRODUCER_ERRORS,
        ),
        "exposed (streams/metrics.py, producers/kafka_producer.py)",
    ),
    **dict.fromkeys(
        (
            DEVICE_SCORE,
            DEVICE_REASON,
            DEVICE_SENSOR,
            DEVICE_WINDOW,
            DEVICE_LIVENESS,
            FLEET_DEVICES,
            FLEET_AT_RISK,
            FLEET_SILENT_RATIO,
            FLEET_REPORT_INTERVAL,
            FLEET_LIFESPAN,
            CONSUMER_LAG,
        ),
        "issue 4 (streams worker)",
    ),
    **dict.fromkeys((DRIFT_EVENTS, MODEL_UPDATES), "exposed (streams/model/telemetry.py)"),
    **dict.fromkeys(
        (CONNECT_FAILED_TASKS, CONNECT_RUNNING_TASKS, CONNECT_SINK_RECORDS, CONNECT_DEAD_LETTERS),
        "Connect JMX exporter javaagent",
    ),
    UP: "Prometheus",
    ALERTS: "Prometheus",
}
