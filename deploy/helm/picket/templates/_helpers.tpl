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
app.kubernetes.io/component: {{ include "picket.component" . }}
app.kubernetes.io/part-of: picket
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
The stages the chart deploys, one Deployment (with its PodDisruptionBudget and autoscaler) each, as a
YAML list: [all] (one Deployment runs both stages), or [router, detector] with routing.separateStages.
Templates range over them with a context that is the root plus "stage": merge (dict "stage" $s) $.
*/}}
{{- define "picket.stages" -}}
{{- if .Values.routing.separateStages }}[router, detector]{{ else }}[all]{{ end }}
{{- end }}

{{/*
The stage of a context: "all" in the root context (and in every resource the stages share).
*/}}
{{- define "picket.stage" -}}
{{- get . "stage" | default "all" }}
{{- end }}

{{/*
app.kubernetes.io/component: "detector" for the single Deployment (the name it always had) and the
resources the stages share; the stage's own name for a separate stage's resources.
*/}}
{{- define "picket.component" -}}
{{- $stage := include "picket.stage" . }}
{{- ternary "detector" $stage (eq $stage "all") }}
{{- end }}

{{/*
The name of a stage's Deployment (and PDB, HPA, ScaledObject): the fullname for "all", else
"<fullname>-<stage>" (the fullname shortened so that the suffix always fits).
*/}}
{{- define "picket.stageName" -}}
{{- $stage := include "picket.stage" . }}
{{- if eq $stage "all" }}
{{- include "picket.fullname" . }}
{{- else }}
{{- printf "%s-%s" (include "picket.fullname" . | trunc 54 | trimSuffix "-") $stage }}
{{- end }}
{{- end }}

{{/*
The selector of a stage's pods. "all" keeps the release's selector labels (a Deployment's selector is
immutable); a separate stage adds its component, so the two Deployments never select each other's
pods while the Service, NetworkPolicy, PodMonitor and ServiceMonitor (selector labels only) select both.
*/}}
{{- define "picket.stageSelectorLabels" -}}
{{ include "picket.selectorLabels" . }}
{{- if ne (include "picket.stage" .) "all" }}
app.kubernetes.io/component: {{ include "picket.component" . }}
{{- end }}
{{- end }}

{{/*
A stage's effective settings (YAML): routing.<stage>.replicaCount, .resources and .maxReplicas where
set, else replicaCount, resources, autoscaling.maxReplicas and keda.maxReplicaCount.
*/}}
{{- define "picket.stageValues" -}}
{{- $own := get .Values.routing (include "picket.stage" .) | default dict }}
{{- $out := dict "replicaCount" .Values.replicaCount "resources" .Values.resources "hpaMaxReplicas" .Values.autoscaling.maxReplicas "kedaMaxReplicaCount" .Values.keda.maxReplicaCount }}
{{- if not (kindIs "invalid" $own.replicaCount) }}
{{- $_ := set $out "replicaCount" $own.replicaCount }}
{{- end }}
{{- with $own.resources }}
{{- $_ := set $out "resources" . }}
{{- end }}
{{- if not (kindIs "invalid" $own.maxReplicas) }}
{{- $_ := set $out "hpaMaxReplicas" $own.maxReplicas }}
{{- $_ := set $out "kedaMaxReplicaCount" $own.maxReplicas }}
{{- end }}
{{- toYaml $out }}
{{- end }}

{{/*
The repartition topics the detector stage reads, as a YAML list, from the rendered configuration:
"<kafka.groupId>-<detection>-repartition" for each enabled keyed detection (src/routing/router.ts:
the ones with a join key; remote_services, keyed by host, is not routed with topology direct).
*/}}
{{- define "picket.repartitionTopics" -}}
{{- $cfg := include "picket.config" . | fromYaml }}
{{- $enabled := ($cfg.detections | default dict).enabled | default (list "rpc_to_internet" "rpc_pairing" "rdp_spike" "remote_services") }}
{{- $topology := ($cfg.routing | default dict).topology | default "routed" }}
{{- $topics := list }}
{{- range $key, $keyedBy := dict "rpc_pairing" "other" "rdp_spike" "other" "remote_services" "host" }}
{{- if and (has $key $enabled) (or (eq $topology "routed") (ne $keyedBy "host")) }}
{{- $topics = append $topics (printf "%s-%s-repartition" $cfg.kafka.groupId $key) }}
{{- end }}
{{- end }}
{{- toYaml $topics }}
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
  "routing" (dict "topology" .Values.routing.topology "partitions" .Values.routing.partitions)
  "alerts" (dict "dedupeWindowMs" .Values.alerts.dedupeWindowMs)
}}
{{- /* One Deployment runs both stages; separate Deployments get theirs from PICKET_ROUTING_STAGE. */}}
{{- if not .Values.routing.separateStages }}
{{- $_ := set $base.routing "stage" "all" }}
{{- end }}
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
{{- if and .Values.routing.separateStages (hasKey ((.Values.config | default dict).routing | default dict) "stage") }}
{{- fail "config.routing.stage is set by the chart with routing.separateStages (router and detector Deployments): remove it." }}
{{- end }}
{{- if and .Values.routing.separateStages (not (include "picket.repartitionTopics" . | fromYamlArray)) }}
{{- fail "routing.separateStages: no enabled detection is routed (detections.enabled, routing.topology), so the detector stage would read nothing. Leave routing.separateStages off." }}
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
