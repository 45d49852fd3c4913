package reports

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/textsafe"
)

// WriteFindingsTable writes findings as aligned text columns for a terminal,
// most severe first. Control characters (ANSI escapes, tabs, newlines, bidi
// overrides) in collected strings are printed as visible escapes, so a
// hostile identity name cannot rewrite the terminal or break the columns.
func WriteFindingsTable(w io.Writer, rows []FindingRow) error {
	rows = clone(rows)
	sortFindingsBySeverity(rows)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SEVERITY\tFAMILY\tRULE\tPROVIDER\tSCOPE\tIDENTITY\tCREDENTIAL/GRANT\tOWNER\tSTATUS")
	for _, r := range rows {
		target := r.CredentialID
		if target == "" {
			target = r.GrantID
		}
		name := r.IdentityName
		if name == "" {
			name = r.IdentityID
		}
		cells := []string{string(r.Severity), r.Family, r.RuleID, string(r.Provider), r.Scope, name, target, r.Owner, r.Status}
		for i, c := range cells {
			cells[i] = termCell(c, 60)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("findings table: %w", err)
	}
	return nil
}

// termCell makes s safe and short for a terminal cell: "-" when empty,
// control and bidi characters escaped, at most max runes.
func termCell(s string, max int) string {
	if s == "" {
		return "-"
	}
	out := TermText(s)
	if utf8.RuneCountInString(out) > max {
		out = string([]rune(out)[:max-1]) + "…"
	}
	return out
}

// TermText makes a collected string safe to print on a terminal: control
// characters (ANSI escape sequences, newlines, tabs), C1 controls, invalid
// UTF-8 and bidi overrides are written as visible escapes, so a hostile
// identity name, tag or API message can neither drive the terminal nor
// forge or reorder a line. It is internal/textsafe's Term, the one
// definition every output shares.
func TermText(s string) string { return textsafe.Term(s) }

// findingJSON is the documented JSON shape of a finding row. Times are RFC
// 3339 UTC strings and omitted when unknown.
type findingJSON struct {
	Fingerprint      string            `json:"fingerprint"`
	RuleID           string            `json:"rule_id"`
	Family           string            `json:"family"`
	Severity         nhi.Severity      `json:"severity"`
	Status           string            `json:"status"`
	Title            string            `json:"title"`
	Provider         nhi.Provider      `json:"provider"`
	Scope            string            `json:"scope"`
	IdentityID       string            `json:"identity_id"`
	IdentityName     string            `json:"identity_name"`
	IdentityKind     nhi.IdentityKind  `json:"identity_kind"`
	CredentialID     string            `json:"credential_id,omitempty"`
	GrantID          string            `json:"grant_id,omitempty"`
	RoleID           string            `json:"role_id,omitempty"`
	Owner            string            `json:"owner,omitempty"`
	OwnerSource      string            `json:"owner_source,omitempty"`
	Evidence         map[string]string `json:"evidence,omitempty"`
	Remediation      string            `json:"remediation,omitempty"`
	Controls         []string          `json:"controls,omitempty"`
	Suppressed       bool              `json:"suppressed,omitempty"`
	Exception        string            `json:"exception,omitempty"`
	ExceptionExpires string            `json:"exception_expires,omitempty"`
	FirstSeen        string            `json:"first_seen,omitempty"`
	LastSeen         string            `json:"last_seen,omitempty"`
	ResolvedAt       string            `json:"resolved_at,omitempty"`
	ResolvedScanID   int64             `json:"resolved_scan_id,omitempty"`
	Facets           []nhi.Facet       `json:"facets,omitempty"`
	NotReevaluated   *nhi.Hidden       `json:"not_reevaluated,omitempty"`
}

// WriteFindingsJSON writes findings as an indented JSON array, sorted by
// provider, scope, identity, credential, grant and rule. An empty list is
// written as [].
func WriteFindingsJSON(w io.Writer, rows []FindingRow) error {
	rows = clone(rows)
	sortFindings(rows)
	out := make([]findingJSON, len(rows))
	for i, r := range rows {
		out[i] = findingJSON{
			Fingerprint: r.Fingerprint, RuleID: r.RuleID, Family: r.Family, Severity: r.Severity,
			Status: r.Status, Title: r.Title, Provider: r.Provider, Scope: r.Scope,
			IdentityID: r.IdentityID, IdentityName: r.IdentityName, IdentityKind: r.IdentityKind,
			CredentialID: r.CredentialID, GrantID: r.GrantID, RoleID: r.RoleID,
			Owner: r.Owner, OwnerSource: r.OwnerSource, Evidence: r.Evidence.Map(),
			Remediation: r.Remediation, Controls: uniqueSorted(r.Controls),
			Suppressed: r.Suppressed, Exception: r.Exception,
			ExceptionExpires: rfc3339(r.ExceptionExpires),
			FirstSeen:        rfc3339(r.FirstSeen), LastSeen: rfc3339(r.LastSeen),
			ResolvedAt: rfc3339(r.ResolvedAt), ResolvedScanID: r.ResolvedScanID,
			Facets: r.Facets, NotReevaluated: r.NotReevaluated,
		}
	}
	// Encoded whole, then written without raw C1 or bidi controls (the
	// values are unchanged: JSON reads the escapes back as themselves).
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return fmt.Errorf("findings json: %w", err)
	}
	if _, err := w.Write(append(textsafe.JSON(b), '\n')); err != nil {
		return fmt.Errorf("findings json: %w", err)
	}
	return nil
}

// findingColumns are the columns of WriteFindingsCSV.
var findingColumns = []string{
	"fingerprint", "rule_id", "family", "severity", "status", "title",
	"provider", "scope", "identity_id", "identity_kind", "identity_name",
	"credential_id", "grant_id", "catalog_role_id", "business_owner", "owner_source",
	"first_seen_at", "last_seen_at", "evidence", "exception", "exception_expires_at",
	"remediation", "control_refs",
	// Added with coverage by facet; appended so column positions hold.
	"facets", "resolved_at", "resolved_scan_id", "not_reevaluated", "not_reevaluated_reason",
}

func findingCells(r FindingRow) []string {
	return append([]string{
		r.Fingerprint, r.RuleID, r.Family, string(r.Severity), r.Status, r.Title,
		string(r.Provider), r.Scope, r.IdentityID, string(r.IdentityKind), r.IdentityName,
		r.CredentialID, r.GrantID, r.RoleID, r.Owner, r.OwnerSource,
		rfc3339(r.FirstSeen), rfc3339(r.LastSeen), evidenceString(r.Evidence), r.Exception, rfc3339(r.ExceptionExpires),
		r.Remediation, joinSorted(r.Controls),
	}, lifecycleCells(r)...)
}

// lifecycleCells are the cells of the columns added with coverage by
// facet, shared by findings CSV and the evidence pack's findings files.
func lifecycleCells(r FindingRow) []string {
	nre, why := notReevaluatedCells(r.NotReevaluated)
	return []string{facetsCell(r.Facets), rfc3339(r.ResolvedAt), scanIDCell(r.ResolvedScanID), nre, why}
}

// WriteFindingsCSV writes findings as CSV with a header row, sorted by
// provider, scope, identity, credential, grant and rule. Cells are
// neutralised by SafeCell; control references are joined with ";".
func WriteFindingsCSV(w io.Writer, rows []FindingRow) error {
	rows = clone(rows)
	sortFindings(rows)
	cw, err := newCSVWriter(w, findingColumns)
	if err != nil {
		return fmt.Errorf("findings csv: %w", err)
	}
	for _, r := range rows {
		if err := cw.Write(findingCells(r)...); err != nil {
			return fmt.Errorf("findings csv: %w", err)
		}
	}
	if err := cw.Flush(); err != nil {
		return fmt.Errorf("findings csv: %w", err)
	}
	return nil
}
