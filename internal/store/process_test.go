//go:build unix

package store_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/store"
)

const (
	helperModeEnv = "NHISCAN_STORE_HELPER"
	helperDBEnv   = "NHISCAN_STORE_DB"
)

// childStart is the start time of the helper's scan.
var childStart = t0.Add(72 * time.Hour)

// TestHelperProcess is not a test: the process tests run the test binary
// again as a child that opens the store, begins a scan, says "ready <id>" on
// stdout and sleeps mid-scan until it is killed. In mode "mid-write" it also
// has a large write transaction open (snapshot and findings of its scan,
// status complete) that was never committed. In mode "read" it reads the
// database read-only and reports what it read (see readHelper).
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperModeEnv)
	if mode == "" {
		t.Skip("helper process for the process tests")
	}
	fail := func(err error) {
		fmt.Println("error", err)
		os.Exit(2)
	}
	ctx := context.Background()
	path := os.Getenv(helperDBEnv)
	if mode == "read" {
		readHelper(ctx, path)
		return
	}
	st, err := store.OpenConfig(ctx, store.Config{Path: path, Now: func() time.Time { return childStart }})
	if err != nil {
		fail(err)
	}
	id, err := st.BeginScan(ctx, store.ScanMeta{Started: childStart, ToolVersion: "child", Source: "helper"})
	if err != nil {
		fail(err)
	}
	if mode == "mid-write" {
		var db *sql.DB
		if store.IsPostgres(path) {
			db, err = store.RawPostgres(path)
		} else {
			db, err = sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)&_txlock=immediate")
		}
		if err != nil {
			fail(err)
		}
		tx, err := db.Begin()
		if err != nil {
			fail(err)
		}
		// 8 MiB is well past the page cache, so SQLite spills uncommitted
		// pages into the WAL before the kill.
		big := bytes.Repeat([]byte("x"), 8<<20)
		stmts := []struct {
			q    string
			args []any
		}{
			{"INSERT INTO snapshots (scan_id, sha256, inventory) VALUES (?, 'half-written', ?)", []any{id, big}},
			{"INSERT INTO scan_findings (scan_id, fingerprint, body) VALUES (?, 'fp-half', '{}')", []any{id}},
			{"UPDATE scans SET status = 'complete' WHERE id = ?", []any{id}},
		}
		for _, s := range stmts {
			if _, err := tx.Exec(s.q, s.args...); err != nil {
				fail(err)
			}
		}
	}
	fmt.Printf("ready %d\n", id)
	time.Sleep(time.Minute)
	// The Store holds the single-writer lock: keep it reachable, or the
	// collector may close its lock file mid-sleep.
	runtime.KeepAlive(st)
	os.Exit(3) // never reached: the parent kills us first
}

// startHelper starts the helper process and waits for its ready line. It
// returns the command and the id of the scan the child began.
func startHelper(t *testing.T, mode, path string) (*exec.Cmd, int64) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperModeEnv+"="+mode, helperDBEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case l := <-line:
		id, err := strconv.ParseInt(strings.TrimPrefix(l, "ready "), 10, 64)
		if !strings.HasPrefix(l, "ready ") || err != nil {
			t.Fatalf("helper said %q; stderr: %s", l, stderr.String())
		}
		return cmd, id
	case <-time.After(30 * time.Second):
		t.Fatalf("helper not ready after 30s; stderr: %s", stderr.String())
	}
	return nil, 0
}

// kill9 sends SIGKILL and checks the child died of it.
func kill9(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die of SIGKILL: %v", cmd.ProcessState)
	}
}

// openAfterKill opens a writer after kill9. On PostgreSQL the server ends
// the killed process's session, releasing its advisory lock, as soon as it
// sees the connection closed: a moment after the process is gone.
func openAfterKill(t *testing.T, path string, c *clock) *store.Store {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := store.OpenConfig(context.Background(), store.Config{Path: path, Now: c.now})
		if err == nil {
			t.Cleanup(func() { st.Close() })
			return st
		}
		if !onPostgres(t) || !errors.Is(err, store.ErrScanRunning) || time.Now().After(deadline) {
			t.Fatalf("open after the kill: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSecondWriterInAnotherProcess: while another process scans — also
// while it is in the middle of a large write transaction — a second writer
// gets ErrScanRunning at once, naming the running scan, and creates or
// migrates nothing; a reader opens alongside without touching that scan.
// Once the scan's process dies, the next writer marks it interrupted.
func TestSecondWriterInAnotherProcess(t *testing.T) {
	for _, mode := range []string{"hold", "mid-write"} {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			st, path, c := newStore(t)
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			cmd, childID := startHelper(t, mode, path)

			start := time.Now()
			_, err := store.OpenConfig(ctx, store.Config{Path: path, Now: c.now})
			wantMsg := fmt.Sprintf("another scan is running: scan %d started at %s", childID, childStart.Format("2006-01-02T15:04:05.000000000Z07:00"))
			if !errors.Is(err, store.ErrScanRunning) || !strings.Contains(err.Error(), wantMsg) {
				t.Fatalf("a second writer while another process scans: %v; want ErrScanRunning naming %q", err, wantMsg)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("the second writer was refused after %v, want at once", d)
			}
			reader := openReadOnly(t, path, c)
			if sc, _ := reader.Scan(ctx, childID); sc.Status != store.ScanRunning {
				t.Fatalf("child's scan became %s when a reader opened", sc.Status)
			}
			reader.Close()

			kill9(t, cmd)
			c.t = t0.Add(100 * time.Hour)
			st = openAfterKill(t, path, c)
			id := mustBegin(t, st, c.t)
			if id != childID+1 {
				t.Errorf("new scan id = %d, want %d", id, childID+1)
			}
			sc, err := st.Scan(ctx, childID)
			if err != nil {
				t.Fatal(err)
			}
			if sc.Status != store.ScanFailed || sc.Reason != store.ReasonInterrupted || sc.Ended != c.t {
				t.Errorf("killed child's scan = %s %q ended %v; want failed, interrupted, %v", sc.Status, sc.Reason, sc.Ended, c.t)
			}
		})
	}
}

func TestKill9MidScanLeavesDatabaseConsistent(t *testing.T) {
	ctx := context.Background()
	st, path, c := newStore(t)

	// Two earlier scans: one complete, one partial.
	a := finding("dormant", nhi.AWS, "111111111111", "AIDAONE", nhi.SevHigh)
	d := finding("orphaned", nhi.GitHub, "acme", "deploy-key:9", nhi.SevCritical)
	s1 := mustBegin(t, st, t0)
	mustFinish(t, st, s1, t0.Add(time.Minute), inventory(), []nhi.Finding{a, d})
	s2 := mustBegin(t, st, t0.Add(24*time.Hour))
	mustFinish(t, st, s2, t0.Add(25*time.Hour), inventory(nhi.Gap{Provider: nhi.AWS, Source: "iam:ListUsers", Kind: nhi.GapThrottled}), []nhi.Finding{a})
	before, err := st.Scans(ctx)
	if err != nil {
		t.Fatal(err)
	}
	beforeFindings, err := st.Findings(ctx, store.FindingFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	cmd, childID := startHelper(t, "mid-write", path)
	if fi, err := os.Stat(path + "-wal"); err == nil {
		t.Logf("WAL holds %d bytes at the kill", fi.Size())
	}
	kill9(t, cmd)

	c.t = t0.Add(100 * time.Hour)
	st2 := openAfterKill(t, path, c)
	if err := st2.IntegrityCheck(ctx); err != nil && !(onPostgres(t) && errors.Is(err, store.ErrIntegrityNotChecked)) {
		t.Fatal(err)
	}
	after, err := st2.Scans(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != 3 || after[0].ID != childID {
		t.Fatalf("scans after the kill: %+v", after)
	}
	want := store.Scan{ID: childID, Status: store.ScanFailed, Started: childStart, Ended: c.t,
		ToolVersion: "child", Source: "helper", Reason: store.ReasonInterrupted}
	if diff := cmp.Diff(want, after[0]); diff != "" {
		t.Errorf("interrupted scan (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, after[1:]); diff != "" {
		t.Errorf("earlier scans changed (-before +after):\n%s", diff)
	}
	afterFindings, err := st2.Findings(ctx, store.FindingFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(beforeFindings, afterFindings); diff != "" {
		t.Errorf("finding lifecycle changed (-before +after):\n%s", diff)
	}
	for _, s := range before {
		inv, sum, err := st2.Snapshot(ctx, s.ID)
		if err != nil || sum != s.InventorySHA256 || inv.Hash() != sum {
			t.Errorf("snapshot of scan %d: %v (hash %s, recorded %s)", s.ID, err, sum, s.InventorySHA256)
		}
	}
	if _, _, err := st2.Snapshot(ctx, childID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("uncommitted snapshot of the killed scan: %v, want ErrNotFound", err)
	}
	if fs, err := st2.ScanFindings(ctx, childID); err != nil || len(fs) != 0 {
		t.Errorf("uncommitted findings of the killed scan: %v %v", fs, err)
	}
	if latest, err := st2.LatestScan(ctx); err != nil || latest.ID != s2 {
		t.Errorf("latest scan = %d, %v; want %d", latest.ID, err, s2)
	}

	n, err := st2.VerifyAudit(ctx)
	if err != nil {
		t.Fatalf("audit after the kill: %v", err)
	}
	recs, err := st2.AuditEntries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	last := recs[n-1]
	if last.Action != store.ActionScanInterrupted || last.Subject != fmt.Sprintf("scan:%d", childID) || last.At != c.t {
		t.Errorf("last audit entry = %+v, want the interruption of scan %d", last, childID)
	}

	id := mustBegin(t, st2, c.t)
	mustFinish(t, st2, id, c.t.Add(time.Minute), inventory(), []nhi.Finding{a})
	if id != childID+1 {
		t.Errorf("new scan id = %d, want %d", id, childID+1)
	}
}
