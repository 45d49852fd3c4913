// Package privilege decides whether an entitlement is privileged: the one
// home of the classification tables (privileged managed policies and
// actions, Entra directory roles and Graph permissions, GCP roles and
// permissions, Azure RBAC roles, GitHub permissions). Collectors judge each
// grant with it as they map it; the analyzer judges with it only the grants
// no collector judged (imported inventories), and never overrides a
// collector's verdict.
//
// It imports the standard library and internal/nhi only, does no I/O and
// keeps no state.
package privilege

import (
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// Effective returns the grant's verdict: the collector's when it judged
// the grant, else Classify's.
func Effective(p nhi.Provider, g *nhi.Grant) (bool, string) {
	if g.Privileged.Judged() {
		return g.Privileged.Privileged(), g.Reason
	}
	return Classify(p, g)
}

// Classify judges a grant from its normalised form alone (kind,
// entitlement, scope, privilege level), as an imported inventory gives it.
func Classify(p nhi.Provider, g *nhi.Grant) (bool, string) {
	var priv bool
	var why string
	switch p {
	case nhi.AWS:
		priv, why = classifyAWS(g)
	case nhi.GCP:
		priv, why = classifyGCP(g)
	case nhi.Azure:
		priv, why = classifyAzure(g)
	case nhi.GitHub:
		priv, why = classifyGitHub(g)
	}
	if priv {
		return true, why
	}
	if g.Privilege == nhi.PrivAdmin && (g.Scope == "*" || g.Scope == "") {
		return true, "admin at organisation scope"
	}
	return false, ""
}
