package aws_test

import (
	"context"
	"errors"
	"flag"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/collectors"
	awscol "github.com/nhiscan/nhiscan/collectors/aws"
	"github.com/nhiscan/nhiscan/collectors/aws/awsfake"
	"github.com/nhiscan/nhiscan/collectors/collectortest"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

var update = flag.Bool("update", false, "rewrite golden files")

// now is the fixed clock of every test.
var now = time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)

func fixedNow() time.Time { return now }

func startFake(t testing.TB, seed awsfake.Seed) *awsfake.Server {
	t.Helper()
	seed.Now = fixedNow
	srv := awsfake.New(seed)
	t.Cleanup(srv.Close)
	return srv
}

// testConfig points a collector at the fake with fast retries.
func testConfig(srv *awsfake.Server) awscol.Config {
	return awscol.Config{
		Organization:       true,
		RoleName:           awsfake.DemoRoleName,
		EndpointURL:        srv.URL,
		HTTPClient:         srv.Client(),
		Credentials:        srv.CredentialsProvider(),
		MaxRetries:         3,
		MaxRetryDelay:      2 * time.Millisecond,
		ReportPollInterval: time.Millisecond,
		Now:                fixedNow,
		// Service last accessed data has its own tests
		// (lastaccessed_test.go); the others keep to their facets.
		LastAccessed: awscol.LastAccessedOff,
	}
}

func newCollector(t testing.TB, srv *awsfake.Server, mutate func(*awscol.Config)) *awscol.Collector {
	t.Helper()
	c, err := awscol.New(mutated(srv, mutate))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mutated(srv *awsfake.Server, mutate func(*awscol.Config)) awscol.Config {
	cfg := testConfig(srv)
	if mutate != nil {
		mutate(&cfg)
	}
	return cfg
}

// newControls builds the credential controls from the same configuration
// as newCollector.
func newControls(t testing.TB, srv *awsfake.Server, mutate func(*awscol.Config)) *awscol.Controls {
	t.Helper()
	c, err := awscol.NewControls(mutated(srv, mutate))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func byName(t testing.TB, inv nhi.Inventory, scope, name string) nhi.Identity {
	t.Helper()
	for _, id := range inv.Identities {
		if id.Scope == scope && id.Name == name {
			return id
		}
	}
	t.Fatalf("identity %s/%s not collected", scope, name)
	return nhi.Identity{}
}

func TestConformance(t *testing.T) {
	seed := awsfake.Demo(now)
	collectortest.Run(t, collectortest.Subject{
		New: func(t *testing.T) collectors.Collector {
			return newCollector(t, startFake(t, awsfake.Demo(now)), nil)
		},
		Deny: func(t *testing.T) (collectors.Collector, string) {
			srv := startFake(t, awsfake.Demo(now))
			srv.Deny(awsfake.DemoPayments, "")
			return newCollector(t, srv, nil), awsfake.DemoPayments
		},
		Secrets: append(seed.Secrets(), awsfake.BaseSecretAccessKey),
	})
}

func TestGoldenInventory(t *testing.T) {
	inv := collectortest.Collect(t, newCollector(t, startFake(t, awsfake.Demo(now)), nil))
	collectortest.Golden(t, filepath.Join("testdata", "golden-inventory.json"), inv, *update)
}

func TestScopesSkipSuspendedAccounts(t *testing.T) {
	inv := collectortest.Collect(t, newCollector(t, startFake(t, awsfake.Demo(now)), nil))
	var ids []string
	for _, s := range inv.Scopes {
		ids = append(ids, s.ID)
	}
	want := []string{awsfake.DemoManagement, awsfake.DemoPayments, awsfake.DemoData}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("scopes (-want +got):\n%s", diff)
	}
	if inv.Scopes[1].Name != "acme-payments-prod" {
		t.Errorf("scope name = %q", inv.Scopes[1].Name)
	}
	if len(inv.Gaps) != 0 {
		t.Errorf("unexpected gaps: %+v", inv.Gaps)
	}
}

func TestMapping(t *testing.T) {
	inv := collectortest.Collect(t, newCollector(t, startFake(t, awsfake.Demo(now)), nil))
	reportAsOf := now

	t.Run("mixed human use", func(t *testing.T) {
		id := byName(t, inv, awsfake.DemoData, "data-analyst-shared")
		if !hasSignal(id.Signals, nhi.SignalMixedUse) {
			t.Errorf("signals = %+v, want %s", id.Signals, nhi.SignalMixedUse)
		}
		if len(id.OwnerHints) != 0 {
			t.Errorf("owner hints = %+v, want none", id.OwnerHints)
		}
		if id.Usage.State != nhi.UsageUsed || !id.Usage.LastUsed.Equal(now.AddDate(0, 0, -1)) || !id.Usage.AsOf.Equal(reportAsOf) || id.Usage.Source != "credential-report" {
			t.Errorf("usage = %+v", id.Usage)
		}
	})
	t.Run("weak trust", func(t *testing.T) {
		for name, want := range map[string]bool{"payments-github-deploy": true, "data-partner-ingest": true, "platform-terraform": false, awsfake.DemoRoleName: false, "payments-api-runtime": false} {
			for _, id := range inv.Identities {
				if id.Name == name && hasSignal(id.Signals, nhi.SignalWeakTrust) != want {
					t.Errorf("%s/%s weak trust = %v, want %v (%+v)", id.Scope, name, !want, want, id.Signals)
				}
			}
		}
		id := byName(t, inv, awsfake.DemoData, "data-partner-ingest")
		if id.Attributes["trusted_external_accounts"] != awsfake.DemoExternalAccount {
			t.Errorf("attributes = %v", id.Attributes)
		}
	})
	t.Run("privileged grants", func(t *testing.T) {
		cases := []struct{ scope, name, grant string }{
			{awsfake.DemoManagement, "platform-terraform", "managed-policy:arn:aws:iam::aws:policy/AdministratorAccess"},
			{awsfake.DemoManagement, "security-scanner-legacy", "managed-policy:arn:aws:iam::aws:policy/IAMFullAccess"},
			{awsfake.DemoPayments, "payments-github-deploy", "managed-policy:arn:aws:iam::aws:policy/PowerUserAccess"},
			{awsfake.DemoData, "data-warehouse-admin", "managed-policy:arn:aws:iam::aws:policy/AdministratorAccess"},
		}
		for _, c := range cases {
			g := grant(t, byName(t, inv, c.scope, c.name), c.grant)
			if !g.Privileged.Privileged() || g.Reason == "" || g.Privilege != nhi.PrivAdmin {
				t.Errorf("%s %s = %+v, want privileged admin with a reason", c.name, c.grant, g)
			}
		}
		g := grant(t, byName(t, inv, awsfake.DemoPayments, "payments-ci-deployer"), "managed-policy:arn:aws:iam::222222222222:policy/payments-deploy")
		if g.Privileged.Privileged() || g.Privilege != nhi.PrivWrite {
			t.Errorf("payments-deploy = %+v, want write, not privileged", g)
		}
		g = grant(t, byName(t, inv, awsfake.DemoPayments, "payments-reporting-legacy"), "group-policy:reporting-readers:arn:aws:iam::aws:policy/ReadOnlyAccess")
		if g.Privilege != nhi.PrivRead || g.Via != "group:reporting-readers" {
			t.Errorf("group grant = %+v", g)
		}
		g = grant(t, byName(t, inv, awsfake.DemoData, "data-airflow-svc"), "inline-policy:etl-read")
		if g.Privilege != nhi.PrivRead || g.Entitlement != "inline:etl-read" {
			t.Errorf("inline read grant = %+v", g)
		}
	})
	t.Run("keys and report join", func(t *testing.T) {
		id := byName(t, inv, awsfake.DemoPayments, "payments-ci-deployer")
		if len(id.Credentials) != 2 {
			t.Fatalf("credentials = %+v", id.Credentials)
		}
		old, _ := id.Credential("AKIA222PAYCIOLDKEY01")
		if old.Status != nhi.StatusActive || old.Usage.State != nhi.UsageUsed || !old.Usage.LastUsed.Equal(now.AddDate(0, 0, -95)) ||
			!old.Created.Equal(now.AddDate(0, 0, -200)) || old.Attributes["last_used_service"] != "ecs" {
			t.Errorf("old key = %+v", old)
		}
		if hints := id.OwnerHints; len(hints) != 1 || hints[0] != (nhi.OwnerHint{Source: "tag", Value: "liam.wilson@acme.example"}) {
			t.Errorf("owner hints = %+v", hints)
		}
		etl := byName(t, inv, awsfake.DemoData, "data-etl-runner")
		k := etl.Credentials[0]
		if k.Usage.State != nhi.UsageNeverUsed || !k.Usage.AsOf.Equal(reportAsOf) || etl.Usage.State != nhi.UsageNeverUsed {
			t.Errorf("never-used key = %+v, identity usage %+v", k, etl.Usage)
		}
		legacy := byName(t, inv, awsfake.DemoManagement, "security-scanner-legacy")
		if legacy.Credentials[0].Status != nhi.StatusDisabled {
			t.Errorf("inactive key status = %s", legacy.Credentials[0].Status)
		}
	})
	t.Run("service-specific credential", func(t *testing.T) {
		id := byName(t, inv, awsfake.DemoData, "data-airflow-svc")
		c, ok := id.Credential("ACCA333AIRFLOWBEDRK01")
		if !ok || c.Type != nhi.CredAWSServiceSpecific || !c.Expires.Equal(now.AddDate(0, 0, 10)) || c.Usage.State != nhi.UsageNotReported || c.Name != "bedrock.amazonaws.com" {
			t.Errorf("service credential = %+v", c)
		}
	})
	t.Run("roles", func(t *testing.T) {
		slr := byName(t, inv, awsfake.DemoManagement, "AWSServiceRoleForSupport")
		if !slr.ProviderManaged {
			t.Error("service-linked role not provider-managed")
		}
		wh := byName(t, inv, awsfake.DemoData, "data-warehouse-admin")
		if wh.Status != nhi.StatusDisabled {
			t.Errorf("quarantined role status = %s", wh.Status)
		}
		rt := byName(t, inv, awsfake.DemoPayments, "payments-api-runtime")
		if rt.Usage.State != nhi.UsageUsed || rt.Usage.Source != "role-last-used" || rt.ID != "aws:AROA222PAYAPIRUN0001" || rt.Tags["team"] != "payments" {
			t.Errorf("role = %+v", rt)
		}
	})
}

func hasSignal(s []nhi.Signal, code string) bool {
	for _, x := range s {
		if x.Code == code {
			return true
		}
	}
	return false
}

func grant(t testing.TB, id nhi.Identity, gid string) nhi.Grant {
	t.Helper()
	for _, g := range id.Grants {
		if g.ID == gid {
			return g
		}
	}
	t.Fatalf("%s has no grant %s; has %+v", id.Name, gid, id.Grants)
	return nhi.Grant{}
}

func TestSingleAccountWithBaseCredentials(t *testing.T) {
	srv := startFake(t, awsfake.Demo(now))
	inv := collectortest.Collect(t, newCollector(t, srv, func(c *awscol.Config) { c.Organization, c.RoleName = false, "" }))
	if len(inv.Scopes) != 1 || inv.Scopes[0].ID != awsfake.DemoManagement {
		t.Fatalf("scopes = %+v", inv.Scopes)
	}
	if srv.CallCount("sts:AssumeRole") != 0 || srv.CallCount("sts:GetCallerIdentity") != 1 || srv.CallCount("organizations:ListAccounts") != 0 {
		t.Errorf("calls = %v", srv.Calls())
	}
	if len(inv.Identities) != 4 {
		t.Errorf("identities = %d, want 4", len(inv.Identities))
	}
}

func TestAccountList(t *testing.T) {
	srv := startFake(t, awsfake.Demo(now))
	inv := collectortest.Collect(t, newCollector(t, srv, func(c *awscol.Config) {
		c.Organization = false
		c.Accounts = []string{awsfake.DemoData, awsfake.DemoPayments}
	}))
	if len(inv.Scopes) != 2 || srv.CallCount("organizations:ListAccounts") != 0 || srv.CallCount("sts:AssumeRole") != 2 {
		t.Errorf("scopes %+v, calls %v", inv.Scopes, srv.Calls())
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for name, cfg := range map[string]awscol.Config{
		"org without role":     {Organization: true},
		"two accounts no role": {Accounts: []string{"111111111111", "222222222222"}},
		"bad account id":       {Accounts: []string{"12345"}, RoleName: "r"},
		"negative concurrency": {Concurrency: -1},
		"bad trusted account":  {TrustedAccounts: []string{"x"}},
	} {
		if _, err := awscol.New(cfg); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
		if _, err := awscol.NewControls(cfg); err == nil {
			t.Errorf("%s: NewControls accepted %+v", name, cfg)
		}
	}
}

// TestCallBudget asserts the per-account call budget: at most
// 5 + ceil((U+R+G+P)/100) + ceil(R/100) + users with keys + keys the
// report cannot tell apart, AssumeRole and report polling included, when
// the fake pages at 100. One user per account has two keys created in the same second and
// used differently: exactly those two keys cost a GetAccessKeyLastUsed.
func TestCallBudget(t *testing.T) {
	seed := awsfake.Synthetic(3, 430, now)
	for i := range seed.Accounts {
		u := &seed.Accounts[i].Users[1]
		created := now.AddDate(0, 0, -50)
		u.AccessKeys = []awsfake.AccessKey{{ID: "AKIATWINA" + seed.Accounts[i].ID[1:], Active: true, Created: created, LastUsed: now.AddDate(0, 0, -3)},
			{ID: "AKIATWINB" + seed.Accounts[i].ID[1:], Active: true, Created: created}}
	}
	srv := startFake(t, seed)
	inv := collectortest.Collect(t, newCollector(t, srv, nil))
	if len(inv.Gaps) != 0 {
		t.Fatalf("gaps: %+v", inv.Gaps)
	}
	total := 0
	for _, a := range seed.Accounts {
		entities := len(a.Users) + len(a.Roles) + len(a.Groups) + len(a.Policies)
		withKeys := 0
		for _, u := range a.Users {
			if len(u.AccessKeys) > 0 {
				withKeys++
			}
		}
		budget := 5 + (entities+99)/100 + (len(a.Roles)+99)/100 + withKeys + 2
		calls := srv.AccountCalls(a.ID)
		n := 0
		for op, c := range calls {
			if op != "organizations:ListAccounts" {
				n += c
			}
		}
		if n > budget {
			t.Errorf("account %s: %d calls, budget %d (U=%d R=%d G=%d P=%d keys=%d): %v", a.ID, n, budget,
				len(a.Users), len(a.Roles), len(a.Groups), len(a.Policies), withKeys, calls)
		}
		if calls["iam:GetAccessKeyLastUsed"] != 2 {
			t.Errorf("account %s: GetAccessKeyLastUsed %d times, want 2 (the twin keys only)", a.ID, calls["iam:GetAccessKeyLastUsed"])
		}
		if calls["iam:ListAccessKeys"] != withKeys {
			t.Errorf("account %s: ListAccessKeys %d times, want %d (only users with keys)", a.ID, calls["iam:ListAccessKeys"], withKeys)
		}
		total += len(a.Users) + len(a.Roles)
	}
	if len(inv.Identities) != total {
		t.Errorf("identities = %d, want %d", len(inv.Identities), total)
	}
}

func TestPaging(t *testing.T) {
	want := collectortest.Collect(t, newCollector(t, startFake(t, awsfake.Demo(now)), nil))
	srv := startFake(t, awsfake.Demo(now))
	srv.SetPageSize(2)
	got := collectortest.Collect(t, newCollector(t, srv, nil))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("inventory with page size 2 differs (-100 +2):\n%s", diff)
	}
	calls := srv.AccountCalls(awsfake.DemoData)
	// data: 5 users+roles... 3 users, 3 roles, 1 policy: 7 entities, 4 pages.
	if calls["iam:GetAccountAuthorizationDetails"] != 4 {
		t.Errorf("GetAccountAuthorizationDetails pages = %d, want 4", calls["iam:GetAccountAuthorizationDetails"])
	}
	if srv.CallCount("organizations:ListAccounts") != 2 {
		t.Errorf("ListAccounts pages = %d, want 2 (4 accounts, page 2)", srv.CallCount("organizations:ListAccounts"))
	}
}

func TestThrottlingRetried(t *testing.T) {
	srv := startFake(t, awsfake.Demo(now))
	srv.Throttle(awsfake.DemoData, "iam:GetAccountAuthorizationDetails", 2)
	srv.Throttle(awsfake.DemoPayments, "sts:AssumeRole", 1)
	srv.Throttle(awsfake.DemoManagement, "organizations:ListAccounts", 1)
	inv := collectortest.Collect(t, newCollector(t, srv, nil))
	if len(inv.Gaps) != 0 {
		t.Errorf("throttling that ends must not leave gaps: %+v", inv.Gaps)
	}
	if n := srv.AccountCalls(awsfake.DemoData)["iam:GetAccountAuthorizationDetails"]; n != 3 {
		t.Errorf("GetAccountAuthorizationDetails calls = %d, want 3 (2 throttled + 1)", n)
	}
	if len(inv.Identities) != 15 {
		t.Errorf("identities = %d, want 15", len(inv.Identities))
	}
}

func TestThrottlingPersistsBecomesGap(t *testing.T) {
	srv := startFake(t, awsfake.Demo(now))
	srv.Throttle(awsfake.DemoData, "", 1000)
	inv := collectortest.Collect(t, newCollector(t, srv, nil))
	g := onlyGap(t, inv, awsfake.DemoData)
	if g.Kind != nhi.GapThrottled || g.Source != "sts:AssumeRole" || len(g.Facets) != 0 {
		t.Errorf("gap = %+v", g)
	}
	if !inv.Partial(nhi.AWS, awsfake.DemoData) || inv.Partial(nhi.AWS, awsfake.DemoPayments) {
		t.Error("partial flags wrong")
	}
	if n := srv.AccountCalls(awsfake.DemoData)["sts:AssumeRole"]; n != 4 {
		t.Errorf("AssumeRole attempts = %d, want MaxRetries+1 = 4", n)
	}
	for _, id := range inv.Identities {
		if id.Scope == awsfake.DemoData {
			t.Errorf("identity from the throttled account: %s", id.Name)
		}
	}
}

func onlyGap(t testing.TB, inv nhi.Inventory, scope string) nhi.Gap {
	t.Helper()
	if len(inv.Gaps) != 1 || inv.Gaps[0].Scope != scope {
		t.Fatalf("gaps = %+v, want one for %s", inv.Gaps, scope)
	}
	return inv.Gaps[0]
}

// facetsOf returns the facets of a gap as strings, for comparison.
func facetsOf(g nhi.Gap) []string {
	var out []string
	for _, f := range g.Facets {
		out = append(out, string(f))
	}
	return out
}

// observed asserts which facets of a scope are observed.
func observed(t testing.TB, inv nhi.Inventory, scope string, want map[nhi.Facet]bool) {
	t.Helper()
	cov := inv.Coverage()
	for f, w := range want {
		if got := cov.Observed(nhi.AWS, scope, f); got != w {
			_, why := cov.Why(nhi.AWS, scope, f)
			t.Errorf("%s %s observed = %v, want %v (%s)", scope, f, got, w, why)
		}
	}
}

func TestPermissionGaps(t *testing.T) {
	t.Run("assume role denied", func(t *testing.T) {
		srv := startFake(t, awsfake.Demo(now))
		srv.Deny(awsfake.DemoData, "sts:AssumeRole")
		inv := collectortest.Collect(t, newCollector(t, srv, nil))
		g := onlyGap(t, inv, awsfake.DemoData)
		if g.Kind != nhi.GapDenied || g.Source != "sts:AssumeRole" || g.Permission != "sts:AssumeRole" ||
			!strings.Contains(g.Detail, "role/"+awsfake.DemoRoleName) || len(g.Facets) != 0 {
			t.Errorf("gap = %+v, want a denied whole-account gap naming the role", g)
		}
	})
	t.Run("missing role", func(t *testing.T) {
		srv := startFake(t, awsfake.Demo(now))
		inv := collectortest.Collect(t, newCollector(t, srv, func(c *awscol.Config) { c.RoleName = "no-such-role" }))
		if len(inv.Gaps) != 3 || len(inv.Identities) != 0 {
			t.Errorf("gaps = %+v", inv.Gaps)
		}
	})
	t.Run("credential report denied hides usage and login", func(t *testing.T) {
		srv := startFake(t, awsfake.Demo(now))
		srv.Deny(awsfake.DemoData, "iam:GenerateCredentialReport")
		srv.Deny(awsfake.DemoData, "iam:GetCredentialReport")
		inv := collectortest.Collect(t, newCollector(t, srv, nil))
		if len(inv.Gaps) != 2 {
			t.Fatalf("gaps = %+v, want one per denied call", inv.Gaps)
		}
		for i, src := range []string{"iam:GenerateCredentialReport", "iam:GetCredentialReport"} {
			g := inv.Gaps[i]
			if g.Scope != awsfake.DemoData || g.Source != src || g.Kind != nhi.GapDenied || g.Permission != src ||
				!cmp.Equal(facetsOf(g), []string{"login", "usage:credential-report"}) {
				t.Errorf("gap %d = %+v", i, g)
			}
		}
		observed(t, inv, awsfake.DemoData, map[nhi.Facet]bool{
			"login": false, "usage:credential-report": false, "usage:role-last-used": true,
			"identities:aws-iam-user": true, "credentials:aws-access-key": true, "grants": true,
		})
		etl := byName(t, inv, awsfake.DemoData, "data-etl-runner")
		if etl.Usage.State != nhi.UsageUnknown || len(etl.Credentials) != 1 || etl.Credentials[0].Usage.State != nhi.UsageUnknown {
			t.Errorf("without the report usage must be unknown: %+v", etl)
		}
		// Without the report every user's keys are listed.
		if n := srv.AccountCalls(awsfake.DemoData)["iam:ListAccessKeys"]; n != 3 {
			t.Errorf("ListAccessKeys = %d, want 3", n)
		}
	})
	t.Run("list access keys denied", func(t *testing.T) {
		srv := startFake(t, awsfake.Demo(now))
		srv.Deny(awsfake.DemoPayments, "iam:ListAccessKeys")
		inv := collectortest.Collect(t, newCollector(t, srv, nil))
		g := onlyGap(t, inv, awsfake.DemoPayments)
		if g.Source != "iam:ListAccessKeys" || !cmp.Equal(facetsOf(g), []string{"credentials:aws-access-key"}) || !strings.Contains(g.Detail, "2 users") {
			t.Errorf("gap = %+v", g)
		}
		observed(t, inv, awsfake.DemoPayments, map[nhi.Facet]bool{
			"credentials:aws-access-key": false, "credentials:aws-service-specific-credential": true,
			"identities": true, "grants": true, "usage": true, "login": true,
		})
	})
	t.Run("authorization details denied", func(t *testing.T) {
		srv := startFake(t, awsfake.Demo(now))
		srv.Deny(awsfake.DemoPayments, "iam:GetAccountAuthorizationDetails")
		inv := collectortest.Collect(t, newCollector(t, srv, nil))
		g := onlyGap(t, inv, awsfake.DemoPayments)
		if g.Source != "iam:GetAccountAuthorizationDetails" || g.Permission != "iam:GetAccountAuthorizationDetails" || len(g.Facets) != 0 {
			t.Errorf("gap = %+v, want a whole-account gap", g)
		}
	})
	t.Run("organization listing denied", func(t *testing.T) {
		srv := startFake(t, awsfake.Demo(now))
		srv.Deny(awsfake.DemoManagement, "organizations:ListAccounts")
		c := newCollector(t, srv, nil)
		if _, err := c.Collect(context.Background()); !errors.Is(err, collectors.ErrDenied) {
			t.Errorf("Collect error = %v, want ErrDenied", err)
		}
		inv := collectortest.Collect(t, newCollector(t, srv, func(c *awscol.Config) { c.Accounts = []string{awsfake.DemoData} }))
		g := onlyGap(t, inv, awsfake.DemoData)
		if g.Source != "organizations:ListAccounts" || len(inv.Scopes) != 1 || !cmp.Equal(facetsOf(g), []string{"trust"}) {
			t.Errorf("gap %+v scopes %+v", g, inv.Scopes)
		}
	})
}

func TestReportPolling(t *testing.T) {
	srv := startFake(t, awsfake.Demo(now))
	c := newCollector(t, srv, nil)
	collectortest.Collect(t, c)
	first := srv.AccountCalls(awsfake.DemoData)["iam:GenerateCredentialReport"]
	if first < 2 {
		t.Errorf("GenerateCredentialReport = %d, want a poll after STARTED", first)
	}
	srv.ResetCalls()
	collectortest.Collect(t, c)
	calls := srv.AccountCalls(awsfake.DemoData)
	if calls["iam:GenerateCredentialReport"] != 1 || calls["sts:AssumeRole"] != 0 {
		t.Errorf("rescan within 4h: %v (want the cached report and cached credentials)", calls)
	}
}

// TestHungAccountTimesOut: an account whose calls hang past AccountTimeout
// becomes a timeout gap; the other accounts are collected.
func TestHungAccountTimesOut(t *testing.T) {
	srv := startFake(t, awsfake.Demo(now))
	srv.Timeout(awsfake.DemoData, "iam:GetAccountAuthorizationDetails")
	inv := collectortest.Collect(t, newCollector(t, srv, func(c *awscol.Config) { c.AccountTimeout = 300 * time.Millisecond }))
	g := onlyGap(t, inv, awsfake.DemoData)
	if g.Kind != nhi.GapTimeout || g.Source != "iam:GetAccountAuthorizationDetails" {
		t.Errorf("gap = %+v, want timeout", g)
	}
	if len(inv.Identities) != 9 {
		t.Errorf("identities = %d, want the 9 of the other accounts", len(inv.Identities))
	}
}

// TestCallTimeout: a call that hangs becomes a timeout gap on its facet
// after CallTimeout per attempt, not a scan that waits for the API.
func TestCallTimeout(t *testing.T) {
	srv := startFake(t, awsfake.Demo(now))
	srv.SetHang(time.Minute)
	srv.Timeout(awsfake.DemoData, "iam:ListServiceSpecificCredentials")
	start := time.Now()
	inv := collectortest.Collect(t, newCollector(t, srv, func(c *awscol.Config) { c.CallTimeout = 50 * time.Millisecond }))
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("collection took %v", d)
	}
	g := onlyGap(t, inv, awsfake.DemoData)
	if g.Kind != nhi.GapTimeout || g.Source != "iam:ListServiceSpecificCredentials" || !cmp.Equal(facetsOf(g), []string{"credentials:aws-service-specific-credential"}) {
		t.Errorf("gap = %+v, want a timeout hiding the service-specific credentials", g)
	}
	if n := srv.AccountCalls(awsfake.DemoData)["iam:ListServiceSpecificCredentials"]; n != 4 {
		t.Errorf("attempts = %d, want MaxRetries+1 = 4 (a timed-out attempt is retried)", n)
	}
	if len(inv.Identities) != 15 {
		t.Errorf("identities = %d, want 15", len(inv.Identities))
	}
}

func TestExternalID(t *testing.T) {
	seed := awsfake.Demo(now)
	for i := range seed.Accounts {
		for j := range seed.Accounts[i].Roles {
			if seed.Accounts[i].Roles[j].Name == awsfake.DemoRoleName {
				seed.Accounts[i].Roles[j].ExternalID = "nhiscan-7f3a"
			}
		}
	}
	srv := startFake(t, seed)
	inv := collectortest.Collect(t, newCollector(t, srv, nil))
	if len(inv.Gaps) != 3 || len(inv.Identities) != 0 {
		t.Errorf("without the external id: %d gaps, %d identities", len(inv.Gaps), len(inv.Identities))
	}
	inv = collectortest.Collect(t, newCollector(t, srv, func(c *awscol.Config) { c.ExternalID = "nhiscan-7f3a" }))
	if len(inv.Gaps) != 0 || len(inv.Identities) != 15 {
		t.Errorf("with the external id: gaps %+v, %d identities", inv.Gaps, len(inv.Identities))
	}
}
