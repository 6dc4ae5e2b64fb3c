// Validate rendered custom resources (JSON lines on stdin) against the CRD schemas that the
// @kubernetes-models packages ship. Prints one JSON line per document: {kind, name, error|null}.
import { createInterface } from "node:readline";
import { ServiceMonitor, PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1";

const MODELS = { ServiceMonitor, PrometheusRule, ScaledObject };

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const doc = JSON.parse(line);
  const Model = MODELS[doc.kind];
  let error = Model ? null : "no schema";
  if (Model) {
    try {
      new Model(doc).validate();
    } catch (e) {
      error = String(e.message || e);
    }
  }
  console.log(JSON.stringify({ kind: doc.kind, name: doc.metadata.name, error }));
}
