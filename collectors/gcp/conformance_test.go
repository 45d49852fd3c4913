package gcp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/collectors/collectortest"
	"github.com/nhiscan/nhiscan/collectors/gcp"
	"github.com/nhiscan/nhiscan/collectors/gcp/gcpfake"
)

// exchange is one request the collector made and the fake's answer.
type exchange struct {
	api, method, path string
	query             map[string][]string
	reqBody           []byte
	status            int
	body              []byte
}

// recorder is a transport that records every exchange, by API. Each API
// client is pointed at its own path prefix ("/x-iam/…"), which the
// recorder strips before the fake sees the request, so that every
// exchange is checked against the description of the API it was made to.
type recorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	log  []exchange
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	rest := strings.TrimPrefix(req.URL.Path, "/x-")
	api, path, ok := strings.Cut(rest, "/")
	if !ok {
		return nil, fmt.Errorf("recorder: request %s has no API prefix", req.URL.Path)
	}
	var reqBody []byte
	if req.Body != nil {
		reqBody, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	out := req.Clone(req.Context())
	out.URL.Path, out.URL.RawPath = "/"+path, ""
	resp, err := r.next.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	r.mu.Lock()
	r.log = append(r.log, exchange{api: api, method: req.Method, path: "/" + path, query: req.URL.Query(),
		reqBody: reqBody, status: resp.StatusCode, body: body})
	r.mu.Unlock()
	return resp, nil
}

func (r *recorder) exchanges() []exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.log)
}

// recorded points every API client of cfg at srv through rec.
func recorded(srv *gcpfake.Server, rec *recorder) func(*gcp.Config) {
	return func(c *gcp.Config) {
		c.Endpoint = ""
		c.Endpoints = map[string]string{}
		for api := range discoveryAPIs {
			if !strings.Contains(api, "/") {
				c.Endpoints[api] = srv.URL + "/x-" + api + "/"
			}
		}
		c.Endpoints["storage"] += "storage/v1/"
		c.HTTPClient = &http.Client{Transport: rec}
	}
}

func newRecorder(srv *gcpfake.Server) *recorder { return &recorder{next: srv.Client().Transport} }

// TestFakeConformsToTheDiscoveryDocuments drives the real collector and
// controls against the fake through every path they have (a full scan of
// the demo organisation in small pages, the per-project fallback, every
// control action) and checks every exchange against Google's discovery
// documents: each request names a documented method with documented
// parameters, and each response of the fake has only fields, types and
// enum values its response schema describes. Cloud Asset's resource data,
// which the Asset API types as "any", is checked against the schema its
// discoveryName names in the description its discoveryDocumentUri names.
// A fake field the description lacks fails the test.
func TestFakeConformsToTheDiscoveryDocuments(t *testing.T) {
	docs := loadDiscovery(t)
	var all []exchange
	for _, sc := range conformanceScenarios() {
		srv := demo(t)
		if sc.server != nil {
			srv = sc.server(t)
		}
		rec := newRecorder(srv)
		sc.run(t, srv, rec)
		got := rec.exchanges()
		if len(got) == 0 {
			t.Errorf("%s: no exchange recorded", sc.name)
		}
		for _, ex := range got {
			for _, p := range checkExchange(docs, ex) {
				t.Errorf("%s: %s %s: %s", sc.name, ex.method, ex.path, p)
			}
		}
		all = append(all, got...)
	}
	checkMethodsCovered(t, docs, all)
}

type scenario struct {
	name string
	run  func(t *testing.T, srv *gcpfake.Server, rec *recorder)
	// server is the fake to run against; nil means the demo.
	server func(testing.TB) *gcpfake.Server
}

func conformanceScenarios() []scenario {
	scan := func(mod ...func(*gcp.Config)) func(t *testing.T, srv *gcpfake.Server, rec *recorder) {
		return func(t *testing.T, srv *gcpfake.Server, rec *recorder) {
			c := collector(t, srv, append([]func(*gcp.Config){recorded(srv, rec)}, mod...)...)
			if _, err := c.Collect(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	}
	return []scenario{
		{"demo scan in pages of 2", func(t *testing.T, srv *gcpfake.Server, rec *recorder) {
			srv.SetPageSize(2)
			scan()(t, srv, rec)
		}, nil},
		{"fallback at the organisation", func(t *testing.T, srv *gcpfake.Server, rec *recorder) {
			srv.DisableService("cloudasset")
			srv.SetPageSize(1)
			scan()(t, srv, rec)
		}, nil},
		{"fallback at a project", func(t *testing.T, srv *gcpfake.Server, rec *recorder) {
			srv.DisableService("cloudasset")
			scan(func(c *gcp.Config) { c.Organization, c.Projects = "", []string{"acme-platform-prod"} })(t, srv, rec)
		}, nil},
		{"controls", runControls, nil},
		// The demo has no role recommendations: this one has each kind
		// (replace, remove, dismissed, conditional, a user's), in pages of 2.
		{"role recommendations in pages of 2", func(t *testing.T, srv *gcpfake.Server, rec *recorder) {
			srv.SetPageSize(2)
			scan()(t, srv, rec)
		}, withRecommendations},
	}
}

// runControls disables, enables and deletes a key and disables and
// enables an account.
func runControls(t *testing.T, srv *gcpfake.Server, rec *recorder) {
	inv := collectortest.Collect(t, collector(t, srv))
	cfg := gcp.Config{RetryBaseDelay: time.Millisecond, MaxRetryDelay: 5 * time.Millisecond}
	recorded(srv, rec)(&cfg)
	ctl, err := gcp.NewControls(cfg)
	if err != nil {
		t.Fatal(err)
	}
	id := identityByName(t, inv, "payments-batch-legacy")
	const key = "c3d5e7f9a1b2c4d6e8f0a1b3c5d7e9f2a4b6c8d0"
	steps := []struct {
		a    collectors.Action
		cred string
	}{{collectors.Disable, key}, {collectors.Enable, key}, {collectors.Delete, key}, {collectors.Disable, ""}, {collectors.Enable, ""}}
	for _, s := range steps {
		if _, err := ctl.Act(context.Background(), collectors.ActionRequest{Action: s.a, Identity: id, CredentialID: s.cred}); err != nil {
			t.Fatalf("%s %q: %v", s.a, s.cred, err)
		}
	}
	removeAndRestoreBinding(t, ctl, identityByName(t, inv, "data-reporting-exporter"), "projects/acme-data-prod/roles/reportingAdmin")
}

// checkExchange checks one exchange against the description of its API.
func checkExchange(docs map[string]*discoDoc, ex exchange) []string {
	d := docs[ex.api]
	if d == nil {
		return []string{"no description for API " + ex.api}
	}
	m := d.method(ex.method, ex.path)
	if m == nil {
		return []string{"no method of the " + ex.api + " description has this path"}
	}
	bad := d.checkQuery(m, ex.query)
	if len(ex.reqBody) > 0 && m.Request != nil {
		bad = append(bad, checkJSON(d, "request", ex.reqBody, m.Request)...)
	}
	if ex.status/100 != 2 {
		return bad // errors are not described
	}
	if m.Response == nil {
		if len(bytes.TrimSpace(ex.body)) > 0 && string(bytes.TrimSpace(ex.body)) != "{}" {
			bad = append(bad, m.ID+" has no response body, the fake sent one")
		}
		return bad
	}
	bad = append(bad, checkJSON(d, "response", ex.body, m.Response)...)
	if m.ID == "cloudasset.assets.list" {
		bad = append(bad, checkAssetData(docs, ex.body)...)
	}
	return bad
}

func checkJSON(d *discoDoc, what string, body []byte, s *schema) []string {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return []string{what + " is not JSON: " + err.Error()}
	}
	return d.check(what, v, s)
}

// assetDescriptions maps a Resource's discoveryDocumentUri to the
// description it names.
var assetDescriptions = map[string]string{
	"https://iam.googleapis.com/$discovery/rest":                             "iam",
	"https://cloudresourcemanager.googleapis.com/$discovery/rest?version=v1": "cloudresourcemanager/v1",
}

// checkAssetData checks each asset's resource data with the schema its
// discoveryName names.
func checkAssetData(docs map[string]*discoDoc, body []byte) []string {
	var resp struct {
		Assets []struct {
			Name     string `json:"name"`
			Resource struct {
				DiscoveryName        string `json:"discoveryName"`
				DiscoveryDocumentURI string `json:"discoveryDocumentUri"`
				Data                 any    `json:"data"`
			} `json:"resource"`
		} `json:"assets"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return []string{err.Error()}
	}
	var bad []string
	for _, a := range resp.Assets {
		r := a.Resource
		d := docs[assetDescriptions[r.DiscoveryDocumentURI]]
		if d == nil {
			bad = append(bad, fmt.Sprintf("asset %s: no description for discoveryDocumentUri %q", a.Name, r.DiscoveryDocumentURI))
			continue
		}
		bad = append(bad, d.check("asset "+a.Name+" data", r.Data, &schema{Ref: r.DiscoveryName})...)
	}
	return bad
}

// conformanceMethods are the methods of the descriptions the collector
// and the controls call: the scenarios must reach every one.
var conformanceMethods = []string{
	"cloudasset.assets.list",
	"cloudasset.searchAllIamPolicies",
	"iam.projects.serviceAccounts.list",
	"iam.organizations.roles.get",
	"iam.projects.roles.get",
	"iam.projects.locations.workloadIdentityPools.list",
	"iam.projects.locations.workloadIdentityPools.providers.list",
	"iam.projects.serviceAccounts.get",
	"iam.projects.serviceAccounts.disable",
	"iam.projects.serviceAccounts.enable",
	"iam.projects.serviceAccounts.keys.list",
	"iam.projects.serviceAccounts.keys.get",
	"iam.projects.serviceAccounts.keys.disable",
	"iam.projects.serviceAccounts.keys.enable",
	"iam.projects.serviceAccounts.keys.delete",
	"policyanalyzer.projects.locations.activityTypes.activities.query",
	"recommender.projects.locations.insightTypes.insights.list",
	"recommender.projects.locations.recommenders.recommendations.list",
	"apikeys.projects.locations.keys.list",
	"storage.projects.hmacKeys.list",
	"cloudresourcemanager.projects.get",
	"cloudresourcemanager.projects.list",
	"cloudresourcemanager.folders.list",
	"cloudresourcemanager.projects.getIamPolicy",
	"cloudresourcemanager.projects.setIamPolicy",
}

func checkMethodsCovered(t *testing.T, docs map[string]*discoDoc, all []exchange) {
	t.Helper()
	seen := map[string]bool{}
	for _, ex := range all {
		if d := docs[ex.api]; d != nil {
			if m := d.method(ex.method, ex.path); m != nil && ex.status/100 == 2 {
				seen[m.ID] = true
			}
		}
	}
	var missing []string
	for _, id := range conformanceMethods {
		if !seen[id] {
			missing = append(missing, id)
		}
	}
	var extra []string
	for id := range seen {
		if !slices.Contains(conformanceMethods, id) {
			extra = append(extra, id)
		}
	}
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("no scenario reached %v with a successful answer: its responses are not checked", missing)
	}
	if len(extra) > 0 {
		t.Errorf("the collector calls %v, which conformanceMethods does not list", extra)
	}
	t.Logf("%d exchanges checked against the discovery documents; %d methods", len(all), len(seen))
}

// TestDiscoveryCheckFindsWhatTheDescriptionLacks proves the checker: a
// field the schema lacks, a value outside an enum, a wrong JSON type, an
// undeclared query parameter, an unknown path and asset data with a stray
// field are each reported.
func TestDiscoveryCheckFindsWhatTheDescriptionLacks(t *testing.T) {
	docs := loadDiscovery(t)
	const keys = "/v1/projects/p/serviceAccounts/a@p.iam.gserviceaccount.com/keys"
	for _, tc := range []struct {
		name string
		ex   exchange
		want []string
	}{
		{"stray field, bad enum, wrong type", exchange{api: "iam", method: "GET", path: keys, status: 200,
			body: []byte(`{"keys":[{"name":"k","keyType":"USER","disabled":"no","secretValue":"x"}]}`)},
			[]string{"response.keys[0].disabled: string, the description says boolean", `response.keys[0].keyType: "USER" is not one of`, "response.keys[0].secretValue: field not in ServiceAccountKey"}},
		{"undeclared parameter", exchange{api: "iam", method: "GET", path: keys, status: 200, query: map[string][]string{"pageSize": {"5"}, "keyTypes": {"USER_MANAGED"}}, body: []byte(`{}`)},
			[]string{`query parameter "pageSize" is not a parameter of iam.projects.serviceAccounts.keys.list`}},
		{"unknown path", exchange{api: "iam", method: "GET", path: "/v1/projects/p/secrets", status: 200, body: []byte(`{}`)},
			[]string{"no method of the iam description has this path"}},
		{"asset data", exchange{api: "cloudasset", method: "GET", path: "/v1/organizations/1/assets", status: 200,
			body: []byte(`{"assets":[{"name":"//iam.googleapis.com/projects/p/serviceAccounts/1","assetType":"iam.googleapis.com/ServiceAccount",` +
				`"resource":{"discoveryName":"ServiceAccount","discoveryDocumentUri":"https://iam.googleapis.com/$discovery/rest","data":{"email":"a@p","createdBy":"x"}}}]}`)},
			[]string{"data.createdBy: field not in ServiceAccount"}},
	} {
		got := checkExchange(docs, tc.ex)
		if len(got) != len(tc.want) {
			t.Errorf("%s: %d problems %q, want %d", tc.name, len(got), got, len(tc.want))
			continue
		}
		for i, w := range tc.want {
			if !strings.Contains(got[i], w) {
				t.Errorf("%s: problem %q, want one about %q", tc.name, got[i], w)
			}
		}
	}
}
