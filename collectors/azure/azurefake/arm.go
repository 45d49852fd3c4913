package azurefake

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armsubscriptions"
)

// armDefaultPage is the fake's ARM page size (ARM sizes vary per API).
const armDefaultPage = 200

func (s *Server) armRoute(method string, seg []string) route {
	if method != http.MethodGet {
		return route{}
	}
	eq := strings.EqualFold
	n := len(seg)
	switch {
	case n == 1 && eq(seg[0], "subscriptions"):
		return route{op: OpSubscriptionsList, scope: s.st.TenantID, handle: s.listSubscriptions}
	case n == 4 && eq(seg[0], "providers") && eq(seg[1], "Microsoft.Authorization") && eq(seg[2], "roleDefinitions"):
		return route{op: OpRoleDefinitionGet, scope: s.st.TenantID, handle: func(w http.ResponseWriter, r *http.Request) { s.getRoleDefinition(w, r, "", seg[3]) }}
	case n >= 2 && eq(seg[0], "subscriptions"):
		sub := seg[1]
		rest := seg[2:]
		switch {
		case len(rest) == 3 && eq(rest[0], "providers") && eq(rest[1], "Microsoft.Authorization") && eq(rest[2], "roleAssignments"):
			return route{op: OpRoleAssignmentsList, scope: sub, handle: func(w http.ResponseWriter, r *http.Request) { s.listRoleAssignments(w, r, sub) }}
		case len(rest) == 4 && eq(rest[0], "providers") && eq(rest[1], "Microsoft.Authorization") && eq(rest[2], "roleDefinitions"):
			return route{op: OpRoleDefinitionGet, scope: sub, handle: func(w http.ResponseWriter, r *http.Request) { s.getRoleDefinition(w, r, sub, rest[3]) }}
		case len(rest) == 3 && eq(rest[0], "providers") && eq(rest[1], "Microsoft.ManagedIdentity") && eq(rest[2], "userAssignedIdentities"):
			return route{op: OpUserAssignedIdentitiesList, scope: sub, handle: func(w http.ResponseWriter, r *http.Request) { s.listUserAssigned(w, r, sub) }}
		case len(rest) == 7 && eq(rest[0], "resourceGroups") && eq(rest[2], "providers") && eq(rest[3], "Microsoft.ManagedIdentity") &&
			eq(rest[4], "userAssignedIdentities") && eq(rest[6], "federatedIdentityCredentials"):
			rg, name := rest[1], rest[5]
			return route{op: OpMIFederatedCredentialsList, scope: sub, handle: func(w http.ResponseWriter, r *http.Request) { s.listMIFederated(w, r, sub, rg, name) }}
		}
	}
	return route{}
}

// armPage returns the bounds of this request's page and its nextLink.
func (s *Server) armPage(r *http.Request, n int) (lo, hi int, next *string) {
	size := armDefaultPage
	if n := s.PageSize(); n > 0 {
		size = n
	}
	if tok := r.URL.Query().Get("$skiptoken"); tok != "" {
		if b, err := base64.RawURLEncoding.DecodeString(tok); err == nil {
			lo, _ = strconv.Atoi(string(b))
		}
	}
	lo = min(lo, n)
	hi = min(lo+size, n)
	if hi < n {
		q := r.URL.Query()
		q.Set("$skiptoken", base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(hi))))
		u := url.URL{Scheme: "https", Host: r.Host, Path: r.URL.Path, RawQuery: q.Encode()}
		link := u.String()
		next = &link
	}
	return lo, hi, next
}

func ptr[T any](v T) *T { return &v }

func (s *Server) listSubscriptions(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	subs := append([]Subscription(nil), s.st.Subscriptions...)
	tenant := s.st.TenantID
	s.mu.Unlock()
	lo, hi, next := s.armPage(r, len(subs))
	out := armsubscriptions.SubscriptionListResult{NextLink: next, Value: []*armsubscriptions.Subscription{}}
	for _, sub := range subs[lo:hi] {
		state := armsubscriptions.SubscriptionStateEnabled
		if sub.State != "" {
			state = armsubscriptions.SubscriptionState(sub.State)
		}
		out.Value = append(out.Value, &armsubscriptions.Subscription{
			ID: ptr("/subscriptions/" + sub.ID), SubscriptionID: ptr(sub.ID), DisplayName: ptr(sub.DisplayName),
			State: &state, TenantID: ptr(tenant), AuthorizationSource: ptr("RoleBased"),
		})
	}
	writeJSON(w, http.StatusOK, out)
}

func roleDefinitionPath(sub, guid string) string {
	if sub == "" {
		return "/providers/Microsoft.Authorization/roleDefinitions/" + guid
	}
	return "/subscriptions/" + sub + "/providers/Microsoft.Authorization/roleDefinitions/" + guid
}

func (s *Server) getRoleDefinition(w http.ResponseWriter, _ *http.Request, sub, guid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.st.RoleDefinitions {
		if strings.EqualFold(d.ID, guid) {
			typ := d.RoleType
			if typ == "" {
				typ = "BuiltInRole"
			}
			writeJSON(w, http.StatusOK, armauthorization.RoleDefinition{
				ID: ptr(roleDefinitionPath(sub, d.ID)), Name: ptr(d.ID), Type: ptr("Microsoft.Authorization/roleDefinitions"),
				Properties: &armauthorization.RoleDefinitionProperties{RoleName: ptr(d.RoleName), RoleType: ptr(typ),
					AssignableScopes: []*string{ptr("/")}},
			})
			return
		}
	}
	writeError(w, http.StatusNotFound, "RoleDefinitionDoesNotExist", "The specified role definition with ID '"+guid+"' does not exist.")
}

// assignmentApplies reports whether a role assignment is listed for a
// subscription: it is at or under the subscription, or inherited from a
// management group or the root above it.
func assignmentApplies(a RoleAssignment, sub string) bool {
	prefix := "/subscriptions/" + strings.ToLower(sub)
	sc := strings.ToLower(a.Scope)
	if sc == prefix || strings.HasPrefix(sc, prefix+"/") {
		return true
	}
	if sc == "/" {
		return true
	}
	for _, s := range a.Subscriptions {
		if strings.EqualFold(s, sub) {
			return true
		}
	}
	return false
}

func (s *Server) listRoleAssignments(w http.ResponseWriter, r *http.Request, sub string) {
	s.mu.Lock()
	var list []RoleAssignment
	for _, a := range s.st.RoleAssignments {
		if assignmentApplies(a, sub) {
			list = append(list, a)
		}
	}
	s.mu.Unlock()
	lo, hi, next := s.armPage(r, len(list))
	out := armauthorization.RoleAssignmentListResult{NextLink: next, Value: []*armauthorization.RoleAssignment{}}
	for _, a := range list[lo:hi] {
		pt := armauthorization.PrincipalType(a.PrincipalType)
		created := a.CreatedOn.UTC()
		out.Value = append(out.Value, &armauthorization.RoleAssignment{
			ID:   ptr(strings.TrimSuffix(a.Scope, "/") + "/providers/Microsoft.Authorization/roleAssignments/" + a.Name),
			Name: ptr(a.Name), Type: ptr("Microsoft.Authorization/roleAssignments"),
			Properties: &armauthorization.RoleAssignmentProperties{
				PrincipalID: ptr(a.PrincipalID), PrincipalType: &pt, Scope: ptr(a.Scope),
				RoleDefinitionID: ptr(roleDefinitionPath(sub, a.RoleDefinitionID)),
				CreatedOn:        &created, UpdatedOn: &created,
			},
		})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) listUserAssigned(w http.ResponseWriter, r *http.Request, sub string) {
	s.mu.Lock()
	var list []ManagedIdentity
	for _, m := range s.st.ManagedIdentities {
		if strings.EqualFold(m.SubscriptionID, sub) {
			list = append(list, m)
		}
	}
	tenant := s.st.TenantID
	s.mu.Unlock()
	lo, hi, next := s.armPage(r, len(list))
	out := armmsi.UserAssignedIdentitiesListResult{NextLink: next, Value: []*armmsi.Identity{}}
	for _, m := range list[lo:hi] {
		tags := map[string]*string{}
		for k, v := range m.Tags {
			tags[k] = ptr(v)
		}
		loc := m.Location
		if loc == "" {
			loc = "westeurope"
		}
		out.Value = append(out.Value, &armmsi.Identity{
			ID: ptr(m.ResourceID()), Name: ptr(m.Name), Location: ptr(loc), Tags: tags,
			Type: ptr("Microsoft.ManagedIdentity/userAssignedIdentities"),
			Properties: &armmsi.UserAssignedIdentityProperties{
				PrincipalID: ptr(m.PrincipalID), ClientID: ptr(m.ClientID), TenantID: ptr(tenant),
			},
		})
	}
	writeJSON(w, http.StatusOK, out)
}

// listMIFederated lists the federated identity credentials of one
// user-assigned managed identity.
func (s *Server) listMIFederated(w http.ResponseWriter, r *http.Request, sub, rg, name string) {
	s.mu.Lock()
	var mi *ManagedIdentity
	for i := range s.st.ManagedIdentities {
		m := &s.st.ManagedIdentities[i]
		if strings.EqualFold(m.SubscriptionID, sub) && strings.EqualFold(m.ResourceGroup, rg) && strings.EqualFold(m.Name, name) {
			mi = m
		}
	}
	if mi == nil {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "ResourceNotFound",
			"The Resource 'Microsoft.ManagedIdentity/userAssignedIdentities/"+name+"' under resource group '"+rg+"' was not found.")
		return
	}
	fics := append([]FederatedIdentityCredential(nil), mi.FederatedCredentials...)
	base, created := mi.ResourceID(), mi.Created.UTC()
	s.mu.Unlock()
	lo, hi, next := s.armPage(r, len(fics))
	out := armmsi.FederatedIdentityCredentialsListResult{NextLink: next, Value: []*armmsi.FederatedIdentityCredential{}}
	for _, f := range fics[lo:hi] {
		var aud []*string
		for _, a := range f.Audiences {
			aud = append(aud, ptr(a))
		}
		fc := &armmsi.FederatedIdentityCredential{
			ID: ptr(base + "/federatedIdentityCredentials/" + f.Name), Name: ptr(f.Name),
			Type:       ptr("Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials"),
			Properties: &armmsi.FederatedIdentityCredentialProperties{Issuer: ptr(f.Issuer), Subject: ptr(f.Subject), Audiences: aud},
		}
		if !created.IsZero() {
			fc.SystemData = &armmsi.SystemData{CreatedAt: &created, LastModifiedAt: &created}
		}
		out.Value = append(out.Value, fc)
	}
	writeJSON(w, http.StatusOK, out)
}
