{{/* Names and labels shared by every object of the chart. */}}

{{- define "meshwatch.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "meshwatch.fullname" -}}
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

{{- define "meshwatch.selectorLabels" -}}
app.kubernetes.io/name: {{ include "meshwatch.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "meshwatch.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "meshwatch.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: meshwatch
{{- end -}}

{{- define "meshwatch.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "meshwatch.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "meshwatch.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The Secret holding the database URL, or "" when meshwatch uses SQLite. */}}
{{- define "meshwatch.databaseSecret" -}}
{{- if .Values.database.existingSecret -}}
{{- .Values.database.existingSecret -}}
{{- else if .Values.database.url -}}
{{- include "meshwatch.fullname" . -}}
{{- end -}}
{{- end -}}

{{- define "meshwatch.tokenSecret" -}}
{{- if .Values.apiToken.existingSecret -}}
{{- .Values.apiToken.existingSecret -}}
{{- else if .Values.apiToken.value -}}
{{- include "meshwatch.fullname" . -}}
{{- end -}}
{{- end -}}

{{/* API groups and resources of each route kind meshwatch can patch. */}}
{{- define "meshwatch.routeRules" -}}
{{- $kinds := .Values.remediation.kinds -}}
{{- if has "istio" $kinds }}
- apiGroups: [networking.istio.io]
  resources: [virtualservices]
  verbs: [get, list, watch, patch]
{{- end }}
{{- if has "gateway" $kinds }}
- apiGroups: [gateway.networking.k8s.io]
  resources: [httproutes]
  verbs: [get, list, watch, patch]
{{- end }}
{{- if has "linkerd" $kinds }}
- apiGroups: [split.smi-spec.io]
  resources: [trafficsplits]
  verbs: [get, list, watch, patch]
- apiGroups: [policy.linkerd.io]
  resources: [httproutes]
  verbs: [get, list, watch, patch]
{{- end }}
{{- end -}}

{{/* The settings file of `meshwatch serve`; secrets come from the environment. */}}
{{- define "meshwatch.config" -}}
{{- $config := dict "specs" (list "/etc/meshwatch/slos") "report_directory" "/var/lib/meshwatch/reports" "remediation_enabled" .Values.remediation.enabled "leader_election" .Values.leaderElection.enabled "leader_lock_key" .Values.leaderElection.lockKey "leader_check_interval" .Values.leaderElection.checkIntervalSeconds -}}
{{- if not (include "meshwatch.databaseSecret" .) -}}
{{- $_ := set $config "database_url" "sqlite:////var/lib/meshwatch/meshwatch.db" -}}
{{- end -}}
{{- if .Values.prometheus.url -}}
{{- $_ := set $config "prometheus_url" .Values.prometheus.url -}}
{{- end -}}
{{- toYaml (mergeOverwrite $config (deepCopy .Values.config)) -}}
{{- end -}}
