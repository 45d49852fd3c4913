//go:build unix

package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// A lock held briefly with no running scan (another process's Open
// recovering interrupted scans) delays BeginScan instead of failing it; one
// held for good fails it with ErrScanRunning.
func TestBeginScanWaitsOutABriefLockHolder(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

	held, err := tryLock(st.lockPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tryLock(st.lockPath); !errors.Is(err, errLocked) {
		t.Fatalf("second flock in the same process: %v, want errLocked", err)
	}
	_, err = st.BeginScan(ctx, ScanMeta{Started: now})
	if !errors.Is(err, ErrScanRunning) {
		t.Fatalf("BeginScan under a held lock: %v, want ErrScanRunning", err)
	}

	go func() {
		time.Sleep(200 * time.Millisecond)
		held.unlock()
	}()
	id, err := st.BeginScan(ctx, ScanMeta{Started: now})
	if err != nil {
		t.Fatalf("BeginScan after a brief holder: %v", err)
	}
	if err := st.FailScan(ctx, id, "test", now); err != nil {
		t.Fatal(err)
	}
}
