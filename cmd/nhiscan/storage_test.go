//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/internal/store"
)

// Environment of TestCLIHelperProcess.
const (
	cliHelperEnv = "NHISCAN_CLI_HELPER" // "cli", "hold" or "mid-write"
	cliArgsEnv   = "NHISCAN_CLI_ARGS"   // JSON array: the command line ("cli"), or the database path
)

// TestCLIHelperProcess is not a test: the storage tests run the test
// binary again as a second, real nhiscan process. Mode "cli" runs the
// command line in NHISCAN_CLI_ARGS and exits with its code. Modes "hold"
// and "mid-write" open the database the way scan does, begin a scan, say
// "ready <id>" and sleep until killed; "mid-write" also holds a large write
// transaction open, as FinishScan of a big scan does.
func TestCLIHelperProcess(t *testing.T) {
	mode := os.Getenv(cliHelperEnv)
	if mode == "" {
		t.Skip("helper process for the storage tests")
	}
	var args []string
	if err := json.Unmarshal([]byte(os.Getenv(cliArgsEnv)), &args); err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	if mode == "cli" {
		os.Exit(run(context.Background(), args, os.Stdout, os.Stderr))
	}
	holdWriter(mode, args[0])
}

func holdWriter(mode, path string) {
	fail := func(err error) {
		fmt.Println("error", err)
		os.Exit(2)
	}
	ctx := context.Background()
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	a := &app{stdout: io.Discard, stderr: io.Discard, now: func() time.Time { return now }, getenv: os.Getenv}
	st, err := a.openStore(ctx, path)
	if err != nil {
		fail(err)
	}
	id, err := st.BeginScan(ctx, store.ScanMeta{Started: now, ToolVersion: "child", Source: "helper"})
	if err != nil {
		fail(err)
	}
	if mode == "mid-write" {
		db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)&_txlock=immediate")
		if err != nil {
			fail(err)
		}
		tx, err := db.Begin()
		if err != nil {
			fail(err)
		}
		big := bytes.Repeat([]byte("x"), 8<<20)
		if _, err := tx.Exec("INSERT INTO snapshots (scan_id, sha256, inventory) VALUES (?, 'half-written', ?)", id, big); err != nil {
			fail(err)
		}
	}
	fmt.Printf("ready %d\n", id)
	time.Sleep(time.Minute)
	runtime.KeepAlive(st)
	os.Exit(3)
}

// helperCmd is the test binary run as TestCLIHelperProcess in mode with
// args.
func helperCmd(t *testing.T, mode string, args ...string) *exec.Cmd {
	t.Helper()
	j, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCLIHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), cliHelperEnv+"="+mode, cliArgsEnv+"="+string(j), "NHISCAN_CONFIG=", "USER=helper")
	return cmd
}

// startHolder starts a second process that holds the database's writer
// lock with a running scan, and returns once it is ready.
func startHolder(t *testing.T, mode, path string) *exec.Cmd {
	t.Helper()
	cmd := helperCmd(t, mode, path)
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
		cmd.Process.Kill()
		cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case l := <-line:
		if !strings.HasPrefix(l, "ready ") {
			t.Fatalf("holder said %q; stderr: %s", l, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("holder not ready after 30s; stderr: %s", stderr.String())
	}
	return cmd
}

// TestCLISecondWriterIsRefusedAtOnce: while another nhiscan process scans —
// also in the middle of a large write — a second scan, certify, retire and
// export are refused at once with "another scan is running", naming the
// running scan, and write nothing; the reading commands work alongside.
func TestCLISecondWriterIsRefusedAtOnce(t *testing.T) {
	for _, mode := range []string{"hold", "mid-write"} {
		t.Run(mode, func(t *testing.T) {
			c := newCLI(t)
			db := "--db=" + c.db()
			cat := "--catalog=" + testdata("catalog.yaml")
			if code, out, errs := c.run("scan", db, cat, "--inventory", testdata("scan1.json")); code != exitOK {
				t.Fatalf("scan = %d\n%s%s", code, out, errs)
			}
			startHolder(t, mode, c.db())
			for _, args := range [][]string{
				{"scan", db, cat, "--inventory", testdata("scan2.json")},
				{"certify", db, "--by", "grace", "--scan", "1"},
				{"findings", "retire", db, "--provider", "gcp", "--scope", "p1", "--by", "grace", "--reason", "closed"},
				{"export", "evidence", db, "--scan", "1", "--out", filepath.Join(c.dir, "ev")},
			} {
				start := time.Now()
				code, out, errs := c.run(args...)
				if code != exitError || !strings.Contains(errs, "another scan is running: scan 2 started at 2026-11-26T09:00:00") {
					t.Errorf("%v while another process scans: exit %d, want %d naming scan 2\n%s%s", args[:2], code, exitError, out, errs)
				}
				if d := time.Since(start); d > 3*time.Second {
					t.Errorf("%v was refused after %v, want at once", args[:2], d)
				}
			}
			if _, err := os.Stat(filepath.Join(c.dir, "ev")); err == nil {
				t.Error("a refused export wrote its folder")
			}
			code, out, errs := c.run("scans", db)
			if code != exitOK || !strings.Contains(out, "running") {
				t.Errorf("scans alongside a running scan = %d\n%s%s", code, out, errs)
			}
			if code, _, errs := c.run("findings", db); code != exitOK {
				t.Errorf("findings alongside a running scan = %d\n%s", code, errs)
			}
		})
	}
}

// TestCLIStorageErrors: an empty (0-byte) or non-SQLite --db is refused
// (exit 2) by reading and writing commands and never re-created; a damaged
// database is reported as corruption, exit 3, by the command that meets it
// and by audit verify's integrity check.
func TestCLIStorageErrors(t *testing.T) {
	c := newCLI(t)
	cat := "--catalog=" + testdata("catalog.yaml")
	empty := filepath.Join(c.dir, "empty.db")
	writeFile(t, empty, "")
	text := filepath.Join(c.dir, "notes.db")
	writeFile(t, text, "not a database\n")
	for _, tc := range []struct{ db, want string }{
		{empty, "is not an nhiscan database: the file is empty (0 bytes)"},
		{text, "is not an nhiscan database: the file does not start with the SQLite header"},
	} {
		before := snapshotDir(t, c.dir)
		for _, args := range [][]string{
			{"scan", "--db", tc.db, cat, "--inventory", testdata("scan1.json")},
			{"findings", "--db", tc.db},
			{"audit", "verify", "--db", tc.db},
			{"certify", "--db", tc.db, "--by", "grace"},
		} {
			code, _, errs := c.run(args...)
			if code != exitUsage || !strings.Contains(errs, tc.want) {
				t.Errorf("%v: exit %d, want %d saying %q\n%s", args, code, exitUsage, tc.want, errs)
			}
		}
		if after := snapshotDir(t, c.dir); after != before {
			t.Errorf("refused commands wrote files:\nbefore %s\nafter  %s", before, after)
		}
		if fi, err := os.Stat(tc.db); err != nil || (tc.db == empty && fi.Size() != 0) {
			t.Errorf("%s was re-created or removed: %v", tc.db, err)
		}
		for _, suffix := range []string{"-wal", "-shm", ".lock"} {
			if _, err := os.Stat(tc.db + suffix); err == nil {
				t.Errorf("%s%s was created", filepath.Base(tc.db), suffix)
			}
		}
	}

	db := "--db=" + c.db()
	for _, inv := range []string{"scan1.json", "scan2.json"} {
		if code, out, errs := c.run("scan", db, cat, "--inventory", testdata(inv)); code != exitOK {
			t.Fatalf("scan %s = %d\n%s%s", inv, code, out, errs)
		}
	}
	corruptIndex(t, c.db(), "findings_status")
	code, _, errs := c.run("audit", "verify", db)
	if code != exitError || !strings.Contains(errs, "the database is corrupt") || !strings.Contains(errs, "integrity_check") {
		t.Errorf("audit verify of a damaged database: exit %d, want %d reporting corruption\n%s", code, exitError, errs)
	}
	corruptIndex(t, c.db(), "scans")
	for _, args := range [][]string{{"scans", db}, {"scan", db, cat, "--inventory", testdata("scan1.json")}} {
		code, _, errs := c.run(args...)
		if code != exitError || !strings.Contains(errs, "the database is corrupt") {
			t.Errorf("%v on a damaged database: exit %d, want %d reporting corruption\n%s", args, code, exitError, errs)
		}
	}
}

// corruptIndex overwrites the root page of the b-tree name with garbage.
func corruptIndex(t *testing.T, path, name string) {
	t.Helper()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	var root, size int64
	err = raw.QueryRow("SELECT rootpage FROM sqlite_master WHERE name = ?", name).Scan(&root)
	if err == nil {
		err = raw.QueryRow("PRAGMA page_size").Scan(&size)
	}
	raw.Close()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(bytes.Repeat([]byte("\xff\x13"), int(size/2)), (root-1)*size); err != nil {
		t.Fatal(err)
	}
}

// asNobody makes cmd run as nobody when the test runs as root, for whom
// file modes do not apply, copying the test binary where nobody can run
// it; otherwise the modes apply to the test's own user.
func asNobody(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	dir, err := os.MkdirTemp("", "nhiscan-bin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "nhiscan.test")
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd.Path, cmd.Args[0], cmd.Dir = bin, bin, dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
}

// TestCLIReadOnlyArchive: an archived database — file and directory
// read-only — serves findings, diff, scans, report, audit log, audit verify
// (with its evidence pack) and export evidence to another folder, run as a
// real process by a user who cannot write it; nothing in the archive
// changes, and the export says it could not record itself.
func TestCLIReadOnlyArchive(t *testing.T) {
	c := newCLI(t)
	archive := filepath.Join(c.dir, "archive")
	if err := os.Mkdir(archive, 0o755); err != nil {
		t.Fatal(err)
	}
	db := "--db=" + filepath.Join(archive, "nhiscan.db")
	cat := "--catalog=" + testdata("catalog.yaml")
	for _, inv := range []string{"scan1.json", "scan2.json"} {
		if code, out, errs := c.run("scan", db, cat, "--inventory", testdata(inv)); code != exitOK {
			t.Fatalf("scan %s = %d\n%s%s", inv, code, out, errs)
		}
	}
	pack := filepath.Join(archive, "evidence")
	if code, out, errs := c.run("export", "evidence", db, "--scan", "2", "--out", pack); code != exitOK {
		t.Fatalf("export = %d\n%s%s", code, out, errs)
	}
	os.Remove(filepath.Join(archive, "nhiscan.db.lock"))
	out := filepath.Join(c.dir, "out")
	if err := os.Mkdir(out, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(out, 0o777); err != nil { // past the umask
		t.Fatal(err)
	}
	key := filepath.Join(c.dir, "signing.key")
	if code, out, errs := c.run("audit", "keygen", "--out", key); code != exitOK {
		t.Fatalf("keygen = %d\n%s%s", code, out, errs)
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(key, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	readOnlyTree(t, archive)
	if err := os.Chmod(c.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Dir(c.dir), 0o755); err != nil {
		t.Fatal(err)
	}
	before := snapshotTree(t, archive)
	for _, args := range [][]string{
		{"findings", db},
		{"diff", db, "1", "2"},
		{"scans", db, "--coverage"},
		{"report", db, "--out", filepath.Join(out, "report.html")},
		{"audit", "log", db},
		{"audit", "verify", db, "--evidence", pack},
		{"export", "evidence", db, "--scan", "1", "--out", filepath.Join(out, "pack1")},
		{"export", "evidence", db, "--scan", "2", "--out", filepath.Join(out, "signed"), "--key", key},
	} {
		cmd := helperCmd(t, "cli", args...)
		asNobody(t, cmd)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Errorf("%v on a read-only archive: %v\n%s%s", args[:2], err, stdout.String(), stderr.String())
			continue
		}
		if args[0] == "export" && !strings.Contains(stderr.String(), "not recorded in its audit log") {
			t.Errorf("a read-only export does not say it was not recorded:\n%s", stderr.String())
		}
	}
	if after := snapshotTree(t, archive); after != before {
		t.Errorf("reading the archive changed it:\nbefore\n%s\nafter\n%s", before, after)
	}
	// The packs exported from the archive were not recorded in its audit
	// log: the unsigned one does not verify, the signed one does, by its
	// signature.
	code, stdout, errs := c.run("audit", "verify", db, "--evidence", filepath.Join(out, "pack1"))
	if code != exitFindings || !strings.Contains(errs, "no export in this database's audit log recorded") {
		t.Errorf("verify of an unrecorded, unsigned pack = %d\n%s%s", code, stdout, errs)
	}
	code, stdout, errs = c.run("audit", "verify", db, "--evidence", filepath.Join(out, "signed"), "--public-key", key+".pub")
	if code != exitOK || !strings.Contains(stdout, "no export in this audit log recorded it (exported from a read-only copy)") {
		t.Errorf("verify of an unrecorded, signed pack = %d\n%s%s", code, stdout, errs)
	}
}

// readOnlyTree makes every file under dir read-only and every directory
// read-and-search-only, and restores write access when the test ends.
func readOnlyTree(t *testing.T, dir string) {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			dirs = append(dirs, p)
			return nil
		}
		return os.Chmod(p, 0o444)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if err := os.Chmod(d, 0o555); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, d := range dirs {
			os.Chmod(d, 0o755)
		}
	})
}

// snapshotTree lists every file under dir with its size, mode and
// modification time and a hash of its content.
func snapshotTree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		sum := ""
		if !d.IsDir() {
			if sum, err = fileSHA256(p); err != nil {
				return err
			}
		}
		fmt.Fprintf(&b, "%s %d %v %d %s\n", p, fi.Size(), fi.Mode(), fi.ModTime().UnixNano(), sum)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
