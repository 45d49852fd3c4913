package privilege_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/privilege"
)

// TestClassifyAgreesWithTheCollectors: for every grant of each collector's
// golden inventory, Classify on the grant with its verdict cleared (as an
// imported inventory gives it) reaches the collector's verdict and reason, and
// Effective keeps the collector's verdict: the collectors and the analyzer
// share this package's tables, so an import is judged exactly as a scan.
func TestClassifyAgreesWithTheCollectors(t *testing.T) {
	for _, tc := range []struct {
		provider nhi.Provider
		// minGrants: fewer grants in the golden inventory prove little.
		minGrants int
		// reasonElsewhere marks the grants whose reason Classify cannot
		// give: a GCP custom role's reason names its permissions, which
		// the grant does not carry.
		reasonElsewhere func(g nhi.Grant) bool
	}{
		{nhi.AWS, 10, nil},
		{nhi.Azure, 10, nil},
		{nhi.GCP, 20, func(g nhi.Grant) bool { return privilege.GCPCustomRole(g.Entitlement) }},
		{nhi.GitHub, 20, nil},
	} {
		t.Run(string(tc.provider), func(t *testing.T) {
			f, err := os.Open(filepath.Join("..", "..", "collectors", string(tc.provider), "testdata", "golden-inventory.json"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			inv, err := nhi.Decode(f)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, id := range inv.Identities {
				for _, g := range id.Grants {
					if !g.Privileged.Judged() {
						t.Errorf("%s: grant %s not judged by the collector", id.ID, g.ID)
						continue
					}
					n++
					bare := g
					bare.Privileged, bare.Reason = nhi.NotJudged, ""
					priv, why := privilege.Classify(tc.provider, &bare)
					if tc.reasonElsewhere != nil && tc.reasonElsewhere(g) {
						why = g.Reason
					}
					if priv != g.Privileged.Privileged() || why != g.Reason {
						t.Errorf("%s: grant %s (%s @%s): Classify says %v %q, the collector %s %q",
							id.ID, g.ID, g.Entitlement, g.Scope, priv, why, g.Privileged, g.Reason)
					}
					if p, w := privilege.Effective(tc.provider, &g); p != g.Privileged.Privileged() || w != g.Reason {
						t.Errorf("%s: grant %s: Effective overrode the collector's verdict (%v %q)", id.ID, g.ID, p, w)
					}
				}
			}
			if n < tc.minGrants {
				t.Errorf("only %d grants in the golden inventory: the agreement proves little", n)
			}
		})
	}
}
