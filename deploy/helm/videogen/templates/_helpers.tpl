{{/*
Names and labels, after `helm create`'s conventions: every object is named after the release
(fullname), carries the recommended app.kubernetes.io labels, and selects its pods by name,
instance and component (and, for GPU workers, the model), so two releases or two models never
select each other's pods.
*/}}

{{- define "videogen.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "videogen.fullname" -}}
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

{{- define "videogen.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "videogen.selectorLabels" -}}
app.kubernetes.io/name: {{ include "videogen.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "videogen.labels" -}}
helm.sh/chart: {{ include "videogen.chart" . }}
{{ include "videogen.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: videogen
{{- end }}

{{/* Labels of one component: (dict "root" $ "component" "api") */}}
{{- define "videogen.componentLabels" -}}
{{ include "videogen.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "videogen.componentSelectorLabels" -}}
{{ include "videogen.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "videogen.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "videogen.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "videogen.image" -}}
{{- printf "%s:%s" .image.repository (.image.tag | default .root.Chart.AppVersion | toString) }}
{{- end }}

{{/*
The GPU worker entries of .Values.workers, each merged over .Values.workerDefaults (maps merge
key by key, lists are replaced), as a YAML list. Templates read it with fromYamlArray.
*/}}
{{- define "videogen.workers" -}}
{{- $workers := list }}
{{- range $index, $entry := .Values.workers }}
{{- if not $entry.model }}
{{- fail (printf "workers[%d]: model is required (a model name the registry knows, e.g. hunyuanvideo)" $index) }}
{{- end }}
{{- $worker := include "videogen.merge" (dict "base" $.Values.workerDefaults "over" $entry) | fromYaml }}
{{- $autoscaling := include "videogen.merge" (dict "base" $.Values.autoscaling "over" ($entry.autoscaling | default dict)) | fromYaml }}
{{- $_ := set $worker "autoscaling" $autoscaling }}
{{- $_ := set $worker "slug" ($entry.model | lower | replace "." "-" | replace "_" "-") }}
{{- $workers = append $workers $worker }}
{{- end }}
{{- toYaml $workers }}
{{- end }}

{{/*
(dict "base" $defaults "over" $entry) merged two levels deep, as YAML: a key of "over" replaces
the default, and a map in both is merged key by key (resources.limits keeps the GPU when an entry
only changes memory). Unlike sprig's mergeOverwrite, false and 0 override too (replicas: 0,
pdb.enabled: false).
*/}}
{{- define "videogen.merge" -}}
{{- $merged := deepCopy .base }}
{{- range $key, $value := .over }}
{{- $default := index $merged $key }}
{{- if and (kindIs "map" $value) (kindIs "map" $default) }}
{{- $inner := deepCopy $default }}
{{- range $innerKey, $innerValue := $value }}
{{- $innerDefault := index $inner $innerKey }}
{{- if and (kindIs "map" $innerValue) (kindIs "map" $innerDefault) }}
{{- $_ := set $inner $innerKey (mergeOverwrite (deepCopy $innerDefault) $innerValue) }}
{{- else }}
{{- $_ := set $inner $innerKey $innerValue }}
{{- end }}
{{- end }}
{{- $_ := set $merged $key $inner }}
{{- else }}
{{- $_ := set $merged $key $value }}
{{- end }}
{{- end }}
{{- toYaml $merged }}
{{- end }}

{{/* Name of one model's worker Deployment (and of its PDB and ScaledObject): (dict "root" $ "worker" $w) */}}
{{- define "videogen.workerName" -}}
{{- printf "%s-worker-%s" (include "videogen.fullname" .root) .worker.slug | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "videogen.workerSelectorLabels" -}}
{{ include "videogen.componentSelectorLabels" (dict "root" .root "component" "worker") }}
videogen.io/model: {{ .worker.model | quote }}
{{- end }}

{{/*
The settings every pod shares (the ConfigMap's data, and the migration hook's env), as YAML.
VIDEOGEN_MODELS and VIDEOGEN_DEFAULT_MODEL default to the workers' models: the API then refuses
exactly the models no worker serves.
*/}}
{{- define "videogen.settings" -}}
{{- $settings := dict }}
{{- $models := list }}
{{- range .Values.workers }}
{{- $models = append $models .model }}
{{- end }}
{{- if $models }}
{{- $_ := set $settings "VIDEOGEN_MODELS" (toJson $models) }}
{{- $_ := set $settings "VIDEOGEN_DEFAULT_MODEL" (first $models) }}
{{- end }}
{{- range $name, $value := .Values.config }}
{{- if not (hasPrefix "VIDEOGEN_" $name) }}
{{- fail (printf "config.%s: settings are VIDEOGEN_* variables (README, Configuration)" $name) }}
{{- end }}
{{- if or (kindIs "slice" $value) (kindIs "map" $value) }}
{{- $_ := set $settings $name (toJson $value) }}
{{- else if not (kindIs "invalid" $value) }}
{{- $_ := set $settings $name (toString $value) }}
{{- end }}
{{- end }}
{{- toYaml $settings }}
{{- end }}

{{- define "videogen.configName" -}}
{{- include "videogen.fullname" . }}-config
{{- end }}

{{- define "videogen.secretName" -}}
{{- include "videogen.fullname" . }}-secrets
{{- end }}

{{/*
The credentials, by values key: the setting each one sets and whether a deployment cannot run
without it. Each comes from, in order: its own existingSecret (and key), its value (put in the
Secret this chart creates), or the shared secrets.existingSecret under the setting's name.
*/}}
{{- define "videogen.secretFields" -}}
databaseUrl: {env: VIDEOGEN_DATABASE_URL, required: true}
brokerUrl: {env: VIDEOGEN_BROKER_URL, required: true}
secretKey: {env: VIDEOGEN_SECRET_KEY, required: true}
adminToken: {env: VIDEOGEN_ADMIN_TOKEN, required: false}
s3AccessKeyId: {env: VIDEOGEN_S3_ACCESS_KEY_ID, required: false}
s3SecretAccessKey: {env: VIDEOGEN_S3_SECRET_ACCESS_KEY, required: false}
rateLimitUrl: {env: VIDEOGEN_RATE_LIMIT_URL, required: false}
{{- end }}

{{/*
The Secret data this chart creates: the fields given as values and not taken from a Secret of
their own. Empty when every credential comes from existing Secrets.
*/}}
{{- define "videogen.ownSecretData" -}}
{{- $data := dict }}
{{- range $field, $spec := include "videogen.secretFields" . | fromYaml }}
{{- $source := index $.Values.secrets $field | default dict }}
{{- if and $source.value (not $source.existingSecret) }}
{{- $_ := set $data $spec.env $source.value }}
{{- end }}
{{- end }}
{{- if $data }}{{ toYaml $data }}{{ end }}
{{- end }}

{{/*
env entries for the credentials `fields` (a list of values keys): (dict "root" $ "fields" (list ...)).
*/}}
{{- define "videogen.secretEnv" -}}
{{- $root := .root }}
{{- $all := include "videogen.secretFields" $root | fromYaml }}
{{- range $field := .fields }}
{{- $spec := index $all $field }}
{{- $source := index $root.Values.secrets $field | default dict }}
{{- if $source.existingSecret }}
- name: {{ $spec.env }}
  valueFrom:
    secretKeyRef:
      name: {{ $source.existingSecret }}
      key: {{ $source.key | default $spec.env }}
{{- else if $source.value }}
- name: {{ $spec.env }}
  valueFrom:
    secretKeyRef:
      name: {{ include "videogen.secretName" $root }}
      key: {{ $spec.env }}
{{- else if $root.Values.secrets.existingSecret }}
- name: {{ $spec.env }}
  valueFrom:
    secretKeyRef:
      name: {{ $root.Values.secrets.existingSecret }}
      key: {{ $spec.env }}
      {{- if not $spec.required }}
      optional: true
      {{- end }}
{{- else if $spec.required }}
{{- fail (printf "secrets.%s: %s is required: set secrets.existingSecret (a Secret with a %s key), secrets.%s.existingSecret, or secrets.%s.value" $field $spec.env $spec.env $field $field) }}
{{- end }}
{{- end }}
{{- end }}

{{/* The credentials every long-running pod gets; the admin token only reaches the API. */}}
{{- define "videogen.runtimeSecretFields" -}}
{{- list "databaseUrl" "brokerUrl" "secretKey" "s3AccessKeyId" "s3SecretAccessKey" "rateLimitUrl" | toJson }}
{{- end }}

{{/* Containers run as the images' unprivileged user (uid 10001). */}}
{{- define "videogen.containerSecurityContext" -}}
allowPrivilegeEscalation: false
runAsNonRoot: true
runAsUser: 10001
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}
