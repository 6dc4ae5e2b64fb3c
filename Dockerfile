# syntax=docker/dockerfile:1
# The FleetPulse application image: every Python entry point, chosen by command
# (`docker run fleetpulse worker`, `... simulate`, `... topics`). Build: docker build -t fleetpulse .

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm
# The build stage compiles the failure model (mypyc needs a C compiler): the full image of the same Python,
# whose extensions run on the slim one (same interpreter build, same Debian release).
ARG BUILD_IMAGE=python:3.11.14-bookworm

# --- build: resolve nothing at build time; install exactly the pinned runtime closure ---
FROM ${BUILD_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv && python -m venv /opt/compile
WORKDIR /src
# Dependencies first, so editing the code does not re-download them. /opt/compile (runtime + mypyc) only
# builds the extensions; it stays in this stage.
COPY docker/requirements.lock docker/compile.lock ./
RUN /opt/venv/bin/pip install --no-deps --require-hashes --only-binary=:all: -r requirements.lock \
    && /opt/compile/bin/pip install --no-deps --require-hashes --only-binary=:all: -r compile.lock
COPY pyproject.toml README.md ./
COPY core ./core
COPY fleetpulse ./fleetpulse
COPY producers ./producers
COPY streams ./streams
COPY schemas ./schemas
COPY connectors/*.py connectors/*.json ./connectors/
COPY api ./api
COPY bot ./bot
COPY grafana ./grafana
# The worker's hot path (the failure model and the stream processor) as C extensions beside their sources
# (the command `make install` runs); the package data in pyproject.toml carries them and their manifests
# into the venv.
RUN /opt/compile/bin/python -m streams.model.build
# --no-deps: the lock is the whole truth; `pip check` fails the build if it is incomplete.
RUN /opt/venv/bin/pip install --no-deps . && /opt/venv/bin/pip check

# --- runtime: the venv and a non-root user, nothing else ---
FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="fleetpulse" \
      org.opencontainers.image.description="FleetPulse: producers, stream worker, API and jobs" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/fleetpulse/fleetpulse"
RUN groupadd --system --gid 10001 fleetpulse \
    && useradd --system --uid 10001 --gid fleetpulse --home-dir /var/lib/fleetpulse --shell /usr/sbin/nologin fleetpulse \
    && mkdir -p /var/lib/fleetpulse \
    && chown fleetpulse:fleetpulse /var/lib/fleetpulse
COPY --from=build /opt/venv /opt/venv
# Containers listen on all interfaces; Faust keeps its data dir ({app id}-data) under the workdir,
# the one writable path (a volume in compose, an emptyDir or PVC in Kubernetes).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    FLEETPULSE_BIND_HOST=0.0.0.0 \
    FLEETPULSE_STACK_DIR=/var/lib/fleetpulse/stack \
    FLEETPULSE_CACHE_DIR=/var/lib/fleetpulse/cache
WORKDIR /var/lib/fleetpulse
USER 10001:10001
ENTRYPOINT ["fleetpulse"]
CMD ["--help"]
