package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/analyzer"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/store"
	"github.com/nhiscan/nhiscan/internal/synth"
)

// TestStreamedMatchesOneSlice stores three scans of a synthetic
// organisation (drift, a gap, findings coming and going) twice: once with
// the analysis's findings in one slice, once handed on by the analysis
// (analyzer.Input.Findings) straight into BeginFindings. The audit log
// records the same hashes and counts, the findings end with the same
// lifecycle, and the streamed history verifies.
func TestStreamedMatchesOneSlice(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	p := synth.Default(600, now)
	p.Roles, p.People, p.Scopes = 40, 200, 6
	p.Hygiene = 20
	inv1, cat := synth.Generate(p)
	p.Seed = 2
	inv2, _ := synth.Generate(p)
	inv2.Identities = inv2.Identities[:500]
	inv2.Gaps = []nhi.Gap{{Provider: inv2.Scopes[0].Provider, Scope: inv2.Scopes[0].ID, Source: "usage-report", Kind: nhi.GapDenied, UsageOnly: true}}
	invs := []nhi.Inventory{inv1, inv2, inv1}

	slice, _, _ := newStore(t)
	streamed, _, _ := newStore(t)
	for i, inv := range invs {
		at := now.Add(time.Duration(i) * time.Hour)
		var prev *nhi.Inventory
		if i > 0 {
			prev = &invs[i-1]
		}
		in := analyzer.Input{Inventory: inv, Catalog: cat, Previous: prev, Now: at}
		res := analyzer.Analyze(in)
		id := mustBegin(t, slice, at)
		if err := slice.FinishScan(ctx, id, store.FinishInput{Ended: at, Inventory: inv, Findings: res.Findings, Ownership: res.Ownership, Lifecycle: res.Lifecycle}); err != nil {
			t.Fatal(err)
		}
		id = mustBegin(t, streamed, at)
		fw, err := streamed.BeginFindings(ctx, id, &inv, analyzer.Lifecycle)
		if err != nil {
			t.Fatal(err)
		}
		in.Findings = func(fs []nhi.Finding) {
			for lo := 0; lo < len(fs); lo += 7 { // small batches
				if err := fw.Add(fs[lo:min(len(fs), lo+7)]); err != nil {
					t.Fatal(err)
				}
			}
		}
		sres := analyzer.Analyze(in)
		if err := streamed.FinishScan(ctx, id, store.FinishInput{Ended: at, Inventory: inv, Written: fw, Ownership: sres.Ownership, Lifecycle: sres.Lifecycle}); err != nil {
			t.Fatal(err)
		}
		if len(res.Findings) == 0 {
			t.Fatalf("scan %d: no findings to compare", i+1)
		}
	}
	if diff := cmp.Diff(finishDetails(t, slice), finishDetails(t, streamed)); diff != "" {
		t.Errorf("scan.finish entries (-one slice +streamed):\n%s", diff)
	}
	for _, f := range []store.FindingFilter{{}, {Status: store.FindingResolved}} {
		a, b := findingKeys(t, slice, f), findingKeys(t, streamed, f)
		if diff := cmp.Diff(a, b); diff != "" || len(a) == 0 {
			t.Errorf("findings %+v (-one slice +streamed), %d:\n%s", f, len(a), diff)
		}
	}
	rep, err := streamed.VerifyStored(ctx)
	if err != nil || rep.Findings != len(invs) {
		t.Errorf("the streamed history does not verify: %+v, %v", rep, err)
	}
}

// finishDetails lists the details of the scan.finish audit entries.
func finishDetails(t *testing.T, st *store.Store) []map[string]string {
	t.Helper()
	recs, err := st.AuditEntries(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, r := range recs {
		if r.Action == store.ActionScanFinish {
			out = append(out, r.Detail)
		}
	}
	return out
}

// findingKeys lists fingerprint, status, first and last scan and reopen
// count of the findings matching f.
func findingKeys(t *testing.T, st *store.Store, f store.FindingFilter) []string {
	t.Helper()
	recs, err := st.Findings(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		hidden := ""
		if r.NotReevaluated != nil {
			hidden = r.NotReevaluated.String()
		}
		out = append(out, r.Fingerprint+" "+r.Status+" "+r.FirstSeen.String()+" "+r.LastSeen.String()+" "+hidden+" "+
			string(rune('0'+r.Reopened)))
	}
	slices.Sort(out)
	return out
}
