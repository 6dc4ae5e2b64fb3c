"""The three dashboards, as code (grafana-foundation-sdk pinned to Grafana 11.6, schemaVersion 41).

`fleetpulse grafana generate` writes them to grafana/dashboards/*.json; a test fails when the committed
JSON is stale. Every query names its metrics through grafana/metrics.py.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard, histogram, prometheus, stat, statetimeline, table, timeseries
from grafana_foundation_sdk.builders.common import ReduceDataOptions
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DataSourceRef,
    ValueMap,
    ValueMappingResult,
    VariableOption,
    VariableRefresh,
    VariableSort,
)
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from grafana import metrics as m
from grafana.alerts import DATASOURCE_UID, DEVICE_DASHBOARD_UID, _score_with_top_reason
from schemas.units import SENSORS

DS = DataSourceRef(type_val="prometheus", uid=DATASOURCE_UID)
DEVICE = 'device_id="$device_id"'
LIVENESS_COLORS = {"on_time": "green", "late": "yellow", "silent": "orange", "dead": "red"}
LIVENESS_MAPPING = ValueMap(
    options={
        str(value): ValueMappingResult(text=name, color=LIVENESS_COLORS[name], index=value)
        for value, name in enumerate(m.LIVENESS_STATES)
    }
)
# Grafana unit ids per sensor (the field suffix names the unit; see schemas/units.py).
SENSOR_UNITS = {
    "temperature_c": "celsius",
    "power_w": "watt",
    "load_pct": "percent",
    "voltage_v": "volt",
    "fan_cfm": "flowcfm",
    "clock_ghz": "suffix: GHz",
}


def _query(expr: str, legend: str = "", *, instant: bool = False, ref: str = "A") -> prometheus.Dataquery:
    query = prometheus.Dataquery().expr(expr).ref_id(ref).datasource(DS)
    if legend:
        query = query.legend_format(legend)
    if instant:
        query = query.instant().format(PromQueryFormat.TABLE)
    return query


def _with_queries(panel: cogbuilder.Builder, queries: list[tuple[str, str]], **kw: bool) -> cogbuilder.Builder:
    for index, (expr, legend) in enumerate(queries):
        panel = panel.with_target(_query(expr, legend, ref=chr(ord("A") + index), **kw))
    return panel


def _timeseries(title: str, unit: str, queries: list[tuple[str, str]], w: int = 12, h: int = 8) -> timeseries.Panel:
    panel = timeseries.Panel().title(title).unit(unit).datasource(DS).span(w).height(h).fill_opacity(10)
    return _with_queries(panel, queries)


def _stat(title: str, unit: str, queries: list[tuple[str, str]], w: int = 6, h: int = 4) -> stat.Panel:
    reduce = ReduceDataOptions().calcs(["lastNotNull"])
    panel = stat.Panel().title(title).unit(unit).datasource(DS).span(w).height(h).reduce_options(reduce)
    return _with_queries(panel, queries)


def _board(uid: str, title: str, description: str) -> dashboard.Dashboard:
    return (
        dashboard.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["fleetpulse"])
        .refresh("30s")
        .time("now-1h", "now")
        .timezone("browser")
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .editable()
    )


def fleet_overview() -> dashboard.Dashboard:
    return (
        _board("fleetpulse-fleet", "FleetPulse / Fleet overview", "Devices by state, risk and fleet KPIs.")
        .with_panel(
            _stat(
                "Devices by liveness, and at risk (score >= 0.5)",
                "none",
                [(f"sum by (state) ({m.FLEET_DEVICES})", "{{state}}"), (f"sum({m.FLEET_AT_RISK})", "at risk")],
                w=12,
            )
        )
        .with_panel(_stat("Silent > 10 min", "percentunit", [(f"max({m.FLEET_SILENT_RATIO})", "silent")], w=4))
        .with_panel(_stat("Mean time between reports", "s", [(f"max({m.FLEET_REPORT_INTERVAL})", "interval")], w=4))
        .with_panel(_stat("Mean lifespan", "s", [(f"max({m.FLEET_LIFESPAN})", "lifespan")], w=4))
        .with_panel(
            table.Panel()
            .title("Top 10 devices at risk, with the top reason")
            .description("Score 0..1; the drilldown shows every reason.")
            .unit("percentunit")
            .datasource(DS)
            .span(12)
            .height(10)
            .with_target(_query(f"topk(10, {_score_with_top_reason()})", instant=True))
        )
        .with_panel(
            histogram.Panel()
            .title("Failure-score distribution")
            .unit("percentunit")
            .datasource(DS)
            .span(12)
            .height(10)
            .bucket_size(0.05)
            .with_target(_query(f"max by (device_id) ({m.DEVICE_SCORE})", "{{device_id}}", instant=True))
        )
        .with_panel(
            _timeseries(
                "Failure score of the 10 riskiest devices",
                "percentunit",
                [(f"topk(10, max by (device_id) ({m.DEVICE_SCORE}))", "{{device_id}}")],
                w=12,
            )
        )
        .with_panel(
            table.Panel()
            .title("Alerts firing")
            .unit("none")
            .datasource(DS)
            .span(12)
            .height(8)
            .with_target(
                _query(f'sum by (alertname, severity, device_id) ({m.ALERTS}{{alertstate="firing"}})', instant=True)
            )
        )
    )


def device_drilldown() -> dashboard.Dashboard:
    variable = (
        dashboard.QueryVariable("device_id")
        .label("Device")
        .datasource(DS)
        .query(f"label_values({m.DEVICE_SCORE}, device_id)")
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
        .current(VariableOption(selected=False, text="", value=""))
    )
    board = (
        _board(DEVICE_DASHBOARD_UID, "FleetPulse / Device drilldown", "One device: sensors, score, liveness.")
        .with_variable(variable)
        .annotation(
            dashboard.AnnotationQuery()
            .name("Drift (fleet, by device type)")
            .datasource(DS)
            .enable(True)
            .icon_color("orange")
            .expr(f"sum by (device_type) (changes({m.DRIFT_EVENTS}[1m])) > 0")  # labelled by type, not device
        )
        .annotation(
            dashboard.AnnotationQuery()
            .name("Failure alerts")
            .datasource(DS)
            .enable(True)
            .icon_color("red")
            .expr(f'{m.ALERTS}{{alertname=~"DeviceFailureScoreHigh|DeviceSensorAtCriticalLimit",{DEVICE}}} > 0')
        )
        .with_panel(
            _timeseries(
                "Failure score and reasons",
                "percentunit",
                [
                    (f"max by (device_id) ({m.DEVICE_SCORE}{{{DEVICE}}})", "score"),
                    (f"max by (sensor) ({m.DEVICE_REASON}{{{DEVICE}}})", "reason: {{sensor}}"),
                ],
            )
        )
        .with_panel(
            statetimeline.Panel()
            .title("Liveness")
            .unit("none")
            .datasource(DS)
            .span(12)
            .height(8)
            .mappings([LIVENESS_MAPPING])
            .with_target(_query(f"max({m.DEVICE_LIVENESS}{{{DEVICE}}})", "liveness"))
        )
    )
    for sensor, unit in SENSOR_UNITS.items():
        board = board.with_panel(
            _timeseries(
                f"{SENSORS[sensor].description}",
                unit,
                [
                    (f'max({m.DEVICE_SENSOR}{{{DEVICE},sensor="{sensor}"}})', "latest"),
                    (
                        f'max by (stat) ({m.DEVICE_WINDOW}{{{DEVICE},sensor="{sensor}",stat=~"min|mean|max"}})',
                        "1-min window {{stat}}",
                    ),  # std and slope_per_s are in other units: not on this axis
                ],
                w=8,
            )
        )
    return board


def pipeline_health() -> dashboard.Dashboard:
    rate = "[$__rate_interval]"
    return (
        _board("fleetpulse-pipeline", "FleetPulse / Pipeline health", "Throughput, lag, dead letters, sinks.")
        .with_panel(
            _timeseries(
                "Throughput per stage",
                "cps",
                [
                    (f"sum by (topic) (rate({m.PRODUCED}{rate}))", "produced {{topic}}"),
                    (f"sum by (topic) (rate({m.RECORDS_IN}{rate}))", "worker in {{topic}}"),
                    (f"sum by (topic) (rate({m.RECORDS_OUT}{rate}))", "worker out {{topic}}"),
                    (f"sum by (connector) (rate({m.CONNECT_SINK_RECORDS}{rate}))", "sink {{connector}}"),
                ],
            )
        )
        .with_panel(_timeseries("Consumer lag", "short", [(f"sum by (topic) ({m.CONSUMER_LAG})", "{{topic}}")]))
        .with_panel(
            _timeseries(
                "Dead letters by reason",
                "short",
                [(f"sum by (reason) (increase({m.DEAD_LETTERS}{rate}))", "{{reason}}")],
            )
        )
        .with_panel(
            _timeseries(
                "Processing latency per reading",
                "s",
                [
                    (
                        f"histogram_quantile({q}, sum by (le) (rate({m.PROCESSING_SECONDS}_bucket{rate})))",
                        f"p{int(q * 100)}",
                    )
                    for q in (0.5, 0.99)
                ],
            )
        )
        .with_panel(
            _timeseries(
                "Event-time lag when scored",
                "s",
                [
                    (
                        f"histogram_quantile({q}, sum by (le) (rate({m.EVENT_LAG_SECONDS}_bucket{rate})))",
                        f"p{int(q * 100)}",
                    )
                    for q in (0.5, 0.95)
                ],
            )
        )
        .with_panel(
            _stat(
                "Connect sink tasks",
                "none",
                [
                    (f"sum by (connector) ({m.CONNECT_RUNNING_TASKS})", "running {{connector}}"),
                    (f"sum by (connector) ({m.CONNECT_FAILED_TASKS})", "failed {{connector}}"),
                ],
                w=12,
            )
        )
        .with_panel(
            _timeseries(
                "Model updates and drift",
                "cps",
                [
                    (f"sum by (kind) (rate({m.MODEL_UPDATES}{rate}))", "model updates/s: {{kind}}"),
                    (f"sum(rate({m.DRIFT_EVENTS}{rate}))", "drift events/s"),
                ],
            )
        )
        .with_panel(
            _timeseries(
                "Delivery repairs (Faust redelivered, skipped or stalled)",
                "cps",
                [
                    (f"sum(rate({m.REPLAYED}{rate}))", "replays skipped by the guard"),
                    (f"sum by (topic) (rate({m.SKIPPED_READ_BACK}{rate}))", "skipped, read back: {{topic}}"),
                    (f"sum(rate({m.STALLED_TAKEN_OVER}{rate}))", "stalled partition, taken over"),
                ],
            )
        )
        .with_panel(
            _timeseries(
                "Producer delivery errors",
                "cps",
                [(f"sum by (topic) (rate({m.PRODUCER_ERRORS}{rate}))", "{{topic}}")],
                w=6,
            )
        )
        .with_panel(_stat("Workers up", "none", [(f'sum({m.UP}{{job="{m.WORKER_JOB}"}})', "up")], w=6, h=8))
    )


DASHBOARDS = {
    "fleet-overview": fleet_overview,
    "device-drilldown": device_drilldown,
    "pipeline-health": pipeline_health,
}
