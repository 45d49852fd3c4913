// Package deploy holds the packaging (Dockerfile at the repository root,
// compose, Kubernetes, systemd, Prometheus rules) and this test, which
// parses every manifest and checks what the README promises of them.
package deploy

import (
	"bufio"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/nhiscan/nhiscan/internal/config"
	"github.com/nhiscan/nhiscan/internal/metrics"
)

// docs decodes every YAML document of a file.
func docs(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	dec := yaml.NewDecoder(f)
	for {
		var d map[string]any
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if d != nil {
			out = append(out, d)
		}
	}
}

func yamlFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			out = append(out, p)
		}
		return err
	})
	if err != nil || len(out) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	return out
}

// get walks a decoded document by keys.
func get(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

// TestKubernetesManifests: every manifest parses; every pod runs as a
// non-root user with a read-only root filesystem and no privilege
// escalation; serve is one replica, recreated, never rolled; the scan
// CronJob never runs twice at once.
func TestKubernetesManifests(t *testing.T) {
	kinds := map[string]int{}
	for _, path := range yamlFiles(t) {
		for _, d := range docs(t, path) {
			kind, _ := d["kind"].(string)
			if kind == "" {
				continue // compose, Prometheus rules, nhiscan.yaml
			}
			kinds[kind]++
			meta, _ := get(d, "metadata", "name").(string)
			name := path + ": " + kind + " " + meta
			// The worker fleet (k8s/workers) keeps its history on
			// PostgreSQL: several replicas, rolled, and no volume.
			fleet := strings.Contains(filepath.ToSlash(path), "k8s/workers/")
			var pod any
			switch {
			case kind == "Deployment" && fleet:
				pod = get(d, "spec", "template", "spec")
				if r, _ := get(d, "spec", "replicas").(uint64); r < 2 {
					t.Errorf("%s: replicas %v, want several (the fleet shares scans)", name, r)
				}
			case kind == "Deployment":
				pod = get(d, "spec", "template", "spec")
				if r := get(d, "spec", "replicas"); r != uint64(1) {
					t.Errorf("%s: replicas %v, want 1 (SQLite has one writer)", name, r)
				}
				if s := get(d, "spec", "strategy", "type"); s != "Recreate" {
					t.Errorf("%s: strategy %v, want Recreate (a rolling update runs two pods)", name, s)
				}
			case kind == "CronJob":
				pod = get(d, "spec", "jobTemplate", "spec", "template", "spec")
				if c := get(d, "spec", "concurrencyPolicy"); c != "Forbid" {
					t.Errorf("%s: concurrencyPolicy %v, want Forbid", name, c)
				}
			default:
				continue
			}
			checkPod(t, name, pod, !fleet)
		}
	}
	for _, k := range []string{"Deployment", "CronJob", "PersistentVolumeClaim", "ConfigMap", "Service"} {
		if kinds[k] == 0 {
			t.Errorf("no %s manifest", k)
		}
	}
}

// checkPod checks a pod's hardening and, when it keeps a SQLite history
// (withData), its volume at /var/lib/nhiscan.
func checkPod(t *testing.T, name string, pod any, withData bool) {
	t.Helper()
	if get(pod, "securityContext", "runAsNonRoot") != true {
		t.Errorf("%s: pod securityContext.runAsNonRoot is not true", name)
	}
	if get(pod, "securityContext", "seccompProfile", "type") != "RuntimeDefault" {
		t.Errorf("%s: no RuntimeDefault seccomp profile", name)
	}
	cs := list(get(pod, "containers"))
	if len(cs) == 0 {
		t.Errorf("%s: no containers", name)
	}
	for _, c := range cs {
		sc := get(c, "securityContext")
		if get(sc, "readOnlyRootFilesystem") != true || get(sc, "allowPrivilegeEscalation") != false {
			t.Errorf("%s: container %v: readOnlyRootFilesystem %v, allowPrivilegeEscalation %v", name, get(c, "name"),
				get(sc, "readOnlyRootFilesystem"), get(sc, "allowPrivilegeEscalation"))
		}
		if !slices.Contains(list(get(sc, "capabilities", "drop")), any("ALL")) {
			t.Errorf("%s: capabilities are not all dropped", name)
		}
		mounted := false
		for _, m := range list(get(c, "volumeMounts")) {
			mounted = mounted || get(m, "mountPath") == "/var/lib/nhiscan"
		}
		if withData && !mounted {
			t.Errorf("%s: no volume at /var/lib/nhiscan for the database", name)
		}
	}
}

// TestExampleConfigurationsLoad: the configurations shipped with the
// manifests pass nhiscan's own strict loader.
func TestExampleConfigurationsLoad(t *testing.T) {
	if _, err := config.Load("compose/nhiscan.yaml", nil); err != nil {
		t.Errorf("compose/nhiscan.yaml: %v", err)
	}
	for _, d := range docs(t, "k8s/configmap.yaml") {
		src, _ := get(d, "data", "nhiscan.yaml").(string)
		if _, err := config.Parse("k8s/configmap.yaml#nhiscan.yaml", []byte(src), nil); err != nil || src == "" {
			t.Errorf("k8s/configmap.yaml nhiscan.yaml: %v", err)
		}
	}
	compose := docs(t, "compose.yaml")[0]
	for _, svc := range []string{"nhiscan", "mailpit"} {
		if get(compose, "services", svc) == nil {
			t.Errorf("compose.yaml has no %s service", svc)
		}
	}
	if get(compose, "services", "nhiscan", "read_only") != true {
		t.Error("compose.yaml: nhiscan's root filesystem is not read-only")
	}
}

// TestAlertRulesUseKnownMetrics: every nhiscan_* name in the example
// alert rules is one /metrics exposes.
func TestAlertRulesUseKnownMetrics(t *testing.T) {
	known := []string{metrics.ScanDuration, metrics.Scans, metrics.LastCompleteScan, metrics.APICalls, metrics.Gaps,
		metrics.OpenFindings, metrics.CampaignItems, metrics.CampaignOverdue, metrics.CampaignProgress, metrics.Revocations,
		metrics.JobRuns, metrics.JobSkipped, metrics.JobRunning, metrics.WebhookSent}
	d := docs(t, "prometheus/alerts.yaml")[0]
	rules := 0
	for _, g := range list(d["groups"]) {
		for _, r := range list(get(g, "rules")) {
			rules++
			expr, _ := get(r, "expr").(string)
			for _, name := range regexp.MustCompile(`nhiscan_[a-z_]+`).FindAllString(expr, -1) {
				if !slices.Contains(known, name) {
					t.Errorf("alert %v uses unknown metric %s", get(r, "alert"), name)
				}
			}
		}
	}
	if rules < 3 {
		t.Errorf("%d alert rules, want at least 3 (no complete scan, new gaps, overdue campaign)", rules)
	}
}

// TestDockerfileBuildsLikeMake: the image's go build has the flags of
// `make build` (static, trimmed paths, the same -ldflags), so it builds
// the same binary, from the go.mod toolchain.
func TestDockerfileBuildsLikeMake(t *testing.T) {
	mk := read(t, "../Makefile")
	ldflags := regexp.MustCompile(`(?m)^LDFLAGS\s*:=\s*(.+)$`).FindStringSubmatch(mk)
	build := regexp.MustCompile(`(?m)^build:.*\n\t(.+)$`).FindStringSubmatch(mk)
	if ldflags == nil || build == nil {
		t.Fatal("Makefile: no LDFLAGS or build recipe")
	}
	makeCmd := strings.ReplaceAll(strings.ReplaceAll(build[1], "$(LDFLAGS)", ldflags[1]), "$(GO)", "go")
	makeCmd = strings.ReplaceAll(strings.ReplaceAll(makeCmd, "'", ""), "$(VERSION)", "VERSION")
	makeCmd = strings.Replace(makeCmd, "-o $(BIN)", "-o OUT", 1)

	df := read(t, "../Dockerfile")
	run := regexp.MustCompile(`(?m)^RUN (CGO_ENABLED=0 go build .+)$`).FindStringSubmatch(df)
	if run == nil {
		t.Fatal("Dockerfile: no RUN CGO_ENABLED=0 go build")
	}
	dockerCmd := strings.ReplaceAll(strings.ReplaceAll(run[1], `"`, ""), "${VERSION}", "VERSION")
	dockerCmd = regexp.MustCompile(`-o \S+`).ReplaceAllString(dockerCmd, "-o OUT")
	if makeCmd != dockerCmd {
		t.Errorf("the image builds differently from make:\n make:   %s\n docker: %s", makeCmd, dockerCmd)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\S+)$`).FindStringSubmatch(read(t, "../go.mod"))
	if goVersion == nil || !strings.Contains(df, "FROM golang:"+goVersion[1]+" ") {
		t.Errorf("Dockerfile's golang image is not go.mod's go %v", goVersion)
	}
	for _, want := range []string{"USER 65532:65532", "FROM gcr.io/distroless/static"} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q (non-root, static base)", want)
		}
	}
}

// TestSystemdUnitIsHardened: the unit sets the sandboxing the README
// names.
func TestSystemdUnitIsHardened(t *testing.T) {
	set := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(read(t, "systemd/nhiscan.service")))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok && !strings.HasPrefix(k, "#") {
			set[k] = v
		}
	}
	for k, want := range map[string]string{"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
		"DynamicUser": "yes", "StateDirectory": "nhiscan", "CapabilityBoundingSet": "", "RestrictSUIDSGID": "yes",
		"MemoryDenyWriteExecute": "yes", "ExecReload": "/bin/kill -HUP $MAINPID"} {
		if got, ok := set[k]; !ok || got != want {
			t.Errorf("nhiscan.service: %s=%q, want %q", k, got, want)
		}
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
