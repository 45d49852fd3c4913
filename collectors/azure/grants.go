package azure

import (
	"cmp"
	"context"
	"fmt"
	"strings"

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
