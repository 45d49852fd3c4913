package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	gh "github.com/google/go-github/v89/github"
	"golang.org/x/sync/errgroup"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// Collect inventories every configured organisation. A failing source
// becomes a gap naming the facets it hides; an error is returned only when
// nothing was collected.
func (c *Collector) Collect(ctx context.Context) (nhi.Inventory, error) {
	now := c.cfg.Now().UTC()
	inv := nhi.Inventory{Version: nhi.SchemaVersion, CollectedAt: now}
	gaps := collectors.NewGaps(nhi.GitHub, ops)
	collected := 0
	for i, org := range c.cfg.Orgs {
		oc := c.clients[strings.ToLower(org)]
		name, ids, ok := c.collectOrg(ctx, oc, org, gaps, now)
		c.cfg.Progress.Report(collectors.ScopeDone{Provider: nhi.GitHub, Scope: org, Identities: len(ids),
			Gaps: gaps.Count(org), Done: i + 1, Total: len(c.cfg.Orgs)})
		inv.Scopes = append(inv.Scopes, nhi.Scope{Provider: nhi.GitHub, ID: org, Name: name, Facets: c.scopeFacets(oc)})
		inv.Identities = append(inv.Identities, ids...)
		if ok {
			collected++
		}
	}
	if collected == 0 && ctx.Err() != nil {
		return nhi.Inventory{}, fmt.Errorf("github: %w", ctx.Err())
	}
	inv.Identities = dedupe(inv.Identities, gaps)
	inv.Gaps = gaps.List()
	inv.Normalize()
	return inv, nil
}

// kindOps names the list each kind of identity comes from.
var kindOps = map[nhi.IdentityKind]string{
	nhi.KindGitHubDeployKey: opListDeployKeys, nhi.KindGitHubAppInstallation: opListInstallations,
	nhi.KindGitHubFineGrainedPAT: opListPATGrants, nhi.KindGitHubClassicPAT: opListSAMLAuths, nhi.KindGitHubSSHKey: opListSAMLAuths,
	nhi.KindGitHubOAuthAppToken: opListSAMLAuths, nhi.KindGitHubAppUserToken: opListSAMLAuths, nhi.KindGitHubActions: opListRepoSecrets,
}

// dedupe keeps the first identity of each id (organisations in the
// configured order, each in its mapped order): a repeat is never fatal. A
// repeat GitHub should not send (one deploy key id under two repositories,
// a repository moved between two scanned organisations while they were
// read) is a gap in the repeat's organisation hiding what it carried.
func dedupe(ids []nhi.Identity, gaps *collectors.Gaps) []nhi.Identity {
	seen := make(map[string]string, len(ids)) // id -> where it was kept
	out := ids[:0]
	for _, id := range ids {
		where := id.Scope + " " + id.Path
		kept, dup := seen[id.ID]
		if !dup {
			seen[id.ID] = where
			out = append(out, id)
			continue
		}
		facets := []nhi.Facet{nhi.IdentitiesFacet(id.Kind)}
		for _, c := range id.Credentials {
			facets = append(facets, nhi.CredentialsFacet(c.Type))
		}
		for _, g := range id.Grants {
			facets = append(facets, nhi.GrantsFacet(g.Kind))
		}
		gaps.Record(id.Scope, kindOps[id.Kind], nhi.GapError,
			fmt.Sprintf("%s listed twice (kept the one in %s, left out the one in %s)", id.ID, strings.TrimSpace(kept), strings.TrimSpace(where)), facets...)
	}
	return out
}

// orgScan is the collection of one organisation.
type orgScan struct {
	*Collector
	oc   *orgClients
	cl   *gh.Client
	org  string // the configured spelling: Scope of identities and gaps
	path string // GitHub's spelling, escaped for paths
	gaps *collectors.Gaps
	d    *orgData
}

// fail records that op failed in the organisation; facets, when given,
// narrow what the failure hides (see ops).
func (s *orgScan) fail(op string, err error, facets ...nhi.Facet) {
	s.gaps.Add(s.org, op, translate(err), facets...)
}

// read lists path for op. A failed list is a gap, and read returns false;
// items that could not be decoded are left out with a gap hiding what op
// reads, and the others are kept.
func read[T item](ctx context.Context, s *orgScan, op string, cl *gh.Client, path, wrapKey string) ([]T, bool) {
	items, bad, err := list[T](ctx, s.api, cl, path, wrapKey)
	if err != nil {
		s.fail(op, err)
		return nil, false
	}
	s.undecodable(op, bad)
	return items, true
}

// undecodable records that n items of op's answers were left out.
func (s *orgScan) undecodable(op string, n int) {
	if n > 0 {
		s.gaps.Record(s.org, op, nhi.GapError, fmt.Sprintf("%d item(s) could not be decoded or lack their id; left out, the others kept", n))
	}
}

// collectOrg collects one organisation: its display name, its identities,
// and whether the collection ran to its end.
func (c *Collector) collectOrg(ctx context.Context, oc *orgClients, org string, gaps *collectors.Gaps, now time.Time) (string, []nhi.Identity, bool) {
	s := &orgScan{Collector: c, oc: oc, cl: oc.rest, org: org, path: url.PathEscape(org), gaps: gaps, d: newOrgData(org)}
	if _, err := c.call(ctx, s.cl, http.MethodGet, "orgs/"+s.path, nil, &s.d.org); err != nil {
		// A failure to authenticate as the App is the installation
		// lookup's or the token creation's, not the organisation's.
		op := opGetOrg
		var ae *appAuthError
		if errors.As(err, &ae) {
			op, err = ae.op, ae.err
		}
		s.fail(op, err)
		c.log.Warn("github org unreadable", "org", org, "source", op, "error", collectors.Detail(translate(err)))
		return "", nil, false
	}
	if s.d.org.Login != "" {
		s.d.login = s.d.org.Login
	}
	if oc.appAuth != nil && oc.appAuth.repositorySelection() == "selected" {
		// The installation token sees only the selected repositories: the
		// others, and their deploy keys and secrets, are silently absent.
		gaps.Record(org, opCreateToken, nhi.GapDenied,
			"the scanner App is installed on selected repositories only; the others are not inventoried", facetsPerRepo...)
	}
	s.orgWide(ctx)
	s.perRepo(ctx)
	if ctx.Err() != nil {
		s.fail(opGetOrg, ctx.Err())
	}
	ids := c.mapOrg(s.d, now)
	s.recordBadFields()
	return s.d.org.Name, ids, ctx.Err() == nil
}

// recordBadFields records the timestamps GitHub answered with values that
// are not: one gap per list and facet set, naming the first such field
// (in sorted order) and how many there were.
func (s *orgScan) recordBadFields() {
	type group struct {
		details []string
		facets  []nhi.Facet
	}
	groups := map[string]*group{}
	for _, b := range s.d.badFields {
		k := b.op + " " + fmt.Sprint(b.facets)
		if groups[k] == nil {
			groups[k] = &group{facets: b.facets}
		}
		groups[k].details = append(groups[k].details, b.detail)
	}
	for _, k := range sortedKeys(groups) {
		g := groups[k]
		sort.Strings(g.details)
		detail := g.details[0]
		if n := len(g.details); n > 1 {
			detail = fmt.Sprintf("%s (%d such fields)", detail, n)
		}
		op, _, _ := strings.Cut(k, " ")
		s.gaps.Record(s.org, op, nhi.GapError, detail, g.facets...)
	}
}

// orgWide reads the organisation-wide lists concurrently.
func (s *orgScan) orgWide(ctx context.Context) {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.cfg.Concurrency)
	for _, step := range []func(context.Context){
		s.listRepos, s.listGraphQL, s.listPeople, s.listProperties, s.listInstallations,
		s.listTokens, s.listSAMLAuths, s.listOrgSecrets,
	} {
		g.Go(func() error {
			step(gctx)
			return nil
		})
	}
	_ = g.Wait()
}

func (s *orgScan) listRepos(ctx context.Context) {
	repos, ok := read[apiRepo](ctx, s, opListRepos, s.cl, "orgs/"+s.path+"/repos?type=all", "")
	if !ok {
		return
	}
	s.d.repos = repos
}

// listGraphQL learns which repositories have deploy keys and which
// environments they have. When the query fails in any way (refused, 404
// where GraphQL is not served, 5xx, paging that does not advance) nothing
// is lost: perRepo asks REST for the deploy keys and environments of every
// repository, and only a REST failure is a gap.
func (s *orgScan) listGraphQL(ctx context.Context) {
	m, err := s.graphQLRepos(ctx, s.cl, s.d.login)
	if err != nil {
		s.log.Info("github graphql query failed; reading deploy keys and environments over REST",
			"org", s.org, "error", collectors.Detail(translate(err)))
		return
	}
	s.d.gql = m
}

func (s *orgScan) listPeople(ctx context.Context) {
	people := map[string]bool{}
	for _, op := range []string{opListMembers, opListOutside} {
		path := "orgs/" + s.path + "/members?role=all"
		if op == opListOutside {
			path = "orgs/" + s.path + "/outside_collaborators"
		}
		users, ok := read[apiUser](ctx, s, op, s.cl, path, "")
		if !ok {
			return
		}
		for _, u := range users {
			people[strings.ToLower(u.Login)] = true
		}
	}
	s.d.people, s.d.peopleOK = people, true
}

func (s *orgScan) listProperties(ctx context.Context) {
	vals, ok := read[apiPropertyValues](ctx, s, opListProperties, s.cl, "orgs/"+s.path+"/properties/values", "")
	if !ok {
		return
	}
	for _, v := range vals {
		s.d.tags[v.RepositoryID] = v.tags()
	}
}

func (s *orgScan) listInstallations(ctx context.Context) {
	ins, ok := read[apiInstallation](ctx, s, opListInstallations, s.cl, "orgs/"+s.path+"/installations", "installations")
	if !ok {
		return
	}
	s.d.installs = ins
}

func (s *orgScan) listTokens(ctx context.Context) {
	if !s.oc.app {
		s.gaps.Record(s.org, opListPATGrants, nhi.GapDenied, "fine-grained tokens can be listed only by a GitHub App")
		return
	}
	pats, ok := read[apiPAT](ctx, s, opListPATGrants, s.cl, "orgs/"+s.path+"/personal-access-tokens", "")
	if !ok {
		return
	}
	s.d.pats = pats
}

func (s *orgScan) listSAMLAuths(ctx context.Context) {
	if s.oc.saml == nil {
		if !s.cfg.SkipSAMLAuthorizations {
			s.gaps.Record(s.org, opListSAMLAuths, nhi.GapDenied, "GitHub Apps cannot list SAML credential authorisations; configure a token beside the App")
		}
		return
	}
	auths, bad, err := list[apiCredAuth](ctx, s.api, s.oc.saml, "orgs/"+s.path+"/credential-authorizations", "")
	if err != nil {
		if statusOf(err) == http.StatusNotFound {
			return // the org does not use SAML single sign-on: nothing to list
		}
		s.fail(opListSAMLAuths, err)
		return
	}
	s.undecodable(opListSAMLAuths, bad)
	s.d.credAuths = auths
}

func (s *orgScan) listOrgSecrets(ctx context.Context) {
	secs, ok := read[apiSecret](ctx, s, opListOrgSecrets, s.cl, "orgs/"+s.path+"/actions/secrets", "secrets")
	if !ok {
		return
	}
	s.d.orgSecs = secs
}

// perRepo makes the per-repository calls concurrently: deploy keys only
// where GraphQL saw some, secrets for every repository, environment
// secrets per environment; and the repositories of each token limited to
// a subset.
func (s *orgScan) perRepo(ctx context.Context) {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.cfg.Concurrency)
	run := func(f func(context.Context)) {
		g.Go(func() error {
			f(gctx)
			return nil
		})
	}
	for _, p := range s.d.pats {
		if p.RepositorySelection == "subset" {
			run(func(ctx context.Context) { s.listTokenRepos(ctx, p.ID) })
		}
	}
	for _, r := range s.d.repos {
		rp := url.PathEscape(s.d.login) + "/" + url.PathEscape(r.Name)
		q, known := s.d.gql[r.ID]
		// Without a GraphQL answer ask REST for every repository; a
		// repository GraphQL did not list (created meanwhile) is asked
		// directly.
		if !known || q.DeployKeys.TotalCount > 0 {
			run(func(ctx context.Context) { s.listDeployKeys(ctx, r.ID, rp) })
		}
		run(func(ctx context.Context) { s.listRepoSecrets(ctx, r.ID, rp) })
		if !known || q.Environments.TotalCount > len(q.Environments.Nodes) {
			// Environments GraphQL did not give (all of): list them over
			// REST and read their secrets in this one goroutine.
			run(func(ctx context.Context) { s.listEnvironments(ctx, r.ID, rp) })
			continue
		}
		for _, env := range q.Environments.Nodes {
			run(func(ctx context.Context) { s.listEnvSecrets(ctx, r.ID, rp, env) })
		}
	}
	_ = g.Wait()
}

func (s *orgScan) listTokenRepos(ctx context.Context, patID int64) {
	repos, ok := read[apiRepo](ctx, s, opListPATRepos, s.cl, "orgs/"+s.path+"/personal-access-tokens/"+id64(patID)+"/repositories", "")
	if !ok {
		return
	}
	names := make([]string, 0, len(repos))
	for _, r := range repos {
		names = append(names, r.FullName)
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	s.d.patRepos[patID] = uniqSorted(names)
}

func (s *orgScan) listDeployKeys(ctx context.Context, repoID int64, rp string) {
	keys, ok := read[apiKey](ctx, s, opListDeployKeys, s.cl, "repos/"+rp+"/keys", "")
	if !ok {
		return
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	s.d.keys[repoID] = keys
}

func (s *orgScan) listRepoSecrets(ctx context.Context, repoID int64, rp string) {
	secs, ok := read[apiSecret](ctx, s, opListRepoSecrets, s.cl, "repos/"+rp+"/actions/secrets", "secrets")
	if !ok {
		return
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	s.d.repoSecs[repoID] = secs
}

func (s *orgScan) listEnvironments(ctx context.Context, repoID int64, rp string) {
	envs, ok := read[apiEnv](ctx, s, opListEnvs, s.cl, "repos/"+rp+"/environments", "environments")
	if !ok {
		return
	}
	all := make([]gqlEnv, 0, len(envs))
	for _, e := range envs {
		all = append(all, gqlEnv{DatabaseID: e.ID, Name: e.Name})
	}
	s.d.mu.Lock()
	s.d.envs[repoID] = all
	s.d.mu.Unlock()
	for _, env := range all {
		s.listEnvSecrets(ctx, repoID, rp, env)
	}
}

func (s *orgScan) listEnvSecrets(ctx context.Context, repoID int64, rp string, env gqlEnv) {
	secs, ok := read[apiSecret](ctx, s, opListEnvSecrets, s.cl, "repos/"+rp+"/environments/"+url.PathEscape(env.Name)+"/secrets", "secrets")
	if !ok {
		return
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	if s.d.envSecs[repoID] == nil {
		s.d.envSecs[repoID] = map[string][]apiSecret{}
	}
	s.d.envSecs[repoID][env.Name] = secs
}
