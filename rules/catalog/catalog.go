// Package catalog is the owned-role catalog nhiscan checks reality against:
// people, roles with owners and baselines, credential policies and
// exceptions; the YAML schema and its strict loader (errors with
// file:line:col, all at once), the HR CSV import and the selector and glob
// matching. It never judges an identity: the rules and the analyzer do.
package catalog

import (
	"time"

	"github.com/nhiscan/nhiscan/internal/duration"
	"github.com/nhiscan/nhiscan/internal/nhi"
)

// Catalog is the loaded, validated owned-role catalog.
type Catalog struct {
	Defaults Defaults
	// People by id (lower-case email).
	People map[string]nhi.Person
	// Roles in file order; ids are unique.
	Roles []Role
	// Exceptions in file order; ids are unique.
	Exceptions []Exception
	// Protected selects identities the revocation workflow never acts on,
	// beside the members of protected roles (see Protects).
	Protected []Selector
	// Files are the files the catalog was loaded from, in load order.
	Files []string
	// Hash is the SHA-256 (hex) over the loaded files' bytes in load order.
	Hash string
}

// Defaults are the org-wide thresholds and overrides.
type Defaults struct {
	// DormantAfter: an identity or credential unused this long is dormant.
	DormantAfter time.Duration
	// MaxCredentialAge: a static credential older than this is long-lived.
	MaxCredentialAge time.Duration
	// NeverUsedGrace: a never-used identity or credential younger than this
	// is not yet dormant.
	NeverUsedGrace time.Duration
	// ExpiringSoon: a credential expiring within this window is flagged.
	ExpiringSoon time.Duration
	// UsageFreshness: usage data older than this (by its as-of time) is
	// stale: findings based on it are marked stale and block revocation.
	UsageFreshness time.Duration
	// MaxExceptionDuration: an exception may not expire further than this
	// from the catalog's evaluation (load) time.
	MaxExceptionDuration time.Duration
	// UnusedWindow is the tracking window of the unused-entitlement rule:
	// a grant (or an AWS policy's service) not used within it is unused,
	// judged only where the usage data covers the whole window.
	UnusedWindow time.Duration
	// UnusedGrantGrace: a grant younger than this is never judged unused
	// (new grants get time to be used).
	UnusedGrantGrace time.Duration
	// OwnerTagKeys are tag/label keys read as owner hints, in priority order.
	OwnerTagKeys []string
	// Severity overrides by rule id.
	Severity map[string]nhi.Severity
}

// DefaultDefaults are used for every threshold the catalog leaves unset.
var DefaultDefaults = Defaults{
	DormantAfter:         90 * duration.Day,
	MaxCredentialAge:     90 * duration.Day,
	NeverUsedGrace:       7 * duration.Day,
	ExpiringSoon:         30 * duration.Day,
	UsageFreshness:       7 * duration.Day,
	MaxExceptionDuration: 365 * duration.Day,
	UnusedWindow:         90 * duration.Day,
	UnusedGrantGrace:     14 * duration.Day,
	OwnerTagKeys:         []string{"owner", "Owner", "owner-email", "nhiscan-owner"},
}

// Role is a business-owned role: what a set of identities is for, who is
// accountable, and what they may hold.
type Role struct {
	ID      string
	Purpose string
	// BusinessOwner is the accountable person (a People id).
	BusinessOwner string
	// TechnicalOwner is a person id or a team name.
	TechnicalOwner string
	Team           string
	// Allowed is the least-privilege baseline.
	Allowed []Entitlement
	// Credentials is the credential policy; zero fields fall back to
	// Defaults.
	Credentials CredentialPolicy
	// Members select the identities this role covers. An identity matches
	// the role when any selector matches.
	Members []Selector
	// Protected: the revocation workflow never acts on the role's members
	// (break-glass, production deployers, anything whose loss is an
	// outage). Their findings are still reported.
	Protected bool
	// Pos is "file:line:col" of the role's definition.
	Pos string
}

// Entitlement is one allowed entitlement pattern.
type Entitlement struct {
	Provider nhi.Provider
	// Pattern is a glob ("*" matches any run of characters) over
	// nhi.Grant.Entitlement.
	Pattern string
	// Scope is an optional glob over nhi.Grant.Scope; empty matches any.
	Scope string
	// Privileged must be true to allow a grant the collector marked
	// privileged; otherwise such a grant is reported even when the pattern
	// matches.
	Privileged bool
}

// CredentialPolicy is a role's rule for the credentials of its members.
type CredentialPolicy struct {
	MaxAge         time.Duration // 0: Defaults.MaxCredentialAge
	ExpiryRequired bool
	DormantAfter   time.Duration // 0: Defaults.DormantAfter
	// StaticKeysAllowed is false when the role forbids static keys;
	// RequireWorkloadIdentity implies it.
	StaticKeysAllowed       bool
	RequireWorkloadIdentity bool
	// MaxActiveKeys: more active static credentials than this is a finding
	// (default 1).
	MaxActiveKeys int
}

// Selector picks identities. Empty fields match anything; all set fields
// must match.
type Selector struct {
	Provider nhi.Provider
	// Scope is a glob over nhi.Identity.Scope (account, project, tenant, org).
	Scope string
	Kind  nhi.IdentityKind
	// Name is a glob over nhi.Identity.Name.
	Name string
	// ID matches nhi.Identity.ID exactly.
	ID string
	// Tags must all be present with equal values.
	Tags map[string]string
	// Role, in an exception's selector, matches the identities the analyzer
	// mapped to that catalog role. Role selectors are not allowed in role
	// membership (a role cannot select by role).
	Role string
}

// Exception suppresses one rule for the identities a selector picks, until
// it expires.
type Exception struct {
	ID string
	// Rule is a rule id.
	Rule       string
	Selector   Selector
	Reason     string
	ApprovedBy string
	Expires    time.Time
	Pos        string
}
