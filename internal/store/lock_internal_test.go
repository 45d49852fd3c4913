//go:build unix

package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A writer takes the single-writer lock before anything else: while another
// holder has it, Open fails at once with ErrScanRunning and creates
// nothing — no database file, no migration.
func TestWriterTakesTheLockBeforeCreatingOrMigrating(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "x.db")
	held, err := tryLock(path + ".lock")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tryLock(path + ".lock"); !errors.Is(err, errLocked) {
		t.Fatalf("second flock in the same process: %v, want errLocked", err)
	}
	start := time.Now()
	_, err = Open(ctx, path)
	if !errors.Is(err, ErrScanRunning) {
		t.Fatalf("Open under a held lock: %v, want ErrScanRunning", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Open under a held lock took %v, want at once", d)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open under a held lock created the database: %v", err)
	}
	ents, _ := os.ReadDir(filepath.Dir(path))
	for _, e := range ents {
		if e.Name() != "x.db.lock" {
			t.Errorf("Open under a held lock left %s behind", e.Name())
		}
	}

	held.unlock()
	st, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open after the holder let go: %v", err)
	}
	defer st.Close()
	if st.lock == nil {
		t.Fatal("a writer Store does not hold the lock")
	}
	if _, err := tryLock(path + ".lock"); !errors.Is(err, errLocked) {
		t.Fatalf("the lock is free while a writer Store is open: %v", err)
	}
}
