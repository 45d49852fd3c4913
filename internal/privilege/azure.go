package privilege

import (
	"strings"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

func classifyAzure(g *nhi.Grant) (bool, string) {
	e := g.Entitlement
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
