package reports

import (
	"cmp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

// Scan describes one scan run as the store recorded it.
type Scan struct {
	ID          int64
	Started     time.Time
	Ended       time.Time
	Status      string // complete, partial, failed, running
	ToolVersion string
	// CatalogHash is the SHA-256 (hex) of the catalog the scan was evaluated
	// against.
	CatalogHash string
	// SnapshotHash is the SHA-256 (hex) of the inventory snapshot
	// (nhi.Inventory.Hash). When empty it is computed from the inventory.
	SnapshotHash string
	EvaluatedAt  time.Time
}

// Finding lifecycle statuses of a FindingRow.
const (
	StatusOpen       = "open"
	StatusResolved   = "resolved"
	StatusSuppressed = "suppressed"
)

// FindingRow is a finding with its lifecycle as the store tracks it.
type FindingRow struct {
	nhi.Finding
	Status    string    // open, resolved or suppressed
	FirstSeen time.Time // first scan that raised it
	LastSeen  time.Time // last scan that raised it
}

// Input is everything the reports of one scan are made from.
type Input struct {
	Scan      Scan
	Inventory nhi.Inventory
	// Ownership is the analyzer's role and owner resolution, by identity id.
	Ownership map[string]nhi.Ownership
	// Findings holds every finding of the scan, of all families, drift
	// included.
	Findings []FindingRow
	// Previous is the scan drift was computed against; nil for a first scan.
	Previous *Scan
	// Governance is catalog coverage (reports/governance.go); nil when the
	// report has no catalog.
	Governance *GovernanceReport
}

// rfc3339 formats t as RFC 3339 in UTC, or "" for the zero time.
func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// sortFindings sorts rows by provider, scope, identity, credential, grant,
// rule and fingerprint: the stable key of every findings output.
func sortFindings(rows []FindingRow) {
	slices.SortStableFunc(rows, compareFindings)
}

func compareFindings(a, b FindingRow) int {
	return cmp.Or(
		cmp.Compare(a.Provider, b.Provider),
		cmp.Compare(a.Scope, b.Scope),
		cmp.Compare(a.IdentityID, b.IdentityID),
		cmp.Compare(a.CredentialID, b.CredentialID),
		cmp.Compare(a.GrantID, b.GrantID),
		cmp.Compare(a.RuleID, b.RuleID),
		cmp.Compare(a.Fingerprint, b.Fingerprint),
		cmp.Compare(a.Status, b.Status),
	)
}

// sortFindingsBySeverity sorts rows most severe first, then by the stable key.
func sortFindingsBySeverity(rows []FindingRow) {
	slices.SortStableFunc(rows, func(a, b FindingRow) int {
		return cmp.Or(cmp.Compare(b.Severity.Rank(), a.Severity.Rank()), compareFindings(a, b))
	})
}

// clone copies rows so that sorting never changes the caller's slice.
func clone(rows []FindingRow) []FindingRow { return slices.Clone(rows) }

// normalizedInventory returns a normalised deep-enough copy of the inventory
// (lists re-sliced so that sorting does not reorder the caller's data).
func normalizedInventory(inv nhi.Inventory) nhi.Inventory {
	out := inv
	out.Scopes = slices.Clone(inv.Scopes)
	out.Gaps = slices.Clone(inv.Gaps)
	out.Identities = make([]nhi.Identity, len(inv.Identities))
	for i, id := range inv.Identities {
		id.Credentials = slices.Clone(id.Credentials)
		id.Grants = slices.Clone(id.Grants)
		id.OwnerHints = slices.Clone(id.OwnerHints)
		id.Signals = slices.Clone(id.Signals)
		for j := range id.Credentials {
			id.Credentials[j].Signals = slices.Clone(id.Credentials[j].Signals)
		}
		out.Identities[i] = id
	}
	out.Normalize()
	return out
}

// sortIdentities orders identities by provider, scope and id.
func sortIdentities(ids []nhi.Identity) {
	slices.SortStableFunc(ids, func(a, b nhi.Identity) int {
		return cmp.Or(cmp.Compare(a.Provider, b.Provider), cmp.Compare(a.Scope, b.Scope), cmp.Compare(a.ID, b.ID))
	})
}

// joinSorted de-duplicates, sorts and joins values with ";".
func joinSorted(vals []string) string {
	return strings.Join(uniqueSorted(vals), ";")
}

func uniqueSorted(vals []string) []string {
	out := make([]string, 0, len(vals))
	for _, v := range vals {
		if v != "" {
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// familyOrder sorts families in nhi.Families order, unknown ones last by name.
func familyOrder(fams []string) []string {
	fams = uniqueSorted(fams)
	rank := func(f string) int {
		if i := slices.Index(nhi.Families, f); i >= 0 {
			return i
		}
		return len(nhi.Families)
	}
	slices.SortStableFunc(fams, func(a, b string) int { return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a, b)) })
	return fams
}

// evidenceString renders a finding's evidence as "k=v; k=v" in key order.
func evidenceString(ev map[string]string) string {
	keys := make([]string, 0, len(ev))
	for k := range ev {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + ev[k]
	}
	return strings.Join(parts, "; ")
}

// partial reports whether the scan is partial: its status says so or the
// inventory has a gap that is not usage-only.
func partial(in Input) bool {
	if strings.EqualFold(in.Scan.Status, "partial") {
		return true
	}
	for _, g := range in.Inventory.Gaps {
		if !g.UsageOnly {
			return true
		}
	}
	return false
}
