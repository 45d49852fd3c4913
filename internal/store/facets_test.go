package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/store"
)

// facetScope is account 111 as a collector that lists its facets reports it.
var facetScope = nhi.Scope{Provider: nhi.AWS, ID: "111111111111", Facets: []nhi.Facet{
	"identities:aws-iam-user", "credentials:aws-access-key", "credentials:aws-service-specific-credential",
	"usage:credential-report", nhi.FacetLogin,
}}

func facetInventory(gaps ...nhi.Gap) nhi.Inventory {
	inv := inventory(gaps...)
	inv.Scopes[2] = facetScope
	return inv
}

var reportDenied = nhi.Gap{Provider: nhi.AWS, Scope: "111111111111", Source: "iam:GetCredentialReport", Kind: nhi.GapDenied,
	Facets: []nhi.Facet{nhi.FacetLogin, "usage:credential-report"}}

// TestNotReevaluatedAcrossScans: a finding whose facet a gap hides is kept,
// marked not re-evaluated with the gap, by every scan that cannot see it;
// the scan that sees it again resolves it and is recorded as the one that
// did. What each scan reported reads back with its own marks.
func TestNotReevaluatedAcrossScans(t *testing.T) {
	ctx := context.Background()
	st, _, _ := newStore(t)
	t1, t2, t3 := t0, t0.Add(24*time.Hour), t0.Add(48*time.Hour)
	mixed := finding("mixed-human-use", nhi.AWS, "111111111111", "AIDAONE", nhi.SevHigh)
	mixed.Facets = []nhi.Facet{"credentials:aws-access-key", nhi.FacetLogin}

	s1 := mustBegin(t, st, t1)
	mustFinish(t, st, s1, t1, facetInventory(), []nhi.Finding{mixed})
	s2 := mustBegin(t, st, t2)
	mustFinish(t, st, s2, t2, facetInventory(reportDenied), nil)

	want := &nhi.Hidden{Facet: nhi.FacetLogin, GapSource: "iam:GetCredentialReport", GapKind: nhi.GapDenied, Why: "iam:GetCredentialReport denied"}
	recs, err := st.Findings(ctx, store.FindingFilter{})
	if err != nil || len(recs) != 1 {
		t.Fatalf("findings = %v, %v", recs, err)
	}
	if r := recs[0]; r.Status != store.FindingOpen || r.ResolvedScanID != 0 || !r.ResolvedAt.IsZero() || !cmp.Equal(want, r.NotReevaluated) {
		t.Errorf("after the gap: status %s, resolved by %d at %v, not re-evaluated %+v", r.Status, r.ResolvedScanID, r.ResolvedAt, r.NotReevaluated)
	}
	if diff := cmp.Diff(mixed.Facets, recs[0].Facets); diff != "" {
		t.Errorf("facets (-want +got):\n%s", diff)
	}
	sc2, err := st.Scan(ctx, s2)
	if err != nil || sc2.Status != store.ScanPartial {
		t.Errorf("scan 2 with a usage and login gap: %s, %v; want partial", sc2.Status, err)
	}

	// The same gap again: kept again, recorded again.
	s3 := mustBegin(t, st, t3)
	mustFinish(t, st, s3, t3, facetInventory(reportDenied), nil)
	// Observed again and gone: resolved by scan 4.
	t4 := t3.Add(24 * time.Hour)
	s4 := mustBegin(t, st, t4)
	mustFinish(t, st, s4, t4, facetInventory(), nil)
	recs, err = st.Findings(ctx, store.FindingFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if r := recs[0]; r.Status != store.FindingResolved || r.ResolvedScanID != s4 || !r.ResolvedAt.Equal(t4) || r.NotReevaluated != nil || !r.LastSeen.Equal(t1) {
		t.Errorf("after the gap closed: %+v", r)
	}

	for _, tc := range []struct {
		scan   int64
		status string
		hidden *nhi.Hidden
		by     int64
	}{{s1, store.FindingOpen, nil, 0}, {s2, store.FindingOpen, want, 0}, {s3, store.FindingOpen, want, 0}, {s4, store.FindingResolved, nil, s4}} {
		got, err := st.ScanFindingRecords(ctx, tc.scan)
		if err != nil || len(got) != 1 {
			t.Fatalf("scan %d records = %v, %v", tc.scan, got, err)
		}
		if r := got[0]; r.Status != tc.status || !cmp.Equal(tc.hidden, r.NotReevaluated) || r.ResolvedScanID != tc.by || r.FirstSeen != t1 {
			t.Errorf("scan %d reported %s, hidden %+v, resolved by %d, first seen %v", tc.scan, r.Status, r.NotReevaluated, r.ResolvedScanID, r.FirstSeen)
		}
	}
	evs, err := st.FindingEvents(ctx, s3)
	if err != nil || len(evs) != 1 || evs[0].Event != store.EventNotReevaluated || !cmp.Equal(want, evs[0].Hidden) {
		t.Errorf("scan 3 events = %+v, %v", evs, err)
	}
	if _, err := st.ScanFindingRecords(ctx, 99); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("records of scan 99: %v, want ErrNotFound", err)
	}
}

// TestCoverageMatrixStored: the scan records its coverage per scope and
// facet; a scan stored before that derives it from its scopes and gaps.
func TestCoverageMatrixStored(t *testing.T) {
	ctx := context.Background()
	st, path, _ := newStore(t)
	ssc := nhi.Gap{Provider: nhi.AWS, Scope: "111111111111", Source: "iam:ListServiceSpecificCredentials", Kind: nhi.GapError,
		Facets: []nhi.Facet{"credentials:aws-service-specific-credential"}}
	s1 := mustBegin(t, st, t0)
	mustFinish(t, st, s1, t0, facetInventory(ssc), nil)
	sc, err := st.Scan(ctx, s1)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range sc.Coverage {
		if c.Scope == "111111111111" {
			got = append(got, string(c.Facet)+" "+c.Why+" "+c.GapSource)
		}
	}
	want := []string{
		"credentials:aws-access-key  ",
		"credentials:aws-service-specific-credential iam:ListServiceSpecificCredentials error iam:ListServiceSpecificCredentials",
		"identities:aws-iam-user  ",
		"login  ",
		"usage:credential-report  ",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("coverage of account 111 (-want +got):\n%s", diff)
	}

	// A scan stored before coverage was recorded.
	if _, err := rawDB(t, path).Exec("UPDATE scans SET coverage = '' WHERE id = ?", s1); err != nil {
		t.Fatal(err)
	}
	sc, err = st.Scan(ctx, s1)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range sc.Coverage {
		if c.Facet == "credentials:aws-service-specific-credential" && !c.Observed && c.GapKind == nhi.GapError {
			return
		}
	}
	t.Errorf("derived coverage lacks the hidden facet: %+v", sc.Coverage)
}

// TestFailedScanIsNeverTheBaseline: a failed scan (and one left running)
// is neither the latest scan drift compares with nor anyone's previous
// scan.
func TestFailedScanIsNeverTheBaseline(t *testing.T) {
	ctx := context.Background()
	st, _, _ := newStore(t)
	s1 := mustBegin(t, st, t0)
	mustFinish(t, st, s1, t0, inventory(), nil)
	s2 := mustBegin(t, st, t0.Add(time.Hour))
	if err := st.FailScan(ctx, s2, "every collector failed", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if l, err := st.LatestScan(ctx); err != nil || l.ID != s1 {
		t.Errorf("latest scan after a failed one = %d, %v; want %d", l.ID, err, s1)
	}
	s3 := mustBegin(t, st, t0.Add(2*time.Hour))
	if l, err := st.LatestScan(ctx); err != nil || l.ID != s1 {
		t.Errorf("latest scan while one runs = %d, %v; want %d", l.ID, err, s1)
	}
	mustFinish(t, st, s3, t0.Add(2*time.Hour), inventory(), nil)
	if p, err := st.PreviousScan(ctx, s3); err != nil || p.ID != s1 {
		t.Errorf("previous of %d = %d, %v; want %d (not the failed %d)", s3, p.ID, err, s1, s2)
	}
	if _, _, err := st.Snapshot(ctx, s2); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("snapshot of the failed scan: %v, want ErrNotFound", err)
	}
}

// TestFinishScanNeedsTheLifecycle: the store moves no finding by itself,
// and refuses transitions that do not match what the scan produced.
func TestFinishScanNeedsTheLifecycle(t *testing.T) {
	ctx := context.Background()
	st, _, _ := newStore(t)
	a := finding("dormant", nhi.AWS, "111111111111", "AIDAONE", nhi.SevHigh)
	id := mustBegin(t, st, t0)
	if err := st.FinishScan(ctx, id, store.FinishInput{Ended: t0, Inventory: inventory(), Findings: []nhi.Finding{a}}); err == nil {
		t.Fatal("finished without a lifecycle function")
	}
	forget := func([]nhi.PriorFinding, []nhi.Finding, *nhi.Coverage) []nhi.Transition { return nil }
	if err := st.FinishScan(ctx, id, store.FinishInput{Ended: t0, Inventory: inventory(), Findings: []nhi.Finding{a}, Lifecycle: forget}); err == nil ||
		!strings.Contains(err.Error(), "transitions") {
		t.Fatalf("a lifecycle that forgot a finding: %v", err)
	}
	// Nothing was stored; the scan still runs and finishes properly.
	mustFinish(t, st, id, t0, inventory(), []nhi.Finding{a})
	if recs, err := st.Findings(ctx, store.FindingFilter{}); err != nil || len(recs) != 1 {
		t.Errorf("findings = %v, %v", recs, err)
	}
}

// TestUpgradeFromSchema2: a database written before facets (migrations 1
// and 2 only) upgrades in place; its findings, which record no facets, are
// resolved only where a scan observed their whole scope.
func TestUpgradeFromSchema2(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db := rawDB(t, path)
	for _, name := range []string{"0001_init.sql", "0002_ownership.sql"} {
		sqlText, err := os.ReadFile(filepath.Join("migrations", name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(string(sqlText)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	stmts := []string{
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`,
		`INSERT INTO schema_migrations VALUES (1, 'init', '2026-01-01T00:00:00.000000000Z'), (2, 'ownership', '2026-01-01T00:00:00.000000000Z')`,
		`INSERT INTO scans (id, status, started, ended, scopes) VALUES (1, 'complete', '2026-01-01T00:00:00.000000000Z', '2026-01-01T00:01:00.000000000Z', '[]')`,
	}
	old := []nhi.Finding{
		finding("dormant", nhi.AWS, "111111111111", "AIDAONE", nhi.SevHigh),
		finding("dormant", nhi.AWS, "222222222222", "AROATWO", nhi.SevHigh),
	}
	for _, f := range old {
		f.Facets = nil
		body, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		stmts = append(stmts, `INSERT INTO findings (fingerprint, status, rule_id, family, severity, severity_rank, provider, scope,
			identity_id, owner, first_seen, last_seen, first_scan_id, last_scan_id, body) VALUES ('`+f.Fingerprint+`', 'open', 'dormant',
			'dormant', 'high', 3, 'aws', '`+f.Scope+`', '`+f.IdentityID+`', '', '2026-01-01T00:00:00.000000000Z',
			'2026-01-01T00:00:00.000000000Z', 1, 1, '`+string(body)+`')`)
	}
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	st := openAt(t, path, &clock{t: t0})
	if v := store.SchemaVersion(); v != 4 {
		t.Fatalf("schema version %d", v)
	}
	// Account 111 has a usage-only gap: its old finding is not
	// re-evaluated; account 222 is complete: its old finding is resolved.
	usage := nhi.Gap{Provider: nhi.AWS, Scope: "111111111111", Source: "iam:GetCredentialReport", Kind: nhi.GapDenied, UsageOnly: true}
	s2 := mustBegin(t, st, t0)
	mustFinish(t, st, s2, t0, inventory(usage), nil)
	recs, err := st.Findings(ctx, store.FindingFilter{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range recs {
		got[r.Scope] = r.Status
		if r.NotReevaluated != nil {
			got[r.Scope] += " (" + r.NotReevaluated.String() + ")"
		}
	}
	want := map[string]string{"111111111111": "open (usage: iam:GetCredentialReport denied)", "222222222222": "resolved"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("old findings after the first scan on schema 3 (-want +got):\n%s", diff)
	}
}
