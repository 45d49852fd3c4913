package reports_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/nhiscan/nhiscan/reports"
)

func remediationEvidence() *reports.RemediationEvidence {
	return &reports.RemediationEvidence{Rows: []reports.RemediationRow{
		{PlanID: 2, ActionID: 1, Stage: "disable", Op: "enable", Operation: "iam:UpdateAccessKey Status=Inactive", Provider: "aws", Scope: "111111111111",
			IdentityID: "aws:AIDA1", IdentityName: "deployer", CredentialID: "AKIA1", Reasons: "policy dormant: unused for 400 days",
			Phase: "rollback", Step: "done", Approver: "dana@acme.example", Reason: "owner objected", At: ts("2026-03-04T10:00:00Z"),
			Before: "Inactive", After: "Active", Changed: true, VerifiedAt: ts("2026-03-04T10:00:00Z")},
		{PlanID: 2, ActionID: 1, Stage: "disable", Op: "disable", Operation: "iam:UpdateAccessKey Status=Inactive", Provider: "aws", Scope: "111111111111",
			IdentityID: "aws:AIDA1", IdentityName: "deployer", CredentialID: "AKIA1", Reasons: "policy dormant: unused for 400 days",
			Phase: "apply", Step: "done", Approver: "dana@acme.example", Reason: "=CHG(1)", At: ts("2026-03-02T10:00:00Z"),
			Before: "Active", After: "Inactive", Changed: true, VerifiedAt: ts("2026-03-02T10:00:01Z"),
			FindingsRemediated: []string{"fp2", "fp1"}, RemediatedScanID: 3},
		{PlanID: 1, ActionID: 4, Stage: "notify", Op: "notify", Operation: "notice to bob@acme.example", Provider: "aws", Scope: "111111111111",
			IdentityID: "aws:AIDA2", IdentityName: "legacy", CredentialID: "AKIA2", Phase: "apply", Step: "refused", Approver: "dana@acme.example",
			At: ts("2026-03-01T11:00:00Z"), Note: "changed since the plan"},
	}}
}

// TestEvidenceRemediationFile: the pack gains remediation.csv (in the
// manifest and SHA256SUMS) only with remediation evidence; its rows are in
// plan, action and time order, injection-safe, and an edit is detected.
func TestEvidenceRemediationFile(t *testing.T) {
	_, m := writePack(t, fixture(t))
	for _, f := range m.Files {
		if f.Name == reports.FileRemediation {
			t.Error("a pack without remediation evidence lists remediation.csv")
		}
	}
	in := fixture(t)
	in.Remediation = remediationEvidence()
	dir, m := writePack(t, in)
	found := false
	for _, f := range m.Files {
		found = found || (f.Name == reports.FileRemediation && f.Rows == 3)
	}
	if !found {
		t.Errorf("manifest lacks remediation.csv with 3 rows: %+v", m.Files)
	}
	b, err := os.ReadFile(filepath.Join(dir, reports.FileRemediation))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "evidence-remediation.csv.golden", b)
	recs := readCSV(t, filepath.Join(dir, reports.FileRemediation))
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	for _, h := range []string{"action", "identity_id", "credential_id", "approver", "at", "before", "after", "verified_at", "findings_remediated"} {
		if _, ok := col[h]; !ok {
			t.Errorf("no column %s", h)
		}
	}
	if recs[1][col["plan_id"]] != "1" || recs[2][col["phase"]] != "apply" || recs[3][col["phase"]] != "rollback" {
		t.Errorf("order: %v", recs[1:])
	}
	if got := recs[2][col["approval_reason"]]; got != "'=CHG(1)" {
		t.Errorf("approval reason cell %q is not neutralised", got)
	}
	if got := recs[2][col["findings_remediated"]]; got != "fp1;fp2" {
		t.Errorf("findings_remediated = %q", got)
	}
	if err := reports.VerifyEvidence(dir); err != nil {
		t.Fatalf("the pack does not verify: %v", err)
	}
	p := filepath.Join(dir, reports.FileRemediation)
	if err := os.WriteFile(p, bytes.Replace(b, []byte("Inactive"), []byte("Active!!"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := reports.VerifyEvidence(dir); err == nil {
		t.Error("an edited remediation.csv verifies")
	}
}
