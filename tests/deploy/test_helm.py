"""The Helm chart, rendered offline for every ci/*-values.yaml: lint, Kubernetes schemas, hardening,
labels, probes, each flag's effect, and the settings/commands it uses checked against the code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from tests.deploy.conftest import (
    CHART,
    CI_VALUES,
    KUBE_VERSION,
    ROOT,
    SETTING_NAMES,
    command_exists,
    crd_validator,
    helm_template,
    load_script,
    pod_spec,
    render,
    run,
    tool,
)

CI_IDS = [path.stem for path in CI_VALUES]
sync = load_script(ROOT / "helm" / "sync.py")
CRD_KINDS = {"ServiceMonitor", "PrometheusRule", "ScaledObject", "KafkaConnector"}
REQUIRED_LABELS = {
    "helm.sh/chart",
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/part-of",
}


def ci(name: str) -> Path:
    return CHART / "ci" / f"{name}-values.yaml"


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [doc for doc in docs if doc["kind"] == kind]


def named(docs: list[dict[str, Any]], kind: str, suffix: str) -> dict[str, Any]:
    matches = [doc for doc in by_kind(docs, kind) if doc["metadata"]["name"].endswith(suffix)]
    assert len(matches) == 1, f"expected one {kind} *{suffix}, got {[d['metadata']['name'] for d in matches]}"
    return matches[0]


def containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec["containers"]]


def workloads(docs: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(doc, spec) for doc in docs if (spec := pod_spec(doc)) is not None]


# --- helm itself ---------------------------------------------------------------------------------


@pytest.mark.parametrize("values", CI_VALUES, ids=CI_IDS)
def test_lint_strict(values: Path) -> None:
    result = run([tool("helm"), "lint", "--strict", str(CHART), "-f", str(values)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_ci_values_cover_the_main_combinations() -> None:
    kinds = {kind for values in CI_VALUES for kind in (doc["kind"] for doc in render(values))}
    assert {"StatefulSet", "ScaledObject", "HorizontalPodAutoscaler", "KafkaConnector", "ServiceMonitor"} <= kinds
    assert {"PrometheusRule", "NetworkPolicy", "PodDisruptionBudget", "Job"} <= kinds


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (("kafka.topicPartitions=six",), "topicPartitions"),
        (("connectors.mode=camel",), "mode"),
        (("config.KAFKA_BROKERS=x",), "KAFKA_BROKERS"),
        (("worker.metricsPort=70000",), "metricsPort"),
        (("workerz.enabled=true",), "workerz"),
    ],
)
def test_schema_rejects_bad_values(sets: tuple[str, ...], message: str) -> None:
    result = helm_template(sets=sets)
    assert result.returncode != 0
    assert message in result.stderr


def test_hpa_and_keda_together_fail_with_a_reason() -> None:
    result = helm_template(sets=("autoscaling.hpa.enabled=true", "autoscaling.keda.enabled=true"))
    assert result.returncode != 0
    assert "mutually exclusive" in result.stderr


def test_bot_without_a_token_fails_with_a_reason() -> None:
    result = helm_template(sets=("bot.enabled=true",))
    assert result.returncode != 0 and "telegramBotToken" in result.stderr


# --- schemas ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("values", CI_VALUES, ids=CI_IDS)
def test_manifests_validate_against_kubernetes_schemas(values: Path) -> None:
    for doc in render(values):
        if doc["kind"] in CRD_KINDS:
            continue  # no schema in kubernetes-validate: see test_crds_have_the_fields_their_operators_need
        try:
            kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{doc['kind']}/{doc['metadata']['name']}: {error.message} at {list(error.path)}")


def _validate_crds(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    lines = "".join(json.dumps(doc) + "\n" for doc in docs)
    result = run(["node", str(crd_validator())], input=lines)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_crds_validate_against_their_own_schemas() -> None:
    """ServiceMonitor, PrometheusRule and ScaledObject against the CRD schemas @kubernetes-models ships.
    Strimzi's KafkaConnector has no such package: test_crds_have_the_fields_their_operators_need."""
    docs = {
        (doc["kind"], doc["metadata"]["name"]): doc
        for values in CI_VALUES
        for doc in render(values)
        if doc["kind"] in {"ServiceMonitor", "PrometheusRule", "ScaledObject"}
    }
    assert {kind for kind, _ in docs} == {"ServiceMonitor", "PrometheusRule", "ScaledObject"}
    broken = {**next(d for (k, _), d in docs.items() if k == "ServiceMonitor")}
    broken["spec"] = {**broken["spec"], "endpoints": [{"port": 9101}]}  # the validator must catch this
    results = _validate_crds([*docs.values(), broken])
    assert results[-1]["error"] and "port" in results[-1]["error"], "the CRD validator accepts anything"
    errors = [r for r in results[:-1] if r["error"]]
    assert not errors, errors


def test_crds_have_the_fields_their_operators_need() -> None:
    """Structural checks of the CRD kinds, including Strimzi's KafkaConnector (no schema package)."""
    full = render(ci("full"))
    monitors = by_kind(full, "ServiceMonitor")
    services = by_kind(full, "Service")
    for monitor in monitors:
        selector = monitor["spec"]["selector"]["matchLabels"]
        selected = [s for s in services if selector.items() <= s["metadata"]["labels"].items()]
        assert selected, f"{monitor['metadata']['name']} selects no Service"
        for endpoint in monitor["spec"]["endpoints"]:
            assert isinstance(endpoint["port"], str), "ServiceMonitor ports must be named"
            assert all(endpoint["port"] in {p["name"] for p in s["spec"]["ports"]} for s in selected)
        assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    headless = [s for s in services if s["spec"].get("clusterIP") == "None"]
    assert headless and all("fleetpulse.io/metrics" not in s["metadata"]["labels"] for s in headless)

    (rule,) = by_kind(full, "PrometheusRule")
    catalogue = {r["alert"] for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r}
    source = sync._rule_files(ROOT / "grafana" / "prometheus")
    if source:
        import yaml

        expected = {r["alert"] for f in source for g in yaml.safe_load(f.read_text())["groups"] for r in g["rules"]}
        assert catalogue == expected, "the PrometheusRule must carry the alert catalogue"

    (scaled,) = by_kind(full, "ScaledObject")
    (statefulset,) = by_kind(full, "StatefulSet")
    assert scaled["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "name": statefulset["metadata"]["name"],
    }
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "kafka"
    assert all(isinstance(v, str) for v in trigger["metadata"].values()), "KEDA trigger metadata is map[string]string"

    connectors = by_kind(render(ci("strimzi-irsa")), "KafkaConnector")
    for connector in connectors:
        assert connector["metadata"]["labels"]["strimzi.io/cluster"] == "fleetpulse-connect"
        assert isinstance(connector["spec"]["tasksMax"], int)
        assert all(isinstance(v, str) for v in connector["spec"]["config"].values())
        assert "connector.class" not in connector["spec"]["config"]


# --- hardening, labels, probes -------------------------------------------------------------------


@pytest.mark.parametrize("values", CI_VALUES, ids=CI_IDS)
def test_pods_are_hardened(values: Path) -> None:
    for doc, spec in workloads(render(values)):
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True, name
        assert pod["seccompProfile"]["type"] == "RuntimeDefault", name
        assert spec.get("automountServiceAccountToken") is False, name
        for container in containers(spec):
            sc = container["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True, f"{name}/{container['name']}"
            assert sc["allowPrivilegeEscalation"] is False, f"{name}/{container['name']}"
            assert sc["capabilities"]["drop"] == ["ALL"], f"{name}/{container['name']}"
            assert container["resources"].get("requests"), f"{name}/{container['name']} has no requests"
            assert container["resources"].get("limits", {}).get("memory"), f"{name}/{container['name']}"


@pytest.mark.parametrize("values", CI_VALUES, ids=CI_IDS)
def test_labels_and_selectors(values: Path) -> None:
    docs = render(values)
    for doc in docs:
        labels = doc["metadata"].get("labels", {})
        assert labels.keys() >= REQUIRED_LABELS, f"{doc['kind']}/{doc['metadata']['name']}: {labels}"
    for doc, _spec in workloads(docs):
        if doc["kind"] in {"Deployment", "StatefulSet"}:
            selector = doc["spec"]["selector"]["matchLabels"]
            assert set(selector) == {
                "app.kubernetes.io/name",
                "app.kubernetes.io/instance",
                "app.kubernetes.io/component",
            }
            assert selector.items() <= doc["spec"]["template"]["metadata"]["labels"].items()
    pods = [(d["spec"]["template"]["metadata"]["labels"], s) for d, s in workloads(docs) if d["kind"] != "Pod"]
    for service in by_kind(docs, "Service"):
        matches = [spec for labels, spec in pods if service["spec"]["selector"].items() <= labels.items()]
        assert matches, f"Service {service['metadata']['name']} selects no pods"
        port_names = {p["name"] for spec in matches for c in spec["containers"] for p in c.get("ports", [])}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in port_names, f"{service['metadata']['name']}: {port['targetPort']}"


@pytest.mark.parametrize("values", CI_VALUES, ids=CI_IDS)
def test_serving_containers_have_probes(values: Path) -> None:
    for doc, spec in workloads(render(values)):
        if doc["kind"] not in {"Deployment", "StatefulSet"}:
            continue
        for container in spec["containers"]:
            if not container.get("ports"):
                continue  # the bot serves nothing
            names = {p["name"] for p in container["ports"]}
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                check = container.get(probe)
                assert check, f"{doc['metadata']['name']} lacks {probe}"
                action = check.get("httpGet") or check.get("tcpSocket")
                assert action["port"] in names, f"{doc['metadata']['name']} {probe} -> {action['port']}"


def test_workdir_and_tmp_are_writable_volumes() -> None:
    """Read-only root: Faust's data dir (the image's workdir) and /tmp must be volumes."""
    for doc, spec in workloads(render(ci("full"))):
        if doc["kind"] == "Pod":
            continue  # the helm test pod only runs a python one-liner
        for container in containers(spec):
            mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
            assert "/tmp" in mounts, f"{doc['metadata']['name']}/{container['name']}"
            if doc["kind"] in {"Deployment", "StatefulSet"} and "dynamodb" not in doc["metadata"]["name"]:
                assert "/var/lib/fleetpulse" in mounts, doc["metadata"]["name"]


# --- the code is the truth: commands and settings ----------------------------------------------------


@pytest.mark.parametrize("values", CI_VALUES, ids=CI_IDS)
def test_every_fleetpulse_variable_is_a_setting(values: Path) -> None:
    docs = render(values)
    names: set[str] = set()
    for doc in by_kind(docs, "ConfigMap"):
        if doc["metadata"]["name"].endswith("fleetpulse"):
            names |= set(doc["data"])
    for doc in by_kind(docs, "Secret"):
        names |= set(doc["stringData"])
    for _, spec in workloads(docs):
        names |= {env["name"] for c in containers(spec) for env in c.get("env", [])}
    unknown = sorted(n for n in names if n.startswith("FLEETPULSE_") and n not in SETTING_NAMES)
    assert not unknown, f"not settings in fleetpulse/settings.py: {unknown}"


def _commands() -> list[tuple[str, list[str]]]:
    found = []
    for values in CI_VALUES:
        for doc, spec in workloads(render(values)):
            for container in containers(spec):
                if container.get("command") or "fleetpulse" not in container["image"]:
                    continue  # the helm test pod runs python directly; dynoxide is not ours
                found.append((f"{values.stem}:{doc['metadata']['name']}/{container['name']}", container["args"]))
    return found


@pytest.mark.parametrize(("where", "args"), _commands(), ids=[w for w, _ in _commands()])
def test_every_container_runs_a_real_subcommand(where: str, args: list[str]) -> None:
    assert command_exists(args), f"`fleetpulse {' '.join(args)}` is not a fleetpulse command ({where})"


# --- each flag's effect ----------------------------------------------------------------------------


def test_default_worker_is_a_deployment_with_memory_store() -> None:
    docs = render(ci("default"))
    assert not by_kind(docs, "StatefulSet")
    worker = named(docs, "Deployment", "-worker")
    assert worker["spec"]["replicas"] == 2
    config = by_kind(docs, "ConfigMap")[0]["data"]
    assert "FLEETPULSE_WORKER_STORE" not in config
    assert config["FLEETPULSE_BIND_HOST"] == "0.0.0.0"
    assert not by_kind(docs, "ScaledObject") and not by_kind(docs, "HorizontalPodAutoscaler")
    assert not by_kind(docs, "ServiceMonitor") and not by_kind(docs, "NetworkPolicy")


def test_persistence_makes_a_statefulset_with_rocksdb() -> None:
    docs = render(ci("full"))
    worker = named(docs, "StatefulSet", "-worker")
    (claim,) = worker["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "2Gi"
    assert worker["spec"]["serviceName"].endswith("-worker-headless")
    assert "replicas" not in worker["spec"], "KEDA owns the replica count"
    mounts = worker["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    assert {"name": "data", "mountPath": "/var/lib/fleetpulse"} in mounts
    config = named(docs, "ConfigMap", "-fleetpulse")["data"]
    assert config["FLEETPULSE_WORKER_STORE"] == "rocksdb://"


def test_keda_scales_the_worker_on_its_consumer_group_lag() -> None:
    docs = render(ci("full"))
    (scaled,) = by_kind(docs, "ScaledObject")
    assert not by_kind(docs, "HorizontalPodAutoscaler")
    trigger = scaled["spec"]["triggers"][0]["metadata"]
    config = named(docs, "ConfigMap", "-fleetpulse")["data"]
    assert trigger["consumerGroup"] == config["FLEETPULSE_WORKER_APP_ID"]
    assert trigger["bootstrapServers"] == config["FLEETPULSE_KAFKA_BOOTSTRAP_SERVERS"]
    assert scaled["spec"]["maxReplicaCount"] <= int(config["FLEETPULSE_TOPIC_PARTITIONS"])


def test_hpa_flag() -> None:
    docs = render(ci("strimzi-irsa"))
    (hpa,) = by_kind(docs, "HorizontalPodAutoscaler")
    assert not by_kind(docs, "ScaledObject")
    assert hpa["spec"]["scaleTargetRef"]["name"] == named(docs, "Deployment", "-worker")["metadata"]["name"]
    assert "replicas" not in named(docs, "Deployment", "-worker")["spec"]


def test_setup_job_is_a_hook_that_applies_connectors_over_rest() -> None:
    job = by_kind(render(ci("default")), "Job")[0]
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "post-install,post-upgrade"
    assert "before-hook-creation" in annotations["helm.sh/hook-delete-policy"]
    spec = job["spec"]["template"]["spec"]
    assert [c["args"] for c in spec["initContainers"]] == [["topics"], ["tables"]]
    assert spec["containers"][0]["args"] == ["connectors", "apply"]


def test_strimzi_mode_renders_one_kafkaconnector_per_connector_file() -> None:
    docs = render(ci("strimzi-irsa"))
    connectors = by_kind(docs, "KafkaConnector")
    sources = sorted((ROOT / "connectors").glob("*.json"))
    assert sorted(c["metadata"]["name"] for c in connectors) == sorted(
        json.loads(p.read_text())["name"] for p in sources
    )
    for connector in connectors:
        source = next(
            json.loads(p.read_text())
            for p in sources
            if json.loads(p.read_text())["name"] == connector["metadata"]["name"]
        )
        assert connector["spec"]["class"] == source["config"]["connector.class"]
        assert connector["spec"]["tasksMax"] == int(source["config"]["tasks.max"])
    job = by_kind(docs, "Job")[0]["spec"]["template"]["spec"]
    assert "initContainers" not in job and job["containers"][0]["args"] == ["topics"], "no tables, no REST apply"


def test_irsa_leaves_aws_keys_empty_and_annotates_the_service_account() -> None:
    docs = render(ci("strimzi-irsa"))
    (account,) = by_kind(docs, "ServiceAccount")
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].startswith("arn:aws:iam::")
    secret = by_kind(docs, "Secret")[0]["stringData"]
    # Empty keys override the local server's dummy defaults, so boto3 and the sink use the default chain.
    assert secret["FLEETPULSE_AWS_ACCESS_KEY_ID"] == "" and secret["FLEETPULSE_AWS_SECRET_ACCESS_KEY"] == ""
    assert by_kind(docs, "ConfigMap")[0]["data"]["FLEETPULSE_DYNAMODB_ENDPOINT"] == ""


def test_existing_secret_and_dynoxide() -> None:
    docs = render(ci("dev-dynoxide"))
    assert not by_kind(docs, "Secret"), "existingSecret: the chart creates none"
    for _, spec in workloads(docs):
        for container in containers(spec):
            refs = [e["secretRef"]["name"] for e in container.get("envFrom", []) if "secretRef" in e]
            assert refs in ([], ["fleetpulse-dev-credentials"])
    service = named(docs, "Service", "-dynamodb")
    endpoint = by_kind(docs, "ConfigMap")[0]["data"]["FLEETPULSE_DYNAMODB_ENDPOINT"]
    assert endpoint == f"http://{service['metadata']['name']}:8000"
    assert not by_kind(docs, "PodDisruptionBudget") and not by_kind(docs, "Pod")


def test_pdb_only_for_multi_replica_workloads() -> None:
    docs = render(ci("default"))
    assert [p["metadata"]["name"] for p in by_kind(docs, "PodDisruptionBudget")] == [
        "rel-fleetpulse-worker",
        "rel-fleetpulse-ingest",
        "rel-fleetpulse-api",
    ]
    single = render(ci("default"), sets=("worker.replicas=1", "ingest.enabled=false", "api.enabled=false"))
    assert not by_kind(single, "PodDisruptionBudget")


def test_network_policy_opens_the_serving_ports() -> None:
    docs = render(ci("full"))
    (policy,) = by_kind(docs, "NetworkPolicy")
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    allowed = {p["port"] for rule in policy["spec"]["ingress"] for p in rule["ports"]}
    served = {p["containerPort"] for _, spec in workloads(docs) for c in spec["containers"] for p in c.get("ports", [])}
    assert served <= allowed
    egress_ports = {p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"]}
    assert {53, 9092, 8083, 443} <= egress_ports


def test_grafana_dashboards_and_alerting_for_the_sidecar() -> None:
    docs = render(ci("full"))
    dashboards = [c for c in by_kind(docs, "ConfigMap") if c["metadata"]["labels"].get("grafana_dashboard") == "1"]
    shipped = sorted(p.name for p in (CHART / "dashboards").glob("*.json"))
    assert sorted(name for c in dashboards for name in c["data"]) == shipped
    for configmap in dashboards:
        for text in configmap["data"].values():
            assert json.loads(text)["uid"], "a dashboard needs a stable uid"
    alerting = [c for c in by_kind(docs, "ConfigMap") if c["metadata"]["labels"].get("grafana_alert") == "1"]
    assert len(alerting) == (1 if list((CHART / "files" / "alerting").glob("*.yaml")) else 0)
    assert not [
        c for c in by_kind(render(ci("default")), "ConfigMap") if "grafana_dashboard" in c["metadata"]["labels"]
    ]


def test_chart_copies_are_in_sync_with_their_sources() -> None:
    """grafana/ dashboards, alerting, rules and connectors/*.json are copied into the chart."""
    problems = sync.differences()
    assert not problems, "run `make helm-sync`:\n" + "\n".join(problems)
    if not list((CHART / "dashboards").glob("*.json")):
        pytest.skip("grafana/dashboards has no dashboards yet: the chart ships none")


def test_helm_test_hook_checks_the_worker_metrics() -> None:
    (pod,) = by_kind(render(ci("default")), "Pod")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    script = pod["spec"]["containers"][0]["args"][0]
    assert "rel-fleetpulse-worker:9101/metrics" in script


def test_notes_render() -> None:
    result = run(
        [tool("helm"), "template", "rel", str(CHART), "-f", str(ci("full")), "--show-only", "templates/NOTES.txt"]
    )
    # helm template never renders NOTES; `helm install --dry-run` needs a cluster with helm 3. Render it
    # the way install would by checking the template parses as part of lint (above) and contains its hints.
    assert "Error" not in result.stderr or "could not find template" in result.stderr
    notes = (CHART / "templates" / "NOTES.txt").read_text()
    assert "port-forward" in notes and "helm test" in notes


def test_values_are_documented_and_the_readme_table_is_current() -> None:
    values_doc = load_script(ROOT / "helm" / "values_doc.py")
    assert not values_doc.undocumented(), f"values without a `# --` comment: {values_doc.undocumented()}"
    readme = values_doc.README.read_text()
    assert values_doc.render(readme) == readme, "stale: run `.venv/bin/python helm/values_doc.py`"
