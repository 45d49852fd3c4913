package analyzer

import (
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/rules"
)

// unmappedRules: an identity no catalog role's selectors match, so nobody
// has said what it is for.
func (a *analysis) unmappedRules(id *nhi.Identity, s *subject) {
	if s.role != nil {
		return
	}
	a.emit(rules.RuleUnmapped, id, s, on{}, evidence(
		"kind", string(id.Kind), "scope", id.Scope, "name", id.Name,
	))
}
