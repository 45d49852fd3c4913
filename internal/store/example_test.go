package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/nhiscan/nhiscan/analyzer"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/store"
)

func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "nhiscan-example")
	defer os.RemoveAll(dir)
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	st, err := store.OpenConfig(ctx, store.Config{Path: filepath.Join(dir, store.DefaultPath), Now: func() time.Time { return now }})
	if err != nil {
		fmt.Println(err) // errors.Is(err, store.ErrScanRunning) when another process writes
		return
	}
	defer st.Close()

	id, err := st.BeginScan(ctx, store.ScanMeta{Started: now, ToolVersion: "v0.1.0", CatalogHash: "c0ffee", Source: "cli"})
	if err != nil {
		fmt.Println(err)
		return
	}
	inv := nhi.Inventory{Version: nhi.SchemaVersion, CollectedAt: now, Scopes: []nhi.Scope{{Provider: nhi.AWS, ID: "111111111111"}}}
	f := nhi.Finding{Fingerprint: nhi.Fingerprint("dormant", "aws:AIDAX", "", ""), RuleID: "dormant", Family: nhi.FamilyDormant,
		Severity: nhi.SevHigh, Provider: nhi.AWS, Scope: "111111111111", IdentityID: "aws:AIDAX"}
	if err := st.FinishScan(ctx, id, store.FinishInput{Ended: now.Add(time.Minute), Inventory: inv, Findings: []nhi.Finding{f}, Lifecycle: analyzer.Lifecycle}); err != nil {
		fmt.Println(err)
		return
	}

	open, _ := st.Findings(ctx, store.FindingFilter{Status: store.FindingOpen, MinSeverity: nhi.SevMedium})
	for _, r := range open {
		fmt.Println(r.RuleID, r.IdentityID, r.Status, r.FirstSeen.Format(time.RFC3339))
	}
	n, err := st.VerifyAudit(ctx)
	fmt.Println("audit entries verified:", n, err)
	rep, err := st.VerifyStored(ctx)
	fmt.Println("snapshots as recorded:", rep.Snapshots, err)
	// Output:
	// dormant aws:AIDAX open 2026-03-01T10:00:00Z
	// audit entries verified: 2 <nil>
	// snapshots as recorded: 1 <nil>
}
