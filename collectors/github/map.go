package github

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

func id64(n int64) string { return strconv.FormatInt(n, 10) }

func used(t *time.Time, asOf time.Time, neverReason string) nhi.Usage {
	if t != nil && !t.IsZero() {
		return nhi.Usage{State: nhi.UsageUsed, LastUsed: t.UTC(), Source: usageSource, AsOf: asOf}
	}
	return nhi.Usage{State: nhi.UsageNeverUsed, Source: usageSource, AsOf: asOf, Reason: neverReason}
}

func notReported(asOf time.Time, reason string) nhi.Usage {
	return nhi.Usage{State: nhi.UsageNotReported, Source: usageSource, AsOf: asOf, Reason: reason}
}

// ownerHint builds an owner hint from a login; Active is set from org
// membership (members and outside collaborators) when that list was read.
func (d *orgData) ownerHint(source, login string) nhi.OwnerHint {
	h := nhi.OwnerHint{Source: source, Value: login}
	if d.peopleOK {
		a := d.people[strings.ToLower(login)]
		h.Active = &a
	}
	return h
}

func (c *Collector) tagHints(d *orgData, tags map[string]string) []nhi.OwnerHint {
	var out []nhi.OwnerHint
	for _, k := range c.cfg.OwnerTagKeys {
		v := strings.TrimSpace(tags[k])
		if v == "" {
			continue
		}
		h := nhi.OwnerHint{Source: "tag", Value: v}
		if d.peopleOK && !strings.Contains(v, "@") {
			a := d.people[strings.ToLower(v)]
			h.Active = &a
		}
		out = append(out, h)
	}
	return out
}

// sensitive are the permissions whose write level controls access,
// secrets, workflows or the organisation itself.
var sensitive = map[string]bool{
	"administration": true, "organization_administration": true, "members": true,
	"secrets": true, "organization_secrets": true, "workflows": true, "actions": true,
	"environments": true, "organization_personal_access_tokens": true,
	"organization_self_hosted_runners": true, "organization_user_blocking": true,
	"organization_custom_roles": true, "repository_hooks": true, "organization_hooks": true,
}

func privilegeOf(level string) nhi.Privilege {
	switch level {
	case "read":
		return nhi.PrivRead
	case "admin":
		return nhi.PrivAdmin
	}
	return nhi.PrivWrite
}

// permissionGrants turns App or token permissions into grants. orgWide is
// true when the repository permissions apply to every repository.
func permissionGrants(kind, scope string, perms map[string]string, orgWide bool, prefix string) []nhi.Grant {
	var out []nhi.Grant
	for _, name := range sortedKeys(perms) {
		level := perms[name]
		g := nhi.Grant{ID: kind + ":" + prefix + name, Kind: kind, Entitlement: name + ":" + level, Scope: scope, Privilege: privilegeOf(level)}
		switch {
		case level == "admin":
			g.Privileged, g.Reason = nhi.JudgedPrivileged, "admin permission "+name
		case level == "write" && sensitive[name]:
			g.Privileged, g.Reason = nhi.JudgedPrivileged, "write on "+name
		case level == "write" && orgWide:
			g.Privileged, g.Reason = nhi.JudgedPrivileged, "write on every repository of the organisation"
		}
		out = append(out, g)
	}
	return out
}

// classicScope gives the privilege of a classic OAuth scope and why it is
// privileged, if it is.
func classicScope(s string) (nhi.Privilege, string) {
	switch {
	case s == "delete_repo":
		return nhi.PrivAdmin, "can delete repositories"
	case strings.HasPrefix(s, "admin:") || s == "site_admin":
		return nhi.PrivAdmin, "administrative scope " + s
	case s == "repo":
		return nhi.PrivWrite, "full control of private repositories"
	case s == "workflow":
		return nhi.PrivWrite, "can change Actions workflows"
	case s == "write:org":
		return nhi.PrivWrite, "can change organisation membership"
	case strings.HasPrefix(s, "write:"), strings.HasPrefix(s, "delete:"), s == "public_repo", s == "user", s == "gist", s == "codespace", s == "project":
		return nhi.PrivWrite, ""
	}
	return nhi.PrivRead, ""
}

func sshFingerprint(pub string) string {
	f := strings.Fields(pub)
	if len(f) < 2 {
		return ""
	}
	b, err := base64.StdEncoding.DecodeString(f[1])
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return "SHA256:" + strings.TrimRight(base64.StdEncoding.EncodeToString(sum[:]), "=")
}

func (c *Collector) mapOrg(d *orgData, now time.Time) []nhi.Identity {
	var out []nhi.Identity
	// Identities carry the configured spelling of the organisation, the
	// same string as its Scope entry and its gaps; paths keep GitHub's.
	org := d.scope
	orgID := id64(d.org.ID)
	repoByID := map[int64]apiRepo{}
	for _, r := range d.repos {
		repoByID[r.ID] = r
	}

	// Deploy keys.
	for _, rid := range sortedIDs(d.keys) {
		r := repoByID[rid]
		for _, k := range d.keys[rid] {
			status := nhi.StatusActive
			if k.Enabled != nil && !*k.Enabled {
				status = nhi.StatusDisabled
			}
			u := used(k.LastUsed, now, "GitHub records no use of this key")
			level, priv, reason := "read", nhi.PrivRead, ""
			if !k.ReadOnly {
				level, priv, reason = "write", nhi.PrivWrite, "deploy key with write access can push to "+r.FullName
			}
			id := nhi.Identity{
				ID: nhi.MakeID(nhi.GitHub, "deploy-key", id64(k.ID)), Provider: nhi.GitHub, Kind: nhi.KindGitHubDeployKey,
				NativeID: id64(k.ID), Name: k.Title, Scope: org, Path: r.FullName, Created: k.CreatedAt, Status: status,
				Tags: copyTags(d.tags[rid]), Usage: u,
				Credentials: []nhi.Credential{{ID: id64(k.ID), Type: nhi.CredGitHubDeployKey, Name: k.Title, Created: k.CreatedAt,
					Status: status, Usage: u, Attributes: map[string]string{"fingerprint": sshFingerprint(k.Key), "read_only": strconv.FormatBool(k.ReadOnly)}}},
				Grants: []nhi.Grant{{ID: "repo-permission:contents", Kind: "repo-permission", Entitlement: "contents:" + level,
					Scope: r.FullName, Privilege: priv, Privileged: nhi.VerdictOf(!k.ReadOnly), Reason: reason}},
				Attributes: map[string]string{"repository": r.FullName, "repository_id": id64(rid), "read_only": strconv.FormatBool(k.ReadOnly),
					"verified": strconv.FormatBool(k.Verified), "repository_archived": strconv.FormatBool(r.Archived)},
			}
			if k.AddedBy != nil && *k.AddedBy != "" {
				id.OwnerHints = append(id.OwnerHints, d.ownerHint("github-added-by", *k.AddedBy))
			}
			id.OwnerHints = append(id.OwnerHints, c.tagHints(d, d.tags[rid])...)
			out = append(out, id)
		}
	}

	// GitHub App installations.
	for _, in := range d.installs {
		status := nhi.StatusActive
		attrs := map[string]string{"app_id": id64(in.AppID), "app_slug": in.AppSlug, "repository_selection": in.RepositorySelection}
		if in.SuspendedAt != nil && !in.SuspendedAt.IsZero() {
			status = nhi.StatusSuspended
			attrs["suspended_at"] = in.SuspendedAt.UTC().Format(time.RFC3339)
			if in.SuspendedBy != nil {
				attrs["suspended_by"] = in.SuspendedBy.Login
			}
		}
		if len(in.Events) > 0 {
			ev := append([]string(nil), in.Events...)
			sort.Strings(ev)
			attrs["events"] = strings.Join(ev, ",")
		}
		orgWide := in.RepositorySelection == "all"
		scope := "selected"
		if orgWide {
			scope = "*"
		}
		out = append(out, nhi.Identity{
			ID: nhi.MakeID(nhi.GitHub, "app-installation", id64(in.ID)), Provider: nhi.GitHub, Kind: nhi.KindGitHubAppInstallation,
			NativeID: id64(in.ID), Name: in.AppSlug, Scope: org, Created: in.CreatedAt, Status: status, ThirdParty: true,
			Usage:      notReported(now, "GitHub reports no last-used time for App installations"),
			Grants:     permissionGrants("app-permission", scope, in.Permissions, orgWide, ""),
			Attributes: attrs,
		})
	}

	// Fine-grained personal access tokens with access to the org.
	for _, p := range d.pats {
		tokenID := p.TokenID
		if tokenID == 0 {
			tokenID = p.ID
		}
		status := nhi.StatusActive
		var expires time.Time
		if p.TokenExpiresAt != nil {
			expires = p.TokenExpiresAt.UTC()
		}
		if p.TokenExpired || (!expires.IsZero() && !now.Before(expires)) {
			status = nhi.StatusExpired
		}
		u := used(p.TokenLastUsedAt, now, "GitHub records no use of this token")
		repoScope := "selected"
		if p.RepositorySelection == "all" {
			repoScope = "*"
		}
		grants := permissionGrants("token-permission", "*", p.Permissions.Organization, false, "org:")
		repos, reposKnown := d.patRepos[p.ID]
		switch {
		case p.RepositorySelection == "none":
		case p.RepositorySelection == "subset" && reposKnown:
			// One grant per permission and repository, so a repository
			// added to the token is drift.
			for _, full := range repos {
				for _, g := range permissionGrants("token-permission", full, p.Permissions.Repository, false, "repo:") {
					g.ID += "@" + full
					grants = append(grants, g)
				}
			}
		default:
			grants = append(grants, permissionGrants("token-permission", repoScope, p.Permissions.Repository, p.RepositorySelection == "all", "repo:")...)
		}
		out = append(out, nhi.Identity{
			ID: nhi.MakeID(nhi.GitHub, "fine-grained-token", orgID, id64(tokenID)), Provider: nhi.GitHub, Kind: nhi.KindGitHubFineGrainedPAT,
			NativeID: id64(tokenID), Name: p.TokenName, Scope: org, Created: p.AccessGrantedAt, Status: status,
			OwnerHints: []nhi.OwnerHint{d.ownerHint("token-owner", p.Owner.Login)},
			Usage:      u,
			Credentials: []nhi.Credential{{ID: id64(tokenID), Type: nhi.CredGitHubFineGrainedPAT, Name: p.TokenName,
				Created: p.AccessGrantedAt, Expires: expires, Status: status, Usage: u,
				Attributes: map[string]string{"created_source": "access_granted_at"}}},
			Grants:     grants,
			Attributes: patAttrs(p, repos, reposKnown),
		})
	}

	// Classic tokens and SSH keys authorised for SAML single sign-on.
	for _, a := range d.credAuths {
		var kind nhi.IdentityKind
		var ctype nhi.CredentialType
		name := a.AuthorizedNote
		switch strings.ToLower(a.CredentialType) {
		case "personal access token":
			kind, ctype = nhi.KindGitHubClassicPAT, nhi.CredGitHubClassicPAT
		case "ssh key":
			kind, ctype, name = nhi.KindGitHubSSHKey, nhi.CredGitHubSSHKey, a.AuthorizedTitle
		default:
			continue // OAuth and App user tokens are not inventoried here
		}
		if name == "" {
			name = a.Login + " " + a.CredentialType
		}
		status := nhi.StatusActive
		var expires time.Time
		if a.AuthorizedExpiresAt != nil {
			expires = a.AuthorizedExpiresAt.UTC()
			if !now.Before(expires) {
				status = nhi.StatusExpired
			}
		}
		u := used(a.CredentialAccessedAt, now, "GitHub records no access with this credential")
		credID := a.AuthorizedCredentialID
		if credID == 0 {
			credID = a.CredentialID
		}
		var grants []nhi.Grant
		for _, s := range uniqSorted(a.Scopes) {
			p, reason := classicScope(s)
			grants = append(grants, nhi.Grant{ID: "token-scope:" + s, Kind: "token-scope", Entitlement: s, Scope: "*",
				Privilege: p, Privileged: nhi.VerdictOf(reason != ""), Reason: reason})
		}
		attrs := map[string]string{"login": a.Login, "credential_type": a.CredentialType, "credential_id": id64(a.CredentialID)}
		if a.Fingerprint != "" {
			attrs["fingerprint"] = a.Fingerprint
		}
		out = append(out, nhi.Identity{
			ID: nhi.MakeID(nhi.GitHub, "credential-authorization", orgID, id64(a.CredentialID)), Provider: nhi.GitHub, Kind: kind,
			NativeID: id64(a.CredentialID), Name: name, Scope: org, Created: a.CredentialAuthorizedAt, Status: status,
			OwnerHints: []nhi.OwnerHint{d.ownerHint("token-owner", a.Login)},
			Usage:      u,
			Credentials: []nhi.Credential{{ID: id64(credID), Type: ctype, Name: name, Created: a.CredentialAuthorizedAt,
				Expires: expires, Status: status, Usage: u, Attributes: map[string]string{"created_source": "credential_authorized_at"}}},
			Grants: grants, Attributes: attrs,
		})
	}

	// Actions secrets: one identity per organisation, repository and
	// environment that holds secrets.
	if len(d.orgSecs) > 0 {
		out = append(out, c.actionsIdentity(now, nhi.MakeID(nhi.GitHub, "actions", "org", orgID), orgID,
			d.login+" (organization secrets)", org, "", nil, d, d.orgSecs, map[string]string{"level": "organization"}))
	}
	for _, rid := range sortedIDs(d.repoSecs) {
		r := repoByID[rid]
		if secs := d.repoSecs[rid]; len(secs) > 0 {
			out = append(out, c.actionsIdentity(now, nhi.MakeID(nhi.GitHub, "actions", "repo", id64(rid)), id64(rid),
				r.FullName, org, r.FullName, d.tags[rid], d, secs, map[string]string{"level": "repository", "repository": r.FullName}))
		}
	}
	for _, rid := range sortedIDs(d.envSecs) {
		r := repoByID[rid]
		envs, ok := d.envs[rid]
		if !ok {
			envs = d.gql[rid].Environments.Nodes
		}
		for _, env := range envs {
			secs := d.envSecs[rid][env.Name]
			if len(secs) == 0 {
				continue
			}
			out = append(out, c.actionsIdentity(now, nhi.MakeID(nhi.GitHub, "actions", "environment", id64(env.DatabaseID)), id64(env.DatabaseID),
				r.FullName+":"+env.Name, org, r.FullName, d.tags[rid], d, secs,
				map[string]string{"level": "environment", "repository": r.FullName, "environment": env.Name}))
		}
	}
	return out
}

func patAttrs(p apiPAT, repos []string, reposKnown bool) map[string]string {
	a := map[string]string{"pat_id": id64(p.ID), "owner": p.Owner.Login, "repository_selection": p.RepositorySelection,
		"access_granted_at": p.AccessGrantedAt.UTC().Format(time.RFC3339)}
	if reposKnown {
		a["repositories"] = strings.Join(repos, ",")
		a["repository_count"] = strconv.Itoa(len(repos))
	}
	return a
}

func (c *Collector) actionsIdentity(now time.Time, id, native, name, org, path string, tags map[string]string, d *orgData, secs []apiSecret, attrs map[string]string) nhi.Identity {
	reason := "GitHub does not report when an Actions secret is read"
	ident := nhi.Identity{
		ID: id, Provider: nhi.GitHub, Kind: nhi.KindGitHubActions, NativeID: native, Name: name, Scope: org, Path: path,
		Status: nhi.StatusActive, Tags: copyTags(tags), OwnerHints: c.tagHints(d, tags), Usage: notReported(now, reason), Attributes: attrs,
	}
	for _, s := range secs {
		// Created is when the current value was set: an update replaces
		// it. Without updated_at, created_at is the best fact there is.
		set := s.UpdatedAt
		if set.IsZero() {
			set = s.CreatedAt
		}
		cred := nhi.Credential{ID: s.Name, Type: nhi.CredGitHubActionsSecret, Name: s.Name,
			Created: set.UTC(), Status: nhi.StatusActive, Usage: notReported(now, reason), Attributes: map[string]string{}}
		if !s.CreatedAt.IsZero() {
			cred.Attributes["secret_created_at"] = s.CreatedAt.UTC().Format(time.RFC3339)
		}
		if !s.UpdatedAt.IsZero() {
			cred.Attributes["updated_at"] = s.UpdatedAt.UTC().Format(time.RFC3339)
		}
		if s.Visibility != "" {
			cred.Attributes["visibility"] = s.Visibility
		}
		if cloud, pat := c.cloudSecret(s.Name); cloud != "" {
			when := "value date unknown"
			if !set.IsZero() {
				age := int(now.Sub(set).Hours() / 24)
				when = fmt.Sprintf("value last set %d days ago", age)
				cred.Attributes["age_days"] = strconv.Itoa(age)
			}
			cred.Signals = append(cred.Signals, nhi.Signal{Code: nhi.SignalCloudSecretInCI,
				Detail: fmt.Sprintf("%s looks like a long-lived %s credential (pattern %s), %s; use OIDC federation", s.Name, cloud, pat, when)})
			cred.Attributes["cloud"] = cloud
		}
		if len(cred.Attributes) == 0 {
			cred.Attributes = nil
		}
		ident.Credentials = append(ident.Credentials, cred)
	}
	return ident
}

func (c *Collector) cloudSecret(name string) (cloud, pattern string) {
	for _, re := range c.patterns {
		if !re.MatchString(name) {
			continue
		}
		// Classify by whole words of the name: "ALARM_GCP_SA_KEY" is Google,
		// not Azure; the last cloud word wins ("AWS_TO_GCP_SA_KEY" is gcp).
		cloud = "cloud"
		for _, w := range strings.FieldsFunc(strings.ToUpper(name), func(r rune) bool { return r == '_' || r == '-' }) {
			switch w {
			case "AWS":
				cloud = "aws"
			case "AZURE", "ARM", "AZ":
				cloud = "azure"
			case "GCP", "GOOGLE", "GCLOUD":
				cloud = "gcp"
			}
		}
		return cloud, re.String()[len("(?i)"):]
	}
	return "", ""
}

func copyTags(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func uniqSorted(s []string) []string {
	m := map[string]bool{}
	for _, x := range s {
		m[strings.TrimSpace(x)] = true
	}
	delete(m, "")
	return sortedKeys(m)
}

func sortedIDs[V any](m map[int64]V) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
