"""The servers of the local stack: how each is configured, launched and judged healthy."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from pathlib import Path

import boto3
import requests
from confluent_kafka.admin import AdminClient

from core.settings import Settings
from fleetpulse.stack import install
from grafana.alerts import Timing
from grafana.stack import write_alertmanager_config, write_prometheus_rules

CONNECTOR_CLASS = "io.fleetpulse.connect.dynamodb.DynamoDbSinkConnector"
LOG4J = """log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.org.apache.kafka.clients=WARN
log4j.logger.kafka.request.logger=WARN
log4j.logger.org.reflections=ERROR
"""
LOCAL_ALERT_TIMING = Timing(scrape=2, evaluation=2)  # the stack scrapes every 2 s; production `for`s
# Prometheus scrapes every project process through file-based discovery: a process (or a test)
# drops targets/<name>.json and is scraped within seconds, without a config reload.
METRICS_JOBS = {
    "fleetpulse-worker": "worker_metrics_port",
    "fleetpulse-simulator": "simulator_metrics_port",
    "fleetpulse-api": "api_port",  # the query API serves /metrics on its own port
}


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _properties(values: dict[str, object]) -> str:
    return "".join(f"{key}={value}\n" for key, value in values.items())


def _java(heap: str, classpath: Path, *options: str) -> list[str]:
    return [
        "java",
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        *options,
        "-cp",
        f"{classpath}/*",
    ]


@dataclass
class Component:
    """One server. `prepare` installs and configures it and returns the command that runs it."""

    name: str
    settings: Settings

    @property
    def home(self) -> Path:
        return self.settings.stack_dir.resolve() / self.name

    @property
    def url(self) -> str:
        raise NotImplementedError

    def prepare(self) -> list[str]:
        raise NotImplementedError

    def healthy(self) -> bool:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return {}


class Kafka(Component):
    @property
    def url(self) -> str:
        return f"kafka://127.0.0.1:{self.settings.kafka_port}"

    def prepare(self) -> list[str]:
        s = self.settings
        libs = install.jars(s.cache_dir, "kafka.pom.xml")
        log4j = _write(self.home / "log4j.properties", LOG4J)
        config = _write(
            self.home / "server.properties",
            _properties(
                {
                    "process.roles": "broker,controller",
                    "node.id": 1,
                    "controller.quorum.voters": f"1@127.0.0.1:{s.kafka_controller_port}",
                    "listeners": f"PLAINTEXT://127.0.0.1:{s.kafka_port},CONTROLLER://127.0.0.1:{s.kafka_controller_port}",
                    "advertised.listeners": f"PLAINTEXT://127.0.0.1:{s.kafka_port}",
                    "inter.broker.listener.name": "PLAINTEXT",
                    "controller.listener.names": "CONTROLLER",
                    "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                    "log.dirs": self.home / "data",
                    "num.partitions": s.topic_partitions,
                    "offsets.topic.replication.factor": 1,
                    "offsets.topic.num.partitions": 6,
                    "transaction.state.log.replication.factor": 1,
                    "transaction.state.log.min.isr": 1,
                    "group.initial.rebalance.delay.ms": 0,
                    "num.network.threads": 2,
                    "num.io.threads": 2,
                    "auto.create.topics.enable": "false",
                }
            ),
        )
        java = _java("768m", libs, f"-Dlog4j.configuration=file:{log4j}", f"-Dkafka.logs.dir={self.home}")
        if not (self.home / "data" / "meta.properties").exists():
            install._run(
                [*java, "kafka.tools.StorageTool", "format", "-t", _cluster_id(), "-c", str(config)],
                "formatting Kafka storage",
            )
        return [*java, "kafka.Kafka", str(config)]

    def healthy(self) -> bool:
        admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{self.settings.kafka_port}", "log_level": 0})
        try:
            return bool(admin.list_topics(timeout=2).brokers)
        except Exception:
            return False


class Connect(Component):
    group_id = "fleetpulse-connect"  # names the worker group and its storage topics; a test's own worker differs

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.connect_port}"

    def prepare(self) -> list[str]:
        s = self.settings
        libs = install.jars(s.cache_dir, "kafka.pom.xml")
        plugin_path = install.connector_plugin()
        log4j = _write(self.home / "log4j.properties", LOG4J)
        config = _write(
            self.home / "connect-distributed.properties",
            _properties(
                {
                    "bootstrap.servers": f"127.0.0.1:{s.kafka_port}",
                    "group.id": self.group_id,
                    "config.storage.topic": f"{self.group_id}-configs",
                    "offset.storage.topic": f"{self.group_id}-offsets",
                    "status.storage.topic": f"{self.group_id}-status",
                    "config.storage.replication.factor": 1,
                    "offset.storage.replication.factor": 1,
                    "status.storage.replication.factor": 1,
                    "key.converter": "org.apache.kafka.connect.storage.StringConverter",
                    "value.converter": "org.apache.kafka.connect.storage.StringConverter",
                    "offset.flush.interval.ms": 1000,
                    "listeners": self.url,
                    "rest.advertised.host.name": "127.0.0.1",
                    "rest.advertised.port": s.connect_port,
                    "plugin.path": plugin_path,
                    # Secrets stay out of connector JSON: ${env:NAME} and ${file:path:key} resolve here.
                    "config.providers": "env,file",
                    "config.providers.env.class": "org.apache.kafka.common.config.provider.EnvVarConfigProvider",
                    "config.providers.file.class": "org.apache.kafka.common.config.provider.FileConfigProvider",
                }
            ),
        )
        # Connect reports through JMX only; the JMX exporter agent serves it to Prometheus.
        exporter = next(install.jars(s.cache_dir, "jmx-exporter.pom.xml").glob("jmx_prometheus_javaagent-*.jar"))
        rules = install.JVM_DIR / "connect-jmx-exporter.yml"
        agent = f"-javaagent:{exporter}=127.0.0.1:{s.connect_metrics_port}:{rules}"
        register_target(s, "fleetpulse-connect", "fleetpulse-connect", s.connect_metrics_port)
        java = _java("512m", libs, agent, f"-Dlog4j.configuration=file:{log4j}", f"-Dkafka.logs.dir={self.home}")
        return [*java, "org.apache.kafka.connect.cli.ConnectDistributed", str(config)]

    def env(self) -> dict[str, str]:
        s = self.settings
        return {
            "FLEETPULSE_DYNAMODB_ENDPOINT": s.dynamodb_endpoint,
            "FLEETPULSE_AWS_REGION": s.aws_region,
            "FLEETPULSE_AWS_ACCESS_KEY_ID": s.aws_access_key_id,
            "FLEETPULSE_AWS_SECRET_ACCESS_KEY": s.aws_secret_access_key.get_secret_value(),
        }

    def healthy(self) -> bool:
        try:
            plugins = requests.get(f"{self.url}/connector-plugins", timeout=2).json()
        except (requests.RequestException, ValueError):
            return False
        return any(plugin.get("class") == CONNECTOR_CLASS for plugin in plugins)


class DynamoDb(Component):
    """dynoxide, an open-source DynamoDB-compatible server (MIT OR Apache-2.0), in memory or on one SQLite file."""

    db_path: Path | None = None  # file-backed instead of in memory, so data survives a restart

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.dynamodb_port}"

    def prepare(self) -> list[str]:
        binary = install.crate_binary(self.settings.cache_dir, install.DYNOXIDE)
        return [
            str(binary),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.settings.dynamodb_port),
            *(["--db-path", str(self.db_path)] if self.db_path else []),
        ]

    def healthy(self) -> bool:
        s = self.settings
        client = boto3.client(
            "dynamodb",
            endpoint_url=self.url,
            region_name=s.aws_region,
            aws_access_key_id=s.aws_access_key_id,
            aws_secret_access_key=s.aws_secret_access_key.get_secret_value(),
        )
        try:
            client.list_tables(Limit=1)
            return True
        except Exception:
            return False


class Prometheus(Component):
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.prometheus_port}"

    @property
    def targets_dir(self) -> Path:
        return self.home / "targets"

    def prepare(self) -> list[str]:
        binary = install.debian_binary("prometheus", "prometheus")
        for job, port_field in METRICS_JOBS.items():
            register_target(self.settings, job, job, getattr(self.settings, port_field))
        config = _write(
            self.home / "prometheus.yml",
            json.dumps(
                {
                    "global": {"scrape_interval": "2s", "evaluation_interval": "2s"},
                    # The alert catalogue (grafana/alerts.py), sent to the stack's Alertmanager.
                    "rule_files": [str(write_prometheus_rules(self.home, self.settings, LOCAL_ALERT_TIMING))],
                    "alerting": {
                        "alertmanagers": [
                            {"static_configs": [{"targets": [f"127.0.0.1:{self.settings.alertmanager_port}"]}]}
                        ]
                    },
                    "scrape_configs": [
                        {
                            "job_name": "fleetpulse",
                            "file_sd_configs": [{"files": [f"{self.targets_dir}/*.json"], "refresh_interval": "2s"}],
                        }
                    ],
                },
                indent=2,
            ),
        )
        return [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={self.home / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.settings.prometheus_port}",
            "--web.enable-lifecycle",
            "--storage.tsdb.retention.time=2d",
        ]

    def healthy(self) -> bool:
        try:
            return requests.get(f"{self.url}/-/ready", timeout=2).status_code == 200
        except requests.RequestException:
            return False


class Alertmanager(Component):
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.alertmanager_port}"

    def prepare(self) -> list[str]:
        binary = install.debian_binary("prometheus-alertmanager", "prometheus-alertmanager")
        config = write_alertmanager_config(self.home, self.settings, LOCAL_ALERT_TIMING)
        return [
            binary,
            f"--config.file={config}",
            f"--storage.path={self.home / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.settings.alertmanager_port}",
            "--cluster.listen-address=",  # no HA gossip (its default port, 9094, is ours)
        ]

    def healthy(self) -> bool:
        try:
            return requests.get(f"{self.url}/-/ready", timeout=2).status_code == 200
        except requests.RequestException:
            return False


def register_target(settings: Settings, name: str, job: str, port: int) -> Path:
    """Tell the local Prometheus to scrape 127.0.0.1:port as `job` (file-based service discovery)."""
    targets = settings.stack_dir.resolve() / "prometheus" / "targets" / f"{name}.json"
    return _write(targets, json.dumps([{"targets": [f"127.0.0.1:{port}"], "labels": {"job": job}}]))


def all_components(settings: Settings) -> list[Component]:
    """In start order: Connect needs Kafka; the rest are independent."""
    return [
        Kafka("kafka", settings),
        DynamoDb("dynamodb", settings),
        Connect("connect", settings),
        Prometheus("prometheus", settings),
        Alertmanager("alertmanager", settings),
    ]


def _cluster_id() -> str:
    """A random KRaft cluster id as Kafka writes them (URL-safe base64 of a UUID). One that starts with '-'
    (1 in 64) reads as an option to the storage tool's argument parser, which then fails the format, so
    draw again, as Kafka's own Uuid.randomUuid does."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id
