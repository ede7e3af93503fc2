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

{{/* Prometheus credentials: the keys (file names) of the Secret mounted at
/etc/meshwatch/prometheus, as {"keys": [...]} in JSON; empty without credentials. */}}
{{- define "meshwatch.prometheusSecretKeys" -}}
{{- $p := .Values.prometheus -}}
{{- $keys := list -}}
{{- if $p.existingSecret -}}
{{- $keys = $p.existingSecretKeys -}}
{{- else -}}
{{- $s := $p.secret -}}
{{- if $s.basicAuthPassword }}{{ $keys = append $keys "basic-auth-password" }}{{ end -}}
{{- if $s.bearerToken }}{{ $keys = append $keys "bearer-token" }}{{ end -}}
{{- if $s.caCert }}{{ $keys = append $keys "ca.crt" }}{{ end -}}
{{- if $s.clientCert }}{{ $keys = append $keys "tls.crt" }}{{ end -}}
{{- if $s.clientKey }}{{ $keys = append $keys "tls.key" }}{{ end -}}
{{- range $name, $_ := $s.headers }}{{ $keys = append $keys (printf "header.%s" $name) }}{{ end -}}
{{- end -}}
{{- toJson (dict "keys" $keys) -}}
{{- end -}}

{{- define "meshwatch.prometheusSecret" -}}
{{- if .Values.prometheus.existingSecret -}}
{{- .Values.prometheus.existingSecret -}}
{{- else if (fromJson (include "meshwatch.prometheusSecretKeys" .)).keys -}}
{{- printf "%s-prometheus" (include "meshwatch.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* `prometheus_http_config`: the user's non-secret keys plus a *_file key for every
credential in the mounted Secret (files are re-read on change: rotation needs no restart). */}}
{{- define "meshwatch.prometheusHTTPConfig" -}}
{{- $dir := "/etc/meshwatch/prometheus" -}}
{{- $keys := (fromJson (include "meshwatch.prometheusSecretKeys" .)).keys -}}
{{- $c := deepCopy (default (dict) .Values.prometheus.httpConfig) -}}
{{- if and (has "basic-auth-password" $keys) (has "bearer-token" $keys) -}}
{{- fail "prometheus: a basic-auth password and a bearer token exclude each other" -}}
{{- end -}}
{{- if has "basic-auth-password" $keys -}}
{{- $b := default (dict) $c.basic_auth -}}
{{- if not $b.username -}}
{{- fail "prometheus: a basic-auth password needs prometheus.httpConfig.basic_auth.username" -}}
{{- end -}}
{{- $_ := set $b "password_file" (printf "%s/basic-auth-password" $dir) -}}
{{- $_ := set $c "basic_auth" $b -}}
{{- end -}}
{{- if has "bearer-token" $keys -}}
{{- $a := default (dict) $c.authorization -}}
{{- $_ := set $a "credentials_file" (printf "%s/bearer-token" $dir) -}}
{{- $_ := set $c "authorization" $a -}}
{{- end -}}
{{- if ne (has "tls.crt" $keys) (has "tls.key" $keys) -}}
{{- fail "prometheus: a client certificate (tls.crt) and its key (tls.key) go together" -}}
{{- end -}}
{{- $tls := default (dict) $c.tls_config -}}
{{- if has "ca.crt" $keys }}{{ $_ := set $tls "ca_file" (printf "%s/ca.crt" $dir) }}{{ end -}}
{{- if has "tls.crt" $keys -}}
{{- $_ := set $tls "cert_file" (printf "%s/tls.crt" $dir) -}}
{{- $_ := set $tls "key_file" (printf "%s/tls.key" $dir) -}}
{{- end -}}
{{- if $tls }}{{ $_ := set $c "tls_config" $tls }}{{ end -}}
{{- range $key := $keys -}}
{{- if hasPrefix "header." $key -}}
{{- $name := trimPrefix "header." $key -}}
{{- $headers := default (dict) $c.http_headers -}}
{{- $h := default (dict) (index $headers $name) -}}
{{- $_ := set $h "files" (append (default (list) $h.files) (printf "%s/%s" $dir $key)) -}}
{{- $_ := set $headers $name $h -}}
{{- $_ := set $c "http_headers" $headers -}}
{{- end -}}
{{- end -}}
{{- toJson $c -}}
{{- end -}}

{{/* The settings file of `meshwatch serve`; secrets come from the environment
or from files mounted from a Secret. */}}
{{- define "meshwatch.config" -}}
{{- $config := dict "specs" (list "/etc/meshwatch/slos") "report_directory" "/var/lib/meshwatch/reports" "remediation_enabled" .Values.remediation.enabled "leader_election" .Values.leaderElection.enabled "leader_lock_key" .Values.leaderElection.lockKey "leader_check_interval" .Values.leaderElection.checkIntervalSeconds -}}
{{- if not (include "meshwatch.databaseSecret" .) -}}
{{- $_ := set $config "database_url" "sqlite:////var/lib/meshwatch/meshwatch.db" -}}
{{- end -}}
{{- if .Values.prometheus.url -}}
{{- $_ := set $config "prometheus_url" .Values.prometheus.url -}}
{{- $http := include "meshwatch.prometheusHTTPConfig" . | fromJson -}}
{{- if $http }}{{ $_ := set $config "prometheus_http_config" $http }}{{ end -}}
{{- end -}}
{{- if .Values.remediation.kinds -}}
{{- /* in-cluster: the pod's service account (token re-read as it rotates) */ -}}
{{- $_ := set $config "kubernetes" (dict) -}}
{{- end -}}
{{- toYaml (mergeOverwrite $config (deepCopy .Values.config)) -}}
{{- end -}}
