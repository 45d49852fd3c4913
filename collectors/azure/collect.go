package azure

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"golang.org/x/sync/errgroup"
)

// Collect inventories the tenant and its subscriptions. A failed call
// becomes a gap on every scope whose identities lost data, naming the
// facets it hides there; Collect fails only when the context ends or
// nothing could be read at all.
func (c *Collector) Collect(ctx context.Context) (nhi.Inventory, error) {
	now := c.cfg.Now().UTC()
	fails := &failures{}
	var ed *entraData
	var ad *armData
	parallel(
		func() {
			ed = c.collectEntra(ctx, fails)
			c.cfg.Progress.Report(collectors.ScopeDone{Provider: nhi.Azure, Scope: c.cfg.TenantID, Phase: "entra", Identities: -1, Done: 1, Total: 1})
		},
		func() {
			ad = c.collectARM(ctx, fails)
			c.cfg.Progress.Report(collectors.ScopeDone{Provider: nhi.Azure, Scope: fmt.Sprintf("%d subscription(s)", len(ad.subs)), Phase: "arm", Identities: -1, Done: 1, Total: 1})
		},
	)
	if err := ctx.Err(); err != nil {
		return nhi.Inventory{}, fmt.Errorf("azure: collect tenant %s: %w", c.cfg.TenantID, err)
	}
	inv, where := c.build(now, ed, ad)
	inv.Gaps = fails.gaps(c.cfg.TenantID, inv.Scopes, where)
	inv.Normalize()
	if !ed.appsOK && !ed.spsOK && !ad.subsKnown && !ad.readOK && len(inv.Gaps) > 0 {
		return inv, fmt.Errorf("azure: nothing could be read from tenant %s: %s", c.cfg.TenantID, inv.Gaps[0].Detail)
	}
	c.log.Debug("azure collection done", "tenant", c.cfg.TenantID, "identities", len(inv.Identities),
		"subscriptions", len(ad.subs), "gaps", len(inv.Gaps))
	return inv, nil
}

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
	// delegated are the delegated permission grants.
	delegated []oauth2Grant
	// eligible are the PIM eligibilities for directory roles.
	eligible []roleEligibility
	// roleGroups are the role-assignable groups (lower-case id -> name);
	// groupMembers the service principals of those that hold a role.
	roleGroups   map[string]string
	groupMembers map[string][]string
	roles        map[string]map[string]string // resource SP id -> app role id -> value
	resApp       map[string]string            // resource SP id -> resource appId

	spReport   signInReport // servicePrincipalSignInActivities, by appId
	credReport signInReport // appCredentialSignInActivities, by keyId
}

const (
	appSelect = "id,appId,displayName,createdDateTime,signInAudience,disabledByMicrosoftStatus,tags,passwordCredentials,keyCredentials"
	spSelect  = "id,appId,displayName,servicePrincipalType,accountEnabled,disabledByMicrosoftStatus,appOwnerOrganizationId,alternativeNames,tags,passwordCredentials,keyCredentials,appRoles"
	ownerSel  = "id,userPrincipalName,mail,accountEnabled"
)

func q(v url.Values) string { return "?" + strings.ReplaceAll(v.Encode(), "%24", "$") }

// collectEntra reads the tenant through Graph. Failed calls are kept in
// fails, for gaps.
func (c *Collector) collectEntra(ctx context.Context, fails *failures) *entraData {
	d := &entraData{fics: map[string][]ficWire{}, users: map[string]directoryObject{}, dirRole: map[string]directoryRole{},
		roles: map[string]map[string]string{}, resApp: map[string]string{}}
	// First round, in parallel: the directory-wide lists.
	parallel(
		func() { c.readApplications(ctx, d, fails) },
		func() { c.readFederated(ctx, d, fails) },
		func() { c.readServicePrincipals(ctx, d, fails) },
		func() { c.readDirectoryRoles(ctx, d, fails) },
		func() { c.readDelegatedGrants(ctx, d, fails) },
		func() { c.readEligibleRoles(ctx, d, fails) },
		func() { c.readRoleGroups(ctx, d, fails) },
		func() { c.collectSignIns(ctx, d, fails) },
	)
	if ctx.Err() != nil {
		return d
	}
	// Second round: owners past the expansion limit and application
	// permissions per resource, then the owners' account state.
	parallel(
		func() { c.readOwnersPastLimit(ctx, d, fails) },
		func() { c.readAppPermissions(ctx, d, fails) },
		func() { c.readRoleGroupMembers(ctx, d, fails) },
	)
	c.ownerAccounts(ctx, d, fails)
	return d
}

// parallel runs fns concurrently and waits for them all.
func parallel(fns ...func()) {
	var g errgroup.Group
	for _, fn := range fns {
		g.Go(func() error { fn(); return nil })
	}
	_ = g.Wait()
}

func (c *Collector) readApplications(ctx context.Context, d *entraData, fails *failures) {
	v := url.Values{"$select": {appSelect}, "$expand": {"owners"}, "$top": {"999"}}
	var apps []application
	err := list(ctx, c.graph, opApplications, "/v1.0/applications"+q(v), func(a application) { apps = append(apps, a) })
	if err != nil {
		fails.add(opApplications, c.cfg.TenantID, err)
		return
	}
	d.apps, d.appsOK = apps, true
}

// readFederated reads every application's federated credentials through
// $expand, then re-reads those of an application whose expansion may be
// cut at 20 items.
func (c *Collector) readFederated(ctx context.Context, d *entraData, fails *failures) {
	t := c.cfg.TenantID
	v := url.Values{"$select": {"id"}, "$expand": {"federatedIdentityCredentials"}, "$top": {"999"}}
	type appFICs struct {
		ID   string    `json:"id"`
		FICs []ficWire `json:"federatedIdentityCredentials"`
	}
	fics := map[string][]ficWire{}
	var full []string
	err := list(ctx, c.graph, opFederated, "/v1.0/applications"+q(v), func(a appFICs) {
		fics[a.ID] = a.FICs
		if len(a.FICs) >= expandLimit {
			full = append(full, a.ID)
		}
	})
	if err != nil {
		fails.add(opFederated, t, err)
		return
	}
	var mu sync.Mutex
	each(ctx, c.cfg.Concurrency, full, func(id string) {
		var all []ficWire
		err := list(ctx, c.graph, opFederatedPerApp, "/v1.0/applications/"+url.PathEscape(id)+"/federatedIdentityCredentials",
			func(f ficWire) { all = append(all, f) })
		if err != nil {
			fails.add(opFederatedPerApp, t, err)
			return
		}
		mu.Lock()
		fics[id] = all
		mu.Unlock()
	})
	d.fics = fics
}

func (c *Collector) readServicePrincipals(ctx context.Context, d *entraData, fails *failures) {
	v := url.Values{"$select": {spSelect}, "$expand": {"owners"}, "$top": {"999"}}
	var sps []servicePrincipal
	err := list(ctx, c.graph, opServicePrincipals, "/v1.0/servicePrincipals"+q(v), func(s servicePrincipal) { sps = append(sps, s) })
	if err != nil {
		fails.add(opServicePrincipals, c.cfg.TenantID, err)
		return
	}
	d.sps, d.spsOK = sps, true
}

// readDirectoryRoles reads the directory role definitions and
// assignments.
func (c *Collector) readDirectoryRoles(ctx context.Context, d *entraData, fails *failures) {
	t := c.cfg.TenantID
	// isPrivileged exists only in beta; v1.0 rejects selecting it, so
	// privilege comes from the built-in role tables.
	v := url.Values{"$select": {"id,displayName,templateId"}}
	err := list(ctx, c.graph, opDirRoleDefs, "/v1.0/roleManagement/directory/roleDefinitions"+q(v), func(r directoryRole) {
		d.dirRole[r.ID] = r
		if r.TemplateID != "" {
			d.dirRole[r.TemplateID] = r
		}
	})
	if err != nil {
		fails.add(opDirRoleDefs, t, err)
	}
	v = url.Values{"$select": {"id,principalId,roleDefinitionId,directoryScopeId"}}
	var asg []directoryRoleAssignment
	err = list(ctx, c.graph, opDirRoleAssigns, "/v1.0/roleManagement/directory/roleAssignments"+q(v),
		func(a directoryRoleAssignment) { asg = append(asg, a) })
	if err != nil {
		fails.add(opDirRoleAssigns, t, err)
		return
	}
	d.dirAsg = asg
}

// readOwnersPastLimit re-reads the owners of every application and
// service principal whose expanded owner list may be cut at 20.
func (c *Collector) readOwnersPastLimit(ctx context.Context, d *entraData, fails *failures) {
	t := c.cfg.TenantID
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
		o, err := c.owners(ctx, opAppOwners, "/v1.0/applications/"+url.PathEscape(d.apps[i].ID)+"/owners")
		if err != nil {
			fails.add(opAppOwners, t, err, d.apps[i].ID)
			return
		}
		d.apps[i].Owners = o
	})
	each(ctx, c.cfg.Concurrency, sps, func(i int) {
		o, err := c.owners(ctx, opSPOwners, "/v1.0/servicePrincipals/"+url.PathEscape(d.sps[i].ID)+"/owners")
		if err != nil {
			fails.add(opSPOwners, t, err, d.sps[i].ID)
			return
		}
		d.sps[i].Owners = o
	})
}

// readAppPermissions reads, for every service principal that defines
// application permissions (a resource such as Microsoft Graph), the
// permissions granted on it to service principals.
func (c *Collector) readAppPermissions(ctx context.Context, d *entraData, fails *failures) {
	var resources []string
	for _, s := range d.sps {
		if r := appRoles(s); len(r) > 0 {
			resources = append(resources, s.ID)
			d.roles[s.ID], d.resApp[s.ID] = r, s.AppID
		}
	}
	var mu sync.Mutex
	each(ctx, c.cfg.Concurrency, resources, func(resID string) {
		var got []appRoleAssignment
		v := url.Values{"$top": {"999"}}
		err := list(ctx, c.graph, opAppRoleAssignedTo, "/v1.0/servicePrincipals/"+url.PathEscape(resID)+"/appRoleAssignedTo"+q(v),
			func(a appRoleAssignment) {
				if a.PrincipalType == "ServicePrincipal" {
					got = append(got, a)
				}
			})
		if err != nil {
			fails.add(opAppRoleAssignedTo, c.cfg.TenantID, err)
			return
		}
		mu.Lock()
		d.appPerm = append(d.appPerm, got...)
		mu.Unlock()
	})
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
// owner listing did not carry, 15 ids per call. A failed call names the
// objects those users own.
func (c *Collector) ownerAccounts(ctx context.Context, d *entraData, fails *failures) {
	owned := map[string][]string{} // user id -> objects it owns
	note := func(object string, os []directoryObject) {
		for _, o := range os {
			if !isUser(o) {
				continue
			}
			if o.AccountEnabled != nil {
				d.users[o.ID] = o
			} else {
				owned[o.ID] = append(owned[o.ID], object)
			}
		}
	}
	for _, a := range d.apps {
		note(a.ID, a.Owners)
	}
	for _, s := range d.sps {
		note(s.ID, s.Owners)
	}
	var ids []string
	for id := range owned {
		if _, ok := d.users[id]; !ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var mu sync.Mutex
	each(ctx, c.cfg.Concurrency, slices.Collect(slices.Chunk(ids, filterInMax)), func(chunk []string) {
		quoted := make([]string, len(chunk))
		var objects []string
		for i, id := range chunk {
			quoted[i] = "'" + id + "'"
			objects = append(objects, owned[id]...)
		}
		v := url.Values{"$filter": {"id in (" + strings.Join(quoted, ",") + ")"}, "$select": {ownerSel}}
		err := list(ctx, c.graph, opUsers, "/v1.0/users"+q(v), func(u directoryObject) {
			mu.Lock()
			d.users[u.ID] = u
			mu.Unlock()
		})
		if err != nil {
			fails.add(opUsers, c.cfg.TenantID, err, objects...)
		}
	})
}

func isUser(o directoryObject) bool {
	return o.Type == "" || strings.EqualFold(o.Type, "#microsoft.graph.user")
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
