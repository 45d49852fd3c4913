package privilege

import (
	"sort"
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

// GCPCustomRole reports whether role is a custom role
// ("organizations/N/roles/NAME" or "projects/P/roles/NAME"), whose name
// says nothing of what it grants: judge it with GCPPermissions.
func GCPCustomRole(role string) bool {
	return (strings.HasPrefix(role, "organizations/") || strings.HasPrefix(role, "projects/")) && strings.Contains(role, "/roles/")
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
//
// A custom role is not judged by its name: GCPRole gives write, not
// privileged; the collector judges it with GCPPermissions.
func GCPRole(role, level string) (nhi.Privilege, bool, string) {
	name := role[strings.LastIndex(role, "/")+1:]
	switch {
	case GCPCustomRole(role):
		return nhi.PrivWrite, false, ""
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

// gcpActAs are the permissions that let a member act as a service
// account: use it for a workload, mint its tokens or sign as it, create
// a key or an HMAC key for it. Like the impersonation roles, they are
// privileged bound on a project or wider, and write access on one
// service account.
var gcpActAs = map[string]bool{
	"iam.serviceAccounts.actAs":              true,
	"iam.serviceAccounts.getAccessToken":     true,
	"iam.serviceAccounts.getOpenIdToken":     true,
	"iam.serviceAccounts.signBlob":           true,
	"iam.serviceAccounts.signJwt":            true,
	"iam.serviceAccounts.implicitDelegation": true,
	"iam.serviceAccountKeys.create":          true,
	"storage.hmacKeys.create":                true,
}

// gcpEscalation are the permissions that change who may do what, or who
// may federate in: privileged wherever they are bound.
var gcpEscalation = map[string]bool{
	"iam.roles.create":                         true,
	"iam.roles.update":                         true,
	"iam.roles.undelete":                       true,
	"iam.workloadIdentityPoolProviders.create": true,
	"iam.workloadIdentityPoolProviders.update": true,
	"iam.serviceAccounts.enable":               true,
	"orgpolicy.policy.set":                     true,
}

// gcpReadVerbs start the last part of a permission that only reads
// (getAccessToken and getOpenIdToken, in gcpActAs, do not).
var gcpReadVerbs = []string{"get", "list", "search", "query", "read", "view"}

// GCPPermissions judges a custom role by the permissions it includes,
// bound at a level as for GCPRole: privileged (and administrator level)
// when one of them sets an IAM policy, changes roles or workload identity
// providers, or, bound on a project or wider, acts as service accounts
// (actAs, getAccessToken, signBlob, signJwt, getOpenIdToken,
// implicitDelegation, creating keys or HMAC keys); read when every
// permission only reads; write otherwise. The reason names the first such
// permission, in sorted order.
func GCPPermissions(perms []string, level string) (nhi.Privilege, bool, string) {
	sorted := append([]string(nil), perms...)
	sort.Strings(sorted)
	priv := nhi.PrivRead
	actAs := ""
	for _, p := range sorted {
		verb := p[strings.LastIndex(p, ".")+1:]
		switch {
		case verb == "setIamPolicy" || gcpEscalation[p]:
			return nhi.PrivAdmin, true, "custom role with " + p
		case gcpActAs[p] && actAs == "":
			actAs = p
		}
		if gcpActAs[p] || !gcpReadVerb(verb) {
			priv = nhi.PrivWrite
		}
	}
	switch {
	case actAs != "" && level == "":
		return nhi.PrivAdmin, true, "custom role with " + actAs + " (where it is bound is not known)"
	case actAs != "" && level != GCPResource:
		return nhi.PrivAdmin, true, "custom role with " + actAs + ": can act as every service account in the " + level
	}
	return priv, false, ""
}

func gcpReadVerb(verb string) bool {
	for _, v := range gcpReadVerbs {
		if strings.HasPrefix(verb, v) {
			return true
		}
	}
	return false
}

// gcpAccountAdmin are the predefined roles that, on a service account,
// let their holder act as it besides the impersonation roles: the basic
// roles include actAs, and the account administrator sets its policy.
var gcpAccountAdmin = map[string]bool{
	"roles/owner":                           true,
	"roles/editor":                          true,
	"roles/iam.serviceAccountAdmin":         true,
	"roles/iam.securityAdmin":               true,
	"roles/resourcemanager.projectIamAdmin": true,
}

// GCPCanImpersonate reports whether a role held on a service account lets
// its member act as that account: an impersonation role, owner, editor or
// the account administrator roles; for a custom role (perms its included
// permissions), one of the act-as permissions or setting the account's
// policy.
func GCPCanImpersonate(role string, perms []string) bool {
	if !GCPCustomRole(role) {
		return gcpImpersonation[role] || gcpAccountAdmin[role]
	}
	for _, p := range perms {
		if gcpActAs[p] || p == "iam.serviceAccounts.setIamPolicy" {
			return true
		}
	}
	return false
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
// the level its scope names. A custom role's permissions are not in the
// grant; the collector that read them recorded their verdict as the
// grant's level, administrator exactly when privileged (GCPPermissions).
func classifyGCP(g *nhi.Grant) (bool, string) {
	if GCPCustomRole(g.Entitlement) {
		if g.Privilege == nhi.PrivAdmin {
			return true, "custom role at administrator level"
		}
		return false, ""
	}
	_, priv, why := GCPRole(g.Entitlement, GCPScopeLevel(g.Scope))
	return priv, why
}
