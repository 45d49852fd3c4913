package azure

import (
	"cmp"
	"context"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armsubscriptions"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/privilege"
)

type rbacAssignment struct {
	id, scope, roleGUID, roleName string
	// roleDefID is the role definition's resource id, as the assignment
	// names it.
	roleDefID string
	created   time.Time
}

type managedIdentity struct {
	principalID, clientID, name, sub, rg, resourceID string
	tags                                             map[string]string
	// fics are its federated identity credentials (ARM), read when
	// ficsOK.
	fics   []miFederated
	ficsOK bool
}

// miFederated is a federated identity credential of a user-assigned
// managed identity, as ARM lists it.
type miFederated struct {
	name, issuer, subject, resourceID string
	audiences                         []string
	created                           time.Time
}

type armData struct {
	subs []nhi.Scope
	// subsKnown: the subscription list was read, or the subscriptions are
	// configured; otherwise no managed identity can be placed.
	subsKnown bool
	// readOK: at least one call in a subscription succeeded.
	readOK      bool
	assignments map[string]map[string]rbacAssignment // principal id -> assignment id -> assignment
	mis         map[string]managedIdentity           // principal id
}

// collectARM reads subscriptions, their role assignments and user-assigned
// managed identities, then the names of the roles assigned. Failures are
// kept for gaps.
func (c *Collector) collectARM(ctx context.Context, fails *failures) *armData {
	d := &armData{assignments: map[string]map[string]rbacAssignment{}, mis: map[string]managedIdentity{}}
	subs, err := c.subscriptions(ctx)
	d.subs, d.subsKnown = subs, err == nil || len(c.cfg.Subscriptions) > 0
	if err != nil {
		// Without the list the subscriptions are unknown: the gap covers
		// every scope. With configured subscriptions, each is still
		// attempted and the gap is the tenant's.
		scope := ""
		if len(c.cfg.Subscriptions) > 0 {
			scope = c.cfg.TenantID
		}
		fails.add(opSubscriptions, scope, err)
	}
	var mu sync.Mutex
	each(ctx, c.cfg.Concurrency, subs, func(sub nhi.Scope) {
		asg, err := c.roleAssignments(ctx, sub.ID)
		if err != nil {
			fails.add(opRoleAssignments, sub.ID, err)
		}
		mis, err2 := c.userAssigned(ctx, sub.ID)
		if err2 != nil {
			fails.add(opUserAssigned, sub.ID, err2)
		}
		mu.Lock()
		defer mu.Unlock()
		d.readOK = d.readOK || err == nil || err2 == nil
		for _, a := range asg {
			p := a.principal
			if d.assignments[p] == nil {
				d.assignments[p] = map[string]rbacAssignment{}
			}
			d.assignments[p][strings.ToLower(a.id)] = a.rbacAssignment
		}
		for _, m := range mis {
			d.mis[m.principalID] = m
		}
	})
	parallel(
		func() { c.roleNames(ctx, d, fails) },
		func() { c.miFederatedCredentials(ctx, d, fails) },
	)
	return d
}

// roleNames names the roles assigned, reading each role definition once
// (by the first of its resource ids, so that the same calls are made
// whatever order the subscriptions were read in). A built-in role keeps its
// name when its definition cannot be read; another keeps its GUID.
func (c *Collector) roleNames(ctx context.Context, d *armData, fails *failures) {
	defIDs := map[string]string{}    // role GUID -> definition id to read
	holders := map[string][]string{} // role GUID -> principals
	for p, asg := range d.assignments {
		for _, a := range asg {
			if id, ok := defIDs[a.roleGUID]; !ok || a.roleDefID < id {
				defIDs[a.roleGUID] = a.roleDefID
			}
			holders[a.roleGUID] = append(holders[a.roleGUID], p)
		}
	}
	guids := slices.Sorted(maps.Keys(defIDs))
	names := make(map[string]string, len(guids))
	var mu sync.Mutex
	each(ctx, c.cfg.Concurrency, guids, func(guid string) {
		name, err := c.roleName(ctx, defIDs[guid])
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			fails.add(opRoleDefinition, subscriptionOf(defIDs[guid]), err, holders[guid]...)
		}
		names[guid] = name
	})
	for _, asg := range d.assignments {
		for k, a := range asg {
			a.roleName = cmp.Or(names[a.roleGUID], privilege.AzureRoleName(a.roleGUID), a.roleGUID)
			asg[k] = a
		}
	}
}

// roleName reads a role definition's name.
func (c *Collector) roleName(ctx context.Context, defID string) (string, error) {
	defs, err := armauthorization.NewRoleDefinitionsClient(c.cred, c.armOpts)
	if err != nil {
		return "", err
	}
	r, err := defs.GetByID(ctx, defID, nil)
	if err != nil {
		return "", translate(opRoleDefinition, err)
	}
	if r.Properties == nil {
		return "", nil
	}
	return deref(r.Properties.RoleName), nil
}

// subscriptions lists the subscriptions to scan. Configured ids are kept
// even when the list fails, so they are attempted and reported.
func (c *Collector) subscriptions(ctx context.Context) ([]nhi.Scope, error) {
	want := map[string]bool{}
	for _, s := range c.cfg.Subscriptions {
		want[strings.ToLower(s)] = true
	}
	var out []nhi.Scope
	seen := map[string]bool{}
	client, err := armsubscriptions.NewClient(c.cred, c.armOpts)
	if err == nil {
		pager := client.NewListPager(nil)
		for pager.More() {
			pg, perr := pager.NextPage(ctx)
			if perr != nil {
				err = translate(opSubscriptions, perr)
				break
			}
			for _, s := range pg.Value {
				if s == nil || s.SubscriptionID == nil {
					continue
				}
				id := strings.ToLower(*s.SubscriptionID)
				if len(want) > 0 && !want[id] {
					continue
				}
				if s.State != nil && (*s.State == armsubscriptions.SubscriptionStateDisabled || *s.State == armsubscriptions.SubscriptionStateDeleted) {
					c.log.Debug("skipping subscription", "subscription", id, "state", string(*s.State))
					continue
				}
				seen[id] = true
				out = append(out, nhi.Scope{Provider: nhi.Azure, ID: id, Name: deref(s.DisplayName)})
			}
		}
	}
	for id := range want {
		if !seen[id] {
			out = append(out, nhi.Scope{Provider: nhi.Azure, ID: id})
		}
	}
	slices.SortFunc(out, func(a, b nhi.Scope) int { return strings.Compare(a.ID, b.ID) })
	return out, err
}

// principalAssignment is a role assignment of a service principal.
type principalAssignment struct {
	principal string // object id, lower case
	rbacAssignment
}

// roleAssignments lists the role assignments of service principals that
// apply in a subscription (at or under it, or inherited from above).
func (c *Collector) roleAssignments(ctx context.Context, sub string) ([]principalAssignment, error) {
	client, err := armauthorization.NewRoleAssignmentsClient(sub, c.cred, c.armOpts)
	if err != nil {
		return nil, err
	}
	var out []principalAssignment
	pager := client.NewListForSubscriptionPager(nil)
	for pager.More() {
		pg, err := pager.NextPage(ctx)
		if err != nil {
			return out, translate(opRoleAssignments, err)
		}
		for _, a := range pg.Value {
			if a == nil || a.Properties == nil || a.Properties.PrincipalID == nil {
				continue
			}
			p := a.Properties
			if p.PrincipalType == nil || *p.PrincipalType != armauthorization.PrincipalTypeServicePrincipal {
				continue // users and groups are not NHIs
			}
			defID := deref(p.RoleDefinitionID)
			ra := rbacAssignment{id: deref(a.ID), scope: deref(p.Scope), roleGUID: strings.ToLower(path.Base(defID)), roleDefID: defID}
			if p.CreatedOn != nil {
				ra.created = p.CreatedOn.UTC()
			}
			out = append(out, principalAssignment{principal: strings.ToLower(*p.PrincipalID), rbacAssignment: ra})
		}
	}
	return out, nil
}

func (c *Collector) userAssigned(ctx context.Context, sub string) ([]managedIdentity, error) {
	client, err := armmsi.NewUserAssignedIdentitiesClient(sub, c.cred, c.armOpts)
	if err != nil {
		return nil, err
	}
	var out []managedIdentity
	pager := client.NewListBySubscriptionPager(nil)
	for pager.More() {
		pg, err := pager.NextPage(ctx)
		if err != nil {
			return out, translate(opUserAssigned, err)
		}
		for _, m := range pg.Value {
			if m == nil || m.Properties == nil || m.Properties.PrincipalID == nil {
				continue
			}
			mi := managedIdentity{principalID: strings.ToLower(*m.Properties.PrincipalID), clientID: deref(m.Properties.ClientID),
				name: deref(m.Name), sub: sub, resourceID: deref(m.ID), tags: map[string]string{}}
			mi.rg = resourceGroup(mi.resourceID)
			for k, v := range m.Tags {
				mi.tags[k] = deref(v)
			}
			out = append(out, mi)
		}
	}
	return out, nil
}

// miFederatedCredentials reads the federated identity credentials of each
// user-assigned managed identity listed (one call each, within the
// collector's concurrency: the GitHub Actions and AKS workload identity
// trusts). A failure hides the federated credentials and trusts of that
// identity's scope.
func (c *Collector) miFederatedCredentials(ctx context.Context, d *armData, fails *failures) {
	mis := make([]managedIdentity, 0, len(d.mis))
	for _, pid := range slices.Sorted(maps.Keys(d.mis)) {
		mis = append(mis, d.mis[pid])
	}
	read := map[string][]miFederated{}
	var mu sync.Mutex
	each(ctx, c.cfg.Concurrency, mis, func(m managedIdentity) {
		fics, err := c.miFederated(ctx, m)
		if err != nil {
			fails.add(opMIFederated, m.sub, err, m.principalID)
			return
		}
		mu.Lock()
		read[m.principalID] = fics
		mu.Unlock()
	})
	for pid, fics := range read {
		m := d.mis[pid]
		m.fics, m.ficsOK = fics, true
		d.mis[pid] = m
	}
}

// miFederated lists one managed identity's federated credentials.
func (c *Collector) miFederated(ctx context.Context, m managedIdentity) ([]miFederated, error) {
	client, err := armmsi.NewFederatedIdentityCredentialsClient(m.sub, c.cred, c.armOpts)
	if err != nil {
		return nil, err
	}
	var out []miFederated
	pager := client.NewListPager(m.rg, m.name, nil)
	for pager.More() {
		pg, err := pager.NextPage(ctx)
		if err != nil {
			return nil, translate(opMIFederated, err)
		}
		for _, f := range pg.Value {
			if f == nil || f.Properties == nil {
				continue
			}
			fc := miFederated{name: deref(f.Name), resourceID: deref(f.ID), issuer: deref(f.Properties.Issuer),
				subject: deref(f.Properties.Subject)}
			for _, a := range f.Properties.Audiences {
				fc.audiences = append(fc.audiences, deref(a))
			}
			if f.SystemData != nil && f.SystemData.CreatedAt != nil {
				fc.created = f.SystemData.CreatedAt.UTC()
			}
			out = append(out, fc)
		}
	}
	return out, nil
}

// resourceGroup returns the resource group named in an ARM resource id.
func resourceGroup(id string) string {
	parts := strings.Split(id, "/")
	for i := 0; i+1 < len(parts); i++ {
		if strings.EqualFold(parts[i], "resourceGroups") {
			return parts[i+1]
		}
	}
	return ""
}

// subscriptionOf returns the subscription id named in an ARM resource id.
func subscriptionOf(id string) string {
	parts := strings.Split(id, "/")
	for i := 0; i+1 < len(parts); i++ {
		if strings.EqualFold(parts[i], "subscriptions") {
			return strings.ToLower(parts[i+1])
		}
	}
	return ""
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
