package github_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/collectors/collectortest"
	"github.com/nhiscan/nhiscan/collectors/github/githubfake"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// TestScopeSpelling: organisation logins are case-insensitive at GitHub,
// so the configured spelling may differ from the API's. Identities, gaps
// and Scopes must use one spelling, or a gap in the org no longer covers
// its identities (the analyzer compares scopes exactly) and drift breaks.
func TestScopeSpelling(t *testing.T) {
	s := demoSetup(t)
	s.cfg.Orgs = []string{"ACME", "Acme-Labs"}
	s.srv.Deny("", githubfake.OpListOrgSecrets)
	inv := collectortest.Collect(t, s.collector(t))
	scopes := map[string]bool{}
	for _, sc := range inv.Scopes {
		scopes[sc.ID] = true
	}
	for _, id := range inv.Identities {
		if !scopes[id.Scope] {
			t.Errorf("identity %s has scope %q; Scopes lists %v", id.ID, id.Scope, scopes)
		}
	}
	for _, g := range inv.Gaps {
		if !scopes[g.Scope] {
			t.Errorf("gap %s has scope %q; Scopes lists %v", g.Source, g.Scope, scopes)
		}
	}
	k := find(t, inv, "github:deploy-key:810001")
	if !inv.Partial(nhi.GitHub, k.Scope) {
		t.Errorf("a gap in %s does not cover its deploy key (scope %q): it could be reported removed", "ACME", k.Scope)
	}
	if k.Path != "acme/payments-api" {
		t.Errorf("path %q: repository names keep GitHub's spelling", k.Path)
	}
}

// TestActStaysInItsOrganisation: the organisation named by an identity's
// Scope chooses the credentials; a deploy key whose repository lies in
// another organisation (a tampered or mixed-up identity) must not be
// deleted with them.
func TestActStaysInItsOrganisation(t *testing.T) {
	s := demoSetup(t)
	s.cfg.AppID, s.cfg.AppPrivateKeyFile = 0, "" // one token reaches both orgs
	c := s.controls(t)
	inv := collectortest.Collect(t, s.collector(t))
	k := *find(t, inv, "github:deploy-key:820001")
	k.Scope = githubfake.DemoOrg // path stays acme-labs/ml-experiments
	if _, err := c.Act(context.Background(), collectors.ActionRequest{Action: collectors.Delete, Identity: k}); !errors.Is(err, collectors.ErrUnsupported) {
		t.Errorf("delete across organisations: %v, want ErrUnsupported", err)
	}
	if n := len(s.srv.DeployKeys(githubfake.DemoLabsOrg, "ml-experiments")); n != 1 {
		t.Errorf("acme-labs/ml-experiments has %d deploy keys after a refused delete, want 1", n)
	}
	restore := []byte(`{"repository":"acme-labs/notebooks","title":"x","key":"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIcross demo","read_only":true}`)
	if _, err := c.Act(context.Background(), collectors.ActionRequest{Action: collectors.Restore, Identity: k, RestoreData: restore}); !errors.Is(err, collectors.ErrUnsupported) {
		t.Errorf("restore across organisations: %v, want ErrUnsupported", err)
	}
	if n := len(s.srv.DeployKeys(githubfake.DemoLabsOrg, "notebooks")); n != 0 {
		t.Errorf("acme-labs/notebooks has %d deploy keys after a refused restore", n)
	}
}

// TestActRejectsHostileIDs: ids and repository names come from an
// inventory that may have been edited; ".." must never be resolved into
// another endpoint (DELETE repos/o/r/keys/.. is DELETE repos/o/r/).
func TestActRejectsHostileIDs(t *testing.T) {
	s := demoSetup(t)
	c := s.controls(t)
	inv := collectortest.Collect(t, s.collector(t))
	s.srv.ResetCalls()
	key := *find(t, inv, "github:deploy-key:810001")
	pat := *find(t, inv, "github:fine-grained-token:7100001:930002")
	auth := *find(t, inv, "github:credential-authorization:7100001:950001")
	for name, id := range map[string]nhi.Identity{
		"key id ..":         func() nhi.Identity { k := key; k.NativeID = ".."; return k }(),
		"key id 1/..":       func() nhi.Identity { k := key; k.NativeID = "1/.."; return k }(),
		"repo ..":           func() nhi.Identity { k := key; k.Path = "acme/.."; return k }(),
		"pat id ..":         func() nhi.Identity { p := pat; p.Attributes = map[string]string{"pat_id": ".."}; return p }(),
		"credential id ..":  func() nhi.Identity { a := auth; a.NativeID = ".."; return a }(),
		"credential id -1":  func() nhi.Identity { a := auth; a.NativeID = "-1"; return a }(),
		"key id with space": func() nhi.Identity { k := key; k.NativeID = "1 2"; return k }(),
	} {
		if _, err := c.Act(context.Background(), collectors.ActionRequest{Action: collectors.Delete, Identity: id}); !errors.Is(err, collectors.ErrUnsupported) {
			t.Errorf("%s: %v, want ErrUnsupported", name, err)
		}
	}
	if n := s.srv.TotalCalls(); n != 0 {
		t.Errorf("hostile ids reached the API: %v", s.srv.Calls())
	}
}

// TestSelectedRepositoryInstallation: an App installed on selected
// repositories sees no other; its scan must say the org is partial, or
// the deploy keys of the unseen repositories would look removed.
func TestSelectedRepositoryInstallation(t *testing.T) {
	seed := githubfake.DemoWithKey(fixedNow, testAppKey())
	in := seed.App.Installations[githubfake.DemoOrg]
	in.Repositories = []string{"payments-api", "data-pipelines"}
	seed.App.Installations[githubfake.DemoOrg] = in
	s := newSetup(t, seed)
	inv := collectortest.Collect(t, s.collector(t))
	if !inv.Partial(nhi.GitHub, githubfake.DemoOrg) {
		t.Errorf("selected-repository installation: %s not partial; gaps %+v", githubfake.DemoOrg, inv.Gaps)
	}
	if inv.Partial(nhi.GitHub, githubfake.DemoLabsOrg) {
		t.Errorf("%s (all repositories) is partial: %+v", githubfake.DemoLabsOrg, inv.Gaps)
	}
	for _, g := range inv.Gaps {
		if g.Scope == githubfake.DemoOrg && (g.Kind != nhi.GapDenied || !strings.Contains(g.Permission, "all repositories")) {
			t.Errorf("gap = %+v, want denied naming the installation's repository access", g)
		}
	}
	find(t, inv, "github:deploy-key:810001")
	if _, ok := inv.Identity("github:deploy-key:810003"); ok {
		t.Error("a repository outside the selection was collected")
	}
}

// TestFineGrainedTokenRepositories: a token with access to a subset of
// repositories has its repository permissions granted on exactly those
// repositories (one call per subset token); a refused list is a gap and
// leaves the grants unscoped rather than wrong.
func TestFineGrainedTokenRepositories(t *testing.T) {
	s := demoSetup(t)
	inv := collectortest.Collect(t, s.collector(t))
	erin := find(t, inv, "github:fine-grained-token:7100001:930001")
	var got []string
	for _, g := range erin.Grants {
		got = append(got, g.ID+" "+g.Entitlement+" @"+g.Scope)
	}
	want := []string{
		"token-permission:repo:contents@acme/data-pipelines contents:read @acme/data-pipelines",
		"token-permission:repo:contents@acme/docs-site contents:read @acme/docs-site",
		"token-permission:repo:metadata@acme/data-pipelines metadata:read @acme/data-pipelines",
		"token-permission:repo:metadata@acme/docs-site metadata:read @acme/docs-site",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("subset token grants (-want +got):\n%s", diff)
	}
	if erin.Attributes["repositories"] != "acme/data-pipelines,acme/docs-site" {
		t.Errorf("repositories attribute = %q", erin.Attributes["repositories"])
	}
	if n := s.srv.CallCount(githubfake.OpListPATRepositories); n != 1 {
		t.Errorf("%d repository lists, want 1 (one subset token)", n)
	}
	kate := find(t, inv, "github:fine-grained-token:7100001:930002")
	for _, g := range kate.Grants {
		if strings.HasPrefix(g.ID, "token-permission:repo:") && g.Scope != "*" {
			t.Errorf("all-repository token grant %s scoped %q", g.ID, g.Scope)
		}
	}

	// A refused repository list: the token keeps its id and its other
	// grants, its repository grants are left out rather than recorded
	// under another shape, and the gap hides token grants only.
	s2 := demoSetup(t)
	s2.srv.Deny("", githubfake.OpListPATRepositories)
	inv2 := collectortest.Collect(t, s2.collector(t))
	var gaps []nhi.Gap
	for _, g := range inv2.Gaps {
		if g.Source == githubfake.OpListPATRepositories {
			gaps = append(gaps, g)
		}
	}
	if len(gaps) != 1 || len(inv2.Gaps) != 1 || gaps[0].Kind != nhi.GapDenied || !slices.Equal(gaps[0].Facets, []nhi.Facet{"grants:token-permission"}) {
		t.Fatalf("refused token repository list: gaps %+v", inv2.Gaps)
	}
	cov := inv2.Coverage()
	if cov.Observed(nhi.GitHub, githubfake.DemoOrg, "grants:token-permission") || !cov.Observed(nhi.GitHub, githubfake.DemoOrg, "identities:github-fine-grained-token") {
		t.Error("the gap must hide token grants, and only them")
	}
	erin2 := find(t, inv2, erin.ID)
	if len(erin2.Grants) != 0 {
		t.Errorf("subset token without its repository list has grants %+v, want none (it has no organisation permissions)", erin2.Grants)
	}
	for _, id := range inv.Identities {
		id2, ok := inv2.Identity(id.ID)
		if !ok {
			t.Errorf("%s lost with the token repository list", id.ID)
			continue
		}
		for _, g := range id2.Grants {
			if !hasGrant(&id, g.ID) {
				t.Errorf("%s: grant %s (scope %q) is not in the complete scan: a substitute key", id.ID, g.ID, g.Scope)
			}
		}
	}
}

// TestETagsAreCredentialSpecific: GitHub's ETags belong to the credential
// that got them. A collector with a fresh App installation token (a new
// process, or an hour later) gets full answers despite a warm cache, and
// must build the same inventory from them; a static token keeps its
// ETags across collectors and its rescan is answered by 304s.
func TestETagsAreCredentialSpecific(t *testing.T) {
	s := demoSetup(t)
	s.cfg.Cache = &memCache{}
	first := encode(t, collectortest.Collect(t, s.collector(t)))
	s.srv.ResetCalls()
	if got := encode(t, collectortest.Collect(t, s.collector(t))); !bytes.Equal(first, got) {
		t.Error("a new installation token with a warm cache built a different inventory")
	}
	if n := s.srv.NotModified()[githubfake.OpListRepoSecrets]; n != 0 {
		t.Errorf("%d 304s for a new installation token: the fake's ETags ignore the credential", n)
	}

	s2 := demoSetup(t)
	s2.cfg.AppID, s2.cfg.AppPrivateKeyFile = 0, ""
	s2.cfg.Cache = &memCache{}
	collectortest.Collect(t, s2.collector(t))
	s2.srv.ResetCalls()
	collectortest.Collect(t, s2.collector(t))
	if got, want := s2.srv.NotModified()[githubfake.OpListRepoSecrets], s2.srv.CallCount(githubfake.OpListRepoSecrets); got != want || want == 0 {
		t.Errorf("static token across collectors: %d of %d secret lists answered 304", got, want)
	}
}

// TestManyEnvironments: the GraphQL query reads 100 environments a
// repository; a repository with more has them listed over REST, so no
// environment's secrets are silently skipped.
func TestManyEnvironments(t *testing.T) {
	seed := githubfake.Large(fixedNow, "bigco", 3, 0, testAppKey())
	r := &seed.Orgs[0].Repos[1]
	for i := 0; i < 101; i++ {
		r.Environments = append(r.Environments, githubfake.Environment{ID: int64(5_000_000 + i), Name: fmt.Sprintf("env-%03d ünï", i),
			Secrets: []githubfake.Secret{{Name: "GCP_SA_KEY", Created: fixedNow.AddDate(0, 0, -3), Updated: fixedNow.AddDate(0, 0, -3)}}})
	}
	s := newSetup(t, seed)
	s.cfg.TokenFile, s.cfg.SkipSAMLAuthorizations = "", true
	inv := collectortest.Collect(t, s.collector(t))
	if len(inv.Gaps) != 0 {
		t.Errorf("gaps: %+v", inv.Gaps)
	}
	n := 0
	for _, id := range inv.Identities {
		if id.Attributes["level"] == "environment" {
			n++
		}
	}
	if n != 101 {
		t.Errorf("%d environment identities, want 101", n)
	}
	if _, ok := inv.Identity("github:actions:environment:5000100"); !ok {
		t.Error("the 101st environment is missing")
	}
	if got := s.srv.CallCount(githubfake.OpListEnvironments); got != 2 {
		t.Errorf("%d environment list pages, want 2 (REST only for the repository with more than 100)", got)
	}
}

// TestConcurrencyBound: requests in flight never exceed Concurrency
// (default 10, far under GitHub's 100), and the collector does use it.
// Both sides count: the client from sending a request until closing its
// answer, the fake from a request's arrival until its answer starts.
func TestConcurrencyBound(t *testing.T) {
	for _, limit := range []int{0, 3} {
		s := newSetup(t, githubfake.Large(fixedNow, "bigco", 120, 30, testAppKey()))
		s.cfg.TokenFile, s.cfg.SkipSAMLAuthorizations = "", true
		s.cfg.Concurrency = limit
		hc := *s.srv.Client()
		client := &inFlight{base: hc.Transport}
		hc.Transport = client
		s.cfg.HTTPClient = &hc
		s.srv.SetLatency(5 * time.Millisecond)
		collectortest.Collect(t, s.collector(t))
		want := limit
		if want == 0 {
			want = 10
		}
		if got := client.most(); got > want || got < want-1 {
			t.Errorf("Concurrency %d: the collector had at most %d requests in flight, want %d", limit, got, want)
		}
		if got := s.srv.MaxInFlight(); got > want {
			t.Errorf("Concurrency %d: the fake served %d requests at once, want at most %d", limit, got, want)
		}
	}
}

// inFlight counts a client's requests from RoundTrip until their answer's
// body is closed (or the request fails).
type inFlight struct {
	base     http.RoundTripper
	mu       sync.Mutex
	cur, max int
}

func (c *inFlight) add(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cur += n
	c.max = max(c.max, c.cur)
}

func (c *inFlight) most() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.max
}

func (c *inFlight) RoundTrip(r *http.Request) (*http.Response, error) {
	c.add(1)
	resp, err := c.base.RoundTrip(r)
	if err != nil {
		c.add(-1)
		return nil, err
	}
	resp.Body = &doneBody{ReadCloser: resp.Body, done: func() { c.add(-1) }}
	return resp, nil
}

type doneBody struct {
	io.ReadCloser
	once sync.Once
	done func()
}

func (b *doneBody) Close() error {
	b.once.Do(b.done)
	return b.ReadCloser.Close()
}

func hasGrant(id *nhi.Identity, grantID string) bool {
	for _, g := range id.Grants {
		if g.ID == grantID {
			return true
		}
	}
	return false
}
