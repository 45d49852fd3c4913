package azure

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/privilege"
)

// oauth2Grant is a delegated permission grant (oAuth2PermissionGrant): the
// scopes a client may use on a resource on behalf of all users (admin
// consent, AllPrincipals) or of one user (Principal).
type oauth2Grant struct {
	ID          string `json:"id"`
	ClientID    string `json:"clientId"`
	ConsentType string `json:"consentType"`
	PrincipalID string `json:"principalId"`
	ResourceID  string `json:"resourceId"`
	Scope       string `json:"scope"`
}

// readDelegatedGrants reads every delegated permission grant of the
// tenant.
func (c *Collector) readDelegatedGrants(ctx context.Context, d *entraData, fails *failures) {
	var out []oauth2Grant
	err := list(ctx, c.graph, opDelegated, "/v1.0/oauth2PermissionGrants", func(g oauth2Grant) { out = append(out, g) })
	if err != nil {
		fails.add(opDelegated, c.cfg.TenantID, err)
		return
	}
	d.delegated = out
}

// delegatedGrants maps the delegated permission grants to grants of their
// client service principals (lower-case object ids): one per resource and
// scope, for all users (admin consent) or for the users who consented.
// A grant is keyed by its resource's object id, which needs no other
// list; its scope is the resource's appId when the service principal list
// names it.
func delegatedGrants(ed *entraData) map[string][]nhi.Grant {
	appOf := make(map[string]string, len(ed.sps))
	for _, s := range ed.sps {
		appOf[strings.ToLower(s.ID)] = s.AppID
	}
	type key struct{ client, resource, scope string }
	all, users := map[key]bool{}, map[key]map[string]bool{}
	var order []key
	for _, g := range ed.delegated {
		for _, sc := range strings.Fields(g.Scope) {
			k := key{strings.ToLower(g.ClientID), strings.ToLower(g.ResourceID), sc}
			if !all[k] && users[k] == nil {
				order = append(order, k)
			}
			if strings.EqualFold(g.ConsentType, "AllPrincipals") {
				all[k] = true
				continue
			}
			if users[k] == nil {
				users[k] = map[string]bool{}
			}
			users[k][strings.ToLower(g.PrincipalID)] = true
		}
	}
	out := map[string][]nhi.Grant{}
	for _, k := range order {
		app := cmp.Or(appOf[k.resource], k.resource)
		if all[k] {
			out[k.client] = append(out[k.client], delegatedGrant(k.resource, app, k.scope, "all-users", "admin consent for all users"))
		}
		if n := len(users[k]); n > 0 {
			out[k.client] = append(out[k.client], delegatedGrant(k.resource, app, k.scope, "consenting-users", fmt.Sprintf("consented by %d user(s)", n)))
		}
	}
	return out
}

// delegatedGrant is one delegated permission on a resource (its object id
// and appId), for all users or for the users who consented.
func delegatedGrant(resource, app, scope, who, via string) nhi.Grant {
	g := nhi.Grant{ID: kindDelegated + ":" + resource + "/" + scope + "@" + who, Kind: kindDelegated, Entitlement: scope,
		Scope: app, Privilege: permissionPrivilege(scope), Via: via}
	priv, why := privilege.AzureDelegatedPermission(scope, app)
	judge(&g, priv, why, false)
	return g
}

// roleEligibility is a PIM eligibility for a directory role
// (unifiedRoleEligibilityScheduleInstance): the principal can activate the
// role when it wants.
type roleEligibility struct {
	ID               string   `json:"id"`
	PrincipalID      string   `json:"principalId"`
	RoleDefinitionID string   `json:"roleDefinitionId"`
	DirectoryScopeID string   `json:"directoryScopeId"`
	EndDateTime      jsonTime `json:"endDateTime"`
}

// readEligibleRoles reads the current PIM eligibilities for directory
// roles (Entra ID P2; without it the call fails and the gap says so).
func (c *Collector) readEligibleRoles(ctx context.Context, d *entraData, fails *failures) {
	v := url.Values{"$select": {"id,principalId,roleDefinitionId,directoryScopeId,endDateTime"}}
	var out []roleEligibility
	err := list(ctx, c.graph, opEligibleRoles, "/v1.0/roleManagement/directory/roleEligibilityScheduleInstances"+q(v),
		func(e roleEligibility) { out = append(out, e) })
	if err != nil {
		fails.add(opEligibleRoles, c.cfg.TenantID, err)
		return
	}
	d.eligible = out
}

// readRoleGroups lists the role-assignable groups: a directory role held
// by one is held by each of its members.
func (c *Collector) readRoleGroups(ctx context.Context, d *entraData, fails *failures) {
	v := url.Values{"$filter": {"isAssignableToRole eq true"}, "$select": {"id,displayName"}, "$top": {"999"}}
	groups := map[string]string{}
	err := list(ctx, c.graph, opRoleGroups, "/v1.0/groups"+q(v), func(g directoryObject) { groups[strings.ToLower(g.ID)] = g.DisplayName })
	if err != nil {
		fails.add(opRoleGroups, c.cfg.TenantID, err)
		return
	}
	d.roleGroups = groups
}

// readRoleGroupMembers reads the members of every role-assignable group
// that holds a directory role, active or eligible (one call each; such a
// group cannot hold groups).
func (c *Collector) readRoleGroupMembers(ctx context.Context, d *entraData, fails *failures) {
	holding := map[string]bool{}
	for _, a := range d.dirAsg {
		holding[strings.ToLower(a.PrincipalID)] = true
	}
	for _, e := range d.eligible {
		holding[strings.ToLower(e.PrincipalID)] = true
	}
	var ids []string
	for id := range d.roleGroups {
		if holding[id] {
			ids = append(ids, id)
		}
	}
	var mu sync.Mutex
	d.groupMembers = map[string][]string{}
	each(ctx, c.cfg.Concurrency, ids, func(id string) {
		var sps []string
		v := url.Values{"$select": {"id"}, "$top": {"999"}}
		err := list(ctx, c.graph, opRoleGroupMembers, "/v1.0/groups/"+url.PathEscape(id)+"/members"+q(v), func(o directoryObject) {
			if strings.EqualFold(o.Type, "#microsoft.graph.servicePrincipal") {
				sps = append(sps, strings.ToLower(o.ID))
			}
		})
		if err != nil {
			fails.add(opRoleGroupMembers, c.cfg.TenantID, err)
			return
		}
		mu.Lock()
		d.groupMembers[id] = sps
		mu.Unlock()
	})
}

// roleHolding is a directory role held, actively or through PIM
// eligibility.
type roleHolding struct {
	principal, defID, scopeID string
	eligible                  bool
	end                       time.Time
}

// directoryRoleGrants maps the active and eligible directory roles to
// grants of the service principals (lower-case object ids) that hold
// them, directly or as members of a role-assignable group (the grant then
// names the group, and is distinct from the same role held directly).
func (c *Collector) directoryRoleGrants(ed *entraData) map[string][]nhi.Grant {
	var hs []roleHolding
	for _, a := range ed.dirAsg {
		hs = append(hs, roleHolding{principal: a.PrincipalID, defID: a.RoleDefinitionID, scopeID: a.DirectoryScopeID})
	}
	for _, e := range ed.eligible {
		hs = append(hs, roleHolding{principal: e.PrincipalID, defID: e.RoleDefinitionID, scopeID: e.DirectoryScopeID,
			eligible: true, end: e.EndDateTime.t})
	}
	out := map[string][]nhi.Grant{}
	for _, h := range hs {
		p := strings.ToLower(h.principal)
		g := c.directoryRoleGrant(ed, h)
		name, isGroup := ed.roleGroups[p]
		if !isGroup {
			out[p] = append(out[p], g)
			continue
		}
		g.ID += "#group:" + p
		g.Via = strings.TrimPrefix(g.Via+"; ", "; ") + "member of role-assignable group " + cmp.Or(name, p)
		for _, m := range ed.groupMembers[p] {
			out[m] = append(out[m], g)
		}
	}
	return out
}

// directoryRoleGrant maps a directory role held. A role whose definition
// says isPrivileged (beta only) is privileged even when the built-in table
// does not know it; an eligible role is judged as the active one.
func (c *Collector) directoryRoleGrant(ed *entraData, h roleHolding) nhi.Grant {
	role, ok := ed.dirRole[h.defID]
	name := role.DisplayName
	if !ok || name == "" {
		name = cmp.Or(privilege.AzureDirectoryRoleName(h.defID), h.defID)
	}
	scope := h.scopeID
	if scope == "/" || scope == "" {
		scope = c.cfg.TenantID
	}
	kind, judgeRole := kindDirectoryRole, privilege.AzureDirectoryRole
	if h.eligible {
		kind, judgeRole = kindEligibleRole, privilege.AzureEligibleDirectoryRole
	}
	g := nhi.Grant{ID: kind + ":" + strings.ToLower(h.defID) + "@" + scope, Kind: kind,
		Entitlement: name, Scope: scope, Privilege: directoryPrivilege(name)}
	if h.eligible {
		g.Via = "eligible through PIM, no end"
		if !h.end.IsZero() {
			g.Via = "eligible through PIM until " + h.end.Format(time.DateOnly)
		}
	}
	priv, why := judgeRole(name)
	if !priv && role.IsPrivileged != nil && *role.IsPrivileged {
		priv, why = true, "privileged Entra directory role"
		if h.eligible {
			why = "eligible (PIM) for a privileged Entra directory role"
		}
	}
	judge(&g, priv, why, true)
	return g
}
