package github_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/collectors/collectortest"
	"github.com/nhiscan/nhiscan/collectors/github"
	"github.com/nhiscan/nhiscan/collectors/github/githubfake"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

var update = flag.Bool("update", false, "rewrite testdata/golden-inventory.json")

var fixedNow = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

var (
	keyOnce sync.Once
	appKey  []byte
)

func testAppKey() []byte {
	keyOnce.Do(func() { appKey = githubfake.NewAppKey() })
	return appKey
}

// memCache is an in-memory ETagCache.
type memCache struct {
	mu sync.Mutex
	m  map[string][2][]byte
}

func (c *memCache) GetETag(_ context.Context, key string) (string, []byte, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[key]
	return string(v[0]), v[1], ok, nil
}

func (c *memCache) PutETag(_ context.Context, key, etag string, body []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string][2][]byte{}
	}
	c.m[key] = [2][]byte{[]byte(etag), append([]byte(nil), body...)}
	return nil
}

type setup struct {
	srv  *githubfake.Server
	cfg  github.Config
	seed githubfake.Seed
}

// newSetup starts a fake with seed and returns a config for App auth plus
// the token (for SAML authorisations), against it.
func newSetup(t testing.TB, seed githubfake.Seed) *setup {
	t.Helper()
	srv := githubfake.New(seed)
	t.Cleanup(srv.Close)
	srv.SetNow(func() time.Time { return fixedNow })
	creds, err := srv.WriteCredentials(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var orgs []string
	for _, o := range seed.Orgs {
		orgs = append(orgs, o.Login)
	}
	cfg := github.Config{
		Orgs: orgs, BaseURL: srv.URL + "/", HTTPClient: srv.Client(),
		AppID: creds.AppID, AppPrivateKeyFile: creds.AppKeyFile, TokenFile: creds.TokenFile,
		Now: func() time.Time { return fixedNow },
	}
	return &setup{srv: srv, cfg: cfg, seed: seed}
}

func (s *setup) collector(t testing.TB) *github.Collector {
	t.Helper()
	c, err := github.New(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// controls builds the credential controls for the same configuration.
func (s *setup) controls(t testing.TB) *github.Controls {
	t.Helper()
	c, err := github.NewControls(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func demoSetup(t testing.TB) *setup {
	return newSetup(t, githubfake.DemoWithKey(fixedNow, testAppKey()))
}

func encode(t testing.TB, inv nhi.Inventory) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := nhi.Encode(&b, inv); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestConformance(t *testing.T) {
	collectortest.Run(t, collectortest.Subject{
		New: func(t *testing.T) collectors.Collector { return demoSetup(t).collector(t) },
		Deny: func(t *testing.T) (collectors.Collector, string) {
			s := demoSetup(t)
			s.srv.Deny(githubfake.DemoLabsOrg, "")
			return s.collector(t), githubfake.DemoLabsOrg
		},
		Secrets: githubfake.DemoSecrets(githubfake.DemoWithKey(fixedNow, testAppKey())),
	})
}

func TestGoldenInventory(t *testing.T) {
	s := demoSetup(t)
	var logs bytes.Buffer
	s.cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	inv := collectortest.Collect(t, s.collector(t))
	if len(inv.Gaps) != 0 {
		t.Errorf("demo scan has gaps: %+v", inv.Gaps)
	}
	got := encode(t, inv)
	collectortest.Golden(t, filepath.Join("testdata", "golden-inventory.json"), inv, *update)
	for _, sec := range githubfake.DemoSecrets(s.seed) {
		if strings.Contains(logs.String(), sec) || bytes.Contains(got, []byte(sec)) {
			t.Errorf("secret value %.6s… leaked into logs or inventory", sec)
		}
	}
}

func find(t testing.TB, inv nhi.Inventory, id string) *nhi.Identity {
	t.Helper()
	x, ok := inv.Identity(id)
	if !ok {
		t.Fatalf("identity %s not collected", id)
	}
	return x
}

func TestMapping(t *testing.T) {
	inv := collectortest.Collect(t, demoSetup(t).collector(t))
	f := false
	tr := true

	etl := find(t, inv, "github:deploy-key:810002")
	if etl.Usage.State != nhi.UsageUsed || !etl.Usage.LastUsed.Equal(fixedNow.AddDate(0, 0, -200)) || etl.Usage.Source != "github-api" {
		t.Errorf("data-etl-runner usage = %+v", etl.Usage)
	}
	wantHints := []nhi.OwnerHint{{Source: "github-added-by", Value: "frankli", Active: &f}, {Source: "tag", Value: "mayap", Active: &tr}}
	if diff := cmp.Diff(wantHints, etl.OwnerHints); diff != "" {
		t.Errorf("data-etl-runner owner hints (-want +got):\n%s", diff)
	}
	if etl.Tags["team"] != "data" || etl.Path != "acme/data-pipelines" {
		t.Errorf("tags/path = %v %q", etl.Tags, etl.Path)
	}

	never := find(t, inv, "github:deploy-key:810003")
	if never.Credentials[0].Usage.State != nhi.UsageNeverUsed {
		t.Errorf("never-used key usage = %+v", never.Credentials[0].Usage)
	}
	if d := find(t, inv, "github:deploy-key:810005"); d.Status != nhi.StatusDisabled {
		t.Errorf("disabled deploy key (enabled=false) has status %q", d.Status)
	}
	w := find(t, inv, "github:deploy-key:810001")
	if g := w.Grants[0]; g.Entitlement != "contents:write" || !g.Privileged.Privileged() || g.Privilege != nhi.PrivWrite {
		t.Errorf("write deploy key grant = %+v", g)
	}

	bot := find(t, inv, "github:app-installation:3300002")
	privileged := 0
	for _, g := range bot.Grants {
		if g.Privileged.Privileged() {
			privileged++
		}
		if g.Entitlement == "metadata:read" && g.Privileged.Privileged() {
			t.Errorf("metadata:read marked privileged")
		}
	}
	if privileged != 4 || bot.Usage.State != nhi.UsageNotReported || !bot.ThirdParty {
		t.Errorf("org-wide app: %d privileged grants, usage %q, third party %v", privileged, bot.Usage.State, bot.ThirdParty)
	}
	if s := find(t, inv, "github:app-installation:3300003"); s.Status != nhi.StatusSuspended {
		t.Errorf("suspended installation status %q", s.Status)
	}

	kate := find(t, inv, "github:fine-grained-token:7100001:930002")
	if h := kate.OwnerHints[0]; h.Value != "katej" || h.Active == nil || *h.Active {
		t.Errorf("departed token owner hint = %+v", h)
	}
	if kate.Attributes["pat_id"] != "920002" {
		t.Errorf("pat_id attribute = %q", kate.Attributes["pat_id"])
	}
	erin := find(t, inv, "github:fine-grained-token:7100001:930001")
	if !erin.Credentials[0].Expires.Equal(fixedNow.AddDate(0, 0, 10)) {
		t.Errorf("expiry = %v", erin.Credentials[0].Expires)
	}

	classic := find(t, inv, "github:credential-authorization:7100001:950001")
	if classic.Kind != nhi.KindGitHubClassicPAT || len(classic.Grants) != 3 {
		t.Fatalf("classic token = %+v", classic)
	}
	for _, g := range classic.Grants {
		if !g.Privileged.Privileged() {
			t.Errorf("scope %s not privileged", g.Entitlement)
		}
	}
	if ssh := find(t, inv, "github:credential-authorization:7100001:950002"); ssh.Kind != nhi.KindGitHubSSHKey || ssh.Usage.State != nhi.UsageNeverUsed {
		t.Errorf("ssh key = %+v", ssh)
	}

	ci := find(t, inv, "github:actions:repo:610001")
	signals := map[string]bool{}
	for _, c := range ci.Credentials {
		for _, s := range c.Signals {
			if s.Code == nhi.SignalCloudSecretInCI {
				signals[c.ID] = true
			}
		}
		if c.Usage.State != nhi.UsageNotReported {
			t.Errorf("secret usage state %q", c.Usage.State)
		}
	}
	if !signals["AWS_ACCESS_KEY_ID"] || !signals["AWS_SECRET_ACCESS_KEY"] || signals["NPM_TOKEN"] {
		t.Errorf("cloud-secret signals on %v", signals)
	}
	env := find(t, inv, "github:actions:environment:710001")
	if c, _ := env.Credential("GCP_SA_KEY"); c == nil || c.Attributes["cloud"] != "gcp" || c.Attributes["age_days"] != "100" {
		t.Errorf("env secret = %+v", c)
	}
	orgCI := find(t, inv, "github:actions:org:7100001")
	if c, _ := orgCI.Credential("AZURE_CLIENT_SECRET"); c == nil || len(c.Signals) != 1 || c.Attributes["visibility"] != "all" {
		t.Errorf("org secret = %+v", c)
	}
}

func TestCloudSecretPatternsConfigurable(t *testing.T) {
	s := demoSetup(t)
	s.cfg.CloudSecretPatterns = []string{`^NPM_TOKEN$`}
	inv := collectortest.Collect(t, s.collector(t))
	ci := find(t, inv, "github:actions:repo:610001")
	for _, c := range ci.Credentials {
		if got, want := len(c.Signals) == 1, c.ID == "NPM_TOKEN"; got != want {
			t.Errorf("%s: signal %v, want %v", c.ID, got, want)
		}
	}
}

// TestCallBudget: a first scan of R repositories, K with deploy keys,
// costs R/100 REST pages + R/100 GraphQL queries + K key lists + R secret
// lists + a handful of org-wide calls; a rescan with nothing changed is
// answered by 304s except GraphQL (POST, never conditional).
func TestCallBudget(t *testing.T) {
	const R, K = 250, 20
	s := newSetup(t, githubfake.Large(fixedNow, "bigco", R, K, testAppKey()))
	s.cfg.TokenFile, s.cfg.SkipSAMLAuthorizations = "", true
	s.cfg.Cache = &memCache{}
	c := s.collector(t)
	inv := collectortest.Collect(t, c)
	if len(inv.Gaps) != 0 {
		t.Errorf("gaps: %+v", inv.Gaps)
	}
	want := map[string]int{
		githubfake.OpGetOrgInstallation: 1, githubfake.OpCreateInstallationToken: 1,
		githubfake.OpGetOrg: 1, githubfake.OpListRepos: 3, githubfake.OpGraphQL: 3,
		githubfake.OpListDeployKeys: K, githubfake.OpListRepoSecrets: R,
		githubfake.OpListMembers: 1, githubfake.OpListOutside: 1, githubfake.OpListPropertyValues: 1,
		githubfake.OpListInstallations: 1, githubfake.OpListPATGrants: 1, githubfake.OpListOrgSecrets: 1,
	}
	if diff := cmp.Diff(want, s.srv.Calls()); diff != "" {
		t.Errorf("first scan calls (-want +got):\n%s", diff)
	}
	keys := 0
	for _, id := range inv.Identities {
		if id.Kind == nhi.KindGitHubDeployKey {
			keys++
		}
	}
	if keys != K {
		t.Errorf("%d deploy keys collected, want %d", keys, K)
	}
	first := encode(t, inv)

	s.srv.ResetCalls()
	inv2 := collectortest.Collect(t, c)
	delete(want, githubfake.OpGetOrgInstallation)
	delete(want, githubfake.OpCreateInstallationToken)
	if diff := cmp.Diff(want, s.srv.Calls()); diff != "" {
		t.Errorf("rescan calls (-want +got):\n%s", diff)
	}
	notMod := s.srv.NotModified()
	for op, n := range want {
		if op == githubfake.OpGraphQL {
			continue
		}
		if notMod[op] != n {
			t.Errorf("rescan %s: %d of %d answered 304", op, notMod[op], n)
		}
	}
	if !bytes.Equal(first, encode(t, inv2)) {
		t.Error("rescan from 304s built a different inventory")
	}

	// A change is seen through the cache.
	if err := s.srv.AddDeployKey("bigco", "repo-00001", githubfake.DeployKey{ID: 777, Title: "new-key", Key: "ssh-ed25519 AAAAnew", Created: fixedNow}); err != nil {
		t.Fatal(err)
	}
	inv3 := collectortest.Collect(t, c)
	if _, ok := inv3.Identity("github:deploy-key:777"); !ok {
		t.Error("a deploy key added after the first scan is not seen by the cached rescan")
	}
}

func TestPaging(t *testing.T) {
	s := demoSetup(t)
	want := encode(t, collectortest.Collect(t, s.collector(t)))
	s.srv.SetPageSize(1)
	s.srv.ResetCalls()
	got := encode(t, collectortest.Collect(t, s.collector(t)))
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("page size 1 changes the inventory (-100 +1):\n%s", diff)
	}
	// acme has 6 repositories, acme-labs 2: one page each at page size 1.
	if n := s.srv.CallCount(githubfake.OpListRepos); n != 8 {
		t.Errorf("repos/list-for-org called %d times, want 8 pages", n)
	}
	if n := s.srv.CallCount(githubfake.OpGraphQL); n != 8 {
		t.Errorf("graphql called %d times, want 8 pages", n)
	}
}

func TestThrottleRetried(t *testing.T) {
	for _, tc := range []struct {
		name string
		kind githubfake.ThrottleKind
		op   string
	}{
		{"secondary-429-retry-after", githubfake.Secondary, githubfake.OpListOrgSecrets},
		{"primary-403-reset", githubfake.Primary, githubfake.OpListInstallations},
		{"plain-429-retry-after", githubfake.Plain, githubfake.OpListMembers},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := demoSetup(t)
			want := encode(t, collectortest.Collect(t, s.collector(t)))
			s.srv.ResetCalls()
			s.srv.SetThrottleKind(tc.kind)
			s.srv.Throttle("", tc.op, 1)
			start := time.Now()
			got := encode(t, collectortest.Collect(t, s.collector(t)))
			if !bytes.Equal(want, got) {
				t.Error("a retried throttle changed the inventory")
			}
			if n := s.srv.CallCount(tc.op); n != 3 { // throttled + retried, for 2 orgs
				t.Errorf("%s called %d times, want 3", tc.op, n)
			}
			if time.Since(start) < 900*time.Millisecond {
				t.Errorf("retry did not wait for the rate limit (%v)", time.Since(start))
			}
		})
	}
}

func TestThrottlePersistsIsGap(t *testing.T) {
	s := demoSetup(t)
	s.cfg.MaxRetries = 1
	s.srv.Throttle("", githubfake.OpListOrgSecrets, 1000)
	inv := collectortest.Collect(t, s.collector(t))
	var gaps []nhi.Gap
	for _, g := range inv.Gaps {
		if g.Source == githubfake.OpListOrgSecrets {
			gaps = append(gaps, g)
		}
	}
	// Only the throttled source is lost: go-github holds the whole client
	// back while a secondary limit lasts, and calls held back that way
	// must not use up their own retries.
	if len(gaps) != 2 || len(inv.Gaps) != 2 || gaps[0].Kind != nhi.GapThrottled {
		t.Fatalf("gaps = %+v", inv.Gaps)
	}
	if _, ok := inv.Identity("github:deploy-key:810001"); !ok {
		t.Error("a throttled source stopped the rest of the scan")
	}
	if _, ok := inv.Identity("github:actions:org:7100001"); ok {
		t.Error("org secrets identity present although its list was throttled")
	}
}

func TestPermissionGaps(t *testing.T) {
	seed := githubfake.DemoWithKey(fixedNow, testAppKey())
	perms := githubfake.ScannerPermissions()
	delete(perms, "secrets")
	delete(perms, "organization_personal_access_tokens")
	delete(perms, "members")
	seed.App.Installations[githubfake.DemoOrg] = githubfake.AppInstallation{ID: 5100001, Permissions: perms}
	s := newSetup(t, seed)
	inv := collectortest.Collect(t, s.collector(t))
	got := map[string]nhi.Gap{}
	for _, g := range inv.Gaps {
		if g.Scope == githubfake.DemoOrg {
			got[g.Source] = g
		} else {
			t.Errorf("unexpected gap in %s: %+v", g.Scope, g)
		}
	}
	for src, perm := range map[string]string{
		githubfake.OpListRepoSecrets: "Secrets (read)",
		githubfake.OpListPATGrants:   "Personal access tokens (read)",
		githubfake.OpListMembers:     "Members (read)",
	} {
		g, ok := got[src]
		if !ok || g.Kind != nhi.GapDenied || !strings.Contains(g.Permission, perm) {
			t.Errorf("gap for %s = %+v, want denied naming %q", src, g, perm)
		}
	}
	if fs := got[githubfake.OpListMembers].Facets; !slices.Equal(fs, []nhi.Facet{nhi.FacetOwnership}) {
		t.Errorf("members gap hides %v, want only ownership (owner activity)", fs)
	}
	if fs := got[githubfake.OpListRepoSecrets].Facets; !slices.Equal(fs, []nhi.Facet{"credentials:github-actions-secret", "identities:github-actions"}) {
		t.Errorf("repository secrets gap hides %v, want the Actions identities and their secrets", fs)
	}
	if len(got) != 3 {
		t.Errorf("gaps = %+v", got)
	}
	// Without membership data, owner hints carry no Active flag.
	if h := find(t, inv, "github:deploy-key:810002").OwnerHints[0]; h.Active != nil {
		t.Errorf("owner hint Active set without a member list: %+v", h)
	}

	// Token only: fine-grained tokens cannot be listed.
	s2 := demoSetup(t)
	s2.cfg.AppID, s2.cfg.AppPrivateKeyFile = 0, ""
	inv2 := collectortest.Collect(t, s2.collector(t))
	n := 0
	for _, g := range inv2.Gaps {
		if g.Source == githubfake.OpListPATGrants && g.Kind == nhi.GapDenied {
			n++
		}
	}
	if n != 2 {
		t.Errorf("token-only scan: %d PAT gaps, want one per org; gaps %+v", n, inv2.Gaps)
	}
	if _, ok := inv2.Identity("github:credential-authorization:7100001:950001"); !ok {
		t.Error("token-only scan lost SAML authorisations")
	}
}

func TestAppAuthRejectsWrongKey(t *testing.T) {
	s := demoSetup(t)
	other := filepath.Join(t.TempDir(), "other.pem")
	if err := os.WriteFile(other, githubfake.NewAppKey(), 0o600); err != nil {
		t.Fatal(err)
	}
	s.cfg.AppPrivateKeyFile = other
	inv := collectortest.Collect(t, s.collector(t))
	if len(inv.Identities) != 0 || len(inv.Gaps) != 2 || inv.Gaps[0].Kind != nhi.GapDenied {
		t.Errorf("wrong App key: %d identities, gaps %+v", len(inv.Identities), inv.Gaps)
	}
}

func TestConfigErrors(t *testing.T) {
	for name, cfg := range map[string]github.Config{
		"no orgs":         {TokenEnv: "PATH"},
		"no credentials":  {Orgs: []string{"a"}},
		"app without key": {Orgs: []string{"a"}, AppID: 1},
		"bad pattern":     {Orgs: []string{"a"}, TokenEnv: "PATH", CloudSecretPatterns: []string{"("}},
		"duplicate org":   {Orgs: []string{"a", "A"}, TokenEnv: "PATH"},
	} {
		if _, err := github.New(cfg); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
}

func TestActions(t *testing.T) {
	s := demoSetup(t)
	c := s.collector(t)
	ctl := s.controls(t)
	ctx := context.Background()
	inv := collectortest.Collect(t, c)

	// Deploy key: delete, idempotent, restore, idempotent.
	key := *find(t, inv, "github:deploy-key:810001")
	res, err := ctl.Act(ctx, collectors.ActionRequest{Action: collectors.Delete, Identity: key, CredentialID: key.NativeID})
	if err != nil || !res.Changed || len(res.RestoreData) == 0 {
		t.Fatalf("delete deploy key: %+v, %v", res, err)
	}
	if bytes.Contains(res.RestoreData, []byte("PRIVATE")) {
		t.Error("restore data holds private material")
	}
	res2, err := ctl.Act(ctx, collectors.ActionRequest{Action: collectors.Delete, Identity: key})
	if err != nil || res2.Changed {
		t.Errorf("second delete: %+v, %v", res2, err)
	}
	afterDelete := collectortest.Collect(t, c)
	if _, ok := afterDelete.Identity(key.ID); ok {
		t.Error("deleted deploy key still collected")
	}
	for i := 0; i < 2; i++ {
		r, err := ctl.Act(ctx, collectors.ActionRequest{Action: collectors.Restore, Identity: key, RestoreData: res.RestoreData})
		if err != nil || r.Changed != (i == 0) {
			t.Errorf("restore #%d: %+v, %v", i+1, r, err)
		}
	}
	keys := s.srv.DeployKeys(githubfake.DemoOrg, "payments-api")
	if len(keys) != 1 || keys[0].ReadOnly || keys[0].Title != "payments-ci-deployer" || keys[0].ID == 810001 {
		t.Errorf("restored keys = %+v", keys)
	}

	// Fine-grained token: revoke (202), idempotent.
	pat := *find(t, inv, "github:fine-grained-token:7100001:930002")
	for i := 0; i < 2; i++ {
		r, err := ctl.Act(ctx, collectors.ActionRequest{Action: collectors.Delete, Identity: pat})
		if err != nil || r.Changed != (i == 0) {
			t.Errorf("revoke token #%d: %+v, %v", i+1, r, err)
		}
	}
	// SAML authorisation: remove, idempotent.
	auth := *find(t, inv, "github:credential-authorization:7100001:950001")
	for i := 0; i < 2; i++ {
		r, err := ctl.Act(ctx, collectors.ActionRequest{Action: collectors.Delete, Identity: auth})
		if err != nil || r.Changed != (i == 0) {
			t.Errorf("remove SAML authorisation #%d: %+v, %v", i+1, r, err)
		}
	}
	after := collectortest.Collect(t, c)
	for _, id := range []string{pat.ID, auth.ID} {
		if _, ok := after.Identity(id); ok {
			t.Errorf("%s still collected after its control", id)
		}
	}
	if _, ok := after.Identity("github:fine-grained-token:7100001:930001"); !ok {
		t.Error("revoking one token removed another")
	}

	// Unsupported.
	if _, err := ctl.Act(ctx, collectors.ActionRequest{Action: collectors.Disable, Identity: key}); !errors.Is(err, collectors.ErrUnsupported) {
		t.Errorf("disable deploy key: %v, want ErrUnsupported", err)
	}
	app := *find(t, inv, "github:app-installation:3300001")
	if _, err := ctl.Act(ctx, collectors.ActionRequest{Action: collectors.Delete, Identity: app}); !errors.Is(err, collectors.ErrUnsupported) {
		t.Errorf("delete app installation: %v, want ErrUnsupported", err)
	}

	// Denied: the fake refuses, the error says so.
	s.srv.Deny("", githubfake.OpDeleteDeployKey)
	k2 := *find(t, inv, "github:deploy-key:810003")
	if _, err := ctl.Act(ctx, collectors.ActionRequest{Action: collectors.Delete, Identity: k2}); !errors.Is(err, collectors.ErrDenied) {
		t.Errorf("denied delete: %v, want ErrDenied", err)
	}
}

func TestEnterpriseServerPaths(t *testing.T) {
	s := demoSetup(t)
	want := encode(t, collectortest.Collect(t, s.collector(t)))
	s.cfg.BaseURL = s.srv.URL + "/api/v3/"
	got := encode(t, collectortest.Collect(t, s.collector(t)))
	if !bytes.Equal(want, got) {
		t.Error("GHES base URL (/api/v3/, GraphQL at /api/graphql) collects differently")
	}
}

func TestRestoreDataIsJSON(t *testing.T) {
	s := demoSetup(t)
	inv := collectortest.Collect(t, s.collector(t))
	res, err := s.controls(t).Act(context.Background(), collectors.ActionRequest{Action: collectors.Delete, Identity: *find(t, inv, "github:deploy-key:810004")})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(res.RestoreData, &m); err != nil || m["repository"] != "acme/docs-site" || m["key"] == "" {
		t.Errorf("restore data = %s (%v)", res.RestoreData, err)
	}
}
