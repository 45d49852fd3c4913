package aws_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/nhiscan/nhiscan/analyzer"
	awscol "github.com/nhiscan/nhiscan/collectors/aws"
	"github.com/nhiscan/nhiscan/collectors/aws/awsfake"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

// motoShift is how far after seeding the scan and the analysis pretend to
// run: moto stamps every creation and use with the wall clock, so keys,
// users and uses are all motoShift old at the evaluation time.
const motoShift = 120 * 24 * time.Hour

const (
	policyS3Read   = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
	policyEC2Full  = "arn:aws:iam::aws:policy/AmazonEC2FullAccess"
	policyAdmin    = "arn:aws:iam::aws:policy/AdministratorAccess"
	policyReadOnly = "arn:aws:iam::aws:policy/ReadOnlyAccess"
	policyExposed  = "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV2"
	serviceTrust   = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
)

// motoCatalog is the owned-role catalog of the scenario; %[1]s is the
// payments account, %[2]s the data account.
const motoCatalog = `defaults:
  dormant_after: 90d
  max_credential_age: 90d
  never_used_grace: 7d
  expiring_soon: 30d
  usage_freshness: 7d
  owner_tag_keys: [owner]
people:
  - { id: alice@acme.example, name: Alice Nguyen, status: active, team: platform }
  - { id: dan@acme.example, name: Dan Okafor, status: departed, departed: 2020-01-31, team: payments }
  - { id: henry@acme.example, name: Henry Adams, status: active, team: data }
  - { id: liam@acme.example, name: Liam Wilson, status: active, team: payments }
roles:
  - id: payments-app
    purpose: The payments service's CI and runtime identities
    business_owner: henry@acme.example
    technical_owner: liam@acme.example
    team: payments
    allowed:
      - { provider: aws, entitlement: "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess" }
    members:
      - { provider: aws, scope: "%[1]s", name: "pay-*" }
  - id: data-strict
    purpose: Data workloads that must use workload identity
    business_owner: alice@acme.example
    technical_owner: alice@acme.example
    team: platform
    allowed:
      - { provider: aws, entitlement: "*" }
    credentials: { workload_identity_required: true, expiry_required: true }
    members:
      - { provider: aws, scope: "%[2]s", name: "strict-*" }
`

// motoScenario holds what the seeding created that the checks need.
type motoScenario struct {
	mgmt, pay, data motoAccount
	twinA, twinB    string // pay-ci's keys, created in the same second; A used
	humanKey        string
}

// seedMotoScenario seeds, through the AWS SDK, one or more identities for
// every finding family AWS data can produce (see TestAgainstMoto).
func seedMotoScenario(t *testing.T, m *motoServer) motoScenario {
	t.Helper()
	ctx := context.Background()
	accts := m.createAccounts(t, "acme-payments", "acme-data")
	s := motoScenario{mgmt: accts[0], pay: accts[1], data: accts[2]}
	pay, data := s.pay.iam, s.data.iam

	// pay-ci: two keys created in the same second, one used (twin keys),
	// an allowed and an out-of-baseline policy.
	user(t, pay, "pay-ci", "owner", "liam@acme.example")
	attachUser(t, pay, "pay-ci", policyS3Read, policyEC2Full)
	var secretA string
	s.twinA, secretA, s.twinB = motoTwinKeys(t, pay, "pay-ci")
	use(t, m, s.twinA, secretA)

	// human-shared: console password and a key, AdministratorAccess, a
	// departed owner.
	user(t, pay, "human-shared", "owner", "dan@acme.example")
	attachUser(t, pay, "human-shared", policyAdmin)
	must(t, "login profile", func() error {
		_, err := pay.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String("human-shared"), Password: aws.String("Moto-Test-Passw0rd!")})
		return err
	})
	s.humanKey, _ = accessKey(t, pay, "human-shared")

	// exposed-user: AWS quarantined one of its keys.
	user(t, pay, "exposed-user", "owner", "liam@acme.example")
	accessKey(t, pay, "exposed-user")
	attachUser(t, pay, "exposed-user", policyExposed)

	// ghost-owner: owner tag names nobody known; no credential at all.
	user(t, pay, "ghost-owner", "owner", "nobody@acme.example")

	// loose-role: no owner, no catalog role, never used.
	role(t, pay, &iam.CreateRoleInput{RoleName: aws.String("loose-role"), AssumeRolePolicyDocument: aws.String(serviceTrust)})
	// pay-quarantined: disabled by nhiscan, never used since.
	role(t, pay, &iam.CreateRoleInput{RoleName: aws.String("pay-quarantined"), AssumeRolePolicyDocument: aws.String(serviceTrust),
		Tags: iamTags("owner", "liam@acme.example")})
	must(t, "quarantine", func() error {
		_, err := pay.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("pay-quarantined"), PolicyName: aws.String(awscol.QuarantinePolicy),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`)})
		return err
	})
	// One role per kind of trust nhiscan judges.
	for _, r := range awsfake.TrustRoles(s.pay.id, awsfake.DemoExternalAccount, time.Now()) {
		role(t, pay, &iam.CreateRoleInput{RoleName: aws.String(r.Name), Path: aws.String(r.Path), AssumeRolePolicyDocument: aws.String(r.Trust)})
	}

	// strict-etl: a static key where the catalog requires workload identity.
	user(t, data, "strict-etl", "owner", "alice@acme.example")
	accessKey(t, data, "strict-etl")
	// described-role: the details reviewers need.
	role(t, data, &iam.CreateRoleInput{RoleName: aws.String("described-role"), Path: aws.String("/apps/data/"),
		AssumeRolePolicyDocument: aws.String(serviceTrust), Description: aws.String("ETL runner <b>owned by</b> data"),
		MaxSessionDuration: aws.Int32(7200), PermissionsBoundary: aws.String(policyReadOnly), Tags: iamTags("owner", "henry@acme.example")})
	return s
}

func user(t *testing.T, c *iam.Client, name string, tags ...string) {
	t.Helper()
	must(t, "create user "+name, func() error {
		_, err := c.CreateUser(context.Background(), &iam.CreateUserInput{UserName: aws.String(name), Tags: iamTags(tags...)})
		return err
	})
}

func role(t *testing.T, c *iam.Client, in *iam.CreateRoleInput) {
	t.Helper()
	must(t, "create role "+aws.ToString(in.RoleName), func() error {
		_, err := c.CreateRole(context.Background(), in)
		return err
	})
}

func attachUser(t *testing.T, c *iam.Client, name string, arns ...string) {
	t.Helper()
	for _, a := range arns {
		must(t, "attach "+a, func() error {
			_, err := c.AttachUserPolicy(context.Background(), &iam.AttachUserPolicyInput{UserName: aws.String(name), PolicyArn: aws.String(a)})
			return err
		})
	}
}

// accessKey creates an access key and returns its id and secret (kept in
// the test only, to use the key).
func accessKey(t *testing.T, c *iam.Client, name string) (string, string) {
	t.Helper()
	out, err := c.CreateAccessKey(context.Background(), &iam.CreateAccessKeyInput{UserName: aws.String(name)})
	if err != nil {
		t.Fatalf("create access key for %s: %v", name, err)
	}
	return aws.ToString(out.AccessKey.AccessKeyId), aws.ToString(out.AccessKey.SecretAccessKey)
}

// motoTwinKeys creates two keys of a user within one second (the credential
// report's precision), retrying when a second boundary falls between
// them; it returns the first key's id and secret and the second's id.
func motoTwinKeys(t *testing.T, c *iam.Client, name string) (string, string, string) {
	t.Helper()
	ctx := context.Background()
	for range 5 {
		a, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		b, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToTime(a.AccessKey.CreateDate).Truncate(time.Second).Equal(aws.ToTime(b.AccessKey.CreateDate).Truncate(time.Second)) {
			return aws.ToString(a.AccessKey.AccessKeyId), aws.ToString(a.AccessKey.SecretAccessKey), aws.ToString(b.AccessKey.AccessKeyId)
		}
		for _, k := range []*string{a.AccessKey.AccessKeyId, b.AccessKey.AccessKeyId} {
			_, _ = c.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String(name), AccessKeyId: k})
		}
	}
	t.Fatal("could not create two keys within one second")
	return "", "", ""
}

// use makes one call with an access key: moto records it as the key's
// last use, as IAM would.
func use(t *testing.T, m *motoServer, id, secret string) {
	t.Helper()
	c := iam.NewFromConfig(m.sdkConfig(credentials.NewStaticCredentialsProvider(id, secret, "")))
	must(t, "use key", func() error {
		_, err := c.ListAccountAliases(context.Background(), &iam.ListAccountAliasesInput{})
		return err
	})
}

// TestAgainstMoto runs the real collector against moto, an AWS emulator
// written by others, in organisation mode over three accounts, then the
// analyzer over its inventory, and checks that every finding family AWS
// data can produce appears where the scenario put it: orphaned,
// owner-moved, dormant, over-privileged, long-lived, unmapped, risky
// config, and (after changes made through the SDK) drift. moto lacks
// iam:ListServiceSpecificCredentials (it answers 500): the test asserts a
// gap on that facet only, in each account with users, and that nothing
// else is hidden. Expiring service-specific credentials (Bedrock API keys)
// cannot be seeded there.
func TestAgainstMoto(t *testing.T) {
	m := startMoto(t)
	s := seedMotoScenario(t, m)
	now := time.Now().UTC().Add(motoShift).Truncate(time.Second)
	cat := motoCatalogFor(t, s, now)
	c, err := awscol.New(m.collectorConfig(now))
	if err != nil {
		t.Fatal(err)
	}
	inv1 := collectMoto(t, c, s)
	checkMotoMapping(t, s, inv1)
	res1 := analyzer.Analyze(analyzer.Input{Inventory: inv1, Catalog: cat, Now: now})
	expectFindings(t, "first scan", res1.Findings, []want{
		{"orphaned-owner-departed", "human-shared"}, {"orphaned-owner-unknown", "ghost-owner"}, {"orphaned-no-owner", "loose-role"},
		{"owner-moved-team", "pay-ci"},
		{"dormant-identity", "pay-ci"}, {"dormant-credential", "pay-ci"}, {"never-used-credential", "pay-ci"},
		{"never-used-identity", "loose-role"}, {"disabled-identity-lingering", "pay-quarantined"},
		{"usage-unknown", "ghost-owner"}, {"usage-data-stale", "pay-ci"},
		{"privileged-grant", "human-shared"}, {"grant-outside-baseline", "pay-ci"},
		{"credential-too-old", "pay-ci"}, {"multiple-active-keys", "pay-ci"},
		{"static-credential-not-allowed", "strict-etl"}, {"credential-no-expiry", "strict-etl"},
		{"unmapped-identity", "loose-role"}, {"unmapped-identity", "human-shared"},
		{"mixed-human-use", "human-shared"}, {"credential-exposed", "exposed-user"},
	})
	expectNone(t, res1.Findings, []want{
		{"mixed-human-use", "pay-ci"}, {"privileged-grant", "pay-ci"}, {"credential-exposed", "pay-ci"},
		{"orphaned-no-owner", "pay-ci"}, {"unmapped-identity", "pay-ci"},
	})
	checkTrustFindings(t, res1.Findings)

	mutateMotoScenario(t, m, s)
	inv2 := collectMoto(t, c, s)
	res2 := analyzer.Analyze(analyzer.Input{Inventory: inv2, Catalog: cat, Previous: &inv1, Now: now})
	expectFindings(t, "second scan", res2.Findings, []want{
		{"drift-identity-added", "pay-new"}, {"drift-identity-removed", "ghost-owner"},
		{"drift-credential-added", "exposed-user"}, {"drift-credential-removed", "human-shared"},
		{"drift-grant-added", "loose-role"}, {"drift-grant-removed", "human-shared"},
		{"drift-owner-changed", "loose-role"},
	})
	expectNone(t, res2.Findings, []want{{"mixed-human-use", "human-shared"}, {"privileged-grant", "human-shared"}, {"orphaned-no-owner", "loose-role"}})
	families := map[string]bool{}
	for _, f := range append(res1.Findings, res2.Findings...) {
		families[f.Family] = true
	}
	if got := mapKeys(families); !slices.Equal(got, slices.Sorted(slices.Values(nhi.Families))) {
		t.Errorf("finding families %v, want every family %v", got, nhi.Families)
	}
	t.Logf("moto: %d identities in %d accounts; %d and %d findings; %d requests for two scans", len(inv1.Identities), len(inv1.Scopes),
		len(res1.Findings), len(res2.Findings), m.calls.Load())
}

func motoCatalogFor(t *testing.T, s motoScenario, now time.Time) *catalog.Catalog {
	t.Helper()
	path := filepath.Join(t.TempDir(), "catalog.yaml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(motoCatalog, s.pay.id, s.data.id)), 0o600); err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Load(now, path)
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// collectMoto collects and checks the coverage: the inventory is valid,
// the three accounts are scopes, and the only gaps are moto's missing
// ListServiceSpecificCredentials, hiding that facet only.
func collectMoto(t *testing.T, c *awscol.Collector, s motoScenario) nhi.Inventory {
	t.Helper()
	inv, err := c.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := inv.Validate(); err != nil {
		t.Fatalf("invalid inventory: %v", err)
	}
	var scopes []string
	for _, sc := range inv.Scopes {
		scopes = append(scopes, sc.ID)
	}
	want := []string{s.mgmt.id, s.pay.id, s.data.id}
	slices.Sort(want)
	if !slices.Equal(scopes, want) {
		t.Fatalf("scopes %v, want %v", scopes, want)
	}
	gapped := map[string]bool{}
	for _, g := range inv.Gaps {
		if g.Source != "iam:ListServiceSpecificCredentials" || !slices.Equal(facetsOf(g), []string{"credentials:aws-service-specific-credential"}) {
			t.Errorf("unexpected gap %+v", g)
		}
		gapped[g.Scope] = true
	}
	cov := inv.Coverage()
	for _, sc := range inv.Scopes {
		for _, f := range sc.Facets {
			hidden := f == "credentials:aws-service-specific-credential" && gapped[sc.ID]
			if cov.Observed(nhi.AWS, sc.ID, f) == hidden {
				t.Errorf("%s %s observed = %v", sc.ID, f, !hidden)
			}
		}
	}
	if !gapped[s.pay.id] || !gapped[s.data.id] {
		t.Errorf("moto's ListServiceSpecificCredentials failure is not a gap in every account with users: %v", gapped)
	}
	return inv
}

// checkMotoMapping checks what the collector read from moto beyond the
// findings: the twin keys' usage from GetAccessKeyLastUsed, the role
// details, and that no secret reached the inventory.
func checkMotoMapping(t *testing.T, s motoScenario, inv nhi.Inventory) {
	t.Helper()
	ci := byName(t, inv, s.pay.id, "pay-ci")
	a, _ := ci.Credential(s.twinA)
	b, _ := ci.Credential(s.twinB)
	if a.Usage.State != nhi.UsageUsed || a.Usage.Source != "access-key-last-used" || a.Attributes["last_used_service"] != "iam" {
		t.Errorf("used twin key: %+v %v", a.Usage, a.Attributes)
	}
	if b.Usage.State != nhi.UsageNeverUsed || b.Usage.Source != "access-key-last-used" {
		t.Errorf("unused twin key: %+v", b.Usage)
	}
	d := byName(t, inv, s.data.id, "described-role")
	if d.Path != "/apps/data/" || d.Attributes["description"] != "ETL runner <b>owned by</b> data" ||
		d.Attributes["max_session_duration_seconds"] != "7200" || d.Attributes["permissions_boundary"] != policyReadOnly {
		t.Errorf("described-role: path %q, attributes %v", d.Path, d.Attributes)
	}
	h := byName(t, inv, s.pay.id, "human-shared")
	if h.Attributes["password_enabled"] != "true" || !hasSignal(h.Signals, nhi.SignalMixedUse) {
		t.Errorf("human-shared: %v %+v", h.Attributes, h.Signals)
	}
}

type want struct{ rule, identity string }

func findingSet(fs []nhi.Finding) map[want]bool {
	out := map[want]bool{}
	for _, f := range fs {
		out[want{f.RuleID, f.IdentityName}] = true
	}
	return out
}

func expectFindings(t *testing.T, what string, fs []nhi.Finding, ws []want) {
	t.Helper()
	got := findingSet(fs)
	families := map[string]bool{}
	for _, f := range fs {
		families[f.Family] = true
	}
	for _, w := range ws {
		if !got[w] {
			t.Errorf("%s: no %s finding on %s", what, w.rule, w.identity)
		}
	}
	t.Logf("%s: %d findings in families %v", what, len(fs), mapKeys(families))
}

func expectNone(t *testing.T, fs []nhi.Finding, ws []want) {
	t.Helper()
	got := findingSet(fs)
	for _, w := range ws {
		if got[w] {
			t.Errorf("unexpected %s finding on %s", w.rule, w.identity)
		}
	}
}

// checkTrustFindings: every weak-… trust role has a weak-trust-policy
// finding and no ok-… role has one.
func checkTrustFindings(t *testing.T, fs []nhi.Finding) {
	t.Helper()
	got := findingSet(fs)
	for _, r := range awsfake.TrustRoles("000000000000", awsfake.DemoExternalAccount, time.Now()) {
		if weak := strings.HasPrefix(r.Name, "weak-"); got[want{"weak-trust-policy", r.Name}] != weak {
			t.Errorf("%s: weak-trust-policy finding %v, want %v", r.Name, !weak, weak)
		}
	}
}

// mutateMotoScenario changes the accounts between two scans, as someone
// in the console would.
func mutateMotoScenario(t *testing.T, m *motoServer, s motoScenario) {
	t.Helper()
	ctx := context.Background()
	pay := s.pay.iam
	steps := []struct {
		what string
		f    func() error
	}{
		{"delete human-shared's key", func() error {
			_, err := pay.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("human-shared"), AccessKeyId: aws.String(s.humanKey)})
			return err
		}},
		{"detach AdministratorAccess", func() error {
			_, err := pay.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: aws.String("human-shared"), PolicyArn: aws.String(policyAdmin)})
			return err
		}},
		{"create pay-new", func() error {
			_, err := pay.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("pay-new")})
			return err
		}},
		{"attach ReadOnlyAccess to loose-role", func() error {
			_, err := pay.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("loose-role"), PolicyArn: aws.String(policyReadOnly)})
			return err
		}},
		{"tag loose-role with an owner", func() error {
			_, err := pay.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("loose-role"), Tags: iamTags("owner", "alice@acme.example")})
			return err
		}},
		{"a second key for exposed-user", func() error {
			_, err := pay.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("exposed-user")})
			return err
		}},
		{"delete ghost-owner", func() error {
			_, err := pay.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("ghost-owner")})
			return err
		}},
	}
	for _, st := range steps {
		must(t, st.what, st.f)
	}
}

func mapKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
