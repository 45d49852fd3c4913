package nhi

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Severity of a finding.
type Severity string

// Severities in increasing order.
const (
	SevInfo     = Severity("info")
	SevLow      = Severity("low")
	SevMedium   = Severity("medium")
	SevHigh     = Severity("high")
	SevCritical = Severity("critical")
)

// Severities lists all severities in increasing order.
var Severities = []Severity{SevInfo, SevLow, SevMedium, SevHigh, SevCritical}

// Rank orders severities: info 0 … critical 4; unknown -1.
func (s Severity) Rank() int {
	for i, x := range Severities {
		if s == x {
			return i
		}
	}
	return -1
}

// ParseSeverity parses a severity name, case-insensitively.
func ParseSeverity(s string) (Severity, error) {
	v := Severity(strings.ToLower(strings.TrimSpace(s)))
	if v.Rank() < 0 {
		return "", fmt.Errorf("unknown severity %q (want info, low, medium, high or critical)", s)
	}
	return v, nil
}

// Finding families.
const (
	FamilyOrphaned       = "orphaned"
	FamilyOwnerMoved     = "owner-moved"
	FamilyDormant        = "dormant"
	FamilyOverPrivileged = "over-privileged"
	FamilyLongLived      = "long-lived"
	FamilyUnmapped       = "unmapped"
	FamilyDrift          = "drift"
	FamilyRiskyConfig    = "risky-config"
)

// Families lists every finding family in report order.
var Families = []string{FamilyOrphaned, FamilyOwnerMoved, FamilyDormant, FamilyOverPrivileged,
	FamilyLongLived, FamilyUnmapped, FamilyDrift, FamilyRiskyConfig}

// Finding is one rule's verdict on one identity, credential or grant.
type Finding struct {
	Fingerprint string   `json:"fingerprint"`
	RuleID      string   `json:"rule_id"`
	Family      string   `json:"family"`
	Severity    Severity `json:"severity"`
	Title       string   `json:"title"`

	Provider     Provider     `json:"provider"`
	Scope        string       `json:"scope"`
	IdentityID   string       `json:"identity_id"`
	IdentityName string       `json:"identity_name"`
	IdentityKind IdentityKind `json:"identity_kind"`
	CredentialID string       `json:"credential_id,omitempty"`
	GrantID      string       `json:"grant_id,omitempty"`

	// RoleID is the catalog role the identity maps to, if any.
	RoleID string `json:"role_id,omitempty"`
	// Owner is the resolved accountable owner (email or login), if any, and
	// OwnerSource where it came from (role, tag, entra-owner…).
	Owner       string `json:"owner,omitempty"`
	OwnerSource string `json:"owner_source,omitempty"`

	// Evidence holds the values and thresholds that triggered the finding.
	Evidence    Evidence `json:"evidence,omitempty"`
	Remediation string   `json:"remediation,omitempty"`
	Controls    []string `json:"controls,omitempty"`

	// Suppressed is set when an unexpired exception applies; Exception is
	// its reference and ExceptionExpires its expiry.
	Suppressed       bool      `json:"suppressed,omitempty"`
	Exception        string    `json:"exception,omitempty"`
	ExceptionExpires time.Time `json:"exception_expires,omitzero"`

	// Facets are the facets of the scope the finding was judged from (its
	// rule's facet classes instantiated: identities:<kind>,
	// credentials:<type>, grants:<kind>, usage:<source>, login, trust,
	// ownership), sorted. A later scan resolves the finding only where it
	// observed every one of them. Findings stored before facets have none.
	Facets []Facet `json:"facets,omitempty"`
}

// Fingerprint is the stable key of a finding: rule + identity + credential
// or grant. It keys suppressions, lifecycle and de-duplication.
func Fingerprint(ruleID, identityID, credentialID, grantID string) string {
	var out [FingerprintLen]byte
	return string(AppendFingerprint(out[:0], ruleID, identityID, credentialID, grantID))
}

// FingerprintLen is the length of a fingerprint.
const FingerprintLen = 24

// AppendFingerprint appends the fingerprint to dst: a caller that makes
// many can keep them in one string.
func AppendFingerprint(dst []byte, ruleID, identityID, credentialID, grantID string) []byte {
	// The value is sha256Hex(rule \0 identity \0 credential \0 grant)[:24],
	// built in a stack buffer when it fits.
	var buf [512]byte
	b := append(buf[:0], ruleID...)
	b = append(append(b, 0), identityID...)
	b = append(append(b, 0), credentialID...)
	b = append(append(b, 0), grantID...)
	sum := sha256.Sum256(b)
	return hex.AppendEncode(dst, sum[:FingerprintLen/2])
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Certification is the last approved state: which grants and credentials of
// each identity an owner certified, and when.
type Certification struct {
	At time.Time `json:"at"`
	// Grants maps identity id to the grant ids certified for it.
	Grants map[string][]string `json:"grants"`
	// Credentials maps identity id to the credential ids certified for it.
	Credentials map[string][]string `json:"credentials,omitempty"`
}

// Finding lifecycle statuses.
const (
	FindingOpen       = "open"
	FindingSuppressed = "suppressed"
	FindingResolved   = "resolved"
)

// Finding lifecycle events, recorded per scan. A finding seen again
// unchanged has no event.
const (
	EventNew          = "new"
	EventReopened     = "reopened"
	EventResolved     = "resolved"
	EventSuppressed   = "suppressed"
	EventUnsuppressed = "unsuppressed"
	// EventNotReevaluated: the finding was open (or suppressed), this scan
	// did not produce it, and this scan did not observe one of its facets:
	// it stays as it was, marked not re-evaluated, with the gap.
	EventNotReevaluated = "not-reevaluated"
)

// Hidden says why a scan could not re-evaluate a finding: the facet of its
// scope the scan did not observe, and the gap that hid it (or why none is
// to blame: the scope was not collected, or the collector does not read
// the facet there).
type Hidden struct {
	// Facet is the first of the finding's facets that was not observed
	// (for a finding stored before facets, which needs its whole scope
	// observed, the first facet class a gap hides); empty when the scope
	// was not collected at all.
	Facet Facet `json:"facet,omitempty"`
	// GapSource and GapKind name the gap (the API that failed and how).
	GapSource string  `json:"gap_source,omitempty"`
	GapKind   GapKind `json:"gap_kind,omitempty"`
	// Why is Coverage.Why's reason: the gap's source and kind, or
	// WhyNotCollected / WhyNotRead.
	Why string `json:"why"`
}

// String renders the reason as "facet: why" (or just why).
func (h Hidden) String() string {
	if h.Facet == "" {
		return h.Why
	}
	return string(h.Facet) + ": " + h.Why
}

// PriorFinding is a finding as the store last recorded it: what the
// lifecycle needs to move it.
type PriorFinding struct {
	Fingerprint string
	// Status is FindingOpen, FindingSuppressed or FindingResolved.
	Status   string
	Provider Provider
	Scope    string
	// Facets as the finding last recorded them; nil for a finding stored
	// before facets existed.
	Facets []Facet
}

// Transition is what one scan does to one finding.
type Transition struct {
	Fingerprint string
	// Status after the scan.
	Status string
	// Events recorded for the scan, in order; none when the finding was
	// seen again unchanged.
	Events []string
	// Finding is the finding as this scan produced it; nil when the scan
	// did not produce it (resolved, or not re-evaluated).
	Finding *Finding
	// Hidden is set when the finding was kept without being re-evaluated.
	Hidden *Hidden
}
