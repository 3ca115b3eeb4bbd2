{{/* The release's base name: "pacific" unless overridden. */}}
{{- define "pacific.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "pacific.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "pacific.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "pacific.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: pacific
{{- end -}}

{{- define "pacific.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pacific.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: manager
{{- end -}}

{{- define "pacific.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "pacific.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "pacific.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The metrics Service's name; also the `job` label Prometheus gives the manager's series. */}}
{{- define "pacific.metricsService" -}}
{{- printf "%s-metrics" (include "pacific.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "pacific.settingsConfigMap" -}}
{{- printf "%s-settings" (include "pacific.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels and annotations of every CRD the chart installs. */}}
{{- define "pacific.crdMetadata" -}}
labels:
  {{- include "pacific.labels" . | nindent 2 }}
{{- if .Values.crds.keep }}
annotations:
  # Uninstalling the chart must not delete every ESXiHost, namespace and cluster with the CRDs.
  helm.sh/resource-policy: keep
{{- end }}
{{- end -}}

{{/* The Registry Service: the registry's Service and the name its images carry. */}}
{{- define "pacific.registry.name" -}}
{{ include "pacific.fullname" . }}-registry
{{- end -}}
{{- define "pacific.registry.host" -}}
{{- .Values.registry.host | default (printf "%s.%s.svc:5000" (include "pacific.registry.name" .) .Release.Namespace) -}}
{{- end -}}
{{- define "pacific.registry.tokenService" -}}
{{ include "pacific.fullname" . }}-registry-token
{{- end -}}
{{- define "pacific.registry.realm" -}}
{{- .Values.registry.tokenRealm | default (printf "https://%s.%s.svc:%d/service/token" (include "pacific.registry.tokenService" .) .Release.Namespace (int .Values.registry.tokenPort)) -}}
{{- end -}}
