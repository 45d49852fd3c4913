package campaign_test

import (
	"time"

	"github.com/nhiscan/nhiscan/internal/campaign"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/rules"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

var (
	t0       = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	deadline = t0.AddDate(0, 0, 14)
)

func person(id, name, manager, team string) nhi.Person {
	return nhi.Person{ID: id, Name: name, Status: nhi.PersonActive, Manager: manager, Team: team}
}

// testCatalog is a small organisation: carol owns the platform role, with
// alice as technical owner; dan (a leaver) reported to carol; grace is at
// the top and the fallback.
func testCatalog() *catalog.Catalog {
	dan := person("dan@acme.example", "Dan Okafor", "carol@acme.example", "platform")
	dan.Status, dan.Departed = nhi.PersonDeparted, t0.AddDate(0, -1, 0)
	bob := person("bob@acme.example", "Bob Martins", "liam@acme.example", "payments")
	bob.Aliases = []string{"bobm"}
	return &catalog.Catalog{
		People: map[string]nhi.Person{
			"alice@acme.example": person("alice@acme.example", "Alice Nguyen", "carol@acme.example", "platform"),
			"bob@acme.example":   bob,
			"carol@acme.example": person("carol@acme.example", "Carol Diaz", "grace@acme.example", "platform"),
			"dan@acme.example":   dan,
			"grace@acme.example": person("grace@acme.example", "Grace Kim", "", "security"),
			"liam@acme.example":  person("liam@acme.example", "Liam Wilson", "grace@acme.example", "payments"),
		},
		Roles: []catalog.Role{
			{ID: "platform", Purpose: "Runs the platform", BusinessOwner: "carol@acme.example", TechnicalOwner: "alice@acme.example", Team: "platform"},
			{ID: "payments", Purpose: "Runs payments", BusinessOwner: "liam@acme.example", TechnicalOwner: "bob@acme.example", Team: "payments"},
		},
	}
}

func usage(state nhi.UsageState, last time.Time, source string) nhi.Usage {
	return nhi.Usage{State: state, LastUsed: last, Source: source, AsOf: t0.Add(-4 * time.Hour)}
}

// testInventory has:
//   - aws:AIDADEPLOY, an IAM user of the platform role with two keys (one
//     dormant) and an AdministratorAccess grant; the credential report of
//     its account was denied;
//   - aws:AROAPAY, a payments role with a read-only grant;
//   - github:fgpat:7, bob's own fine-grained token (self-review);
//   - github:deploy-key:9, a deploy key bob added (creator conflict);
//   - aws:AIDAOLD, owned by dan, who left (a leaver item);
//   - aws:AROASLR, a service-linked role (never an item).
func testInventory() nhi.Inventory {
	admin := nhi.Grant{ID: "managed-policy:arn:aws:iam::aws:policy/AdministratorAccess", Kind: "managed-policy",
		Entitlement: "arn:aws:iam::aws:policy/AdministratorAccess", Scope: "111111111111", Privilege: nhi.PrivAdmin,
		Privileged: nhi.JudgedPrivileged, Reason: "AdministratorAccess"}
	read := nhi.Grant{ID: "managed-policy:arn:aws:iam::aws:policy/ReadOnlyAccess", Kind: "managed-policy",
		Entitlement: "arn:aws:iam::aws:policy/ReadOnlyAccess", Scope: "222222222222", Privilege: nhi.PrivRead,
		Privileged: nhi.JudgedNotPrivileged}
	return nhi.Inventory{
		Version: nhi.SchemaVersion, CollectedAt: t0,
		Scopes: []nhi.Scope{{Provider: nhi.AWS, ID: "111111111111"}, {Provider: nhi.AWS, ID: "222222222222"}, {Provider: nhi.GitHub, ID: "acme"}},
		Gaps: []nhi.Gap{{Provider: nhi.AWS, Scope: "111111111111", Source: "iam:GenerateCredentialReport", Kind: nhi.GapDenied,
			Facets: []nhi.Facet{nhi.UsageFacet("credential-report")}}},
		Identities: []nhi.Identity{
			{ID: "aws:AIDADEPLOY", Provider: nhi.AWS, Kind: nhi.KindAWSUser, NativeID: "AIDADEPLOY", Name: "platform-deployer",
				Scope: "111111111111", Status: nhi.StatusActive, Usage: usage(nhi.UsageUsed, t0.AddDate(0, 0, -1), "credential-report"),
				Credentials: []nhi.Credential{
					{ID: "AKIAOLD", Type: nhi.CredAWSAccessKey, Status: nhi.StatusActive, Created: t0.AddDate(-1, 0, 0), Usage: usage(nhi.UsageUsed, t0.AddDate(0, -5, 0), "credential-report")},
					{ID: "AKIANEW", Type: nhi.CredAWSAccessKey, Status: nhi.StatusActive, Created: t0.AddDate(0, -1, 0), Usage: usage(nhi.UsageUsed, t0.AddDate(0, 0, -1), "credential-report")},
				},
				Grants: []nhi.Grant{admin}},
			{ID: "aws:AROAPAY", Provider: nhi.AWS, Kind: nhi.KindAWSRole, NativeID: "AROAPAY", Name: "payments-runtime",
				Scope: "222222222222", Status: nhi.StatusActive, Usage: usage(nhi.UsageUsed, t0.AddDate(0, 0, -2), "role-last-used"),
				Grants: []nhi.Grant{read}},
			{ID: "github:fgpat:7", Provider: nhi.GitHub, Kind: nhi.KindGitHubFineGrainedPAT, NativeID: "7", Name: "bob-release-token",
				Scope: "acme", Status: nhi.StatusActive, Usage: usage(nhi.UsageNeverUsed, time.Time{}, "github-api"),
				OwnerHints:  []nhi.OwnerHint{{Source: "token-owner", Value: "bobm"}},
				Credentials: []nhi.Credential{{ID: "7", Type: nhi.CredGitHubFineGrainedPAT, Status: nhi.StatusActive, Usage: usage(nhi.UsageNeverUsed, time.Time{}, "github-api")}}},
			{ID: "github:deploy-key:9", Provider: nhi.GitHub, Kind: nhi.KindGitHubDeployKey, NativeID: "9", Name: "payments-deploy",
				Scope: "acme", Status: nhi.StatusActive, Usage: usage(nhi.UsageUsed, t0.AddDate(0, 0, -3), "github-api"),
				OwnerHints:  []nhi.OwnerHint{{Source: "github-added-by", Value: "bobm"}},
				Credentials: []nhi.Credential{{ID: "9", Type: nhi.CredGitHubDeployKey, Status: nhi.StatusActive, Usage: usage(nhi.UsageUsed, t0.AddDate(0, 0, -3), "github-api")}}},
			{ID: "aws:AIDAOLD", Provider: nhi.AWS, Kind: nhi.KindAWSUser, NativeID: "AIDAOLD", Name: "dan-scripts",
				Scope: "222222222222", Status: nhi.StatusActive, Usage: usage(nhi.UsageUsed, t0.AddDate(0, -2, 0), "credential-report"),
				Credentials: []nhi.Credential{{ID: "AKIADAN", Type: nhi.CredAWSAccessKey, Status: nhi.StatusActive, Usage: usage(nhi.UsageUsed, t0.AddDate(0, -2, 0), "credential-report")}}},
			{ID: "aws:AROASLR", Provider: nhi.AWS, Kind: nhi.KindAWSRole, NativeID: "AROASLR", Name: "AWSServiceRoleForSupport",
				Scope: "222222222222", Status: nhi.StatusActive, ProviderManaged: true, Usage: nhi.Usage{State: nhi.UsageNotReported}},
		},
	}
}

func testOwnership() map[string]nhi.Ownership {
	platform := nhi.Ownership{RoleID: "platform", Owner: "carol@acme.example", OwnerSource: "role", OwnerStatus: nhi.OwnerActive,
		TechnicalOwner: "alice@acme.example", Team: "platform"}
	payments := nhi.Ownership{RoleID: "payments", Owner: "bob@acme.example", OwnerSource: "role", OwnerStatus: nhi.OwnerActive,
		TechnicalOwner: "liam@acme.example", Team: "payments"}
	out := map[string]nhi.Ownership{
		"aws:AIDADEPLOY":      platform,
		"aws:AROAPAY":         payments,
		"github:fgpat:7":      payments,
		"github:deploy-key:9": payments,
		"aws:AIDAOLD":         {Owner: "dan@acme.example", OwnerSource: "tag", OwnerStatus: nhi.OwnerDeparted},
	}
	for k, v := range out {
		v.IdentityID = k
		out[k] = v
	}
	return out
}

func testFindings() []nhi.Finding {
	f := func(rule, family, identity, cred, grant string, sev nhi.Severity, ev map[string]string) nhi.Finding {
		return nhi.Finding{Fingerprint: nhi.Fingerprint(rule, identity, cred, grant), RuleID: rule, Family: family, Severity: sev,
			Title: rule, IdentityID: identity, CredentialID: cred, GrantID: grant, Evidence: nhi.EvidenceOf(ev)}
	}
	return []nhi.Finding{
		f(rules.RuleDormantCredential, nhi.FamilyDormant, "aws:AIDADEPLOY", "AKIAOLD", "", nhi.SevMedium, map[string]string{"days_unused": "150", "threshold_days": "90"}),
		f(rules.RulePrivilegedGrant, nhi.FamilyOverPrivileged, "aws:AIDADEPLOY", "", "managed-policy:arn:aws:iam::aws:policy/AdministratorAccess", nhi.SevHigh,
			map[string]string{"baseline": "outside the baseline"}),
		f(rules.RuleOwnerDeparted, nhi.FamilyOrphaned, "aws:AIDAOLD", "", "", nhi.SevHigh, map[string]string{"owner": "dan@acme.example"}),
	}
}

func testBuildInput() campaign.BuildInput {
	return campaign.BuildInput{
		Inventory: testInventory(), Ownership: testOwnership(), Findings: testFindings(), Catalog: testCatalog(),
		Now: t0, Deadline: deadline, LeaverDeadline: t0.AddDate(0, 0, 7),
	}
}
