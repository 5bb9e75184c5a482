{{/* Name of the release's objects, at most 52 characters so suffixes fit in 63. */}}
{{- define "edgerep.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "edgerep.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "edgerep.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Full image reference: registry/name:tag. */}}
{{- define "edgerep.image" -}}
{{- printf "%s/%s:%s" .root.Values.imageRegistry .name (default .root.Chart.AppVersion .root.Values.imageTag) -}}
{{- end -}}

{{- define "edgerep.operatorAddress" -}}
{{- printf "%s-operator.%s.svc:%d" (include "edgerep.fullname" .) .Release.Namespace (int .Values.operator.grpcPort) -}}
{{- end -}}

{{/* Security context of every container that needs no privilege. */}}
{{- define "edgerep.restrictedSecurityContext" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}
