package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	gh "github.com/google/go-github/v89/github"
	"golang.org/x/sync/errgroup"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// API operations, named as in GitHub's OpenAPI description. They are the
// Source of gaps.
const (
	opGetOrg            = "orgs/get"
	opListRepos         = "repos/list-for-org"
	opGraphQL           = "graphql"
	opListDeployKeys    = "repos/list-deploy-keys"
	opListInstallations = "orgs/list-app-installations"
	opListPATGrants     = "orgs/list-pat-grants"
	opListPATRepos      = "orgs/list-pat-grant-repositories"
	opListSAMLAuths     = "orgs/list-saml-sso-authorizations"
	opListOrgSecrets    = "actions/list-org-secrets"
	opListRepoSecrets   = "actions/list-repo-secrets"
	opListEnvSecrets    = "actions/list-environment-secrets"
	opListEnvs          = "repos/get-all-environments"
	opListMembers       = "orgs/list-members"
	opListOutside       = "orgs/list-outside-collaborators"
	opListProperties    = "orgs/custom-properties-for-repos-get-organization-values"
	// opAppRepoAccess is the scanner App installation's own repository
	// access, reported by the installation token answer.
	opAppRepoAccess = "apps/create-installation-access-token"
)

// permissions names, per operation, what a GitHub App installation (and a
// classic token) needs to read it.
var permissions = map[string]string{
	opGetOrg:            "App: Metadata (read); token: read:org",
	opListRepos:         "App: Metadata (read); token: repo",
	opGraphQL:           "App: Administration (read); token: repo",
	opListDeployKeys:    "App: Administration (read); token: repo",
	opListInstallations: "App: organization Administration (read); token: read:org as an org owner",
	opListPATGrants:     "GitHub App with organization Personal access tokens (read); tokens cannot list them",
	opListPATRepos:      "GitHub App with organization Personal access tokens (read); tokens cannot list them",
	opListSAMLAuths:     "token of an org owner with read:org (GitHub Apps cannot list SAML authorisations)",
	opListOrgSecrets:    "App: organization Secrets (read); token: admin:org",
	opListRepoSecrets:   "App: Secrets (read); token: repo",
	opListEnvSecrets:    "App: Environments (read); token: repo",
	opListEnvs:          "App: Actions (read); token: repo",
	opListMembers:       "App: organization Members (read); token: read:org",
	opListOutside:       "App: organization Members (read); token: read:org",
	opListProperties:    "App: organization Custom properties (read); token: read:org",
	opAppRepoAccess:     "install the scanner App on all repositories of the organisation (Repository access: All repositories)",
}

// usageSource is the Usage.Source of every GitHub usage fact.
const usageSource = "github-api"

// Collect inventories every configured organisation. A failing source
// becomes a gap; an error is returned only when nothing was collected.
func (c *Collector) Collect(ctx context.Context) (nhi.Inventory, error) {
	now := c.cfg.Now().UTC()
	inv := nhi.Inventory{Version: nhi.SchemaVersion, CollectedAt: now}
	collected := 0
	for i, org := range c.cfg.Orgs {
		res := c.collectOrg(ctx, org, now)
		c.cfg.Progress.Report(collectors.ScopeDone{Provider: nhi.GitHub, Scope: org, Identities: len(res.identities),
			Gaps: len(res.gaps.list()), Done: i + 1, Total: len(c.cfg.Orgs)})
		inv.Scopes = append(inv.Scopes, res.scope)
		inv.Identities = append(inv.Identities, res.identities...)
		inv.Gaps = append(inv.Gaps, res.gaps.list()...)
		if res.ok {
			collected++
		}
	}
	if collected == 0 && ctx.Err() != nil {
		return nhi.Inventory{}, fmt.Errorf("github: %w", ctx.Err())
	}
	inv.Normalize()
	return inv, nil
}

// gapSet aggregates failures per source, so 10,000 denied repositories
// make one gap, not 10,000.
type gapSet struct {
	mu    sync.Mutex
	scope string
	m     map[string]*gapAcc
}

type gapAcc struct {
	gap   nhi.Gap
	count int
}

func (g *gapSet) add(source string, err error, usageOnly bool) {
	kind, detail := classify(err)
	g.addKind(source, kind, detail, usageOnly)
}

func (g *gapSet) addKind(source string, kind nhi.GapKind, detail string, usageOnly bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.m == nil {
		g.m = map[string]*gapAcc{}
	}
	perm := ""
	if kind == nhi.GapDenied {
		perm = permissions[source]
	}
	gap := nhi.Gap{Provider: nhi.GitHub, Scope: g.scope, Source: source,
		Kind: kind, Permission: perm, Detail: detail, UsageOnly: usageOnly}
	a, ok := g.m[source]
	if !ok {
		g.m[source] = &gapAcc{count: 1, gap: gap}
		return
	}
	// Concurrent calls fail in any order: keep the most telling failure
	// (by kind, then detail) so the gap does not depend on which came first.
	a.count++
	gap.UsageOnly = a.gap.UsageOnly && usageOnly
	if r, s := gapRank[kind], gapRank[a.gap.Kind]; r > s || (r == s && detail < a.gap.Detail) {
		a.gap = gap
	} else {
		a.gap.UsageOnly = gap.UsageOnly
	}
}

// gapRank orders gap kinds by how much they tell the operator: a refusal
// names the permission to grant.
var gapRank = map[nhi.GapKind]int{nhi.GapError: 1, nhi.GapUnavailable: 2, nhi.GapTimeout: 3, nhi.GapThrottled: 4, nhi.GapDenied: 5}

func (g *gapSet) list() []nhi.Gap {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []nhi.Gap
	for _, k := range sortedKeys(g.m) {
		a := g.m[k]
		gap := a.gap
		if a.count > 1 {
			gap.Detail = fmt.Sprintf("%s (%d calls failed)", gap.Detail, a.count)
		}
		out = append(out, gap)
	}
	return out
}

// classify turns an error into a gap kind and a short detail that never
// carries a response body.
func classify(err error) (nhi.GapKind, string) {
	var rl *gh.RateLimitError
	var ab *gh.AbuseRateLimitError
	var er *gh.ErrorResponse
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return nhi.GapTimeout, "deadline exceeded"
	case errors.Is(err, context.Canceled):
		return nhi.GapError, "cancelled"
	case errors.As(err, &rl), errors.As(err, &ab), errors.Is(err, collectors.ErrThrottled):
		return nhi.GapThrottled, "rate limited after retries"
	case isPlainThrottle(err):
		return nhi.GapThrottled, "rate limited after retries"
	case errors.Is(err, collectors.ErrDenied):
		return nhi.GapDenied, err.Error()
	case errors.As(err, &er) && er.Response != nil:
		switch code := er.Response.StatusCode; {
		case code == http.StatusUnauthorized || code == http.StatusForbidden:
			return nhi.GapDenied, fmt.Sprintf("status %d: %s", code, er.Message)
		case code == http.StatusNotFound:
			return nhi.GapDenied, "status 404 (GitHub answers 404 when the credential may not see the resource)"
		case code >= 500:
			return nhi.GapUnavailable, fmt.Sprintf("status %d", code)
		default:
			return nhi.GapError, fmt.Sprintf("status %d: %s", code, er.Message)
		}
	}
	return nhi.GapError, err.Error()
}

func statusOf(err error) int {
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	return 0
}

// do runs one request, waiting out primary and secondary rate limits
// (Retry-After, X-RateLimit-Reset) up to MaxRetries times.
//
// go-github holds the whole client back while a limit it has seen lasts,
// answering with a made-up error and no request. Such a held-back call
// does not use up a retry of its own (another call may keep re-arming the
// hold), but it is bounded too: at most heldBackWaits waits.
func (c *Collector) do(ctx context.Context, f func() (*gh.Response, error)) (*gh.Response, error) {
	heldBack := 0
	for attempt := 0; ; attempt++ {
		resp, err := f()
		if err == nil {
			return resp, nil
		}
		var wait time.Duration
		var rl *gh.RateLimitError
		var ab *gh.AbuseRateLimitError
		var local bool
		switch {
		case errors.As(err, &ab):
			wait = time.Minute
			if ab.RetryAfter != nil {
				wait = *ab.RetryAfter
			}
			local = notSent(ab.Response)
		case errors.As(err, &rl):
			wait = time.Until(rl.Rate.Reset.Time) + time.Second
			local = notSent(rl.Response)
		default:
			w, ok := plainThrottle(err)
			if !ok {
				return resp, err
			}
			wait = w
		}
		if local && heldBack < heldBackWaits {
			heldBack++
			attempt--
		}
		if attempt >= c.cfg.MaxRetries || wait > c.cfg.MaxRetryWait {
			return resp, err
		}
		wait = max(wait, 100*time.Millisecond)
		c.log.Info("github rate limited; waiting", "wait", wait.String(), "attempt", attempt+1)
		select {
		case <-ctx.Done():
			return resp, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// plainThrottle recognises a rate-limit answer go-github does not: a 429,
// or a 403 with Retry-After, whose body lacks GitHub's documentation URL
// (a proxy in front of GitHub Enterprise Server may send one). It returns
// how long to wait: Retry-After, or a minute as GitHub advises.
func plainThrottle(err error) (time.Duration, bool) {
	var er *gh.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil {
		return 0, false
	}
	ra := er.Response.Header.Get("Retry-After")
	if er.Response.StatusCode != http.StatusTooManyRequests && (er.Response.StatusCode != http.StatusForbidden || ra == "") {
		return 0, false
	}
	if n, err := strconv.Atoi(ra); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	return time.Minute, true
}

func isPlainThrottle(err error) bool {
	_, ok := plainThrottle(err)
	return ok
}

// heldBackWaits bounds the waits of one call that go-github held back
// without sending it.
const heldBackWaits = 20

// notSent reports whether a rate-limit error was made up by go-github
// without a request: its fake response carries no header at all, where
// every real answer has some.
func notSent(r *http.Response) bool {
	return r != nil && len(r.Header) == 0
}

// list fetches every page of a REST list. wrapKey names the array inside a
// wrapped answer ({"total_count":…, "secrets":[…]}); "" for a bare array.
func list[T any](ctx context.Context, c *Collector, cl *gh.Client, path, wrapKey string) ([]T, error) {
	var out []T
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	for page := 1; page > 0; {
		u := path + sep + "per_page=100"
		if page > 1 {
			u += "&page=" + strconv.Itoa(page)
		}
		var raw json.RawMessage
		resp, err := c.do(ctx, func() (*gh.Response, error) {
			req, err := cl.NewRequest(ctx, http.MethodGet, u, nil)
			if err != nil {
				return nil, err
			}
			raw = nil
			return cl.Do(req, &raw)
		})
		if err != nil {
			return out, err
		}
		if wrapKey != "" {
			var w map[string]json.RawMessage
			if err := json.Unmarshal(raw, &w); err != nil {
				return out, fmt.Errorf("decode %s: %w", path, err)
			}
			raw = w[wrapKey]
		}
		var items []T
		if len(raw) > 0 && string(raw) != "null" {
			if err := json.Unmarshal(raw, &items); err != nil {
				return out, fmt.Errorf("decode %s: %w", path, err)
			}
		}
		out = append(out, items...)
		page = resp.NextPage
	}
	return out, nil
}

type orgResult struct {
	scope      nhi.Scope
	identities []nhi.Identity
	gaps       *gapSet
	ok         bool
}

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
		ID        int64      `json:"id"`
		Key       string     `json:"key"`
		Title     string     `json:"title"`
		ReadOnly  bool       `json:"read_only"`
		Verified  bool       `json:"verified"`
		CreatedAt time.Time  `json:"created_at"`
		AddedBy   *string    `json:"added_by"`
		LastUsed  *time.Time `json:"last_used"`
		Enabled   *bool      `json:"enabled"`
	}
	apiInstallation struct {
		ID                  int64             `json:"id"`
		AppID               int64             `json:"app_id"`
		AppSlug             string            `json:"app_slug"`
		RepositorySelection string            `json:"repository_selection"`
		Permissions         map[string]string `json:"permissions"`
		Events              []string          `json:"events"`
		CreatedAt           time.Time         `json:"created_at"`
		SuspendedAt         *time.Time        `json:"suspended_at"`
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
		AccessGrantedAt time.Time  `json:"access_granted_at"`
		TokenID         int64      `json:"token_id"`
		TokenName       string     `json:"token_name"`
		TokenExpired    bool       `json:"token_expired"`
		TokenExpiresAt  *time.Time `json:"token_expires_at"`
		TokenLastUsedAt *time.Time `json:"token_last_used_at"`
	}
	apiCredAuth struct {
		Login                   string     `json:"login"`
		CredentialID            int64      `json:"credential_id"`
		CredentialType          string     `json:"credential_type"`
		CredentialAuthorizedAt  time.Time  `json:"credential_authorized_at"`
		CredentialAccessedAt    *time.Time `json:"credential_accessed_at"`
		Scopes                  []string   `json:"scopes"`
		Fingerprint             string     `json:"fingerprint"`
		AuthorizedCredentialID  int64      `json:"authorized_credential_id"`
		AuthorizedTitle         string     `json:"authorized_credential_title"`
		AuthorizedNote          string     `json:"authorized_credential_note"`
		AuthorizedExpiresAt     *time.Time `json:"authorized_credential_expires_at"`
		TokenLastEightNeverRead struct{}   `json:"-"`
	}
	apiSecret struct {
		Name       string    `json:"name"`
		CreatedAt  time.Time `json:"created_at"`
		UpdatedAt  time.Time `json:"updated_at"`
		Visibility string    `json:"visibility"`
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

// orgData is everything read about one organisation.
type orgData struct {
	org       apiOrg
	login     string // GitHub's spelling, for paths
	scope     string // the configured spelling: Scope of identities and gaps
	repos     []apiRepo
	reposOK   bool
	gql       map[int64]gqlRepo
	gqlOK     bool
	people    map[string]bool // members and outside collaborators, lower case
	peopleOK  bool
	tags      map[int64]map[string]string
	keys      map[int64][]apiKey
	installs  []apiInstallation
	pats      []apiPAT
	patRepos  map[int64][]string // pat_id -> full names, for subset tokens whose list was read
	credAuths []apiCredAuth
	orgSecs   []apiSecret
	orgSecsOK bool
	repoSecs  map[int64][]apiSecret
	envSecs   map[int64]map[string][]apiSecret // repo id -> env name -> secrets
	envs      map[int64][]gqlEnv               // repo id -> environments, where GraphQL gave only the first 100
	mu        sync.Mutex
}

const deployKeyQuery = `query($org: String!, $cursor: String) {
  organization(login: $org) {
    repositories(first: 100, after: $cursor, orderBy: {field: NAME, direction: ASC}) {
      pageInfo { hasNextPage endCursor }
      nodes {
        databaseId name nameWithOwner isArchived
        deployKeys(first: 1) { totalCount }
        environments(first: 100) { totalCount nodes { databaseId name } }
      }
    }
  }
}`

// graphQLRepos learns, 100 repositories a query, which repositories have
// deploy keys and which environments each has.
func (c *Collector) graphQLRepos(ctx context.Context, cl *gh.Client, org string) (map[int64]gqlRepo, error) {
	out := map[int64]gqlRepo{}
	var cursor *string
	for {
		var res struct {
			Data struct {
				Organization *struct {
					Repositories struct {
						PageInfo struct {
							HasNextPage bool   `json:"hasNextPage"`
							EndCursor   string `json:"endCursor"`
						} `json:"pageInfo"`
						Nodes []gqlRepo `json:"nodes"`
					} `json:"repositories"`
				} `json:"organization"`
			} `json:"data"`
			Errors []struct {
				Type    string `json:"type"`
				Message string `json:"message"`
			} `json:"errors"`
		}
		body := map[string]any{"query": deployKeyQuery, "variables": map[string]any{"org": org, "cursor": cursor}}
		_, err := c.do(ctx, func() (*gh.Response, error) {
			req, err := cl.NewRequest(ctx, http.MethodPost, c.graphql, body)
			if err != nil {
				return nil, err
			}
			res.Errors = nil
			return cl.Do(req, &res)
		})
		if err != nil {
			return out, err
		}
		if len(res.Errors) > 0 {
			e := res.Errors[0]
			switch e.Type {
			case "FORBIDDEN", "INSUFFICIENT_SCOPES", "NOT_FOUND":
				return out, fmt.Errorf("graphql %s: %s: %w", strings.ToLower(e.Type), e.Message, collectors.ErrDenied)
			case "RATE_LIMITED":
				return out, fmt.Errorf("graphql: %s: %w", e.Message, collectors.ErrThrottled)
			}
			return out, fmt.Errorf("graphql: %s", e.Message)
		}
		if res.Data.Organization == nil {
			return out, fmt.Errorf("graphql: organization %s: %w", org, collectors.ErrNotFound)
		}
		for _, n := range res.Data.Organization.Repositories.Nodes {
			out[n.DatabaseID] = n
		}
		pi := res.Data.Organization.Repositories.PageInfo
		if !pi.HasNextPage {
			return out, nil
		}
		cur := pi.EndCursor
		cursor = &cur
	}
}

func (c *Collector) collectOrg(ctx context.Context, org string, now time.Time) orgResult {
	res := orgResult{scope: nhi.Scope{Provider: nhi.GitHub, ID: org}, gaps: &gapSet{scope: org}}
	oc := c.clients[strings.ToLower(org)]
	cl := oc.rest
	d := &orgData{login: org, scope: org, gql: map[int64]gqlRepo{}, people: map[string]bool{}, tags: map[int64]map[string]string{},
		keys: map[int64][]apiKey{}, patRepos: map[int64][]string{}, envs: map[int64][]gqlEnv{}, repoSecs: map[int64][]apiSecret{}, envSecs: map[int64]map[string][]apiSecret{}}
	o := url.PathEscape(org)

	if _, err := c.do(ctx, func() (*gh.Response, error) {
		req, err := cl.NewRequest(ctx, http.MethodGet, "orgs/"+o, nil)
		if err != nil {
			return nil, err
		}
		return cl.Do(req, &d.org)
	}); err != nil {
		res.gaps.add(opGetOrg, err, false)
		c.log.Warn("github org unreadable", "org", org, "error", err)
		return res
	}
	res.scope.Name = d.org.Name
	if d.org.Login != "" {
		d.login = d.org.Login
	}
	if oc.appAuth != nil && oc.appAuth.repositorySelection() == "selected" {
		// The installation token sees only the selected repositories: the
		// others, and their deploy keys and secrets, are silently absent.
		res.gaps.addKind(opAppRepoAccess, nhi.GapDenied,
			"the scanner App is installed on selected repositories only; the others are not inventoried", false)
	}

	// Org-wide lists, concurrently.
	gqlDenied := false
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.cfg.Concurrency)
	g.Go(func() error {
		repos, err := list[apiRepo](gctx, c, cl, "orgs/"+o+"/repos?type=all", "")
		if err != nil {
			res.gaps.add(opListRepos, err, false)
			return nil
		}
		d.repos, d.reposOK = repos, true
		return nil
	})
	g.Go(func() error {
		m, err := c.graphQLRepos(gctx, cl, org)
		if err != nil {
			res.gaps.add(opGraphQL, err, false)
			kind, _ := classify(err)
			gqlDenied = kind == nhi.GapDenied
			return nil
		}
		d.gql, d.gqlOK = m, true
		return nil
	})
	g.Go(func() error {
		people := map[string]bool{}
		for _, op := range []string{opListMembers, opListOutside} {
			path := "orgs/" + o + "/members?role=all"
			if op == opListOutside {
				path = "orgs/" + o + "/outside_collaborators"
			}
			users, err := list[apiUser](gctx, c, cl, path, "")
			if err != nil {
				res.gaps.add(op, err, true)
				return nil
			}
			for _, u := range users {
				people[strings.ToLower(u.Login)] = true
			}
		}
		d.people, d.peopleOK = people, true
		return nil
	})
	g.Go(func() error {
		vals, err := list[apiPropertyValues](gctx, c, cl, "orgs/"+o+"/properties/values", "")
		if err != nil {
			res.gaps.add(opListProperties, err, true)
			return nil
		}
		for _, v := range vals {
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
			d.tags[v.RepositoryID] = tags
		}
		return nil
	})
	g.Go(func() error {
		ins, err := list[apiInstallation](gctx, c, cl, "orgs/"+o+"/installations", "installations")
		if err != nil {
			res.gaps.add(opListInstallations, err, false)
			return nil
		}
		d.installs = ins
		return nil
	})
	g.Go(func() error {
		if !oc.app {
			res.gaps.addKind(opListPATGrants, nhi.GapDenied, "fine-grained tokens can be listed only by a GitHub App", false)
			return nil
		}
		pats, err := list[apiPAT](gctx, c, cl, "orgs/"+o+"/personal-access-tokens", "")
		if err != nil {
			res.gaps.add(opListPATGrants, err, false)
			return nil
		}
		d.pats = pats
		return nil
	})
	g.Go(func() error {
		if oc.saml == nil {
			if c.cfg.SkipSAMLAuthorizations {
				return nil
			}
			res.gaps.addKind(opListSAMLAuths, nhi.GapDenied, "GitHub Apps cannot list SAML credential authorisations; configure a token beside the App", false)
			return nil
		}
		auths, err := list[apiCredAuth](gctx, c, oc.saml, "orgs/"+o+"/credential-authorizations", "")
		if err != nil {
			if statusOf(err) == http.StatusNotFound {
				return nil // the org does not use SAML single sign-on: nothing to list
			}
			res.gaps.add(opListSAMLAuths, err, false)
			return nil
		}
		d.credAuths = auths
		return nil
	})
	g.Go(func() error {
		secs, err := list[apiSecret](gctx, c, cl, "orgs/"+o+"/actions/secrets", "secrets")
		if err != nil {
			res.gaps.add(opListOrgSecrets, err, false)
			return nil
		}
		d.orgSecs, d.orgSecsOK = secs, true
		return nil
	})
	_ = g.Wait()

	// Per-repository calls: deploy keys only where GraphQL saw some,
	// secrets for every repository, environment secrets per environment;
	// and the repositories of each token limited to a subset.
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(c.cfg.Concurrency)
	for _, p := range d.pats {
		if p.RepositorySelection != "subset" {
			continue
		}
		g.Go(func() error {
			repos, err := list[apiRepo](gctx, c, cl, "orgs/"+o+"/personal-access-tokens/"+id64(p.ID)+"/repositories", "")
			if err != nil {
				res.gaps.add(opListPATRepos, err, false)
				return nil
			}
			names := make([]string, 0, len(repos))
			for _, r := range repos {
				names = append(names, r.FullName)
			}
			d.mu.Lock()
			d.patRepos[p.ID] = uniqSorted(names)
			d.mu.Unlock()
			return nil
		})
	}
	for _, r := range d.repos {
		rp := url.PathEscape(d.login) + "/" + url.PathEscape(r.Name)
		q, known := d.gql[r.ID]
		// Without a GraphQL answer (other than a refusal) fall back to REST
		// for every repository; a repository GraphQL did not list (created
		// meanwhile) is asked directly.
		if (!d.gqlOK && !gqlDenied) || (d.gqlOK && (!known || q.DeployKeys.TotalCount > 0)) {
			g.Go(func() error {
				keys, err := list[apiKey](gctx, c, cl, "repos/"+rp+"/keys", "")
				if err != nil {
					res.gaps.add(opListDeployKeys, err, false)
					return nil
				}
				d.mu.Lock()
				d.keys[r.ID] = keys
				d.mu.Unlock()
				return nil
			})
		}
		g.Go(func() error {
			secs, err := list[apiSecret](gctx, c, cl, "repos/"+rp+"/actions/secrets", "secrets")
			if err != nil {
				res.gaps.add(opListRepoSecrets, err, false)
				return nil
			}
			d.mu.Lock()
			d.repoSecs[r.ID] = secs
			d.mu.Unlock()
			return nil
		})
		envSecrets := func(ctx context.Context, env gqlEnv) {
			secs, err := list[apiSecret](ctx, c, cl, "repos/"+rp+"/environments/"+url.PathEscape(env.Name)+"/secrets", "secrets")
			if err != nil {
				res.gaps.add(opListEnvSecrets, err, false)
				return
			}
			d.mu.Lock()
			if d.envSecs[r.ID] == nil {
				d.envSecs[r.ID] = map[string][]apiSecret{}
			}
			d.envSecs[r.ID][env.Name] = secs
			d.mu.Unlock()
		}
		if q.Environments.TotalCount > len(q.Environments.Nodes) {
			// More environments than the query reads: list them over REST
			// and read their secrets in this one goroutine (rare).
			g.Go(func() error {
				envs, err := list[apiEnv](gctx, c, cl, "repos/"+rp+"/environments", "environments")
				if err != nil {
					res.gaps.add(opListEnvs, err, false)
					return nil
				}
				all := make([]gqlEnv, 0, len(envs))
				for _, e := range envs {
					all = append(all, gqlEnv{DatabaseID: e.ID, Name: e.Name})
				}
				d.mu.Lock()
				d.envs[r.ID] = all
				d.mu.Unlock()
				for _, env := range all {
					envSecrets(gctx, env)
				}
				return nil
			})
			continue
		}
		for _, env := range q.Environments.Nodes {
			g.Go(func() error {
				envSecrets(gctx, env)
				return nil
			})
		}
	}
	_ = g.Wait()
	if ctx.Err() != nil {
		res.gaps.add(opGetOrg, ctx.Err(), false)
	}
	res.identities = c.mapOrg(d, now)
	res.ok = ctx.Err() == nil
	return res
}
