package azurefake

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Graph limits the fake enforces, as documented for directory objects.
const (
	graphDefaultPage = 100
	graphMaxPage     = 999
	// expandMaxParents: with $expand, a page holds at most 100 objects.
	expandMaxParents = 100
	// expandMaxItems: an expanded relationship holds at most 20 objects
	// and has no nextLink.
	expandMaxItems = 20
	// filterInMax: values allowed in one "id in (...)" filter.
	filterInMax = 15
)

const microsoftGraphUserType = "#microsoft.graph.user"

func (s *Server) graphRoute(method string, seg []string, beta bool) route {
	g := func(op string, h func(w http.ResponseWriter, r *http.Request)) route {
		return route{op: op, scope: s.st.TenantID, handle: h}
	}
	n := len(seg)
	switch {
	case n == 2 && seg[0] == "reports" && method == http.MethodGet:
		if !beta {
			return route{}
		}
		switch seg[1] {
		case "servicePrincipalSignInActivities":
			return g(OpSPSignInActivities, s.spSignIns)
		case "appCredentialSignInActivities":
			return g(OpCredentialSignInActivities, s.credSignIns)
		}
	case n == 3 && seg[0] == "roleManagement" && seg[1] == "directory" && method == http.MethodGet:
		switch seg[2] {
		case "roleDefinitions":
			return g(OpDirectoryRoleDefinitions, func(w http.ResponseWriter, r *http.Request) { s.listDirectoryRoles(w, r, beta) })
		case "roleAssignments":
			return g(OpDirectoryRoleAssignments, s.listDirectoryRoleAssignments)
		case "roleEligibilityScheduleInstances":
			return g(OpDirectoryRoleEligibilities, s.listRoleEligibilities)
		}
	case n == 1 && seg[0] == "users" && method == http.MethodGet:
		return g(OpUsersList, s.listUsers)
	case n == 1 && seg[0] == "groups" && method == http.MethodGet:
		return g(OpGroupsList, s.listGroups)
	case n == 3 && seg[0] == "groups" && seg[2] == "members" && method == http.MethodGet:
		return g(OpGroupMembers, func(w http.ResponseWriter, r *http.Request) { s.listGroupMembers(w, r, seg[1]) })
	case n == 1 && seg[0] == "oauth2PermissionGrants" && method == http.MethodGet:
		return g(OpOAuth2PermissionGrantsList, s.listOAuth2Grants)
	case seg[0] == "applications":
		switch {
		case n == 1 && method == http.MethodGet:
			return g(OpApplicationsList, s.listApplications)
		case n == 2 && method == http.MethodGet:
			return g(OpApplicationGet, func(w http.ResponseWriter, r *http.Request) { s.getObject(w, r, seg[1], false) })
		case n == 2 && method == http.MethodPatch:
			return g(OpApplicationUpdate, func(w http.ResponseWriter, r *http.Request) { s.patchObject(w, r, seg[1], false) })
		case n == 3 && seg[2] == "owners" && method == http.MethodGet:
			return g(OpApplicationOwners, func(w http.ResponseWriter, r *http.Request) { s.listOwners(w, r, seg[1], false) })
		case n == 3 && seg[2] == "removePassword" && method == http.MethodPost:
			return g(OpApplicationRemovePassword, func(w http.ResponseWriter, r *http.Request) { s.removePassword(w, r, seg[1], false) })
		case n == 3 && seg[2] == "federatedIdentityCredentials" && method == http.MethodGet:
			return g(OpFICList, func(w http.ResponseWriter, r *http.Request) { s.listFICs(w, r, seg[1]) })
		case n == 3 && seg[2] == "federatedIdentityCredentials" && method == http.MethodPost:
			return g(OpFICCreate, func(w http.ResponseWriter, r *http.Request) { s.createFIC(w, r, seg[1]) })
		case n == 4 && seg[2] == "federatedIdentityCredentials" && method == http.MethodGet:
			return g(OpFICGet, func(w http.ResponseWriter, r *http.Request) { s.getFIC(w, r, seg[1], seg[3], false) })
		case n == 4 && seg[2] == "federatedIdentityCredentials" && method == http.MethodDelete:
			return g(OpFICDelete, func(w http.ResponseWriter, r *http.Request) { s.getFIC(w, r, seg[1], seg[3], true) })
		}
	case seg[0] == "servicePrincipals":
		switch {
		case n == 1 && method == http.MethodGet:
			return g(OpServicePrincipalsList, s.listServicePrincipals)
		case n == 2 && method == http.MethodGet:
			return g(OpServicePrincipalGet, func(w http.ResponseWriter, r *http.Request) { s.getObject(w, r, seg[1], true) })
		case n == 2 && method == http.MethodPatch:
			return g(OpServicePrincipalUpdate, func(w http.ResponseWriter, r *http.Request) { s.patchObject(w, r, seg[1], true) })
		case n == 3 && seg[2] == "owners" && method == http.MethodGet:
			return g(OpServicePrincipalOwners, func(w http.ResponseWriter, r *http.Request) { s.listOwners(w, r, seg[1], true) })
		case n == 3 && seg[2] == "removePassword" && method == http.MethodPost:
			return g(OpServicePrincipalRemovePassword, func(w http.ResponseWriter, r *http.Request) { s.removePassword(w, r, seg[1], true) })
		case n == 3 && seg[2] == "appRoleAssignedTo" && method == http.MethodGet:
			return g(OpAppRoleAssignedTo, func(w http.ResponseWriter, r *http.Request) { s.listAppRoleAssignedTo(w, r, seg[1]) })
		}
	}
	return route{}
}

// odataQuery is the parsed OData query of a request.
type odataQuery struct {
	selectSet map[string]bool
	expand    string
	filter    string
	top       int
	skip      int
}

func parseQuery(r *http.Request) (odataQuery, error) {
	q := r.URL.Query()
	var o odataQuery
	if sel := q.Get("$select"); sel != "" {
		o.selectSet = map[string]bool{}
		for _, f := range strings.Split(sel, ",") {
			o.selectSet[strings.TrimSpace(f)] = true
		}
	}
	o.expand = q.Get("$expand")
	o.filter = q.Get("$filter")
	if t := q.Get("$top"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 1 {
			return o, errBadTop
		}
		o.top = n
	}
	if tok := q.Get("$skiptoken"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || !strings.HasPrefix(string(b), "skip:") {
			return o, errBadToken
		}
		o.skip, err = strconv.Atoi(strings.TrimPrefix(string(b), "skip:"))
		if err != nil {
			return o, errBadToken
		}
	}
	return o, nil
}

type queryError string

func (e queryError) Error() string { return string(e) }

const (
	errBadTop   = queryError("Invalid page size specified")
	errBadToken = queryError("Invalid $skiptoken")
)

// pageBounds returns the slice of n items this request gets and the
// nextLink, if any.
func (s *Server) pageBounds(r *http.Request, o odataQuery, n int) (lo, hi int, next string) {
	size := o.top
	if size == 0 {
		size = graphDefaultPage
	}
	size = min(size, graphMaxPage)
	if o.expand != "" {
		size = min(size, expandMaxParents)
	}
	if n := s.PageSize(); n > 0 {
		size = min(size, n)
	}
	lo = min(o.skip, n)
	hi = min(lo+size, n)
	if hi < n {
		q := r.URL.Query()
		q.Set("$skiptoken", base64.RawURLEncoding.EncodeToString([]byte("skip:"+strconv.Itoa(hi))))
		u := url.URL{Scheme: "https", Host: r.Host, Path: r.URL.Path, RawQuery: q.Encode()}
		next = u.String()
	}
	return lo, hi, next
}

// render turns v into its JSON object, keeps the selected properties (and
// id), and drops certificate key material unless keep is set.
func render(v any, sel map[string]bool, keepKeys bool) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		panic(err)
	}
	if sel != nil {
		for k := range m {
			if k != "id" && !sel[k] {
				delete(m, k)
			}
		}
	}
	if kc, ok := m["keyCredentials"].([]any); ok {
		for _, c := range kc {
			if cm, ok := c.(map[string]any); ok {
				if keepKeys {
					continue
				}
				cm["key"] = nil
			}
		}
	}
	if pc, ok := m["passwordCredentials"].([]any); ok {
		for _, c := range pc {
			if cm, ok := c.(map[string]any); ok {
				cm["secretText"] = nil
			}
		}
	}
	return m
}

func (s *Server) collection(w http.ResponseWriter, r *http.Request, o odataQuery, items []map[string]any) {
	s.page(w, r, o, len(items), func(i int) (map[string]any, error) { return items[i], nil })
}

// page writes the page of an n-item collection this request asks for,
// rendering only the items on it.
func (s *Server) page(w http.ResponseWriter, r *http.Request, o odataQuery, n int, item func(i int) (map[string]any, error)) {
	lo, hi, next := s.pageBounds(r, o, n)
	value := make([]map[string]any, 0, hi-lo)
	s.mu.Lock()
	for i := lo; i < hi; i++ {
		m, err := item(i)
		if err != nil {
			s.mu.Unlock()
			badQuery(w, err)
			return
		}
		value = append(value, m)
	}
	s.mu.Unlock()
	body := map[string]any{
		"@odata.context": "https://" + r.Host + r.URL.Path + "/$metadata",
		"value":          value,
	}
	if next != "" {
		body["@odata.nextLink"] = next
	}
	writeJSON(w, http.StatusOK, body)
}

func badQuery(w http.ResponseWriter, err error) {
	writeError(w, http.StatusBadRequest, "Request_UnsupportedQuery", err.Error())
}

func (s *Server) ownerObject(id string, sel map[string]bool) map[string]any {
	if u := s.user(id); u != nil {
		m := map[string]any{"@odata.type": microsoftGraphUserType, "id": u.ID}
		if sel == nil {
			// The default property set of a user: no accountEnabled.
			m["displayName"], m["userPrincipalName"] = u.DisplayName, u.UserPrincipalName
			if u.Mail != "" {
				m["mail"] = u.Mail
			} else {
				m["mail"] = nil
			}
			return m
		}
		full := render(u, sel, false)
		for k, v := range full {
			m[k] = v
		}
		return m
	}
	if sp := s.sp(id); sp != nil {
		m := map[string]any{"@odata.type": "#microsoft.graph.servicePrincipal", "id": sp.ID, "appId": sp.AppID, "displayName": sp.DisplayName}
		for k := range m {
			if sel != nil && k != "id" && k != "@odata.type" && !sel[k] {
				delete(m, k)
			}
		}
		return m
	}
	return map[string]any{"@odata.type": "#microsoft.graph.directoryObject", "id": id}
}

func (s *Server) expandInto(m map[string]any, expand string, owners []string, fics []FederatedIdentityCredential) error {
	for _, e := range strings.Split(expand, ",") {
		switch strings.TrimSpace(e) {
		case "":
		case "owners":
			var out []map[string]any
			for i, id := range owners {
				if i == expandMaxItems {
					break
				}
				out = append(out, s.ownerObject(id, nil))
			}
			if out == nil {
				out = []map[string]any{}
			}
			m["owners"] = out
		case "federatedIdentityCredentials":
			out := []FederatedIdentityCredential{}
			for i, f := range fics {
				if i == expandMaxItems {
					break
				}
				out = append(out, f)
			}
			m["federatedIdentityCredentials"] = out
		default:
			return queryError("Could not find a property named '" + e + "' on type 'microsoft.graph.directoryObject'.")
		}
	}
	return nil
}

// readQuery reads a request's OData query options and, when known is not
// nil, checks its $select against typeName's properties. On a bad query it
// answers 400 itself and returns false.
func readQuery(w http.ResponseWriter, r *http.Request, typeName string, known map[string]bool) (odataQuery, bool) {
	o, err := parseQuery(r)
	if err == nil && known != nil {
		err = checkSelect(o.selectSet, typeName, known)
	}
	if err != nil {
		badQuery(w, err)
		return o, false
	}
	return o, true
}

func (s *Server) listApplications(w http.ResponseWriter, r *http.Request) {
	o, ok := readQuery(w, r, "microsoft.graph.application", applicationProps)
	if !ok {
		return
	}
	s.mu.Lock()
	n := len(s.st.Applications)
	s.mu.Unlock()
	s.page(w, r, o, n, func(i int) (map[string]any, error) {
		a := &s.st.Applications[i]
		m := render(a, o.selectSet, false)
		return m, s.expandInto(m, o.expand, a.Owners, a.FederatedIdentityCredentials)
	})
}

func (s *Server) listServicePrincipals(w http.ResponseWriter, r *http.Request) {
	o, ok := readQuery(w, r, "microsoft.graph.servicePrincipal", servicePrincipalProps)
	if !ok {
		return
	}
	s.mu.Lock()
	n := len(s.st.ServicePrincipals)
	s.mu.Unlock()
	s.page(w, r, o, n, func(i int) (map[string]any, error) {
		sp := &s.st.ServicePrincipals[i]
		m := render(sp, o.selectSet, false)
		// The federated credentials of a service principal are those of
		// a managed identity (its ARM federatedIdentityCredentials).
		return m, s.expandInto(m, o.expand, sp.Owners, s.miFederated(sp.ID))
	})
}

func notFound(w http.ResponseWriter, id string) {
	writeError(w, http.StatusNotFound, "Request_ResourceNotFound",
		"Resource '"+id+"' does not exist or one of its queried reference-property objects are not present.")
}

func (s *Server) getObject(w http.ResponseWriter, r *http.Request, id string, isSP bool) {
	o, ok := readQuery(w, r, "", nil)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// A single-object read returns the public key of certificates when
	// keyCredentials is selected.
	keep := o.selectSet["keyCredentials"]
	if isSP {
		if sp := s.sp(id); sp != nil {
			writeJSON(w, http.StatusOK, render(sp, o.selectSet, keep))
			return
		}
	} else if a := s.app(id); a != nil {
		writeJSON(w, http.StatusOK, render(a, o.selectSet, keep))
		return
	}
	notFound(w, id)
}

func (s *Server) patchObject(w http.ResponseWriter, r *http.Request, id string, isSP bool) {
	var body map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys *[]KeyCredential
	var sp *ServicePrincipal
	if isSP {
		if sp = s.sp(id); sp == nil {
			notFound(w, id)
			return
		}
		keys = &sp.KeyCredentials
	} else {
		a := s.app(id)
		if a == nil {
			notFound(w, id)
			return
		}
		keys = &a.KeyCredentials
	}
	for k, raw := range body {
		switch k {
		case "accountEnabled":
			if !isSP {
				writeError(w, http.StatusBadRequest, "Request_BadRequest", "Property 'accountEnabled' does not exist on type 'microsoft.graph.application'.")
				return
			}
			if sp.ServicePrincipalType == "ManagedIdentity" {
				writeError(w, http.StatusBadRequest, "Request_BadRequest", "Updates to managed identity service principals are not supported.")
				return
			}
			if err := json.Unmarshal(raw, &sp.AccountEnabled); err != nil {
				writeError(w, http.StatusBadRequest, "Request_BadRequest", "Invalid value for accountEnabled.")
				return
			}
		case "keyCredentials":
			var kcs []KeyCredential
			if err := json.Unmarshal(raw, &kcs); err != nil {
				writeError(w, http.StatusBadRequest, "Request_BadRequest", "Invalid value for keyCredentials.")
				return
			}
			for _, kc := range kcs {
				if kc.Key == "" || kc.KeyID == "" {
					writeError(w, http.StatusBadRequest, "Request_BadRequest", "Key credential key and keyId are required.")
					return
				}
			}
			*keys = kcs
		case "passwordCredentials":
			writeError(w, http.StatusBadRequest, "Request_BadRequest", "passwordCredentials cannot be updated with PATCH; use addPassword and removePassword.")
			return
		default:
			writeError(w, http.StatusBadRequest, "Request_BadRequest", "Property '"+k+"' is not supported by this fake.")
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) removePassword(w http.ResponseWriter, r *http.Request, id string, isSP bool) {
	var body struct {
		KeyID string `json:"keyId"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.KeyID == "" {
		writeError(w, http.StatusBadRequest, "Request_BadRequest", "keyId is required.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var pcs *[]PasswordCredential
	if isSP {
		if sp := s.sp(id); sp != nil {
			pcs = &sp.PasswordCredentials
		}
	} else if a := s.app(id); a != nil {
		pcs = &a.PasswordCredentials
	}
	if pcs == nil {
		notFound(w, id)
		return
	}
	for i, p := range *pcs {
		if strings.EqualFold(p.KeyID, body.KeyID) {
			*pcs = append((*pcs)[:i:i], (*pcs)[i+1:]...)
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	writeError(w, http.StatusBadRequest, "Request_BadRequest", "No password credential found with keyId "+body.KeyID+".")
}

func (s *Server) listOwners(w http.ResponseWriter, r *http.Request, id string, isSP bool) {
	o, ok := readQuery(w, r, "", nil)
	if !ok {
		return
	}
	s.mu.Lock()
	var owners []string
	found := false
	if isSP {
		if sp := s.sp(id); sp != nil {
			owners, found = sp.Owners, true
		}
	} else if a := s.app(id); a != nil {
		owners, found = a.Owners, true
	}
	if !found {
		s.mu.Unlock()
		notFound(w, id)
		return
	}
	items := make([]map[string]any, 0, len(owners))
	for _, oid := range owners {
		items = append(items, s.ownerObject(oid, o.selectSet))
	}
	s.mu.Unlock()
	s.collection(w, r, o, items)
}

func (s *Server) listFICs(w http.ResponseWriter, r *http.Request, appID string) {
	o, ok := readQuery(w, r, "", nil)
	if !ok {
		return
	}
	s.mu.Lock()
	a := s.app(appID)
	if a == nil {
		s.mu.Unlock()
		notFound(w, appID)
		return
	}
	items := make([]map[string]any, 0, len(a.FederatedIdentityCredentials))
	for _, f := range a.FederatedIdentityCredentials {
		items = append(items, render(f, o.selectSet, false))
	}
	s.mu.Unlock()
	s.collection(w, r, o, items)
}

func (s *Server) createFIC(w http.ResponseWriter, r *http.Request, appID string) {
	var f FederatedIdentityCredential
	if err := json.NewDecoder(r.Body).Decode(&f); err != nil || f.Name == "" || f.Issuer == "" || f.Subject == "" {
		writeError(w, http.StatusBadRequest, "Request_BadRequest", "name, issuer and subject are required.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.app(appID)
	if a == nil {
		notFound(w, appID)
		return
	}
	for _, g := range a.FederatedIdentityCredentials {
		if g.Name == f.Name {
			writeError(w, http.StatusConflict, "Request_MultipleObjectsWithSameKeyValue", "FederatedIdentityCredential with name "+f.Name+" already exists.")
			return
		}
	}
	if len(a.FederatedIdentityCredentials) >= expandMaxItems {
		writeError(w, http.StatusBadRequest, "Request_BadRequest", "An application can have at most 20 federated identity credentials.")
		return
	}
	f.ID = s.newID()
	a.FederatedIdentityCredentials = append(a.FederatedIdentityCredentials, f)
	writeJSON(w, http.StatusCreated, f)
}

func (s *Server) getFIC(w http.ResponseWriter, _ *http.Request, appID, ficID string, del bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.app(appID)
	if a == nil {
		notFound(w, appID)
		return
	}
	for i, f := range a.FederatedIdentityCredentials {
		if f.ID == ficID || f.Name == ficID {
			if del {
				a.FederatedIdentityCredentials = append(a.FederatedIdentityCredentials[:i:i], a.FederatedIdentityCredentials[i+1:]...)
				w.WriteHeader(http.StatusNoContent)
				return
			}
			writeJSON(w, http.StatusOK, f)
			return
		}
	}
	notFound(w, ficID)
}

func (s *Server) listAppRoleAssignedTo(w http.ResponseWriter, r *http.Request, resourceID string) {
	o, ok := readQuery(w, r, "", nil)
	if !ok {
		return
	}
	s.mu.Lock()
	if s.sp(resourceID) == nil {
		s.mu.Unlock()
		notFound(w, resourceID)
		return
	}
	var items []map[string]any
	for _, a := range s.st.AppRoleAssignments {
		if a.ResourceID == resourceID {
			items = append(items, render(a, o.selectSet, false))
		}
	}
	s.mu.Unlock()
	s.collection(w, r, o, items)
}

// listRoleEligibilities lists the PIM eligibilities for directory roles.
func (s *Server) listRoleEligibilities(w http.ResponseWriter, r *http.Request) {
	listSeed(s, w, r, "microsoft.graph.unifiedRoleEligibilityScheduleInstance", roleEligibilityProps, func() []DirectoryRoleEligibility {
		return s.st.DirectoryRoleEligibilities
	})
}

// listGroups lists groups; the fake supports only the filter the
// collector sends (isAssignableToRole eq true).
func (s *Server) listGroups(w http.ResponseWriter, r *http.Request) {
	o, ok := readQuery(w, r, "microsoft.graph.group", groupProps)
	if !ok {
		return
	}
	if o.filter != "" && o.filter != "isAssignableToRole eq true" {
		badQuery(w, queryError("Unsupported filter: "+o.filter))
		return
	}
	s.mu.Lock()
	var items []map[string]any
	for _, g := range s.st.Groups {
		if o.filter == "" || g.IsAssignableToRole {
			items = append(items, render(g, o.selectSet, false))
		}
	}
	s.mu.Unlock()
	s.collection(w, r, o, items)
}

// listGroupMembers lists a group's direct members as directory objects.
func (s *Server) listGroupMembers(w http.ResponseWriter, r *http.Request, id string) {
	o, ok := readQuery(w, r, "", nil)
	if !ok {
		return
	}
	s.mu.Lock()
	var members []string
	found := false
	for _, g := range s.st.Groups {
		if g.ID == id {
			members, found = g.Members, true
		}
	}
	if !found {
		s.mu.Unlock()
		notFound(w, id)
		return
	}
	items := make([]map[string]any, 0, len(members))
	for _, m := range members {
		items = append(items, s.ownerObject(m, o.selectSet))
	}
	s.mu.Unlock()
	s.collection(w, r, o, items)
}

// listOAuth2Grants lists the delegated permission grants (default page
// size; the API documents no $top or $expand).
func (s *Server) listOAuth2Grants(w http.ResponseWriter, r *http.Request) {
	if q := r.URL.Query(); q.Has("$top") || q.Has("$expand") {
		badQuery(w, queryError("Query option '$top' or '$expand' is not supported on oauth2PermissionGrants in this fake."))
		return
	}
	listSeed(s, w, r, "microsoft.graph.oAuth2PermissionGrant", nil, func() []OAuth2PermissionGrant {
		return s.st.OAuth2PermissionGrants
	})
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	o, ok := readQuery(w, r, "microsoft.graph.user", userProps)
	if !ok {
		return
	}
	var ids map[string]bool
	if o.filter != "" {
		f := strings.TrimSpace(o.filter)
		if !strings.HasPrefix(f, "id in (") || !strings.HasSuffix(f, ")") {
			badQuery(w, queryError("Unsupported filter: "+f))
			return
		}
		ids = map[string]bool{}
		for _, v := range strings.Split(strings.TrimSuffix(strings.TrimPrefix(f, "id in ("), ")"), ",") {
			ids[strings.Trim(strings.TrimSpace(v), "'")] = true
		}
		if len(ids) > filterInMax {
			badQuery(w, queryError("Too many values in the 'in' operator: at most 15 are allowed."))
			return
		}
	}
	s.mu.Lock()
	var items []map[string]any
	for _, u := range s.st.Users {
		if ids == nil || ids[u.ID] {
			items = append(items, render(u, o.selectSet, false))
		}
	}
	s.mu.Unlock()
	s.collection(w, r, o, items)
}

func (s *Server) listDirectoryRoles(w http.ResponseWriter, r *http.Request, beta bool) {
	known := roleDefinitionV1Props
	if beta {
		known = roleDefinitionBetaProps
	}
	o, ok := readQuery(w, r, "microsoft.graph.unifiedRoleDefinition", known)
	if !ok {
		return
	}
	s.mu.Lock()
	var items []map[string]any
	for _, d := range s.st.DirectoryRoles {
		m := render(d, o.selectSet, false)
		if !beta {
			delete(m, "isPrivileged")
		}
		items = append(items, m)
	}
	s.mu.Unlock()
	s.collection(w, r, o, items)
}

func (s *Server) listDirectoryRoleAssignments(w http.ResponseWriter, r *http.Request) {
	listSeed(s, w, r, "microsoft.graph.unifiedRoleAssignment", roleAssignmentProps, func() []DirectoryRoleAssignment {
		return s.st.DirectoryRoleAssignments
	})
}

// listSeed answers a plain collection of seed values (pick runs under the
// lock), after checking the query and its $select against the entity's
// properties (known nil: $select is not checked).
func listSeed[T any](s *Server, w http.ResponseWriter, r *http.Request, typeName string, known map[string]bool, pick func() []T) {
	o, ok := readQuery(w, r, typeName, known)
	if !ok {
		return
	}
	s.mu.Lock()
	values := pick()
	items := make([]map[string]any, 0, len(values))
	for _, v := range values {
		items = append(items, render(v, o.selectSet, false))
	}
	s.mu.Unlock()
	s.collection(w, r, o, items)
}

func reportsDenied(w http.ResponseWriter) {
	writeError(w, http.StatusForbidden, "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
		"Neither tenant is B2C or tenant doesn't have premium license")
}

type signInActivity struct {
	LastSignInDateTime            *time.Time `json:"lastSignInDateTime"`
	LastSignInRequestID           *string    `json:"lastSignInRequestId"`
	LastSuccessfulSignInDateTime  *time.Time `json:"lastSuccessfulSignInDateTime,omitempty"`
	LastSuccessfulSignInRequestID *string    `json:"lastSuccessfulSignInRequestId,omitempty"`
}

func requestID(t time.Time) *string {
	id := "00000000-0000-0000-0000-" + strconv.FormatInt(t.Unix()%1e12, 10)
	return &id
}

// activity renders a signInActivity: the last attempt (success or failed
// attempt, whichever is later) and, unless the report omits them, the last
// success. nil when there was no attempt at all.
func (s *Server) activity(success, failed time.Time) *signInActivity {
	attempt := latest(success, failed).UTC()
	if attempt.IsZero() {
		return nil
	}
	a := &signInActivity{LastSignInDateTime: &attempt, LastSignInRequestID: requestID(attempt)}
	if !s.st.ReportsOmitSuccess && !success.IsZero() {
		t := success.UTC()
		a.LastSuccessfulSignInDateTime, a.LastSuccessfulSignInRequestID = &t, requestID(t)
	}
	return a
}

func latest(ts ...time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if t.After(out) {
			out = t
		}
	}
	return out
}

func (s *Server) spSignIns(w http.ResponseWriter, r *http.Request) {
	o, ok := readQuery(w, r, "", nil)
	if !ok {
		return
	}
	s.mu.Lock()
	if s.st.ReportsUnavailable {
		s.mu.Unlock()
		reportsDenied(w)
		return
	}
	var items []map[string]any
	for _, sp := range s.st.ServicePrincipals {
		si, ok := s.st.SignIns[sp.AppID]
		if !ok {
			continue
		}
		items = append(items, map[string]any{
			"id":                              base64.RawURLEncoding.EncodeToString([]byte(sp.AppID)),
			"appId":                           sp.AppID,
			"lastSignInActivity":              s.activity(latest(si.AppOnlyClient, si.DelegatedClient, si.Resource), si.FailedClient),
			"delegatedClientSignInActivity":   s.activity(si.DelegatedClient, time.Time{}),
			"delegatedResourceSignInActivity": s.activity(time.Time{}, time.Time{}),
			"applicationAuthenticationClientSignInActivity":   s.activity(si.AppOnlyClient, si.FailedClient),
			"applicationAuthenticationResourceSignInActivity": s.activity(si.Resource, time.Time{}),
		})
	}
	s.mu.Unlock()
	s.collection(w, r, o, items)
}

func (s *Server) credSignIns(w http.ResponseWriter, r *http.Request) {
	o, ok := readQuery(w, r, "", nil)
	if !ok {
		return
	}
	s.mu.Lock()
	if s.st.ReportsUnavailable {
		s.mu.Unlock()
		reportsDenied(w)
		return
	}
	spByApp := map[string]*ServicePrincipal{}
	for i := range s.st.ServicePrincipals {
		spByApp[s.st.ServicePrincipals[i].AppID] = &s.st.ServicePrincipals[i]
	}
	omit := map[string]bool{}
	for _, k := range s.st.CredentialReportOmits {
		omit[k] = true
	}
	var items []map[string]any
	add := func(appID, appObjectID, spID, origin, keyID, keyType, usage string, created, expires time.Time) {
		if omit[keyID] {
			return
		}
		items = append(items, map[string]any{
			"id":                       base64.RawURLEncoding.EncodeToString([]byte(keyID)),
			"keyId":                    keyID,
			"keyType":                  keyType,
			"keyUsage":                 usage,
			"appId":                    appID,
			"appObjectId":              appObjectID,
			"servicePrincipalObjectId": spID,
			"resourceId":               "00000003-0000-0000-c000-000000000000",
			"credentialOrigin":         origin,
			"createdDateTime":          created.UTC(),
			"expirationDateTime":       expires.UTC(),
			"signInActivity":           s.activity(s.st.CredentialSignIns[keyID], s.st.CredentialFailedSignIns[keyID]),
		})
	}
	for _, a := range s.st.Applications {
		spID := ""
		if sp := spByApp[a.AppID]; sp != nil {
			spID = sp.ID
		}
		for _, p := range a.PasswordCredentials {
			add(a.AppID, a.ID, spID, "application", p.KeyID, "clientSecret", "sign", p.StartDateTime, p.EndDateTime)
		}
		for _, k := range a.KeyCredentials {
			add(a.AppID, a.ID, spID, "application", k.KeyID, "certificate", strings.ToLower(k.Usage), k.StartDateTime, k.EndDateTime)
		}
	}
	for _, sp := range s.st.ServicePrincipals {
		for _, p := range sp.PasswordCredentials {
			add(sp.AppID, "", sp.ID, "servicePrincipal", p.KeyID, "clientSecret", "sign", p.StartDateTime, p.EndDateTime)
		}
		for _, k := range sp.KeyCredentials {
			add(sp.AppID, "", sp.ID, "servicePrincipal", k.KeyID, "certificate", strings.ToLower(k.Usage), k.StartDateTime, k.EndDateTime)
		}
	}
	s.mu.Unlock()
	s.collection(w, r, o, items)
}

func (s *Server) app(id string) *Application {
	for i := range s.st.Applications {
		if s.st.Applications[i].ID == id {
			return &s.st.Applications[i]
		}
	}
	return nil
}

func (s *Server) sp(id string) *ServicePrincipal {
	for i := range s.st.ServicePrincipals {
		if s.st.ServicePrincipals[i].ID == id {
			return &s.st.ServicePrincipals[i]
		}
	}
	return nil
}

// miFederated returns the federated credentials of the user-assigned
// managed identity whose service principal is id.
func (s *Server) miFederated(id string) []FederatedIdentityCredential {
	for _, m := range s.st.ManagedIdentities {
		if m.PrincipalID == id {
			return m.FederatedCredentials
		}
	}
	return nil
}

func (s *Server) user(id string) *User {
	for i := range s.st.Users {
		if s.st.Users[i].ID == id {
			return &s.st.Users[i]
		}
	}
	return nil
}

// ensureManagedIdentitySPs gives every user-assigned managed identity its
// ManagedIdentity service principal, as Entra does.
func (s *Server) ensureManagedIdentitySPs() {
	for _, m := range s.st.ManagedIdentities {
		if s.sp(m.PrincipalID) != nil {
			continue
		}
		s.st.ServicePrincipals = append(s.st.ServicePrincipals, ServicePrincipal{
			ID: m.PrincipalID, AppID: m.ClientID, DisplayName: m.Name,
			ServicePrincipalType: "ManagedIdentity", AccountEnabled: true,
			AlternativeNames: []string{"isExplicit=True", m.ResourceID()},
		})
	}
}
