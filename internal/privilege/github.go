package privilege

import (
	"strings"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

// GitHub grant kinds, as the GitHub collector writes them.
const (
	GitHubRepoPermission  = "repo-permission"  // a deploy key's access to its repository
	GitHubAppPermission   = "app-permission"   // a permission of a GitHub App installation
	GitHubTokenPermission = "token-permission" // a permission of a fine-grained token
	GitHubTokenScope      = "token-scope"      // an OAuth scope of a classic token
)

// GitHubTokenOrgPrefix starts the grant id of a fine-grained token's
// organisation permission ("token-permission:org:members"); its repository
// permissions start with "token-permission:repo:". Both have scope "*" when
// they reach the whole organisation, but only repository permissions grant
// something on every repository.
const GitHubTokenOrgPrefix = GitHubTokenPermission + ":org:"

// githubSensitive are the App and fine-grained token permissions whose
// write level controls access, secrets, workflows or the organisation
// itself.
var githubSensitive = map[string]bool{
	"administration": true, "organization_administration": true, "members": true,
	"secrets": true, "organization_secrets": true, "workflows": true, "actions": true,
	"environments": true, "organization_personal_access_tokens": true,
	"organization_self_hosted_runners": true, "organization_user_blocking": true,
	"organization_custom_roles": true, "repository_hooks": true, "organization_hooks": true,
}

// GitHubLevel maps a GitHub App or fine-grained token permission level
// ("read", "write", "admin") to a privilege level; an unknown level counts
// as write.
func GitHubLevel(level string) nhi.Privilege {
	switch level {
	case "read":
		return nhi.PrivRead
	case "admin":
		return nhi.PrivAdmin
	}
	return nhi.PrivWrite
}

// GitHubPermission judges a GitHub App installation's or fine-grained
// token's permission name at a level. allRepos says the permission applies
// to every repository of the organisation (an App installed on all
// repositories, a token with access to all repositories): any write is then
// privileged. Admin, and write on a sensitive permission (administration,
// secrets, workflows, members…), are privileged anywhere.
func GitHubPermission(name, level string, allRepos bool) (privileged bool, reason string) {
	switch {
	case level == "admin":
		return true, "admin permission " + name
	case level == "write" && githubSensitive[name]:
		return true, "write on " + name
	case level == "write" && allRepos:
		return true, "write on every repository of the organisation"
	}
	return false, ""
}

// GitHubClassicScope judges a classic token's OAuth scope: its privilege
// level, and why it is privileged when it is (repo, workflow, write:org,
// delete_repo, admin:*, site_admin).
func GitHubClassicScope(scope string) (p nhi.Privilege, privileged bool, reason string) {
	switch s := scope; {
	case s == "delete_repo":
		return nhi.PrivAdmin, true, "can delete repositories"
	case strings.HasPrefix(s, "admin:") || s == "site_admin":
		return nhi.PrivAdmin, true, "administrative scope " + s
	case s == "repo":
		return nhi.PrivWrite, true, "full control of private repositories"
	case s == "workflow":
		return nhi.PrivWrite, true, "can change Actions workflows"
	case s == "write:org":
		return nhi.PrivWrite, true, "can change organisation membership"
	case strings.HasPrefix(s, "write:"), strings.HasPrefix(s, "delete:"), s == "public_repo", s == "user", s == "gist", s == "codespace", s == "project":
		return nhi.PrivWrite, false, ""
	}
	return nhi.PrivRead, false, ""
}

// GitHubDeployKey judges a deploy key's access to repo: a key with write
// access can push.
func GitHubDeployKey(readOnly bool, repo string) (p nhi.Privilege, privileged bool, reason string) {
	if readOnly {
		return nhi.PrivRead, false, ""
	}
	return nhi.PrivWrite, true, "deploy key with write access can push to " + repo
}

// classifyGitHub judges a GitHub grant from its normalised form, with the
// same tables the collector uses: the entitlement is "name:level" for
// permissions ("contents:write") and the scope name for classic tokens.
func classifyGitHub(g *nhi.Grant) (bool, string) {
	switch g.Kind {
	case GitHubRepoPermission:
		if _, level, ok := strings.Cut(g.Entitlement, ":"); ok {
			_, priv, why := GitHubDeployKey(level == "read", g.Scope)
			return priv, why
		}
	case GitHubAppPermission, GitHubTokenPermission:
		if name, level, ok := strings.Cut(g.Entitlement, ":"); ok {
			allRepos := g.Scope == "*" && !strings.HasPrefix(g.ID, GitHubTokenOrgPrefix)
			return GitHubPermission(name, level, allRepos)
		}
	case GitHubTokenScope:
		_, priv, why := GitHubClassicScope(g.Entitlement)
		return priv, why
	}
	if g.Privilege == nhi.PrivAdmin {
		return true, "admin permission"
	}
	return false, ""
}
