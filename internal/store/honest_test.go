package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/store"
)

// TestOpenRefusesWhatIsNotAnNhiscanDatabase: an empty file, a text file, a
// directory, another program's SQLite database and an SQLite database with
// no tables are refused by writers and readers alike, with ErrNotDatabase
// and a message that says which, and are left exactly as they were: nothing
// is ever created over an existing file.
func TestOpenRefusesWhatIsNotAnNhiscanDatabase(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	foreign := filepath.Join(dir, "places.sqlite")
	db := rawDB(t, foreign)
	if _, err := db.Exec("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	bare := filepath.Join(dir, "bare.sqlite")
	db = rawDB(t, bare)
	if _, err := db.Exec("PRAGMA user_version = 7"); err != nil { // writes the header page, no table
		t.Fatal(err)
	}
	db.Close()
	for name, content := range map[string]string{"empty.db": "", "notes.txt": "meeting notes, not a database\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "folder.db"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ file, want string }{
		{"empty.db", "the file is empty (0 bytes)"},
		{"notes.txt", "does not start with the SQLite header"},
		{"folder.db", "not a regular file"},
		{"places.sqlite", "SQLite database of another program"},
		{"bare.sqlite", "without nhiscan's schema"},
	} {
		path := filepath.Join(dir, tc.file)
		before := snapshotFile(t, path)
		for _, ro := range []bool{false, true} {
			_, err := store.OpenConfig(ctx, store.Config{Path: path, ReadOnly: ro})
			if !errors.Is(err, store.ErrNotDatabase) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s (read-only %v): %v; want ErrNotDatabase saying %q", tc.file, ro, err, tc.want)
			}
		}
		if after := snapshotFile(t, path); after != before {
			t.Errorf("%s was changed by the refused opens", tc.file)
		}
		for _, suffix := range []string{"-wal", "-shm", "-journal", ".lock"} {
			if _, err := os.Stat(path + suffix); err == nil {
				t.Errorf("%s%s was created", tc.file, suffix)
			}
		}
	}
}

func snapshotFile(t *testing.T, path string) string {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.IsDir() {
		return "dir"
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestNewDatabaseAppearsComplete: a new database is made under a temporary
// name and appears complete; nothing else is left in the directory, and a
// reader refuses a path with no database rather than creating one.
func TestNewDatabaseAppearsComplete(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "new.db")
	if _, err := store.OpenConfig(ctx, store.Config{Path: path, ReadOnly: true}); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("read-only open of a missing database: %v, want not exist", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("a refused reader left %v", ents)
	}
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), "new.db") || strings.Contains(e.Name(), ".new-") {
			t.Errorf("creating the database left %s", e.Name())
		}
		names = append(names, e.Name())
	}
	if ms, err := st.Migrations(ctx); err != nil || len(ms) != store.SchemaVersion() {
		t.Errorf("new database has %d migrations (%v), want %d; files %v", len(ms), err, store.SchemaVersion(), names)
	}
}

// corruptPage overwrites most of the page holding the root of the b-tree
// name (a table or an index) with garbage.
func corruptPage(t *testing.T, path, name string) {
	t.Helper()
	db := rawDB(t, path)
	var root, size int64
	if err := db.QueryRow("SELECT rootpage FROM sqlite_master WHERE name = ?", name).Scan(&root); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("PRAGMA page_size").Scan(&size); err != nil {
		t.Fatal(err)
	}
	db.Close()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	garbage := []byte(strings.Repeat("\xff\x13", int(size/2)))
	if _, err := f.WriteAt(garbage, (root-1)*size); err != nil {
		t.Fatal(err)
	}
}

// TestCorruptDatabaseIsReportedAsCorruption: a damaged page is reported as
// corruption (ErrDatabaseCorrupt, store.Corrupt), never as something else
// and never repaired by re-creating the file: by the quick check a writer
// runs after an unclean shutdown, by IntegrityCheck, and by any query that
// reads the page.
func TestCorruptDatabaseIsReportedAsCorruption(t *testing.T) {
	ctx := context.Background()
	st, path, c := newStore(t)
	for i := 0; i < 3; i++ {
		at := t0.Add(time.Duration(i) * time.Hour)
		mustFinish(t, st, mustBegin(t, st, at), at.Add(time.Minute), inventory(), []nhi.Finding{
			finding("dormant", nhi.AWS, "111111111111", "AIDAONE", nhi.SevHigh),
			finding("orphaned", nhi.GitHub, "acme", "deploy-key:9", nhi.SevCritical),
		})
	}
	st.Close()

	// An index page is damaged, and a scan was left running: the writer's
	// quick check after the unclean shutdown finds it.
	raw := rawDB(t, path)
	if _, err := raw.Exec("INSERT INTO scans (status, started) VALUES ('running', '2026-03-02T00:00:00Z')"); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	corruptPage(t, path, "findings_status")
	_, err := store.OpenConfig(ctx, store.Config{Path: path, Now: c.now})
	if !errors.Is(err, store.ErrDatabaseCorrupt) || !store.Corrupt(err) || !strings.Contains(err.Error(), "unclean shutdown (a scan left running)") {
		t.Fatalf("writer open after an unclean shutdown of a damaged database: %v, want ErrDatabaseCorrupt", err)
	}
	r := openReadOnly(t, path, c)
	if err := r.IntegrityCheck(ctx); !errors.Is(err, store.ErrDatabaseCorrupt) {
		t.Errorf("IntegrityCheck of a damaged database: %v, want ErrDatabaseCorrupt", err)
	}
	r.Close()

	// A table page is damaged: the query that reads it says corruption.
	corruptPage(t, path, "scans")
	r2, err := store.OpenConfig(ctx, store.Config{Path: path, Now: c.now, ReadOnly: true})
	if err == nil {
		_, err = r2.Scans(ctx)
		r2.Close()
	}
	if !store.Corrupt(err) {
		t.Errorf("reading a damaged table: %v, want corruption", err)
	}
	if _, err := store.OpenConfig(ctx, store.Config{Path: path, Now: c.now}); !store.Corrupt(err) {
		t.Errorf("writer open of a damaged table: %v, want corruption", err)
	}
}
