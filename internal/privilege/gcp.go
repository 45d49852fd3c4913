package privilege

import (
	"strings"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

// GCP binding levels, as GCPScopeLevel names them: where in the resource
// hierarchy a role is bound.
const (
	GCPOrganization = "organization"
	GCPFolder       = "folder"
	GCPProject      = "project"
	GCPResource     = "resource"
)

// gcpImpersonation are the roles that let a member act as a service
// account (mint its tokens, attach it to a workload, federate into it).
// Bound on a project or wider they reach every service account below; on
// one service account they reach only that one.
var gcpImpersonation = map[string]bool{
	"roles/iam.serviceAccountTokenCreator":       true,
	"roles/iam.serviceAccountUser":               true,
	"roles/iam.workloadIdentityUser":             true,
	"roles/iam.serviceAccountOpenIdTokenCreator": true,
}

// GCPRole judges an IAM role bound at a level (GCPOrganization, GCPFolder,
// GCPProject, GCPResource, or "" when the level is not known): its
// privilege level, whether it is privileged there, and why.
//
// Privileged: the basic roles owner and editor; administrator roles
// (roles/*.admin, roles/*Admin); and the impersonation roles
// (serviceAccountTokenCreator, serviceAccountUser, workloadIdentityUser,
// serviceAccountOpenIdTokenCreator) bound anywhere but on one resource,
// because there they reach every service account in the project, folder or
// organisation. An impersonation role on one service account is write
// access to that account only, not privileged by itself.
func GCPRole(role, level string) (nhi.Privilege, bool, string) {
	name := role[strings.LastIndex(role, "/")+1:]
	switch {
	case role == "roles/owner":
		return nhi.PrivAdmin, true, "basic role owner"
	case role == "roles/editor":
		return nhi.PrivWrite, true, "basic role editor"
	case gcpImpersonation[role] && level == "":
		return nhi.PrivWrite, true, "can impersonate service accounts (where it is bound is not known)"
	case gcpImpersonation[role] && level != GCPResource:
		return nhi.PrivWrite, true, "can impersonate every service account in the " + level
	case gcpImpersonation[role]:
		return nhi.PrivWrite, false, ""
	case strings.HasSuffix(name, ".admin") || strings.HasSuffix(name, "Admin") || name == "admin":
		return nhi.PrivAdmin, true, "administrator role"
	case role == "roles/viewer" || role == "roles/browser" || strings.HasSuffix(name, "iewer") ||
		strings.HasSuffix(name, "eader") || strings.HasSuffix(name, ".readonly") || strings.HasSuffix(name, "Reader"):
		return nhi.PrivRead, false, ""
	}
	return nhi.PrivWrite, false, ""
}

// GCPScopeLevel returns the level of a grant scope as the GCP collector
// normalises it: "organizations/N", "folders/N", "projects/<id>", or a
// resource name without its leading "//" (a bucket, a service account).
// An empty scope gives "" (not known).
func GCPScopeLevel(scope string) string {
	switch {
	case scope == "":
		return ""
	case strings.HasPrefix(scope, "organizations/"):
		return GCPOrganization
	case strings.HasPrefix(scope, "folders/"):
		return GCPFolder
	case strings.HasPrefix(scope, "projects/") && !strings.Contains(strings.TrimPrefix(scope, "projects/"), "/"):
		return GCPProject
	}
	return GCPResource
}

// classifyGCP judges a role binding from its normalised form: the role and
// the level its scope names.
func classifyGCP(g *nhi.Grant) (bool, string) {
	_, priv, why := GCPRole(g.Entitlement, GCPScopeLevel(g.Scope))
	return priv, why
}
