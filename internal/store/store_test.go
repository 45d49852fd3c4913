package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/nhiscan/nhiscan/analyzer"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/store"
)

// clock is an injected time source the test moves by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 123456789, time.UTC)

func openAt(tb testing.TB, path string, c *clock) *store.Store {
	tb.Helper()
	st, err := store.OpenConfig(context.Background(), store.Config{Path: path, Now: c.now})
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// openReadOnly opens the database at path read-only.
func openReadOnly(tb testing.TB, path string, c *clock) *store.Store {
	tb.Helper()
	st, err := store.OpenConfig(context.Background(), store.Config{Path: path, Now: c.now, ReadOnly: true})
	if err != nil {
		tb.Fatalf("open read-only: %v", err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

func newStore(tb testing.TB) (*store.Store, string, *clock) {
	tb.Helper()
	path := newPath(tb)
	c := &clock{t: t0}
	return openAt(tb, path, c), path, c
}

func identity(p nhi.Provider, kind nhi.IdentityKind, scope, native string) nhi.Identity {
	return nhi.Identity{
		ID: nhi.MakeID(p, native), Provider: p, Kind: kind, NativeID: native, Name: "name-" + native,
		Scope: scope, Status: nhi.StatusActive, Usage: nhi.Usage{State: nhi.UsageNeverUsed},
		Created: time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600)),
	}
}

func inventory(gaps ...nhi.Gap) nhi.Inventory {
	return nhi.Inventory{
		Version:     nhi.SchemaVersion,
		CollectedAt: t0,
		Scopes: []nhi.Scope{
			{Provider: nhi.GitHub, ID: "acme"},
			{Provider: nhi.AWS, ID: "222222222222"},
			{Provider: nhi.AWS, ID: "111111111111"},
		},
		Identities: []nhi.Identity{
			identity(nhi.GitHub, nhi.KindGitHubDeployKey, "acme", "deploy-key:9"),
			identity(nhi.AWS, nhi.KindAWSUser, "111111111111", "AIDAONE"),
			identity(nhi.AWS, nhi.KindAWSRole, "222222222222", "AROATWO"),
		},
		Gaps: gaps,
	}
}

func finding(rule string, p nhi.Provider, scope, native string, sev nhi.Severity) nhi.Finding {
	id := nhi.MakeID(p, native)
	return nhi.Finding{
		Fingerprint: nhi.Fingerprint(rule, id, "", ""), RuleID: rule, Family: nhi.FamilyDormant, Severity: sev,
		Title: rule + " on " + native, Provider: p, Scope: scope, IdentityID: id, IdentityName: "name-" + native,
		Owner: "alice@example.com", Evidence: nhi.EvidenceOf(map[string]string{"days": "120", "threshold": "90"}),
		Controls: []string{"SOC2 CC6.2"}, Facets: []nhi.Facet{nhi.FacetIdentities},
	}
}

func suppressed(f nhi.Finding) nhi.Finding {
	f.Suppressed, f.Exception = true, "EXC-1"
	f.ExceptionExpires = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	return f
}

func mustBegin(tb testing.TB, st *store.Store, at time.Time) int64 {
	tb.Helper()
	id, err := st.BeginScan(context.Background(), store.ScanMeta{Started: at, ToolVersion: "v0.1.0", CatalogHash: "cat123", Source: "test"})
	if err != nil {
		tb.Fatalf("begin scan: %v", err)
	}
	return id
}

func mustFinish(tb testing.TB, st *store.Store, id int64, at time.Time, inv nhi.Inventory, fs []nhi.Finding) {
	tb.Helper()
	if finishStreamed {
		streamFinish(tb, st, id, at, inv, fs)
		return
	}
	if err := st.FinishScan(context.Background(), id, store.FinishInput{Ended: at, Inventory: inv, Findings: fs, Lifecycle: analyzer.Lifecycle}); err != nil {
		tb.Fatalf("finish scan %d: %v", id, err)
	}
}

func TestOpenMigratesOnceAndReopens(t *testing.T) {
	ctx := context.Background()
	st, path, c := newStore(t)
	want := []store.Migration{{Version: 1, Name: "init", AppliedAt: t0}, {Version: 2, Name: "ownership", AppliedAt: t0},
		{Version: 3, Name: "facets", AppliedAt: t0}, {Version: 4, Name: "immutable", AppliedAt: t0},
		{Version: 5, Name: "campaigns", AppliedAt: t0}, {Version: 6, Name: "revoke", AppliedAt: t0},
		{Version: 7, Name: "schedule", AppliedAt: t0}}
	got, err := st.Migrations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("migrations (-want +got):\n%s", diff)
	}
	if store.SchemaVersion() != 7 {
		t.Fatalf("SchemaVersion = %d", store.SchemaVersion())
	}
	if err := st.PutETag(ctx, "k", "W/\"1\"", []byte("body")); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	c.t = t0.Add(time.Hour)
	st2 := openAt(t, path, c)
	got, err = st2.Migrations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("re-open applied migrations again (-want +got):\n%s", diff)
	}
	if etag, _, ok, err := st2.GetETag(ctx, "k"); err != nil || !ok || etag != "W/\"1\"" {
		t.Fatalf("data lost across re-open: %q %v %v", etag, ok, err)
	}

	if onPostgres(t) {
		return
	}
	db := rawDB(t, path)
	for pragma, want := range map[string]string{"journal_mode": "wal"} {
		var v string
		if err := db.QueryRow("PRAGMA " + pragma).Scan(&v); err != nil {
			t.Fatal(err)
		}
		if v != want {
			t.Errorf("PRAGMA %s = %q, want %q", pragma, v, want)
		}
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	st, path, c := newStore(t)
	st.Close()
	db := rawDB(t, path)
	if _, err := db.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', '2030-01-01T00:00:00Z')"); err != nil {
		t.Fatal(err)
	}
	_, err := store.OpenConfig(context.Background(), store.Config{Path: path, Now: c.now})
	if !errors.Is(err, store.ErrSchemaTooNew) {
		t.Fatalf("open: got %v, want ErrSchemaTooNew", err)
	}
	if !strings.Contains(err.Error(), "version 99") {
		t.Errorf("error does not name the version: %v", err)
	}
}

func TestOpenRejectsQueryInPath(t *testing.T) {
	_, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "x.db?mode=ro"))
	if err == nil {
		t.Fatal("open accepted a path with '?'")
	}
}

// lifecycle describes the expected state of one finding after a scan.
type lifecycle struct {
	Status     string
	FirstSeen  time.Time
	LastSeen   time.Time
	ResolvedAt time.Time
	Reopened   int
	Suppressed bool
}

func lifecycles(tb testing.TB, st *store.Store) map[string]lifecycle {
	tb.Helper()
	recs, err := st.Findings(context.Background(), store.FindingFilter{})
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]lifecycle{}
	for _, r := range recs {
		out[r.RuleID+"/"+r.IdentityID] = lifecycle{r.Status, r.FirstSeen, r.LastSeen, r.ResolvedAt, r.Reopened, r.Suppressed}
	}
	return out
}

func events(tb testing.TB, st *store.Store, scanID int64, names map[string]string) []string {
	tb.Helper()
	evs, err := st.FindingEvents(context.Background(), scanID)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, names[e.Fingerprint]+" "+e.Event)
	}
	return out
}

func TestFindingLifecycleAcrossScans(t *testing.T) {
	ctx := context.Background()
	st, _, _ := newStore(t)
	t1, t2, t3 := t0, t0.Add(24*time.Hour), t0.Add(48*time.Hour)

	a := finding("dormant", nhi.AWS, "111111111111", "AIDAONE", nhi.SevHigh)
	b := finding("long-lived-key", nhi.AWS, "111111111111", "AIDAONE", nhi.SevMedium)
	c := suppressed(finding("dormant", nhi.AWS, "222222222222", "AROATWO", nhi.SevLow))
	d := finding("orphaned", nhi.GitHub, "acme", "deploy-key:9", nhi.SevCritical)
	e := finding("unmapped", nhi.GitHub, "acme", "deploy-key:9", nhi.SevInfo)
	names := map[string]string{a.Fingerprint: "A", b.Fingerprint: "B", c.Fingerprint: "C", d.Fingerprint: "D", e.Fingerprint: "E"}
	key := func(f nhi.Finding) string { return f.RuleID + "/" + f.IdentityID }

	// Scan 1: everything is new.
	inv1 := inventory()
	s1 := mustBegin(t, st, t1)
	fs1 := []nhi.Finding{d, c, b, a}
	mustFinish(t, st, s1, t1.Add(time.Minute), inv1, fs1)
	want := map[string]lifecycle{
		key(a): {store.FindingOpen, t1, t1, time.Time{}, 0, false},
		key(b): {store.FindingOpen, t1, t1, time.Time{}, 0, false},
		key(c): {store.FindingSuppressed, t1, t1, time.Time{}, 0, true},
		key(d): {store.FindingOpen, t1, t1, time.Time{}, 0, false},
	}
	if diff := cmp.Diff(want, lifecycles(t, st)); diff != "" {
		t.Fatalf("after scan 1 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"A new", "B new", "C new", "C suppressed", "D new"},
		sortedStrings(events(t, st, s1, names))); diff != "" {
		t.Errorf("scan 1 events (-want +got):\n%s", diff)
	}

	// Scan 2: AWS account 222 is partial (C must stay, not re-evaluated),
	// GitHub has only a usage gap (D, which rests on the identity list, is
	// really gone), B is now excepted, E is new.
	inv2 := inventory(
		nhi.Gap{Provider: nhi.AWS, Scope: "222222222222", Source: "iam:ListRoles", Kind: nhi.GapDenied},
		nhi.Gap{Provider: nhi.GitHub, Scope: "acme", Source: "audit-log", Kind: nhi.GapDenied, UsageOnly: true},
	)
	s2 := mustBegin(t, st, t2)
	mustFinish(t, st, s2, t2.Add(time.Minute), inv2, []nhi.Finding{a, suppressed(b), e})
	want = map[string]lifecycle{
		key(a): {store.FindingOpen, t1, t2, time.Time{}, 0, false},
		key(b): {store.FindingSuppressed, t1, t2, time.Time{}, 0, true},
		key(c): {store.FindingSuppressed, t1, t1, time.Time{}, 0, true},
		key(d): {store.FindingResolved, t1, t1, t2, 0, false},
		key(e): {store.FindingOpen, t2, t2, time.Time{}, 0, false},
	}
	if diff := cmp.Diff(want, lifecycles(t, st)); diff != "" {
		t.Fatalf("after scan 2 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"B suppressed", "C not-reevaluated", "D resolved", "E new"}, sortedStrings(events(t, st, s2, names))); diff != "" {
		t.Errorf("scan 2 events (-want +got):\n%s", diff)
	}
	hidden := map[string]string{}
	recs2, err := st.Findings(ctx, store.FindingFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs2 {
		if r.NotReevaluated != nil {
			hidden[names[r.Fingerprint]] = r.NotReevaluated.String()
		}
		if names[r.Fingerprint] == "D" && r.ResolvedScanID != s2 {
			t.Errorf("D resolved by scan %d, want %d", r.ResolvedScanID, s2)
		}
	}
	if diff := cmp.Diff(map[string]string{"C": "identities: iam:ListRoles denied"}, hidden); diff != "" {
		t.Errorf("not re-evaluated after scan 2 (-want +got):\n%s", diff)
	}

	// Scan 3: complete again. D comes back (reopened), B's exception is
	// gone, C and E are no longer produced and are resolved.
	s3 := mustBegin(t, st, t3)
	mustFinish(t, st, s3, t3.Add(time.Minute), inventory(), []nhi.Finding{a, b, d})
	want = map[string]lifecycle{
		key(a): {store.FindingOpen, t1, t3, time.Time{}, 0, false},
		key(b): {store.FindingOpen, t1, t3, time.Time{}, 0, false},
		key(c): {store.FindingResolved, t1, t1, t3, 0, true},
		key(d): {store.FindingOpen, t1, t3, time.Time{}, 1, false},
		key(e): {store.FindingResolved, t2, t2, t3, 0, false},
	}
	if diff := cmp.Diff(want, lifecycles(t, st)); diff != "" {
		t.Fatalf("after scan 3 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"B unsuppressed", "C resolved", "D reopened", "E resolved"}, sortedStrings(events(t, st, s3, names))); diff != "" {
		t.Errorf("scan 3 events (-want +got):\n%s", diff)
	}
	recs, err := st.Findings(ctx, store.FindingFilter{RuleID: "orphaned"})
	if err != nil || len(recs) != 1 {
		t.Fatalf("orphaned findings: %v %v", recs, err)
	}
	if recs[0].ReopenedAt != t3 || recs[0].FirstScanID != s1 || recs[0].LastScanID != s3 {
		t.Errorf("reopened record: at %v, scans %d..%d", recs[0].ReopenedAt, recs[0].FirstScanID, recs[0].LastScanID)
	}

	// Past scans read back exactly, in the stable order.
	got1, err := st.ScanFindings(ctx, s1)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]nhi.Finding{d, a, b, c}, got1); diff != "" {
		t.Errorf("scan 1 findings (-want +got):\n%s", diff)
	}
	inv, sum, err := st.Snapshot(ctx, s2)
	if err != nil {
		t.Fatal(err)
	}
	norm := inventory(inv2.Gaps...)
	norm.Normalize()
	if diff := cmp.Diff(norm, inv); diff != "" {
		t.Errorf("snapshot 2 (-want +got):\n%s", diff)
	}
	if sum != inv2.Hash() {
		t.Errorf("snapshot hash %s, want inv.Hash() %s", sum, inv2.Hash())
	}

	// Scan records.
	scans, err := st.Scans(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	var statuses []store.ScanStatus
	for _, s := range scans {
		ids = append(ids, s.ID)
		statuses = append(statuses, s.Status)
	}
	if diff := cmp.Diff([]int64{s3, s2, s1}, ids); diff != "" {
		t.Errorf("scan order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]store.ScanStatus{store.ScanComplete, store.ScanPartial, store.ScanComplete}, statuses); diff != "" {
		t.Errorf("scan statuses (-want +got):\n%s", diff)
	}
	sc2, err := st.Scan(ctx, s2)
	if err != nil {
		t.Fatal(err)
	}
	wantScan := store.Scan{
		ID: s2, Status: store.ScanPartial, Started: t2, Ended: t2.Add(time.Minute), ToolVersion: "v0.1.0",
		CatalogHash: "cat123", Source: "test", Scopes: norm.Scopes, Gaps: norm.Gaps, InventorySHA256: inv2.Hash(),
		Identities: 3, Findings: 3,
	}
	if diff := cmp.Diff(wantScan, sc2, cmpopts.IgnoreFields(store.Scan{}, "Coverage")); diff != "" {
		t.Errorf("scan 2 (-want +got):\n%s", diff)
	}
	if l, err := st.LatestScan(ctx); err != nil || l.ID != s3 {
		t.Errorf("latest scan = %d, %v; want %d", l.ID, err, s3)
	}
	if p, err := st.PreviousScan(ctx, s3); err != nil || p.ID != s2 {
		t.Errorf("previous of %d = %d, %v; want %d", s3, p.ID, err, s2)
	}
	if _, err := st.PreviousScan(ctx, s1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("previous of first scan: %v, want ErrNotFound", err)
	}
	if _, err := st.Scan(ctx, 99); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("scan 99: %v, want ErrNotFound", err)
	}
}

func sortedStrings(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

func TestFindingsFilter(t *testing.T) {
	ctx := context.Background()
	st, _, _ := newStore(t)
	a := finding("dormant", nhi.AWS, "111111111111", "AIDAONE", nhi.SevHigh)
	b := finding("long-lived-key", nhi.AWS, "111111111111", "AIDAONE", nhi.SevMedium)
	b.Family, b.Owner = nhi.FamilyLongLived, "bob@example.com"
	c := suppressed(finding("dormant", nhi.AWS, "222222222222", "AROATWO", nhi.SevLow))
	d := finding("orphaned", nhi.GitHub, "acme", "deploy-key:9", nhi.SevCritical)
	id := mustBegin(t, st, t0)
	mustFinish(t, st, id, t0, inventory(), []nhi.Finding{a, b, c, d})

	fps := func(f store.FindingFilter) []string {
		t.Helper()
		recs, err := st.Findings(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range recs {
			out = append(out, r.RuleID+"/"+r.Scope)
		}
		return out
	}
	tests := []struct {
		name string
		f    store.FindingFilter
		want []string
	}{
		{"all, most severe first", store.FindingFilter{}, []string{"orphaned/acme", "dormant/111111111111", "long-lived-key/111111111111", "dormant/222222222222"}},
		{"open", store.FindingFilter{Status: store.FindingOpen}, []string{"orphaned/acme", "dormant/111111111111", "long-lived-key/111111111111"}},
		{"suppressed", store.FindingFilter{Status: store.FindingSuppressed}, []string{"dormant/222222222222"}},
		{"family", store.FindingFilter{Family: nhi.FamilyLongLived}, []string{"long-lived-key/111111111111"}},
		{"rule", store.FindingFilter{RuleID: "dormant"}, []string{"dormant/111111111111", "dormant/222222222222"}},
		{"owner", store.FindingFilter{Owner: "bob@example.com"}, []string{"long-lived-key/111111111111"}},
		{"provider", store.FindingFilter{Provider: "github"}, []string{"orphaned/acme"}},
		{"min severity", store.FindingFilter{MinSeverity: nhi.SevHigh}, []string{"orphaned/acme", "dormant/111111111111"}},
		{"combined", store.FindingFilter{Provider: "aws", MinSeverity: nhi.SevMedium, Status: store.FindingOpen}, []string{"dormant/111111111111", "long-lived-key/111111111111"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, fps(tt.f)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if _, err := st.Findings(ctx, store.FindingFilter{Status: "gone"}); err == nil {
		t.Error("unknown status accepted")
	}
	if _, err := st.Findings(ctx, store.FindingFilter{MinSeverity: "huge"}); err == nil {
		t.Error("unknown severity accepted")
	}
}

func TestFinishScanRejectsDuplicateFingerprintAndKeepsScanRunning(t *testing.T) {
	ctx := context.Background()
	st, _, c := newStore(t)
	a := finding("dormant", nhi.AWS, "111111111111", "AIDAONE", nhi.SevHigh)
	id := mustBegin(t, st, t0)
	err := st.FinishScan(ctx, id, store.FinishInput{Ended: t0, Inventory: inventory(), Findings: []nhi.Finding{a, a}, Lifecycle: analyzer.Lifecycle})
	if err == nil || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("finish with a duplicate: %v", err)
	}
	sc, _ := st.Scan(ctx, id)
	if sc.Status != store.ScanRunning {
		t.Fatalf("status after a rejected finish = %s, want running", sc.Status)
	}
	if _, _, err := st.Snapshot(ctx, id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a rejected finish stored a snapshot: %v", err)
	}
	c.t = t0.Add(time.Hour)
	if err := st.FailScan(ctx, id, "bad findings", c.t); err != nil {
		t.Fatal(err)
	}
	sc, _ = st.Scan(ctx, id)
	if sc.Status != store.ScanFailed || sc.Reason != "bad findings" || sc.Ended != c.t {
		t.Fatalf("failed scan = %+v", sc)
	}
	if err := st.FailScan(ctx, id, "again", c.t); err == nil {
		t.Fatal("FailScan of a scan no longer running succeeded")
	}
	if _, err := st.LatestScan(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("latest scan with only a failed one: %v, want ErrNotFound", err)
	}
	// The lock is free again.
	id2 := mustBegin(t, st, c.t)
	mustFinish(t, st, id2, c.t, inventory(), nil)
}

func TestSecondWriterInSameProcess(t *testing.T) {
	ctx := context.Background()
	st, path, c := newStore(t)
	id := mustBegin(t, st, t0)

	_, err := st.BeginScan(ctx, store.ScanMeta{Started: t0})
	if !errors.Is(err, store.ErrScanRunning) || !strings.Contains(err.Error(), "scan 1 started at 2026-03-01T10:00:00.123456789Z") {
		t.Fatalf("second BeginScan on the same store: %v", err)
	}
	_, err = store.OpenConfig(ctx, store.Config{Path: path, Now: c.now})
	if !errors.Is(err, store.ErrScanRunning) || !strings.Contains(err.Error(), "scan 1 started at") {
		t.Fatalf("a second writer store: %v", err)
	}
	// A reader opens alongside and must not fail that scan.
	reader := openReadOnly(t, path, c)
	if sc, _ := reader.Scan(ctx, id); sc.Status != store.ScanRunning {
		t.Fatalf("running scan became %s when a reader opened", sc.Status)
	}
	if _, err := reader.BeginScan(ctx, store.ScanMeta{Started: t0}); !errors.Is(err, store.ErrReadOnly) {
		t.Fatalf("BeginScan on a reader: %v, want ErrReadOnly", err)
	}
	mustFinish(t, st, id, t0, inventory(), nil)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	other := openAt(t, path, c)
	id2 := mustBegin(t, other, t0.Add(time.Hour))
	if id2 != id+1 {
		t.Fatalf("second scan id = %d", id2)
	}
}

func TestCloseFailsRunningScan(t *testing.T) {
	ctx := context.Background()
	st, path, c := newStore(t)
	id := mustBegin(t, st, t0)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st2 := openAt(t, path, c)
	sc, err := st2.Scan(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Status != store.ScanFailed || sc.Reason == store.ReasonInterrupted || sc.Reason == "" {
		t.Fatalf("scan after Close = %s (%q), want failed with the close reason", sc.Status, sc.Reason)
	}
	mustBegin(t, st2, t0)
}

func TestCertification(t *testing.T) {
	ctx := context.Background()
	st, _, _ := newStore(t)
	if c, err := st.LatestCertification(ctx); err != nil || c != nil {
		t.Fatalf("empty store: %v %v", c, err)
	}
	older := nhi.Certification{At: t0, Grants: map[string][]string{"aws:AIDAONE": {"g1"}}}
	grants := map[string][]string{"aws:AIDAONE": {"g2", "g1"}}
	newer := nhi.Certification{At: t0.Add(time.Hour).In(time.FixedZone("X", 7200)), Grants: grants,
		Credentials: map[string][]string{"aws:AIDAONE": {"AKIA1"}}}
	for _, c := range []nhi.Certification{newer, older} {
		if err := st.SaveCertification(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.LatestCertification(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := &nhi.Certification{At: t0.Add(time.Hour), Grants: map[string][]string{"aws:AIDAONE": {"g1", "g2"}},
		Credentials: map[string][]string{"aws:AIDAONE": {"AKIA1"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("latest certification (-want +got):\n%s", diff)
	}
	if grants["aws:AIDAONE"][0] != "g2" {
		t.Error("SaveCertification reordered the caller's slice")
	}
}

func TestETagCache(t *testing.T) {
	ctx := context.Background()
	st, _, _ := newStore(t)
	if _, _, ok, err := st.GetETag(ctx, "/orgs/acme/repos"); ok || err != nil {
		t.Fatalf("empty cache: ok=%v err=%v", ok, err)
	}
	for _, v := range []struct{ etag, body string }{{`"a"`, "[1]"}, {`"b"`, "[1,2]"}} {
		if err := st.PutETag(ctx, "/orgs/acme/repos", v.etag, []byte(v.body)); err != nil {
			t.Fatal(err)
		}
	}
	etag, body, ok, err := st.GetETag(ctx, "/orgs/acme/repos")
	if err != nil || !ok || etag != `"b"` || string(body) != "[1,2]" {
		t.Fatalf("got %q %q %v %v", etag, body, ok, err)
	}
	if err := st.PutETag(ctx, "empty", `"e"`, nil); err != nil {
		t.Fatal(err)
	}
	if _, body, ok, err := st.GetETag(ctx, "empty"); err != nil || !ok || body == nil || len(body) != 0 {
		t.Fatalf("empty body: %q %v %v", body, ok, err)
	}
}

func TestSnapshotDetectsCorruption(t *testing.T) {
	ctx := context.Background()
	st, path, _ := newStore(t)
	id := mustBegin(t, st, t0)
	mustFinish(t, st, id, t0, inventory(), nil)
	db := rawDB(t, path)
	dropTriggers(t, db)
	edit := "UPDATE snapshots SET inventory = replace(inventory, 'AIDAONE', 'AIDAEVE') WHERE scan_id = ?"
	if onPostgres(t) {
		edit = "UPDATE snapshots SET inventory = convert_to(replace(convert_from(inventory, 'UTF8'), 'AIDAONE', 'AIDAEVE'), 'UTF8') WHERE scan_id = ?"
	}
	if _, err := db.Exec(edit, id); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Snapshot(ctx, id); !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("edited snapshot: %v, want ErrCorrupt", err)
	}
}

func TestScanOwnershipAndEvaluatedAt(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, newPath(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	id, err := st.BeginScan(ctx, store.ScanMeta{Started: t0, ToolVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	own := map[string]nhi.Ownership{"aws:AIDA1": {IdentityID: "aws:AIDA1", RoleID: "r", Owner: "a@x", OwnerSource: "role", OwnerStatus: nhi.OwnerActive}}
	asOf := t0.AddDate(0, 1, 0)
	if err := st.FinishScan(ctx, id, store.FinishInput{Ended: t0.Add(time.Minute), Inventory: nhi.Inventory{Version: nhi.SchemaVersion, CollectedAt: t0}, Ownership: own, EvaluatedAt: asOf, Lifecycle: analyzer.Lifecycle}); err != nil {
		t.Fatal(err)
	}
	got, err := st.ScanOwnership(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got["aws:AIDA1"] != own["aws:AIDA1"] || len(got) != 1 {
		t.Errorf("ownership = %+v", got)
	}
	sc, err := st.Scan(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !sc.EvaluatedAt.Equal(asOf) {
		t.Errorf("evaluated_at = %v, want %v", sc.EvaluatedAt, asOf)
	}
	none, err := st.ScanOwnership(ctx, id+1)
	if err != nil || len(none) != 0 {
		t.Errorf("ownership of an unknown scan = %v, %v", none, err)
	}
}

// A scan that did not collect a scope at all (a provider left out of the
// configuration, an AWS-only --inventory, a GitHub organisation dropped)
// must not resolve that scope's findings: not collected is not remediated.
func TestFindingsOfUncollectedScopeStayOpen(t *testing.T) {
	st, _, _ := newStore(t)
	t1, t2 := t0, t0.Add(24*time.Hour)
	a := finding("dormant", nhi.AWS, "111111111111", "AIDAONE", nhi.SevHigh)
	b := finding("dormant", nhi.AWS, "222222222222", "AROATWO", nhi.SevHigh)
	d := finding("orphaned", nhi.GitHub, "acme", "deploy-key:9", nhi.SevCritical)
	s1 := mustBegin(t, st, t1)
	mustFinish(t, st, s1, t1.Add(time.Minute), inventory(), []nhi.Finding{a, b, d})

	// Scan 2 collects only AWS account 111: A is really gone; B (account 222
	// not collected) and D (GitHub not collected) are unknown.
	inv2 := inventory()
	inv2.Scopes = []nhi.Scope{{Provider: nhi.AWS, ID: "111111111111"}}
	inv2.Identities = inv2.Identities[1:2]
	s2 := mustBegin(t, st, t2)
	mustFinish(t, st, s2, t2.Add(time.Minute), inv2, nil)
	want := map[string]lifecycle{
		a.RuleID + "/" + a.IdentityID: {store.FindingResolved, t1, t1, t2, 0, false},
		b.RuleID + "/" + b.IdentityID: {store.FindingOpen, t1, t1, time.Time{}, 0, false},
		d.RuleID + "/" + d.IdentityID: {store.FindingOpen, t1, t1, time.Time{}, 0, false},
	}
	if diff := cmp.Diff(want, lifecycles(t, st)); diff != "" {
		t.Errorf("after a scan of account 111 only (-want +got):\n%s", diff)
	}
}

func TestRetireScope(t *testing.T) {
	st, _, _ := newStore(t)
	ctx := context.Background()
	t1, t2 := t0, t0.Add(24*time.Hour)
	a := finding("dormant", nhi.AWS, "111111111111", "AIDAONE", nhi.SevHigh)
	b := finding("dormant", nhi.AWS, "222222222222", "AROATWO", nhi.SevHigh)
	s1 := mustBegin(t, st, t1)
	mustFinish(t, st, s1, t1.Add(time.Minute), inventory(), []nhi.Finding{a, b})
	inv2 := inventory()
	inv2.Scopes = []nhi.Scope{{Provider: nhi.AWS, ID: "111111111111"}}
	inv2.Identities = inv2.Identities[1:2]
	s2 := mustBegin(t, st, t2)
	mustFinish(t, st, s2, t2.Add(time.Minute), inv2, []nhi.Finding{a})

	// Account 111 is still collected: its findings follow the scans.
	if _, err := st.RetireScope(ctx, nhi.AWS, "111111111111", t2, "carol", "closed"); !errors.Is(err, store.ErrScopeCollected) {
		t.Errorf("retiring a collected scope = %v, want ErrScopeCollected", err)
	}
	if _, err := st.RetireScope(ctx, nhi.AWS, "222222222222", t2, "", "closed"); err == nil {
		t.Error("retired without an actor")
	}
	n, err := st.RetireScope(ctx, nhi.AWS, "222222222222", t2.Add(time.Hour), "carol", "account closed, ticket OPS-7")
	if err != nil || n != 1 {
		t.Fatalf("RetireScope = %d, %v; want 1 finding", n, err)
	}
	got := lifecycles(t, st)
	if l := got[b.RuleID+"/"+b.IdentityID]; l.Status != store.FindingResolved || !l.ResolvedAt.Equal(t2.Add(time.Hour)) {
		t.Errorf("retired finding = %+v", l)
	}
	if l := got[a.RuleID+"/"+a.IdentityID]; l.Status != store.FindingOpen {
		t.Errorf("a finding of another scope changed: %+v", l)
	}
	recs, err := st.AuditEntries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	last := recs[len(recs)-1]
	if last.Action != "findings.retire-scope" || last.Actor != "carol" || last.Detail["findings"] != "1" || last.Detail["reason"] == "" {
		t.Errorf("audit entry = %+v", last)
	}
	if _, err := st.VerifyAudit(ctx); err != nil {
		t.Error(err)
	}
}

func TestOpenRefusesAFileThatIsNotADatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(path, []byte("meeting notes, not a database\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := store.Open(context.Background(), path)
	if !errors.Is(err, store.ErrNotDatabase) {
		t.Fatalf("Open(text file) = %v, want ErrNotDatabase", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "meeting notes, not a database\n" {
		t.Errorf("the file was changed: %q", b)
	}
}

func TestNewDatabaseIsPrivate(t *testing.T) {
	st, path, _ := newStore(t)
	mustFinish(t, st, mustBegin(t, st, t0), t0.Add(time.Minute), inventory(), nil)
	for _, p := range []string{path, path + "-wal", path + "-shm", path + ".lock"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s has mode %v, want no group or other access", filepath.Base(p), perm)
		}
	}
}

// finishStreamed makes mustFinish store the findings batch by batch
// (BeginFindings, one finding a batch) instead of in one slice.
var finishStreamed bool

func streamFinish(tb testing.TB, st *store.Store, id int64, at time.Time, inv nhi.Inventory, fs []nhi.Finding) {
	tb.Helper()
	ctx := context.Background()
	fw, err := st.BeginFindings(ctx, id, &inv, analyzer.Lifecycle)
	if err != nil {
		tb.Fatalf("begin findings of scan %d: %v", id, err)
	}
	for i := range fs {
		batch := []nhi.Finding{fs[i]} // a batch is read during the call only
		if err := fw.Add(batch); err != nil {
			tb.Fatalf("add finding %d to scan %d: %v", i, id, err)
		}
		batch[0] = nhi.Finding{}
	}
	if err := st.FinishScan(ctx, id, store.FinishInput{Ended: at, Inventory: inv, Written: fw, Lifecycle: analyzer.Lifecycle}); err != nil {
		tb.Fatalf("finish scan %d: %v", id, err)
	}
}

// TestStreamed runs the lifecycle and verification tests again with the
// findings stored batch by batch: the history, the events and the hashes
// the audit log records are the same as when they are stored at once.
func TestStreamed(t *testing.T) {
	defer func(old bool) { finishStreamed = old }(finishStreamed)
	finishStreamed = true
	for _, c := range []conformanceTest{
		{"FindingLifecycleAcrossScans", TestFindingLifecycleAcrossScans},
		{"NotReevaluatedAcrossScans", TestNotReevaluatedAcrossScans},
		{"FindingsOfUncollectedScopeStayOpen", TestFindingsOfUncollectedScopeStayOpen},
		{"EvidenceOfStoredScans", TestEvidenceOfStoredScans},
		{"IntactDatabaseVerifies", TestIntactDatabaseVerifies},
		{"TamperingIsDetected", TestTamperingIsDetected},
		{"FindingsFilter", TestFindingsFilter},
		{"LinkRemediations", TestLinkRemediations},
	} {
		t.Run(c.name, c.fn)
	}
}
