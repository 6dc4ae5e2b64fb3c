# The two commands in the README: `make demo` (the main job) and `make test` (the whole suite).
# Both install what they need: a virtualenv here (exactly uv.lock), jars and dynoxide in ~/.cache/fleetpulse,
# Prometheus from Debian. Every version is pinned: a fresh clone runs what was tested.

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

.PHONY: install lock tools helm-sync demo up down status test test-unit lint format bench clean

# uv (pinned with hashes in docker/uv.txt) syncs the venv to uv.lock exactly; --locked fails rather than
# re-resolve when pyproject.toml and the lock disagree. The machine's Python is used, never a download.
$(INSTALLED): pyproject.toml uv.lock docker/uv.txt
	@echo "installing the locked Python environment into $(VENV) …"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --require-hashes -r docker/uv.txt
	UV_PYTHON_DOWNLOADS=never $(BIN)/uv sync -q --locked --extra dev --group compile --python $(BIN)/python
	touch $@

# The worker's hot path (the failure model and the stream processor around it) compiled with mypyc into C
# extensions beside their sources (streams/model/build.py; about a minute from a cold cache here), rebuilt
# whenever a source in streams/ or streams/model/ changes. The model's manifest of compiled sources is the
# target: the build writes it last. FLEETPULSE_MODEL_PURE=1 skips compiling (the Python source runs); an
# extension older than its source is never run (streams/native.py).
MODEL_BUILT := streams/model/compiled.json
$(MODEL_BUILT): $(INSTALLED) $(wildcard streams/model/*.py) $(wildcard streams/*.py)
	@echo "compiling the worker's hot path with mypyc (FLEETPULSE_MODEL_PURE=1 skips it) …"
	$(BIN)/python -m streams.model.build

# The processor group's manifest comes from the same build (written before the model's): rebuild when only
# it is missing, so deleting it alone cannot leave the processor running as Python unnoticed.
PROCESSOR_BUILT := streams/compiled.json
$(PROCESSOR_BUILT): $(MODEL_BUILT)
	@test -f $@ || test "$$FLEETPULSE_MODEL_PURE" = 1 || $(BIN)/python -m streams.model.build

install: $(INSTALLED) $(MODEL_BUILT) $(PROCESSOR_BUILT)

# Refresh uv.lock on purpose (newest versions pyproject allows), then the image's export of it.
lock: install
	UV_PYTHON_DOWNLOADS=never $(BIN)/uv lock --upgrade --python $(BIN)/python
	$(BIN)/python docker/lock.py
	rm -f $(INSTALLED) && $(MAKE) install

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
	rm -rf .stack .stack-test build streams/model/*.so streams/model/compiled.json streams/*.so streams/compiled.json
