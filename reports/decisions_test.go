package reports_test

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/reports"
)

func campaignEvidence() *reports.CampaignEvidence {
	return &reports.CampaignEvidence{
		Campaigns: []reports.CampaignSummary{{ID: 2, Name: "=HYPERLINK(\"http://evil.example\")", ScanID: 1, State: "closed",
			CreatedBy: "operator", CreatedAt: ts("2026-03-01T10:00:00Z"), OpenedAt: ts("2026-03-01T10:05:00Z"),
			Deadline: ts("2026-03-15T10:00:00Z"), ClosedAt: ts("2026-03-16T10:00:00Z"), UnansweredDefault: "none",
			KPIs: reports.KPIs{Items: 5, Identities: 2, Reviewers: 2, Certified: 3, Revoked: 1, Unanswered: 1, Overdue: 1, Conflicts: 1}}},
		Decisions: []reports.DecisionRow{
			{CampaignID: 2, DecisionID: 2, ItemID: 3, ParentItemID: 1, ItemKind: "credential", Provider: "aws", Scope: "111111111111",
				IdentityID: "aws:AIDA1", IdentityName: "deployer", CredentialID: "AKIA1", Reviewer: "carol@acme.example", Decision: "revoke",
				At: ts("2026-03-02T10:00:00Z"), Justification: "@SUM(1+1)*cmd|' /C calc'!A0", Source: "import", Remediation: "pending"},
			{CampaignID: 2, DecisionID: 1, ItemID: 1, ItemKind: "identity", Provider: "aws", Scope: "111111111111",
				IdentityID: "aws:AIDA1", IdentityName: "deployer", Reviewer: "carol@acme.example", Decision: "certify",
				CertifiedUntil: ts("2026-09-01T00:00:00Z"), At: ts("2026-03-02T09:00:00Z"), Justification: "runs prod",
				BulkID: "bulk-1", Conflict: "self-review", Source: "web", Remediation: "none"},
			{CampaignID: 2, DecisionID: 3, ItemID: 4, ItemKind: "identity", Reviewer: "nhiscan", Decision: "unanswered", Default: "none",
				At: ts("2026-03-16T10:00:00Z"), Source: "close", Remediation: "none", GrantsRemoved: []string{"g1", "g2"}},
		},
	}
}

func TestEvidenceCampaignFiles(t *testing.T) {
	// Without campaign evidence the pack is unchanged.
	dir, m := writePack(t, fixture(t))
	for _, f := range m.Files {
		if f.Name == reports.FileDecisions || f.Name == reports.FileCampaigns {
			t.Errorf("a pack without campaigns lists %s", f.Name)
		}
	}
	in := fixture(t)
	in.Campaigns = campaignEvidence()
	dir, m = writePack(t, in)
	rows := map[string]int{}
	for _, f := range m.Files {
		rows[f.Name] = f.Rows
	}
	if rows[reports.FileDecisions] != 3 || rows[reports.FileCampaigns] != 1 {
		t.Errorf("manifest rows: decisions %d, campaigns %d", rows[reports.FileDecisions], rows[reports.FileCampaigns])
	}
	sums, _ := os.ReadFile(filepath.Join(dir, reports.FileChecksums))
	for _, name := range []string{reports.FileDecisions, reports.FileCampaigns} {
		if !strings.Contains(string(sums), "  "+name+"\n") {
			t.Errorf("SHA256SUMS lacks %s", name)
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "evidence-"+name+".golden", b)
	}
	if err := reports.VerifyEvidence(dir); err != nil {
		t.Errorf("the pack does not verify: %v", err)
	}
	// A tampered decision is detected.
	p := filepath.Join(dir, reports.FileDecisions)
	b, _ := os.ReadFile(p)
	if err := os.WriteFile(p, bytes.Replace(b, []byte("revoke"), []byte("certify"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := reports.VerifyEvidence(dir); err == nil {
		t.Error("an edited decisions.csv verifies")
	}

	recs := readCSV(t, filepath.Join(dir, reports.FileCampaigns))
	if got := recs[1][3]; !strings.HasPrefix(got, "'=") {
		t.Errorf("campaign name cell %q is not neutralised", got)
	}
}

func TestDecisionsAreInjectionSafeAndOrdered(t *testing.T) {
	in := fixture(t)
	in.Campaigns = campaignEvidence()
	dir, _ := writePack(t, in)
	recs := readCSV(t, filepath.Join(dir, reports.FileDecisions))
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	var ids, just []string
	for _, r := range recs[1:] {
		ids = append(ids, r[col["decision_id"]])
		just = append(just, r[col["justification"]])
	}
	if diff := cmp.Diff([]string{"1", "2", "3"}, ids); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	if just[1] != "'@SUM(1+1)*cmd|' /C calc'!A0" {
		t.Errorf("justification cell = %q, want it neutralised", just[1])
	}
	if r := recs[1]; r[col["bulk"]] != "true" || r[col["certified_until"]] != "2026-09-01T00:00:00Z" || r[col["conflict"]] != "self-review" {
		t.Errorf("first row = %v", r)
	}
	if r := recs[3]; r[col["grants_removed"]] != "g1;g2" || r[col["unanswered_default"]] != "none" {
		t.Errorf("third row = %v", r)
	}
}

func TestWriteReviewCSV(t *testing.T) {
	var b bytes.Buffer
	err := reports.WriteReviewCSV(&b, []reports.ReviewRow{
		{CampaignID: 3, ItemID: 1, ItemKind: "identity", Provider: "aws", IdentityName: "+cmd", Reviewer: "carol@acme.example",
			RequiresJustification: true, Deadline: ts("2026-03-15T10:00:00Z"), Findings: "high privileged-grant"},
		{CampaignID: 3, ItemID: 2, ParentItemID: 1, ItemKind: "grant", Entitlement: "-1+1", Reviewer: "carol@acme.example"},
	})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(reports.ReviewColumns, recs[0]); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
	n := len(reports.ReviewColumns)
	if recs[1][7] != "'+cmd" || recs[2][12] != "'-1+1" || recs[1][n-6] != "carol@acme.example" || recs[1][n-5] != "" || recs[2][2] != "1" {
		t.Errorf("rows = %q", recs[1:])
	}
}
