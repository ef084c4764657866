{{/*
The chart name, overridable.
*/}}
{{- define "picket.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The fully qualified name of the release's resources (63 characters at most, a DNS label).
*/}}
{{- define "picket.fullname" -}}
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
helm.sh/chart: name and version, "+" (not allowed in a label) replaced.
*/}}
{{- define "picket.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The image tag, which is also the app.kubernetes.io/version label.
*/}}
{{- define "picket.version" -}}
{{- .Values.image.tag | default .Chart.AppVersion | toString | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Selector labels: stable for the life of the release (a Deployment's selector is immutable).
*/}}
{{- define "picket.selectorLabels" -}}
app.kubernetes.io/name: {{ include "picket.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The standard labels of every resource.
*/}}
{{- define "picket.labels" -}}
helm.sh/chart: {{ include "picket.chart" . }}
{{ include "picket.selectorLabels" . }}
app.kubernetes.io/version: {{ include "picket.version" . | quote }}
app.kubernetes.io/component: detector
app.kubernetes.io/part-of: picket
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
The ServiceAccount the pods run as.
*/}}
{{- define "picket.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "picket.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The image reference: repository with the digest when given, else the tag.
*/}}
{{- define "picket.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (include "picket.version" .) }}
{{- end }}
{{- end }}

{{/*
The name of the Secret the chart creates for Kafka credentials.
*/}}
{{- define "picket.kafkaSecretName" -}}
{{- printf "%s-kafka" (include "picket.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The Secret holding the SASL username and password: the user's, or the chart's.
*/}}
{{- define "picket.saslSecretName" -}}
{{- default (include "picket.kafkaSecretName" .) .Values.kafka.sasl.existingSecret }}
{{- end }}

{{/*
The Secret holding the TLS files: the user's, or the chart's.
*/}}
{{- define "picket.tlsSecretName" -}}
{{- default (include "picket.kafkaSecretName" .) .Values.kafka.tls.existingSecret }}
{{- end }}

{{/*
The TLS files to mount, as a YAML map from file name (ca.crt, tls.crt, tls.key) to the key in the Secret.
With an existing Secret: its configured keys (an empty key name leaves the file out).
With the chart's Secret: the files whose PEM is given in the values.
*/}}
{{- define "picket.tlsFiles" -}}
{{- $tls := .Values.kafka.tls }}
{{- $files := dict }}
{{- if $tls.enabled }}
{{- if $tls.existingSecret }}
{{- if $tls.caKey }}{{ $_ := set $files "ca.crt" $tls.caKey }}{{ end }}
{{- if $tls.certKey }}{{ $_ := set $files "tls.crt" $tls.certKey }}{{ end }}
{{- if $tls.keyKey }}{{ $_ := set $files "tls.key" $tls.keyKey }}{{ end }}
{{- else }}
{{- if $tls.ca }}{{ $_ := set $files "ca.crt" "ca.crt" }}{{ end }}
{{- if $tls.cert }}{{ $_ := set $files "tls.crt" "tls.crt" }}{{ end }}
{{- if $tls.key }}{{ $_ := set $files "tls.key" "tls.key" }}{{ end }}
{{- end }}
{{- end }}
{{- toYaml $files }}
{{- end }}

{{/*
Whether the chart creates its own Secret: "true" or "".
*/}}
{{- define "picket.createKafkaSecret" -}}
{{- $k := .Values.kafka }}
{{- if or (and $k.sasl.enabled (not $k.sasl.existingSecret)) (and $k.tls.enabled (not $k.tls.existingSecret) (or $k.tls.ca $k.tls.cert $k.tls.key)) }}true{{ end }}
{{- end }}

{{/*
Where the TLS files are mounted.
*/}}
{{- define "picket.tlsDir" -}}
/etc/picket/kafka-tls
{{- end }}

{{/*
picket's configuration file: the keys the chart owns, then .Values.config merged over them.
Only keys picket knows are rendered (it refuses to start on an unknown one).
*/}}
{{- define "picket.config" -}}
{{- $base := dict
  "kafka" (dict "brokers" .Values.kafka.brokers "groupId" .Values.kafka.groupId "clientId" .Values.kafka.clientId)
  "topics" (dict "input" .Values.topics.input "output" .Values.topics.output "deadLetter" .Values.topics.deadLetter)
  "log" (dict "level" .Values.logLevel)
  "shutdown" (dict "graceMs" .Values.shutdownGraceMs)
}}
{{- if .Values.tuning }}
{{- $_ := set $base "tuning" (dict "file" "/etc/picket/tuning/tuning.yaml") }}
{{- end }}
{{- $merged := mustMergeOverwrite $base (deepCopy (.Values.config | default dict)) }}
{{- $_ := set $merged "http" (dict "host" "0.0.0.0" "port" .Values.containerPort) }}
{{- toYaml $merged }}
{{- end }}

{{/*
Checks on combinations of values that the schema cannot express well; fails the render with a message.
*/}}
{{- define "picket.validate" -}}
{{- if and .Values.autoscaling.enabled .Values.keda.enabled }}
{{- fail "autoscaling.enabled and keda.enabled are mutually exclusive: KEDA manages its own HorizontalPodAutoscaler, and two autoscalers on one Deployment fight. Enable one." }}
{{- end }}
{{- if and .Values.autoscaling.enabled (not (or .Values.autoscaling.targetCPUUtilizationPercentage .Values.autoscaling.targetMemoryUtilizationPercentage)) }}
{{- fail "autoscaling.enabled needs autoscaling.targetCPUUtilizationPercentage or autoscaling.targetMemoryUtilizationPercentage." }}
{{- end }}
{{- if and .Values.metrics.serviceMonitor.enabled .Values.metrics.podMonitor.enabled }}
{{- fail "metrics.serviceMonitor.enabled and metrics.podMonitor.enabled are mutually exclusive: both would scrape every pod twice. Enable one." }}
{{- end }}
{{- if (.Values.config | default dict).http }}
{{- fail "config.http is set by the chart (host 0.0.0.0, port containerPort, which the probes and the Service use): set containerPort instead." }}
{{- end }}
{{- $cfg := include "picket.config" . | fromYaml }}
{{- $graceMs := int64 $cfg.shutdown.graceMs }}
{{- if le (mul (int64 .Values.terminationGracePeriodSeconds) 1000) $graceMs }}
{{- fail (printf "terminationGracePeriodSeconds (%v s) must exceed shutdown.graceMs (%v ms), or Kubernetes kills picket before it has committed and left the group." .Values.terminationGracePeriodSeconds $graceMs) }}
{{- end }}
{{- if and .Values.kafka.sasl.enabled (not .Values.kafka.sasl.existingSecret) (or (not .Values.kafka.sasl.username) (not .Values.kafka.sasl.password)) }}
{{- fail "kafka.sasl.enabled needs kafka.sasl.username and kafka.sasl.password, or kafka.sasl.existingSecret." }}
{{- end }}
{{- if and .Values.kafka.tls.enabled (not .Values.kafka.tls.existingSecret) (or .Values.kafka.tls.cert .Values.kafka.tls.key) (not (and .Values.kafka.tls.cert .Values.kafka.tls.key)) }}
{{- fail "kafka.tls.cert and kafka.tls.key go together (mutual TLS needs both)." }}
{{- end }}
{{- if and .Values.kafka.sasl.enabled (eq .Values.kafka.sasl.mechanism "plain") (not .Values.kafka.tls.enabled) }}
{{- fail "kafka.sasl.mechanism plain sends the password in clear text: enable kafka.tls too." }}
{{- end }}
{{- end }}

{{/*
prometheusRule.selector as a PromQL label selector ("{...}"), or nothing when it is empty.
*/}}
{{- define "picket.ruleSelector" -}}
{{- with .Values.prometheusRule.selector }}{{ printf "{%s}" . }}{{ end }}
{{- end }}

{{/*
Whether KEDA needs a TriggerAuthentication (SASL credentials or TLS files): "true" or "".
*/}}
{{- define "picket.kedaAuth" -}}
{{- if or .Values.kafka.sasl.enabled (include "picket.tlsFiles" . | fromYaml) }}true{{ end }}
{{- end }}
