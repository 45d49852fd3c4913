//go:build unix

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nhiscan/nhiscan/collectors/aws/awsfake"
	"github.com/nhiscan/nhiscan/collectors/github/githubfake"
	"github.com/nhiscan/nhiscan/internal/fleet/fleettest"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/store"
)

const (
	workerHelperArgs = "NHISCAN_WORKER_HELPER_ARGS"
	workerHelperNow  = "NHISCAN_WORKER_HELPER_NOW"
)

// TestWorkerHelperProcess is not a test: TestWorkerFleet runs the test
// binary again as `nhiscan worker` replicas, with the arguments in
// NHISCAN_WORKER_HELPER_ARGS (separated by newlines) and the demo's clock.
func TestWorkerHelperProcess(t *testing.T) {
	args := os.Getenv(workerHelperArgs)
	if args == "" {
		t.Skip("helper process for TestWorkerFleet")
	}
	now, err := time.Parse(time.RFC3339, os.Getenv(workerHelperNow))
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	a := &app{stdout: os.Stderr, stderr: os.Stderr, now: func() time.Time { return now }, getenv: func(string) string { return "" }}
	os.Exit(a.run(ctx, strings.Split(args, "\n")))
}

// fleetOrg is the demo's AWS organisation and GitHub organisations behind
// in-process fakes, a configuration that reaches them, and a PostgreSQL
// database for the fleet's jobs and the store its scans are finalised into.
type fleetOrg struct {
	c    *cli
	aws  *awsfake.Server
	gh   *githubfake.Server
	cfg  string
	dsn  string
	pool *pgxpool.Pool
}

func newFleetOrg(t *testing.T, fleetExtra string) *fleetOrg {
	t.Helper()
	dsn := fleettest.Database(t)
	o := &fleetOrg{c: newCLI(t), dsn: dsn}
	c := o.c
	// The fake's clock is the test's, so the single-process and the fleet
	// scans read the same tracking windows and report times.
	seed := awsfake.Demo(c.now)
	seed.Now = func() time.Time { return c.now }
	o.aws = awsfake.New(seed)
	t.Cleanup(o.aws.Close)
	o.gh = githubfake.New(githubfake.Demo(c.now))
	t.Cleanup(o.gh.Close)
	o.gh.SetNow(func() time.Time { return c.now })
	creds, err := o.gh.WriteCredentials(c.dir)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(c.dir, "aws-credentials"), fmt.Sprintf("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n",
		awsfake.BaseAccessKeyID, awsfake.BaseSecretAccessKey))
	writeFile(t, filepath.Join(c.dir, "postgres-dsn"), dsn+"\n")
	o.cfg = filepath.Join(c.dir, "nhiscan.yaml")
	writeFile(t, o.cfg, fmt.Sprintf(`
database_file: postgres-dsn
catalog: [%q]
providers:
  aws:
    organization: true
    role_name: %s
    region: us-east-1
    endpoint: %s
    shared_credentials_file: aws-credentials
  github:
    organizations: [%s, %s]
    base_url: %s/
    token_file: %s
fleet:
  database_file: postgres-dsn
  concurrency: 2
  job_timeout: 10s
  rescue_after: 10s
  max_attempts: 5
%s`, testdata("catalog.yaml"), awsfake.DemoRoleName, o.aws.URL, githubfake.DemoOrg, githubfake.DemoLabsOrg, o.gh.URL, filepath.Base(creds.TokenFile), fleetExtra))
	o.pool, err = pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(o.pool.Close)
	return o
}

// startWorker starts one `nhiscan worker` process.
func (o *fleetOrg) startWorker(t *testing.T) *exec.Cmd {
	t.Helper()
	return o.startProcess(t, "worker", "--config", o.cfg)
}

// startProcess starts one nhiscan process with args.
func (o *fleetOrg) startProcess(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestWorkerHelperProcess$", "-test.count=1")
	cmd.Dir = o.c.dir
	cmd.Env = append(os.Environ(), workerHelperArgs+"="+strings.Join(args, "\n"),
		workerHelperNow+"="+o.c.now.Format(time.RFC3339))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() {
			t.Logf("worker %d stderr:\n%s", cmd.Process.Pid, lastLines(stderr.String(), 30))
		}
	})
	return cmd
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// fleetScan reads a fleet scan's state.
func (o *fleetOrg) fleetScan(t *testing.T, id int64) (state string, parts, gaps int) {
	t.Helper()
	err := o.pool.QueryRow(context.Background(), `SELECT state, (SELECT count(*) FROM fleet_parts WHERE scan_id = $1),
		(SELECT count(*) FROM fleet_parts WHERE scan_id = $1 AND gap) FROM fleet_scans WHERE id = $1`, id).Scan(&state, &parts, &gaps)
	if err != nil {
		t.Fatal(err)
	}
	return state, parts, gaps
}

var enqueuedRE = regexp.MustCompile(`fleet scan (\d+) enqueued`)

// TestWorkerFleet: three `nhiscan worker` processes share a scan of the
// demo's AWS accounts and GitHub organisations against PostgreSQL; the
// calls are slowed so that jobs run for a while, and one worker is killed
// (SIGKILL) while it holds a collect job. River hands the job to another
// worker; the scan is finalised exactly once, and its inventory is the
// one a single-process scan of the same organisation stores.
func TestWorkerFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three worker processes and waits for River's rescuer")
	}
	o := newFleetOrg(t, "")
	c := o.c
	ref := filepath.Join(c.dir, "single.db")
	if code, out, errs := c.run("scan", "--config", o.cfg, "--db", ref); code != exitOK && code != exitFindings {
		t.Fatalf("single-process scan = %d\n%s%s", code, out, errs)
	}

	o.aws.SetLatency(40 * time.Millisecond)
	o.gh.SetLatency(40 * time.Millisecond)
	workers := map[int]*exec.Cmd{}
	for range 3 {
		w := o.startWorker(t)
		workers[w.Process.Pid] = w
	}
	code, out, errs := c.run("worker", "enqueue", "--config", o.cfg)
	m := enqueuedRE.FindStringSubmatch(out)
	if code != exitOK || m == nil {
		t.Fatalf("enqueue = %d\n%s%s", code, out, errs)
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)

	victim, job := o.killHolder(t, workers)
	t.Logf("killed worker %d holding collect job %d", victim, job)

	deadline := time.Now().Add(3 * time.Minute)
	state := ""
	for time.Now().Before(deadline) {
		if state, _, _ = o.fleetScan(t, id); state == "finalized" || state == "failed" {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	state, parts, gaps := o.fleetScan(t, id)
	if state != "finalized" || gaps != 0 {
		t.Fatalf("fleet scan %d: %s with %d part(s), %d gap(s)\n%s", id, state, parts, gaps, o.jobErrors(t))
	}
	t.Logf("fleet scan %d finalised from %d part(s)", id, parts)
	var by string
	if err := o.pool.QueryRow(context.Background(), `SELECT p.worker FROM fleet_parts p JOIN river_job j
		ON p.scan_id = (j.args->>'scan_id')::bigint AND p.provider = j.args->>'provider' AND p.scope = j.args->>'scope'
		WHERE j.id = $1`, job).Scan(&by); err != nil || strings.HasSuffix(by, fmt.Sprintf(":%d", victim)) {
		t.Errorf("the killed worker's scope was recorded by %q (%v), want another worker", by, err)
	}
	var attempts int
	if err := o.pool.QueryRow(context.Background(), "SELECT attempt FROM river_job WHERE id = $1", job).Scan(&attempts); err != nil || attempts < 2 {
		t.Errorf("the killed worker's job ran %d time(s) (%v): it was not retried", attempts, err)
	}
	time.Sleep(time.Second) // a second finalisation would land now
	o.compare(t, id, ref)
	code, out, errs = c.run("worker", "scans", "--config", o.cfg)
	if code != exitOK || !strings.Contains(out, "finalized") || !strings.Contains(out, "5/5") {
		t.Errorf("worker scans = %d\n%s%s", code, out, errs)
	}
}

// jobErrors lists the fleet's jobs that failed an attempt, with their
// errors, for a failure message.
func (o *fleetOrg) jobErrors(t *testing.T) string {
	rows, err := o.pool.Query(context.Background(), `SELECT id, kind, state, attempt, errors::text FROM river_job
		WHERE errors IS NOT NULL OR state NOT IN ('completed') ORDER BY id`)
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var (
			id, attempt       int64
			kind, state, errs string
		)
		if err := rows.Scan(&id, &kind, &state, &attempt, &errs); err != nil {
			return err.Error()
		}
		fmt.Fprintf(&b, "job %d %s %s attempt %d: %s\n", id, kind, state, attempt, lastLines(errs, 5))
	}
	return b.String()
}

// killHolder waits until a worker holds a running collect job and kills
// it; it returns the worker's pid and the job.
func (o *fleetOrg) killHolder(t *testing.T, workers map[int]*exec.Cmd) (int, int64) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		var (
			job int64
			by  string
		)
		err := o.pool.QueryRow(context.Background(), `SELECT id, attempted_by[array_length(attempted_by, 1)] FROM river_job
			WHERE kind = 'collect_scope' AND state = 'running' ORDER BY id LIMIT 1`).Scan(&job, &by)
		if err == nil {
			pid, _ := strconv.Atoi(by[strings.LastIndex(by, ":")+1:])
			w := workers[pid]
			if w == nil {
				t.Fatalf("job %d held by %q, not one of the workers", job, by)
			}
			if err := w.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			_ = w.Wait()
			return pid, job
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("no worker ever held a collect job")
	return 0, 0
}

// compare checks that the fleet scan was stored once and that its
// inventory is the single-process scan's.
func (o *fleetOrg) compare(t *testing.T, id int64, ref string) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, o.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	scans, err := st.Scans(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var stored []store.Scan
	for _, s := range scans {
		if s.Source == fleetSource(id) {
			stored = append(stored, s)
		}
	}
	if len(stored) != 1 || stored[0].Status == store.ScanFailed {
		t.Fatalf("fleet scan %d stored %d time(s): %+v", id, len(stored), stored)
	}
	got, _, err := st.Snapshot(ctx, stored[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := store.Open(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	want, _, err := rs.Snapshot(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fleet inventory: %d identities in %d scopes, %d gap(s)", len(got.Identities), len(got.Scopes), len(got.Gaps))
	if len(got.Identities) == 0 {
		t.Fatal("the fleet scan stored no identity")
	}
	if d := cmp.Diff(want, got, cmpopts.IgnoreFields(nhi.Inventory{}, "CollectedAt"), cmpopts.EquateEmpty()); d != "" {
		t.Errorf("fleet inventory differs from the single-process scan (-single +fleet):\n%s", d)
	}
}

// TestWorkerFleetSchedule: three `nhiscan worker` processes with a
// schedule firing every three seconds: each fire is one scan (River's
// leader inserts it; its slot is unique), and each scan is stored once.
func TestWorkerFleetSchedule(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three worker processes")
	}
	o := newFleetOrg(t, "  schedules: [\"*/3 * * * * *\"]\n")
	start := time.Now()
	for range 3 {
		o.startWorker(t)
	}
	time.Sleep(10 * time.Second)
	ctx := context.Background()
	var ids []int64
	rows, err := o.pool.Query(ctx, "SELECT id FROM fleet_scans WHERE trigger LIKE 'schedule:%' ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if len(ids) < 2 {
		t.Fatalf("%d scheduled scans in 10 s of a schedule every 3 s", len(ids))
	}
	deadline := time.Now().Add(2 * time.Minute)
	for _, id := range ids {
		for {
			state, _, _ := o.fleetScan(t, id)
			if state == "finalized" {
				break
			}
			if state == "failed" || time.Now().After(deadline) {
				t.Fatalf("scheduled fleet scan %d: %s", id, state)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	var fires, slots int
	if err := o.pool.QueryRow(ctx, "SELECT count(*), count(DISTINCT args->>'slot') FROM river_job WHERE kind = 'scheduled_scan'").Scan(&fires, &slots); err != nil {
		t.Fatal(err)
	}
	if max := int(time.Since(start)/(3*time.Second)) + 1; fires != slots || fires > max {
		t.Errorf("%d fires for %d slots in %s, want one per slot and at most %d", fires, slots, time.Since(start).Round(time.Second), max)
	}
	st, err := store.Open(ctx, o.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	scans, err := st.Scans(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]int{}
	for _, s := range scans {
		if s.Status != store.ScanFailed {
			stored[s.Source]++
		}
	}
	for _, id := range ids {
		if n := stored[fleetSource(id)]; n != 1 {
			t.Errorf("scheduled fleet scan %d stored %d time(s)", id, n)
		}
	}
	t.Logf("%d fires, %d scans checked", fires, len(ids))
}

// TestServeJoinsTheFleet: with a fleet section, nhiscan serve is a replica
// of the fleet. It holds the history's writer lock for its whole life, so a
// worker that would finalise a scan leaves it (snoozed, no attempt spent)
// and serve finalises it into its own store: stored once, as a
// single-process scan stores it.
func TestServeJoinsTheFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nhiscan serve and a worker process")
	}
	o := newFleetOrg(t, "")
	c := o.c
	ref := filepath.Join(c.dir, "single.db")
	if code, out, errs := c.run("scan", "--config", o.cfg, "--db", ref); code != exitOK && code != exitFindings {
		t.Fatalf("single-process scan = %d\n%s%s", code, out, errs)
	}
	// serve works on an existing history.
	if code, out, errs := c.run("scan", "--config", o.cfg); code != exitOK && code != exitFindings {
		t.Fatalf("first scan into PostgreSQL = %d\n%s%s", code, out, errs)
	}
	serve := o.startProcess(t, "serve", "--config", o.cfg, "--listen", "127.0.0.1:0")
	for start := time.Now(); ; time.Sleep(100 * time.Millisecond) {
		st, err := store.Open(context.Background(), o.dsn)
		if errors.Is(err, store.ErrScanRunning) {
			break // serve holds the writer lock
		}
		if err == nil {
			st.Close()
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("serve never took the store: %v", err)
		}
	}
	o.startWorker(t)
	code, out, errs := c.run("worker", "enqueue", "--config", o.cfg)
	m := enqueuedRE.FindStringSubmatch(out)
	if code != exitOK || m == nil {
		t.Fatalf("enqueue = %d\n%s%s", code, out, errs)
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	deadline := time.Now().Add(3 * time.Minute)
	state := ""
	for time.Now().Before(deadline) {
		if state, _, _ = o.fleetScan(t, id); state == "finalized" || state == "failed" {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if state != "finalized" {
		t.Fatalf("fleet scan %d: %s\n%s", id, state, o.jobErrors(t))
	}
	// serve holds the store; stop it before reading the history.
	if err := serve.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := serve.Wait(); err != nil {
		t.Errorf("serve after SIGTERM: %v", err)
	}
	o.compare(t, id, ref)
}
