package conformance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/collectors/github"
	"github.com/nhiscan/nhiscan/collectors/github/githubfake"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

var fixedNow = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// exchange is one answer the fake gave.
type exchange struct {
	method, path string
	status       int
	body         []byte
}

// recorder keeps every answer that passes through it.
type recorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	seen []exchange
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, exchange{req.Method, strings.TrimPrefix(req.URL.Path, "/api/v3"), resp.StatusCode, b})
	return resp, nil
}

// TestFakeAgainstDescription: every answer githubfake gives the collector
// and its controls (the demo organisation, paged two items a page, with
// GraphQL failed so that environments are listed over REST) is checked
// against the response schema GitHub's description gives its operation
// and status. A field the description lacks, or a value of another JSON
// type, fails; so does an answer whose operation or status the
// description does not have.
func TestFakeAgainstDescription(t *testing.T) {
	d := loadDescription(t)
	srv := githubfake.New(githubfake.Demo(fixedNow))
	t.Cleanup(srv.Close)
	srv.SetNow(func() time.Time { return fixedNow })
	srv.SetPageSize(2)
	srv.Fail("", githubfake.OpGraphQL, http.StatusBadGateway)
	creds, err := srv.WriteCredentials(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	hc := *srv.Client()
	rec := &recorder{base: hc.Transport}
	hc.Transport = rec
	cfg := github.Config{Orgs: []string{githubfake.DemoOrg, githubfake.DemoLabsOrg}, BaseURL: srv.URL + "/", HTTPClient: &hc,
		AppID: creds.AppID, AppPrivateKeyFile: creds.AppKeyFile, TokenFile: creds.TokenFile, Now: func() time.Time { return fixedNow }}
	c, err := github.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := c.Collect(context.Background())
	if err != nil || len(inv.Gaps) != 0 {
		t.Fatalf("demo scan: %v, gaps %+v", err, inv.Gaps)
	}
	exerciseControls(t, cfg, inv)

	used := map[string]bool{}
	for _, ex := range rec.seen {
		if ex.path == "/graphql" {
			continue // not in the REST description
		}
		op, ok := d.match(ex.method, ex.path)
		if !ok {
			t.Errorf("%s %s: no such operation in the description", ex.method, ex.path)
			continue
		}
		used[op.ID] = true
		if len(bytes.TrimSpace(ex.body)) == 0 {
			if _, ok := d.responseSchema(op, ex.status); ok || !d.hasStatus(op, ex.status) && ex.status < 400 {
				t.Errorf("%s %s (%s): status %d without a body, which the description does not give it", ex.method, ex.path, op.ID, ex.status)
			}
			continue
		}
		schema, ok := d.responseSchema(op, ex.status)
		if !ok && ex.status >= 400 {
			// An error the operation does not list (a 404 for an
			// organisation without SAML single sign-on): GitHub's basic
			// error.
			schema, ok = map[string]any{"$ref": "#/components/schemas/basic-error"}, true
		}
		if !ok {
			t.Errorf("%s %s (%s): status %d with a body, which the description does not have", ex.method, ex.path, op.ID, ex.status)
			continue
		}
		var v any
		if err := json.Unmarshal(ex.body, &v); err != nil {
			t.Errorf("%s %s: not JSON: %v", ex.method, ex.path, err)
			continue
		}
		for _, p := range d.conform(schema, v, op.ID) {
			t.Errorf("githubfake %s %s: %s", ex.method, ex.path, p)
		}
	}
	var missing []string
	for _, op := range fakeOps {
		if !used[op] {
			missing = append(missing, op)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("operations the fake serves but this test did not check: %v", missing)
	}
}

// fakeOps are the REST operations githubfake serves.
var fakeOps = []string{
	githubfake.OpCreateInstallationToken, githubfake.OpGetOrgInstallation, githubfake.OpGetOrg, githubfake.OpListRepos,
	githubfake.OpListDeployKeys, githubfake.OpGetDeployKey, githubfake.OpCreateDeployKey, githubfake.OpDeleteDeployKey,
	githubfake.OpListInstallations, githubfake.OpListPATGrants, githubfake.OpListPATRepositories, githubfake.OpUpdatePATAccess,
	githubfake.OpListSAMLAuthorizations, githubfake.OpRemoveSAMLAuthorization, githubfake.OpListOrgSecrets, githubfake.OpListRepoSecrets,
	githubfake.OpListEnvSecrets, githubfake.OpListEnvironments, githubfake.OpListMembers, githubfake.OpListOutside, githubfake.OpListPropertyValues,
}

// exerciseControls runs each credential control once: delete and restore
// a deploy key, revoke a fine-grained token, remove a SAML authorisation.
func exerciseControls(t *testing.T, cfg github.Config, inv nhi.Inventory) {
	t.Helper()
	ctl, err := github.NewControls(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	act := func(id string, a collectors.Action, restore json.RawMessage) collectors.ActionResult {
		x, ok := inv.Identity(id)
		if !ok {
			t.Fatalf("no identity %s", id)
		}
		res, err := ctl.Act(ctx, collectors.ActionRequest{Action: a, Identity: *x, RestoreData: restore})
		if err != nil || !res.Changed {
			t.Fatalf("%s %s: %+v, %v", a, id, res, err)
		}
		return res
	}
	res := act("github:deploy-key:810004", collectors.Delete, nil)
	act("github:deploy-key:810004", collectors.Restore, res.RestoreData)
	act("github:fine-grained-token:7100001:930002", collectors.Delete, nil)
	act("github:credential-authorization:7100001:950001", collectors.Delete, nil)
}

// TestConformCatchesWhatTheDescriptionLacks: the checker itself fails a
// field the description lacks, a value of another type, and a null where
// none is allowed, and passes a documented answer.
func TestConformCatchesWhatTheDescriptionLacks(t *testing.T) {
	d := loadDescription(t)
	op := d.ops["repos/list-deploy-keys"]
	schema, ok := d.responseSchema(op, http.StatusOK)
	if !ok {
		t.Fatal("no 200 schema for repos/list-deploy-keys")
	}
	good := []any{map[string]any{"id": 1.0, "key": "ssh-ed25519 AAAA", "url": "u", "title": "t", "verified": true,
		"created_at": "2014-12-10T15:53:42Z", "read_only": true, "added_by": nil, "last_used": nil, "enabled": true}}
	if p := d.conform(schema, good, "keys"); len(p) != 0 {
		t.Errorf("a documented answer fails: %v", p)
	}
	for name, bad := range map[string]map[string]any{
		"unknown field": {"id": 1.0, "owner_team": "x"},
		"wrong type":    {"id": "1"},
		"null":          {"id": 1.0, "title": nil},
	} {
		if p := d.conform(schema, []any{bad}, "keys"); len(p) == 0 {
			t.Errorf("%s passes: %v", name, bad)
		}
	}
}
