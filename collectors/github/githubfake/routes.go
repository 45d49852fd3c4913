package githubfake

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

func (s *Server) routes(mux *http.ServeMux) {
	add := func(pattern string, rt route) { mux.Handle(pattern, s.wrap(rt)) }
	add("POST /app/installations/{installation_id}/access_tokens", route{op: OpCreateInstallationToken, jwt: true, handle: s.createToken})
	add("GET /orgs/{org}/installation", route{op: OpGetOrgInstallation, jwt: true, handle: s.getOrgInstallation})
	add("GET /orgs/{org}", route{op: OpGetOrg, handle: s.getOrg})
	add("GET /orgs/{org}/repos", route{op: OpListRepos, appPerm: "metadata:read", handle: s.listRepos})
	add("POST /graphql", s.graphqlRoute())
	add("GET /repos/{owner}/{repo}/keys", route{op: OpListDeployKeys, appPerm: "administration:read", classic: "repo", handle: s.listKeys})
	add("GET /repos/{owner}/{repo}/keys/{key_id}", route{op: OpGetDeployKey, appPerm: "administration:read", classic: "repo", handle: s.getKey})
	add("POST /repos/{owner}/{repo}/keys", route{op: OpCreateDeployKey, appPerm: "administration:write", classic: "repo", handle: s.createKey})
	add("DELETE /repos/{owner}/{repo}/keys/{key_id}", route{op: OpDeleteDeployKey, appPerm: "administration:write", classic: "repo", handle: s.deleteKey})
	add("GET /orgs/{org}/installations", route{op: OpListInstallations, appPerm: "organization_administration:read", classic: "read:org", handle: s.listInstallations})
	add("GET /orgs/{org}/personal-access-tokens", route{op: OpListPATGrants, appPerm: "organization_personal_access_tokens:read", classic: "-", handle: s.listPATs})
	add("GET /orgs/{org}/personal-access-tokens/{pat_id}/repositories", route{op: OpListPATRepositories, appPerm: "organization_personal_access_tokens:read", classic: "-", handle: s.listPATRepos})
	add("POST /orgs/{org}/personal-access-tokens/{pat_id}", route{op: OpUpdatePATAccess, appPerm: "organization_personal_access_tokens:write", classic: "-", handle: s.updatePAT})
	add("GET /orgs/{org}/credential-authorizations", route{op: OpListSAMLAuthorizations, classic: "app", handle: s.listCredAuths})
	add("DELETE /orgs/{org}/credential-authorizations/{credential_id}", route{op: OpRemoveSAMLAuthorization, classic: "app", handle: s.removeCredAuth})
	add("GET /orgs/{org}/actions/secrets", route{op: OpListOrgSecrets, appPerm: "organization_secrets:read", classic: "admin:org", handle: s.listOrgSecrets})
	add("GET /repos/{owner}/{repo}/actions/secrets", route{op: OpListRepoSecrets, appPerm: "secrets:read", classic: "repo", handle: s.listRepoSecrets})
	add("GET /repos/{owner}/{repo}/environments/{env}/secrets", route{op: OpListEnvSecrets, appPerm: "environments:read", classic: "repo", handle: s.listEnvSecrets})
	add("GET /repos/{owner}/{repo}/environments", route{op: OpListEnvironments, appPerm: "actions:read", classic: "repo", handle: s.listEnvironments})
	add("GET /orgs/{org}/members", route{op: OpListMembers, appPerm: "members:read", classic: "read:org", handle: s.listMembers})
	add("GET /orgs/{org}/outside_collaborators", route{op: OpListOutside, appPerm: "members:read", classic: "read:org", handle: s.listOutside})
	add("GET /orgs/{org}/properties/values", route{op: OpListPropertyValues, appPerm: "organization_custom_properties:read", classic: "read:org", handle: s.listPropertyValues})
}

func notFound() response {
	return response{status: http.StatusNotFound, body: errBody("Not Found", "https://docs.github.com/rest")}
}

func (s *Server) createToken(c *call) response {
	id, _ := strconv.ParseInt(c.r.PathValue("installation_id"), 10, 64)
	for org, in := range s.seed.App.Installations {
		if in.ID != id {
			continue
		}
		b := make([]byte, 18)
		_, _ = rand.Read(b)
		tok := "ghs_" + hex.EncodeToString(b)
		exp := s.now().Add(time.Hour).UTC()
		s.tokens[tok] = issuedToken{org: org, perms: in.Permissions, repos: in.selected(), expires: exp}
		return response{status: http.StatusCreated, body: map[string]any{
			"token": tok, "expires_at": exp.Format(time.RFC3339),
			"permissions": in.Permissions, "repository_selection": in.selection(),
		}}
	}
	return notFound()
}

func (in AppInstallation) selection() string {
	if in.Repositories != nil {
		return "selected"
	}
	return "all"
}

func (in AppInstallation) selected() map[string]bool {
	if in.Repositories == nil {
		return nil
	}
	m := map[string]bool{}
	for _, r := range in.Repositories {
		m[strings.ToLower(r)] = true
	}
	return m
}

func (s *Server) getOrgInstallation(c *call) response {
	if s.seed.App == nil {
		return notFound()
	}
	for org, in := range s.seed.App.Installations {
		if strings.EqualFold(org, c.org.Login) {
			return response{body: map[string]any{
				"id": in.ID, "app_id": s.seed.App.ID, "target_type": "Organization",
				"account":     map[string]any{"login": c.org.Login, "id": c.org.ID, "type": "Organization"},
				"permissions": in.Permissions, "repository_selection": in.selection(),
			}}
		}
	}
	return notFound()
}

func (s *Server) getOrg(c *call) response {
	return response{body: map[string]any{"login": c.org.Login, "id": c.org.ID, "name": c.org.Name, "type": "Organization"}}
}

func (o *orgState) sortedRepos() []*Repo {
	out := make([]*Repo, 0, len(o.Repos))
	for i := range o.Repos {
		out = append(out, &o.Repos[i])
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out
}

func (s *Server) listRepos(c *call) response {
	var items []any
	for _, r := range c.visibleRepos() {
		vis := "public"
		if r.Private {
			vis = "private"
		}
		items = append(items, map[string]any{
			"id": r.ID, "node_id": "R_" + strconv.FormatInt(r.ID, 10), "name": r.Name,
			"full_name": c.org.Login + "/" + r.Name, "private": r.Private, "visibility": vis,
			"archived": r.Archived, "owner": map[string]any{"login": c.org.Login, "id": c.org.ID, "type": "Organization"},
			"created_at": ts(r.Created), "pushed_at": ts(r.Pushed),
		})
	}
	return response{items: nonNil(items)}
}

// visibleRepos are the org's repositories the caller may see, by name.
func (c *call) visibleRepos() []*Repo {
	var out []*Repo
	for _, r := range c.org.sortedRepos() {
		if c.p.sees(r.Name) {
			out = append(out, r)
		}
	}
	return out
}

func nonNil(items []any) []any {
	if items == nil {
		return []any{}
	}
	return items
}

func keyJSON(c *call, k DeployKey) map[string]any {
	return override(map[string]any{
		"id": k.ID, "key": k.Key, "title": k.Title, "verified": true, "read_only": k.ReadOnly,
		"url":        "https://api.github.com/repos/" + c.org.Login + "/" + c.repo.Name + "/keys/" + strconv.FormatInt(k.ID, 10),
		"created_at": ts(k.Created), "added_by": nilIfEmpty(k.AddedBy), "last_used": ts(k.LastUsed),
		"enabled": !k.Disabled,
	}, k.Raw)
}

// override replaces fields of an item's JSON with raw ones.
func override(m, raw map[string]any) map[string]any {
	for k, v := range raw {
		m[k] = v
	}
	return m
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *Server) listKeys(c *call) response {
	var items []any
	for _, k := range c.repo.DeployKeys {
		items = append(items, keyJSON(c, k))
	}
	return response{items: nonNil(items)}
}

func (s *Server) getKey(c *call) response {
	id, _ := strconv.ParseInt(c.r.PathValue("key_id"), 10, 64)
	for _, k := range c.repo.DeployKeys {
		if k.ID == id {
			return response{body: keyJSON(c, k)}
		}
	}
	return notFound()
}

func (s *Server) createKey(c *call) response {
	var in struct {
		Title    string `json:"title"`
		Key      string `json:"key"`
		ReadOnly bool   `json:"read_only"`
	}
	if err := json.Unmarshal(c.body, &in); err != nil || in.Key == "" {
		return response{status: http.StatusUnprocessableEntity, body: errBody("Validation Failed", "https://docs.github.com/rest")}
	}
	for _, k := range c.repo.DeployKeys {
		if k.Key == in.Key {
			return response{status: http.StatusUnprocessableEntity, body: errBody("Validation Failed: key is already in use", "https://docs.github.com/rest")}
		}
	}
	s.nextID++
	login := c.p.login
	k := DeployKey{ID: s.nextID, Title: in.Title, Key: in.Key, ReadOnly: in.ReadOnly, Created: s.now().UTC().Truncate(time.Second), AddedBy: login}
	c.repo.DeployKeys = append(c.repo.DeployKeys, k)
	return response{status: http.StatusCreated, body: keyJSON(c, k)}
}

func (s *Server) deleteKey(c *call) response {
	id, _ := strconv.ParseInt(c.r.PathValue("key_id"), 10, 64)
	for i, k := range c.repo.DeployKeys {
		if k.ID == id {
			c.repo.DeployKeys = append(c.repo.DeployKeys[:i:i], c.repo.DeployKeys[i+1:]...)
			return response{status: http.StatusNoContent}
		}
	}
	return notFound()
}

func (s *Server) listInstallations(c *call) response {
	var items []any
	for _, in := range c.org.Installations {
		m := map[string]any{
			"id": in.ID, "app_id": in.AppID, "app_slug": in.AppSlug, "target_type": "Organization",
			"account":              map[string]any{"login": c.org.Login, "id": c.org.ID, "type": "Organization"},
			"repository_selection": in.RepositorySelection, "permissions": in.Permissions, "events": append([]string{}, in.Events...),
			"created_at": ts(in.Created), "updated_at": ts(in.Updated), "suspended_at": ts(in.Suspended),
		}
		if in.SuspendedBy != "" {
			m["suspended_by"] = map[string]any{"login": in.SuspendedBy}
		} else {
			m["suspended_by"] = nil
		}
		items = append(items, override(m, in.Raw))
	}
	return response{items: nonNil(items), wrapKey: "installations"}
}

func (s *Server) listPATs(c *call) response {
	var items []any
	for _, t := range c.org.FineGrainedTokens {
		perms := map[string]any{}
		if len(t.OrgPermissions) > 0 {
			perms["organization"] = t.OrgPermissions
		}
		if len(t.RepoPermissions) > 0 {
			perms["repository"] = t.RepoPermissions
		}
		items = append(items, override(map[string]any{
			"id": t.ID, "owner": map[string]any{"login": t.Owner, "id": t.OwnerID, "type": "User"},
			"repository_selection": t.RepositorySelection,
			"repositories_url":     "https://api.github.com/organizations/" + strconv.FormatInt(c.org.ID, 10) + "/personal-access-tokens/" + strconv.FormatInt(t.ID, 10) + "/repositories",
			"permissions":          perms, "access_granted_at": ts(t.AccessGranted),
			"token_id": t.TokenID, "token_name": t.Name,
			"token_expired":    !t.Expires.IsZero() && s.now().After(t.Expires),
			"token_expires_at": ts(t.Expires), "token_last_used_at": ts(t.LastUsed),
		}, t.Raw))
	}
	return response{items: nonNil(items)}
}

func (s *Server) listPATRepos(c *call) response {
	id, _ := strconv.ParseInt(c.r.PathValue("pat_id"), 10, 64)
	for _, t := range c.org.FineGrainedTokens {
		if t.ID != id {
			continue
		}
		names := append([]string(nil), t.Repositories...)
		sort.Strings(names)
		var items []any
		for _, n := range names {
			r, ok := c.org.repos[strings.ToLower(n)]
			if !ok {
				continue
			}
			items = append(items, map[string]any{
				"id": r.ID, "node_id": "R_" + strconv.FormatInt(r.ID, 10), "name": r.Name,
				"full_name": c.org.Login + "/" + r.Name, "private": r.Private,
				"owner": map[string]any{"login": c.org.Login, "id": c.org.ID, "type": "Organization"},
			})
		}
		return response{items: nonNil(items)}
	}
	return notFound()
}

func (s *Server) updatePAT(c *call) response {
	id, _ := strconv.ParseInt(c.r.PathValue("pat_id"), 10, 64)
	var in struct {
		Action string `json:"action"`
	}
	if err := json.Unmarshal(c.body, &in); err != nil || in.Action != "revoke" {
		return response{status: http.StatusUnprocessableEntity, body: errBody("Validation Failed", "https://docs.github.com/rest")}
	}
	for i, t := range c.org.FineGrainedTokens {
		if t.ID == id {
			c.org.FineGrainedTokens = append(c.org.FineGrainedTokens[:i:i], c.org.FineGrainedTokens[i+1:]...)
			if s.revoke202 {
				return response{status: http.StatusAccepted}
			}
			return response{status: http.StatusNoContent} // as the description says
		}
	}
	return notFound()
}

func (s *Server) listCredAuths(c *call) response {
	if !c.org.SAML {
		return notFound()
	}
	var items []any
	login := c.r.URL.Query().Get("login")
	for _, a := range c.org.CredentialAuthorizations {
		if login != "" && !strings.EqualFold(login, a.Login) {
			continue
		}
		last8 := ""
		if n := len(a.Value); n >= 8 && a.Type != "SSH key" {
			last8 = a.Value[n-8:]
		}
		m := map[string]any{
			"login": a.Login, "credential_id": a.CredentialID, "credential_type": a.Type,
			"credential_authorized_at": ts(a.Authorized), "credential_accessed_at": ts(a.Accessed),
			"authorized_credential_id": a.AuthorizedCredentialID, "authorized_credential_expires_at": ts(a.Expires),
		}
		if a.Type != "SSH key" {
			m["scopes"] = a.Scopes
			m["token_last_eight"] = last8
			m["authorized_credential_note"] = a.Note
		} else {
			m["fingerprint"] = a.Fingerprint
			m["authorized_credential_title"] = a.Title
		}
		items = append(items, override(m, a.Raw))
	}
	return response{items: nonNil(items)}
}

func (s *Server) removeCredAuth(c *call) response {
	if !c.org.SAML {
		return notFound()
	}
	id, _ := strconv.ParseInt(c.r.PathValue("credential_id"), 10, 64)
	for i, a := range c.org.CredentialAuthorizations {
		if a.CredentialID == id {
			c.org.CredentialAuthorizations = append(c.org.CredentialAuthorizations[:i:i], c.org.CredentialAuthorizations[i+1:]...)
			return response{status: http.StatusNoContent}
		}
	}
	return notFound()
}

func secretItems(secs []Secret, org bool) []any {
	items := []any{}
	sorted := append([]Secret(nil), secs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	for _, sc := range sorted {
		m := map[string]any{"name": sc.Name, "created_at": ts(sc.Created), "updated_at": ts(sc.Updated)}
		if org {
			vis := sc.Visibility
			if vis == "" {
				vis = "private"
			}
			m["visibility"] = vis
		}
		items = append(items, override(m, sc.Raw))
	}
	return items
}

func (s *Server) listOrgSecrets(c *call) response {
	return response{items: secretItems(c.org.Secrets, true), wrapKey: "secrets"}
}

func (s *Server) listRepoSecrets(c *call) response {
	return response{items: secretItems(c.repo.Secrets, false), wrapKey: "secrets"}
}

func (s *Server) listEnvSecrets(c *call) response {
	env := c.r.PathValue("env")
	for _, e := range c.repo.Environments {
		if e.Name == env {
			return response{items: secretItems(e.Secrets, false), wrapKey: "secrets"}
		}
	}
	return notFound()
}

func (s *Server) listEnvironments(c *call) response {
	var items []any
	for _, e := range c.repo.Environments {
		items = append(items, map[string]any{"id": e.ID, "node_id": "EN_" + strconv.FormatInt(e.ID, 10), "name": e.Name})
	}
	return response{items: nonNil(items), wrapKey: "environments"}
}

func userItems(logins []string) []any {
	sorted := append([]string(nil), logins...)
	sort.Strings(sorted)
	items := []any{}
	for i, l := range sorted {
		items = append(items, map[string]any{"login": l, "id": 1000 + i, "type": "User"})
	}
	return items
}

func (s *Server) listMembers(c *call) response { return response{items: userItems(c.org.Members)} }
func (s *Server) listOutside(c *call) response {
	return response{items: userItems(c.org.OutsideCollaborators)}
}

func (s *Server) listPropertyValues(c *call) response {
	var items []any
	for _, r := range c.visibleRepos() {
		if len(r.Properties) == 0 {
			continue
		}
		var props []any
		for _, k := range sortedKeys(r.Properties) {
			props = append(props, map[string]any{"property_name": k, "value": r.Properties[k]})
		}
		items = append(items, map[string]any{
			"repository_id": r.ID, "repository_name": r.Name,
			"repository_full_name": c.org.Login + "/" + r.Name, "properties": props,
		})
	}
	return response{items: nonNil(items)}
}

// ---- GraphQL ----

func (s *Server) graphqlRoute() route {
	return route{op: OpGraphQL, handle: s.graphql}
}

func (s *Server) graphql(c *call) response {
	var q struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	if err := json.Unmarshal(c.body, &q); err != nil || !strings.Contains(q.Query, "deployKeys") || c.org == nil {
		return response{body: map[string]any{"errors": []any{map[string]any{"message": "Parse error or unknown query"}}}}
	}
	allowed := false
	switch c.p.kind {
	case "installation":
		allowed = strings.EqualFold(c.org.Login, c.p.org) && levels[c.p.perms["administration"]] >= 1
	case "classic":
		for _, sc := range c.p.scopes {
			allowed = allowed || sc == "repo"
		}
	}
	if !allowed {
		return response{body: map[string]any{"data": map[string]any{"organization": nil}, "errors": []any{map[string]any{
			"type": "FORBIDDEN", "path": []any{"organization"}, "message": "Resource not accessible by integration"}}}}
	}
	off := 0
	if cur, _ := q.Variables["cursor"].(string); cur != "" {
		if b, err := base64.StdEncoding.DecodeString(cur); err == nil {
			off, _ = strconv.Atoi(strings.TrimPrefix(string(b), "cursor:"))
		}
	}
	per := min(maxPerPage, s.perPage())
	repos := c.visibleRepos()
	switch s.paging[OpGraphQL] {
	case PagingStatic:
		off = 0
	case PagingOverlap:
		off = max(0, off-1)
	}
	lo, hi := min(off, len(repos)), min(off+per, len(repos))
	nodes := []any{}
	for _, r := range repos[lo:hi] {
		envs := []any{}
		for _, e := range r.Environments[:min(len(r.Environments), 100)] { // environments(first: 100)
			envs = append(envs, map[string]any{"databaseId": e.ID, "name": e.Name})
		}
		nodes = append(nodes, map[string]any{
			"databaseId": r.ID, "name": r.Name, "nameWithOwner": c.org.Login + "/" + r.Name, "isArchived": r.Archived,
			"deployKeys":   map[string]any{"totalCount": len(r.DeployKeys)},
			"environments": map[string]any{"totalCount": len(r.Environments), "nodes": envs},
		})
	}
	end := base64.StdEncoding.EncodeToString([]byte("cursor:" + strconv.Itoa(hi)))
	more := hi < len(repos)
	if s.paging[OpGraphQL] == PagingStatic {
		more = true
	}
	return response{body: map[string]any{"data": map[string]any{"organization": map[string]any{
		"repositories": map[string]any{
			"pageInfo": map[string]any{"hasNextPage": more, "endCursor": end},
			"nodes":    nodes,
		}}}}}
}
