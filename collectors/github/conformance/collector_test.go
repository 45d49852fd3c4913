package conformance_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/collectors/github"
	"github.com/nhiscan/nhiscan/collectors/github/githubfake"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// controlOps are the operations the credential controls write with.
var controlOps = []string{"repos/delete-deploy-key", "repos/create-deploy-key", "orgs/update-pat-access", "orgs/remove-saml-sso-authorization"}

// exampleNow is when the scans against Prism run: within the hour of the
// description's example installation token (expires 2016-07-11T22:14:10Z),
// so one token serves the whole scan, as on GitHub.
var exampleNow = time.Date(2016, 7, 11, 22, 0, 0, 0, time.UTC)

// prismConfig configures the real collector against the proxy: App
// authentication (the installation is looked up, a token created) and a
// token beside it for the SAML authorisations.
func prismConfig(t *testing.T, p *proxy) github.Config {
	t.Helper()
	dir := t.TempDir()
	key, tok := filepath.Join(dir, "app.pem"), filepath.Join(dir, "token")
	if err := os.WriteFile(key, githubfake.NewAppKey(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tok, []byte("ghp_conformanceScanToken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The examples' repository is octocat/Hello-World: scan "octocat", so
	// the controls act on it (they refuse a repository of another org).
	return github.Config{Orgs: []string{"octocat"}, BaseURL: p.URL + "/", AppID: 1, AppPrivateKeyFile: key, TokenFile: tok,
		Now: func() time.Time { return exampleNow }, CallTimeout: 30 * time.Second}
}

// TestCollectorAgainstPrism drives the real collector and its controls
// against Prism serving GitHub's description: no request is refused or
// flagged, every documented example is mapped (each item of each list to
// its identity, with its fields), the scan has only the gap the examples
// call for, and a Link that does not advance stops each list after its
// second page.
func TestCollectorAgainstPrism(t *testing.T) {
	d := loadDescription(t)
	prism := startPrism(t, d, append(append([]string(nil), prismOps...), controlOps...))

	// The harness sees what Prism flags: a request the description does
	// not allow is reported, so "nothing flagged" below means something.
	t.Run("harness", func(t *testing.T) {
		p := newProxy(t, prism, false)
		resp, err := http.Get(p.URL + "/orgs/octocat/repos?type=bogus&per_page=many")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		if len(p.verdicts) == 0 && resp.StatusCode < 400 {
			t.Errorf("an invalid request passed unflagged (%d)", resp.StatusCode)
		}
	})

	var inv nhi.Inventory
	t.Run("collect", func(t *testing.T) {
		p := newProxy(t, prism, false)
		c, err := github.New(prismConfig(t, p))
		if err != nil {
			t.Fatal(err)
		}
		inv, err = c.Collect(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if err := inv.Validate(); err != nil {
			t.Fatalf("invalid inventory: %v", err)
		}
		checkVerdicts(t, p)
		checkExamples(t, d, inv)
		checkCalls(t, d, p)
	})

	t.Run("controls", func(t *testing.T) {
		if len(inv.Identities) == 0 {
			t.Skip("no inventory")
		}
		p := newProxy(t, prism, false)
		ctl, err := github.NewControls(prismConfig(t, p))
		if err != nil {
			t.Fatal(err)
		}
		for _, kind := range []nhi.IdentityKind{nhi.KindGitHubDeployKey, nhi.KindGitHubFineGrainedPAT, nhi.KindGitHubClassicPAT} {
			id := firstOf(t, inv, kind)
			res, err := ctl.Act(context.Background(), collectors.ActionRequest{Action: collectors.Delete, Identity: id})
			if err != nil || !res.Changed {
				t.Errorf("delete %s %s: %+v, %v", kind, id.ID, res, err)
			}
			if kind == nhi.KindGitHubDeployKey {
				if _, err := ctl.Act(context.Background(), collectors.ActionRequest{Action: collectors.Restore, Identity: id, RestoreData: res.RestoreData}); err != nil {
					t.Errorf("restore %s: %v", id.ID, err)
				}
			}
		}
		checkVerdicts(t, p)
		calls := p.calls(d)
		for _, op := range []string{"repos/get-deploy-key", "repos/delete-deploy-key", "orgs/update-pat-access", "orgs/list-saml-sso-authorizations", "orgs/remove-saml-sso-authorization"} {
			if calls[op] != 1 {
				t.Errorf("%s called %d times, want 1; calls %v", op, calls[op], calls)
			}
		}
	})

	t.Run("paging", func(t *testing.T) {
		p := newProxy(t, prism, true)
		c, err := github.New(prismConfig(t, p))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		inv, err := c.Collect(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > time.Minute {
			t.Errorf("the scan took %v", d)
		}
		gaps := map[string]string{}
		for _, g := range inv.Gaps {
			gaps[g.Source] = g.Detail
		}
		for op, n := range p.calls(d) {
			if _, known := d.ops[op]; !known || !d.hasLink(op) {
				continue
			}
			if n != 2 {
				t.Errorf("%s: %d pages asked, want 2 (page 2 links to page 2 again)", op, n)
			}
			if !strings.Contains(gaps[op], "paging stopped") {
				t.Errorf("%s: gap %q, want paging stopped", op, gaps[op])
			}
		}
	})
}

func checkVerdicts(t *testing.T, p *proxy) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, v := range p.verdicts {
		t.Errorf("prism flagged %s", v)
	}
	for _, ex := range p.seen {
		if ex.status >= 400 && ex.path != "/graphql" {
			t.Errorf("prism refused %s %s: %d %s", ex.method, ex.path, ex.status, ex.body)
		}
	}
}

// checkCalls: every read was made once (one repository, one environment),
// and the GraphQL query, which the REST description does not serve, was
// answered 404 and made good over REST.
func checkCalls(t *testing.T, d *description, p *proxy) {
	t.Helper()
	want := map[string]int{"POST /graphql": 1}
	for _, op := range prismOps {
		want[op] = 1
	}
	delete(want, "repos/get-deploy-key") // controls only
	subset := false
	for _, pat := range d.items(t, "orgs/list-pat-grants", "") {
		subset = subset || pat["repository_selection"] == "subset"
	}
	if !subset {
		delete(want, "orgs/list-pat-grant-repositories") // no example token is limited to a subset
	}
	if diff := cmp.Diff(want, p.calls(d)); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

func firstOf(t *testing.T, inv nhi.Inventory, kind nhi.IdentityKind) nhi.Identity {
	t.Helper()
	for _, id := range inv.Identities {
		if id.Kind == kind {
			return id
		}
	}
	t.Fatalf("no %s collected", kind)
	return nhi.Identity{}
}

// checkExamples: the inventory holds exactly the identities the
// description's examples describe, with their fields mapped.
func checkExamples(t *testing.T, d *description, inv nhi.Inventory) {
	t.Helper()
	org := d.example(t, "orgs/get", 200).(map[string]any)
	orgID := num(org["id"])
	want := map[string]func(*nhi.Identity) []string{}
	repo := d.items(t, "repos/list-for-org", "")[0]
	full := str(repo["full_name"])
	for _, k := range d.items(t, "repos/list-deploy-keys", "") {
		want["github:deploy-key:"+num(k["id"])] = func(id *nhi.Identity) []string {
			level := "write"
			if k["read_only"] == true {
				level = "read"
			}
			return diffs(
				eq("name", id.Name, str(k["title"])), eq("path", id.Path, full), eq("created", stamp(id.Created), exampleTime(k["created_at"])),
				eq("last used", stamp(id.Usage.LastUsed), exampleTime(k["last_used"])), eq("grant", id.Grants[0].Entitlement, "contents:"+level),
				eq("added by", id.OwnerHints[0].Value, str(k["added_by"])))
		}
	}
	for _, in := range d.items(t, "orgs/list-app-installations", "installations") {
		want["github:app-installation:"+num(in["id"])] = func(id *nhi.Identity) []string {
			return diffs(eq("name", id.Name, str(in["app_slug"])), eq("created", stamp(id.Created), exampleTime(in["created_at"])),
				eq("grants", fmt.Sprint(len(id.Grants)), fmt.Sprint(len(in["permissions"].(map[string]any)))),
				eq("selection", id.Attributes["repository_selection"], str(in["repository_selection"])))
		}
	}
	for _, pat := range d.items(t, "orgs/list-pat-grants", "") {
		want["github:fine-grained-token:"+orgID+":"+num(pat["token_id"])] = func(id *nhi.Identity) []string {
			return diffs(eq("name", id.Name, str(pat["token_name"])), eq("pat_id", id.Attributes["pat_id"], num(pat["id"])),
				eq("owner", id.OwnerHints[0].Value, str(pat["owner"].(map[string]any)["login"])),
				eq("expires", stamp(id.Credentials[0].Expires), exampleTime(pat["token_expires_at"])),
				eq("last used", stamp(id.Usage.LastUsed), exampleTime(pat["token_last_used_at"])))
		}
	}
	kinds := map[string]nhi.IdentityKind{"personal access token": nhi.KindGitHubClassicPAT, "SSH key": nhi.KindGitHubSSHKey,
		"OAuth app token": nhi.KindGitHubOAuthAppToken, "GitHub app token": nhi.KindGitHubAppUserToken}
	for _, a := range d.items(t, "orgs/list-saml-sso-authorizations", "") {
		want["github:credential-authorization:"+orgID+":"+num(a["authorized_credential_id"])] = func(id *nhi.Identity) []string {
			return diffs(eq("kind", string(id.Kind), string(kinds[str(a["credential_type"])])),
				eq("credential_id", id.Attributes["credential_id"], num(a["credential_id"])),
				eq("authorized", stamp(id.Created), exampleTime(a["credential_authorized_at"])),
				eq("accessed", stamp(id.Usage.LastUsed), exampleTime(a["credential_accessed_at"])),
				eq("expires", stamp(id.Credentials[0].Expires), exampleTime(a["authorized_credential_expires_at"])),
				eq("scopes", fmt.Sprint(len(id.Grants)), fmt.Sprint(len(anyList(a["scopes"])))))
		}
	}
	secrets := func(op string) func(*nhi.Identity) []string {
		return func(id *nhi.Identity) []string {
			var names, got []string
			for _, s := range d.items(t, op, "secrets") {
				names = append(names, str(s["name"]))
			}
			for _, c := range id.Credentials {
				got = append(got, c.ID)
			}
			sort.Strings(names)
			return diffs(eq("secrets", strings.Join(got, ","), strings.Join(names, ",")))
		}
	}
	want["github:actions:org:"+orgID] = secrets("actions/list-org-secrets")
	want["github:actions:repo:"+num(repo["id"])] = secrets("actions/list-repo-secrets")
	for _, e := range d.items(t, "repos/get-all-environments", "environments") {
		want["github:actions:environment:"+num(e["id"])] = secrets("actions/list-environment-secrets")
	}

	var got []string
	for _, id := range inv.Identities {
		got = append(got, id.ID)
		check, ok := want[id.ID]
		if !ok {
			t.Errorf("%s is not in the examples", id.ID)
			continue
		}
		for _, p := range check(&id) {
			t.Errorf("%s: %s", id.ID, p)
		}
	}
	if len(got) != len(want) {
		t.Errorf("collected %v; the examples describe %v", got, sortedKeys(want))
	}
	checkExampleGaps(t, d, inv)
}

// checkExampleGaps: the example installation token says the App is
// installed on selected repositories; that, and nothing else, is a gap.
func checkExampleGaps(t *testing.T, d *description, inv nhi.Inventory) {
	t.Helper()
	token := d.example(t, "apps/create-installation-access-token", 201).(map[string]any)
	var want []string
	if token["repository_selection"] == "selected" {
		want = append(want, "apps/create-installation-access-token denied")
	}
	var got []string
	for _, g := range inv.Gaps {
		got = append(got, g.Source+" "+string(g.Kind))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("gaps (-want +got):\n%s\n%+v", diff, inv.Gaps)
	}
}

func eq(what, got, want string) string {
	if got == want {
		return ""
	}
	return fmt.Sprintf("%s %q, the example says %q", what, got, want)
}

func diffs(ps ...string) []string {
	var out []string
	for _, p := range ps {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func num(v any) string {
	f, ok := v.(float64)
	if !ok {
		return ""
	}
	return fmt.Sprint(int64(f))
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// exampleTime normalises an example's timestamp (some carry an offset and
// milliseconds) as stamp formats a collected one.
func exampleTime(v any) string {
	t, err := time.Parse(time.RFC3339, str(v))
	if err != nil {
		return str(v)
	}
	return stamp(t)
}

func anyList(v any) []any {
	l, _ := v.([]any)
	return l
}
