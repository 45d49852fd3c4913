package github

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
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
	inv.Gaps = gaps.List()
	inv.Normalize()
	return inv, nil
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

// collectOrg collects one organisation: its display name, its identities,
// and whether the collection ran to its end.
func (c *Collector) collectOrg(ctx context.Context, oc *orgClients, org string, gaps *collectors.Gaps, now time.Time) (string, []nhi.Identity, bool) {
	s := &orgScan{Collector: c, oc: oc, cl: oc.rest, org: org, path: url.PathEscape(org), gaps: gaps, d: newOrgData(org)}
	if _, err := c.call(ctx, s.cl, http.MethodGet, "orgs/"+s.path, nil, &s.d.org); err != nil {
		s.fail(opGetOrg, err)
		c.log.Warn("github org unreadable", "org", org, "error", err)
		return "", nil, false
	}
	if s.d.org.Login != "" {
		s.d.login = s.d.org.Login
	}
	if oc.appAuth != nil && oc.appAuth.repositorySelection() == "selected" {
		// The installation token sees only the selected repositories: the
		// others, and their deploy keys and secrets, are silently absent.
		gaps.Record(org, opAppRepoAccess, nhi.GapDenied,
			"the scanner App is installed on selected repositories only; the others are not inventoried")
	}
	s.orgWide(ctx)
	s.perRepo(ctx)
	if ctx.Err() != nil {
		s.fail(opGetOrg, ctx.Err())
	}
	return s.d.org.Name, c.mapOrg(s.d, now), ctx.Err() == nil
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
	repos, err := list[apiRepo](ctx, s.api, s.cl, "orgs/"+s.path+"/repos?type=all", "")
	if err != nil {
		s.fail(opListRepos, err)
		return
	}
	s.d.repos = repos
}

// listGraphQL learns which repositories have deploy keys and which
// environments they have. Without it (other than a refusal) deploy keys
// are asked for every repository over REST, and only environment secrets
// are lost.
func (s *orgScan) listGraphQL(ctx context.Context) {
	m, err := s.graphQLRepos(ctx, s.cl, s.d.login)
	if err == nil {
		s.d.gql, s.d.gqlOK = m, true
		return
	}
	if collectors.GapKind(translate(err)) == nhi.GapDenied {
		// REST needs the same permission: no fallback, deploy keys lost.
		s.d.gqlDenied = true
		s.fail(opGraphQL, err)
		return
	}
	s.fail(opGraphQL, err, facetsActions...)
}

func (s *orgScan) listPeople(ctx context.Context) {
	people := map[string]bool{}
	for _, op := range []string{opListMembers, opListOutside} {
		path := "orgs/" + s.path + "/members?role=all"
		if op == opListOutside {
			path = "orgs/" + s.path + "/outside_collaborators"
		}
		users, err := list[apiUser](ctx, s.api, s.cl, path, "")
		if err != nil {
			s.fail(op, err)
			return
		}
		for _, u := range users {
			people[strings.ToLower(u.Login)] = true
		}
	}
	s.d.people, s.d.peopleOK = people, true
}

func (s *orgScan) listProperties(ctx context.Context) {
	vals, err := list[apiPropertyValues](ctx, s.api, s.cl, "orgs/"+s.path+"/properties/values", "")
	if err != nil {
		s.fail(opListProperties, err)
		return
	}
	for _, v := range vals {
		s.d.tags[v.RepositoryID] = v.tags()
	}
}

func (s *orgScan) listInstallations(ctx context.Context) {
	ins, err := list[apiInstallation](ctx, s.api, s.cl, "orgs/"+s.path+"/installations", "installations")
	if err != nil {
		s.fail(opListInstallations, err)
		return
	}
	s.d.installs = ins
}

func (s *orgScan) listTokens(ctx context.Context) {
	if !s.oc.app {
		s.gaps.Record(s.org, opListPATGrants, nhi.GapDenied, "fine-grained tokens can be listed only by a GitHub App")
		return
	}
	pats, err := list[apiPAT](ctx, s.api, s.cl, "orgs/"+s.path+"/personal-access-tokens", "")
	if err != nil {
		s.fail(opListPATGrants, err)
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
	auths, err := list[apiCredAuth](ctx, s.api, s.oc.saml, "orgs/"+s.path+"/credential-authorizations", "")
	if err != nil {
		if statusOf(err) == http.StatusNotFound {
			return // the org does not use SAML single sign-on: nothing to list
		}
		s.fail(opListSAMLAuths, err)
		return
	}
	s.d.credAuths = auths
}

func (s *orgScan) listOrgSecrets(ctx context.Context) {
	secs, err := list[apiSecret](ctx, s.api, s.cl, "orgs/"+s.path+"/actions/secrets", "secrets")
	if err != nil {
		s.fail(opListOrgSecrets, err)
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
		// Without a GraphQL answer (other than a refusal) ask REST for
		// every repository; a repository GraphQL did not list (created
		// meanwhile) is asked directly.
		if (!s.d.gqlOK && !s.d.gqlDenied) || (s.d.gqlOK && (!known || q.DeployKeys.TotalCount > 0)) {
			run(func(ctx context.Context) { s.listDeployKeys(ctx, r.ID, rp) })
		}
		run(func(ctx context.Context) { s.listRepoSecrets(ctx, r.ID, rp) })
		if q.Environments.TotalCount > len(q.Environments.Nodes) {
			// More environments than the query reads: list them over REST
			// and read their secrets in this one goroutine (rare).
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
	repos, err := list[apiRepo](ctx, s.api, s.cl, "orgs/"+s.path+"/personal-access-tokens/"+id64(patID)+"/repositories", "")
	if err != nil {
		s.fail(opListPATRepos, err)
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
	keys, err := list[apiKey](ctx, s.api, s.cl, "repos/"+rp+"/keys", "")
	if err != nil {
		s.fail(opListDeployKeys, err)
		return
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	s.d.keys[repoID] = keys
}

func (s *orgScan) listRepoSecrets(ctx context.Context, repoID int64, rp string) {
	secs, err := list[apiSecret](ctx, s.api, s.cl, "repos/"+rp+"/actions/secrets", "secrets")
	if err != nil {
		s.fail(opListRepoSecrets, err)
		return
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	s.d.repoSecs[repoID] = secs
}

func (s *orgScan) listEnvironments(ctx context.Context, repoID int64, rp string) {
	envs, err := list[apiEnv](ctx, s.api, s.cl, "repos/"+rp+"/environments", "environments")
	if err != nil {
		s.fail(opListEnvs, err)
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
	secs, err := list[apiSecret](ctx, s.api, s.cl, "repos/"+rp+"/environments/"+url.PathEscape(env.Name)+"/secrets", "secrets")
	if err != nil {
		s.fail(opListEnvSecrets, err)
		return
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	if s.d.envSecs[repoID] == nil {
		s.d.envSecs[repoID] = map[string][]apiSecret{}
	}
	s.d.envSecs[repoID][env.Name] = secs
}
