{{/* Names: the chart name, truncated to the DNS label limit. */}}
{{- define "fleetpulse.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "fleetpulse.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "fleetpulse.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels: immutable, so only name + instance (+ component, added by callers). */}}
{{- define "fleetpulse.selectorLabels" -}}
app.kubernetes.io/name: {{ include "fleetpulse.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "fleetpulse.labels" -}}
helm.sh/chart: {{ include "fleetpulse.chart" . }}
{{ include "fleetpulse.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: fleetpulse
{{- end }}

{{/* Labels for one component: call with (dict "root" $ "component" "worker"). */}}
{{- define "fleetpulse.componentLabels" -}}
{{ include "fleetpulse.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "fleetpulse.componentSelectorLabels" -}}
{{ include "fleetpulse.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "fleetpulse.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "fleetpulse.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "fleetpulse.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "fleetpulse.secretName" -}}
{{- default (include "fleetpulse.fullname" .) .Values.existingSecret }}
{{- end }}

{{- define "fleetpulse.dynamodbEndpoint" -}}
{{- if .Values.dynoxide.enabled }}
{{- printf "http://%s-dynamodb:8000" (include "fleetpulse.fullname" .) }}
{{- else }}
{{- .Values.dynamodb.endpoint }}
{{- end }}
{{- end }}

{{/* Settings for every container: the ConfigMap, then the Secret (optional keys). */}}
{{- define "fleetpulse.envFrom" -}}
- configMapRef:
    name: {{ include "fleetpulse.fullname" . }}
- secretRef:
    name: {{ include "fleetpulse.secretName" . }}
{{- end }}

{{/* Writable paths under a read-only root: Faust's data dir (the workdir) and /tmp. */}}
{{- define "fleetpulse.tmpVolumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- end }}

{{/* The checks that can't be expressed in values.schema.json. */}}
{{- define "fleetpulse.validate" -}}
{{- if and .Values.autoscaling.hpa.enabled .Values.autoscaling.keda.enabled }}
{{- fail "autoscaling.hpa.enabled and autoscaling.keda.enabled are mutually exclusive: KEDA creates its own HPA for the worker" }}
{{- end }}
{{- if and .Values.bot.enabled (not .Values.existingSecret) (not .Values.secrets.telegramBotToken) }}
{{- fail "bot.enabled needs secrets.telegramBotToken or an existingSecret holding FLEETPULSE_TELEGRAM_BOT_TOKEN" }}
{{- end }}
{{- end }}
