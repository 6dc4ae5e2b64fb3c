"""Kafka client configuration derived from the settings, for confluent-kafka and for Faust/aiokafka."""

from __future__ import annotations

import ssl
from typing import Any

import faust
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from core.settings import ConfigError, Settings


def confluent_config(settings: Settings, **extra: Any) -> dict[str, Any]:
    """librdkafka properties: bootstrap servers plus the security block for a managed cluster."""
    config: dict[str, Any] = {
        "bootstrap.servers": settings.kafka_bootstrap_servers,
        "security.protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_security_protocol.startswith("SASL"):
        config |= {
            "sasl.mechanisms": settings.kafka_sasl_mechanism,
            "sasl.username": settings.kafka_sasl_username,
            "sasl.password": settings.kafka_sasl_password.get_secret_value(),
        }
    if settings.kafka_ssl_ca_location:
        config["ssl.ca.location"] = settings.kafka_ssl_ca_location
    return config | extra


def confluent_producer_config(settings: Settings, **extra: Any) -> dict[str, Any]:
    """An idempotent, acks=all producer that partitions keys like Java clients and Faust (murmur2), so a
    device's readings, its table row and the worker that serves its HTTP status share one partition."""
    return confluent_config(
        settings, **{"enable.idempotence": True, "acks": "all", "partitioner": "murmur2_random", **extra}
    )


def faust_broker_credentials(settings: Settings) -> faust.types.auth.CredentialsT | None:
    """aiokafka credentials for the same security settings; None for PLAINTEXT."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    context = ssl.create_default_context(cafile=settings.kafka_ssl_ca_location or None)
    if protocol == "SSL":
        return faust.SSLCredentials(context)
    return faust.SASLCredentials(
        username=settings.kafka_sasl_username,
        password=settings.kafka_sasl_password.get_secret_value(),
        mechanism=settings.kafka_sasl_mechanism,
        ssl_context=context if protocol == "SASL_SSL" else None,
    )


def faust_broker_url(settings: Settings) -> str:
    return ";".join(f"kafka://{server}" for server in settings.kafka_bootstrap_servers.split(","))


def require_kafka(settings: Settings, timeout_s: float = 10.0) -> None:
    """Fail at start, as a ConfigError naming the setting, when no broker answers a metadata request (the
    clients would otherwise retry silently, or forever)."""
    admin = AdminClient(confluent_config(settings, log_level=0))  # no librdkafka log lines: the error says it
    try:
        admin.list_topics(timeout=timeout_s)
    except KafkaException as error:
        reason = error.args[0].str() if error.args and hasattr(error.args[0], "str") else str(error)
        raise ConfigError(
            "FLEETPULSE_KAFKA_BOOTSTRAP_SERVERS",
            f"no Kafka broker answered at {settings.kafka_bootstrap_servers} within {timeout_s:.0f} s ({reason})",
        ) from None
