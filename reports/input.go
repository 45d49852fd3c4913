package reports

import (
	"cmp"
	"slices"
	"sort"
	"strconv"
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
	// ResolvedAt and ResolvedScanID say when and by which scan the
	// finding was resolved; zero unless a scan resolved it.
	ResolvedAt     time.Time
	ResolvedScanID int64
	// NotReevaluated is set when the scan kept the finding without
	// re-evaluating it (it did not observe a facet the finding rests on):
	// the facet and the gap that hid it. Such a finding is neither
	// confirmed nor resolved by the scan.
	NotReevaluated *nhi.Hidden
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
	// PreviousInventory is that scan's inventory, for what the comparison
	// could not judge (nhi.NotEvaluated); when nil with Previous set, only
	// this scan's coverage is known and the report says so.
	PreviousInventory *nhi.Inventory
	// Campaigns are the recertification campaigns built from the scan;
	// when set, the evidence pack gains decisions.csv and campaigns.csv.
	Campaigns *CampaignEvidence
	// Remediation is the revocation actions that concern the scan; when
	// set, the evidence pack gains remediation.csv.
	Remediation *RemediationEvidence
	// Governance is catalog coverage (reports/governance.go); nil when the
	// report has no catalog.
	Governance *GovernanceReport
	// OCSF, when set, adds findings.ocsf.jsonl (every finding of the scan,
	// drift included, as OCSF Detection Finding events) to the evidence
	// pack (reports/ocsf.go).
	OCSF *OCSFProduct
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

// normalizedInventory returns a normalised copy of the inventory that
// shares no list with the caller's.
func normalizedInventory(inv nhi.Inventory) nhi.Inventory {
	out := inv.Clone()
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
func evidenceString(ev nhi.Evidence) string {
	ev = ev.Sorted()
	parts := make([]string, len(ev))
	for i, it := range ev {
		parts[i] = it.Key + "=" + it.Value
	}
	return strings.Join(parts, "; ")
}

// partial reports whether the scan is partial: its status says so or the
// inventory has a gap (any gap: some facet of some scope was not
// observed).
func partial(in Input) bool {
	return strings.EqualFold(in.Scan.Status, "partial") || len(in.Inventory.Gaps) > 0
}

// notReevaluatedCells renders a finding's not-re-evaluated mark as the
// CSV cells not_reevaluated and not_reevaluated_reason.
func notReevaluatedCells(h *nhi.Hidden) (string, string) {
	if h == nil {
		return "false", ""
	}
	return "true", h.String()
}

func scanIDCell(id int64) string {
	if id == 0 {
		return ""
	}
	return strconv.FormatInt(id, 10)
}

// facetsCell joins a finding's facets with ";".
func facetsCell(fs []nhi.Facet) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = string(f)
	}
	return joinSorted(parts)
}
