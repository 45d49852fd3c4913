package nhi

import (
	"time"
)

// Provider names a source of identities.
type Provider string

// Providers nhiscan collects from.
const (
	AWS    Provider = "aws"
	GCP    Provider = "gcp"
	Azure  Provider = "azure"
	GitHub Provider = "github"
)

// Providers lists every known provider in a stable order.
var Providers = []Provider{AWS, Azure, GCP, GitHub}

// Valid reports whether p is a known provider.
func (p Provider) Valid() bool {
	for _, q := range Providers {
		if p == q {
			return true
		}
	}
	return false
}

// IdentityKind says what sort of principal an Identity is.
type IdentityKind string

// Identity kinds. The string values are part of the JSON inventory format and
// of the catalog's selectors: never change one.
const (
	KindAWSUser = IdentityKind("aws-iam-user")
	KindAWSRole = IdentityKind("aws-iam-role")

	KindGCPServiceAccount = IdentityKind("gcp-service-account")

	KindEntraApplication      = IdentityKind("entra-application")
	KindEntraServicePrincipal = IdentityKind("entra-service-principal")
	KindEntraManagedIdentity  = IdentityKind("entra-managed-identity")

	KindGitHubAppInstallation = IdentityKind("github-app-installation")
	KindGitHubDeployKey       = IdentityKind("github-deploy-key")
	KindGitHubFineGrainedPAT  = IdentityKind("github-fine-grained-token")
	KindGitHubClassicPAT      = IdentityKind("github-classic-token")
	KindGitHubSSHKey          = IdentityKind("github-ssh-key")
	// KindGitHubOAuthAppToken is an OAuth app's token for a user, and
	// KindGitHubAppUserToken a GitHub App's user-to-server token, as an
	// organisation's SAML single sign-on authorisations list them.
	KindGitHubOAuthAppToken = IdentityKind("github-oauth-app-token")
	KindGitHubAppUserToken  = IdentityKind("github-app-user-token")
	// KindGitHubActions is the CI workload of an organisation, repository or
	// environment; its credentials are the Actions secrets stored there.
	KindGitHubActions = IdentityKind("github-actions")

	// KindGCPFederatedPrincipal is a workload that authenticates through
	// workload identity federation and holds roles itself: a GKE Workload
	// Identity member (PROJECT.svc.id.goog[NAMESPACE/KSA]), or a
	// principal:// or principalSet:// member of a workload identity pool.
	KindGCPFederatedPrincipal = IdentityKind("gcp-federated-principal")
)

// IdentityKinds maps each kind to its provider.
var IdentityKinds = map[IdentityKind]Provider{
	KindAWSUser: AWS, KindAWSRole: AWS,
	KindGCPServiceAccount:     GCP,
	KindEntraApplication:      Azure,
	KindEntraServicePrincipal: Azure,
	KindEntraManagedIdentity:  Azure,
	KindGitHubAppInstallation: GitHub,
	KindGitHubDeployKey:       GitHub,
	KindGitHubFineGrainedPAT:  GitHub,
	KindGitHubClassicPAT:      GitHub,
	KindGitHubSSHKey:          GitHub,
	KindGitHubOAuthAppToken:   GitHub,
	KindGitHubAppUserToken:    GitHub,
	KindGitHubActions:         GitHub,

	KindGCPFederatedPrincipal: GCP,
}

// CredentialType says what sort of authenticator a Credential is.
type CredentialType string

// Credential types. Part of the JSON format: never change a value.
const (
	CredAWSAccessKey         = CredentialType("aws-access-key")
	CredAWSServiceSpecific   = CredentialType("aws-service-specific-credential")
	CredGCPUserManagedKey    = CredentialType("gcp-user-managed-key")
	CredGCPSystemManagedKey  = CredentialType("gcp-system-managed-key")
	CredGCPAPIKey            = CredentialType("gcp-api-key")
	CredEntraClientSecret    = CredentialType("entra-client-secret")
	CredEntraCertificate     = CredentialType("entra-certificate")
	CredEntraFederated       = CredentialType("entra-federated-credential")
	CredGitHubDeployKey      = CredentialType("github-deploy-key")
	CredGitHubFineGrainedPAT = CredentialType("github-fine-grained-token")
	CredGitHubClassicPAT     = CredentialType("github-classic-token")
	CredGitHubSSHKey         = CredentialType("github-ssh-key")
	CredGitHubActionsSecret  = CredentialType("github-actions-secret")

	// CredGCPHMACKey is a Cloud Storage HMAC key of a service account.
	CredGCPHMACKey = CredentialType("gcp-hmac-key")
	// CredGCPWorkloadIdentityProvider is a provider of a workload identity
	// pool (an OIDC issuer, an AWS account, a SAML or X.509 trust): how an
	// outside workload authenticates as a federated principal.
	CredGCPWorkloadIdentityProvider = CredentialType("gcp-workload-identity-provider")
	CredGitHubOAuthAppToken         = CredentialType("github-oauth-app-token")
	CredGitHubAppUserToken          = CredentialType("github-app-user-token")
)

// CredentialTypes lists every credential type and whether it is a static,
// long-lived secret (as opposed to a federated or provider-rotated one).
var CredentialTypes = map[CredentialType]bool{
	CredAWSAccessKey:         true,
	CredAWSServiceSpecific:   true,
	CredGCPUserManagedKey:    true,
	CredGCPSystemManagedKey:  false,
	CredGCPAPIKey:            true,
	CredEntraClientSecret:    true,
	CredEntraCertificate:     true,
	CredEntraFederated:       false,
	CredGitHubDeployKey:      true,
	CredGitHubFineGrainedPAT: true,
	CredGitHubClassicPAT:     true,
	CredGitHubSSHKey:         true,
	CredGitHubActionsSecret:  true,

	CredGCPHMACKey:                  true,
	CredGCPWorkloadIdentityProvider: false,
	// OAuth app tokens do not expire; GitHub App user tokens are refreshed
	// for months, or never expire where the App opted out.
	CredGitHubOAuthAppToken: true,
	CredGitHubAppUserToken:  true,
}

// Static reports whether credentials of type t are long-lived static secrets.
func (t CredentialType) Static() bool { return CredentialTypes[t] }

// Status is the enablement state of an identity or credential.
type Status string

// Statuses. "disabled" means contained by an operator or by the provider and
// reversible; "expired" applies to credentials past their expiry;
// "unknown" means the provider's answer did not say (a field its source
// removed, a state call that was not made): it is never read as active or
// disabled, and the collector records a gap on the facet it belongs to.
const (
	StatusActive    = Status("active")
	StatusDisabled  = Status("disabled")
	StatusSuspended = Status("suspended")
	StatusExpired   = Status("expired")

	StatusUnknown = Status("unknown")
)

// Identity is one non-human principal.
type Identity struct {
	// ID is "<provider>:<immutable id>", for example "aws:AIDAEXAMPLE" or
	// "github:deploy-key:12345". Build it with MakeID.
	ID       string       `json:"id"`
	Provider Provider     `json:"provider"`
	Kind     IdentityKind `json:"kind"`
	// NativeID is the provider's immutable id (AIDA…, uniqueId, object id,
	// numeric id) as the provider prints it.
	NativeID string `json:"native_id"`
	// Name is the display name (user or role name, SA email, app name,
	// deploy key title); it may change and is never a key.
	Name string `json:"name"`
	// ARN is the provider's full resource name, when it has one (ARN, GCP
	// resource name, Entra appId, GitHub repository full name).
	ARN string `json:"arn,omitempty"`
	// Scope is the account, project, tenant or organisation id it lives in.
	Scope string `json:"scope"`
	// Path is an optional finer location: an AWS path, a GitHub repository,
	// an Azure resource group.
	Path    string    `json:"path,omitempty"`
	Created time.Time `json:"created,omitzero"`
	Status  Status    `json:"status"`
	// ProviderManaged marks identities that the provider creates and owns
	// (AWS service-linked roles, Google service agents, Microsoft first-party
	// service principals). They are inventoried but not held to role rules.
	ProviderManaged bool `json:"provider_managed,omitempty"`
	// ThirdParty marks identities that belong to another organisation (a
	// multi-tenant Entra app from another tenant, a GitHub App installation).
	ThirdParty bool              `json:"third_party,omitempty"`
	Tags       map[string]string `json:"tags,omitempty"`
	OwnerHints []OwnerHint       `json:"owner_hints,omitempty"`
	Usage      Usage             `json:"usage"`
	// Credentials held by this identity, sorted by ID.
	Credentials []Credential `json:"credentials,omitempty"`
	// Grants (entitlements) of this identity, sorted by ID.
	Grants []Grant `json:"grants,omitempty"`
	// Signals are provider-specific risk facts the collector observed.
	Signals []Signal `json:"signals,omitempty"`
	// Attributes holds further provider facts worth showing to a reviewer.
	Attributes map[string]string `json:"attributes,omitempty"`
}

// Credential is a key, secret, certificate, token or deploy key. Metadata
// only: a secret value is never requested, stored, logged or printed.
type Credential struct {
	// ID is the provider's credential id (AKIA…, key name, keyId, numeric id),
	// unique within its identity.
	ID      string         `json:"id"`
	Type    CredentialType `json:"type"`
	Name    string         `json:"name,omitempty"`
	Created time.Time      `json:"created,omitzero"`
	// Expires is zero when the credential never expires.
	Expires time.Time `json:"expires,omitzero"`
	Status  Status    `json:"status"`
	Usage   Usage     `json:"usage"`
	// ProviderRotated marks credentials the provider rotates itself (GCP
	// system-managed keys): never long-lived findings.
	ProviderRotated bool              `json:"provider_rotated,omitempty"`
	Signals         []Signal          `json:"signals,omitempty"`
	Attributes      map[string]string `json:"attributes,omitempty"`
}

// Privilege is the level of an entitlement.
type Privilege string

// Privilege levels in increasing order.
const (
	PrivRead  = Privilege("read")
	PrivWrite = Privilege("write")
	PrivAdmin = Privilege("admin")
)

// Rank orders privilege levels; unknown levels rank as write.
func (p Privilege) Rank() int {
	switch p {
	case PrivRead:
		return 1
	case PrivWrite, "":
		return 2
	case PrivAdmin:
		return 3
	}
	return 2
}

// Grant is one entitlement in a comparable form.
type Grant struct {
	// ID is unique within the identity and stable across scans, for example
	// "managed-policy:arn:aws:iam::aws:policy/ReadOnlyAccess@123456789012".
	ID string `json:"id"`
	// Kind: managed-policy, inline-policy, group-policy, role-binding,
	// rbac-role, directory-role, eligible-directory-role (a role that can be
	// activated through Entra PIM), app-role, app-permission,
	// delegated-permission (an OAuth2 permission granted to act for
	// users), repo-permission, token-permission, token-scope, trust.
	Kind string `json:"kind"`
	// Entitlement is the normalised thing granted: a policy ARN or name,
	// "roles/editor", "Directory.ReadWrite.All", "contents:write", "repo".
	// Catalog baselines match against it.
	Entitlement string `json:"entitlement"`
	// Scope is where it applies: an account, project, folder, subscription,
	// resource, repository or "*" for org-wide.
	Scope     string    `json:"scope"`
	Privilege Privilege `json:"privilege"`
	// Privileged is the collector's verdict on whether the grant is
	// dangerous wherever it appears (administrator, wildcard, IAM write,
	// impersonation, Tier-0 roles): judged privileged, judged not
	// privileged, or not judged (only imported inventories leave it
	// unjudged; the analyzer then classifies it with internal/privilege).
	Privileged Verdict `json:"privileged,omitzero"`
	// Reason says why the grant is privileged, in a few words.
	Reason string `json:"reason,omitempty"`
	// Via names an indirection (group, inherited scope), if any.
	Via     string    `json:"via,omitempty"`
	Created time.Time `json:"created,omitzero"`
	// FirstSeen is when a scan first saw the grant (StampFirstSeen), for
	// providers that do not say when a grant was made (AWS attachments,
	// GCP bindings): its age is at least now minus FirstSeen.
	FirstSeen time.Time `json:"first_seen,omitzero"`
	// Use is what a source of entitlement usage (AWS Access Advisor or
	// Access Analyzer, the GCP IAM recommender) observed of this grant's
	// use within its tracking window; nil when no source reported on it.
	Use *GrantUse `json:"use,omitempty"`
	// Recommendation is a provider's own recommendation to remove or
	// replace this grant (the GCP IAM recommender's role recommendations),
	// when the source was read and has an active one; nil otherwise.
	Recommendation *GrantRecommendation `json:"recommendation,omitempty"`
}

// Grant recommendation actions (GrantRecommendation.Action).
const (
	// RecommendRemove: remove the grant.
	RecommendRemove = "remove"
	// RecommendReplace: replace the grant with the roles in Replace.
	RecommendReplace = "replace"
)

// GrantRecommendation is a provider's recommendation on one grant, as the
// provider made it: nhiscan does not judge it, it reports it as evidence
// of a reduce suggestion (internal/reduce).
type GrantRecommendation struct {
	// Source is the recommender: SourceGCPRecommender.
	Source string `json:"source"`
	// Action is RecommendRemove or RecommendReplace.
	Action string `json:"action"`
	// Subtype is the provider's kind of recommendation ("REMOVE_ROLE",
	// "REPLACE_ROLE", "REPLACE_ROLE_CUSTOMIZABLE").
	Subtype string `json:"subtype,omitempty"`
	// Replace lists the entitlements suggested instead (for a replace),
	// sorted.
	Replace []string `json:"replace_with,omitempty"`
	// Name is the recommendation's resource name at the provider.
	Name string `json:"name"`
	// Priority is the provider's priority ("P1" … "P4"), if given.
	Priority string `json:"priority,omitempty"`
	// AsOf is when the provider last refreshed it.
	AsOf time.Time `json:"as_of,omitzero"`
}

// Entitlement usage sources (GrantUse.Source, and the subject of the
// entitlement-usage facet).
const (
	// SourceAccessAdvisor is IAM's service and action last accessed data
	// (GenerateServiceLastAccessedDetails).
	SourceAccessAdvisor = "access-advisor"
	// SourceAccessAnalyzer is IAM Access Analyzer's unused access findings.
	SourceAccessAnalyzer = "access-analyzer"
	// SourceGCPRecommender is the IAM recommender's policy insights
	// (google.iam.policy.Insight).
	SourceGCPRecommender = "gcp-recommender"
)

// GrantUse is how one grant was used within a tracking window. State is
// used (LastUsed holds the latest use of any of its services or
// permissions), never-used (the source saw no use within the window), or
// unknown (the source could not be read for this identity, or cannot tell:
// Reason says why). Only a used or never-used grant whose window covers
// the rule's whole tracking window may be judged.
type GrantUse struct {
	State  UsageState `json:"state"`
	Source string     `json:"source"`
	// WindowStart and WindowEnd bound the period the source's data
	// covers for this grant (AWS: its tracking period up to the job's
	// completion; GCP: the insight's observation period).
	WindowStart time.Time `json:"window_start,omitzero"`
	WindowEnd   time.Time `json:"window_end,omitzero"`
	LastUsed    time.Time `json:"last_used,omitzero"`
	Reason      string    `json:"reason,omitempty"`
	// Services lists, for an AWS policy, each service namespace it allows
	// and its last use within the window, sorted by service.
	Services []ServiceUse `json:"services,omitempty"`
	// Used lists the permissions or actions seen used within the window
	// ("s3:GetObject", "storage.objects.get"), where the source reports
	// them; sorted.
	Used []string `json:"used,omitempty"`
}

// ServiceUse is the last use of one service a policy allows.
type ServiceUse struct {
	// Service is the namespace: "s3", "dynamodb".
	Service string `json:"service"`
	// LastUsed is zero when the service was not used within the window.
	LastUsed time.Time `json:"last_used,omitzero"`
	// Actions lists the actions seen used, where AWS tracks actions for
	// the service; empty otherwise.
	Actions []string `json:"actions,omitempty"`
}

// Known reports whether the grant's use is a usable fact.
func (u *GrantUse) Known() bool {
	return u != nil && (u.State == UsageUsed || u.State == UsageNeverUsed)
}

// UsageState distinguishes the three facts that are easy to confuse.
type UsageState string

// Usage states.
const (
	// UsageUsed: LastUsed holds the last use the provider saw.
	UsageUsed = UsageState("used")
	// UsageNeverUsed: the provider reports usage and saw none.
	UsageNeverUsed = UsageState("never-used")
	// UsageNotReported: the provider does not report usage for this kind.
	UsageNotReported = UsageState("not-reported")
	// UsageUnknown: the usage source could not be read (denied, throttled,
	// missing licence) or has a documented blind spot; Reason says which.
	UsageUnknown = UsageState("unknown")
)

// Usage is when something was last used and how much that fact is worth.
type Usage struct {
	State    UsageState `json:"state"`
	LastUsed time.Time  `json:"last_used,omitzero"`
	// Source names the usage source: credential-report, role-last-used,
	// activity-analyzer, signin-report, github-api.
	Source string `json:"source,omitempty"`
	// AsOf is how fresh the source is (report generation time, end of the
	// observation period).
	AsOf   time.Time `json:"as_of,omitzero"`
	Reason string    `json:"reason,omitempty"`
}

// Known reports whether the usage is a usable fact (used or never used).
func (u Usage) Known() bool { return u.State == UsageUsed || u.State == UsageNeverUsed }

// OwnerHint is an owner suggested by the provider.
type OwnerHint struct {
	// Source: tag, label, entra-owner, github-added-by, token-owner,
	// description.
	Source string `json:"source"`
	// Value is an email or login.
	Value string `json:"value"`
	// Active is the provider's view of the owner account, when it has one
	// (Entra accountEnabled, GitHub org membership); nil when unknown.
	Active *bool `json:"active,omitempty"`
}

// Signal is a provider-specific risk fact.
type Signal struct {
	Code   string `json:"code"`
	Detail string `json:"detail,omitempty"`
}

// Signal codes understood by the analyzer.
const (
	// SignalMixedUse: an identity used both by people and machines (an IAM
	// user with a console password and access keys). OWASP NHI10.
	SignalMixedUse = "mixed-human-use"
	// SignalWeakTrust: a trust policy lets an external account or an OIDC
	// provider assume the role without a subject condition. OWASP NHI6.
	SignalWeakTrust = "weak-trust-policy"
	// SignalExposed: the provider reports the credential as exposed or
	// compromised. OWASP NHI2.
	SignalExposed = "credential-exposed"
	// SignalCloudSecretInCI: a CI secret that holds a long-lived cloud
	// credential where OIDC federation would do. OWASP NHI6/NHI7.
	SignalCloudSecretInCI = "cloud-secret-in-ci"
)

// Scope is one collected account, project, tenant, subscription or
// organisation.
type Scope struct {
	Provider Provider `json:"provider"`
	ID       string   `json:"id"`
	Name     string   `json:"name,omitempty"`
	// Facets lists what the collector read in this scope (see Facet). A
	// facet it did not read is not observed, whatever the gaps say; an
	// empty list (inventories written before facets) means every facet.
	Facets []Facet `json:"facets,omitempty"`
}

// GapKind classifies why something could not be collected.
type GapKind string

// Gap kinds.
const (
	GapDenied      = GapKind("denied")
	GapThrottled   = GapKind("throttled")
	GapTimeout     = GapKind("timeout")
	GapUnavailable = GapKind("unavailable")
	GapError       = GapKind("error")
)

// Gap is something a collector could not collect. It hides the facets it
// names in its scope (or in every scope of the provider when Scope is
// empty): nothing read from a hidden facet may create, resolve or remove a
// finding, show as drift, or justify a revocation. Every other facet of the
// scope still counts as observed.
type Gap struct {
	Provider Provider `json:"provider"`
	// Scope is the account, project, tenant or org; empty means the whole
	// provider.
	Scope string `json:"scope,omitempty"`
	// Source is the API or data set that failed, e.g. "iam:GetCredentialReport".
	Source string  `json:"source"`
	Kind   GapKind `json:"kind"`
	// Permission names what the scanner needs to close the gap, if known.
	Permission string `json:"permission,omitempty"`
	Detail     string `json:"detail,omitempty"`
	// Facets names what the failure hides; empty means every facet of the
	// scope (the scope itself could not be read).
	Facets []Facet `json:"facets,omitempty"`
	// Identity, when set, is the one identity (its id) the failure
	// concerns: the gap hides its facets for that identity only (an
	// Access Advisor job that did not finish), and every other identity
	// of the scope is still observed there. Rules reading those facets
	// treat the identity's data as unknown.
	Identity string `json:"identity,omitempty"`
	// UsageOnly is how inventories written before facets said "hides usage
	// only"; it is read as Facets [usage] and never written by a collector.
	UsageOnly bool `json:"usage_only,omitempty"`
}

// Hides returns the facets the gap hides; nil means every facet.
func (g *Gap) Hides() []Facet {
	if len(g.Facets) == 0 && g.UsageOnly {
		return []Facet{FacetUsage}
	}
	return g.Facets
}

// Person is a human who can own things. People come from the catalog or an
// HR export; joiner, mover and leaver events are changes to this record.
type Person struct {
	ID       string    `json:"id"` // email, lower case
	Name     string    `json:"name,omitempty"`
	Status   string    `json:"status"` // active | departed
	Departed time.Time `json:"departed,omitzero"`
	Manager  string    `json:"manager,omitempty"`
	Team     string    `json:"team,omitempty"`
	// Aliases are the person's accounts at providers (GitHub login, other
	// addresses) so owner hints given as logins resolve to the person.
	Aliases []string `json:"aliases,omitempty"`
}

// Person statuses.
const (
	PersonActive   = "active"
	PersonDeparted = "departed"
)

// Ownership is how the analyzer resolved an identity's role and owner. The
// reports print it beside each identity.
type Ownership struct {
	IdentityID string `json:"identity_id"`
	// RoleID is the matched catalog role; empty when unmapped.
	RoleID string `json:"role_id,omitempty"`
	// Owner is the accountable owner (person id or the raw hint value).
	Owner string `json:"owner,omitempty"`
	// OwnerSource: role, tag, label, entra-owner, github-added-by, token-owner.
	OwnerSource string `json:"owner_source,omitempty"`
	// OwnerStatus: active, departed or unknown (not in the people list, or
	// no owner at all).
	OwnerStatus    string `json:"owner_status"`
	TechnicalOwner string `json:"technical_owner,omitempty"`
	Team           string `json:"team,omitempty"`
}

// Owner statuses in Ownership.
const (
	OwnerActive   = "active"
	OwnerDeparted = "departed"
	OwnerUnknown  = "unknown"
	OwnerNone     = "none"
)
