{{/*
The pod spec every FleetPulse workload shares. Call with a dict:
  root       the top-level context ($)
  component  worker | simulator | ingest | api | bot
  args       the `fleetpulse` subcommand and its arguments (a list)
  values     the component's values (resources, extraEnv)
  ports      list of {name, port}
  probePort  the named port the probes hit (empty: no HTTP probes)
  probePath  the probe's HTTP path
  dataVolume the name of a volume mounted at the workdir (default: an emptyDir named data)
  extraVolumes, extraVolumeMounts  optional lists
*/}}
{{- define "fleetpulse.podSpec" -}}
{{- $root := .root -}}
serviceAccountName: {{ include "fleetpulse.serviceAccountName" $root }}
automountServiceAccountToken: false
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml $root.Values.podSecurityContext | nindent 2 }}
containers:
  - name: {{ .component }}
    image: {{ include "fleetpulse.image" $root }}
    imagePullPolicy: {{ $root.Values.image.pullPolicy }}
    args:
      {{- toYaml .args | nindent 6 }}
    envFrom:
      {{- include "fleetpulse.envFrom" $root | nindent 6 }}
    {{- with .values.extraEnv }}
    env:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    {{- with .ports }}
    ports:
      {{- range . }}
      - name: {{ .name }}
        containerPort: {{ .port }}
        protocol: TCP
      {{- end }}
    {{- end }}
    {{- if .probePort }}
    {{- /* An HTTP GET when the path is known, else a TCP connect to the port. */}}
    {{- $probe := dict "tcpSocket" (dict "port" .probePort) }}
    {{- if .probePath }}{{ $probe = dict "httpGet" (dict "path" .probePath "port" .probePort) }}{{ end }}
    startupProbe:
      {{- toYaml $probe | nindent 6 }}
      periodSeconds: 5
      failureThreshold: 36
    livenessProbe:
      {{- toYaml $probe | nindent 6 }}
      periodSeconds: 20
      timeoutSeconds: 5
      failureThreshold: 3
    readinessProbe:
      {{- toYaml $probe | nindent 6 }}
      periodSeconds: 10
      timeoutSeconds: 5
    {{- end }}
    securityContext:
      {{- toYaml $root.Values.securityContext | nindent 6 }}
    resources:
      {{- toYaml .values.resources | nindent 6 }}
    volumeMounts:
      - name: {{ default "data" .dataVolume }}
        mountPath: /var/lib/fleetpulse
      {{- include "fleetpulse.tmpVolumeMounts" $root | nindent 6 }}
      {{- with .extraVolumeMounts }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
volumes:
  {{- if not .dataVolume }}
  - name: data
    emptyDir: {}
  {{- end }}
  - name: tmp
    emptyDir: {}
  {{- with .extraVolumes }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- with $root.Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Pod template metadata: labels plus a checksum so a settings change rolls the pods. */}}
{{- define "fleetpulse.podMetadata" -}}
labels:
  {{- include "fleetpulse.componentLabels" (dict "root" .root "component" .component) | nindent 2 }}
annotations:
  checksum/config: {{ include (print .root.Template.BasePath "/configmap.yaml") .root | sha256sum }}
  {{- with .root.Values.podAnnotations }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}
