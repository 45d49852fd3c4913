// Package campaign runs recertification campaigns: the owners of non-human
// identities certify, revoke, reduce or reassign what they own, item by item
// (an identity and, below it, each of its credentials and grants), before a
// deadline, with reminders and escalation.
//
// It builds the items of a campaign from one stored scan (Build), routes
// each to a reviewer and flags conflicts of interest (Router), validates
// decisions (Validate), works out what is due at a given time (ReminderDue,
// EscalationDue), what every item came to (Last, Resolved, Defaults), the
// KPIs (ComputeKPIs), and the certified state a closed campaign leaves
// behind (Certification). Service strings these together over a
// store and a notifier, both declared here as small interfaces. Signed,
// expiring review links are made and checked by Signer.
//
// The package never reads the clock (times are arguments or an injected Now),
// never sends mail itself (a Notifier does), never acts on a provider (a
// revocation plan reads its decisions), and never presents unobserved data as
// fact: a value read from a facet the scan did not fully observe is replaced
// by the gap that hides it.
package campaign

import (
	"time"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

// State is where a campaign is in its lifecycle.
type State string

// States, in order: a draft is built but not sent; an open campaign takes
// decisions; a closed one is final and recorded the certified state.
const (
	StateDraft  = State("draft")
	StateOpen   = State("open")
	StateClosed = State("closed")
)

// Campaign is one recertification campaign over the identities of one scan.
type Campaign struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// ScanID is the scan the items were built from.
	ScanID int64  `json:"scan_id"`
	State  State  `json:"state"`
	Filter Filter `json:"filter"`
	Policy Policy `json:"policy"`
	// CreatedBy is who created the campaign (an operator login).
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	OpenedAt  time.Time `json:"opened_at,omitzero"`
	// Deadline is the campaign's deadline; leaver items may have an
	// earlier one of their own.
	Deadline time.Time `json:"deadline"`
	ClosedAt time.Time `json:"closed_at,omitzero"`
	// Summary holds the KPIs recorded when the campaign closed.
	Summary *KPIs `json:"summary,omitempty"`
}

// Filter chooses the identities a campaign covers. Empty fields match
// everything; all set fields must match.
type Filter struct {
	Providers []nhi.Provider `json:"providers,omitempty"`
	// Scopes are globs over the identity's account, project, tenant or
	// organisation.
	Scopes []string `json:"scopes,omitempty"`
	// Roles are catalog role ids.
	Roles []string `json:"roles,omitempty"`
	// Owners are person ids (email addresses) of the resolved owner.
	Owners []string `json:"owners,omitempty"`
	// Families keeps identities with an unsuppressed finding of one of
	// these families (on the identity, a credential or a grant).
	Families []string `json:"families,omitempty"`
	// PrivilegedOnly keeps identities that hold a privileged grant.
	PrivilegedOnly bool `json:"privileged_only,omitempty"`
	// WithFindingsOnly keeps identities with an unsuppressed finding.
	WithFindingsOnly bool `json:"with_findings_only,omitempty"`
	// LeaversOnly keeps identities whose owner has left.
	LeaversOnly bool `json:"leavers_only,omitempty"`
	// ProviderManaged includes provider-managed identities (service-linked
	// roles, service agents), which are otherwise never items; the certify
	// shortcut certifies them with the rest.
	ProviderManaged bool `json:"provider_managed,omitempty"`
}

// Default is what an item nobody answered comes to when the campaign
// closes.
type Default string

// Defaults for unanswered items. None leaves the item uncertified and
// untouched; revoke and disable become actions for the revocation workflow.
const (
	DefaultNone    = Default("none")
	DefaultRevoke  = Default("revoke")
	DefaultDisable = Default("disable")
)

// Valid reports whether d is a known default.
func (d Default) Valid() bool {
	return d == DefaultNone || d == DefaultRevoke || d == DefaultDisable
}

// Policy is how a campaign runs: deadlines, reminders, escalation and
// defaults. It is fixed when the campaign is created.
type Policy struct {
	// Reminders are offsets before an item's deadline at which its reviewer
	// is reminded, for example 7d and 1d.
	Reminders []time.Duration `json:"reminders,omitempty"`
	// EscalateAfter is how long after an item's deadline an unanswered item
	// is escalated to the reviewer's manager or the fallback.
	EscalateAfter time.Duration `json:"escalate_after"`
	// Unanswered is what unanswered items come to at close (default none).
	Unanswered Default `json:"unanswered"`
	// LeaverDeadline is the time a leaver's manager has to claim an item
	// (counted from the campaign's opening; 0: the campaign deadline).
	LeaverDeadline time.Duration `json:"leaver_deadline,omitempty"`
	// LeaverUnanswered is what unclaimed leaver items come to at close.
	LeaverUnanswered Default `json:"leaver_unanswered"`
	// Fallback is the reviewer of last resort (a person id).
	Fallback string `json:"fallback,omitempty"`
	// SingleReviewer routes every item to one reviewer (the certify
	// shortcut): conflicts are still flagged but not rerouted.
	SingleReviewer string `json:"single_reviewer,omitempty"`
	// LinkTTL is how long a review link stays valid after it is sent.
	LinkTTL time.Duration `json:"link_ttl,omitempty"`
}

// ItemKind says what an item asks the reviewer to decide on.
type ItemKind string

// Item kinds. A leaver item is an identity whose owner has left: their
// manager must reassign (claim) it or revoke it.
const (
	KindIdentity   = ItemKind("identity")
	KindLeaver     = ItemKind("leaver")
	KindCredential = ItemKind("credential")
	KindGrant      = ItemKind("grant")
)

// Item is one thing a reviewer decides on: an identity (or a leaver's
// identity) and, below it, each of its credentials and grants.
type Item struct {
	// ID numbers the item within its campaign, from 1, in a stable order
	// (provider, scope, identity, then its credentials and grants).
	ID int `json:"id"`
	// ParentID is the identity item of a credential or grant item; 0 for
	// identity and leaver items.
	ParentID int      `json:"parent_id,omitempty"`
	Kind     ItemKind `json:"kind"`

	Provider     nhi.Provider     `json:"provider"`
	Scope        string           `json:"scope"`
	IdentityID   string           `json:"identity_id"`
	IdentityName string           `json:"identity_name"`
	IdentityKind nhi.IdentityKind `json:"identity_kind"`

	CredentialID   string             `json:"credential_id,omitempty"`
	CredentialType nhi.CredentialType `json:"credential_type,omitempty"`
	CredentialName string             `json:"credential_name,omitempty"`

	GrantID     string `json:"grant_id,omitempty"`
	GrantKind   string `json:"grant_kind,omitempty"`
	Entitlement string `json:"entitlement,omitempty"`
	GrantScope  string `json:"grant_scope,omitempty"`

	// Deadline is when the item must be decided.
	Deadline time.Time `json:"deadline"`
	Context  Context   `json:"context"`

	// Reviewer is who holds the item now (the latest assignment).
	Reviewer string `json:"reviewer"`
	// Conflict says why the first reviewer the routing chose may not
	// review the item; empty when there is no conflict.
	Conflict string `json:"conflict,omitempty"`
	// Conflicted is the reviewer with the conflict, who may not decide.
	Conflicted string `json:"conflicted,omitempty"`
	// Escalated is set once the item was escalated after its deadline or
	// by a "don't know".
	Escalated bool `json:"escalated,omitempty"`
}

// Label is a short, stable name of the item for people: the identity name,
// and the credential or entitlement below it.
func (it *Item) Label() string {
	switch it.Kind {
	case KindCredential:
		return it.IdentityName + " / " + string(it.CredentialType) + " " + it.CredentialID
	case KindGrant:
		return it.IdentityName + " / " + it.Entitlement + " @ " + it.GrantScope
	}
	return it.IdentityName
}

// Context is what a reviewer needs to decide on an item. Every value read
// from a facet the scan did not fully observe is replaced by the gap.
type Context struct {
	// Role is the catalog role, its purpose and team; empty when unmapped.
	Role    string `json:"role,omitempty"`
	Purpose string `json:"purpose,omitempty"`
	Team    string `json:"team,omitempty"`
	// Owner is the resolved accountable owner with its source and status
	// (active, departed, unknown, none).
	Owner          string `json:"owner,omitempty"`
	OwnerSource    string `json:"owner_source,omitempty"`
	OwnerStatus    string `json:"owner_status,omitempty"`
	TechnicalOwner string `json:"technical_owner,omitempty"`

	// Status of the identity or credential (active, disabled...).
	Status  string    `json:"status,omitempty"`
	Created time.Time `json:"created,omitzero"`
	Expires time.Time `json:"expires,omitzero"`

	// Privileged is set for a privileged grant, and for an identity (and
	// its credentials) that holds one; PrivilegedReason says why.
	Privileged       bool   `json:"privileged,omitempty"`
	PrivilegedReason string `json:"privileged_reason,omitempty"`
	// Baseline compares the entitlement (or, for an identity, each of
	// them) with the role's least-privilege baseline.
	Baseline string `json:"baseline,omitempty"`
	// Grants and PrivilegedGrants count an identity's entitlements.
	Grants           int `json:"grants,omitempty"`
	PrivilegedGrants int `json:"privileged_grants,omitempty"`
	Credentials      int `json:"credentials,omitempty"`

	Findings []FindingRef `json:"findings,omitempty"`
	// Reduce lists the grants an unused-entitlement finding suggests
	// removing (the identity's, on an identity item; its own, on a grant
	// item): a reduce decision offers them first. Services to drop from a
	// policy are in the finding's evidence.
	Reduce  []string `json:"reduce,omitempty"`
	LastUse LastUse  `json:"last_use"`
	// Drift is what changed since the last certification.
	Drift string `json:"drift,omitempty"`
	// Gaps are the coverage gaps that affect the item, as
	// "facet: source kind" lines.
	Gaps []string `json:"gaps,omitempty"`
	// Leaver describes the departed owner of a leaver item.
	Leaver *Leaver `json:"leaver,omitempty"`
	// RequiresJustification is set for privileged items and items with
	// findings: certify, revoke and reduce need a justification.
	RequiresJustification bool `json:"requires_justification,omitempty"`
}

// FindingRef is one finding on an item, with its evidence.
type FindingRef struct {
	RuleID      string            `json:"rule_id"`
	Severity    nhi.Severity      `json:"severity"`
	Title       string            `json:"title"`
	Evidence    map[string]string `json:"evidence,omitempty"`
	Fingerprint string            `json:"fingerprint"`
	// Exception is the exception that suppresses the finding, if any.
	Exception string `json:"exception,omitempty"`
}

// LastUse is when the item was last used, from which source, and how fresh
// that source is. When the usage facet was not observed, Gap says why and
// nothing else is set.
type LastUse struct {
	State  nhi.UsageState `json:"state,omitempty"`
	At     time.Time      `json:"at,omitzero"`
	Source string         `json:"source,omitempty"`
	AsOf   time.Time      `json:"as_of,omitzero"`
	Reason string         `json:"reason,omitempty"`
	Gap    string         `json:"gap,omitempty"`
}

// Leaver is the departed owner of a leaver item.
type Leaver struct {
	Person   string    `json:"person"`
	Departed time.Time `json:"departed,omitzero"`
	Manager  string    `json:"manager,omitempty"`
	// CredentialsToRotate counts the identity's active static credentials:
	// the leaver may hold them (IA-5(i)).
	CredentialsToRotate int `json:"credentials_to_rotate,omitempty"`
}

// Assignment records who holds an item from a time on, and why.
type Assignment struct {
	ItemID   int       `json:"item_id"`
	Reviewer string    `json:"reviewer"`
	Reason   string    `json:"reason"`
	At       time.Time `json:"at"`
	// By is who caused the assignment: the routing ("nhiscan"), or the
	// reviewer who reassigned or did not know.
	By string `json:"by"`
}

// Assignment reasons.
const (
	AssignRouted    = "routed"
	AssignConflict  = "conflict"
	AssignReassign  = "reassign"
	AssignDontKnow  = "dont-know"
	AssignEscalated = "escalated"
)

// Actor is the name nhiscan itself acts under in decisions, assignments and
// the audit log.
const Actor = "nhiscan"
