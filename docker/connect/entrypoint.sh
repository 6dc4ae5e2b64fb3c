#!/bin/sh
# Render connect-distributed.properties from CONNECT_* env vars, then run Connect in the foreground.
# CONNECT_BOOTSTRAP_SERVERS=kafka:9092 -> bootstrap.servers=kafka:9092 (lower case, "_" -> ".").
# Defaults match the local stack (fleetpulse/stack/components.py); any CONNECT_* var overrides one.
set -eu

: "${CONNECT_BOOTSTRAP_SERVERS:?set CONNECT_BOOTSTRAP_SERVERS, e.g. kafka:9092}"
: "${CONNECT_GROUP_ID:=fleetpulse-connect}"
: "${CONNECT_CONFIG_STORAGE_TOPIC:=fleetpulse-connect-configs}"
: "${CONNECT_OFFSET_STORAGE_TOPIC:=fleetpulse-connect-offsets}"
: "${CONNECT_STATUS_STORAGE_TOPIC:=fleetpulse-connect-status}"
: "${CONNECT_CONFIG_STORAGE_REPLICATION_FACTOR:=1}"
: "${CONNECT_OFFSET_STORAGE_REPLICATION_FACTOR:=1}"
: "${CONNECT_STATUS_STORAGE_REPLICATION_FACTOR:=1}"
: "${CONNECT_KEY_CONVERTER:=org.apache.kafka.connect.storage.StringConverter}"
: "${CONNECT_VALUE_CONVERTER:=org.apache.kafka.connect.storage.StringConverter}"
: "${CONNECT_LISTENERS:=http://0.0.0.0:8083}"
: "${CONNECT_REST_ADVERTISED_HOST_NAME:=$(hostname)}"
: "${CONNECT_PLUGIN_PATH:=/opt/fleetpulse/plugins}"
# Secrets stay out of connector JSON: ${env:NAME} and ${file:path:key} are resolved by the worker.
: "${CONNECT_CONFIG_PROVIDERS:=env,file}"
: "${CONNECT_CONFIG_PROVIDERS_ENV_CLASS:=org.apache.kafka.common.config.provider.EnvVarConfigProvider}"
: "${CONNECT_CONFIG_PROVIDERS_FILE_CLASS:=org.apache.kafka.common.config.provider.FileConfigProvider}"
export CONNECT_BOOTSTRAP_SERVERS CONNECT_GROUP_ID CONNECT_CONFIG_STORAGE_TOPIC CONNECT_OFFSET_STORAGE_TOPIC \
  CONNECT_STATUS_STORAGE_TOPIC CONNECT_CONFIG_STORAGE_REPLICATION_FACTOR CONNECT_OFFSET_STORAGE_REPLICATION_FACTOR \
  CONNECT_STATUS_STORAGE_REPLICATION_FACTOR CONNECT_KEY_CONVERTER CONNECT_VALUE_CONVERTER CONNECT_LISTENERS \
  CONNECT_REST_ADVERTISED_HOST_NAME CONNECT_PLUGIN_PATH CONNECT_CONFIG_PROVIDERS \
  CONNECT_CONFIG_PROVIDERS_ENV_CLASS CONNECT_CONFIG_PROVIDERS_FILE_CLASS

properties="${CONNECT_PROPERTIES_FILE:-/tmp/connect-distributed.properties}"
# Values may contain "=" (JAAS configs), so split each line on the first "=" only.
env | grep '^CONNECT_' | grep -v '^CONNECT_PROPERTIES_FILE=' | while IFS= read -r line; do
  key=${line%%=*}
  value=${line#*=}
  printf '%s=%s\n' "$(printf '%s' "${key#CONNECT_}" | tr 'A-Z_' 'a-z.')" "$value"
done > "$properties"

exec "${KAFKA_HOME:-/opt/kafka}/bin/connect-distributed.sh" "$properties"
