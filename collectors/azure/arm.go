package azure

import (
	"context"
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

const (
	srcSubscriptions   = "arm:subscriptions.list"
	srcRoleAssignments = "arm:roleAssignments.listForSubscription"
	srcRoleDefinition  = "arm:roleDefinitions.get"
	srcUserAssigned    = "arm:userAssignedIdentities.listBySubscription"

	permARMRead = "Reader (Microsoft.Authorization/*/read, Microsoft.ManagedIdentity/userAssignedIdentities/read)"
)

type rbacAssignment struct {
	id, scope, roleGUID, roleName string
	created                       time.Time
}

type managedIdentity struct {
	principalID, clientID, name, sub, rg, resourceID string
	tags                                             map[string]string
}

type armData struct {
	subs        []nhi.Scope
	assignments map[string]map[string]rbacAssignment // principal id -> assignment id -> assignment
	mis         map[string]managedIdentity           // principal id
}

// roleNames resolves role definition GUIDs once per scan.
type roleNames struct {
	mu    sync.Mutex
	names map[string]*roleName
}

type roleName struct {
	once sync.Once
	name string
	err  error
}

func (r *roleNames) get(guid string) *roleName {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.names == nil {
		r.names = map[string]*roleName{}
	}
	k := strings.ToLower(guid)
	if r.names[k] == nil {
		r.names[k] = &roleName{}
	}
	return r.names[k]
}

// collectARM reads subscriptions, their role assignments and user-assigned
// managed identities. Failures become gaps.
func (c *Collector) collectARM(ctx context.Context, gaps *gapSet) *armData {
	d := &armData{assignments: map[string]map[string]rbacAssignment{}, mis: map[string]managedIdentity{}}
	subs, err := c.subscriptions(ctx)
	if err != nil {
		// Without the list the subscriptions are unknown, and so are the
		// scopes that lost data: the gap covers the whole provider. With
		// configured subscriptions, each is still attempted.
		scope := ""
		if len(c.cfg.Subscriptions) > 0 {
			scope = c.cfg.TenantID
		}
		gaps.add(scope, srcSubscriptions, permARMRead, false, err)
	}
	d.subs = subs
	var mu sync.Mutex
	names := &roleNames{}
	each(ctx, c.cfg.Concurrency, subs, func(sub nhi.Scope) {
		asg, err := c.roleAssignments(ctx, sub.ID, names)
		if err != nil {
			gaps.add(sub.ID, srcRoleAssignments, permARMRead, false, err)
		}
		mis, err2 := c.userAssigned(ctx, sub.ID)
		if err2 != nil {
			gaps.add(sub.ID, srcUserAssigned, permARMRead, false, err2)
		}
		mu.Lock()
		defer mu.Unlock()
		for p, list := range asg {
			if d.assignments[p] == nil {
				d.assignments[p] = map[string]rbacAssignment{}
			}
			for _, a := range list {
				d.assignments[p][strings.ToLower(a.id)] = a
			}
		}
		for _, m := range mis {
			d.mis[m.principalID] = m
		}
	})
	for _, n := range names.names {
		if n.err != nil {
			gaps.add(c.cfg.TenantID, srcRoleDefinition, permARMRead, false, n.err)
		}
	}
	return d
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
				err = translate(srcSubscriptions, perr)
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

func (c *Collector) roleAssignments(ctx context.Context, sub string, names *roleNames) (map[string][]rbacAssignment, error) {
	client, err := armauthorization.NewRoleAssignmentsClient(sub, c.cred, c.armOpts)
	if err != nil {
		return nil, err
	}
	defs, err := armauthorization.NewRoleDefinitionsClient(c.cred, c.armOpts)
	if err != nil {
		return nil, err
	}
	out := map[string][]rbacAssignment{}
	pager := client.NewListForSubscriptionPager(nil)
	for pager.More() {
		pg, err := pager.NextPage(ctx)
		if err != nil {
			return out, translate(srcRoleAssignments, err)
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
			guid := path.Base(defID)
			rn := names.get(guid)
			rn.once.Do(func() {
				r, err := defs.GetByID(ctx, defID, nil)
				if err != nil {
					rn.err = translate(srcRoleDefinition, err)
					return
				}
				if r.Properties != nil {
					rn.name = deref(r.Properties.RoleName)
				}
			})
			name := rn.name
			if name == "" {
				name = privilege.AzureRoleName(guid)
			}
			if name == "" {
				name = guid
			}
			ra := rbacAssignment{id: deref(a.ID), scope: deref(p.Scope), roleGUID: strings.ToLower(guid), roleName: name}
			if p.CreatedOn != nil {
				ra.created = p.CreatedOn.UTC()
			}
			pid := strings.ToLower(*p.PrincipalID)
			out[pid] = append(out[pid], ra)
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
			return out, translate(srcUserAssigned, err)
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
