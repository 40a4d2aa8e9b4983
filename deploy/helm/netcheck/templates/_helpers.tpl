{{- define "netcheck.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}{{ .Release.Name | trunc 63 | trimSuffix "-" }}{{- else -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "netcheck.labels" -}}
app.kubernetes.io/name: netcheck
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "netcheck.selectorLabels" -}}
app.kubernetes.io/name: netcheck
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "netcheck.serviceAccountName" -}}
{{- default (include "netcheck.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{/* Where the scenario comes from: a ConfigMap (the chart's, for inline, or the user's), else a built-in name. */}}
{{- define "netcheck.scenarioConfigMap" -}}
{{- if .Values.scenario.inline -}}{{ include "netcheck.fullname" . }}-scenario{{- else -}}{{ .Values.scenario.configMap }}{{- end -}}
{{- end -}}

{{- define "netcheck.scenarioArg" -}}
{{- if include "netcheck.scenarioConfigMap" . -}}/etc/netcheck/scenario/scenario.yaml{{- else -}}{{ required "scenario.name, scenario.inline or scenario.configMap is required" .Values.scenario.name }}{{- end -}}
{{- end -}}

{{/* The flags every run takes, after the command and the scenario. */}}
{{- define "netcheck.runFlags" -}}
- --budget
- {{ .Values.budget | quote }}
- --no-progress
{{- with .Values.probeImage }}
- --image
- {{ . | quote }}
{{- end }}
{{- range .Values.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end -}}

{{/* The pod spec of every shape; the container's args are the caller's. */}}
{{- define "netcheck.podSpec" -}}
serviceAccountName: {{ include "netcheck.serviceAccountName" .root }}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets: {{ toYaml . | nindent 2 }}
{{- end }}
securityContext:
  runAsNonRoot: true
  # The image's user (deploy/image/Containerfile); numeric so runAsNonRoot can be checked.
  runAsUser: 1000
  runAsGroup: 1000
  seccompProfile:
    type: RuntimeDefault
{{- with .root.Values.nodeSelector }}
nodeSelector: {{ toYaml . | nindent 2 }}
{{- end }}
{{- with .root.Values.tolerations }}
tolerations: {{ toYaml . | nindent 2 }}
{{- end }}
{{- with .root.Values.affinity }}
affinity: {{ toYaml . | nindent 2 }}
{{- end }}
containers:
  - name: netcheck
    image: "{{ .root.Values.image.repository }}:{{ .root.Values.image.tag }}"
    imagePullPolicy: {{ .root.Values.image.pullPolicy }}
    args: {{ .args | nindent 6 }}
    {{- with .ports }}
    ports: {{ . | nindent 6 }}
    {{- end }}
    {{- with .probes }}
    {{- . | nindent 4 }}
    {{- end }}
    resources: {{ toYaml .root.Values.resources | nindent 6 }}
    securityContext:
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      capabilities:
        drop: ["ALL"]
    volumeMounts:
      - name: tmp
        mountPath: /tmp
      {{- if include "netcheck.scenarioConfigMap" .root }}
      - name: scenario
        mountPath: /etc/netcheck/scenario
        readOnly: true
      {{- end }}
volumes:
  - name: tmp
    emptyDir: {}
  {{- if include "netcheck.scenarioConfigMap" .root }}
  - name: scenario
    configMap:
      name: {{ include "netcheck.scenarioConfigMap" .root }}
  {{- end }}
{{- end -}}

{{/* The alert rule groups: deploy/watch/alerts.rules.yaml is their rendering with the default values. */}}
{{- define "netcheck.alertGroups" -}}
{{- $every := int .Values.watch.everySeconds -}}
groups:
  - name: netcheck
    rules:
      # A cell that failed as a data-plane fault in two consecutive runs: the CNI or a node does not do what the
      # policies say, or a Service lost its endpoints. Users feel it now.
      - alert: NetcheckDataPlaneFault
        expr: netcheck_cell_failing_runs{classification="data-plane"} >= 2
        for: {{ .Values.alerts.for }}
        labels:
          severity: page
          {{- with .Values.alerts.labels }}{{ toYaml . | nindent 10 }}{{ end }}
        annotations:
          summary: "{{ "{{ $labels.source }}" }} → {{ "{{ $labels.target }}" }} ({{ "{{ $labels.expect }}" }}) fails as a data-plane fault, {{ "{{ $value }}" }} runs in a row"
          description: "The policies agree with the scenario ({{ "{{ $labels.scenario }}" }}) but the cluster does something else: a CNI not enforcing, a broken node, a Service without ready endpoints. The last report (/report.md on the watch pod) names the node or Service."
      # A cell that failed as a DNS fault in two consecutive runs: names do not resolve for that source.
      - alert: NetcheckDNSFault
        expr: netcheck_cell_failing_runs{classification="dns"} >= 2
        for: {{ .Values.alerts.for }}
        labels:
          severity: page
          {{- with .Values.alerts.labels }}{{ toYaml . | nindent 10 }}{{ end }}
        annotations:
          summary: "{{ "{{ $labels.source }}" }} cannot resolve {{ "{{ $labels.target }}" }}, {{ "{{ $value }}" }} runs in a row"
          description: "Cluster DNS does not answer {{ "{{ $labels.source }}" }} ({{ "{{ $labels.scenario }}" }}): CoreDNS down or without endpoints, or its port blocked. The last report walks the DNS chain link by link (`netcheck dns NAMESPACE` does it by hand)."
      # A cell that failed as a policy gap in two consecutive runs: the policies say something else than the
      # scenario. Not an outage of the network: a change for the owning team.
      - alert: NetcheckPolicyGap
        expr: netcheck_cell_failing_runs{classification="policy-gap"} >= 2
        for: {{ .Values.alerts.for }}
        labels:
          severity: ticket
          {{- with .Values.alerts.labels }}{{ toYaml . | nindent 10 }}{{ end }}
        annotations:
          summary: 'The policies {{ "{{ if eq $labels.expect \"allow\" }}block{{ else }}allow{{ end }}" }} {{ "{{ $labels.source }}" }} → {{ "{{ $labels.target }}" }}, against the scenario'
          description: "The NetworkPolicies and the data plane agree with each other and not with the scenario ({{ "{{ $labels.scenario }}" }}): fix the policy or the scenario. The last report names the policy and rule."
      # No run finished for three intervals: netcheck is stuck or cannot reach the API; the cells above say nothing.
      - alert: NetcheckStale
        expr: time() - netcheck_last_run_timestamp_seconds > {{ mul 3 $every }}
        for: {{ .Values.alerts.for }}
        labels:
          severity: ticket
          {{- with .Values.alerts.labels }}{{ toYaml . | nindent 10 }}{{ end }}
        annotations:
          summary: "netcheck has not finished a run for {{ "{{ $value | humanizeDuration }}" }} (it runs every {{ $every }} s)"
          description: "The watch pod is stuck or its runs hang; its log says which run and why. Until it runs again, no netcheck alert can fire."
      - alert: NetcheckAbsent
        expr: absent(netcheck_last_run_timestamp_seconds)
        for: {{ mul 3 $every }}s
        labels:
          severity: ticket
          {{- with .Values.alerts.labels }}{{ toYaml . | nindent 10 }}{{ end }}
        annotations:
          summary: "Prometheus has no netcheck metrics"
          description: "The watch Deployment is gone, not ready, or not scraped (Service, ServiceMonitor, network policy in front of it). Until it is back, no netcheck alert can fire."
      # A run that could not probe (all or part of the scenario): the cells it could not check are unknown, not passing.
      - alert: NetcheckCannotProbe
        expr: sum by (reason) (increase(netcheck_run_errors_total[{{ mul 3 $every }}s])) > 0
        for: {{ .Values.alerts.for }}
        labels:
          severity: ticket
          {{- with .Values.alerts.labels }}{{ toYaml . | nindent 10 }}{{ end }}
        annotations:
          summary: "netcheck runs cannot probe: {{ "{{ $labels.reason }}" }}"
          description: "cluster-unreachable: the API; forbidden: netcheck's rights or admission (Pod Security, quota); probe-pod-failed: probe pods do not start (image, scheduling); budget-exceeded: --budget too short for pod starts; scenario-not-on-cluster: a namespace or workload of the scenario is gone. The watch pod's log has the exact error."
{{- end -}}
