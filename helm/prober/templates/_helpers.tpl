{{/*
Expand the name of the chart.
*/}}
{{- define "prober.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Create a default fully qualified app name, truncated at 63 characters (some Kubernetes
name fields are limited to this by the DNS naming spec). When the release name contains
the chart name, it is used as the full name.
*/}}
{{- define "prober.fullname" -}}
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

{{/*
Chart name and version as used by the chart label.
*/}}
{{- define "prober.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels.
*/}}
{{- define "prober.labels" -}}
helm.sh/chart: {{ include "prober.chart" . }}
{{ include "prober.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: prober
{{- end }}

{{/*
Selector labels.
*/}}
{{- define "prober.selectorLabels" -}}
app.kubernetes.io/name: {{ include "prober.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Name of the service account to use.
*/}}
{{- define "prober.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "prober.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The image reference: repository:tag, or repository@digest when a digest is set.
*/}}
{{- define "prober.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
Name of the ConfigMap holding checks.yaml, and its key.
*/}}
{{- define "prober.configMapName" -}}
{{- default (include "prober.fullname" .) .Values.existingConfigMap }}
{{- end }}

{{- define "prober.configMapKey" -}}
{{- if .Values.existingConfigMap }}{{ .Values.existingConfigMapKey }}{{ else }}checks.yaml{{ end }}
{{- end }}

{{/*
Namespace for the monitoring objects: their own value, else the release namespace.
*/}}
{{- define "prober.namespace" -}}
{{- default .root.Release.Namespace .namespace }}
{{- end }}

{{/*
The default checks.yaml (when `config` is empty): prober probes its own health endpoint,
on containerPort so that the two stay in step.
*/}}
{{- define "prober.defaultConfig" -}}
# prober checks.yaml: replace with your components and checks (docs/CONFIGURATION.md).
page:
  name: Status
components:
  - id: prober
    name: prober
    group: Monitoring
checks:
  - id: prober-healthy
    component: prober
    url: http://127.0.0.1:{{ .Values.containerPort }}/-/healthy
    interval: 30s
    timeout: 5s
{{- end }}

{{/*
Labels of the `helm test` pod: the common labels without the selector labels, so that the
Service, PodDisruptionBudget and NetworkPolicy never select it as a prober pod.
*/}}
{{- define "prober.testLabels" -}}
helm.sh/chart: {{ include "prober.chart" . }}
{{ include "prober.testSelectorLabels" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: prober
{{- end }}

{{- define "prober.testSelectorLabels" -}}
app.kubernetes.io/name: {{ printf "%s-test" (include "prober.name" .) | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: test
{{- end }}

{{/*
Labels of the `prober run` pods and of their Service, Deployment, PodDisruptionBudget and
NetworkPolicy. Single mode: the plain selector labels (unchanged). Distributed mode: plus
app.kubernetes.io/component: server, so that nothing of the run Deployment selects an agent.
*/}}
{{- define "prober.runSelectorLabels" -}}
{{ include "prober.selectorLabels" . }}
{{- if eq .Values.mode "distributed" }}
app.kubernetes.io/component: server
{{- end }}
{{- end }}

{{- define "prober.runLabels" -}}
{{ include "prober.labels" . }}
{{- if eq .Values.mode "distributed" }}
app.kubernetes.io/component: server
{{- end }}
{{- end }}

{{/*
Agents of one location: (dict "root" $ "location" $loc). The name leaves room for the
StatefulSet's pod suffix and controller-revision-hash label (at most 52 characters:
25 + "-agent-" + a location name of at most 20).
*/}}
{{- define "prober.agentName" -}}
{{- printf "%s-agent-%s" (include "prober.fullname" .root | trunc 25 | trimSuffix "-") .location.name }}
{{- end }}

{{- define "prober.agentSelectorLabels" -}}
{{ include "prober.selectorLabels" .root }}
app.kubernetes.io/component: agent
prober/location: {{ .location.name }}
{{- end }}

{{- define "prober.agentLabels" -}}
{{ include "prober.labels" .root }}
app.kubernetes.io/component: agent
prober/location: {{ .location.name }}
{{- end }}

{{/*
The database URL of the distributed mode, from an existing Secret (never from values).
*/}}
{{- define "prober.databaseEnv" -}}
- name: PROBER_DB
  valueFrom:
    secretKeyRef:
      name: {{ .Values.database.existingSecret }}
      key: {{ .Values.database.secretKey }}
{{- end }}

{{/*
What the schema cannot say clearly: checked once, from deployment.yaml.
*/}}
{{- define "prober.validate" -}}
{{- if eq .Values.mode "distributed" }}
{{- if not .Values.database.existingSecret }}
{{- fail "mode: distributed needs database.existingSecret: the name of an existing Secret whose key database.secretKey (default \"url\") holds the postgresql:// URL, e.g. kubectl create secret generic prober-db --from-literal=url='postgresql://prober:...@db:5432/prober' (docs/DEPLOY.md, \"Distributed mode\")" }}
{{- end }}
{{- if .Values.persistence.enabled }}
{{- fail "mode: distributed keeps its state in PostgreSQL: persistence.enabled (the single mode's SQLite volume) must be false" }}
{{- end }}
{{- if semverCompare "<1.28-0" .Capabilities.KubeVersion.Version }}
{{- fail (printf "mode: distributed needs Kubernetes 1.28 or later (this cluster: %s): each agent's --shard index comes from the pod label apps.kubernetes.io/pod-index, which older versions do not set (docs/DEPLOY.md, \"How an agent knows its shard\")" .Capabilities.KubeVersion.Version) }}
{{- end }}
{{- if not .Values.locations }}
{{- fail "mode: distributed needs at least one entry under locations (name, replicas): agents are what probe (docs/DEPLOY.md, \"Adding a location\")" }}
{{- end }}
{{- $seen := dict }}
{{- range .Values.locations }}
{{- if hasKey $seen .name }}
{{- fail (printf "locations: %q is listed twice; each location is one StatefulSet and needs its own name" .name) }}
{{- end }}
{{- $_ := set $seen .name true }}
{{- end }}
{{- else if .Values.locations }}
{{- fail "locations are agents of the distributed mode: set mode: distributed (with database.existingSecret), or leave locations empty" }}
{{- end }}
{{- end }}
