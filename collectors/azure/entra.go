package azure

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

type timeValue = time.Time

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	// The beta reports are documented with one-digit hour offsets
	// ("-8:00"); pad them to RFC 3339.
	if n := len(s); n > 5 && s[n-3] == ':' && (s[n-5] == '+' || s[n-5] == '-') && isDigit(s[n-4]) {
		s = s[:n-4] + "0" + s[n-4:]
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unrecognised time %q", s)
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// Gap sources (the Graph and ARM operations), with the permission each
// needs. The names match the fake's operation names.
const (
	srcApplications      = "graph:applications.list"
	srcFederated         = "graph:applications.list($expand=federatedIdentityCredentials)"
	srcFederatedPerApp   = "graph:applications.federatedIdentityCredentials.list"
	srcAppOwners         = "graph:applications.owners.list"
	srcServicePrincipals = "graph:servicePrincipals.list"
	srcSPOwners          = "graph:servicePrincipals.owners.list"
	srcAppRoleAssignedTo = "graph:servicePrincipals.appRoleAssignedTo.list"
	srcUsers             = "graph:users.list"
	srcDirRoleDefs       = "graph:roleManagement.directory.roleDefinitions.list"
	srcDirRoleAssigns    = "graph:roleManagement.directory.roleAssignments.list"
	srcSPSignIns         = "graph:reports.servicePrincipalSignInActivities"
	srcCredSignIns       = "graph:reports.appCredentialSignInActivities"

	permApplication = "Application.Read.All"
	permUsers       = "User.Read.All"
	permRoles       = "RoleManagement.Read.Directory"
	permReports     = "AuditLog.Read.All (and an Entra ID P1 or P2 licence)"
)

// Graph limits the collector works around.
const (
	expandLimit = 20 // items in an expanded relationship, with no nextLink
	filterInMax = 15 // values in one "id in (...)" filter
)

// entraData is what the Graph half of a scan collected.
type entraData struct {
	apps    []application
	appsOK  bool
	fics    map[string][]ficWire // app object id -> trusts
	sps     []servicePrincipal
	spsOK   bool
	users   map[string]directoryObject // owner users with accountEnabled
	dirRole map[string]directoryRole   // by id and template id
	dirAsg  []directoryRoleAssignment
	appPerm []appRoleAssignment
	roles   map[string]map[string]string // resource SP id -> app role id -> value
	resApp  map[string]string            // resource SP id -> resource appId

	signInsOK  bool
	signInsWhy string
	spSignIns  map[string]spSignIn  // appId, lower case
	credSignIn map[string]time.Time // keyId -> last use (zero: never)
	credSeen   map[string]bool      // keyId present in the report
}

// gapSet collects gaps, one per scope and source.
type gapSet struct {
	mu   sync.Mutex
	gaps map[[2]string]*nhi.Gap
	n    map[[2]string]int
}

func (s *gapSet) add(scope, source, perm string, usageOnly bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gaps == nil {
		s.gaps, s.n = map[[2]string]*nhi.Gap{}, map[[2]string]int{}
	}
	k := [2]string{scope, source}
	s.n[k]++
	if g := s.gaps[k]; g != nil {
		return
	}
	s.gaps[k] = &nhi.Gap{Provider: nhi.Azure, Scope: scope, Source: source, Kind: gapKind(err),
		Permission: perm, Detail: err.Error(), UsageOnly: usageOnly}
}

// spread copies the gaps of the given sources to every other scope: what
// those sources lost (service principals, their grants) can belong to
// identities in any scope, such as a managed identity placed in its
// subscription or an application holding an Azure role in another
// subscription. A scope that lost data must be partial, or the loss would
// look like a removal.
func (s *gapSet) spread(scopes []string, sources ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	want := map[string]bool{}
	for _, src := range sources {
		want[src] = true
	}
	var from []nhi.Gap
	for k, g := range s.gaps {
		if want[k[1]] && g.Scope != "" {
			from = append(from, *g)
		}
	}
	slices.SortFunc(from, func(a, b nhi.Gap) int { return strings.Compare(a.Scope+"|"+a.Source, b.Scope+"|"+b.Source) })
	for _, g := range from {
		for _, sc := range scopes {
			k := [2]string{sc, g.Source}
			if s.gaps[k] != nil {
				continue
			}
			c := g
			c.Scope = sc
			c.Detail = "data of identities in this scope may be missing; failed in " + g.Scope + ": " + g.Detail
			s.gaps[k], s.n[k] = &c, 1
		}
	}
}

func (s *gapSet) list() []nhi.Gap {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []nhi.Gap
	for k, g := range s.gaps {
		gg := *g
		if n := s.n[k]; n > 1 {
			gg.Detail = fmt.Sprintf("%d calls failed; first: %s", n, gg.Detail)
		}
		out = append(out, gg)
	}
	return out
}

const (
	appSelect = "id,appId,displayName,createdDateTime,signInAudience,tags,passwordCredentials,keyCredentials"
	spSelect  = "id,appId,displayName,servicePrincipalType,accountEnabled,appOwnerOrganizationId,alternativeNames,tags,passwordCredentials,keyCredentials,appRoles"
	ownerSel  = "id,userPrincipalName,mail,accountEnabled"
)

func q(v url.Values) string { return "?" + strings.ReplaceAll(v.Encode(), "%24", "$") }

// collectEntra reads the tenant through Graph. Failures become gaps.
func (c *Collector) collectEntra(ctx context.Context, gaps *gapSet) *entraData {
	t := c.cfg.TenantID
	d := &entraData{fics: map[string][]ficWire{}, users: map[string]directoryObject{}, dirRole: map[string]directoryRole{},
		roles: map[string]map[string]string{}, resApp: map[string]string{}, spSignIns: map[string]spSignIn{},
		credSignIn: map[string]time.Time{}, credSeen: map[string]bool{}}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	_ = gctx // failures are gaps, not errors: every goroutine returns nil
	g.Go(func() error {
		v := url.Values{"$select": {appSelect}, "$expand": {"owners"}, "$top": {"999"}}
		var apps []application
		err := list(ctx, c.graph, srcApplications, "/v1.0/applications"+q(v), func(a application) { apps = append(apps, a) })
		if err != nil {
			gaps.add(t, srcApplications, permApplication, false, err)
			return nil
		}
		d.apps, d.appsOK = apps, true
		return nil
	})
	g.Go(func() error {
		v := url.Values{"$select": {"id"}, "$expand": {"federatedIdentityCredentials"}, "$top": {"999"}}
		type appFICs struct {
			ID   string    `json:"id"`
			FICs []ficWire `json:"federatedIdentityCredentials"`
		}
		var full []string
		err := list(ctx, c.graph, srcFederated, "/v1.0/applications"+q(v), func(a appFICs) {
			mu.Lock()
			d.fics[a.ID] = a.FICs
			mu.Unlock()
			if len(a.FICs) >= expandLimit {
				full = append(full, a.ID)
			}
		})
		if err != nil {
			gaps.add(t, srcFederated, permApplication, false, err)
			return nil
		}
		// An expansion holds at most 20 items: re-read those that may be cut.
		each(ctx, c.cfg.Concurrency, full, func(id string) {
			var fics []ficWire
			err := list(ctx, c.graph, srcFederatedPerApp, "/v1.0/applications/"+url.PathEscape(id)+"/federatedIdentityCredentials",
				func(f ficWire) { fics = append(fics, f) })
			if err != nil {
				gaps.add(t, srcFederatedPerApp, permApplication, false, err)
				return
			}
			mu.Lock()
			d.fics[id] = fics
			mu.Unlock()
		})
		return nil
	})
	g.Go(func() error {
		v := url.Values{"$select": {spSelect}, "$expand": {"owners"}, "$top": {"999"}}
		var sps []servicePrincipal
		err := list(ctx, c.graph, srcServicePrincipals, "/v1.0/servicePrincipals"+q(v), func(s servicePrincipal) { sps = append(sps, s) })
		if err != nil {
			gaps.add(t, srcServicePrincipals, permApplication, false, err)
			return nil
		}
		d.sps, d.spsOK = sps, true
		return nil
	})
	g.Go(func() error {
		// isPrivileged exists only in beta; v1.0 rejects selecting it, so
		// privilege comes from the built-in role tables.
		v := url.Values{"$select": {"id,displayName,templateId"}}
		err := list(ctx, c.graph, srcDirRoleDefs, "/v1.0/roleManagement/directory/roleDefinitions"+q(v), func(r directoryRole) {
			mu.Lock()
			d.dirRole[r.ID] = r
			if r.TemplateID != "" {
				d.dirRole[r.TemplateID] = r
			}
			mu.Unlock()
		})
		if err != nil {
			gaps.add(t, srcDirRoleDefs, permRoles, false, err)
		}
		v = url.Values{"$select": {"id,principalId,roleDefinitionId,directoryScopeId"}}
		var asg []directoryRoleAssignment
		err = list(ctx, c.graph, srcDirRoleAssigns, "/v1.0/roleManagement/directory/roleAssignments"+q(v),
			func(a directoryRoleAssignment) { asg = append(asg, a) })
		if err != nil {
			gaps.add(t, srcDirRoleAssigns, permRoles, false, err)
			return nil
		}
		d.dirAsg = asg
		return nil
	})
	g.Go(func() error {
		c.collectSignIns(ctx, d, gaps)
		return nil
	})
	_ = g.Wait()
	if ctx.Err() != nil {
		return d
	}

	// Second round: owners past the expansion limit, application
	// permissions per resource, then the owners' account state.
	var resources []string
	for _, s := range d.sps {
		if r := appRoles(s); len(r) > 0 {
			resources = append(resources, s.ID)
			d.roles[s.ID], d.resApp[s.ID] = r, s.AppID
		}
	}
	g2, _ := errgroup.WithContext(ctx)
	g2.Go(func() error {
		var apps, sps []int
		for i, a := range d.apps {
			if len(a.Owners) >= expandLimit {
				apps = append(apps, i)
			}
		}
		for i, s := range d.sps {
			if len(s.Owners) >= expandLimit {
				sps = append(sps, i)
			}
		}
		each(ctx, c.cfg.Concurrency, apps, func(i int) {
			o, err := c.owners(ctx, srcAppOwners, "/v1.0/applications/"+url.PathEscape(d.apps[i].ID)+"/owners")
			if err != nil {
				gaps.add(t, srcAppOwners, permApplication, false, err)
				return
			}
			d.apps[i].Owners = o
		})
		each(ctx, c.cfg.Concurrency, sps, func(i int) {
			o, err := c.owners(ctx, srcSPOwners, "/v1.0/servicePrincipals/"+url.PathEscape(d.sps[i].ID)+"/owners")
			if err != nil {
				gaps.add(t, srcSPOwners, permApplication, false, err)
				return
			}
			d.sps[i].Owners = o
		})
		return nil
	})
	g2.Go(func() error {
		each(ctx, c.cfg.Concurrency, resources, func(resID string) {
			var got []appRoleAssignment
			v := url.Values{"$top": {"999"}}
			err := list(ctx, c.graph, srcAppRoleAssignedTo, "/v1.0/servicePrincipals/"+url.PathEscape(resID)+"/appRoleAssignedTo"+q(v),
				func(a appRoleAssignment) {
					if a.PrincipalType == "ServicePrincipal" {
						got = append(got, a)
					}
				})
			if err != nil {
				gaps.add(t, srcAppRoleAssignedTo, permApplication, false, err)
				return
			}
			mu.Lock()
			d.appPerm = append(d.appPerm, got...)
			mu.Unlock()
		})
		return nil
	})
	_ = g2.Wait()
	c.ownerAccounts(ctx, d, gaps)
	return d
}

// appRoles returns the application permissions a resource defines.
func appRoles(s servicePrincipal) map[string]string {
	var out map[string]string
	for _, r := range s.AppRoles {
		for _, m := range r.AllowedMemberTypes {
			if m == "Application" {
				if out == nil {
					out = map[string]string{}
				}
				out[r.ID] = r.Value
			}
		}
	}
	return out
}

func (c *Collector) owners(ctx context.Context, op, path string) ([]directoryObject, error) {
	var out []directoryObject
	v := url.Values{"$select": {ownerSel}, "$top": {"999"}}
	err := list(ctx, c.graph, op, path+q(v), func(o directoryObject) { out = append(out, o) })
	return out, err
}

// ownerAccounts reads accountEnabled of every owner user whose state the
// owner listing did not carry, 15 ids per call.
func (c *Collector) ownerAccounts(ctx context.Context, d *entraData, gaps *gapSet) {
	need := map[string]bool{}
	note := func(os []directoryObject) {
		for _, o := range os {
			if !isUser(o) {
				continue
			}
			if o.AccountEnabled != nil {
				d.users[o.ID] = o
			} else {
				need[o.ID] = true
			}
		}
	}
	for _, a := range d.apps {
		note(a.Owners)
	}
	for _, s := range d.sps {
		note(s.Owners)
	}
	var ids []string
	for id := range need {
		if _, ok := d.users[id]; !ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var chunks [][]string
	for len(ids) > 0 {
		n := min(filterInMax, len(ids))
		chunks = append(chunks, ids[:n])
		ids = ids[n:]
	}
	var mu sync.Mutex
	each(ctx, c.cfg.Concurrency, chunks, func(chunk []string) {
		quoted := make([]string, len(chunk))
		for i, id := range chunk {
			quoted[i] = "'" + id + "'"
		}
		v := url.Values{"$filter": {"id in (" + strings.Join(quoted, ",") + ")"}, "$select": {ownerSel}}
		err := list(ctx, c.graph, srcUsers, "/v1.0/users"+q(v), func(u directoryObject) {
			mu.Lock()
			d.users[u.ID] = u
			mu.Unlock()
		})
		if err != nil {
			gaps.add(c.cfg.TenantID, srcUsers, permUsers, false, err)
		}
	})
}

func isUser(o directoryObject) bool {
	return o.Type == "" || strings.EqualFold(o.Type, "#microsoft.graph.user")
}

// collectSignIns reads the two beta usage reports.
func (c *Collector) collectSignIns(ctx context.Context, d *entraData, gaps *gapSet) {
	t := c.cfg.TenantID
	if c.cfg.SkipSignInReports {
		d.signInsWhy = "sign-in activity reports are turned off in the configuration"
		gaps.add(t, srcSPSignIns, permReports, true, fmt.Errorf("%s: %w", srcSPSignIns, errSkipped))
		return
	}
	v := url.Values{"$top": {"999"}}
	sps := map[string]spSignIn{}
	err := list(ctx, c.graph, srcSPSignIns, "/beta/reports/servicePrincipalSignInActivities"+q(v), func(s spSignIn) {
		k := strings.ToLower(s.AppID)
		if old, ok := sps[k]; ok {
			s = mergeSignIn(old, s)
		}
		sps[k] = s
	})
	if err != nil {
		d.signInsWhy = "servicePrincipalSignInActivities could not be read: " + err.Error()
		gaps.add(t, srcSPSignIns, permReports, true, err)
		return
	}
	creds := map[string]time.Time{}
	seen := map[string]bool{}
	err = list(ctx, c.graph, srcCredSignIns, "/beta/reports/appCredentialSignInActivities"+q(v), func(s credSignIn) {
		k := strings.ToLower(s.KeyID)
		seen[k] = true
		if s.SignInActivity != nil && s.SignInActivity.LastSignInDateTime.t.After(creds[k]) {
			creds[k] = s.SignInActivity.LastSignInDateTime.t
		}
	})
	if err != nil {
		d.signInsWhy = "appCredentialSignInActivities could not be read: " + err.Error()
		gaps.add(t, srcCredSignIns, permReports, true, err)
		return
	}
	d.signInsOK, d.spSignIns, d.credSignIn, d.credSeen = true, sps, creds, seen
}

var errSkipped = errorString("skipped by configuration")

type errorString string

func (e errorString) Error() string { return string(e) }

func mergeSignIn(a, b spSignIn) spSignIn {
	pick := func(x, y *signInActivity) *signInActivity {
		if x == nil || (y != nil && y.LastSignInDateTime.t.After(x.LastSignInDateTime.t)) {
			return y
		}
		return x
	}
	a.AppAuthClient = pick(a.AppAuthClient, b.AppAuthClient)
	a.DelegatedClient = pick(a.DelegatedClient, b.DelegatedClient)
	a.AppAuthResource = pick(a.AppAuthResource, b.AppAuthResource)
	a.DelegatedResource = pick(a.DelegatedResource, b.DelegatedResource)
	a.LastSignInActivity = pick(a.LastSignInActivity, b.LastSignInActivity)
	return a
}

// each runs fn over items with the configured concurrency.
func each[T any](ctx context.Context, limit int, items []T, fn func(T)) {
	g, _ := errgroup.WithContext(ctx)
	g.SetLimit(limit)
	for _, it := range items {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error { fn(it); return nil })
	}
	_ = g.Wait()
}
