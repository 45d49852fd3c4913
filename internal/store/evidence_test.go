package store_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/reports"
)

// TestEvidenceOfStoredScans: a scan stored with no identities, with one,
// and with the demo-like estate of the four collectors' golden inventories
// exports an evidence pack from its snapshot that verifies, and whose
// snapshot.json is exactly the stored snapshot (the hash the audit log
// recorded).
func TestEvidenceOfStoredScans(t *testing.T) {
	ctx := context.Background()
	var demo []nhi.Inventory
	for _, p := range nhi.Providers {
		f, err := os.Open(filepath.Join("..", "..", "collectors", string(p), "testdata", "golden-inventory.json"))
		if err != nil {
			t.Fatal(err)
		}
		inv, err := nhi.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		demo = append(demo, inv)
	}
	one := inventory()
	one.Identities = one.Identities[:1]
	for name, inv := range map[string]nhi.Inventory{
		"empty":       {Version: nhi.SchemaVersion, CollectedAt: t0},
		"empty lists": {Version: nhi.SchemaVersion, CollectedAt: t0, Scopes: []nhi.Scope{}, Identities: []nhi.Identity{}},
		"one":         one,
		"demo-like":   nhi.Merge(demo...),
	} {
		t.Run(name, func(t *testing.T) {
			st, _, _ := newStore(t)
			id := mustBegin(t, st, t0)
			mustFinish(t, st, id, t0.Add(time.Minute), inv, nil)
			snap, sum, err := st.Snapshot(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			sc, err := st.Scan(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(t.TempDir(), "pack")
			in := reports.Input{Scan: reports.Scan{ID: id, Started: sc.Started, Ended: sc.Ended, Status: string(sc.Status), SnapshotHash: sum},
				Inventory: snap}
			m, err := reports.WriteEvidence(dir, in, t0)
			if err != nil {
				t.Fatalf("export: %v", err)
			}
			if err := reports.VerifyEvidence(dir); err != nil {
				t.Fatalf("verify: %v", err)
			}
			if m.SnapshotSHA256 != sc.InventorySHA256 || m.Totals.Identities != len(inv.Identities) {
				t.Errorf("pack snapshot %s with %d identities; scan recorded %s, %d identities", m.SnapshotSHA256, m.Totals.Identities, sc.InventorySHA256, len(inv.Identities))
			}
		})
	}
}
