"""The alert catalogue: every alert defined once, rendered as Prometheus rules, Grafana rules and an
Alertmanager config.

An alert is a *query* (the value Grafana graphs and a human reads) plus a comparison with a threshold.
Prometheus gets `query op threshold`; Grafana gets the query as node A and a threshold node C. Timings
come from `Timing`: production defaults are calm (the original project alerted every 5 s); the tests
pass short ones (scrape 1 s, for 5 s, group_wait 1 s) through the same generator.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from grafana import metrics as m
from schemas.scores import ALERT_THRESHOLD

DATASOURCE_UID = "fleetpulse-prometheus"  # pinned: dashboards and Grafana rules reference it
DEVICE_DASHBOARD_UID = "fleetpulse-device"
TEMPLATE_NAME = "fleetpulse"
TEMPLATE_FILE = Path(__file__).parent / "templates" / "fleetpulse.tmpl"  # Alertmanager and Grafana share it


@dataclass(frozen=True)
class Timing:
    """Every duration an alert path depends on, in seconds."""

    scrape: int = 15
    evaluation: int = 30
    for_override: int | None = None  # None: each alert's own `for`
    # The override shortens only the per-device alerts' `for` (a demo's compressed event time); the pipeline's
    # alerts are about wall time (a scrape target down, a sink failing) and keep their own.
    override_devices_only: bool = False
    group_wait: int = 30
    group_interval: int = 300
    repeat_interval: int = 4 * 3600  # a still-firing group is re-sent every 4 h, not every 5 s


PRODUCTION = Timing()
TEST = Timing(scrape=1, evaluation=1, for_override=5, group_wait=1, group_interval=30, repeat_interval=3600)


@dataclass(frozen=True)
class Alert:
    name: str  # CamelCase: the Prometheus alertname and the Grafana rule title
    uid: str  # stable Grafana rule uid
    query: str  # PromQL returning the value per series (device, topic, reason, …)
    op: Literal[">", "<"]
    threshold: float
    for_seconds: int
    severity: Literal["critical", "warning"]
    summary: str  # Go template over {{ $labels.* }} and {{ $value }}
    description: str
    per_device: bool = False  # routed and grouped by device_id

    def expr(self) -> str:
        # Parenthesised: PromQL binds comparisons tighter than `or`/`and`/`unless`, so a bare `a or b > t`
        # would apply the threshold to `b` only (and alert on every series of `a`).
        return f"({self.query}) {self.op} {self.threshold:g}"


def _score_with_top_reason() -> str:
    """Each device's score, labelled with its top reason (the sensor contributing most), so both the
    Grafana and the Prometheus message can name it; devices whose score has no reason keep their score."""
    score = f"max by (device_id) ({m.DEVICE_SCORE})"
    top = f'label_replace(topk by (device_id) (1, {m.DEVICE_REASON} > 0), "top_reason", "$1", "sensor", "(.+)")'
    return f"({score} * on (device_id) group_left (top_reason) (0 * max by (device_id, top_reason) ({top}) + 1)) or on (device_id) {score}"  # noqa: E501


# Prometheus can query while rendering an annotation (Grafana cannot: it names `top_reason` only), so the
# Prometheus message lists every reason and the device's latest readings.
REASONS_TEMPLATE = (
    '{{ with query (printf "sort_desc(' + m.DEVICE_REASON + "{device_id='%s'} > 0)\" $labels.device_id) }}"
    ' Reasons: {{ range . }}{{ .Labels.sensor }} {{ printf "%.2f" .Value }}; {{ end }}{{ end }}'
)
READINGS_TEMPLATE = (
    ' Latest readings: {{ range query (printf "' + m.DEVICE_SENSOR + "{device_id='%s'}\" $labels.device_id) }}"
    '{{ .Labels.sensor }}={{ printf "%g" .Value }} {{ end }}'
)
GRAFANA_REASONS = "{{ with $labels.top_reason }} Top reason: {{ . }} (all in the drilldown).{{ end }}"


def catalogue(timing: Timing = PRODUCTION) -> list[Alert]:
    worker = f'job="{m.WORKER_JOB}"'
    alerts = [
        Alert(
            "DeviceFailureScoreHigh",
            "fp-device-score-high",
            _score_with_top_reason(),
            ">",
            ALERT_THRESHOLD,
            # The worker holds an alerting score for 15 min of event time (streams/alert_hold.py): the model has
            # already debounced it (one alert per change), so the rule only rides out a scrape or two.
            60,
            "critical",
            '{{ $labels.device_id }} failure score {{ printf "%.2f" $value }}'
            "{{ with $labels.top_reason }} (top reason: {{ . }}){{ end }}",
            "Device {{ $labels.device_id }} is likely to fail." + REASONS_TEMPLATE + READINGS_TEMPLATE,
            per_device=True,
        ),
        Alert(
            "DeviceSilent",
            "fp-device-silent",
            f"max by (device_id) ({m.DEVICE_LIVENESS})",
            ">",
            m.SILENT - 0.5,  # 2 silent, 3 dead (the worker's event-time thresholds, 10 min and 1 h)
            60,
            "warning",
            "{{ $labels.device_id }} is {{ if ge $value 3.0 }}dead{{ else }}silent{{ end }}",
            "Device {{ $labels.device_id }} has sent no reading while the rest of the fleet did: "
            "powered off, disconnected, or dead.",
            per_device=True,
        ),
        Alert(
            "FleetSilentShareHigh",
            "fp-fleet-silent-share",
            f"max({m.FLEET_SILENT_RATIO})",
            ">",
            0.2,
            600,
            "warning",
            "{{ humanizePercentage $value }} of the fleet silent for more than 10 min",
            "A fifth of the devices stopped reporting: a network or site outage rather than device failures.",
        ),
        Alert(
            "DeviceSensorAtCriticalLimit",
            "fp-device-sensor-critical",
            f"max by (device_id, sensor) ({m.DEVICE_REASON})",
            ">",
            0.999,
            120,
            "critical",
            "{{ $labels.device_id }} {{ $labels.sensor }} at or past its critical limit",
            "Sensor {{ $labels.sensor }} of device {{ $labels.device_id }} has reached its critical level.",
            per_device=True,
        ),
        Alert(
            "SensorReadingsBeyondPhysicalRange",
            "fp-readings-out-of-range",
            f'sum by (reason) (increase({m.DEAD_LETTERS}{{reason=~"out_of_range|implausible"}}[10m]))',
            ">",
            0,
            0,
            "warning",
            '{{ printf "%.0f" $value }} readings beyond physical limits ({{ $labels.reason }}) in 10 min',
            "Readings outside their sensor's physical or plausible range went to the dead-letter topic: "
            "usually a unit bug in a producer (MHz sent as GHz) or a broken sensor.",
        ),
        Alert(
            "ReadingsWithImpossibleTime",
            "fp-readings-impossible-time",
            f'sum by (reason) (increase({m.DEAD_LETTERS}{{reason=~"future_time|too_old"}}[10m]))',
            ">",
            0,
            0,
            "warning",
            '{{ printf "%.0f" $value }} readings refused for their event time ({{ $labels.reason }}) in 10 min',
            "Readings dated too far ahead of or behind the time they were sent went to the dead-letter topic "
            "instead of moving event time: a device clock that is wrong, or a time in the wrong unit. The dead "
            "letters name the device; bounds: FLEETPULSE_EVENT_TIME_MAX_AHEAD_SECONDS / _MAX_AGE_SECONDS.",
        ),
        Alert(
            "ReadingsOnWrongPartition",
            "fp-readings-wrong-partition",
            f'sum by (reason) (increase({m.DEAD_LETTERS}{{reason="wrong_partition"}}[10m]))',
            ">",
            0,
            0,
            "warning",
            '{{ printf "%.0f" $value }} readings on the wrong partition for their device in 10 min',
            "A producer keys readings by something other than device_id (or partitions them itself): they "
            "went to the dead-letter topic, whose key and x-source-partition header say which producer.",
        ),
        Alert(
            "PipelineConsumerLagHigh",
            "fp-consumer-lag-high",
            f"sum by (topic) ({m.CONSUMER_LAG})",
            ">",
            10000,
            300,
            "warning",
            'worker is {{ printf "%.0f" $value }} records behind on {{ $labels.topic }}',
            "The stream worker is not keeping up with {{ $labels.topic }}; scores are late.",
        ),
        Alert(
            "PipelineEventLagHigh",
            "fp-event-lag-high",
            f"histogram_quantile(0.95, sum by (le) (rate({m.EVENT_LAG_SECONDS}_bucket[5m])))",
            ">",
            120,
            300,
            "warning",
            "p95 event-time lag {{ humanizeDuration $value }}",
            "Readings are scored long after they happened: the pipeline or the producers are behind.",
        ),
        Alert(
            "DeadLettersGrowing",
            "fp-dead-letters-growing",
            f"sum by (reason) (increase({m.DEAD_LETTERS}[10m]))",
            ">",
            10,
            300,
            "warning",
            '{{ printf "%.0f" $value }} records dead-lettered ({{ $labels.reason }}) in 10 min',
            "Bad input keeps arriving; read the dead-letter topic for the payloads and the errors.",
        ),
        Alert(
            "ConnectSinkFailing",
            "fp-connect-sink-failing",
            f"sum by (connector) ({m.CONNECT_FAILED_TASKS})",
            ">",
            0,
            60,
            "critical",
            'sink connector {{ $labels.connector }} has {{ printf "%.0f" $value }} failed task(s)',
            "Readings or scores are not reaching DynamoDB. GET /connectors/{{ $labels.connector }}/status "
            "shows the trace; restart the task once the cause is fixed.",
        ),
        Alert(
            "ConnectDeadLetters",
            "fp-connect-dead-letters",
            f"sum by (connector) (increase({m.CONNECT_DEAD_LETTERS}[10m]))",
            ">",
            0,
            60,
            "warning",
            '{{ printf "%.0f" $value }} records from {{ $labels.connector }} went to the Connect dead-letter topic',
            "The sink rejected records (not JSON, missing key, refused by DynamoDB): read "
            "fleetpulse.connect-dead-letters.v1; its __connect.errors.* headers carry the reason.",
        ),
        Alert(
            "WorkerDown",
            "fp-worker-down",
            f"max by (instance) ({m.UP}{{{worker}}})",
            "<",
            1,
            60,
            "critical",
            "stream worker {{ $labels.instance }} is down",
            "Prometheus cannot scrape the stream worker at {{ $labels.instance }}: nothing is scored.",
        ),
    ]
    override = timing.for_override
    if override is not None:
        alerts = [
            replace(alert, for_seconds=min(alert.for_seconds, override))
            if alert.per_device or not timing.override_devices_only
            else alert
            for alert in alerts
        ]
    return alerts


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0 and seconds:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0 and seconds:
        return f"{seconds // 60}m"
    return f"{seconds}s"


def _drilldown(grafana_url: str) -> str:
    return f"{grafana_url.rstrip('/')}/d/{DEVICE_DASHBOARD_UID}?var-device_id={{{{ $labels.device_id }}}}"


# --- Prometheus (rule file; also the `spec` of a kube-prometheus-stack PrometheusRule) ---------------


def prometheus_rules(timing: Timing = PRODUCTION, grafana_url: str = "http://127.0.0.1:3000") -> dict:
    rules = []
    for alert in catalogue(timing):
        annotations = {"summary": alert.summary, "description": alert.description}
        if alert.per_device:
            annotations["drilldown"] = _drilldown(grafana_url)
        rules.append(
            {
                "alert": alert.name,
                "expr": alert.expr(),
                "for": _duration(alert.for_seconds),
                "labels": {"severity": alert.severity, "team": "fleetpulse"},
                "annotations": annotations,
            }
        )
    return {"groups": [{"name": "fleetpulse", "interval": _duration(timing.evaluation), "rules": rules}]}


# --- Grafana unified alerting (file provisioning format) ----------------------------------------------


def _grafana_annotation(template: str) -> str:
    """Grafana annotations know $labels and $value but not Prometheus's `query` function."""
    return template.replace(REASONS_TEMPLATE, GRAFANA_REASONS).replace(READINGS_TEMPLATE, "")


def grafana_rules(timing: Timing = PRODUCTION, grafana_url: str = "http://127.0.0.1:3000") -> dict:
    rules = []
    for alert in catalogue(timing):
        evaluator = {"type": "gt" if alert.op == ">" else "lt", "params": [alert.threshold]}
        annotations = {
            "summary": _grafana_annotation(alert.summary),
            "description": _grafana_annotation(alert.description),
        }
        if alert.per_device:
            annotations["drilldown"] = _drilldown(grafana_url)
        rules.append(
            {
                "uid": alert.uid,
                "title": alert.name,
                "condition": "C",
                "data": [
                    {
                        "refId": "A",
                        "relativeTimeRange": {"from": 600, "to": 0},
                        "datasourceUid": DATASOURCE_UID,
                        "model": {"refId": "A", "expr": alert.query, "instant": True, "range": False},
                    },
                    {
                        "refId": "C",
                        "datasourceUid": "__expr__",
                        "model": {
                            "refId": "C",
                            "type": "threshold",
                            "expression": "A",
                            "conditions": [{"evaluator": evaluator}],
                        },
                    },
                ],
                "noDataState": "OK",  # "no device is above the threshold" is not a problem
                "execErrState": "Error",
                "for": _duration(alert.for_seconds),
                "labels": {"severity": alert.severity, "team": "fleetpulse"},
                "annotations": annotations,
                "isPaused": False,
            }
        )
    group = {
        "orgId": 1,
        "name": "fleetpulse",
        "folder": "FleetPulse",
        "interval": _duration(max(timing.evaluation, 10)),  # Grafana evaluates in multiples of 10 s
        "rules": rules,
    }
    return {"apiVersion": 1, "groups": [group]}


# --- Alertmanager (local stack and kube-prometheus-stack) ---------------------------------------------


@dataclass(frozen=True)
class Telegram:
    api_url: str
    bot_token: str
    chat_id: int


@dataclass(frozen=True)
class Email:
    to: str
    smarthost: str
    sender: str


def alertmanager_config(
    *, template_path: str, telegram: Telegram | None, email: Email | None, timing: Timing = PRODUCTION
) -> dict:
    """One receiver with both channels (a channel left out is not configured); device alerts are grouped
    per device (one message per device, listing its alerts), pipeline alerts per alertname."""
    receiver: dict = {"name": "fleetpulse-ops"}
    if email:
        receiver["email_configs"] = [
            {
                "to": email.to,
                "from": email.sender,
                "smarthost": email.smarthost,
                "require_tls": False,
                "send_resolved": True,
                "headers": {"Subject": '{{ template "fleetpulse.title" . }}'},
                "text": '{{ template "fleetpulse.text" . }}',
            }
        ]
    if telegram:
        receiver["telegram_configs"] = [
            {
                "api_url": telegram.api_url,
                "bot_token": telegram.bot_token,
                "chat_id": telegram.chat_id,
                "parse_mode": "HTML",
                "send_resolved": True,
                "message": '{{ template "fleetpulse.text" . }}',
            }
        ]
    return {
        "route": {
            "receiver": "fleetpulse-ops",
            "group_by": ["alertname"],
            "group_wait": _duration(timing.group_wait),
            "group_interval": _duration(timing.group_interval),
            "repeat_interval": _duration(timing.repeat_interval),
            "routes": [{"matchers": ['device_id=~".+"'], "group_by": ["device_id"]}],
        },
        # When the worker is down every device looks silent: page once for the worker, not per device.
        "inhibit_rules": [{"source_matchers": ["alertname=WorkerDown"], "target_matchers": ["alertname=DeviceSilent"]}],
        "receivers": [receiver],
        "templates": [template_path],
    }
