package runner

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/singerkit/singerkit/internal/project"
)

// crontab prints one crontab line per pipeline with a schedule.
func crontab(w io.Writer, p *project.Project, projectPath string) error {
	abs, err := filepath.Abs(projectPath)
	if err != nil {
		abs = projectPath
	}
	n := 0
	fmt.Fprintf(w, "# singer run pipelines of %s (the environment must hold the variables the file uses)\n", abs)
	for _, name := range p.PipelineNames() {
		pl := p.Pipelines[name]
		if pl.Schedule == "" {
			continue
		}
		n++
		fmt.Fprintf(w, "%s cd %s && singer run --project %s %s\n", pl.Schedule, shellQuote(p.Dir), shellQuote(abs), name)
	}
	if n == 0 {
		return usagef("no pipeline of %s has a schedule", projectPath)
	}
	return nil
}

// kubernetes prints one CronJob per pipeline with a schedule: concurrency
// Forbid, the project file from a ConfigMap, the environment (state store
// URL and secrets) from a Secret.
func kubernetes(w io.Writer, p *project.Project, image, secret, configMap string) error {
	n := 0
	for _, name := range p.PipelineNames() {
		pl := p.Pipelines[name]
		if pl.Schedule == "" {
			continue
		}
		n++
		fmt.Fprintf(w, `---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: %s
  labels: {app.kubernetes.io/name: singer-run, singerkit.io/pipeline: %s}
spec:
  schedule: %q
  concurrencyPolicy: Forbid
  jobTemplate:
    spec:
      backoffLimit: 0
      template:
        spec:
          restartPolicy: Never
          containers:
            - name: singer
              image: %s
              args: ["run", "--project", "/etc/singer/singer.yaml", %q]
              envFrom:
                - secretRef: {name: %s}   # SINGER_STATE_URL=postgres://... and the variables singer.yaml uses
              volumeMounts:
                - {name: project, mountPath: /etc/singer, readOnly: true}
              resources:
                requests: {cpu: 500m, memory: 256Mi}
                limits: {memory: 1Gi}
          volumes:
            - name: project
              configMap: {name: %s}
`, k8sName(name), k8sName(name), pl.Schedule, image, name, secret, configMap)
	}
	if n == 0 {
		return usagef("no pipeline has a schedule")
	}
	return nil
}

func k8sName(s string) string {
	s = strings.ToLower(s)
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	return strings.Trim(b.String(), "-")
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+=:@", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
