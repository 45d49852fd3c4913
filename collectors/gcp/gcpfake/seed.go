// Package gcpfake is an in-process fake of the Google Cloud REST endpoints
// the gcp collector calls: Cloud Asset Inventory (cloudasset/v1), IAM
// (iam/v1), Policy Analyzer (policyanalyzer/v1), API Keys (apikeys/v2) and
// Resource Manager (cloudresourcemanager/v3).
//
// It serves the documented JSON wire format with pageToken paging
// (SetPageSize caps the pages), keeps state (disabling or deleting a key
// changes what the next scan sees), counts calls per API operation
// (fakeapi.Counter), and injects faults through the shared fakeapi.Faults
// vocabulary, rendered as Google answers them: Deny as 403
// PERMISSION_DENIED (IAM_PERMISSION_DENIED with the permission), Throttle as
// 429 RESOURCE_EXHAUSTED with Retry-After, Fail as the status's error JSON
// (500 INTERNAL, 503 UNAVAILABLE …), Timeout as a call that hangs until the
// client gives up (or SetHang passes, then 504 DEADLINE_EXCEEDED).
// DisableService answers 403 SERVICE_DISABLED for a whole API, and
// SetLatency delays every call. It holds fake key material only to prove
// that the collector never returns it.
package gcpfake

import (
	"time"
)

// Seed is the organisation the fake serves.
type Seed struct {
	// Organization is the numeric organisation id, e.g. "123456789012".
	Organization string
	// OrgName is the organisation's display name (its domain).
	OrgName string
	// OrgBindings are IAM bindings on the organisation itself.
	OrgBindings []Binding
	Folders     []Folder
	Projects    []Project
	// CustomRoles are the organisation's and projects' custom roles.
	CustomRoles []CustomRole
	// ObservationStart is when Policy Analyzer started tracking; the end of
	// the observation period is Now truncated to the day.
	ObservationStart time.Time
	Now              time.Time
}

// Folder is a resource-manager folder.
type Folder struct {
	// ID is the numeric folder id.
	ID          string
	DisplayName string
	// Parent is "organizations/N" or "folders/N".
	Parent   string
	Bindings []Binding
}

// Project is one project with its service accounts, API keys and IAM
// policy.
type Project struct {
	ID     string
	Number string
	Name   string
	// Parent is "organizations/N" or "folders/N".
	Parent string
	Labels map[string]string
	// Bindings are bindings on the project.
	Bindings []Binding
	// ResourceBindings are bindings on resources inside the project, keyed
	// by full resource name (for example
	// "//iam.googleapis.com/projects/p/serviceAccounts/123").
	ResourceBindings map[string][]Binding
	ServiceAccounts  []ServiceAccount
	APIKeys          []APIKey
	// HMACKeys are the Cloud Storage HMAC keys of the project's service
	// accounts.
	HMACKeys []HMACKey
	// Pools are the project's workload identity pools.
	Pools []Pool
	// Insights are the IAM recommender's policy insights on the project's
	// role bindings (google.iam.policy.Insight, PERMISSIONS_USAGE).
	Insights []Insight
	// Recommendations are the IAM recommender's role recommendations on
	// the project's role bindings (google.iam.policy.Recommender).
	Recommendations []Recommendation
}

// Recommendation is one role recommendation: remove Member from Role on
// the project and, for a REPLACE_ROLE, grant it the roles in Replace.
type Recommendation struct {
	ID     string
	Role   string
	Member string // "serviceAccount:…"
	// Subtype is "REMOVE_ROLE", "REPLACE_ROLE" or
	// "REPLACE_ROLE_CUSTOMIZABLE"; empty means REMOVE_ROLE, or
	// REPLACE_ROLE when Replace is set.
	Subtype string
	Replace []string
	// State is the recommendation's state; empty means ACTIVE.
	State string
	// Priority is P1…P4; empty means P4.
	Priority string
	// Condition is a binding condition's expression: the recommendation
	// is then on the conditional binding.
	Condition string
	// Insight is the id of the policy insight it is associated with.
	Insight string
	// Refreshed is the last refresh; zero means the seed's Now.
	Refreshed time.Time
}

// Insight is one policy insight: which permissions of a role one member
// used over the observation period (90 days) ending at the last refresh.
type Insight struct {
	ID     string
	Role   string
	Member string // "serviceAccount:…"
	// Exercised are the permissions used; Inferred those the recommender
	// predicts the member needs; Total the role's permission count.
	Exercised []string
	Inferred  []string
	Total     int
	// Refreshed is the last refresh; zero means the seed's Now.
	Refreshed time.Time
}

// Pool is a workload identity pool.
type Pool struct {
	ID          string
	DisplayName string
	Disabled    bool
	Providers   []Provider
}

// Provider is a workload identity pool provider: OIDC (IssuerURI), AWS
// (AWSAccountID) or SAML (SAML).
type Provider struct {
	ID                 string
	DisplayName        string
	Disabled           bool
	IssuerURI          string
	AllowedAudiences   []string
	AWSAccountID       string
	SAML               bool
	AttributeCondition string
	AttributeMapping   map[string]string
}

// CustomRole is a custom IAM role.
type CustomRole struct {
	// Name is "organizations/N/roles/ID" or "projects/P/roles/ID".
	Name        string
	Title       string
	Permissions []string
	// Deleted roles can still be named by bindings; they grant nothing.
	Deleted bool
}

// Binding is an IAM role binding.
type Binding struct {
	Role    string
	Members []string
	// ConditionTitle, when set, makes the binding conditional.
	ConditionTitle string
}

// ServiceAccount is a service account. Email defaults to
// AccountID@ProjectID.iam.gserviceaccount.com.
type ServiceAccount struct {
	UniqueID       string
	AccountID      string
	Email          string
	DisplayName    string
	Description    string
	OAuth2ClientID string
	Disabled       bool
	// LastAuth is the last authentication Policy Analyzer saw; zero means
	// none in the observation period.
	LastAuth time.Time
	Keys     []Key
}

// Key is a service account key.
type Key struct {
	ID string
	// Type is USER_MANAGED or SYSTEM_MANAGED.
	Type string
	// Origin is USER_PROVIDED or GOOGLE_PROVIDED (default).
	Origin      string
	ValidAfter  time.Time
	ValidBefore time.Time // zero means the far-future "no expiry" value
	Disabled    bool
	// DisableReason is a SERVICE_ACCOUNT_KEY_DISABLE_REASON_* value.
	DisableReason string
	// ExtendedStatus maps SERVICE_ACCOUNT_KEY_EXTENDED_STATUS_* keys to values.
	ExtendedStatus map[string]string
	LastAuth       time.Time
	// PrivateKeyData is fake key material the API never lists; it exists so
	// tests can prove it never leaks.
	PrivateKeyData string
}

// APIKey is an API key, optionally bound to a service account.
type APIKey struct {
	UID                 string
	DisplayName         string
	Created             time.Time
	ServiceAccountEmail string
	// KeyString is the secret value (returned only by getKeyString, which
	// the fake does not serve).
	KeyString string
}

// HMACKey is a Cloud Storage HMAC key of a service account.
type HMACKey struct {
	AccessID            string
	ServiceAccountEmail string
	// State is ACTIVE, INACTIVE or DELETED.
	State   string
	Created time.Time
	Updated time.Time
	// Secret is returned only when the key is created: the list never
	// carries it. It exists so tests can prove it never leaks.
	Secret string
}

// Key types, origins and statuses of the IAM API.
const (
	UserManaged    = "USER_MANAGED"
	SystemManaged  = "SYSTEM_MANAGED"
	ReasonExposed  = "SERVICE_ACCOUNT_KEY_DISABLE_REASON_EXPOSED"
	ReasonUser     = "SERVICE_ACCOUNT_KEY_DISABLE_REASON_USER_INITIATED"
	ReasonCompromi = "SERVICE_ACCOUNT_KEY_DISABLE_REASON_COMPROMISE_DETECTED"
	StatusExposed  = "SERVICE_ACCOUNT_KEY_EXTENDED_STATUS_KEY_EXPOSED"
)

// FarFuture is the validBeforeTime IAM reports for keys that never expire.
var FarFuture = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
