//go:build unix

package store_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/internal/store"
)

// readHelper is the "read" mode of TestHelperProcess: it opens the
// database read-only, reads every kind of record and checks the audit
// chain and the file's integrity, then tries a writer, and prints one line
// for each.
func readHelper(ctx context.Context, path string) {
	st, err := store.OpenConfig(ctx, store.Config{Path: path, ReadOnly: true})
	if err != nil {
		fmt.Println("read error", err)
		os.Exit(2)
	}
	scans, err := st.Scans(ctx)
	if err != nil {
		fmt.Println("read error", err)
		os.Exit(2)
	}
	_, _, err = st.Snapshot(ctx, scans[0].ID)
	n, verr := st.VerifyAudit(ctx)
	fmt.Printf("read scans=%d snapshot=%v audit=%d/%v integrity=%v stored=%v\n", len(scans), err, n, verr, st.IntegrityCheck(ctx), storedErr(st.VerifyStored(ctx)))
	st.Close()
	_, err = store.Open(ctx, path)
	fmt.Printf("write %v\n", err)
}

func storedErr(_ store.StoredReport, err error) error { return err }

// otherUser makes cmd run as nobody when the test runs as root, for whom
// file modes do not apply: it copies the test binary where nobody can run
// it. Without root, modes apply to the test's own user and cmd is left as
// it is.
func otherUser(t *testing.T, cmd *exec.Cmd) {
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
	src, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	bin := filepath.Join(dir, "store.test")
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	dst.Close()
	cmd.Path, cmd.Args[0] = bin, bin
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
}

// listDir names every file in dir with its size and modification time.
func listDir(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %d %v %v\n", e.Name(), fi.Size(), fi.Mode(), fi.ModTime().UnixNano())
	}
	return b.String()
}

// TestReadOnlyDatabaseInReadOnlyDirectory: an archived database — file
// and directory read-only for the reader — is read in full (scans,
// snapshot, audit chain, integrity) without creating, migrating, locking
// or writing anything; a writer is refused by the file system, not by a
// lock or a migration.
func TestReadOnlyDatabaseInReadOnlyDirectory(t *testing.T) {
	st, path, _ := newStore(t)
	id := mustBegin(t, st, t0)
	mustFinish(t, st, id, t0.Add(time.Minute), inventory(), nil)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(path)
	for _, p := range []string{path + ".lock"} {
		os.Remove(p)
	}
	if err := os.Chmod(path, 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	// The temporary directory's parent must be searchable by nobody.
	if err := os.Chmod(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o755) })
	before := listDir(t, dir)

	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperModeEnv+"=read", helperDBEnv+"="+path)
	otherUser(t, cmd)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("reader: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) > 2 && lines[len(lines)-1] == "PASS" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) < 2 || lines[0] != "read scans=1 snapshot=<nil> audit=2/<nil> integrity=<nil> stored=<nil>" {
		t.Errorf("reader of a read-only database said:\n%s", out)
	}
	if w := lines[len(lines)-1]; !strings.HasPrefix(w, "write ") || !strings.Contains(w, "permission denied") {
		t.Errorf("a writer of a read-only database: %q, want refused by the file system", w)
	}
	if after := listDir(t, dir); after != before {
		t.Errorf("reading a read-only database changed its directory:\nbefore\n%safter\n%s", before, after)
	}
}

// TestReaderWritesNothing: a read-only open of a writable database neither
// changes the database file nor takes the lock, nor migrates an older
// schema (ErrSchemaOld); a writer migrates it.
func TestReaderWritesNothing(t *testing.T) {
	ctx := context.Background()
	st, path, c := newStore(t)
	mustFinish(t, st, mustBegin(t, st, t0), t0.Add(time.Minute), inventory(), nil)
	st.Close()
	os.Remove(path + ".lock")
	db, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	r := openReadOnly(t, path, c)
	if _, err := r.Scans(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + ".lock"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a reader made the lock file: %v", err)
	}
	if after, _ := os.ReadFile(path); string(after) != string(db) {
		t.Error("reading changed the database file")
	}
	// A writer opens while the reader is open: readers never hold the lock.
	w := openAt(t, path, c)
	w.Close()
	r.Close()

	// A database of an older schema: a reader refuses it untouched.
	raw := rawDB(t, path)
	if _, err := raw.Exec("DELETE FROM schema_migrations WHERE version >= 4"); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	old, _ := os.ReadFile(path)
	_, err = store.OpenConfig(ctx, store.Config{Path: path, ReadOnly: true})
	if !errors.Is(err, store.ErrSchemaOld) || !strings.Contains(err.Error(), "version 3") {
		t.Fatalf("read-only open of an older schema: %v, want ErrSchemaOld naming version 3", err)
	}
	if after, _ := os.ReadFile(path); string(after) != string(old) {
		t.Error("a refused read-only open changed the database file")
	}
}
