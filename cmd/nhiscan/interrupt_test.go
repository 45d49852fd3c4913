package main

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/store"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

// gapOnCancel is a collector that, like the real ones, turns a cancelled
// call into a gap and returns no error.
type gapOnCancel struct {
	p       nhi.Provider
	scope   string
	waitFor bool // wait for cancellation before answering
}

func (c gapOnCancel) Provider() nhi.Provider { return c.p }

func (c gapOnCancel) Collect(ctx context.Context) (nhi.Inventory, error) {
	inv := nhi.Inventory{Version: nhi.SchemaVersion, CollectedAt: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC),
		Scopes: []nhi.Scope{{Provider: c.p, ID: c.scope}}}
	if c.waitFor {
		<-ctx.Done()
		inv.Gaps = []nhi.Gap{{Provider: c.p, Scope: c.scope, Source: "list", Kind: nhi.GapTimeout, Detail: ctx.Err().Error()}}
	}
	return inv, nil
}

// TestInterruptedCollectionFailsTheScan: Ctrl-C during collection fails the
// scan, with a reason that says so, even though each collector turned the
// cancellation into a gap rather than an error.
func TestInterruptedCollectionFailsTheScan(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(dir, "nhiscan.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	a := &app{stdout: io.Discard, stderr: io.Discard, now: func() time.Time { return now }, getenv: func(string) string { return "" },
		log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	a.prog = a.newProgress()
	cat, err := catalog.Load(now, testdata("catalog.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cs := []collectors.Collector{gapOnCancel{p: nhi.AWS, scope: "111111111111"}, gapOnCancel{p: nhi.GitHub, scope: "acme", waitFor: true}}
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	_, err = a.scanOnce(ctx, st, cat, now, "test", a.collectAll(cs))
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("scanOnce after cancel = %v, want an interrupted error", err)
	}
	scans, err := st.Scans(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(scans) != 1 || scans[0].Status != store.ScanFailed {
		t.Errorf("scans after an interrupted collection: %+v, want one failed scan", scans)
	}
}
