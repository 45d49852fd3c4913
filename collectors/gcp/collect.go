package gcp

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	apikeys "google.golang.org/api/apikeys/v2"
	crm "google.golang.org/api/cloudresourcemanager/v3"
	iam "google.golang.org/api/iam/v1"
	policyanalyzer "google.golang.org/api/policyanalyzer/v1"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// API operations as named in gaps.
const (
	opListAssets     = "cloudasset.assets.list"
	opSearchPolicies = "cloudasset.searchAllIamPolicies"
	opListSAs        = "iam.projects.serviceAccounts.list"
	opListKeys       = "iam.projects.serviceAccounts.keys.list"
	opQueryActivity  = "policyanalyzer.activities.query"
	opListAPIKeys    = "apikeys.keys.list"
	opGetProject     = "cloudresourcemanager.projects.get"
	opListProjects   = "cloudresourcemanager.projects.list"
	opListFolders    = "cloudresourcemanager.folders.list"
	opProjectPolicy  = "cloudresourcemanager.projects.getIamPolicy"

	typeSA      = "iam.googleapis.com/ServiceAccount"
	typeKey     = "iam.googleapis.com/ServiceAccountKey"
	typeProject = "cloudresourcemanager.googleapis.com/Project"

	actSA  = "serviceAccountLastAuthentication"
	actKey = "serviceAccountKeyLastAuthentication"

	usageSource = "activity-analyzer"
)

var permissions = map[string]string{
	opListAssets:     "cloudasset.assets.listResource (roles/cloudasset.viewer)",
	opSearchPolicies: "cloudasset.assets.searchAllIamPolicies (roles/cloudasset.viewer)",
	opListSAs:        "iam.serviceAccounts.list (roles/iam.serviceAccountViewer)",
	opListKeys:       "iam.serviceAccountKeys.list (roles/iam.serviceAccountViewer)",
	opQueryActivity:  "policyanalyzer.serviceAccountLastAuthenticationActivities.query, policyanalyzer.serviceAccountKeyLastAuthenticationActivities.query (roles/policyanalyzer.activityAnalysisViewer)",
	opListAPIKeys:    "apikeys.keys.list (roles/serviceusage.apiKeysViewer)",
	opGetProject:     "resourcemanager.projects.get (roles/browser)",
	opListProjects:   "resourcemanager.projects.list (roles/browser)",
	opListFolders:    "resourcemanager.folders.list (roles/browser)",
	opProjectPolicy:  "resourcemanager.projects.getIamPolicy (roles/iam.securityReviewer)",
}

type project struct {
	id, number, name, parent string
	labels                   map[string]string
	// usage facts
	usageErr     string // why usage could not be read
	apiKeysErr   string
	obsStart     time.Time
	obsEnd       time.Time
	saLast       map[string]time.Time // uniqueId -> last authentication
	keyLast      map[string]time.Time // key id -> last authentication
	apiKeys      []*apikeys.V2Key
	hasAPIKeyFor map[string]bool // SA email -> bound API key exists
}

type account struct {
	sa     *iam.ServiceAccount
	keys   map[string]*iam.ServiceAccountKey
	grants map[string]nhi.Grant
	agent  bool // Google-managed service agent seen only in bindings
	// external: a service account outside the collected scopes, seen
	// only in bindings (another project or another organisation).
	external bool
	project  string
}

type binding struct {
	resource, role, member, condition string
}

// scan is the state of one collection.
type scan struct {
	mu       sync.Mutex
	now      time.Time
	projects map[string]*project // by id
	byNumber map[string]string
	accounts map[string]*account // by uniqueId (or email for agents)
	byEmail  map[string]string
	keys     map[string][]*iam.ServiceAccountKey // SA id or email -> keys seen in assets
	bindings []binding
	scopes   map[string]string
	gaps     []nhi.Gap
}

func (s *scan) gap(g nhi.Gap) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g.Provider = nhi.GCP
	s.gaps = append(s.gaps, g)
}

func (s *scan) addProject(p *project) *project {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.projects[p.id]; ok {
		if old.number == "" {
			old.number = p.number
		}
		if old.labels == nil {
			old.labels = p.labels
		}
		if old.name == "" {
			old.name = p.name
		}
		if old.parent == "" {
			old.parent = p.parent
		}
		if old.number != "" {
			s.byNumber[old.number] = old.id
		}
		s.scopes[old.id] = old.name
		return old
	}
	s.projects[p.id] = p
	if p.number != "" {
		s.byNumber[p.number] = p.id
	}
	s.scopes[p.id] = p.name
	return p
}

func (s *scan) addAccount(sa *iam.ServiceAccount) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sa.UniqueId == "" {
		return
	}
	if a, ok := s.accounts[sa.UniqueId]; ok {
		a.sa = sa
		return
	}
	s.accounts[sa.UniqueId] = &account{sa: sa, keys: map[string]*iam.ServiceAccountKey{}, grants: map[string]nhi.Grant{}, project: sa.ProjectId}
	s.byEmail[strings.ToLower(sa.Email)] = sa.UniqueId
}

func (s *scan) addKey(saRef string, k *iam.ServiceAccountKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[strings.ToLower(saRef)] = append(s.keys[strings.ToLower(saRef)], k)
}

// Collect inventories every configured scope. It returns a partial
// inventory with gaps when some calls fail, and an error only when the
// context ended or nothing at all could be collected.
func (c *Collector) Collect(ctx context.Context) (nhi.Inventory, error) {
	s := &scan{
		now: c.cfg.Now().UTC(), projects: map[string]*project{}, byNumber: map[string]string{},
		accounts: map[string]*account{}, byEmail: map[string]string{}, keys: map[string][]*iam.ServiceAccountKey{},
		scopes: map[string]string{},
	}
	for _, parent := range c.parents {
		if id, ok := strings.CutPrefix(parent, "projects/"); ok {
			s.scopes[id] = ""
		} else {
			s.scopes[parent] = ""
		}
	}
	for i, parent := range c.parents {
		if ctx.Err() != nil {
			break
		}
		c.collectParent(ctx, s, parent)
		c.cfg.Progress.Report(collectors.ScopeDone{Provider: nhi.GCP, Scope: gapScope(parent), Phase: "inventory",
			Identities: -1, Done: i + 1, Total: len(c.parents)})
	}
	if ctx.Err() == nil {
		c.collectUsage(ctx, s)
	}
	inv := c.build(s)
	if err := ctx.Err(); err != nil {
		return inv, fmt.Errorf("gcp collect: %w", err)
	}
	if len(inv.Identities) == 0 && len(inv.Gaps) > 0 && allFailed(inv.Gaps, c.parents) {
		return inv, fmt.Errorf("gcp collect: every scope failed, first: %s: %s: %w", inv.Gaps[0].Source, inv.Gaps[0].Detail, collectors.ErrDenied)
	}
	return inv, nil
}

// allFailed reports whether every configured parent has a non-usage gap.
func allFailed(gaps []nhi.Gap, parents []string) bool {
	failed := map[string]bool{}
	for _, g := range gaps {
		if !g.UsageOnly {
			failed[g.Scope] = true
		}
	}
	for _, p := range parents {
		if !failed[strings.TrimPrefix(p, "projects/")] {
			return false
		}
	}
	return true
}

// gapScope is the scope id a parent's gaps are recorded under.
func gapScope(parent string) string { return strings.TrimPrefix(parent, "projects/") }

func (c *Collector) failure(s *scan, scope, op string, err error, detail string, usageOnly bool) {
	kind, serr := classify(err)
	if detail != "" {
		detail = serr.Error() + "; " + detail
	} else {
		detail = serr.Error()
	}
	c.log.Warn("gcp call failed", "scope", scope, "operation", op, "kind", string(kind), "error", serr.Error())
	s.gap(nhi.Gap{Scope: scope, Source: op, Kind: kind, Permission: permissions[op], Detail: detail, UsageOnly: usageOnly})
}

// collectParent reads one asset parent, falling back to per-project calls.
func (c *Collector) collectParent(ctx context.Context, s *scan, parent string) {
	var assetsErr, policiesErr error
	var seen []string
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { seen, assetsErr = c.listAssets(gctx, s, parent); return nil })
	g.Go(func() error { policiesErr = c.searchPolicies(gctx, s, parent); return nil })
	_ = g.Wait()
	if ctx.Err() != nil {
		return
	}
	scope := gapScope(parent)
	if assetsErr != nil {
		c.failure(s, scope, opListAssets, assetsErr, "fell back to per-project IAM calls", false)
	}
	if policiesErr != nil {
		c.failure(s, scope, opSearchPolicies, policiesErr, "fell back to project IAM policies: folder, organisation and resource-level bindings are not collected", false)
	}
	if assetsErr == nil && policiesErr == nil {
		return
	}
	// The projects to fall back on: those the asset listing saw (all of
	// them when it succeeded, those of the pages read before it failed)
	// and, when it failed, those Resource Manager lists. A project seen in
	// a partial listing is re-read through IAM even when Resource Manager
	// cannot list it, so that it is either complete or carries its own gap.
	byID := map[string]*project{}
	if assetsErr != nil {
		for _, p := range c.enumerateProjects(ctx, s, parent) {
			byID[p.id] = p
		}
	}
	s.mu.Lock()
	for _, id := range seen {
		byID[id] = s.projects[id]
	}
	s.mu.Unlock()
	projects := make([]*project, 0, len(byID))
	for _, p := range byID {
		projects = append(projects, p)
	}
	sort.Slice(projects, func(i, j int) bool { return projects[i].id < projects[j].id })
	if policiesErr != nil && !strings.HasPrefix(parent, "projects/") {
		// Project policies replace the search only in part: the
		// organisation, folder and resource bindings of these projects'
		// service accounts are missing, so each project is partial too.
		kind, serr := classify(policiesErr)
		for _, p := range projects {
			s.gap(nhi.Gap{Scope: p.id, Source: opSearchPolicies, Kind: kind, Permission: permissions[opSearchPolicies],
				Detail: serr.Error() + "; the search at " + parent + " failed: organisation, folder and resource-level bindings of this project's service accounts are not collected"})
		}
	}
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(c.cfg.Concurrency)
	for _, p := range projects {
		g.Go(func() error {
			if assetsErr != nil {
				c.fallbackAccounts(gctx, s, p)
			}
			if policiesErr != nil {
				c.fallbackPolicy(gctx, s, p)
			}
			return nil
		})
	}
	_ = g.Wait()
}

// listAssets reads the projects, service accounts and keys under parent
// and returns the ids of the projects it saw.
func (c *Collector) listAssets(ctx context.Context, s *scan, parent string) ([]string, error) {
	var seen []string
	err := c.pages(ctx, func(ctx context.Context, token string) (string, error) {
		resp, err := c.asset.Assets.List(parent).AssetTypes(typeProject, typeSA, typeKey).ContentType("RESOURCE").
			PageSize(int64(c.cfg.AssetPageSize)).PageToken(token).Context(ctx).Do()
		if err != nil {
			return "", err
		}
		for _, a := range resp.Assets {
			if a.Resource == nil || len(a.Resource.Data) == 0 {
				continue
			}
			switch a.AssetType {
			case typeProject:
				var d struct {
					ProjectNumber string            `json:"projectNumber"`
					ProjectID     string            `json:"projectId"`
					Name          string            `json:"name"`
					Labels        map[string]string `json:"labels"`
					Parent        struct{ Type, ID string }
				}
				if json.Unmarshal(a.Resource.Data, &d) != nil || d.ProjectID == "" {
					continue
				}
				par := ""
				if d.Parent.ID != "" {
					par = d.Parent.Type + "s/" + d.Parent.ID
				}
				s.addProject(&project{id: d.ProjectID, number: d.ProjectNumber, name: d.Name, labels: d.Labels, parent: par})
				seen = append(seen, d.ProjectID)
			case typeSA:
				var sa iam.ServiceAccount
				if json.Unmarshal(a.Resource.Data, &sa) != nil {
					continue
				}
				s.addAccount(&sa)
				if sa.ProjectId != "" {
					s.addProject(&project{id: sa.ProjectId})
					seen = append(seen, sa.ProjectId)
				}
			case typeKey:
				var k iam.ServiceAccountKey
				if json.Unmarshal(a.Resource.Data, &k) != nil {
					continue
				}
				// //iam.googleapis.com/projects/P/serviceAccounts/SA/keys/K
				parts := strings.Split(a.Name, "/")
				if len(parts) >= 8 && parts[5] == "serviceAccounts" {
					s.addKey(parts[6], &k)
				} else if ref := saFromKeyName(k.Name); ref != "" {
					s.addKey(ref, &k)
				}
				if len(parts) >= 8 && parts[3] == "projects" && parts[4] != "" && parts[4] != "-" {
					s.addProject(&project{id: parts[4]})
					seen = append(seen, parts[4])
				}
			}
		}
		return resp.NextPageToken, nil
	})
	return seen, err
}

// saFromKeyName returns the account part of projects/P/serviceAccounts/A/keys/K.
func saFromKeyName(name string) string {
	parts := strings.Split(name, "/")
	if len(parts) == 6 && parts[2] == "serviceAccounts" {
		return parts[3]
	}
	return ""
}

func keyID(name string) string { return name[strings.LastIndex(name, "/")+1:] }

func (c *Collector) searchPolicies(ctx context.Context, s *scan, parent string) error {
	size := int64(min(c.cfg.AssetPageSize, 500))
	return c.pages(ctx, func(ctx context.Context, token string) (string, error) {
		resp, err := c.asset.V1.SearchAllIamPolicies(parent).Query("memberTypes:serviceAccount").
			PageSize(size).PageToken(token).Context(ctx).Do()
		if err != nil {
			return "", err
		}
		s.mu.Lock()
		for _, r := range resp.Results {
			if r.Policy == nil {
				continue
			}
			for _, b := range r.Policy.Bindings {
				cond := ""
				if b.Condition != nil {
					cond = b.Condition.Title
				}
				for _, m := range b.Members {
					if strings.HasPrefix(m, "serviceAccount:") {
						s.bindings = append(s.bindings, binding{resource: r.Resource, role: b.Role, member: m, condition: cond})
					}
				}
			}
		}
		s.mu.Unlock()
		return resp.NextPageToken, nil
	})
}

// enumerateProjects lists the projects under a parent through Resource
// Manager, walking folders.
func (c *Collector) enumerateProjects(ctx context.Context, s *scan, parent string) []*project {
	if id, ok := strings.CutPrefix(parent, "projects/"); ok {
		var p *crm.Project
		err := c.call(ctx, func(ctx context.Context) error {
			var err error
			p, err = c.crm.Projects.Get("projects/" + id).Context(ctx).Do()
			return err
		})
		if err != nil {
			c.failure(s, id, opGetProject, err, "project labels unknown", false)
			return []*project{s.addProject(&project{id: id})}
		}
		return []*project{s.addProject(crmToProject(p))}
	}
	var out []*project
	queue := []string{parent}
	for len(queue) > 0 && ctx.Err() == nil {
		par := queue[0]
		queue = queue[1:]
		err := c.pages(ctx, func(ctx context.Context, token string) (string, error) {
			resp, err := c.crm.Projects.List().Parent(par).PageSize(1000).PageToken(token).Context(ctx).Do()
			if err != nil {
				return "", err
			}
			for _, p := range resp.Projects {
				if p.State == "" || p.State == "ACTIVE" {
					out = append(out, s.addProject(crmToProject(p)))
				}
			}
			return resp.NextPageToken, nil
		})
		if err != nil {
			c.failure(s, gapScope(par), opListProjects, err, "projects under "+par+" not collected", false)
		}
		err = c.pages(ctx, func(ctx context.Context, token string) (string, error) {
			resp, err := c.crm.Folders.List().Parent(par).PageSize(1000).PageToken(token).Context(ctx).Do()
			if err != nil {
				return "", err
			}
			for _, f := range resp.Folders {
				if f.State == "" || f.State == "ACTIVE" {
					queue = append(queue, f.Name)
				}
			}
			return resp.NextPageToken, nil
		})
		if err != nil {
			c.failure(s, gapScope(par), opListFolders, err, "folders under "+par+" not walked", false)
		}
	}
	return out
}

func crmToProject(p *crm.Project) *project {
	return &project{id: p.ProjectId, number: strings.TrimPrefix(p.Name, "projects/"), name: p.DisplayName, labels: p.Labels, parent: p.Parent}
}

// fallbackAccounts lists a project's service accounts and keys through IAM.
func (c *Collector) fallbackAccounts(ctx context.Context, s *scan, p *project) {
	var sas []*iam.ServiceAccount
	err := c.pages(ctx, func(ctx context.Context, token string) (string, error) {
		resp, err := c.iam.Projects.ServiceAccounts.List("projects/" + p.id).PageSize(100).PageToken(token).Context(ctx).Do()
		if err != nil {
			return "", err
		}
		sas = append(sas, resp.Accounts...)
		return resp.NextPageToken, nil
	})
	if err != nil {
		c.failure(s, p.id, opListSAs, err, "", false)
		return
	}
	var keyErr error
	for _, sa := range sas {
		s.addAccount(sa)
		var resp *iam.ListServiceAccountKeysResponse
		err := c.call(ctx, func(ctx context.Context) error {
			var err error
			resp, err = c.iam.Projects.ServiceAccounts.Keys.List(sa.Name).Context(ctx).Do()
			return err
		})
		if err != nil {
			keyErr = err
			continue
		}
		for _, k := range resp.Keys {
			s.addKey(sa.UniqueId, k)
		}
	}
	if keyErr != nil {
		c.failure(s, p.id, opListKeys, keyErr, "keys of some service accounts not collected", false)
	}
}

// fallbackPolicy reads a project's own IAM policy.
func (c *Collector) fallbackPolicy(ctx context.Context, s *scan, p *project) {
	var pol *crm.Policy
	err := c.call(ctx, func(ctx context.Context) error {
		var err error
		pol, err = c.crm.Projects.GetIamPolicy("projects/"+p.id, &crm.GetIamPolicyRequest{
			Options: &crm.GetPolicyOptions{RequestedPolicyVersion: 3}}).Context(ctx).Do()
		return err
	})
	if err != nil {
		c.failure(s, p.id, opProjectPolicy, err, "", false)
		return
	}
	res := "//cloudresourcemanager.googleapis.com/projects/" + p.id
	if p.number != "" {
		res = "//cloudresourcemanager.googleapis.com/projects/" + p.number
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range pol.Bindings {
		cond := ""
		if b.Condition != nil {
			cond = b.Condition.Title
		}
		for _, m := range b.Members {
			if strings.HasPrefix(m, "serviceAccount:") {
				s.bindings = append(s.bindings, binding{resource: res, role: b.Role, member: m, condition: cond})
			}
		}
	}
}

// collectUsage reads Policy Analyzer activities and API keys per project
// that holds service accounts.
func (c *Collector) collectUsage(ctx context.Context, s *scan) {
	s.mu.Lock()
	has := map[string]int{}
	for _, a := range s.accounts {
		has[a.project]++
		if _, ok := s.projects[a.project]; !ok && !a.agent && a.project != "" {
			// An account whose project no listing described: read its
			// usage all the same rather than call it unused.
			s.projects[a.project] = &project{id: a.project}
			s.scopes[a.project] = ""
		}
	}
	var projects []*project
	for id, p := range s.projects {
		if has[id] > 0 {
			projects = append(projects, p)
		}
	}
	s.mu.Unlock()
	sort.Slice(projects, func(i, j int) bool { return projects[i].id < projects[j].id })
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.cfg.Concurrency)
	var done atomic.Int64
	for _, p := range projects {
		g.Go(func() error {
			c.projectUsage(gctx, s, p)
			c.cfg.Progress.Report(collectors.ScopeDone{Provider: nhi.GCP, Scope: p.id, Phase: "usage",
				Identities: has[p.id], Done: int(done.Add(1)), Total: len(projects)})
			return nil
		})
	}
	_ = g.Wait()
	// A project whose queries returned no activity at all carries no
	// observation period. Activity Analyzer observes every project over the
	// same period, so take it from the others; when no project reported
	// one, the as-of stays unknown rather than being made up from the clock.
	var start, end time.Time
	for _, p := range projects {
		if !p.obsEnd.IsZero() && p.obsEnd.After(end) {
			end = p.obsEnd
		}
		if !p.obsStart.IsZero() && (start.IsZero() || p.obsStart.Before(start)) {
			start = p.obsStart
		}
	}
	for _, p := range projects {
		if p.obsEnd.IsZero() && p.usageErr == "" {
			p.obsStart, p.obsEnd = start, end
		}
	}
}

func (c *Collector) projectUsage(ctx context.Context, s *scan, p *project) {
	saLast, keyLast := map[string]time.Time{}, map[string]time.Time{}
	var start, end time.Time
	if c.cfg.SkipUsage {
		p.usageErr = "usage collection is switched off (skip_usage)"
	} else {
		for _, typ := range []string{actSA, actKey} {
			parent := "projects/" + p.id + "/locations/global/activityTypes/" + typ
			err := c.pages(ctx, func(ctx context.Context, token string) (string, error) {
				resp, err := c.pa.Projects.Locations.ActivityTypes.Activities.Query(parent).PageSize(1000).PageToken(token).Context(ctx).Do()
				if err != nil {
					return "", err
				}
				for _, a := range resp.Activities {
					st, en := observation(a.ObservationPeriod)
					if start.IsZero() || st.Before(start) {
						start = st
					}
					if en.After(end) {
						end = en
					}
					readActivity(a, saLast, keyLast)
				}
				return resp.NextPageToken, nil
			})
			if err != nil {
				c.failure(s, p.id, opQueryActivity, err, "last authentication of "+p.id+" unknown", true)
				p.usageErr = "Activity Analyzer could not be read (" + opQueryActivity + ")"
				break
			}
		}
	}
	var keys []*apikeys.V2Key
	err := c.pages(ctx, func(ctx context.Context, token string) (string, error) {
		resp, err := c.keys.Projects.Locations.Keys.List("projects/" + p.id + "/locations/global").PageSize(300).PageToken(token).Context(ctx).Do()
		if err != nil {
			return "", err
		}
		keys = append(keys, resp.Keys...)
		return resp.NextPageToken, nil
	})
	if err != nil {
		c.failure(s, p.id, opListAPIKeys, err, "API keys bound to service accounts unknown, so the API-key usage blind spot cannot be ruled out", false)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		p.apiKeysErr = "API keys of " + p.id + " could not be listed, so use through a bound API key (an Activity Analyzer blind spot) cannot be ruled out"
	}
	p.saLast, p.keyLast, p.obsStart, p.obsEnd = saLast, keyLast, start, end
	p.apiKeys = keys
	p.hasAPIKeyFor = map[string]bool{}
	for _, k := range keys {
		if k.ServiceAccountEmail != "" && k.DeleteTime == "" {
			p.hasAPIKeyFor[strings.ToLower(k.ServiceAccountEmail)] = true
		}
	}
}

func observation(o *policyanalyzer.GoogleCloudPolicyanalyzerV1ObservationPeriod) (time.Time, time.Time) {
	if o == nil {
		return time.Time{}, time.Time{}
	}
	return parseTime(o.StartTime), parseTime(o.EndTime)
}

// readActivity records one activity's last authentication.
func readActivity(a *policyanalyzer.GoogleCloudPolicyanalyzerV1Activity, saLast, keyLast map[string]time.Time) {
	var d struct {
		LastAuthenticatedTime string `json:"lastAuthenticatedTime"`
		ServiceAccount        *struct {
			FullResourceName string `json:"fullResourceName"`
			ServiceAccountID string `json:"serviceAccountId"`
		} `json:"serviceAccount"`
		ServiceAccountKey *struct {
			FullResourceName string `json:"fullResourceName"`
			ServiceAccountID string `json:"serviceAccountId"`
		} `json:"serviceAccountKey"`
	}
	if json.Unmarshal(a.Activity, &d) != nil {
		return
	}
	t := parseTime(d.LastAuthenticatedTime)
	if t.IsZero() {
		return
	}
	switch {
	case d.ServiceAccount != nil:
		// The account's unique id; without it, the last part of its full
		// resource name (an email or a unique id), which accountLast
		// looks up too.
		id := d.ServiceAccount.ServiceAccountID
		if id == "" {
			name := d.ServiceAccount.FullResourceName
			if name == "" {
				name = a.FullResourceName
			}
			id = strings.ToLower(name[strings.LastIndex(name, "/")+1:])
		}
		if t.After(saLast[id]) {
			saLast[id] = t
		}
	case d.ServiceAccountKey != nil:
		name := d.ServiceAccountKey.FullResourceName
		if name == "" {
			name = a.FullResourceName
		}
		id := keyID(name)
		if t.After(keyLast[id]) {
			keyLast[id] = t
		}
	}
}

// accountLast returns the last authentication recorded for an account, by
// unique id or, for activities that named it only by email, by email.
func (p *project) accountLast(sa *iam.ServiceAccount) (time.Time, bool) {
	last, seen := p.saLast[sa.UniqueId]
	if t, ok := p.saLast[strings.ToLower(sa.Email)]; ok && t.After(last) {
		last, seen = t, true
	}
	return last, seen
}
