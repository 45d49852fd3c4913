package rules_test

import (
	"slices"
	"testing"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/rules"
)

// TestEveryRuleDeclaresFacets: a rule without the facets it reads could
// create or resolve findings from data nobody observed.
func TestEveryRuleDeclaresFacets(t *testing.T) {
	for _, r := range rules.Builtin() {
		if len(r.Facets) == 0 {
			t.Errorf("rule %s declares no facets: say which data it reads (rules.Rule.Facets)", r.ID)
		}
		for _, f := range r.Facets {
			if !f.Valid() || f.Subject() != "" {
				t.Errorf("rule %s: facet %q is not a facet class (%v)", r.ID, f, nhi.FacetClasses)
			}
		}
		sorted := slices.Clone(r.Facets)
		slices.Sort(sorted)
		if len(slices.Compact(sorted)) != len(r.Facets) {
			t.Errorf("rule %s: facets %v repeat a class", r.ID, r.Facets)
		}
		if r.Basis != rules.Current && r.Family != nhi.FamilyDrift {
			t.Errorf("rule %s: only drift rules compare with the previous scan (basis %s)", r.ID, r.Basis)
		}
	}
}

func TestRuleMetadata(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range rules.Builtin() {
		if seen[r.ID] {
			t.Errorf("rule %s appears twice", r.ID)
		}
		seen[r.ID] = true
		if !slices.Contains(nhi.Families, r.Family) || r.Severity.Rank() < 0 || r.Title == "" || r.Remediation == "" || len(r.Controls) == 0 {
			t.Errorf("rule %s: incomplete metadata %+v", r.ID, r)
		}
		if got, ok := rules.Lookup(r.ID); !ok || got.ID != r.ID {
			t.Errorf("Lookup(%s) = %v, %v", r.ID, got.ID, ok)
		}
	}
}
