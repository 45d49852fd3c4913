package analyzer

import (
	"strings"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/rules"
)

// privileged reports whether a grant is privileged: the collector's verdict,
// or a well-known privileged entitlement (so an inventory imported from a
// file is judged the same way).
func privileged(p nhi.Provider, g *nhi.Grant) (bool, string) {
	if g.Privileged {
		return true, g.Reason
	}
	e := g.Entitlement
	switch p {
	case nhi.AWS:
		switch {
		case strings.HasSuffix(e, ":policy/AdministratorAccess"):
			return true, "AdministratorAccess"
		case strings.HasSuffix(e, ":policy/IAMFullAccess"):
			return true, "IAMFullAccess"
		case strings.HasSuffix(e, ":policy/PowerUserAccess"):
			return true, "PowerUserAccess"
		case e == "*" || e == "*:*" || e == "iam:*":
			return true, "wildcard action " + e
		}
	case nhi.GCP:
		switch {
		case e == "roles/owner", e == "roles/editor":
			return true, "basic role " + e
		case e == "roles/iam.serviceAccountTokenCreator", e == "roles/iam.serviceAccountUser":
			return true, "impersonation path " + e
		case strings.HasSuffix(e, ".admin") || strings.HasSuffix(e, "Admin"):
			return true, "admin role " + e
		}
	case nhi.Azure:
		switch e {
		case "Owner", "Contributor", "User Access Administrator", "Role Based Access Control Administrator":
			if azureWideScope(g.Scope) {
				return true, e + " at " + g.Scope
			}
		case "Directory.ReadWrite.All", "RoleManagement.ReadWrite.Directory", "Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All":
			return true, "high-impact Entra permission " + e
		}
		if privilegedDirectoryRoles[e] {
			return true, "Entra directory role " + e
		}
	case nhi.GitHub:
		if g.Privilege == nhi.PrivAdmin {
			return true, "admin permission"
		}
		if g.Scope == "*" && g.Privilege == nhi.PrivWrite && (g.Kind == "app-permission" || g.Kind == "token-permission") {
			return true, "write on every repository of the organisation"
		}
	}
	if g.Privilege == nhi.PrivAdmin && (g.Scope == "*" || g.Scope == "") {
		return true, "admin at organisation scope"
	}
	return false, ""
}

// privilegedDirectoryRoles are Entra directory roles that are privileged
// when an imported inventory does not say so (collectors set
// Grant.Privileged from the role definition's isPrivileged).
var privilegedDirectoryRoles = map[string]bool{
	"Global Administrator": true, "Privileged Role Administrator": true,
	"Privileged Authentication Administrator": true, "Application Administrator": true,
	"Cloud Application Administrator": true, "Authentication Administrator": true,
	"User Administrator": true, "Security Administrator": true, "Hybrid Identity Administrator": true,
	"Conditional Access Administrator": true, "Exchange Administrator": true, "Intune Administrator": true,
	"Partner Tier2 Support": true, "Directory Writers": true, "Groups Administrator": true,
}

// azureWideScope reports whether an Azure RBAC scope is the root ("/"), a
// management group or a whole subscription.
func azureWideScope(scope string) bool {
	s := strings.ToLower(strings.TrimSuffix(scope, "/"))
	if s == "" || strings.HasPrefix(s, "/providers/microsoft.management/managementgroups/") {
		return true
	}
	parts := strings.Split(strings.TrimPrefix(s, "/"), "/")
	return len(parts) == 2 && parts[0] == "subscriptions"
}

// grantRules: grants outside the role's baseline, and privileged grants no
// role explicitly allows.
func (a *analysis) grantRules(id *nhi.Identity, s *subject) {
	if s.managed {
		return
	}
	roleIdx := s.roleIdx
	for i := range id.Grants {
		g := &id.Grants[i]
		priv, why := privileged(id.Provider, g)
		var allow allowance
		if roleIdx >= 0 {
			allow = a.allowed(roleIdx, id.Provider, g)
		}
		if !(priv && !allow.privileged) && !(s.role != nil && !allow.allowed) {
			continue
		}
		ev := map[string]string{"entitlement": g.Entitlement, "scope": g.Scope, "privilege": string(g.Privilege), "grant_kind": g.Kind}
		if g.Via != "" {
			ev["via"] = g.Via
		}
		switch {
		case priv && !allow.privileged:
			ev["reason"] = why
			if s.role != nil {
				ev["role"] = s.role.ID
				if allow.allowed {
					ev["baseline"] = "matches the baseline but not as privileged"
				} else {
					ev["baseline"] = "outside the baseline"
				}
			} else {
				ev["baseline"] = "no role"
			}
			a.emit(rules.RulePrivilegedGrant, id, s, "", g.ID, ev)
		case s.role != nil && !allow.allowed:
			ev["role"] = s.role.ID
			a.emit(rules.RuleOutsideBaseline, id, s, "", g.ID, ev)
		}
	}
}
