package gcp

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	apikeys "google.golang.org/api/apikeys/v2"
	iam "google.golang.org/api/iam/v1"
	storage "google.golang.org/api/storage/v1"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

const (
	typeSA      = "iam.googleapis.com/ServiceAccount"
	typeKey     = "iam.googleapis.com/ServiceAccountKey"
	typeProject = "cloudresourcemanager.googleapis.com/Project"

	grantKind   = "role-binding"
	usageSource = "activity-analyzer"
)

type project struct {
	id, number, name, parent string
	labels                   map[string]string
	// described: its labels (owner data) were read, from its asset or
	// Resource Manager.
	described bool
	// listed: its service accounts were listed completely, by the asset
	// listing of its parent or by IAM. An account of a project that was
	// not listed may be missing, so a binding naming it cannot tell it
	// from an account outside the scan.
	listed bool
	// usage facts
	usageErr     string // why usage could not be read
	apiKeysErr   string
	obsStart     time.Time
	obsEnd       time.Time
	saLast       map[string]time.Time // uniqueId -> last authentication
	keyLast      map[string]time.Time // key id -> last authentication
	apiKeys      []*apikeys.V2Key
	hasAPIKeyFor map[string]bool // SA email -> bound API key exists
	hmacErr      string
	hmacKeys     []*storage.HmacKeyMetadata
	hasHMACFor   map[string]bool // SA email -> active HMAC key exists
	// poolsRead: its workload identity pools and providers were listed.
	poolsRead bool
	// insights are its policy insights by member and role (nil when not
	// read); recErr says why they were not.
	insights map[string]insight
	recErr   string
	// recommendations are its active role recommendations by member and
	// role (nil when not read).
	recommendations map[string]*nhi.GrantRecommendation
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
	// parent is the configured parent whose search found the binding;
	// project the search result's project ("projects/NUMBER"), if any.
	parent, project string
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
	gaps     *collectors.Gaps
	// federated: workload identity federation members, by member.
	federated map[string]*principal
	// keyUnknown: the keys (by id) whose state no call returned, and why;
	// keyKnown: those whose state a call returned.
	keyUnknown map[string]string
	keyKnown   map[string]bool
	// roles: the custom roles bindings name, by name.
	roles map[string]*roleDef
	// pools: the workload identity pools read, by resource name.
	pools map[string]*pool
	// accountPolicy: the bindings of each service account's own policy, by
	// the account's unique id or email (lower case).
	accountPolicy map[string][]binding

	// unenumerated: the projects under some parent could not all be found
	// (its asset listing and Resource Manager both failed), so a project
	// may exist that the scan never saw.
	unenumerated bool
	// assetErr is the first failed asset listing: what left projects
	// unseen or their numbers unknown. Bindings that cannot be placed
	// because of it are recorded as gaps under its name.
	assetErr error
	// searchErr is the first failed policy search, with the parent it
	// failed at: bindings above and beside projects are missing.
	searchErr    error
	searchParent string
	// searchFailedAt: the scopes of the parents whose search failed.
	searchFailedAt map[string]bool
	// fedErr and trustErr are the first failed search for pool
	// principals and for service accounts' own policies, each with the
	// parent it failed at (spreadGaps).
	fedErr, trustErr spreadErr
	// firstErr is the first failure of the scan, for the error returned
	// when nothing at all was collected.
	firstErr error
}

func (s *scan) addProject(p *project) *project {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.projects[p.id]; ok {
		if old.number == "" {
			old.number = p.number
		}
		if !old.described && p.described {
			old.labels, old.described = p.labels, true
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

// addKey records a key of the account saRef (an email or a unique id).
// known says whether its state (disabled, disable reason, extended status)
// was read; see keyStateKnown.
func (s *scan) addKey(saRef string, k *iam.ServiceAccountKey, known bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[strings.ToLower(saRef)] = append(s.keys[strings.ToLower(saRef)], k)
	id := keyID(k.Name)
	switch {
	case known:
		// One source said it (the fallback's keys.list, asset data naming
		// it): the key's state is known whatever another source left out.
		s.keyKnown[id] = true
		delete(s.keyUnknown, id)
	case !s.keyKnown[id]:
		s.keyUnknown[id] = "not read"
	}
}

// addBindings records the bindings of a resource whose member keep
// accepts.
func (s *scan) addBindings(resource string, bs []binding, keep func(member string) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range bs {
		if keep(b.member) {
			b.resource = resource
			s.bindings = append(s.bindings, b)
		}
	}
}

// serviceAccountMember: a service account, or a GKE Workload Identity
// member, which IAM names as a service account too.
func serviceAccountMember(m string) bool { return strings.HasPrefix(m, "serviceAccount:") }

// poolPrincipal: a principal:// or principalSet:// member of a workload
// identity pool.
func poolPrincipal(m string) bool {
	if !strings.HasPrefix(m, "principal") {
		return false
	}
	_, ok := parseFederated(m)
	return ok
}

// anyCollected: a member the collector keeps.
func anyCollected(m string) bool { return serviceAccountMember(m) || poolPrincipal(m) }

// Collect inventories every configured scope. It returns a partial
// inventory with gaps when some calls fail, and an error only when the
// context ended or nothing at all could be collected (no identity, and a
// gap hides the identity list of every configured parent). Its errors do
// not name the provider: the caller does.
func (c *Collector) Collect(ctx context.Context) (nhi.Inventory, error) {
	s := &scan{
		now: c.cfg.Now().UTC(), projects: map[string]*project{}, byNumber: map[string]string{},
		accounts: map[string]*account{}, byEmail: map[string]string{}, keys: map[string][]*iam.ServiceAccountKey{},
		scopes: map[string]string{}, gaps: collectors.NewGaps(nhi.GCP, ops), searchFailedAt: map[string]bool{},
		federated: map[string]*principal{}, keyUnknown: map[string]string{}, keyKnown: map[string]bool{}, roles: map[string]*roleDef{},
		pools: map[string]*pool{}, accountPolicy: map[string][]binding{},
	}
	for _, parent := range c.parents {
		if id, ok := strings.CutPrefix(parent, "projects/"); ok {
			s.addProject(&project{id: id})
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
			Identities: -1, Gaps: s.gaps.Count(gapScope(parent)), Done: i + 1, Total: len(c.parents)})
	}
	if ctx.Err() == nil {
		c.verifyKeys(ctx, s)
		c.readRoles(ctx, s)
		c.collectPools(ctx, s)
	}
	if ctx.Err() == nil {
		c.collectUsage(ctx, s)
	}
	inv := c.build(s)
	if err := ctx.Err(); err != nil {
		return inv, fmt.Errorf("collection stopped: %w", err)
	}
	if len(inv.Identities) == 0 && c.nothingRead(s) {
		return inv, fmt.Errorf("every scope failed; first: %w", s.firstErr)
	}
	return inv, nil
}

// nothingRead reports whether a gap hides the identity list of every
// configured parent.
func (c *Collector) nothingRead(s *scan) bool {
	if s.firstErr == nil {
		return false
	}
	for _, p := range c.parents {
		if !s.gaps.Hidden(gapScope(p), facetAccounts) {
			return false
		}
	}
	return true
}

// gapScope is the scope id a parent's gaps are recorded under.
func gapScope(parent string) string { return strings.TrimPrefix(parent, "projects/") }

// fail records that op failed for scope (a gap hiding the facets of the
// operations table, unless facets are given) and logs it. A note says what
// the collector did instead.
func (c *Collector) fail(s *scan, scope, op string, err error, note string, facets ...nhi.Facet) {
	c.log.Warn("gcp call failed", "scope", scope, "operation", op, "kind", string(collectors.GapKind(err)), "error", err.Error())
	s.mu.Lock()
	if s.firstErr == nil {
		s.firstErr = fmt.Errorf("%s: %s: %w", scope, op, err)
	}
	s.mu.Unlock()
	if note != "" {
		err = fmt.Errorf("%w; %s", err, note)
	}
	s.gaps.Add(scope, op, err, facets...)
}

// collectParent reads one asset parent, falling back to per-project calls.
func (c *Collector) collectParent(ctx context.Context, s *scan, parent string) {
	var assetsErr, policiesErr, fedErr, trustErr error
	var seen []string
	keep := func(f func(string) bool) func(string, []binding) {
		return func(res string, bs []binding) { s.addBindings(res, bs, f) }
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { seen, assetsErr = c.listAssets(gctx, s, parent); return nil })
	g.Go(func() error {
		policiesErr = c.searchPolicies(gctx, parent, searchServiceAccounts, keep(serviceAccountMember))
		return nil
	})
	g.Go(func() error {
		fedErr = c.searchPolicies(gctx, parent, searchPrincipals, keep(poolPrincipal))
		return nil
	})
	g.Go(func() error {
		trustErr = c.searchPolicies(gctx, parent, searchAccountPolicies, s.addImpersonators)
		return nil
	})
	_ = g.Wait()
	if ctx.Err() != nil {
		return
	}
	scope := gapScope(parent)
	if fedErr != nil {
		c.fail(s, scope, opSearchFederated, fedErr, "workload identity federation principals are not collected")
		s.failSpread(&s.fedErr, fedErr, parent)
	}
	if trustErr != nil {
		c.fail(s, scope, opSearchAccountPolicies, trustErr, "who may impersonate each service account is not known")
		s.failSpread(&s.trustErr, trustErr, parent)
	}
	if assetsErr != nil {
		c.fail(s, scope, opListAssets, assetsErr, "fell back to per-project IAM calls")
		s.mu.Lock()
		if s.assetErr == nil {
			s.assetErr = assetsErr
		}
		s.mu.Unlock()
	}
	if policiesErr != nil {
		c.fail(s, scope, opSearchPolicies, policiesErr, "fell back to project IAM policies: folder, organisation and resource-level bindings are not collected")
		s.mu.Lock()
		s.searchFailedAt[scope] = true
		if s.searchErr == nil {
			s.searchErr, s.searchParent = policiesErr, parent
		}
		s.mu.Unlock()
	}
	if assetsErr != nil || policiesErr != nil {
		c.fallback(ctx, s, parent, seen, assetsErr != nil, policiesErr != nil)
	}
}

// listAssets reads the projects, service accounts and keys under parent
// and returns the ids of the projects it saw. When the whole listing was
// read, those projects' accounts are listed.
func (c *Collector) listAssets(ctx context.Context, s *scan, parent string) ([]string, error) {
	var seen []string
	err := c.pages(ctx, func(ctx context.Context, token string) (string, error) {
		resp, err := c.asset.Assets.List(parent).AssetTypes(typeProject, typeSA, typeKey).ContentType("RESOURCE").
			PageSize(int64(c.cfg.AssetPageSize)).PageToken(token).Context(ctx).Do()
		if err != nil {
			return "", err
		}
		for _, a := range resp.Assets {
			if a.Resource != nil && len(a.Resource.Data) > 0 {
				seen = append(seen, s.readAsset(a.AssetType, a.Name, a.Resource.Data)...)
			}
		}
		return resp.NextPageToken, nil
	})
	if err == nil {
		s.mu.Lock()
		for _, id := range seen {
			s.projects[id].listed = true
		}
		s.mu.Unlock()
	}
	return seen, err
}

// readAsset records one asset and returns the project it names, if any.
func (s *scan) readAsset(typ, name string, data []byte) []string {
	switch typ {
	case typeProject:
		var d struct {
			ProjectNumber string            `json:"projectNumber"`
			ProjectID     string            `json:"projectId"`
			Name          string            `json:"name"`
			Labels        map[string]string `json:"labels"`
			Parent        struct{ Type, ID string }
		}
		if json.Unmarshal(data, &d) != nil || d.ProjectID == "" {
			return nil
		}
		par := ""
		if d.Parent.ID != "" {
			par = d.Parent.Type + "s/" + d.Parent.ID
		}
		s.addProject(&project{id: d.ProjectID, number: d.ProjectNumber, name: d.Name, labels: d.Labels, parent: par, described: true})
		return []string{d.ProjectID}
	case typeSA:
		var sa iam.ServiceAccount
		if json.Unmarshal(data, &sa) != nil {
			return nil
		}
		s.addAccount(&sa)
		if sa.ProjectId != "" {
			s.addProject(&project{id: sa.ProjectId})
			return []string{sa.ProjectId}
		}
	case typeKey:
		var k iam.ServiceAccountKey
		var fields map[string]json.RawMessage
		if json.Unmarshal(data, &k) != nil || json.Unmarshal(data, &fields) != nil {
			return nil
		}
		// //iam.googleapis.com/projects/P/serviceAccounts/SA/keys/K
		if k.Name == "" {
			k.Name = strings.TrimPrefix(name, "//iam.googleapis.com/")
		}
		known := keyStateKnown(&k, fields)
		parts := strings.Split(name, "/")
		if len(parts) >= 8 && parts[5] == "serviceAccounts" {
			s.addKey(parts[6], &k, known)
		} else if ref := saFromKeyName(k.Name); ref != "" {
			s.addKey(ref, &k, known)
		}
		if len(parts) >= 8 && parts[3] == "projects" && parts[4] != "" && parts[4] != "-" {
			s.addProject(&project{id: parts[4]})
			return []string{parts[4]}
		}
	}
	return nil
}

// keyStateKnown reports whether a key's asset data says its state. Cloud
// Asset's resource data is the key "in which some sensitive fields are
// removed and may not be present", and Google's JSON leaves out false and
// empty values too: a user-managed key without "disabled" may be enabled,
// or disabled with the field removed, and one without "extendedStatus" may
// have been found exposed. Only a key the data calls disabled, or one
// whose data names both fields, has a known state; a system-managed key
// is Google's and cannot be disabled.
func keyStateKnown(k *iam.ServiceAccountKey, fields map[string]json.RawMessage) bool {
	_, hasDisabled := fields["disabled"]
	_, hasStatus := fields["extendedStatus"]
	return k.KeyType == "SYSTEM_MANAGED" || k.Disabled || (hasDisabled && hasStatus)
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

// policySearch is one search of the IAM policies under a parent: a query,
// or the policies of one asset type.
type policySearch struct {
	query, assetType string
}

// The searches the collector makes at every parent.
var (
	searchServiceAccounts = policySearch{query: "memberTypes:serviceAccount"}
	searchPrincipals      = policySearch{query: federatedQuery}
	// searchAccountPolicies reads every member of every service account's
	// own policy: who may impersonate it.
	searchAccountPolicies = policySearch{assetType: typeSA}
)

// searchPolicies runs a policy search under parent and hands each
// result's bindings to record, those of the pages read before a failure
// included (a caller that cannot use a partial result drops it).
func (c *Collector) searchPolicies(ctx context.Context, parent string, q policySearch, record func(resource string, bs []binding)) error {
	size := int64(min(c.cfg.AssetPageSize, 500))
	type found struct {
		resource string
		bs       []binding
	}
	var all []found
	err := c.pages(ctx, func(ctx context.Context, token string) (string, error) {
		call := c.asset.V1.SearchAllIamPolicies(parent).PageSize(size).PageToken(token)
		if q.query != "" {
			call = call.Query(q.query)
		}
		if q.assetType != "" {
			call = call.AssetTypes(q.assetType)
		}
		resp, err := call.Context(ctx).Do()
		if err != nil {
			return "", err
		}
		for _, r := range resp.Results {
			if r.Policy == nil {
				continue
			}
			var bs []binding
			for _, b := range r.Policy.Bindings {
				cond := ""
				if b.Condition != nil {
					cond = b.Condition.Title
				}
				for _, m := range b.Members {
					bs = append(bs, binding{role: b.Role, member: m, condition: cond, parent: parent, project: r.Project})
				}
			}
			all = append(all, found{r.Resource, bs})
		}
		return resp.NextPageToken, nil
	})
	for _, f := range all {
		record(f.resource, f.bs)
	}
	return err
}

// sortedProjects returns the projects by id.
func sortedProjects(byID map[string]*project) []*project {
	out := make([]*project, 0, len(byID))
	for _, p := range byID {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}
