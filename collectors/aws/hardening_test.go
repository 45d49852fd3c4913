package aws_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/collectors"
	awscol "github.com/nhiscan/nhiscan/collectors/aws"
	"github.com/nhiscan/nhiscan/collectors/aws/awsfake"
	"github.com/nhiscan/nhiscan/collectors/collectortest"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// hookTransport calls after with each request's form body once its response
// has been read in full, so a test can act between two calls.
type hookTransport struct {
	base  http.RoundTripper
	after func(body string)
}

func (h hookTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp, err := h.base.RoundTrip(r)
	if err != nil {
		return resp, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	h.after(string(body))
	return resp, nil
}

// TestKeysNotListedBeforeDeadlineAreAGap: when the account's time runs out
// between two ListAccessKeys calls, the users whose keys were never listed
// must not come back as users without keys and without a gap; that would
// read as "keys removed" on the next diff.
func TestKeysNotListedBeforeDeadlineAreAGap(t *testing.T) {
	srv := startFake(t, awsfake.Demo(now))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	c := newCollector(t, srv, func(c *awscol.Config) {
		c.Organization = false
		c.Accounts = []string{awsfake.DemoPayments}
		c.HTTPClient = &http.Client{Transport: hookTransport{base: srv.Client().Transport, after: func(body string) {
			if strings.Contains(body, "Action=ListAccessKeys") {
				once.Do(cancel)
			}
		}}}
	})
	inv, err := c.Collect(ctx)
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	if n := srv.AccountCalls(awsfake.DemoPayments)["iam:ListAccessKeys"]; n != 1 {
		t.Fatalf("ListAccessKeys calls = %d, want 1 (the context ended after it)", n)
	}
	if inv.Coverage().Observed(nhi.AWS, awsfake.DemoPayments, "credentials:aws-access-key") {
		t.Errorf("keys of a user were never listed, yet they count as observed: gaps %+v", inv.Gaps)
	}
	for _, g := range inv.Gaps {
		if g.Source == "iam:ListAccessKeys" && (!strings.Contains(g.Detail, "1 users") || g.Kind != nhi.GapUnavailable) {
			t.Errorf("gap = %+v, want the count of unlisted users and kind unavailable (cancelled)", g)
		}
	}
}

// TestStaleReport: IAM reuses a credential report for four hours, so a
// rescan reads a report older than the keys. Key state comes from
// ListAccessKeys; usage of a key the report does not know is unknown.
func TestStaleReport(t *testing.T) {
	srv := startFake(t, awsfake.Demo(now))
	c := newCollector(t, srv, nil)
	collectortest.Collect(t, c)
	const newKey = "AKIA333DATAETLRUN002"
	srv.Mutate(awsfake.DemoData, func(a *awsfake.Account) {
		for i := range a.Users {
			if a.Users[i].Name == "data-etl-runner" {
				a.Users[i].AccessKeys[0].Active = false
				a.Users[i].AccessKeys = append(a.Users[i].AccessKeys, awsfake.AccessKey{ID: newKey, Active: true, Created: now})
			}
		}
	})
	srv.ResetCalls()
	id := byName(t, collectortest.Collect(t, c), awsfake.DemoData, "data-etl-runner")
	if n := srv.AccountCalls(awsfake.DemoData)["iam:GenerateCredentialReport"]; n != 1 {
		t.Fatalf("GenerateCredentialReport = %d, want 1 (the cached report)", n)
	}
	old, _ := id.Credential("AKIA333DATAETLRUN001")
	if old == nil || old.Status != nhi.StatusDisabled || old.Usage.State != nhi.UsageNeverUsed {
		t.Errorf("old key = %+v, want disabled (from ListAccessKeys) and never used (from the report)", old)
	}
	fresh, ok := id.Credential(newKey)
	if !ok || fresh.Status != nhi.StatusActive || fresh.Usage.State != nhi.UsageUnknown || fresh.Usage.Reason == "" {
		t.Errorf("key created after the report = %+v, want active with unknown usage", fresh)
	}
}

// TestReportRowOfRecreatedUser: a user deleted and created again under the
// same name after the report was generated must not inherit the old user's
// report row: not its usage, and not its "no keys" (which would skip
// ListAccessKeys and lose the new user's keys).
func TestReportRowOfRecreatedUser(t *testing.T) {
	seed := awsfake.Demo(now)
	for i := range seed.Accounts {
		if seed.Accounts[i].ID == awsfake.DemoData {
			seed.Accounts[i].Users = append(seed.Accounts[i].Users,
				awsfake.User{Name: "svc-recreated", ID: "AIDA333RECREATEOLD01", Created: now.AddDate(0, 0, -50), PasswordEnabled: true, PasswordLastUsed: now.AddDate(0, 0, -3)})
		}
	}
	srv := startFake(t, seed)
	c := newCollector(t, srv, nil)
	collectortest.Collect(t, c)
	srv.Mutate(awsfake.DemoData, func(a *awsfake.Account) {
		for i := range a.Users {
			if a.Users[i].Name == "svc-recreated" {
				a.Users[i] = awsfake.User{Name: "svc-recreated", ID: "AIDA333RECREATENEW01", Created: now.Add(-time.Minute),
					AccessKeys: []awsfake.AccessKey{{ID: "AKIA333RECREATENEW01", Active: true, Created: now.Add(-time.Minute)}}}
			}
		}
	})
	id := byName(t, collectortest.Collect(t, c), awsfake.DemoData, "svc-recreated")
	if id.NativeID != "AIDA333RECREATENEW01" {
		t.Fatalf("collected %s", id.NativeID)
	}
	if len(id.Credentials) != 1 {
		t.Errorf("credentials = %+v, want the new user's key", id.Credentials)
	}
	if id.Usage.State != nhi.UsageUnknown || id.Attributes["password_enabled"] != "" {
		t.Errorf("usage %+v, attributes %v: the old user's report row leaked onto the new user", id.Usage, id.Attributes)
	}
}

// TestOrganizationListingFailsMidway: when ListAccounts fails after some
// pages, the accounts listed are scanned, instead of failing the whole
// collection. The accounts not listed are not in Scopes (not collected),
// and the trust facet of every scanned account is hidden: a trust policy
// naming a member account that was not listed would look external.
func TestOrganizationListingFailsMidway(t *testing.T) {
	srv := startFake(t, awsfake.Demo(now))
	srv.SetPageSize(2)
	srv.DenyAfter(awsfake.DemoManagement, "organizations:ListAccounts", 1)
	inv := collectortest.Collect(t, newCollector(t, srv, nil))
	if len(inv.Scopes) != 2 || inv.Scopes[0].ID != awsfake.DemoManagement || inv.Scopes[1].ID != awsfake.DemoPayments {
		t.Errorf("scopes = %+v, want the two accounts of the first page", inv.Scopes)
	}
	if len(inv.Gaps) != 2 {
		t.Fatalf("gaps = %+v, want one per scanned account", inv.Gaps)
	}
	for i, g := range inv.Gaps {
		if g.Scope != inv.Scopes[i].ID || g.Source != "organizations:ListAccounts" || g.Kind != nhi.GapDenied || !cmp.Equal(facetsOf(g), []string{"trust"}) {
			t.Errorf("gap = %+v", g)
		}
	}
	observed(t, inv, awsfake.DemoPayments, map[nhi.Facet]bool{"trust": false, "identities": true, "credentials": true, "grants": true})
	if inv.Coverage().Collected(nhi.AWS, awsfake.DemoData) {
		t.Error("an account that was not listed counts as collected")
	}
	if len(inv.Identities) == 0 {
		t.Error("the listed accounts were not scanned")
	}
}

// TestOwnerHintsOncePerValue: tag keys are matched without regard to case,
// so owner_tag_keys [owner, Owner] (as in the README) or tags "owner" and
// "Owner" with one value must give one hint, not two.
func TestOwnerHintsOncePerValue(t *testing.T) {
	seed := awsfake.Demo(now)
	for i := range seed.Accounts {
		for j := range seed.Accounts[i].Users {
			if u := &seed.Accounts[i].Users[j]; u.Name == "data-etl-runner" {
				u.Tags["Owner"] = " Frank.Li@acme.example"
			}
		}
	}
	inv := collectortest.Collect(t, newCollector(t, startFake(t, seed), func(c *awscol.Config) { c.OwnerTagKeys = []string{"owner", "Owner"} }))
	for _, name := range []string{"payments-ci-deployer", "data-etl-runner"} {
		for _, id := range inv.Identities {
			if id.Name == name && len(id.OwnerHints) != 1 {
				t.Errorf("%s owner hints = %+v, want one", name, id.OwnerHints)
			}
		}
	}
}

// twinKeys gives payments-ci-deployer two keys created in the same second
// (the credential report's join key) and used differently.
func twinKeys() awsfake.Seed {
	seed := awsfake.Demo(now)
	created := now.AddDate(0, 0, -100)
	for i := range seed.Accounts {
		for j := range seed.Accounts[i].Users {
			if u := &seed.Accounts[i].Users[j]; u.Name == "payments-ci-deployer" {
				u.AccessKeys = []awsfake.AccessKey{
					{ID: "AKIA222PAYCITWINA001", Active: true, Created: created, LastUsed: now.AddDate(0, 0, -1), LastUsedService: "ecs", LastUsedRegion: "eu-west-1"},
					{ID: "AKIA222PAYCITWINB001", Active: true, Created: created},
				}
			}
		}
	}
	return seed
}

// TestKeysCreatedInTheSameSecond: the report joins to keys on creation
// time at one-second precision; two keys created in the same second and
// used differently must not both take one slot's use (a dormant key would
// look used). GetAccessKeyLastUsed is read for exactly those two keys.
func TestKeysCreatedInTheSameSecond(t *testing.T) {
	srv := startFake(t, twinKeys())
	id := byName(t, collectortest.Collect(t, newCollector(t, srv, nil)), awsfake.DemoPayments, "payments-ci-deployer")
	want := map[string]nhi.Usage{
		"AKIA222PAYCITWINA001": {State: nhi.UsageUsed, LastUsed: now.AddDate(0, 0, -1), Source: "access-key-last-used", AsOf: now},
		"AKIA222PAYCITWINB001": {State: nhi.UsageNeverUsed, Source: "access-key-last-used", AsOf: now},
	}
	for _, k := range id.Credentials {
		if diff := cmp.Diff(want[k.ID], k.Usage); diff != "" {
			t.Errorf("%s usage (-want +got):\n%s", k.ID, diff)
		}
	}
	if a, _ := id.Credential("AKIA222PAYCITWINA001"); a.Attributes["last_used_service"] != "ecs" || a.Attributes["last_used_region"] != "eu-west-1" {
		t.Errorf("attributes = %v", a.Attributes)
	}
	if id.Usage.State != nhi.UsageUsed {
		t.Errorf("identity usage = %+v: the user was used", id.Usage)
	}
	if n := srv.CallCount("iam:GetAccessKeyLastUsed"); n != 2 {
		t.Errorf("GetAccessKeyLastUsed called %d times, want 2 (only the twin keys)", n)
	}
}

// TestKeyLastUsedDenied: without GetAccessKeyLastUsed the twin keys' usage
// is unknown, and the gap hides that usage source only.
func TestKeyLastUsedDenied(t *testing.T) {
	srv := startFake(t, twinKeys())
	srv.Deny(awsfake.DemoPayments, "iam:GetAccessKeyLastUsed")
	inv, err := newCollector(t, srv, nil).Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	id := byName(t, inv, awsfake.DemoPayments, "payments-ci-deployer")
	for _, k := range id.Credentials {
		if k.Usage.State != nhi.UsageUnknown || !strings.Contains(k.Usage.Reason, "GetAccessKeyLastUsed failed (denied") {
			t.Errorf("%s usage = %+v, want unknown", k.ID, k.Usage)
		}
	}
	g := onlyGap(t, inv, awsfake.DemoPayments)
	if g.Source != "iam:GetAccessKeyLastUsed" || g.Permission != "iam:GetAccessKeyLastUsed" || !slices.Equal(facetsOf(g), []string{"usage:access-key-last-used"}) {
		t.Errorf("gap = %+v", g)
	}
	observed(t, inv, awsfake.DemoPayments, map[nhi.Facet]bool{
		"usage:access-key-last-used": false, "usage:credential-report": true, "credentials:aws-access-key": true, "identities:aws-iam-user": true,
	})
}

// inflightTransport records the most requests in flight at once.
type inflightTransport struct {
	base     http.RoundTripper
	mu       sync.Mutex
	now, max int
}

func (c *inflightTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.now++
	c.max = max(c.max, c.now)
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.now--
		c.mu.Unlock()
	}()
	return c.base.RoundTrip(r)
}

// TestConcurrencyLimit: accounts are collected concurrently, one call at a
// time per account, never more accounts at once than Concurrency (16 by
// default).
func TestConcurrencyLimit(t *testing.T) {
	for _, tc := range []struct{ set, want int }{{0, awscol.DefaultConcurrency}, {3, 3}} {
		srv := startFake(t, awsfake.Synthetic(20, 4, now))
		srv.SetLatency(10 * time.Millisecond)
		tr := &inflightTransport{base: srv.Client().Transport}
		inv := collectortest.Collect(t, newCollector(t, srv, func(c *awscol.Config) {
			c.Concurrency = tc.set
			c.HTTPClient = &http.Client{Transport: tr}
		}))
		if len(inv.Scopes) != 20 || len(inv.Gaps) != 0 {
			t.Fatalf("scopes %d, gaps %+v", len(inv.Scopes), inv.Gaps)
		}
		if tr.max != tc.want {
			t.Errorf("concurrency %d: at most %d calls in flight, want %d", tc.set, tr.max, tc.want)
		}
	}
}

// TestPagingOneItemPerPage: every list call, ListAccessKeys and
// ListServiceSpecificCredentials included, pages at one item a page
// without losing or repeating an item.
func TestPagingOneItemPerPage(t *testing.T) {
	seed := awsfake.Demo(now)
	for i := range seed.Accounts {
		for j := range seed.Accounts[i].Users {
			if u := &seed.Accounts[i].Users[j]; u.Name == "data-airflow-svc" {
				u.ServiceCreds = append(u.ServiceCreds, awsfake.ServiceCred{ID: "ACCA333AIRFLOWCCOMM01", ServiceName: "codecommit.amazonaws.com",
					Password: "paging-secret-codecommit-password", Active: true, Created: now.AddDate(0, 0, -20)})
			}
		}
	}
	want := collectortest.Collect(t, newCollector(t, startFake(t, seed), nil))
	srv := startFake(t, seed)
	srv.SetPageSize(1)
	got := collectortest.Collect(t, newCollector(t, srv, nil))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("inventory at one item a page differs (-100 +1):\n%s", diff)
	}
	pay, data := srv.AccountCalls(awsfake.DemoPayments), srv.AccountCalls(awsfake.DemoData)
	if pay["iam:ListAccessKeys"] != 3 || data["iam:ListServiceSpecificCredentials"] != 2 || srv.CallCount("organizations:ListAccounts") != 4 {
		t.Errorf("pages: payments ListAccessKeys %d (want 3), data ListServiceSpecificCredentials %d (want 2), ListAccounts %d (want 4)",
			pay["iam:ListAccessKeys"], data["iam:ListServiceSpecificCredentials"], srv.CallCount("organizations:ListAccounts"))
	}
	if id := byName(t, got, awsfake.DemoData, "data-airflow-svc"); len(id.Credentials) != 3 {
		t.Errorf("data-airflow-svc credentials = %d, want 3", len(id.Credentials))
	}
}

// TestSuspendedMemberIsNotExternal: a role trusting an organisation
// account that is suspended (listed, not scanned) trusts a member of the
// organisation, not an external account.
func TestSuspendedMemberIsNotExternal(t *testing.T) {
	seed := awsfake.Demo(now)
	for i := range seed.Accounts {
		if seed.Accounts[i].ID == awsfake.DemoData {
			seed.Accounts[i].Roles = append(seed.Accounts[i].Roles, awsfake.Role{Name: "sandbox-migration", ID: "AROA333SANDBOXMIG001", Created: now.AddDate(0, 0, -10),
				Trust: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + awsfake.DemoSandbox + `:root"},"Action":"sts:AssumeRole"}]}`})
		}
	}
	id := byName(t, collectortest.Collect(t, newCollector(t, startFake(t, seed), nil)), awsfake.DemoData, "sandbox-migration")
	if hasSignal(id.Signals, nhi.SignalWeakTrust) || id.Attributes["trusted_external_accounts"] != "" {
		t.Errorf("signals %+v, attributes %v: a suspended member account is not external", id.Signals, id.Attributes)
	}
}

// TestIdentityCenterRolesAreAWSManaged: the AWSReservedSSO_* roles under
// /aws-reserved/ are created and owned by IAM Identity Center for people
// signing in; like service-linked roles they are provider-managed and
// cannot be quarantined.
func TestIdentityCenterRolesAreAWSManaged(t *testing.T) {
	seed := awsfake.Demo(now)
	for i := range seed.Accounts {
		if seed.Accounts[i].ID == awsfake.DemoData {
			seed.Accounts[i].Roles = append(seed.Accounts[i].Roles, awsfake.Role{Name: "AWSReservedSSO_DataEngineer_0123456789abcdef",
				ID: "AROA333SSODATAENG001", Path: "/aws-reserved/sso.amazonaws.com/eu-west-1/", Created: now.AddDate(0, 0, -200),
				Trust: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::333333333333:saml-provider/AWSSSO_0123_DO_NOT_DELETE"},"Action":["sts:AssumeRoleWithSAML","sts:TagSession"]}]}`})
		}
	}
	srv := startFake(t, seed)
	c := newCollector(t, srv, nil)
	ctl := newControls(t, srv, nil)
	id := byName(t, collectortest.Collect(t, c), awsfake.DemoData, "AWSReservedSSO_DataEngineer_0123456789abcdef")
	if !id.ProviderManaged {
		t.Error("Identity Center role not provider-managed")
	}
	if _, err := ctl.Act(context.Background(), awsAction(id)); !errors.Is(err, collectors.ErrUnsupported) {
		t.Errorf("quarantine: %v, want ErrUnsupported", err)
	}
}

func awsAction(id nhi.Identity) collectors.ActionRequest {
	return collectors.ActionRequest{Action: collectors.Disable, Identity: id}
}

// TestUsageAsOfIsReportTime: user and key usage are as of the credential
// report's generation time, not the scan time; role usage is as of the
// scan. Owner hints follow the configured tag keys.
func TestUsageAsOfIsReportTime(t *testing.T) {
	later := now.Add(3 * time.Hour) // the fake generated its report at now
	inv := collectortest.Collect(t, newCollector(t, startFake(t, awsfake.Demo(now)), func(c *awscol.Config) {
		c.Now = func() time.Time { return later }
		c.OwnerTagKeys = []string{"TEAM"}
	}))
	etl := byName(t, inv, awsfake.DemoData, "data-etl-runner")
	if !etl.Usage.AsOf.Equal(now) || !etl.Credentials[0].Usage.AsOf.Equal(now) {
		t.Errorf("user usage as of %v, key usage as of %v, want the report time %v", etl.Usage.AsOf, etl.Credentials[0].Usage.AsOf, now)
	}
	if role := byName(t, inv, awsfake.DemoPayments, "payments-api-runtime"); !role.Usage.AsOf.Equal(later) {
		t.Errorf("role usage as of %v, want the scan time %v", role.Usage.AsOf, later)
	}
	if len(etl.OwnerHints) != 1 || etl.OwnerHints[0].Value != "data" {
		t.Errorf("owner hints from tag key TEAM = %+v, want [data]", etl.OwnerHints)
	}
}

// TestServiceCredentialListFails: a 500 on ListServiceSpecificCredentials
// (as an emulator answered) hides the service-specific credentials of that
// account and nothing else: its identities, keys, grants, usage and login
// are observed and unchanged, and no other account is touched. A user the
// report shows never used is not claimed never used, since it may hold a
// service-specific credential.
func TestServiceCredentialListFails(t *testing.T) {
	clean := collectortest.Collect(t, newCollector(t, startFake(t, awsfake.Demo(now)), nil))
	srv := startFake(t, awsfake.Demo(now))
	srv.Fail(awsfake.DemoData, "iam:ListServiceSpecificCredentials", 500)
	inv := collectortest.Collect(t, newCollector(t, srv, nil))
	g := onlyGap(t, inv, awsfake.DemoData)
	if g.Source != "iam:ListServiceSpecificCredentials" || g.Kind != nhi.GapError || g.Permission != "" ||
		!cmp.Equal(facetsOf(g), []string{"credentials:aws-service-specific-credential"}) {
		t.Errorf("gap = %+v", g)
	}
	observed(t, inv, awsfake.DemoData, map[nhi.Facet]bool{
		"credentials:aws-service-specific-credential": false, "credentials:aws-access-key": true,
		"identities": true, "grants": true, "usage": true, "login": true, "trust": true, "ownership": true,
	})
	for _, want := range clean.Identities {
		got, ok := inv.Identity(want.ID)
		if !ok {
			t.Errorf("%s missing", want.Name)
			continue
		}
		if want.Scope != awsfake.DemoData || want.Kind == nhi.KindAWSRole {
			if diff := cmp.Diff(want, *got); diff != "" {
				t.Errorf("%s changed (-clean +faulty):\n%s", want.Name, diff)
			}
			continue
		}
		var keys []nhi.Credential
		for _, c := range want.Credentials {
			if c.Type == nhi.CredAWSAccessKey {
				keys = append(keys, c)
			}
		}
		if diff := cmp.Diff(keys, got.Credentials); diff != "" {
			t.Errorf("%s credentials (-clean keys +faulty):\n%s", want.Name, diff)
		}
		if diff := cmp.Diff(want.Grants, got.Grants); diff != "" {
			t.Errorf("%s grants changed:\n%s", want.Name, diff)
		}
		if want.Attributes["password_enabled"] != got.Attributes["password_enabled"] || got.Attributes["service_specific_credentials"] == "" {
			t.Errorf("%s attributes %v", want.Name, got.Attributes)
		}
		if got.Usage.State == nhi.UsageNeverUsed {
			t.Errorf("%s claimed never used without its service-specific credentials: %+v", want.Name, got.Usage)
		}
	}
}

// TestMixedUseWithoutKeyList: the mixed-use signal reads the login state;
// when ListAccessKeys is refused it still comes from the credential
// report's active-key columns, instead of disappearing (which would
// resolve a finding that still holds).
func TestMixedUseWithoutKeyList(t *testing.T) {
	srv := startFake(t, awsfake.Demo(now))
	srv.Deny(awsfake.DemoData, "iam:ListAccessKeys")
	inv := collectortest.Collect(t, newCollector(t, srv, nil))
	id := byName(t, inv, awsfake.DemoData, "data-analyst-shared")
	if len(id.Credentials) != 0 || !hasSignal(id.Signals, nhi.SignalMixedUse) {
		t.Errorf("credentials %+v, signals %+v: want no keys and the mixed-use signal", id.Credentials, id.Signals)
	}
}
