// Package azurefake is an in-process fake of the Microsoft Graph and Azure
// Resource Manager endpoints the azure collector calls. It serves TLS (the
// azcore bearer-token policy refuses plain http), follows the documented
// wire formats (OData collections with @odata.nextLink and $skiptoken, $select,
// $top up to 999, $expand capped at 20 related objects and 100 parents per
// page, ARM nextLink paging, Graph and ARM error bodies), keeps state so that
// disable, enable and credential removal change what the next scan sees, and
// counts calls per API operation. Faults are injected through the shared
// fakeapi vocabulary (Deny, DenyAfter, Throttle, Fail, Timeout, Random) per
// scope (the tenant id for Graph and tenant-level ARM calls such as the
// subscription list, a subscription id for ARM calls in a subscription) and
// per operation, and answered as Graph and ARM do: their error JSON, 429
// with Retry-After, 5xx, and a hang until the client gives up. Latency can
// be injected per call.
//
// It never serves a secret value: client secret texts are held only so tests
// can prove they do not leak.
package azurefake

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/nhiscan/nhiscan/collectors/fakeapi"
)

// Operation names, as counted by Calls and named in faults.
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
	OpOAuth2PermissionGrantsList     = "graph:oauth2PermissionGrants.list"
	OpDirectoryRoleDefinitions       = "graph:roleManagement.directory.roleDefinitions.list"
	OpDirectoryRoleAssignments       = "graph:roleManagement.directory.roleAssignments.list"
	OpDirectoryRoleEligibilities     = "graph:roleManagement.directory.roleEligibilityScheduleInstances.list"
	OpGroupsList                     = "graph:groups.list(isAssignableToRole)"
	OpGroupMembers                   = "graph:groups.members.list"
	OpSPSignInActivities             = "graph:reports.servicePrincipalSignInActivities"
	OpCredentialSignInActivities     = "graph:reports.appCredentialSignInActivities"
	OpSubscriptionsList              = "arm:subscriptions.list"
	OpRoleAssignmentsList            = "arm:roleAssignments.listForSubscription"
	OpRoleDefinitionGet              = "arm:roleDefinitions.get"
	OpUserAssignedIdentitiesList     = "arm:userAssignedIdentities.listBySubscription"
	OpMIFederatedCredentialsList     = "arm:userAssignedIdentities.federatedIdentityCredentials.list"
)

// Server is a running fake.
type Server struct {
	// Endpoint serves both the Graph and the ARM endpoints at its URL.
	fakeapi.Endpoint
	fakeapi.Counter
	fakeapi.Faults

	mu         sync.Mutex
	st         Seed
	retryAfter time.Duration
	nextID     int
	// canary is planted in every error body (see SetErrorCanary).
	canary       string
	canaryInCode bool
}

// defaultRetryAfter is the default of SetRetryAfter.
const defaultRetryAfter = time.Second

// New starts a TLS fake serving a copy of seed. Close it when done.
func New(seed Seed) *Server {
	s := &Server{st: cloneSeed(seed), retryAfter: defaultRetryAfter}
	s.ensureManagedIdentitySPs()
	s.Start(http.HandlerFunc(s.serve), true)
	return s
}

// TLSConfig returns the TLS configuration of Client's transport.
func (s *Server) TLSConfig() *tls.Config {
	return s.Client().Transport.(*http.Transport).TLSClientConfig
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

// SetRetryAfter sets the Retry-After of a throttled answer (default 1s),
// sent in whole seconds as Graph and ARM send it: 0 asks the client to
// apply its own backoff.
func (s *Server) SetRetryAfter(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.retryAfter = d
}

// SetErrorCanary plants v in every error body the fake sends: in the
// message, the inner error and the target, and, with inCode, as the error
// code itself. Tests use it to prove that what an error body says is never
// stored, logged or returned (only the status and a well-formed error code
// are). "" turns it off.
func (s *Server) SetErrorCanary(v string, inCode bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.canary, s.canaryInCode = v, inCode
}

// canaryWriter rewrites an error body to carry a canary value.
type canaryWriter struct {
	http.ResponseWriter
	canary string
	inCode bool
	status int
	body   []byte
}

func (c *canaryWriter) WriteHeader(status int) {
	c.status = status
	if status < 400 {
		c.ResponseWriter.WriteHeader(status)
	}
}

func (c *canaryWriter) Write(b []byte) (int, error) {
	if c.status >= 400 {
		c.body = append(c.body, b...)
		return len(b), nil
	}
	return c.ResponseWriter.Write(b)
}

// flush sends a held error body with the canary planted in it.
func (c *canaryWriter) flush() {
	if c.status < 400 {
		return
	}
	var body struct {
		Error map[string]any `json:"error"`
	}
	if json.Unmarshal(c.body, &body) != nil || body.Error == nil {
		body.Error = map[string]any{}
	}
	body.Error["message"] = fmt.Sprint(body.Error["message"]) + " (request " + c.canary + ")"
	body.Error["target"] = c.canary
	body.Error["innerError"] = map[string]any{"request-id": c.canary, "client-request-id": c.canary,
		"date": "2026-11-20T12:00:00"}
	if c.inCode {
		body.Error["code"] = c.canary
	}
	b, _ := json.Marshal(body)
	c.ResponseWriter.Header().Del("Content-Length")
	c.ResponseWriter.WriteHeader(c.status)
	_, _ = c.ResponseWriter.Write(b)
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
	s.mu.Lock()
	canary, inCode := s.canary, s.canaryInCode
	s.mu.Unlock()
	if canary != "" {
		cw := &canaryWriter{ResponseWriter: w, canary: canary, inCode: inCode}
		defer cw.flush()
		w = cw
	}
	rt := s.route(r)
	if rt.op == "" {
		writeError(w, http.StatusNotFound, "Request_ResourceNotFound", "no such resource: "+r.Method+" "+r.URL.Path)
		return
	}
	s.Count(rt.op)
	fault, faulty := s.Inject(rt.scope, rt.op)
	if !s.Delay(r.Context()) {
		panic(http.ErrAbortHandler) // the client gave up or the fake is closing
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="https://login.microsoftonline.com/common"`)
		writeError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.")
		return
	}
	arm := strings.HasPrefix(rt.op, "arm:")
	if faulty {
		s.writeFault(w, r, rt, arm, fault)
		return
	}
	if arm && r.URL.Query().Get("api-version") == "" {
		writeError(w, http.StatusBadRequest, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
		return
	}
	rt.handle(w, r)
}

// writeFault answers with an injected fault in the Graph or ARM wire
// format.
func (s *Server) writeFault(w http.ResponseWriter, r *http.Request, rt route, arm bool, f fakeapi.Fault) {
	switch f.Kind {
	case fakeapi.FaultDenied:
		if arm {
			writeError(w, http.StatusForbidden, "AuthorizationFailed", fmt.Sprintf(
				"The client does not have authorization to perform action over scope '%s' or the scope is invalid.", rt.scope))
			return
		}
		writeError(w, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
	case fakeapi.FaultThrottled:
		s.mu.Lock()
		after := s.retryAfter
		s.mu.Unlock()
		w.Header().Set("Retry-After", fmt.Sprint(int(math.Ceil(after.Seconds()))))
		code := "TooManyRequests"
		if arm {
			code = "SubscriptionRequestsThrottled"
		}
		writeError(w, http.StatusTooManyRequests, code, "Too many requests. Please retry after the time given in Retry-After.")
	case fakeapi.FaultTimeout:
		if !s.Hang(r.Context()) {
			// The client gave up (or the fake is closing): never answer
			// it, not even with an empty 200.
			panic(http.ErrAbortHandler)
		}
		writeStatus(w, http.StatusGatewayTimeout, arm)
	default:
		writeStatus(w, f.Status, arm)
	}
}

// writeStatus answers an HTTP error status with the error code Graph or
// ARM uses for it.
func writeStatus(w http.ResponseWriter, status int, arm bool) {
	graphCodes := map[int]string{500: "generalException", 502: "badGateway", 503: "serviceNotAvailable", 504: "timeout"}
	armCodes := map[int]string{500: "InternalServerError", 502: "BadGateway", 503: "ServiceUnavailable", 504: "GatewayTimeout"}
	code := graphCodes[status]
	if arm {
		code = armCodes[status]
	}
	if code == "" {
		code = strings.ReplaceAll(http.StatusText(status), " ", "")
	}
	writeError(w, status, code, http.StatusText(status)+".")
}

// Operation returns the scope and operation a request is counted and
// faulted under, or "" when the fake does not serve it. Tests use it to
// name the call behind a failed request.
func (s *Server) Operation(r *http.Request) (scope, op string) {
	rt := s.route(r)
	return rt.scope, rt.op
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
	out.DirectoryRoleEligibilities = slices.Clone(in.DirectoryRoleEligibilities)
	out.Groups = slices.Clone(in.Groups)
	for i := range out.Groups {
		out.Groups[i].Members = slices.Clone(out.Groups[i].Members)
		out.Groups[i].GroupTypes = slices.Clone(out.Groups[i].GroupTypes)
	}
	out.AppRoleAssignments = append([]AppRoleAssignment(nil), in.AppRoleAssignments...)
	out.OAuth2PermissionGrants = slices.Clone(in.OAuth2PermissionGrants)
	out.SignIns = make(map[string]SignIn, len(in.SignIns))
	for k, v := range in.SignIns {
		out.SignIns[k] = v
	}
	out.CredentialSignIns = maps.Clone(in.CredentialSignIns)
	out.CredentialFailedSignIns = maps.Clone(in.CredentialFailedSignIns)
	out.CredentialReportOmits = slices.Clone(in.CredentialReportOmits)
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
		m.FederatedCredentials = slices.Clone(m.FederatedCredentials)
		for j := range m.FederatedCredentials {
			m.FederatedCredentials[j].Audiences = slices.Clone(m.FederatedCredentials[j].Audiences)
		}
		out.ManagedIdentities[i] = m
	}
	return out
}
