package reports_test

import (
	"fmt"
	"io"
	"path/filepath"
	"testing"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/reports"
)

// largeInput builds n AWS users with two keys and three grants each, and
// two findings per user.
func largeInput(b *testing.B, n int) reports.Input {
	in := fixture(b)
	in.Findings = nil
	in.Inventory.Identities = nil
	for i := range n {
		id := nhi.Identity{
			ID: nhi.MakeID(nhi.AWS, fmt.Sprintf("AIDA%012d", i)), Provider: nhi.AWS, Kind: nhi.KindAWSUser,
			NativeID: fmt.Sprintf("AIDA%012d", i), Name: fmt.Sprintf("svc-%d", i), Scope: fmt.Sprintf("%012d", i%200),
			Status: nhi.StatusActive, Usage: nhi.Usage{State: nhi.UsageUsed, LastUsed: ts("2026-02-01T00:00:00Z")},
		}
		for k := range 2 {
			id.Credentials = append(id.Credentials, nhi.Credential{ID: fmt.Sprintf("AKIA%012d%d", i, k), Type: nhi.CredAWSAccessKey,
				Status: nhi.StatusActive, Created: ts("2025-01-01T00:00:00Z"), Usage: nhi.Usage{State: nhi.UsageNeverUsed}})
		}
		for g := range 3 {
			id.Grants = append(id.Grants, nhi.Grant{ID: fmt.Sprintf("managed-policy:p%d", g), Kind: "managed-policy",
				Entitlement: fmt.Sprintf("arn:aws:iam::aws:policy/P%d", g), Scope: id.Scope, Privilege: nhi.PrivRead})
		}
		in.Inventory.Identities = append(in.Inventory.Identities, id)
		in.Findings = append(in.Findings,
			finding(b, "never-used-credential", id, id.Credentials[1].ID, "", nil),
			finding(b, "unmapped-identity", id, "", "", nil))
	}
	return in
}

func BenchmarkWriteEvidence10k(b *testing.B) {
	in := largeInput(b, 10000)
	for i := 0; b.Loop(); i++ {
		if _, err := reports.WriteEvidence(filepath.Join(b.TempDir(), fmt.Sprint(i)), in, generatedAt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteHTML10k(b *testing.B) {
	in := largeInput(b, 10000)
	for b.Loop() {
		if err := reports.WriteHTML(io.Discard, in); err != nil {
			b.Fatal(err)
		}
	}
}
