package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/config"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/store"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

// serviceEnv is a service over a fresh store with a configuration file.
type serviceEnv struct {
	t    *testing.T
	dir  string
	a    *app
	st   *store.Store
	svc  *service
	logs *syncBuffer
}

const serviceConfig = `database: %DB%
catalog: [%CATALOG%]
log_format: json
schedules:
  grace: 0s
  jobs:
    - name: every-second-scan
      cron: "@every 1s"
      job: scan
`

func newServiceEnv(t *testing.T, cs ...collectors.Collector) *serviceEnv {
	t.Helper()
	dir := t.TempDir()
	db := filepath.Join(dir, "nhiscan.db")
	conf := filepath.Join(dir, "nhiscan.yaml")
	mustWrite(t, conf, strings.NewReplacer("%DB%", db, "%CATALOG%", testdata("catalog.yaml")).Replace(serviceConfig))
	logs := &syncBuffer{}
	a := &app{stdout: io.Discard, stderr: logs, now: time.Now, getenv: func(string) string { return "" }, configPath: conf, verbose: true}
	if err := a.setLogger("json", "test"); err != nil {
		t.Fatal(err)
	}
	a.logFormat = "json"
	a.prog = a.newProgress()
	cfg, err := a.loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	cat, err := a.loadCatalog(cfg, nil, a.now())
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := a.newService(context.Background(), st, cfg, cat)
	if err != nil {
		t.Fatal(err)
	}
	svc.collectors = func(*app, config.Config, *catalog.Catalog) ([]collectors.Collector, error) { return cs, nil }
	return &serviceEnv{t: t, dir: dir, a: a, st: st, svc: svc, logs: logs}
}

// staticCollector returns testdata/scan1.json.
type staticCollector struct{}

func (staticCollector) Provider() nhi.Provider { return nhi.AWS }

func (staticCollector) Collect(context.Context) (nhi.Inventory, error) {
	return readInventory(testdata("scan1.json"))
}

// TestServiceScanJobMetricsAndScanIDLogs: a scheduled scan runs over the
// service's store; /metrics then shows it, and every log line of the
// scan, from the moment it began, carries its scan_id.
func TestServiceScanJobMetricsAndScanIDLogs(t *testing.T) {
	e := newServiceEnv(t, staticCollector{})
	mux := http.NewServeMux()
	e.svc.healthHandlers(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	if err := e.svc.runner(e.svc.cfg.Schedules.Jobs[0])(context.Background()); err != nil {
		t.Fatal(err)
	}
	scans, err := e.st.Scans(context.Background())
	if err != nil || len(scans) != 1 || scans[0].Status == store.ScanFailed {
		t.Fatalf("scans = %+v, %v", scans, err)
	}
	body := get(t, srv.URL+"/metrics")
	for _, want := range []string{
		`nhiscan_scans_total{result="` + string(scans[0].Status) + `"} 1`,
		"nhiscan_scan_duration_seconds_count{result=",
		"# TYPE nhiscan_last_complete_scan_timestamp_seconds gauge",
		"# TYPE nhiscan_catalog_identities gauge",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if got := get(t, srv.URL+"/readyz"); got != "ready\n" {
		t.Errorf("/readyz = %q", got)
	}
	// JSON logs: from "collecting" on, every line names the scan.
	began := false
	sc := bufio.NewScanner(strings.NewReader(e.logs.String()))
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", sc.Text())
		}
		if rec["msg"] == "collecting" {
			began = true
		}
		if began && rec["scan_id"] != float64(scans[0].ID) {
			t.Errorf("log line without scan_id %d: %s", scans[0].ID, sc.Text())
		}
	}
	if !began {
		t.Errorf("no collection logged:\n%s", e.logs)
	}
}

// TestServiceShutdownMidScanMarksTheScan: SIGTERM (the context ending)
// while a scheduled scan collects: after the grace (0 here) the scan is
// cancelled, stored as failed "collection interrupted", and the job's run
// recorded as interrupted; Run returns.
func TestServiceShutdownMidScanMarksTheScan(t *testing.T) {
	e := newServiceEnv(t, gapOnCancel{p: nhi.AWS, scope: "111111111111", waitFor: true})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.svc.run(ctx, nil, nil) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		scans, _ := e.st.Scans(context.Background())
		if len(scans) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the scheduled scan did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the service did not stop")
	}
	scans, err := e.st.Scans(context.Background())
	if err != nil || len(scans) != 1 || scans[0].Status != store.ScanFailed || !strings.Contains(scans[0].Reason, "interrupted") {
		t.Fatalf("scans after shutdown = %+v, %v; want one failed, interrupted", scans, err)
	}
	r, ok, err := e.st.LastScheduleRun(context.Background(), "every-second-scan")
	if err != nil || !ok || r.Status != store.RunInterrupted || !r.OKSlot.IsZero() {
		t.Errorf("schedule run = %+v, %v, %v; want interrupted, never ok", r, ok, err)
	}
}

// TestServiceReloadKeepsTheOldOnError: SIGHUP with a broken configuration
// or catalog keeps the ones in force (and says so on /readyz); a good one
// replaces the jobs.
func TestServiceReloadKeepsTheOldOnError(t *testing.T) {
	e := newServiceEnv(t, staticCollector{})
	mux := http.NewServeMux()
	e.svc.healthHandlers(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hup := make(chan os.Signal, 1)
	go func() { _ = e.svc.run(ctx, hup, nil) }()

	conf := e.a.configPath
	good, _ := os.ReadFile(conf)
	before := e.svc.sched.Jobs()
	badCatalog := filepath.Join(e.dir, "bad-catalog.yaml")
	mustWrite(t, badCatalog, "roles: [\n")
	for name, content := range map[string]string{
		"bad yaml":        string(good) + "  - name: x\n    cron: \"61 * * * *\"\n    job: scan\n",
		"unknown key":     string(good) + "surprise: true\n",
		"bad catalog":     strings.Replace(string(good), testdata("catalog.yaml"), badCatalog, 1),
		"another databas": strings.Replace(string(good), filepath.Join(e.dir, "nhiscan.db"), filepath.Join(e.dir, "other.db"), 1),
	} {
		mustWrite(t, conf, content)
		if err := e.svc.reload(ctx, nil); err == nil {
			t.Errorf("%s: reload accepted", name)
		}
		if jobs := e.svc.sched.Jobs(); len(jobs) != len(before) || jobs[0].Name != before[0].Name {
			t.Errorf("%s: jobs changed to %v", name, jobs)
		}
		if cfg, cat, _ := e.svc.current(); cfg.Schedules.Jobs[0].Name != "every-second-scan" || cat == nil {
			t.Errorf("%s: configuration in force changed", name)
		}
		if got := get(t, srv.URL+"/readyz"); !strings.Contains(got, "last reload failed") {
			t.Errorf("%s: /readyz = %q", name, got)
		}
	}
	mustWrite(t, conf, strings.Replace(string(good), "every-second-scan", "nightly", 1))
	hup <- os.Interrupt // any signal value: the channel is the trigger
	deadline := time.Now().Add(5 * time.Second)
	for e.svc.sched.Jobs()[0].Name != "nightly" {
		if time.Now().After(deadline) {
			t.Fatalf("a good reload did not replace the jobs: %v", e.svc.sched.Jobs())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := get(t, srv.URL+"/readyz"); got != "ready\n" {
		t.Errorf("/readyz after a good reload = %q", got)
	}
}

func get(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestServeSchedulesOnly: serve with schedules and no review page serves
// /healthz, /readyz and /metrics, and stops cleanly on interrupt.
func TestServeSchedulesOnly(t *testing.T) {
	c := newCLI(t)
	db := "--db=" + c.db()
	if code, out, errs := c.run("scan", db, "--catalog="+testdata("catalog.yaml"), "--inventory", testdata("scan1.json")); code != exitOK {
		t.Fatalf("scan = %d\n%s%s", code, out, errs)
	}
	conf := filepath.Join(c.dir, "nhiscan.yaml")
	mustWrite(t, conf, "catalog: ["+testdata("catalog.yaml")+"]\nschedules:\n  jobs:\n    - {name: weekly-remind, cron: \"0 8 * * 1\", job: campaign-remind}\n")
	r := c.start("serve", db, "--config", conf, "--listen", "127.0.0.1:0")
	if got := get(t, r.addr+"/healthz"); got != "ok\n" {
		t.Errorf("/healthz = %q", got)
	}
	if got := get(t, r.addr+"/readyz"); got != "ready\n" {
		t.Errorf("/readyz = %q", got)
	}
	body := get(t, r.addr+"/metrics")
	for _, want := range []string{"nhiscan_last_complete_scan_timestamp_seconds ", `nhiscan_open_findings{family="orphaned"`, "go_goroutines"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if code := r.wait(t); code != exitOK {
		t.Errorf("serve exit %d\n%s%s", code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout.String(), "1 scheduled job(s)") {
		t.Errorf("stdout: %s", r.stdout)
	}
}
