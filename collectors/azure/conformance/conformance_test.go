package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armsubscriptions"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/collectors/azure"
	"github.com/nhiscan/nhiscan/collectors/azure/azurefake"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// requiredEnv makes a missing metadata package a failure instead of a
// skip (.ci/run sets it after npm ci).
const requiredEnv = "NHISCAN_AZURE_CONFORMANCE"

var fixedNow = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// metadata loads Graph's v1.0 and beta metadata from node_modules, or
// skips (fails in CI) when the packages are not installed.
func metadata(t *testing.T) map[string]*graphMeta {
	t.Helper()
	out := map[string]*graphMeta{}
	for version, pkg := range map[string]string{"v1.0": "microsoft-graph-types", "beta": "microsoft-graph-types-beta"} {
		path := filepath.Join("node_modules", "@microsoft", pkg, "microsoft-graph.d.ts")
		if _, err := os.Stat(path); err != nil {
			msg := fmt.Sprintf("Graph %s metadata not installed (%v): run npm ci in collectors/azure/conformance", version, err)
			if os.Getenv(requiredEnv) == "required" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
		m, err := loadGraphMeta(path, version)
		if err != nil {
			t.Fatal(err)
		}
		out[version] = m
	}
	return out
}

// graphDesc is the Graph type an operation's answer holds.
type graphDesc struct {
	typ        string
	collection bool
}

// graphAnswers maps every Graph operation of the fake to the type of its
// answer.
var graphAnswers = map[string]graphDesc{
	azurefake.OpApplicationsList:           {"Application", true},
	azurefake.OpApplicationGet:             {"Application", false},
	azurefake.OpApplicationOwners:          {"DirectoryObject", true},
	azurefake.OpFICList:                    {"FederatedIdentityCredential", true},
	azurefake.OpFICGet:                     {"FederatedIdentityCredential", false},
	azurefake.OpFICCreate:                  {"FederatedIdentityCredential", false},
	azurefake.OpServicePrincipalsList:      {"ServicePrincipal", true},
	azurefake.OpServicePrincipalGet:        {"ServicePrincipal", false},
	azurefake.OpServicePrincipalOwners:     {"DirectoryObject", true},
	azurefake.OpAppRoleAssignedTo:          {"AppRoleAssignment", true},
	azurefake.OpUsersList:                  {"User", true},
	azurefake.OpOAuth2PermissionGrantsList: {"OAuth2PermissionGrant", true},
	azurefake.OpDirectoryRoleEligibilities: {"UnifiedRoleEligibilityScheduleInstance", true},
	azurefake.OpGroupsList:                 {"Group", true},
	azurefake.OpGroupMembers:               {"DirectoryObject", true},
	azurefake.OpDirectoryRoleDefinitions:   {"UnifiedRoleDefinition", true},
	azurefake.OpDirectoryRoleAssignments:   {"UnifiedRoleAssignment", true},
	azurefake.OpSPSignInActivities:         {"ServicePrincipalSignInActivity", true},
	azurefake.OpCredentialSignInActivities: {"AppCredentialSignInActivity", true},
}

// graphRequests maps the operations whose request body is an entity (an
// update or a creation) to its type. removePassword's body is an action
// parameter (keyId), not an entity.
var graphRequests = map[string]string{
	azurefake.OpApplicationUpdate:      "Application",
	azurefake.OpServicePrincipalUpdate: "ServicePrincipal",
	azurefake.OpFICCreate:              "FederatedIdentityCredential",
}

// armAnswers maps every ARM operation of the fake to the SDK model of its
// answer.
var armAnswers = map[string]func() any{
	azurefake.OpSubscriptionsList:          func() any { return &armsubscriptions.SubscriptionListResult{} },
	azurefake.OpRoleAssignmentsList:        func() any { return &armauthorization.RoleAssignmentListResult{} },
	azurefake.OpRoleDefinitionGet:          func() any { return &armauthorization.RoleDefinition{} },
	azurefake.OpUserAssignedIdentitiesList: func() any { return &armmsi.UserAssignedIdentitiesListResult{} },
	azurefake.OpMIFederatedCredentialsList: func() any { return &armmsi.FederatedIdentityCredentialsListResult{} },
}

// exchange is one request and its answer.
type exchange struct {
	op, method, path  string
	status            int
	request, response []byte
}

// recorder is the collector's transport: it keeps every exchange.
type recorder struct {
	base http.RoundTripper
	f    *azurefake.Server
	mu   sync.Mutex
	list []exchange
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		reqBody, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	_, op := r.f.Operation(req)
	resp, err := r.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	r.mu.Lock()
	r.list = append(r.list, exchange{op: op, method: req.Method, path: req.URL.Path, status: resp.StatusCode, request: reqBody, response: body})
	r.mu.Unlock()
	return resp, nil
}

// scenario runs the collector (and optionally the controls) against a
// fake and returns what was exchanged.
type scenario struct {
	name  string
	seed  azurefake.Seed
	setup func(f *azurefake.Server)
	act   func(t *testing.T, ctl *azure.Controls, inv nhi.Inventory)
}

func (s scenario) run(t *testing.T) []exchange {
	f := azurefake.New(s.seed)
	defer f.Close()
	if s.setup != nil {
		s.setup(f)
	}
	rec := &recorder{base: f.Client().Transport, f: f}
	cfg := azure.Config{TenantID: f.TenantID(), GraphURL: f.URL, ResourceManagerURL: f.URL,
		Credential: f.Credential(), HTTPClient: &http.Client{Transport: rec}, Now: func() time.Time { return fixedNow },
		MaxRetries: -1, CallTimeout: 5 * time.Second}
	c, err := azure.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := c.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.act != nil {
		ctl, err := azure.NewControls(cfg)
		if err != nil {
			t.Fatal(err)
		}
		s.act(t, ctl, inv)
	}
	return rec.list
}

// TestGraphAndARMAnswers checks every body the fake sent, and every entity
// body the collector and the controls sent, against the descriptions.
func TestGraphAndARMAnswers(t *testing.T) {
	meta := metadata(t)
	seen := map[string]bool{}
	for _, s := range scenarios() {
		t.Run(s.name, func(t *testing.T) {
			list := s.run(t)
			t.Logf("%d exchanges checked", len(list))
			for _, e := range list {
				seen[e.op] = true
				for _, msg := range checkExchange(meta, e) {
					t.Errorf("%s %s (%s): %s", e.method, e.path, e.op, msg)
				}
			}
		})
	}
	// Every operation the fake serves was exercised at least once.
	var missing []string
	for op := range graphAnswers {
		if !seen[op] {
			missing = append(missing, op)
		}
	}
	for op := range armAnswers {
		if !seen[op] {
			missing = append(missing, op)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("operations never exercised: %v", missing)
	}
}

// checkExchange returns what the descriptions do not describe in one
// exchange.
func checkExchange(meta map[string]*graphMeta, e exchange) []string {
	version := "v1.0"
	if strings.HasPrefix(e.path, "/beta/") {
		version = "beta"
	}
	m := meta[version]
	var errs []string
	if typ, ok := graphRequests[e.op]; ok && len(e.request) > 0 {
		errs = append(errs, checkGraphBody(m, "request", e.request, graphDesc{typ: typ})...)
	}
	if len(bytes.TrimSpace(e.response)) == 0 {
		return errs
	}
	if e.status >= 400 {
		return append(errs, checkErrorBody(e.response)...)
	}
	if d, ok := graphAnswers[e.op]; ok {
		return append(errs, checkGraphBody(m, "response", e.response, d)...)
	}
	if model, ok := armAnswers[e.op]; ok {
		var got map[string]any
		if err := json.Unmarshal(e.response, &got); err != nil {
			return append(errs, "response: "+err.Error())
		}
		kept, err := armRoundTrip(e.response, model())
		if err != nil {
			return append(errs, "response: "+err.Error())
		}
		return append(errs, armMissing("response", got, kept)...)
	}
	return append(errs, "no description is mapped to this operation in the test")
}

func checkGraphBody(m *graphMeta, what string, body []byte, d graphDesc) []string {
	var obj map[string]any
	if err := json.Unmarshal(body, &obj); err != nil {
		return []string{what + ": " + err.Error()}
	}
	c := &checker{m: m}
	if d.collection {
		c.collection(what, obj, d.typ)
	} else {
		c.object(what, obj, d.typ)
	}
	return c.errs
}

// checkErrorBody checks the error shape Graph and ARM share:
// {"error": {"code", "message", "target", "details", "innerError"}}.
func checkErrorBody(body []byte) []string {
	var b map[string]map[string]any
	if err := json.Unmarshal(body, &b); err != nil {
		return []string{"error body: " + err.Error()}
	}
	var errs []string
	for k, v := range b {
		if k != "error" {
			errs = append(errs, fmt.Sprintf("error body has %q", k))
			continue
		}
		for p := range v {
			switch p {
			case "code", "message", "target", "details", "innerError", "additionalInfo":
			default:
				errs = append(errs, fmt.Sprintf("error object has %q", p))
			}
		}
		if _, ok := v["code"].(string); !ok {
			errs = append(errs, "error object has no code")
		}
	}
	return errs
}

// TestSelectTables: every property the fake lets $select name exists in
// the entity type of that version.
func TestSelectTables(t *testing.T) {
	meta := metadata(t)
	for _, e := range azurefake.SelectableProperties() {
		m := meta[e.Version]
		typ := tsName(e.Type)
		if m.types[typ] == nil {
			t.Errorf("%s %s: no such type", e.Version, e.Type)
			continue
		}
		for _, p := range e.Properties {
			if _, ok := m.prop(typ, p); !ok {
				t.Errorf("%s %s: the fake accepts $select=%s, which the metadata lacks", e.Version, e.Type, p)
			}
		}
	}
}

// TestCheckerCatches: the checks fail on what they exist to catch.
func TestCheckerCatches(t *testing.T) {
	meta := metadata(t)
	for name, tc := range map[string]struct {
		body string
		d    graphDesc
	}{
		"unknown property":       {`{"value":[{"id":"1","secretText":"x","appId":"a","bogus":1}]}`, graphDesc{"Application", true}},
		"wrong kind":             {`{"id":"1","accountEnabled":"yes"}`, graphDesc{"ServicePrincipal", false}},
		"nested unknown":         {`{"id":"1","passwordCredentials":[{"keyId":"k","value":"v"}]}`, graphDesc{"Application", false}},
		"derived type unknown":   {`{"value":[{"@odata.type":"#microsoft.graph.user","id":"u","appId":"a"}]}`, graphDesc{"DirectoryObject", true}},
		"page property unknown":  {`{"value":[],"count":3}`, graphDesc{"User", true}},
		"beta-only on v1.0 type": {`{"value":[{"id":"r","isPrivileged":true}]}`, graphDesc{"UnifiedRoleDefinition", true}},
	} {
		if errs := checkGraphBody(meta["v1.0"], "body", []byte(tc.body), tc.d); len(errs) == 0 {
			t.Errorf("%s: not caught", name)
		}
	}
	body := []byte(`{"value":[{"id":"/subscriptions/s","subscriptionId":"s","bogus":"x"}]}`)
	var got map[string]any
	_ = json.Unmarshal(body, &got)
	kept, err := armRoundTrip(body, &armsubscriptions.SubscriptionListResult{})
	if err != nil || len(armMissing("response", got, kept)) != 1 {
		t.Errorf("ARM unknown property not caught: %v %v", armMissing("response", got, kept), err)
	}
}

// scenarios are the runs whose exchanges are checked: the demo tenant with
// every control, a tenant wide enough to pass Graph's expansion limits (so
// owners, federated credentials and owners' accounts are read one by one)
// in small pages, and a tenant whose calls fail.
func scenarios() []scenario {
	return []scenario{
		{name: "demo", seed: azurefake.Demo(fixedNow), act: actAll},
		{name: "wide", seed: wideSeed(), setup: func(f *azurefake.Server) { f.SetPageSize(3) }},
		{name: "faults", seed: azurefake.Demo(fixedNow), setup: func(f *azurefake.Server) {
			f.Deny(azurefake.DemoTenantID, azurefake.OpSPSignInActivities)
			f.Fail(azurefake.DemoTenantID, azurefake.OpCredentialSignInActivities, http.StatusInternalServerError)
			f.Deny(azurefake.DemoSubProd, azurefake.OpRoleAssignmentsList)
			f.Throttle(azurefake.DemoSubData, azurefake.OpUserAssignedIdentitiesList, 5)
		}},
	}
}

// actAll performs each control once: disable and enable a service
// principal, delete and restore a certificate and a federated credential,
// delete a secret.
func actAll(t *testing.T, ctl *azure.Controls, inv nhi.Inventory) {
	ctx := context.Background()
	byName := func(name string) nhi.Identity {
		for _, id := range inv.Identities {
			if id.Name == name {
				return id
			}
		}
		t.Fatalf("no identity %q", name)
		return nhi.Identity{}
	}
	cred := func(id nhi.Identity, typ nhi.CredentialType) string {
		for _, c := range id.Credentials {
			if c.Type == typ {
				return c.ID
			}
		}
		t.Fatalf("%s holds no %s", id.Name, typ)
		return ""
	}
	do := func(req collectors.ActionRequest) collectors.ActionResult {
		res, err := ctl.Act(ctx, req)
		if err != nil {
			t.Fatalf("%s %s: %v", req.Action, req.Identity.Name, err)
		}
		return res
	}
	pay := byName("payments-api")
	do(collectors.ActionRequest{Action: collectors.Disable, Identity: pay})
	do(collectors.ActionRequest{Action: collectors.Enable, Identity: pay})
	do(collectors.ActionRequest{Action: collectors.Delete, Identity: pay, CredentialID: cred(pay, nhi.CredEntraClientSecret)})
	hr := byName("hr-directory-sync")
	res := do(collectors.ActionRequest{Action: collectors.Delete, Identity: hr, CredentialID: cred(hr, nhi.CredEntraCertificate)})
	do(collectors.ActionRequest{Action: collectors.Restore, RestoreData: res.RestoreData})
	ci := byName("payments-ci-deployer")
	res = do(collectors.ActionRequest{Action: collectors.Delete, Identity: ci, CredentialID: cred(ci, nhi.CredEntraFederated)})
	do(collectors.ActionRequest{Action: collectors.Restore, RestoreData: res.RestoreData})
}

// wideSeed is the demo tenant with an application and a service principal
// past Graph's expansion limit of 20 owners and federated credentials.
func wideSeed() azurefake.Seed {
	s := azurefake.Demo(fixedNow)
	for i := 1; i <= 22; i++ {
		u := azurefake.User{ID: azurefake.GUID("e6", i), DisplayName: fmt.Sprintf("Owner %d", i),
			UserPrincipalName: fmt.Sprintf("owner%d@acme.example", i), AccountEnabled: i%2 == 0}
		s.Users = append(s.Users, u)
		s.Applications[0].Owners = append(s.Applications[0].Owners, u.ID)
		s.ServicePrincipals[1].Owners = append(s.ServicePrincipals[1].Owners, u.ID)
	}
	for i := 1; i <= 20; i++ {
		s.Applications[1].FederatedIdentityCredentials = append(s.Applications[1].FederatedIdentityCredentials,
			azurefake.FederatedIdentityCredential{ID: azurefake.GUID("f9", i), Name: fmt.Sprintf("env-%d", i),
				Issuer: "https://token.actions.githubusercontent.com", Subject: fmt.Sprintf("repo:acme/svc:environment:e%d", i),
				Audiences: []string{"api://AzureADTokenExchange"}})
	}
	return s
}
