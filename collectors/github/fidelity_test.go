package github_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/collectors"
	"github.com/nhiscan/nhiscan/collectors/collectortest"
	"github.com/nhiscan/nhiscan/collectors/github/githubfake"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// Fidelity: what a mock serving GitHub's official description showed
// (issue 13, point 2), each reproduced by the fake.

// facetsSAML is what the SAML credential authorisation list feeds.
var facetsSAML = []nhi.Facet{
	"credentials:github-app-user-token", "credentials:github-classic-token", "credentials:github-oauth-app-token",
	"credentials:github-ssh-key", "grants:token-scope", "identities:github-app-user-token", "identities:github-classic-token",
	"identities:github-oauth-app-token", "identities:github-ssh-key", "ownership", "usage:github-api",
}

// gapsOf returns the gaps recorded for op.
func gapsOf(inv nhi.Inventory, op string) []nhi.Gap {
	var out []nhi.Gap
	for _, g := range inv.Gaps {
		if g.Source == op {
			out = append(out, g)
		}
	}
	return out
}

// TestPagingMustAdvance: a Link whose next page does not advance (a mock
// answering its static example, page 2, forever) once made the collector
// ask for page 2 tens of thousands of times. Paging stops when a page does
// not advance or brings no new item, with a gap hiding what the list
// reads; the rest of the organisation is still observed.
func TestPagingMustAdvance(t *testing.T) {
	for _, tc := range []struct {
		name   string
		paging githubfake.Paging
		calls  int // per organisation
	}{
		{"static-example-links-page-2", githubfake.PagingStatic, 2},
		{"next-is-the-page-itself", githubfake.PagingSelfLink, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := demoSetup(t)
			s.srv.SetPageSize(2)
			s.srv.SetPaging(githubfake.OpListMembers, tc.paging)
			s.srv.SetPaging(githubfake.OpListRepos, tc.paging)
			inv := collectortest.Collect(t, s.collector(t))
			for _, op := range []string{githubfake.OpListMembers, githubfake.OpListRepos} {
				if n := s.srv.CallCount(op); n != 2*tc.calls {
					t.Errorf("%s called %d times for 2 organisations, want %d", op, n, 2*tc.calls)
				}
				gaps := gapsOf(inv, op)
				if len(gaps) != 2 {
					t.Fatalf("%s: gaps %+v, want one per organisation", op, inv.Gaps)
				}
				for _, g := range gaps {
					if g.Kind != nhi.GapError || !strings.Contains(g.Detail, "paging stopped") {
						t.Errorf("%s gap = %+v, want an error saying paging stopped", op, g)
					}
				}
			}
			cov := inv.Coverage()
			if cov.Observed(nhi.GitHub, githubfake.DemoOrg, "identities:github-deploy-key") || cov.Observed(nhi.GitHub, githubfake.DemoOrg, "ownership") {
				t.Error("deploy keys and ownership observed although the repository and member lists stopped short")
			}
			if !cov.Observed(nhi.GitHub, githubfake.DemoOrg, "identities:github-fine-grained-token") {
				t.Error("a list whose paging stopped hid the fine-grained tokens too")
			}
			find(t, inv, "github:fine-grained-token:7100001:930001")
		})
	}
}

// TestPagingCap: a list that keeps advancing stops after MaxPages pages
// with a gap; one that ends within the cap is complete.
func TestPagingCap(t *testing.T) {
	s := demoSetup(t)
	s.srv.SetPageSize(1)
	s.cfg.MaxPages = 2
	inv := collectortest.Collect(t, s.collector(t))
	var repoGaps []string
	for _, g := range gapsOf(inv, githubfake.OpListRepos) {
		repoGaps = append(repoGaps, g.Scope+": "+g.Detail)
	}
	// acme has 6 repositories (6 pages at page size 1), acme-labs 2.
	if len(repoGaps) != 1 || !strings.HasPrefix(repoGaps[0], githubfake.DemoOrg+": ") || !strings.Contains(repoGaps[0], "more than 2 pages") {
		t.Errorf("repository list gaps %q, want one for %s naming the cap", repoGaps, githubfake.DemoOrg)
	}
	find(t, inv, "github:deploy-key:820001") // acme-labs: two pages, within the cap
}

// TestItemOnTwoPagesIsKeptOnce: GitHub's pages shift when an item is added
// while a client pages, so an item may be listed on two pages. It is kept
// once: the scan is the clean one, where a repeat once failed the whole
// scan ("duplicate id").
func TestItemOnTwoPagesIsKeptOnce(t *testing.T) {
	s := demoSetup(t)
	clean := encode(t, collectortest.Collect(t, s.collector(t)))
	s.srv.SetPageSize(2)
	s.srv.ResetCalls()
	for _, op := range []string{githubfake.OpListRepos, githubfake.OpListInstallations, githubfake.OpListMembers,
		githubfake.OpListPATGrants, githubfake.OpListSAMLAuthorizations, githubfake.OpListOrgSecrets, githubfake.OpListRepoSecrets,
		githubfake.OpListPropertyValues, githubfake.OpGraphQL} {
		s.srv.SetPaging(op, githubfake.PagingOverlap)
	}
	inv := collectortest.Collect(t, s.collector(t))
	if len(inv.Gaps) != 0 {
		t.Errorf("gaps: %+v", inv.Gaps)
	}
	if diff := cmp.Diff(string(clean), string(encode(t, inv))); diff != "" {
		t.Errorf("overlapping pages change the inventory (-clean +overlap):\n%s", diff)
	}
	if n := s.srv.CallCount(githubfake.OpListInstallations); n != 3 {
		t.Errorf("installations listed in %d pages, want 3 (acme: 3 installations, 2 a page, overlapping by one; acme-labs: none)", n)
	}
}

// TestGraphQLFallsBackToREST: whatever way the GraphQL query fails (404
// where GraphQL is not served, 502, refused, paging that does not
// advance), deploy keys and environments are read over REST, one list each
// per repository, and the scan is the clean one without a gap.
func TestGraphQLFallsBackToREST(t *testing.T) {
	clean := collectortest.Collect(t, demoSetup(t).collector(t))
	const repos = 8 // acme 6, acme-labs 2
	for _, tc := range []struct {
		name    string
		fault   func(*githubfake.Server)
		graphql int
	}{
		{"404", func(s *githubfake.Server) { s.Fail("", githubfake.OpGraphQL, http.StatusNotFound) }, 2},
		{"502", func(s *githubfake.Server) { s.Fail("", githubfake.OpGraphQL, http.StatusBadGateway) }, 2},
		{"forbidden", func(s *githubfake.Server) { s.Deny("", githubfake.OpGraphQL) }, 2},
		{"cursor-does-not-advance", func(s *githubfake.Server) { s.SetPaging(githubfake.OpGraphQL, githubfake.PagingStatic) }, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := demoSetup(t)
			tc.fault(s.srv)
			inv := collectortest.Collect(t, s.collector(t))
			if len(inv.Gaps) != 0 {
				t.Errorf("gaps %+v: REST read what GraphQL did not", inv.Gaps)
			}
			if diff := cmp.Diff(string(encode(t, clean)), string(encode(t, inv))); diff != "" {
				t.Errorf("REST fallback differs from the clean scan (-clean +fallback):\n%s", diff)
			}
			calls := s.srv.Calls()
			want := map[string]int{githubfake.OpGraphQL: tc.graphql, githubfake.OpListDeployKeys: repos, githubfake.OpListEnvironments: repos,
				githubfake.OpListEnvSecrets: 1, githubfake.OpListRepoSecrets: repos}
			got := map[string]int{}
			for op := range want {
				got[op] = calls[op]
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}

	// REST refused too: only then a gap, on the REST list, hiding deploy
	// keys only; environments and their secrets are still read.
	s := demoSetup(t)
	s.srv.Fail("", githubfake.OpGraphQL, http.StatusNotFound)
	s.srv.Deny(githubfake.DemoOrg, githubfake.OpListDeployKeys)
	inv := collectortest.Collect(t, s.collector(t))
	gaps := gapsOf(inv, githubfake.OpListDeployKeys)
	if len(gaps) != 1 || len(inv.Gaps) != 1 || gaps[0].Kind != nhi.GapDenied || slices.Contains(gaps[0].Facets, "identities:github-actions") {
		t.Errorf("gaps %+v, want one denied deploy key list hiding deploy keys only", inv.Gaps)
	}
	find(t, inv, "github:actions:environment:710001")
}

// TestMalformedFieldsArePerItem: one malformed timestamp once sank every
// deploy key of its repository, or the whole organisation. Each item is
// decoded on its own: a field that is not a timestamp is unknown, with a
// gap naming the item and the field and hiding only what the field feeds;
// an item without its id is left out with a gap; everything else is kept.
func TestMalformedFieldsArePerItem(t *testing.T) {
	seed := githubfake.DemoWithKey(fixedNow, testAppKey())
	acme := &seed.Orgs[0]
	acme.Repos[0].DeployKeys[0].Raw = map[string]any{"last_used": "yesterday"}
	acme.Repos[1].DeployKeys[0].Raw = map[string]any{"created_at": "2024-13-45T99:00:00Z"}
	acme.Installations[2].Raw = map[string]any{"suspended_at": "last week"}
	acme.FineGrainedTokens[0].Raw = map[string]any{"token_expires_at": 1767225600}
	acme.Secrets[0].Raw = map[string]any{"updated_at": "soon"}
	acme.CredentialAuthorizations = append(acme.CredentialAuthorizations, githubfake.CredentialAuthorization{
		CredentialID: 940009, Login: "bobm", Type: "personal access token", Authorized: fixedNow, Raw: map[string]any{"credential_id": "not-a-number"}})
	s := newSetup(t, seed)
	inv := collectortest.Collect(t, s.collector(t))
	clean := collectortest.Collect(t, demoSetup(t).collector(t))
	for _, want := range clean.Identities {
		if _, ok := inv.Identity(want.ID); !ok {
			t.Errorf("%s lost to a malformed field of another item or of its own", want.ID)
		}
	}

	type gapRow struct {
		Source, Detail string
		Facets         []nhi.Facet
	}
	var got []gapRow
	for _, g := range inv.Gaps {
		if g.Kind != nhi.GapError || g.Scope != githubfake.DemoOrg {
			t.Errorf("gap %+v, want errors in %s only", g, githubfake.DemoOrg)
		}
		detail, _, _ := strings.Cut(g.Detail, " is not")
		got = append(got, gapRow{g.Source, detail, g.Facets})
	}
	want := []gapRow{
		{githubfake.OpListOrgSecrets, "Actions secret AZURE_CLIENT_SECRET of acme (organization secrets): updated_at", []nhi.Facet{"credentials:github-actions-secret"}},
		{githubfake.OpListInstallations, "app installation 3300003: suspended_at", []nhi.Facet{"identities:github-app-installation"}},
		{githubfake.OpListPATGrants, "fine-grained token 930001: token_expires_at", []nhi.Facet{"credentials:github-fine-grained-token"}},
		{githubfake.OpListSAMLAuthorizations, "1 item(s) could not be decoded or lack their id; left out, the others kept", facetsSAML},
		{githubfake.OpListDeployKeys, "deploy key 810001: last_used", []nhi.Facet{"usage:github-api"}},
		{githubfake.OpListDeployKeys, "deploy key 810002: created_at", []nhi.Facet{"credentials:github-deploy-key", "usage:github-api"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("gaps (-want +got):\n%s", diff)
	}

	if k := find(t, inv, "github:deploy-key:810001"); k.Usage.State != nhi.UsageUnknown || k.Credentials[0].Usage.State != nhi.UsageUnknown || k.Created.IsZero() {
		t.Errorf("key with a malformed last_used: usage %+v, created %v; want unknown usage, the rest kept", k.Usage, k.Created)
	}
	if k := find(t, inv, "github:deploy-key:810002"); !k.Created.IsZero() || k.Usage.State != nhi.UsageUsed {
		t.Errorf("key with a malformed created_at: created %v, usage %q; want unknown creation, usage kept", k.Created, k.Usage.State)
	}
	if in := find(t, inv, "github:app-installation:3300003"); in.Status != nhi.StatusSuspended || in.Attributes["suspended_at"] != "" {
		t.Errorf("installation with a malformed suspended_at: status %q, suspended_at %q; want suspended, time unknown", in.Status, in.Attributes["suspended_at"])
	}
	if p := find(t, inv, "github:fine-grained-token:7100001:930001"); !p.Credentials[0].Expires.IsZero() || p.Usage.State != nhi.UsageUsed {
		t.Errorf("token with a malformed expiry: %+v", p.Credentials[0])
	}
	orgSecret, _ := find(t, inv, "github:actions:org:7100001").Credential("AZURE_CLIENT_SECRET")
	if orgSecret == nil || !orgSecret.Created.Equal(fixedNow.AddDate(0, 0, -300)) {
		t.Errorf("secret with a malformed updated_at: %+v, want created_at as when its value was set", orgSecret)
	}
	cov := inv.Coverage()
	if !cov.Observed(nhi.GitHub, githubfake.DemoOrg, "identities:github-deploy-key") || cov.Observed(nhi.GitHub, githubfake.DemoOrg, "usage:github-api") {
		t.Error("a malformed timestamp must hide what it feeds (usage), and only that")
	}
}

// TestAppNotInstalledIsTheInstallationLookup: an organisation where the
// scanner App is not installed was reported as an orgs/get gap, with the
// organisation's permission hint. The gap names the installation lookup
// and says to install the App; a wrong installation id names the token
// creation. Either hides the whole organisation; the others are scanned.
func TestAppNotInstalledIsTheInstallationLookup(t *testing.T) {
	seed := githubfake.DemoWithKey(fixedNow, testAppKey())
	delete(seed.App.Installations, githubfake.DemoLabsOrg)
	s := newSetup(t, seed)
	inv := collectortest.Collect(t, s.collector(t))
	if len(inv.Gaps) != 1 {
		t.Fatalf("gaps %+v, want one for %s", inv.Gaps, githubfake.DemoLabsOrg)
	}
	g := inv.Gaps[0]
	if g.Scope != githubfake.DemoLabsOrg || g.Source != githubfake.OpGetOrgInstallation || g.Kind != nhi.GapDenied ||
		!strings.Contains(g.Permission, "install the scanner GitHub App in the organisation") || len(g.Facets) != 0 {
		t.Errorf("gap = %+v, want the installation lookup refused, naming the App's installation, hiding the organisation", g)
	}
	if strings.Contains(g.Detail, "Get \"") {
		t.Errorf("gap detail %q repeats the request that needed the token", g.Detail)
	}
	find(t, inv, "github:deploy-key:810001")

	s2 := demoSetup(t)
	s2.cfg.AppInstallationIDs = map[string]int64{githubfake.DemoLabsOrg: 999}
	inv2 := collectortest.Collect(t, s2.collector(t))
	if len(inv2.Gaps) != 1 || inv2.Gaps[0].Source != githubfake.OpCreateInstallationToken || inv2.Gaps[0].Kind != nhi.GapDenied ||
		len(inv2.Gaps[0].Facets) != 0 || !strings.Contains(inv2.Gaps[0].Permission, "app_id and private key") {
		t.Errorf("wrong installation id: gaps %+v, want the token creation refused, hiding the organisation", inv2.Gaps)
	}
}

// TestSAMLAuthorizationsByCredential: an identity of the SAML
// authorisation list is keyed by the credential's own id
// (authorized_credential_id, which the description says stays the same
// across authorisations), so a token its owner authorises again is the
// same identity, not a removal and an addition; its control removes the
// current authorisation. OAuth app tokens and GitHub App user tokens are
// inventoried; a type the description does not list is a gap.
func TestSAMLAuthorizationsByCredential(t *testing.T) {
	seed := githubfake.DemoWithKey(fixedNow, testAppKey())
	acme := &seed.Orgs[0]
	acme.CredentialAuthorizations = append(acme.CredentialAuthorizations,
		githubfake.CredentialAuthorization{CredentialID: 940003, AuthorizedCredentialID: 950003, Login: "bobm", Type: "OAuth app token",
			Scopes: []string{"repo", "read:org"}, Authorized: fixedNow.AddDate(0, 0, -20), Accessed: fixedNow.AddDate(0, 0, -2), Value: "gho_canaryOAuthAppTokenDoNotLeak01"},
		githubfake.CredentialAuthorization{CredentialID: 940004, AuthorizedCredentialID: 950004, Login: "mayap", Type: "GitHub app token",
			Authorized: fixedNow.AddDate(0, 0, -3), Expires: fixedNow.AddDate(0, 0, 1), Value: "ghu_canaryAppUserTokenDoNotLeak001"})
	s := newSetup(t, seed)
	c := s.collector(t)
	before := collectortest.Collect(t, c)

	oauth := find(t, before, "github:credential-authorization:7100001:950003")
	if oauth.Kind != nhi.KindGitHubOAuthAppToken || !oauth.ThirdParty || len(oauth.Grants) != 2 || !oauth.Grants[0].Privileged.Judged() ||
		oauth.Credentials[0].Type != nhi.CredGitHubOAuthAppToken || oauth.Usage.State != nhi.UsageUsed {
		t.Errorf("OAuth app token = %+v", oauth)
	}
	app := find(t, before, "github:credential-authorization:7100001:950004")
	if app.Kind != nhi.KindGitHubAppUserToken || app.Credentials[0].Type != nhi.CredGitHubAppUserToken || !app.Credentials[0].Expires.Equal(fixedNow.AddDate(0, 0, 1)) {
		t.Errorf("GitHub App user token = %+v", app)
	}
	for _, v := range githubfake.DemoSecrets(seed) {
		if bytes.Contains(encode(t, before), []byte(v)) {
			t.Errorf("token value %.6s… in the inventory", v)
		}
	}
	classic := find(t, before, "github:credential-authorization:7100001:950001")
	if classic.NativeID != "950001" || classic.Attributes["credential_id"] != "940001" || classic.Credentials[0].ID != "950001" {
		t.Errorf("classic token: native id %q, attributes %v, credential %q", classic.NativeID, classic.Attributes, classic.Credentials[0].ID)
	}

	// Authorised again: a new credential_id, the same identity.
	newAuth, err := s.srv.Reauthorize(githubfake.DemoOrg, 950001)
	if err != nil {
		t.Fatal(err)
	}
	after := collectortest.Collect(t, c)
	again := find(t, after, classic.ID)
	if again.Attributes["credential_id"] != id64(newAuth) || len(after.Identities) != len(before.Identities) {
		t.Errorf("re-authorised token: attributes %v, %d identities (was %d)", again.Attributes, len(after.Identities), len(before.Identities))
	}
	// The control acts on the current authorisation, found by the
	// credential, even from the inventory taken before.
	res, err := s.controls(t).Act(context.Background(), collectors.ActionRequest{Action: collectors.Delete, Identity: *classic})
	if err != nil || !res.Changed || !strings.Contains(res.Detail, id64(newAuth)) {
		t.Errorf("remove the re-authorised token's authorisation: %+v, %v", res, err)
	}
	if removed := collectortest.Collect(t, c); hasIdentity(removed, classic.ID) {
		t.Error("the token is still authorised after its control")
	}

	// A type the description does not list: a gap, not silence.
	acme.CredentialAuthorizations = append(acme.CredentialAuthorizations, githubfake.CredentialAuthorization{
		CredentialID: 940005, AuthorizedCredentialID: 950005, Login: "bobm", Type: "passkey", Authorized: fixedNow})
	inv := collectortest.Collect(t, newSetup(t, seed).collector(t))
	gaps := gapsOf(inv, githubfake.OpListSAMLAuthorizations)
	if len(gaps) != 1 || !strings.Contains(gaps[0].Detail, `credential_type "passkey"`) || !slices.Equal(gaps[0].Facets, facetsSAML) {
		t.Errorf("unknown credential type: gaps %+v", inv.Gaps)
	}
	find(t, inv, "github:credential-authorization:7100001:950003")
}

// TestRevokeAnswers: a token revocation is answered 204 by the
// description, 202 by GitHub at times: both are success.
func TestRevokeAnswers(t *testing.T) {
	for _, accepted := range []bool{false, true} {
		s := demoSetup(t)
		s.srv.SetRevokeAccepted(accepted)
		inv := collectortest.Collect(t, s.collector(t))
		res, err := s.controls(t).Act(context.Background(), collectors.ActionRequest{Action: collectors.Delete, Identity: *find(t, inv, "github:fine-grained-token:7100001:930002")})
		if err != nil || !res.Changed {
			t.Errorf("revoke answered 202=%v: %+v, %v", accepted, res, err)
		}
	}
}

func id64(n int64) string { return strconv.FormatInt(n, 10) }

func hasIdentity(inv nhi.Inventory, id string) bool {
	_, ok := inv.Identity(id)
	return ok
}

// TestErrorBodiesNeverLeak: error answers whose body carries a planted
// secret-looking value, and echoes the credential of the request (the
// App's JWT at the token endpoint, the installation token, the static
// token), never reach a gap, the inventory, a log line or an error.
func TestErrorBodiesNeverLeak(t *testing.T) {
	const canary = "ghp_plantedCanaryInAnErrorBody0123456789"
	s := demoSetup(t)
	var logs bytes.Buffer
	s.cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s.srv.SetFaultMessage("Bad credentials " + canary)
	s.srv.SetEchoCredential(true)
	s.srv.Fail(githubfake.DemoLabsOrg, githubfake.OpCreateInstallationToken, http.StatusUnauthorized)
	s.srv.Fail(githubfake.DemoOrg, githubfake.OpListRepoSecrets, http.StatusUnprocessableEntity)
	s.srv.Fail(githubfake.DemoOrg, githubfake.OpListSAMLAuthorizations, http.StatusInternalServerError)
	s.srv.Deny(githubfake.DemoOrg, githubfake.OpListMembers)
	s.srv.Deny(githubfake.DemoOrg, githubfake.OpListDeployKeys)
	s.srv.Deny(githubfake.DemoOrg, githubfake.OpGraphQL)
	inv := collectortest.Collect(t, s.collector(t))
	if len(inv.Gaps) < 5 {
		t.Fatalf("gaps %+v, want one per fault", inv.Gaps)
	}
	ctlErr := ""
	s.srv.Deny("", githubfake.OpDeleteDeployKey)
	clean := collectortest.Collect(t, demoSetup(t).collector(t))
	if _, err := s.controls(t).Act(context.Background(), collectors.ActionRequest{Action: collectors.Delete, Identity: *find(t, clean, "github:deploy-key:810004")}); err != nil {
		ctlErr = err.Error()
	} else {
		t.Error("a refused delete succeeded")
	}
	var gaps strings.Builder
	for _, g := range inv.Gaps {
		gaps.WriteString(g.Detail + "\n" + g.Permission + "\n")
	}
	for where, text := range map[string]string{"inventory": string(encode(t, inv)), "gaps": gaps.String(), "logs": logs.String(), "control error": ctlErr} {
		for _, leak := range append([]string{canary, "eyJ", "ghs_"}, githubfake.DemoSecrets(s.seed)...) {
			if strings.Contains(text, leak) {
				t.Errorf("%s holds %.10s…:\n%s", where, leak, text)
			}
		}
	}
	if !strings.Contains(gaps.String(), "[redacted]") {
		t.Errorf("gap details %q: the planted value should show as redacted", gaps.String())
	}
}

// TestIdentityListedTwiceIsNotFatal: an identity id GitHub lists twice (a
// deploy key id under two repositories, as a mock serving one example for
// every repository does) keeps the first and records a gap; the scan is
// valid.
func TestIdentityListedTwiceIsNotFatal(t *testing.T) {
	seed := githubfake.DemoWithKey(fixedNow, testAppKey())
	acme := &seed.Orgs[0]
	k := acme.Repos[0].DeployKeys[0] // 810001 in payments-api (repository 610001)
	k.Key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIsecondcopy"
	acme.Repos[5].DeployKeys = append(acme.Repos[5].DeployKeys, k) // security-tools
	inv := collectortest.Collect(t, newSetup(t, seed).collector(t))
	if x := find(t, inv, "github:deploy-key:810001"); x.Path != "acme/payments-api" {
		t.Errorf("kept the copy in %s, want the first (acme/payments-api)", x.Path)
	}
	gaps := gapsOf(inv, githubfake.OpListDeployKeys)
	if len(gaps) != 1 || gaps[0].Kind != nhi.GapError || !strings.Contains(gaps[0].Detail, "listed twice") ||
		!slices.Equal(gaps[0].Facets, []nhi.Facet{"credentials:github-deploy-key", "grants:repo-permission", "identities:github-deploy-key"}) {
		t.Errorf("gaps %+v, want one naming the repeat", inv.Gaps)
	}
}
