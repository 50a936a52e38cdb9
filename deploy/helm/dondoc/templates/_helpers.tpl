{{/*
Names, labels and the per-service settings shared by the templates.
*/}}

{{/* The services, in the order compose lists them; each template ranges over this list. */}}
{{- define "dondoc.serviceNames" -}}
assignment reporting progress escalation discipline
{{- end }}

{{/* The release's name prefix: the release name, or <release>-dondoc when it lacks "dondoc". */}}
{{- define "dondoc.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end }}

{{/* Name of one service's objects: <fullname>-<service>. Takes (dict "root" $ "name" $name). */}}
{{- define "dondoc.componentName" -}}
{{- printf "%s-%s" (include "dondoc.fullname" .root) .name -}}
{{- end }}

{{/* Labels that select one service's pods; they never change over the release's life. */}}
{{- define "dondoc.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end }}

{{/* Every label of one service's objects. */}}
{{- define "dondoc.labels" -}}
{{ include "dondoc.selectorLabels" . }}
app.kubernetes.io/part-of: dondoc
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end }}

{{/* The image reference: repository@digest when a digest is pinned, else repository:tag. */}}
{{- define "dondoc.image" -}}
{{- with .Values.image -}}
{{- if .digest -}}
{{- printf "%s@%s" .repository .digest -}}
{{- else -}}
{{- printf "%s:%s" .repository (default $.Chart.AppVersion .tag) -}}
{{- end -}}
{{- end -}}
{{- end }}

{{/*
One service's scheduling and sizing values: its own entry where it has one, `defaults`
otherwise. Whole values are replaced, not merged, so a service that sets `resources` gets
exactly those. Takes (dict "root" $ "service" $svc); returns YAML.
*/}}
{{- define "dondoc.effective" -}}
{{- $out := dict -}}
{{- range $key := list "replicas" "resources" "topologySpread" "podAnnotations" "podLabels" "nodeSelector" "tolerations" "affinity" "priorityClassName" -}}
{{- if hasKey $.service $key -}}
{{- $_ := set $out $key (get $.service $key) -}}
{{- else -}}
{{- $_ := set $out $key (get $.root.Values.defaults $key) -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end }}

{{/*
A Secret reference {name, key}, checked: both must be set. Takes (dict "ref" $ref "what" "…").
*/}}
{{- define "dondoc.checkSecretRef" -}}
{{- if not (and .ref .ref.name .ref.key) -}}
{{- fail (printf "%s must name an existing Secret and its key: {name: <secret>, key: <key>}" .what) -}}
{{- end -}}
{{- end }}

{{/* Where the files of one service's Secrets and certificates are mounted. */}}
{{- define "dondoc.databasePasswordDir" -}}/run/secrets/dondoc/database{{- end }}
{{- define "dondoc.natsPasswordDir" -}}/run/secrets/dondoc/nats{{- end }}
{{- define "dondoc.smtpPasswordDir" -}}/run/secrets/dondoc/smtp{{- end }}
{{- define "dondoc.databaseCaDir" -}}/etc/dondoc/tls/database{{- end }}
{{- define "dondoc.natsCaDir" -}}/etc/dondoc/tls/nats{{- end }}
{{- define "dondoc.keysDir" -}}/etc/dondoc/keys{{- end }}

{{/*
The DONDOC_* environment of one service, as a YAML list of {name, value}. Mirrors the
`environment` of its service in deploy/docker-compose.yml; every password is a *_FILE path.
Takes (dict "root" $ "name" $name "service" $svc).
*/}}
{{- define "dondoc.env" -}}
{{- $root := .root -}}
{{- $svc := .service -}}
{{- $S := printf "DONDOC_%s__" (upper .name) -}}
{{- $env := list -}}
{{- /* Its own database, as its own role; the password is a file, never in the URL. */ -}}
{{- $db := $root.Values.database -}}
{{- $url := printf "postgres://%s@%s:%v/%s" $svc.database.user $db.host $db.port $svc.database.name -}}
{{- with $db.tls.caSecret -}}
{{- $url = printf "%s?sslmode=verify-full&sslrootcert=%s/%s" $url (include "dondoc.databaseCaDir" $root) .key -}}
{{- end -}}
{{- $env = append $env (dict "name" (print $S "DATABASE_URL") "value" $url) -}}
{{- $env = append $env (dict "name" (print $S "DATABASE_PASSWORD_FILE") "value" (printf "%s/password" (include "dondoc.databasePasswordDir" $root))) -}}
{{- $env = append $env (dict "name" (print $S "DATABASE__MAX_CONNECTIONS") "value" (toString $db.maxConnections)) -}}
{{- /* Its own NATS user. */ -}}
{{- $env = append $env (dict "name" (print $S "NATS_URL") "value" $root.Values.nats.url) -}}
{{- $env = append $env (dict "name" (print $S "NATS_USER") "value" $svc.nats.user) -}}
{{- $env = append $env (dict "name" (print $S "NATS_PASSWORD_FILE") "value" (printf "%s/password" (include "dondoc.natsPasswordDir" $root))) -}}
{{- with $root.Values.nats.tls.caSecret -}}
{{- $env = append $env (dict "name" (print $S "NATS_CA_PATH") "value" (printf "%s/%s" (include "dondoc.natsCaDir" $root) .key)) -}}
{{- end -}}
{{- /* reporting keeps no event log and publishes no stream. */ -}}
{{- if ne .name "reporting" -}}
{{- $env = append $env (dict "name" (print $S "STREAM__REPLICAS") "value" (toString $root.Values.nats.streamReplicas)) -}}
{{- end -}}
{{- $env = append $env (dict "name" (print $S "LISTEN") "value" (printf "0.0.0.0:%v" $svc.port)) -}}
{{- $env = append $env (dict "name" (print $S "SHUTDOWN_DRAIN") "value" $root.Values.shutdownDrain) -}}
{{- if eq .name "reporting" -}}
{{- $progress := $root.Values.services.progress -}}
{{- $progressUrl := $svc.progressUrl | default (printf "http://%s:%v" (include "dondoc.componentName" (dict "root" $root "name" "progress")) $progress.port) -}}
{{- $env = append $env (dict "name" (print $S "PROGRESS_URL") "value" $progressUrl) -}}
{{- end -}}
{{- if eq .name "escalation" -}}
{{- $smtp := $svc.smtp -}}
{{- $env = append $env (dict "name" (print $S "SMTP__HOST") "value" $smtp.host) -}}
{{- $env = append $env (dict "name" (print $S "SMTP__PORT") "value" (toString $smtp.port)) -}}
{{- $env = append $env (dict "name" (print $S "SMTP__FROM") "value" $smtp.from) -}}
{{- with $smtp.username -}}
{{- $env = append $env (dict "name" (print $S "SMTP__USERNAME") "value" .) -}}
{{- end -}}
{{- if $smtp.passwordSecret -}}
{{- $env = append $env (dict "name" (print $S "SMTP__PASSWORD_FILE") "value" (printf "%s/password" (include "dondoc.smtpPasswordDir" $root))) -}}
{{- end -}}
{{- end -}}
{{- /* Settings every service reads the same way (x-dondoc-common-env in compose). */ -}}
{{- $keysPath := include "dondoc.keysDir" $root -}}
{{- if ne $root.Values.auth.publicKeys.file "." -}}
{{- $keysPath = printf "%s/%s" $keysPath $root.Values.auth.publicKeys.file -}}
{{- end -}}
{{- $env = append $env (dict "name" "DONDOC_AUTH__PUBLIC_KEY_PATH" "value" $keysPath) -}}
{{- $env = append $env (dict "name" "DONDOC_AUTH__AUDIENCE" "value" $root.Values.auth.audience) -}}
{{- with $root.Values.telemetry.otlpEndpoint -}}
{{- $env = append $env (dict "name" "DONDOC_TELEMETRY__OTLP_ENDPOINT" "value" .) -}}
{{- end -}}
{{- $env = append $env (dict "name" "DONDOC_TELEMETRY__JSON_LOGS" "value" (toString $root.Values.telemetry.jsonLogs)) -}}
{{- $env = append $env (dict "name" "DONDOC_TELEMETRY__LOG_FILTER" "value" $root.Values.telemetry.logFilter) -}}
{{- /* Further settings: never a password, and never one the chart already sets. */ -}}
{{- $set := list -}}
{{- range $env -}}
{{- $set = append $set .name -}}
{{- end -}}
{{- range $key, $value := $svc.extraEnv -}}
{{- if regexMatch "(?i)(PASSWORD|SECRET|TOKEN)" $key -}}
{{- fail (printf "services.%s.extraEnv.%s: a password is never a setting; use the chart's passwordSecret values (a Secret mounted as a file)" $.name $key) -}}
{{- end -}}
{{- if has $key $set -}}
{{- fail (printf "services.%s.extraEnv.%s: the chart sets it already; change the value it comes from instead" $.name $key) -}}
{{- end -}}
{{- $env = append $env (dict "name" $key "value" (toString $value)) -}}
{{- end -}}
{{- toYaml $env -}}
{{- end }}
