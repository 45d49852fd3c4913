package github

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/privilege"
)

// Raw API shapes, decoded from the JSON so that fields go-github lacks
// (deploy key "enabled") are kept.
type (
	apiOrg struct {
		ID    int64  `json:"id"`
		Login string `json:"login"`
		Name  string `json:"name"`
	}
	apiRepo struct {
		ID         int64  `json:"id"`
		Name       string `json:"name"`
		FullName   string `json:"full_name"`
		Archived   bool   `json:"archived"`
		Visibility string `json:"visibility"`
	}
	apiKey struct {
		ID        int64   `json:"id"`
		Key       string  `json:"key"`
		Title     string  `json:"title"`
		ReadOnly  bool    `json:"read_only"`
		Verified  bool    `json:"verified"`
		CreatedAt stamp   `json:"created_at"`
		AddedBy   *string `json:"added_by"`
		LastUsed  stamp   `json:"last_used"`
		Enabled   *bool   `json:"enabled"`
	}
	apiInstallation struct {
		ID                  int64             `json:"id"`
		AppID               int64             `json:"app_id"`
		AppSlug             string            `json:"app_slug"`
		RepositorySelection string            `json:"repository_selection"`
		Permissions         map[string]string `json:"permissions"`
		Events              []string          `json:"events"`
		CreatedAt           stamp             `json:"created_at"`
		SuspendedAt         stamp             `json:"suspended_at"`
		SuspendedBy         *struct {
			Login string `json:"login"`
		} `json:"suspended_by"`
	}
	apiPAT struct {
		ID    int64 `json:"id"`
		Owner struct {
			Login string `json:"login"`
			ID    int64  `json:"id"`
		} `json:"owner"`
		RepositorySelection string `json:"repository_selection"`
		Permissions         struct {
			Organization map[string]string `json:"organization"`
			Repository   map[string]string `json:"repository"`
		} `json:"permissions"`
		AccessGrantedAt stamp  `json:"access_granted_at"`
		TokenID         int64  `json:"token_id"`
		TokenName       string `json:"token_name"`
		TokenExpired    bool   `json:"token_expired"`
		TokenExpiresAt  stamp  `json:"token_expires_at"`
		TokenLastUsedAt stamp  `json:"token_last_used_at"`
	}
	apiCredAuth struct {
		Login                   string   `json:"login"`
		CredentialID            int64    `json:"credential_id"`
		CredentialType          string   `json:"credential_type"`
		CredentialAuthorizedAt  stamp    `json:"credential_authorized_at"`
		CredentialAccessedAt    stamp    `json:"credential_accessed_at"`
		Scopes                  []string `json:"scopes"`
		Fingerprint             string   `json:"fingerprint"`
		AuthorizedCredentialID  int64    `json:"authorized_credential_id"`
		AuthorizedTitle         string   `json:"authorized_credential_title"`
		AuthorizedNote          string   `json:"authorized_credential_note"`
		AuthorizedExpiresAt     stamp    `json:"authorized_credential_expires_at"`
		TokenLastEightNeverRead struct{} `json:"-"`
	}
	apiSecret struct {
		Name       string `json:"name"`
		CreatedAt  stamp  `json:"created_at"`
		UpdatedAt  stamp  `json:"updated_at"`
		Visibility string `json:"visibility"`
	}
	apiUser struct {
		Login string `json:"login"`
	}
	apiPropertyValues struct {
		RepositoryID int64 `json:"repository_id"`
		Properties   []struct {
			Name  string `json:"property_name"`
			Value any    `json:"value"`
		} `json:"properties"`
	}
	gqlRepo struct {
		DatabaseID    int64  `json:"databaseId"`
		Name          string `json:"name"`
		NameWithOwner string `json:"nameWithOwner"`
		IsArchived    bool   `json:"isArchived"`
		DeployKeys    struct {
			TotalCount int `json:"totalCount"`
		} `json:"deployKeys"`
		Environments struct {
			TotalCount int      `json:"totalCount"`
			Nodes      []gqlEnv `json:"nodes"`
		} `json:"environments"`
	}
	gqlEnv struct {
		DatabaseID int64  `json:"databaseId"`
		Name       string `json:"name"`
	}
	apiEnv struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
)

// Item keys: the id that tells an item of a list apart ("" when it lacks
// one, and the item is left out).
func (r apiRepo) itemKey() string           { return idKey(r.ID) }
func (k apiKey) itemKey() string            { return idKey(k.ID) }
func (in apiInstallation) itemKey() string  { return idKey(in.ID) }
func (p apiPAT) itemKey() string            { return idKey(p.ID) }
func (a apiCredAuth) itemKey() string       { return idKey(a.CredentialID) }
func (s apiSecret) itemKey() string         { return s.Name }
func (u apiUser) itemKey() string           { return strings.ToLower(u.Login) }
func (v apiPropertyValues) itemKey() string { return idKey(v.RepositoryID) }
func (e apiEnv) itemKey() string {
	if e.ID <= 0 {
		return ""
	}
	return e.Name
}

func idKey(id int64) string {
	if id <= 0 {
		return ""
	}
	return id64(id)
}

// orgData is everything read about one organisation. A list whose call
// failed stays empty: its gap says so, and nothing is made up in its place.
type orgData struct {
	org       apiOrg
	login     string // GitHub's spelling, for paths
	scope     string // the configured spelling: Scope of identities and gaps
	repos     []apiRepo
	gql       map[int64]gqlRepo // empty when the GraphQL query failed
	people    map[string]bool   // members and outside collaborators, lower case
	peopleOK  bool
	tags      map[int64]map[string]string
	keys      map[int64][]apiKey
	installs  []apiInstallation
	pats      []apiPAT
	patRepos  map[int64][]string // pat_id -> full names, for subset tokens whose list was read
	credAuths []apiCredAuth
	orgSecs   []apiSecret
	repoSecs  map[int64][]apiSecret
	envSecs   map[int64]map[string][]apiSecret // repo id -> env name -> secrets
	envs      map[int64][]gqlEnv               // repo id -> environments listed over REST (GraphQL failed, or gave only the first 100)
	badFields []badField                       // timestamps that are not, noted while mapping
	mu        sync.Mutex
}

func newOrgData(org string) *orgData {
	return &orgData{login: org, scope: org, gql: map[int64]gqlRepo{}, people: map[string]bool{}, tags: map[int64]map[string]string{},
		keys: map[int64][]apiKey{}, patRepos: map[int64][]string{}, envs: map[int64][]gqlEnv{},
		repoSecs: map[int64][]apiSecret{}, envSecs: map[int64]map[string][]apiSecret{}}
}

// tags turns a repository's custom property values into tags; a
// multi-select value is joined with commas.
func (v apiPropertyValues) tags() map[string]string {
	tags := map[string]string{}
	for _, p := range v.Properties {
		switch x := p.Value.(type) {
		case string:
			tags[p.Name] = x
		case []any:
			var parts []string
			for _, e := range x {
				parts = append(parts, fmt.Sprint(e))
			}
			tags[p.Name] = strings.Join(parts, ",")
		}
	}
	return tags
}

func id64(n int64) string { return strconv.FormatInt(n, 10) }

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

// permissionGrants turns App or token permissions into grants, judged by
// internal/privilege. allRepos is true when the permissions apply to every
// repository of the organisation.
func permissionGrants(kind, scope string, perms map[string]string, allRepos bool, prefix string) []nhi.Grant {
	var out []nhi.Grant
	for _, name := range sortedKeys(perms) {
		level := perms[name]
		priv, reason := privilege.GitHubPermission(name, level, allRepos)
		out = append(out, nhi.Grant{ID: kind + ":" + prefix + name, Kind: kind, Entitlement: name + ":" + level, Scope: scope,
			Privilege: privilege.GitHubLevel(level), Privileged: nhi.VerdictOf(priv), Reason: reason})
	}
	return out
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

// mapOrg maps what was read about one organisation. Identities carry the
// configured spelling of the organisation, the same string as its Scope
// entry and its gaps; paths keep GitHub's.
func (c *Collector) mapOrg(d *orgData, now time.Time) []nhi.Identity {
	repoByID := map[int64]apiRepo{}
	for _, r := range d.repos {
		repoByID[r.ID] = r
	}
	var out []nhi.Identity
	out = append(out, c.mapDeployKeys(d, repoByID, now)...)
	out = append(out, mapInstallations(d, now)...)
	out = append(out, mapTokens(d, now)...)
	out = append(out, mapCredAuths(d, now)...)
	out = append(out, c.mapActions(d, repoByID, now)...)
	return out
}

func (c *Collector) mapDeployKeys(d *orgData, repoByID map[int64]apiRepo, now time.Time) []nhi.Identity {
	var out []nhi.Identity
	for _, rid := range sortedIDs(d.keys) {
		r := repoByID[rid]
		for _, k := range d.keys[rid] {
			status := nhi.StatusActive
			if k.Enabled != nil && !*k.Enabled {
				status = nhi.StatusDisabled
			}
			what := "deploy key " + id64(k.ID)
			u := d.usage(opListDeployKeys, what, "last_used", k.LastUsed, now, "GitHub records no use of this key")
			created := d.field(opListDeployKeys, what, "created_at", k.CreatedAt, nhi.CredentialsFacet(nhi.CredGitHubDeployKey), facetUsage)
			level := "read"
			if !k.ReadOnly {
				level = "write"
			}
			p, priv, reason := privilege.GitHubDeployKey(k.ReadOnly, r.FullName)
			id := nhi.Identity{
				ID: nhi.MakeID(nhi.GitHub, "deploy-key", id64(k.ID)), Provider: nhi.GitHub, Kind: nhi.KindGitHubDeployKey,
				NativeID: id64(k.ID), Name: k.Title, Scope: d.scope, Path: r.FullName, Created: created, Status: status,
				Tags: copyTags(d.tags[rid]), Usage: u,
				Credentials: []nhi.Credential{{ID: id64(k.ID), Type: nhi.CredGitHubDeployKey, Name: k.Title, Created: created,
					Status: status, Usage: u, Attributes: map[string]string{"fingerprint": sshFingerprint(k.Key), "read_only": strconv.FormatBool(k.ReadOnly)}}},
				Grants: []nhi.Grant{{ID: privilege.GitHubRepoPermission + ":contents", Kind: privilege.GitHubRepoPermission, Entitlement: "contents:" + level,
					Scope: r.FullName, Privilege: p, Privileged: nhi.VerdictOf(priv), Reason: reason}},
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
	return out
}

func mapInstallations(d *orgData, now time.Time) []nhi.Identity {
	var out []nhi.Identity
	for _, in := range d.installs {
		status := nhi.StatusActive
		attrs := map[string]string{"app_id": id64(in.AppID), "app_slug": in.AppSlug, "repository_selection": in.RepositorySelection}
		what := "app installation " + id64(in.ID)
		created := d.field(opListInstallations, what, "created_at", in.CreatedAt, nhi.IdentitiesFacet(nhi.KindGitHubAppInstallation))
		if in.SuspendedAt.present() {
			// Given at all, even malformed: the installation is suspended.
			status = nhi.StatusSuspended
			d.field(opListInstallations, what, "suspended_at", in.SuspendedAt, nhi.IdentitiesFacet(nhi.KindGitHubAppInstallation))
			if at := in.SuspendedAt.rfc3339(); at != "" {
				attrs["suspended_at"] = at
			}
			if in.SuspendedBy != nil {
				attrs["suspended_by"] = in.SuspendedBy.Login
			}
		}
		if len(in.Events) > 0 {
			ev := append([]string(nil), in.Events...)
			sort.Strings(ev)
			attrs["events"] = strings.Join(ev, ",")
		}
		allRepos := in.RepositorySelection == "all"
		scope := "selected"
		if allRepos {
			scope = "*"
		}
		out = append(out, nhi.Identity{
			ID: nhi.MakeID(nhi.GitHub, "app-installation", id64(in.ID)), Provider: nhi.GitHub, Kind: nhi.KindGitHubAppInstallation,
			NativeID: id64(in.ID), Name: in.AppSlug, Scope: d.scope, Created: created, Status: status, ThirdParty: true,
			Usage:      notReported(now, "GitHub reports no last-used time for App installations"),
			Grants:     permissionGrants(privilege.GitHubAppPermission, scope, in.Permissions, allRepos, ""),
			Attributes: attrs,
		})
	}
	return out
}

// mapTokens maps the fine-grained personal access tokens with access to
// the organisation.
func mapTokens(d *orgData, now time.Time) []nhi.Identity {
	var out []nhi.Identity
	orgID := id64(d.org.ID)
	for _, p := range d.pats {
		tokenID := p.TokenID
		if tokenID == 0 {
			tokenID = p.ID
		}
		what, credFacet := "fine-grained token "+id64(tokenID), nhi.CredentialsFacet(nhi.CredGitHubFineGrainedPAT)
		status := nhi.StatusActive
		expires := d.field(opListPATGrants, what, "token_expires_at", p.TokenExpiresAt, credFacet)
		if p.TokenExpired || (!expires.IsZero() && !now.Before(expires)) {
			status = nhi.StatusExpired
		}
		u := d.usage(opListPATGrants, what, "token_last_used_at", p.TokenLastUsedAt, now, "GitHub records no use of this token")
		granted := d.field(opListPATGrants, what, "access_granted_at", p.AccessGrantedAt, credFacet, facetUsage)
		repos, reposKnown := d.patRepos[p.ID]
		out = append(out, nhi.Identity{
			ID: nhi.MakeID(nhi.GitHub, "fine-grained-token", orgID, id64(tokenID)), Provider: nhi.GitHub, Kind: nhi.KindGitHubFineGrainedPAT,
			NativeID: id64(tokenID), Name: p.TokenName, Scope: d.scope, Created: granted, Status: status,
			OwnerHints: []nhi.OwnerHint{d.ownerHint("token-owner", p.Owner.Login)},
			Usage:      u,
			Credentials: []nhi.Credential{{ID: id64(tokenID), Type: nhi.CredGitHubFineGrainedPAT, Name: p.TokenName,
				Created: granted, Expires: expires, Status: status, Usage: u,
				Attributes: map[string]string{"created_source": "access_granted_at"}}},
			Grants:     tokenGrants(p, repos, reposKnown),
			Attributes: patAttrs(p, repos, reposKnown),
		})
	}
	return out
}

// tokenGrants are a fine-grained token's organisation permissions (scope
// "*") and its repository permissions: on every repository (scope "*"),
// or per repository for a token limited to a subset, so that a repository
// added to the token is drift. When a subset token's repository list could
// not be read its repository grants are left out (the gap hides
// grants:token-permission): a grant's id never changes shape because a
// call failed.
func tokenGrants(p apiPAT, repos []string, reposKnown bool) []nhi.Grant {
	kind := privilege.GitHubTokenPermission
	grants := permissionGrants(kind, "*", p.Permissions.Organization, false, "org:")
	switch p.RepositorySelection {
	case "none":
	case "subset":
		if !reposKnown {
			break
		}
		for _, full := range repos {
			for _, g := range permissionGrants(kind, full, p.Permissions.Repository, false, "repo:") {
				g.ID += "@" + full
				grants = append(grants, g)
			}
		}
	case "all":
		grants = append(grants, permissionGrants(kind, "*", p.Permissions.Repository, true, "repo:")...)
	default:
		// A selection GitHub did not document: the repositories are
		// unknown, the permissions are kept unscoped.
		grants = append(grants, permissionGrants(kind, "selected", p.Permissions.Repository, false, "repo:")...)
	}
	return grants
}

// credAuthKinds maps a SAML authorisation's credential_type (as the
// description enumerates them, lower case) to its identity kind and
// credential type.
var credAuthKinds = map[string]struct {
	kind  nhi.IdentityKind
	ctype nhi.CredentialType
}{
	"personal access token": {nhi.KindGitHubClassicPAT, nhi.CredGitHubClassicPAT},
	"ssh key":               {nhi.KindGitHubSSHKey, nhi.CredGitHubSSHKey},
	"oauth app token":       {nhi.KindGitHubOAuthAppToken, nhi.CredGitHubOAuthAppToken},
	"github app token":      {nhi.KindGitHubAppUserToken, nhi.CredGitHubAppUserToken},
}

// mapCredAuths maps the credentials authorised for SAML single sign-on:
// classic tokens, SSH keys, OAuth app tokens and GitHub App user tokens.
// An identity is keyed by the credential's own id
// (authorized_credential_id), which stays the same when its owner
// authorises it again; credential_id names this authorisation, which the
// control removes. A type the description does not list is a gap, never
// dropped silently.
func mapCredAuths(d *orgData, now time.Time) []nhi.Identity {
	var out []nhi.Identity
	orgID := id64(d.org.ID)
	for _, a := range latestAuths(d.credAuths) {
		what := "credential authorization " + id64(a.CredentialID)
		k, ok := credAuthKinds[strings.ToLower(a.CredentialType)]
		if !ok {
			d.badFields = append(d.badFields, badField{op: opListSAMLAuths, facets: facetsSAML,
				detail: fmt.Sprintf("%s: credential_type %.40q is not one nhiscan inventories; left out", what, a.CredentialType)})
			continue
		}
		name := a.AuthorizedNote
		if k.kind == nhi.KindGitHubSSHKey {
			name = a.AuthorizedTitle
		}
		if name == "" {
			name = a.Login + " " + a.CredentialType
		}
		credFacet := nhi.CredentialsFacet(k.ctype)
		status := nhi.StatusActive
		expires := d.field(opListSAMLAuths, what, "authorized_credential_expires_at", a.AuthorizedExpiresAt, credFacet)
		if !expires.IsZero() && !now.Before(expires) {
			status = nhi.StatusExpired
		}
		u := d.usage(opListSAMLAuths, what, "credential_accessed_at", a.CredentialAccessedAt, now, "GitHub records no access with this credential")
		authorized := d.field(opListSAMLAuths, what, "credential_authorized_at", a.CredentialAuthorizedAt, credFacet, facetUsage)
		native, key := id64(a.AuthorizedCredentialID), []string{orgID, id64(a.AuthorizedCredentialID)}
		if a.AuthorizedCredentialID <= 0 {
			// The description allows null: key by this authorisation, in
			// a shape no credential id can take.
			native, key = id64(a.CredentialID), []string{orgID, "authorization", id64(a.CredentialID)}
		}
		attrs := map[string]string{"login": a.Login, "credential_type": a.CredentialType, "credential_id": id64(a.CredentialID)}
		if a.AuthorizedCredentialID > 0 {
			attrs["authorized_credential_id"] = native
		}
		if a.Fingerprint != "" {
			attrs["fingerprint"] = a.Fingerprint
		}
		out = append(out, nhi.Identity{
			ID: nhi.MakeID(nhi.GitHub, append([]string{"credential-authorization"}, key...)...), Provider: nhi.GitHub, Kind: k.kind,
			NativeID: native, Name: name, Scope: d.scope, Created: authorized, Status: status,
			ThirdParty: k.kind == nhi.KindGitHubOAuthAppToken || k.kind == nhi.KindGitHubAppUserToken,
			OwnerHints: []nhi.OwnerHint{d.ownerHint("token-owner", a.Login)},
			Usage:      u,
			Credentials: []nhi.Credential{{ID: native, Type: k.ctype, Name: name, Created: authorized,
				Expires: expires, Status: status, Usage: u, Attributes: map[string]string{"created_source": "credential_authorized_at"}}},
			Grants: scopeGrants(a.Scopes), Attributes: attrs,
		})
	}
	return out
}

// latestAuths keeps, of the authorisations of one credential, the latest
// (the highest credential_id): a credential authorised again may be
// listed twice while GitHub replaces the old authorisation.
func latestAuths(auths []apiCredAuth) []apiCredAuth {
	latest := map[int64]int{}
	var out []apiCredAuth
	for _, a := range auths {
		if a.AuthorizedCredentialID <= 0 {
			out = append(out, a)
			continue
		}
		i, ok := latest[a.AuthorizedCredentialID]
		switch {
		case !ok:
			latest[a.AuthorizedCredentialID] = len(out)
			out = append(out, a)
		case a.CredentialID > out[i].CredentialID:
			out[i] = a
		}
	}
	return out
}

// scopeGrants are a classic token's OAuth scopes.
func scopeGrants(scopes []string) []nhi.Grant {
	var grants []nhi.Grant
	for _, s := range uniqSorted(scopes) {
		p, priv, reason := privilege.GitHubClassicScope(s)
		grants = append(grants, nhi.Grant{ID: privilege.GitHubTokenScope + ":" + s, Kind: privilege.GitHubTokenScope, Entitlement: s, Scope: "*",
			Privilege: p, Privileged: nhi.VerdictOf(priv), Reason: reason})
	}
	return grants
}

// mapActions maps the Actions secrets: one identity per organisation,
// repository and environment that holds secrets.
func (c *Collector) mapActions(d *orgData, repoByID map[int64]apiRepo, now time.Time) []nhi.Identity {
	var out []nhi.Identity
	orgID := id64(d.org.ID)
	if len(d.orgSecs) > 0 {
		out = append(out, c.actionsIdentity(now, nhi.MakeID(nhi.GitHub, "actions", "org", orgID), orgID,
			d.login+" (organization secrets)", d.scope, "", nil, d, d.orgSecs, map[string]string{"level": "organization"}))
	}
	for _, rid := range sortedIDs(d.repoSecs) {
		r := repoByID[rid]
		if secs := d.repoSecs[rid]; len(secs) > 0 {
			out = append(out, c.actionsIdentity(now, nhi.MakeID(nhi.GitHub, "actions", "repo", id64(rid)), id64(rid),
				r.FullName, d.scope, r.FullName, d.tags[rid], d, secs, map[string]string{"level": "repository", "repository": r.FullName}))
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
				r.FullName+":"+env.Name, d.scope, r.FullName, d.tags[rid], d, secs,
				map[string]string{"level": "environment", "repository": r.FullName, "environment": env.Name}))
		}
	}
	return out
}

func patAttrs(p apiPAT, repos []string, reposKnown bool) map[string]string {
	a := map[string]string{"pat_id": id64(p.ID), "owner": p.Owner.Login, "repository_selection": p.RepositorySelection}
	if at := p.AccessGrantedAt.rfc3339(); at != "" {
		a["access_granted_at"] = at
	}
	if reposKnown {
		a["repositories"] = strings.Join(repos, ",")
		a["repository_count"] = strconv.Itoa(len(repos))
	}
	return a
}

// secretOps names the list of Actions secrets at each level.
var secretOps = map[string]string{"organization": opListOrgSecrets, "repository": opListRepoSecrets, "environment": opListEnvSecrets}

func (c *Collector) actionsIdentity(now time.Time, id, native, name, org, path string, tags map[string]string, d *orgData, secs []apiSecret, attrs map[string]string) nhi.Identity {
	reason := "GitHub does not report when an Actions secret is read"
	ident := nhi.Identity{
		ID: id, Provider: nhi.GitHub, Kind: nhi.KindGitHubActions, NativeID: native, Name: name, Scope: org, Path: path,
		Status: nhi.StatusActive, Tags: copyTags(tags), OwnerHints: c.tagHints(d, tags), Usage: notReported(now, reason), Attributes: attrs,
	}
	op := secretOps[attrs["level"]]
	for _, s := range secs {
		// Created is when the current value was set: an update replaces
		// it. Without updated_at, created_at is the best fact there is.
		what, facet := "Actions secret "+s.Name+" of "+name, nhi.CredentialsFacet(nhi.CredGitHubActionsSecret)
		set := d.field(op, what, "updated_at", s.UpdatedAt, facet)
		if created := d.field(op, what, "created_at", s.CreatedAt, facet); set.IsZero() {
			set = created
		}
		cred := nhi.Credential{ID: s.Name, Type: nhi.CredGitHubActionsSecret, Name: s.Name,
			Created: set, Status: nhi.StatusActive, Usage: notReported(now, reason), Attributes: map[string]string{}}
		if at := s.CreatedAt.rfc3339(); at != "" {
			cred.Attributes["secret_created_at"] = at
		}
		if at := s.UpdatedAt.rfc3339(); at != "" {
			cred.Attributes["updated_at"] = at
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
