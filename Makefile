# The two commands in the README: `make demo` (the main job) and `make test` (the whole suite).
# Both install what they need: a virtualenv here, jars in ~/.cache/fleetpulse, Prometheus from Debian.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# The test suite runs its own stack on other ports, so it never touches a running demo.
TEST_ENV := FLEETPULSE_STACK_DIR=.stack-test FLEETPULSE_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:19092 \
	FLEETPULSE_KAFKA_PORT=19092 FLEETPULSE_KAFKA_CONTROLLER_PORT=19093 \
	FLEETPULSE_CONNECT_PORT=18083 FLEETPULSE_CONNECT_METRICS_PORT=19404 FLEETPULSE_CONNECT_URL=http://127.0.0.1:18083 \
	FLEETPULSE_DYNAMODB_PORT=18000 FLEETPULSE_DYNAMODB_ENDPOINT=http://127.0.0.1:18000 \
	FLEETPULSE_PROMETHEUS_PORT=19090 FLEETPULSE_PROMETHEUS_URL=http://127.0.0.1:19090 FLEETPULSE_ALERTMANAGER_PORT=19094

.PHONY: install tools helm-sync demo up down status test test-unit lint format bench clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(INSTALLED)

# helm and docker-compose for tests/deploy, into ~/.cache/fleetpulse/bin (idempotent).
tools:
	docker/install-tools.sh

# Copy grafana/ dashboards, alerting, rules and connectors/*.json into the chart, regenerate its
# values table (tests/deploy checks both).
helm-sync: install
	$(BIN)/python helm/sync.py
	$(BIN)/python helm/values_doc.py

demo: install
	$(BIN)/fleetpulse demo

up: install
	$(BIN)/fleetpulse stack up

down:
	@if [ -x $(BIN)/fleetpulse ]; then $(BIN)/fleetpulse stack down; fi

status: install
	$(BIN)/fleetpulse stack status

# The connector's JUnit tests, then: starts the test stack, runs unit and integration tests, always stops it.
test: install tools
	mvn -q -B -f connectors/dynamodb-sink/pom.xml test
	@$(TEST_ENV) $(BIN)/fleetpulse stack up || { $(TEST_ENV) $(BIN)/fleetpulse stack down; exit 1; }; \
	$(TEST_ENV) $(BIN)/pytest $(PYTEST_ARGS); status=$$?; \
	$(TEST_ENV) $(BIN)/fleetpulse stack down; exit $$status

test-unit: install
	$(BIN)/pytest -m "not integration" $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	@$(TEST_ENV) $(BIN)/fleetpulse stack up && $(TEST_ENV) $(BIN)/python -m bench.run; status=$$?; \
	$(TEST_ENV) $(BIN)/fleetpulse stack down; exit $$status

clean: down
	rm -rf .stack .stack-test
