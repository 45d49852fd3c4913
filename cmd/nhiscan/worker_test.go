package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/nhiscan/nhiscan/internal/config"
	"github.com/nhiscan/nhiscan/internal/fleet"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/store"
)

// TestWorkerManifests: the Kubernetes manifests of the worker fleet run
// `nhiscan worker` with a configuration nhiscan accepts, whose
// fleet.database_file is in the mounted PostgreSQL Secret.
func TestWorkerManifests(t *testing.T) {
	dir := "../../deploy/k8s/workers/"
	var cm struct {
		Data map[string]string `yaml:"data"`
	}
	readYAML(t, dir+"configmap.yaml", &cm)
	cfg, err := config.Parse("/etc/nhiscan/nhiscan.yaml", []byte(cm.Data["nhiscan.yaml"]), func(string) string { return "" })
	if err != nil {
		t.Fatalf("the ConfigMap's nhiscan.yaml: %v", err)
	}
	if cfg.Fleet.DatabaseFile == "" || len(cfg.Fleet.Schedules) == 0 {
		t.Errorf("the ConfigMap configures no fleet database or schedule: %+v", cfg.Fleet)
	}
	var dep struct {
		Spec struct {
			Replicas int `yaml:"replicas"`
			Template struct {
				Spec struct {
					Containers []struct {
						Args []string `yaml:"args"`
						Env  []struct {
							Name  string `yaml:"name"`
							Value string `yaml:"value"`
						} `yaml:"env"`
						VolumeMounts []struct {
							Name      string `yaml:"name"`
							MountPath string `yaml:"mountPath"`
						} `yaml:"volumeMounts"`
					} `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	readYAML(t, dir+"deployment.yaml", &dep)
	cs := dep.Spec.Template.Spec.Containers
	if dep.Spec.Replicas < 2 || len(cs) != 1 || !slices.Equal(cs[0].Args[:1], []string{"worker"}) {
		t.Fatalf("the Deployment does not run several `nhiscan worker` replicas: %+v", dep.Spec)
	}
	mounted := false
	for _, m := range cs[0].VolumeMounts {
		if m.Name == "postgres" && m.MountPath == path.Dir(cfg.Fleet.DatabaseFile) {
			mounted = true
		}
	}
	if !mounted {
		t.Errorf("fleet.database_file %s is not in the mounted postgres Secret", cfg.Fleet.DatabaseFile)
	}
	// The history is on the same PostgreSQL: NHISCAN_DATABASE_FILE names
	// the Secret's file, so no replica needs a shared volume.
	var dbFile string
	for _, e := range cs[0].Env {
		if e.Name == "NHISCAN_DATABASE_FILE" {
			dbFile = e.Value
		}
	}
	if dbFile != cfg.Fleet.DatabaseFile {
		t.Errorf("NHISCAN_DATABASE_FILE = %q, want the fleet's PostgreSQL file %s", dbFile, cfg.Fleet.DatabaseFile)
	}
	if _, err := os.Stat(dir + "persistentvolumeclaim.yaml"); err == nil {
		t.Error("the workers still claim a shared volume: the history is on PostgreSQL")
	}
	pdb, err := os.ReadFile(dir + "poddisruptionbudget.yaml")
	if err != nil || !strings.Contains(string(pdb), "kind: PodDisruptionBudget") {
		t.Errorf("no PodDisruptionBudget: %v", err)
	}
}

func readYAML(t *testing.T, file string, v any) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

// TestWorkerNeedsPostgres: a worker or an enqueue without a PostgreSQL
// database is a usage error before anything connects; a connection string
// that is not one is refused without being quoted (it may carry a
// password).
func TestWorkerNeedsPostgres(t *testing.T) {
	c := newCLI(t)
	cfg := filepath.Join(c.dir, "nhiscan.yaml")
	writeFile(t, cfg, fmt.Sprintf("catalog: [%q]\nproviders:\n  github:\n    organizations: [acme]\n    token_file: token\n", testdata("catalog.yaml")))
	writeFile(t, filepath.Join(c.dir, "token"), "ghp_notarealtoken\n")
	for _, args := range [][]string{{"worker"}, {"worker", "enqueue"}} {
		code, _, errs := c.run(append(args, "--config", cfg)...)
		if code != exitUsage || !strings.Contains(errs, "fleet.database_file") {
			t.Errorf("%v without PostgreSQL: exit %d\n%s", args, code, errs)
		}
	}
	writeFile(t, filepath.Join(c.dir, "dsn"), "host=db password=hunter2 sslmode=bogus\n")
	writeFile(t, cfg, fmt.Sprintf("catalog: [%q]\nproviders:\n  github:\n    organizations: [acme]\n    token_file: token\nfleet:\n  database_file: dsn\n", testdata("catalog.yaml")))
	code, _, errs := c.run("worker", "enqueue", "--config", cfg)
	if code != exitUsage || strings.Contains(errs, "hunter2") {
		t.Errorf("a bad connection string: exit %d\n%s", code, errs)
	}
}

// TestFleetFinalizeOnce: a finalisation repeated for the same fleet scan
// (its worker died after storing and before the claim committed) stores
// nothing twice; one that collected nothing fails for good.
func TestFleetFinalizeOnce(t *testing.T) {
	c := newCLI(t)
	cfgPath := filepath.Join(c.dir, "nhiscan.yaml")
	writeFile(t, cfgPath, fmt.Sprintf("database: %s\ncatalog: [%q]\n", c.db(), testdata("catalog.yaml")))
	inv, err := readInventory(testdata("scan1.json"))
	if err != nil {
		t.Fatal(err)
	}
	a := &app{stdout: io.Discard, stderr: io.Discard, now: func() time.Time { return c.now }, getenv: func(string) string { return "" }, configPath: cfgPath}
	if err := a.setup(); err != nil {
		t.Fatal(err)
	}
	cfg, err := a.loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	fin := a.fleetFinalize(cfg)
	ctx := context.Background()
	for range 2 {
		if err := fin(ctx, fleet.Scan{ID: 7}, inv); err != nil {
			t.Fatal(err)
		}
	}
	st, err := store.Open(ctx, c.db())
	if err != nil {
		t.Fatal(err)
	}
	scans, err := st.Scans(ctx)
	st.Close()
	if err != nil || len(scans) != 1 || scans[0].Source != "fleet:7" {
		t.Fatalf("stored scans %+v (%v), want one of fleet scan 7", scans, err)
	}
	nothing := nhi.Inventory{Version: nhi.SchemaVersion, CollectedAt: c.now, Scopes: []nhi.Scope{{Provider: nhi.GitHub, ID: "acme"}},
		Gaps: []nhi.Gap{{Provider: nhi.GitHub, Scope: "acme", Source: "collect", Kind: nhi.GapDenied}}}
	if err := fin(ctx, fleet.Scan{ID: 8}, nothing); err == nil || !fleet.IsPermanent(err) {
		t.Errorf("a scan that collected nothing: %v, want a permanent failure", err)
	}
}
