// Package azurefake is an in-process fake of the Microsoft Graph and Azure
// Resource Manager endpoints the azure collector calls. It serves TLS (the
// azcore bearer-token policy refuses plain http), follows the documented
// wire formats (OData collections with @odata.nextLink and $skiptoken, $select,
// $top up to 999, $expand capped at 20 related objects and 100 parents per
// page, ARM nextLink paging, Graph and ARM error bodies), keeps state so that
// disable, enable and credential removal change what the next scan sees, and
// counts calls per API operation. Errors can be injected per scope (the
// tenant for Graph, a subscription for ARM) and per operation: 403 denials
// and 429 throttling with Retry-After. Latency can be injected per call.
//
// It never serves a secret value: client secret texts are held only so tests
// can prove they do not leak.
package azurefake

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/nhiscan/nhiscan/collectors/fakeapi"
)

// Operation names, as counted by Calls and used by DenyOp and ThrottleOp.
// The azure collector records the same names as gap sources.
const (
	OpApplicationsList               = "graph:applications.list"
	OpApplicationGet                 = "graph:applications.get"
	OpApplicationUpdate              = "graph:applications.update"
	OpApplicationOwners              = "graph:applications.owners.list"
	OpApplicationRemovePassword      = "graph:applications.removePassword"
	OpFICList                        = "graph:applications.federatedIdentityCredentials.list"
	OpFICGet                         = "graph:applications.federatedIdentityCredentials.get"
	OpFICCreate                      = "graph:applications.federatedIdentityCredentials.create"
	OpFICDelete                      = "graph:applications.federatedIdentityCredentials.delete"
	OpServicePrincipalsList          = "graph:servicePrincipals.list"
	OpServicePrincipalGet            = "graph:servicePrincipals.get"
	OpServicePrincipalUpdate         = "graph:servicePrincipals.update"
	OpServicePrincipalOwners         = "graph:servicePrincipals.owners.list"
	OpServicePrincipalRemovePassword = "graph:servicePrincipals.removePassword"
	OpAppRoleAssignedTo              = "graph:servicePrincipals.appRoleAssignedTo.list"
	OpUsersList                      = "graph:users.list"
	OpDirectoryRoleDefinitions       = "graph:roleManagement.directory.roleDefinitions.list"
	OpDirectoryRoleAssignments       = "graph:roleManagement.directory.roleAssignments.list"
	OpSPSignInActivities             = "graph:reports.servicePrincipalSignInActivities"
	OpCredentialSignInActivities     = "graph:reports.appCredentialSignInActivities"
	OpSubscriptionsList              = "arm:subscriptions.list"
	OpRoleAssignmentsList            = "arm:roleAssignments.listForSubscription"
	OpRoleDefinitionGet              = "arm:roleDefinitions.get"
	OpUserAssignedIdentitiesList     = "arm:userAssignedIdentities.listBySubscription"
)

// ScopeARM is the scope of tenant-level ARM calls (the subscription list).
const ScopeARM = "arm"

// Server is a running fake.
type Server struct {
	// URL is the base URL of both the Graph and the ARM endpoints.
	URL string
	srv *httptest.Server

	mu sync.Mutex
	st Seed
	fakeapi.Counter
	denyScopes map[string]bool
	denyOps    map[string]bool
	throttles  map[string]*throttle
	latency    time.Duration
	pageSize   int
	nextID     int
}

type throttle struct {
	remaining  int // <0: always
	retryAfter time.Duration
}

// New starts a TLS fake serving a copy of seed. Close it when done.
func New(seed Seed) *Server {
	s := &Server{
		st:         cloneSeed(seed),
		denyScopes: map[string]bool{},
		denyOps:    map[string]bool{},
		throttles:  map[string]*throttle{},
	}
	s.ensureManagedIdentitySPs()
	s.srv = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Client returns an HTTP client that trusts the fake's certificate.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// TLSConfig returns the TLS configuration of Client's transport.
func (s *Server) TLSConfig() *tls.Config {
	return s.srv.Client().Transport.(*http.Transport).TLSClientConfig
}

// Credential returns a static token credential for the fake; no real cloud
// is contacted.
func (s *Server) Credential() azcore.TokenCredential { return staticToken{} }

type staticToken struct{}

func (staticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "azurefake-token", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// TenantID is the seeded tenant id.
func (s *Server) TenantID() string { return s.st.TenantID }

// DenyScope makes every call in scope (the tenant id for Graph, a
// subscription id for ARM, ScopeARM for the subscription list) answer 403.
func (s *Server) DenyScope(scope string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denyScopes[scope] = true
}

// DenyOp makes every call of one operation answer 403.
func (s *Server) DenyOp(op string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denyOps[op] = true
}

// ThrottleOp makes the next times calls of op (every call when times < 0)
// answer 429 with a Retry-After header of retryAfter, in whole seconds as
// Graph and ARM send it.
func (s *Server) ThrottleOp(op string, times int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttles[op] = &throttle{remaining: times, retryAfter: retryAfter}
}

// SetLatency delays every response by d.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// SetPageSize caps every page at n items (0 restores the APIs' own sizes),
// to exercise paging with small seeds.
func (s *Server) SetPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageSize = n
}

// Application returns the current state of an application by object id.
func (s *Server) Application(id string) (Application, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.app(id); a != nil {
		return cloneSeed(Seed{Applications: []Application{*a}}).Applications[0], true
	}
	return Application{}, false
}

// ServicePrincipal returns the current state of a service principal.
func (s *Server) ServicePrincipal(id string) (ServicePrincipal, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sp := s.sp(id); sp != nil {
		return cloneSeed(Seed{ServicePrincipals: []ServicePrincipal{*sp}}).ServicePrincipals[0], true
	}
	return ServicePrincipal{}, false
}

// Secrets returns every client secret text held by the fake, sorted, for
// leak tests.
func (s *Server) Secrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	add := func(pcs []PasswordCredential) {
		for _, p := range pcs {
			if p.SecretText != "" {
				out = append(out, p.SecretText)
			}
		}
	}
	for _, a := range s.st.Applications {
		add(a.PasswordCredentials)
	}
	for _, sp := range s.st.ServicePrincipals {
		add(sp.PasswordCredentials)
	}
	sort.Strings(out)
	return out
}

// route is one resolved request.
type route struct {
	op, scope string
	handle    func(w http.ResponseWriter, r *http.Request)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rt := s.route(r)
	if rt.op == "" {
		writeError(w, http.StatusNotFound, "Request_ResourceNotFound", "no such resource: "+r.Method+" "+r.URL.Path)
		return
	}
	s.mu.Lock()
	s.Count(rt.op)
	lat := s.latency
	denied := s.denyScopes[rt.scope] || s.denyOps[rt.op]
	var thr *throttle
	if t := s.throttles[rt.op]; t != nil && t.remaining != 0 {
		thr = &throttle{retryAfter: t.retryAfter}
		if t.remaining > 0 {
			t.remaining--
		}
	}
	s.mu.Unlock()
	if lat > 0 {
		select {
		case <-time.After(lat):
		case <-r.Context().Done():
			return
		}
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="https://login.microsoftonline.com/common"`)
		writeError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.")
		return
	}
	arm := strings.HasPrefix(rt.op, "arm:")
	if thr != nil {
		w.Header().Set("Retry-After", fmt.Sprint(int(math.Ceil(thr.retryAfter.Seconds()))))
		code := "TooManyRequests"
		if arm {
			code = "SubscriptionRequestsThrottled"
		}
		writeError(w, http.StatusTooManyRequests, code, "Too many requests. Please retry after the time given in Retry-After.")
		return
	}
	if denied {
		if arm {
			writeError(w, http.StatusForbidden, "AuthorizationFailed", fmt.Sprintf(
				"The client does not have authorization to perform action over scope '%s' or the scope is invalid.", rt.scope))
		} else {
			writeError(w, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
		}
		return
	}
	if arm && r.URL.Query().Get("api-version") == "" {
		writeError(w, http.StatusBadRequest, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
		return
	}
	rt.handle(w, r)
}

func (s *Server) route(r *http.Request) route {
	p := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case strings.HasPrefix(p, "/v1.0/"):
		return s.graphRoute(r.Method, strings.Split(strings.TrimPrefix(p, "/v1.0/"), "/"), false)
	case strings.HasPrefix(p, "/beta/"):
		return s.graphRoute(r.Method, strings.Split(strings.TrimPrefix(p, "/beta/"), "/"), true)
	case strings.HasPrefix(strings.ToLower(p), "/subscriptions"), strings.HasPrefix(strings.ToLower(p), "/providers/"):
		return s.armRoute(r.Method, strings.Split(strings.TrimPrefix(p, "/"), "/"))
	}
	return route{}
}

// graphErrorBody is the Graph and ARM error shape.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var b errorBody
	b.Error.Code, b.Error.Message = code, msg
	writeJSON(w, status, b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) newID() string {
	s.nextID++
	return fmt.Sprintf("0000f00d-0000-4000-8000-%012d", s.nextID)
}

func cloneSeed(in Seed) Seed {
	out := in
	out.Users = append([]User(nil), in.Users...)
	out.Applications = make([]Application, len(in.Applications))
	for i, a := range in.Applications {
		a.Tags = append([]string(nil), a.Tags...)
		a.PasswordCredentials = append([]PasswordCredential(nil), a.PasswordCredentials...)
		a.KeyCredentials = append([]KeyCredential(nil), a.KeyCredentials...)
		a.FederatedIdentityCredentials = make([]FederatedIdentityCredential, len(a.FederatedIdentityCredentials))
		for j, f := range in.Applications[i].FederatedIdentityCredentials {
			f.Audiences = append([]string(nil), f.Audiences...)
			a.FederatedIdentityCredentials[j] = f
		}
		a.Owners = append([]string(nil), a.Owners...)
		out.Applications[i] = a
	}
	out.ServicePrincipals = make([]ServicePrincipal, len(in.ServicePrincipals))
	for i, sp := range in.ServicePrincipals {
		sp.AlternativeNames = append([]string(nil), sp.AlternativeNames...)
		sp.Tags = append([]string(nil), sp.Tags...)
		sp.PasswordCredentials = append([]PasswordCredential(nil), sp.PasswordCredentials...)
		sp.KeyCredentials = append([]KeyCredential(nil), sp.KeyCredentials...)
		sp.AppRoles = append([]AppRole(nil), sp.AppRoles...)
		sp.Owners = append([]string(nil), sp.Owners...)
		out.ServicePrincipals[i] = sp
	}
	out.DirectoryRoles = append([]DirectoryRole(nil), in.DirectoryRoles...)
	out.DirectoryRoleAssignments = append([]DirectoryRoleAssignment(nil), in.DirectoryRoleAssignments...)
	out.AppRoleAssignments = append([]AppRoleAssignment(nil), in.AppRoleAssignments...)
	out.SignIns = make(map[string]SignIn, len(in.SignIns))
	for k, v := range in.SignIns {
		out.SignIns[k] = v
	}
	out.CredentialSignIns = make(map[string]time.Time, len(in.CredentialSignIns))
	for k, v := range in.CredentialSignIns {
		out.CredentialSignIns[k] = v
	}
	out.Subscriptions = append([]Subscription(nil), in.Subscriptions...)
	out.RoleDefinitions = append([]RoleDefinition(nil), in.RoleDefinitions...)
	out.RoleAssignments = make([]RoleAssignment, len(in.RoleAssignments))
	for i, ra := range in.RoleAssignments {
		ra.Subscriptions = append([]string(nil), ra.Subscriptions...)
		out.RoleAssignments[i] = ra
	}
	out.ManagedIdentities = make([]ManagedIdentity, len(in.ManagedIdentities))
	for i, m := range in.ManagedIdentities {
		tags := make(map[string]string, len(m.Tags))
		for k, v := range m.Tags {
			tags[k] = v
		}
		m.Tags = tags
		out.ManagedIdentities[i] = m
	}
	return out
}
