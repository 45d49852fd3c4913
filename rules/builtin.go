// Package rules is the built-in rule set as data: each rule's id, family,
// default severity, docs, remediation and control references. The logic
// lives in the analyzer; the catalog the rules compare against is in
// rules/catalog.
package rules

import (
	"slices"
	"sort"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

// Rule describes one built-in rule. The logic lives in the analyzer; the
// description, default severity, control mapping and the data the rule
// reads live here, as data.
type Rule struct {
	ID          string
	Family      string
	Severity    nhi.Severity
	Title       string
	Doc         string
	Remediation string
	Controls    []string
	// Facets are the facet classes the rule reads (identities,
	// credentials, grants, usage, login, trust, ownership). The analyzer
	// instantiates them for each finding (identities:<kind>,
	// credentials:<type>, grants:<kind>, usage:<source>) and creates the
	// finding only where every one was observed; a finding is resolved
	// only where every one is observed again.
	Facets []nhi.Facet
	// Basis says which scan must have observed the facets for a finding
	// to be created.
	Basis Basis
	// Unobservable are facet classes among Facets that need not be
	// observed for the finding to be created, only for it to be resolved:
	// a rule that reports an unknown (usage-unknown) is made exactly when
	// its facet could not be read, and must not resolve until it is read.
	Unobservable []nhi.Facet
}

// Basis names the scan whose coverage a rule's finding rests on.
type Basis uint8

// Bases.
const (
	// Current: the scan being analysed. Every rule but drift additions and
	// changes: a thing is judged, or reported removed, only where this scan
	// observed its facets.
	Current Basis = iota
	// Previous: the scan compared with. Something present now is reported
	// added only where the previous scan observed its facet; elsewhere it
	// may have been there unseen. (Its presence now is seen either way.)
	Previous
	// Both: a value that changed (an owner) is reported changed only where
	// both scans observed it.
	Both
)

// String returns "current", "previous" or "both".
func (b Basis) String() string {
	switch b {
	case Previous:
		return "previous"
	case Both:
		return "both"
	}
	return "current"
}

// reads lists the facet classes a rule reads. Every rule also reads the
// identity list: a finding is about an identity, and an identity missing
// from a list that was not fully read may still be there, so none of its
// findings may be resolved (or created) on that list's evidence. A rule
// that depends on the identity's catalog role (its baseline, credential
// policy, dormancy window, owner) reads ownership too: the tags, labels
// and properties role selectors match come with the owner data.
func reads(fs ...nhi.Facet) []nhi.Facet {
	if slices.Contains(fs, nhi.FacetIdentities) {
		return fs
	}
	return append([]nhi.Facet{nhi.FacetIdentities}, fs...)
}

// Control references used by the rule set.
const (
	OWASPNHI1  = "OWASP-NHI1:2025"
	OWASPNHI2  = "OWASP-NHI2:2025"
	OWASPNHI3  = "OWASP-NHI3:2025"
	OWASPNHI4  = "OWASP-NHI4:2025"
	OWASPNHI5  = "OWASP-NHI5:2025"
	OWASPNHI6  = "OWASP-NHI6:2025"
	OWASPNHI7  = "OWASP-NHI7:2025"
	OWASPNHI10 = "OWASP-NHI10:2025"
	NISTAC23   = "NIST-800-53:AC-2(3)"
	NISTAC2j   = "NIST-800-53:AC-2(j)"
	NISTAC6    = "NIST-800-53:AC-6"
	NISTIA5f   = "NIST-800-53:IA-5(f)"
	NISTIA5i   = "NIST-800-53:IA-5(i)"
	CSFPRAA01  = "NIST-CSF-2.0:PR.AA-01"
	CSFPRAA05  = "NIST-CSF-2.0:PR.AA-05"
	SOC2CC62   = "SOC2:CC6.2"
	SOC2CC63   = "SOC2:CC6.3"
	ISOA518    = "ISO27001-2022:A.5.18"
)

// Rule ids. Stable: never rename one (fingerprints, exceptions and stored
// findings refer to them).
const (
	RuleNoOwner            = "orphaned-no-owner"
	RuleOwnerDeparted      = "orphaned-owner-departed"
	RuleOwnerUnknown       = "orphaned-owner-unknown"
	RuleOwnerMoved         = "owner-moved-team"
	RuleDormantIdentity    = "dormant-identity"
	RuleDormantCredential  = "dormant-credential"
	RuleNeverUsedIdentity  = "never-used-identity"
	RuleNeverUsedCred      = "never-used-credential"
	RuleDisabledLingering  = "disabled-identity-lingering"
	RuleUsageUnknown       = "usage-unknown"
	RuleUsageStale         = "usage-data-stale"
	RuleOutsideBaseline    = "grant-outside-baseline"
	RulePrivilegedGrant    = "privileged-grant"
	RuleCredentialTooOld   = "credential-too-old"
	RuleNoExpiry           = "credential-no-expiry"
	RuleStaticNotAllowed   = "static-credential-not-allowed"
	RuleExpiringSoon       = "credential-expiring-soon"
	RuleMultipleActiveKeys = "multiple-active-keys"
	RuleUnmapped           = "unmapped-identity"
	RuleDriftIdentityAdd   = "drift-identity-added"
	RuleDriftIdentityDel   = "drift-identity-removed"
	RuleDriftCredAdd       = "drift-credential-added"
	RuleDriftCredDel       = "drift-credential-removed"
	RuleDriftGrantAdd      = "drift-grant-added"
	RuleDriftGrantDel      = "drift-grant-removed"
	RuleDriftOwner         = "drift-owner-changed"
	RuleDriftSinceCert     = "drift-grant-since-certification"
	RuleMixedUse           = "mixed-human-use"
	RuleWeakTrust          = "weak-trust-policy"
	RuleExposed            = "credential-exposed"
	RuleCloudSecretInCI    = "cloud-secret-in-ci"
	// RuleUnusedEntitlement: a grant, or services of an AWS policy, not
	// used within the tracking window (issue 18).
	RuleUnusedEntitlement = "unused-entitlement"
)

var builtin = []Rule{
	{RuleNoOwner, nhi.FamilyOrphaned, nhi.SevHigh, "No owner can be resolved",
		"Neither a catalog role's business owner nor a provider owner hint (tag, label, Entra owner, GitHub added_by or token owner) names a person.",
		"Map the identity to a catalog role with a business owner, or tag it with an owner; decommission it if nobody claims it.",
		[]string{OWASPNHI1, NISTAC23, SOC2CC62, ISOA518, CSFPRAA01}, reads(nhi.FacetIdentities, nhi.FacetOwnership), Current, nil},
	{RuleOwnerDeparted, nhi.FamilyOrphaned, nhi.SevHigh, "Owner has left",
		"The resolved owner is a departed person (leaver) or a disabled account at the provider. Reassign to the manager or team and rotate the credentials (IA-5(i)).",
		"Reassign ownership to the departed owner's manager or team, rotate every credential of the identity, and disable it if nobody claims it by the deadline.",
		[]string{OWASPNHI1, NISTAC23, NISTIA5i, SOC2CC62, ISOA518, CSFPRAA01}, reads(nhi.FacetIdentities, nhi.FacetOwnership), Current, nil},
	{RuleOwnerUnknown, nhi.FamilyOrphaned, nhi.SevMedium, "Owner is not a known person",
		"The resolved owner is not in the people list (HR export or catalog).",
		"Correct the owner tag or catalog entry to name a person in the people list.",
		[]string{OWASPNHI1, NISTAC23, SOC2CC62, ISOA518}, reads(nhi.FacetIdentities, nhi.FacetOwnership), Current, nil},
	{RuleOwnerMoved, nhi.FamilyOwnerMoved, nhi.SevMedium, "Owner moved to another team",
		"The business owner's team no longer matches the role's team (mover): the ownership needs recertification.",
		"Ask the owner and the role's team to recertify or transfer ownership.",
		[]string{NISTAC2j, SOC2CC62, ISOA518, CSFPRAA05}, reads(nhi.FacetIdentities, nhi.FacetOwnership), Current, nil},
	{RuleDormantIdentity, nhi.FamilyDormant, nhi.SevMedium, "Identity unused beyond its dormancy window",
		"The identity has not been used within the dormancy window (role's, else the default).",
		"Confirm with the owner, then disable the identity; delete it after a grace period.",
		[]string{NISTAC23, SOC2CC62, ISOA518, CSFPRAA01}, reads(nhi.FacetIdentities, nhi.FacetUsage, nhi.FacetOwnership), Current, nil},
	{RuleDormantCredential, nhi.FamilyDormant, nhi.SevMedium, "Credential unused beyond its dormancy window",
		"An active credential has not been used within the dormancy window.",
		"Disable the credential (reversible), then delete it after a grace period.",
		[]string{OWASPNHI7, NISTAC23, NISTIA5f, SOC2CC62}, reads(nhi.FacetCredentials, nhi.FacetUsage, nhi.FacetOwnership), Current, nil},
	{RuleNeverUsedIdentity, nhi.FamilyDormant, nhi.SevMedium, "Identity never used since creation",
		"The provider reports no use at all and the identity is older than the never-used grace period.",
		"Confirm the identity is needed; disable it otherwise.",
		[]string{NISTAC23, SOC2CC62, ISOA518}, reads(nhi.FacetIdentities, nhi.FacetUsage, nhi.FacetOwnership), Current, nil},
	{RuleNeverUsedCred, nhi.FamilyDormant, nhi.SevMedium, "Credential never used since creation",
		"An active credential was never used and is older than the never-used grace period (the case Prowler skips).",
		"Disable the credential; delete it after a grace period.",
		[]string{OWASPNHI7, NISTAC23, NISTIA5f, SOC2CC62}, reads(nhi.FacetCredentials, nhi.FacetUsage, nhi.FacetOwnership), Current, nil},
	{RuleDisabledLingering, nhi.FamilyDormant, nhi.SevLow, "Disabled identity kept beyond its dormancy window",
		"A disabled or suspended identity is contained, so it is never dormant; but once its last use (or its creation, when it was never used) is older than the dormancy window, it is a candidate for deletion. Unknown usage never triggers it.",
		"Confirm with the owner, then delete the identity and its credentials: a disabled identity keeps its grants and can be re-enabled.",
		[]string{OWASPNHI1, NISTAC23, SOC2CC62, ISOA518}, reads(nhi.FacetIdentities, nhi.FacetUsage, nhi.FacetOwnership), Current, nil},
	{RuleUsageUnknown, nhi.FamilyDormant, nhi.SevInfo, "Usage unknown",
		"The provider does not report usage for this identity or credential, or the usage source could not be read or has a documented blind spot. Never treated as unused.",
		"Grant the scanner the permission the gap names, or review usage manually.",
		[]string{NISTAC2j}, reads(nhi.FacetIdentities, nhi.FacetUsage, nhi.FacetCredentials), Current,
		[]nhi.Facet{nhi.FacetUsage, nhi.FacetCredentials}},
	{RuleUsageStale, nhi.FamilyDormant, nhi.SevInfo, "Usage data is stale",
		"The usage source's as-of time is older than the freshness threshold, or not given at all: usage-based findings are marked stale and no revocation may act on them.",
		"Rescan once the provider's usage source is fresh (for AWS, regenerate the credential report).",
		[]string{NISTAC2j}, reads(nhi.FacetIdentities, nhi.FacetUsage), Current, nil},
	{RuleOutsideBaseline, nhi.FamilyOverPrivileged, nhi.SevMedium, "Grant outside the role's baseline",
		"The identity holds an entitlement its catalog role does not allow.",
		"Remove the grant, or add it to the role's baseline with the business owner's approval.",
		[]string{OWASPNHI5, NISTAC6, SOC2CC63, CSFPRAA05, ISOA518}, reads(nhi.FacetGrants, nhi.FacetOwnership), Current, nil},
	{RulePrivilegedGrant, nhi.FamilyOverPrivileged, nhi.SevHigh, "Privileged grant not explicitly allowed",
		"A privileged entitlement (administrator, wildcard, IAM write, impersonation, owner/editor, Tier-0 directory role, high-impact Graph permission, GitHub admin, org-wide write install) that no role explicitly allows as privileged.",
		"Replace the grant with a least-privilege one, or allow it explicitly (privileged: true) in the role.",
		[]string{OWASPNHI5, NISTAC6, SOC2CC63, CSFPRAA05}, reads(nhi.FacetGrants, nhi.FacetOwnership), Current, nil},
	{RuleUnusedEntitlement, nhi.FamilyOverPrivileged, nhi.SevMedium, "Entitlement not used within the tracking window",
		"A grant (for AWS, a service a policy allows) that its usage source (Access Advisor, Access Analyzer, the GCP IAM recommender) saw unused for the whole tracking window (unused_window, default 90 days). Judged only where the data covers the whole window, the identity is older than the window and the grant older than unused_grant_grace (default 14 days); otherwise usage is unknown and nothing is flagged.",
		"Remove the grant, or replace the policy with the least-privilege one `nhiscan reduce suggest` builds from what was used.",
		[]string{OWASPNHI5, NISTAC6, SOC2CC63, CSFPRAA05}, reads(nhi.FacetGrants, nhi.FacetEntitlementUsage, nhi.FacetOwnership), Current, nil},
	{RuleCredentialTooOld, nhi.FamilyLongLived, nhi.SevMedium, "Credential older than its maximum age",
		"An active static credential is older than the role's maximum age (else the default).",
		"Rotate the credential, or better, move the workload to federated identity.",
		[]string{OWASPNHI7, NISTIA5f, SOC2CC62, CSFPRAA01}, reads(nhi.FacetCredentials, nhi.FacetOwnership), Current, nil},
	{RuleNoExpiry, nhi.FamilyLongLived, nhi.SevMedium, "Credential without expiry where one is required",
		"The role requires every credential to expire, and this one never does.",
		"Replace the credential with one that expires.",
		[]string{OWASPNHI7, NISTIA5f, CSFPRAA01}, reads(nhi.FacetCredentials, nhi.FacetOwnership), Current, nil},
	{RuleStaticNotAllowed, nhi.FamilyLongLived, nhi.SevHigh, "Static credential where workload identity is required",
		"The role forbids static keys (workload identity required), yet the identity holds an active static credential.",
		"Move the workload to federated/workload identity and delete the static credential.",
		[]string{OWASPNHI4, OWASPNHI7, NISTIA5f, CSFPRAA01}, reads(nhi.FacetCredentials, nhi.FacetOwnership), Current, nil},
	{RuleExpiringSoon, nhi.FamilyLongLived, nhi.SevLow, "Credential expiring soon",
		"An active credential expires within the expiring-soon window.",
		"Rotate the credential before it expires, or let it expire if unneeded.",
		[]string{NISTIA5f}, reads(nhi.FacetCredentials, nhi.FacetOwnership), Current, nil},
	{RuleMultipleActiveKeys, nhi.FamilyLongLived, nhi.SevLow, "More than one active key",
		"The identity holds more active static credentials than its policy allows (default one): a rotation left an old key behind.",
		"Deactivate the older key once the new one is in use.",
		[]string{OWASPNHI7, NISTIA5f}, reads(nhi.FacetCredentials, nhi.FacetOwnership), Current, nil},
	{RuleUnmapped, nhi.FamilyUnmapped, nhi.SevMedium, "Identity matches no catalog role",
		"No role's membership selectors match the identity: nobody has defined what it is for.",
		"Add the identity to a catalog role (or create one with a business owner), or decommission it.",
		[]string{OWASPNHI1, NISTAC2j, SOC2CC63, CSFPRAA05, ISOA518}, reads(nhi.FacetIdentities, nhi.FacetOwnership), Current, nil},
	{RuleDriftIdentityAdd, nhi.FamilyDrift, nhi.SevLow, "Identity added since the previous scan", "", "Confirm the new identity is mapped and owned.", []string{NISTAC2j, CSFPRAA01}, reads(nhi.FacetIdentities), Previous, nil},
	{RuleDriftIdentityDel, nhi.FamilyDrift, nhi.SevInfo, "Identity removed since the previous scan", "Reported only where this scan observed the identity list of its kind: a gap never looks like a removal.", "None; kept for the audit trail.", []string{NISTAC2j}, reads(nhi.FacetIdentities), Current, nil},
	{RuleDriftCredAdd, nhi.FamilyDrift, nhi.SevLow, "Credential added since the previous scan", "", "Confirm the owner expected the new credential.", []string{NISTIA5f, CSFPRAA01}, reads(nhi.FacetCredentials), Previous, nil},
	{RuleDriftCredDel, nhi.FamilyDrift, nhi.SevInfo, "Credential removed since the previous scan", "Reported only where this scan observed the credentials of its type: a gap never looks like a removal.", "None; kept for the audit trail.", []string{NISTIA5f}, reads(nhi.FacetCredentials), Current, nil},
	{RuleDriftGrantAdd, nhi.FamilyDrift, nhi.SevMedium, "Grant added since the previous scan", "", "Confirm the owner approved the new entitlement.", []string{NISTAC6, CSFPRAA05, SOC2CC63}, reads(nhi.FacetGrants), Previous, nil},
	{RuleDriftGrantDel, nhi.FamilyDrift, nhi.SevInfo, "Grant removed since the previous scan", "Reported only where this scan observed the grants of its kind: a gap never looks like a removal.", "None; kept for the audit trail.", []string{NISTAC6}, reads(nhi.FacetGrants), Current, nil},
	{RuleDriftOwner, nhi.FamilyDrift, nhi.SevMedium, "Owner changed since the previous scan", "", "Have the new owner recertify the identity.", []string{NISTAC2j, SOC2CC62}, reads(nhi.FacetIdentities, nhi.FacetOwnership), Both, nil},
	{RuleDriftSinceCert, nhi.FamilyDrift, nhi.SevMedium, "Grant added since the last certification",
		"The identity holds a grant that was not in its last certified state.",
		"Include the grant in the next recertification, or remove it.",
		[]string{NISTAC2j, NISTAC6, SOC2CC62, SOC2CC63, ISOA518}, reads(nhi.FacetGrants), Current, nil},
	{RuleMixedUse, nhi.FamilyRiskyConfig, nhi.SevHigh, "Identity used by humans and machines",
		"An IAM user with both a console password and access keys: people and workloads share one identity.",
		"Split the identity: a human SSO user for people, a role or key-only user for the workload.",
		[]string{OWASPNHI10, NISTAC6, CSFPRAA01}, reads(nhi.FacetLogin, nhi.FacetCredentials), Current, nil},
	{RuleWeakTrust, nhi.FamilyRiskyConfig, nhi.SevHigh, "Trust policy without a subject condition",
		"A role trust policy lets an external account or an OIDC provider (such as GitHub Actions) assume the role without restricting the subject.",
		"Add a condition on the subject (token.actions.githubusercontent.com:sub) or an external id.",
		[]string{OWASPNHI6, NISTAC6, CSFPRAA05}, reads(nhi.FacetTrust), Current, nil},
	{RuleExposed, nhi.FamilyRiskyConfig, nhi.SevCritical, "Credential reported exposed",
		"The provider reports the credential as exposed or compromised.",
		"Disable the credential now, rotate, and investigate its use.",
		[]string{OWASPNHI2, NISTIA5f, SOC2CC62}, reads(nhi.FacetCredentials), Current, nil},
	{RuleCloudSecretInCI, nhi.FamilyRiskyConfig, nhi.SevHigh, "Long-lived cloud credential stored in CI",
		"An Actions secret whose name says it holds a cloud credential: a static key where OIDC federation would do.",
		"Configure OIDC federation from the CI to the cloud and delete the secret and its key.",
		[]string{OWASPNHI6, OWASPNHI7, NISTIA5f, CSFPRAA01}, reads(nhi.FacetCredentials), Current, nil},
}

var byID = func() map[string]Rule {
	m := make(map[string]Rule, len(builtin))
	for _, r := range builtin {
		m[r.ID] = r
	}
	return m
}()

// Builtin returns the built-in rules sorted by id. The returned rules share
// their Controls and Facets slices with the rule set: do not modify them.
func Builtin() []Rule {
	out := append([]Rule(nil), builtin...)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Lookup returns the built-in rule with the given id.
func Lookup(id string) (Rule, bool) {
	r, ok := byID[id]
	return r, ok
}
