package reports

import (
	"cmp"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/textsafe"
)

//go:embed report.html.tmpl
var reportTemplate string

// The report template is parsed with html/template, which escapes every
// value for its context (text, attribute, URL, script): collected strings
// are never trusted.
var reportTmpl = template.Must(template.New("report").Parse(reportTemplate))

// scriptHash is the CSP hash of the template's one inline script. The
// report's Content-Security-Policy allows that script only, so even a value
// that escaped escaping could not run, and nothing may be fetched.
var scriptHash = func() string {
	_, rest, ok := strings.Cut(reportTemplate, "<script>")
	body, _, ok2 := strings.Cut(rest, "</script>")
	if !ok || !ok2 {
		panic("reports: report template has no inline script")
	}
	sum := sha256.Sum256([]byte(body))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}()

// WriteHTML writes one self-contained HTML report for a scan: header with
// the scan's times and status (a partial scan is labelled PARTIAL with its
// gaps and what each hides), summary counts, inline SVG bar charts of open
// findings by family, provider and owner, a sortable and filterable
// findings table, drift since the previous scan with the scope × facet
// cells the comparison could not judge, and the coverage matrix (scope ×
// facet, observed or the gap) with the gaps. It has inline CSS and a small
// inline script, and fetches nothing.
func WriteHTML(w io.Writer, in Input) error {
	v := newHTMLView(in)
	// html/template escapes for context but leaves ESC, C1 and bidi
	// controls raw: a name with U+202E would render reversed. The page is
	// written through textsafe, which shows each as a visible escape (the
	// template itself holds none).
	tw := textsafe.NewWriter(w)
	if err := reportTmpl.Execute(tw, v); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	return nil
}

type htmlView struct {
	ScriptHash  string
	ScanID      int64
	Status      string
	Partial     bool
	ToolVersion string
	Started     string
	Ended       string
	Evaluated   string
	SnapshotAt  string
	SnapshotSHA string
	CatalogSHA  string
	Previous    *prevView

	Totals     ManifestTotals
	Severities []sevCount
	Charts     []chart

	Families    []string
	SeverityOpt []string
	Rows        []rowView
	Drift       []rowView
	Scopes      []ManifestScope
	Gaps        []gapView
	Governance  *governanceView

	// NotEvaluated lists the scope × facet cells the drift comparison
	// could not judge; PrevCoverageUnknown says the previous scan's
	// coverage was not given, so only this scan's is listed.
	NotEvaluated        []cellView
	PrevCoverageUnknown bool
	// FacetClasses head the coverage matrix; Matrix has one row per scope.
	FacetClasses []string
	Matrix       []matrixRow
}

type gapView struct {
	Provider, Scope, Source, Kind, Permission, Detail string
	// Hides lists the facets the gap hides; empty for the whole scope.
	Hides string
}

type cellView struct {
	Provider, Scope, Facet, Why string
}

type matrixRow struct {
	Provider, Scope, Name string
	Cells                 []matrixCell // one per facet class
}

// matrixCell is one facet class of one scope: State is "observed" (every
// facet of the class read there was observed), "hidden" (some was not) or
// "none" (the scan read no facet of the class there); Observed and Hidden
// list the subjects ("aws-access-key") and, for hidden ones, why.
type matrixCell struct {
	State    string
	Observed []string
	Hidden   []string
}

type prevView struct {
	ID    int64
	Ended string
}

type sevCount struct {
	Name  string
	Count int
}

type chart struct {
	ID     string
	Title  string
	Note   string
	Width  int
	Height int
	Bars   []bar
}

type bar struct {
	Label     string // shortened for display
	FullLabel string
	Y         int
	TextY     int
	Total     int
	TotalX    string
	Segments  []segment
}

type segment struct {
	X, W     string
	Severity string
	Count    int
}

type rowView struct {
	SevRank      int
	Severity     string
	Family       string
	RuleID       string
	Title        string
	Provider     string
	Scope        string
	IdentityName string
	IdentityID   string
	Target       string
	TargetKind   string
	Owner        string
	OwnerStatus  string
	Status       string
	FirstSeen    string
	LastSeen     string
	Evidence     string
	Exception    string
	Search       string
	// NotReevaluated is the reason the scan did not re-evaluate the
	// finding; ResolvedAt when a scan resolved it.
	NotReevaluated string
	ResolvedAt     string
}

func newHTMLView(in Input) htmlView {
	ev := newEvidence(in)
	m := ev.manifest(in.Scan.EvaluatedAt)
	v := htmlView{
		ScriptHash: scriptHash,
		ScanID:     in.Scan.ID, Status: in.Scan.Status, Partial: m.Partial, ToolVersion: in.Scan.ToolVersion,
		Started: rfc3339(in.Scan.Started), Ended: rfc3339(in.Scan.Ended), Evaluated: rfc3339(in.Scan.EvaluatedAt),
		SnapshotAt: ev.snapAt, SnapshotSHA: ev.snapSHA, CatalogSHA: in.Scan.CatalogHash,
		Totals: m.Totals, Scopes: m.Scopes, Gaps: gapViews(ev.inv.Gaps), Governance: newGovernanceView(in.Governance),
		Matrix: matrixRows(ev.coverage, ev.scopeNames()),
	}
	for _, c := range nhi.FacetClasses {
		v.FacetClasses = append(v.FacetClasses, string(c))
	}
	if v.Status == "" {
		v.Status = "unknown"
	}
	if in.Previous != nil {
		v.Previous = &prevView{ID: in.Previous.ID, Ended: rfc3339(in.Previous.Ended)}
		v.PrevCoverageUnknown = in.PreviousInventory == nil
		var prev *nhi.Inventory
		if in.PreviousInventory != nil {
			p := normalizedInventory(*in.PreviousInventory)
			prev = &p
		}
		for _, c := range nhi.NotEvaluated(prev, &ev.inv) {
			v.NotEvaluated = append(v.NotEvaluated, cellView{Provider: string(c.Provider), Scope: c.Scope, Facet: string(c.Facet), Why: c.Why})
		}
	}
	var open []FindingRow
	sevTotals := map[nhi.Severity]int{}
	fams := []string{}
	for _, f := range ev.findings {
		fams = append(fams, f.Family)
		if f.Status == StatusOpen {
			open = append(open, f)
			sevTotals[f.Severity]++
		}
	}
	for i := len(nhi.Severities) - 1; i >= 0; i-- {
		s := nhi.Severities[i]
		v.Severities = append(v.Severities, sevCount{Name: string(s), Count: sevTotals[s]})
		v.SeverityOpt = append(v.SeverityOpt, string(s))
	}
	v.Families = familyOrder(fams)

	v.Charts = []chart{
		barChart("chart-family", "Open findings by family", "", open, func(f FindingRow) string { return f.Family }, familyRank, 0),
		barChart("chart-provider", "Open findings by provider", "", open, func(f FindingRow) string { return string(f.Provider) }, nil, 0),
		barChart("chart-owner", "Open findings by owner", "top 10 owners", open, func(f FindingRow) string {
			if o := ev.findingOwner(f); o != "" {
				return o
			}
			return "(no owner)"
		}, nil, 10),
	}

	rows := clone(ev.findings)
	sortFindingsBySeverity(rows)
	for _, f := range rows {
		r := ev.rowView(f)
		v.Rows = append(v.Rows, r)
		if f.Family == nhi.FamilyDrift && f.Status != StatusResolved {
			v.Drift = append(v.Drift, r)
		}
	}
	return v
}

// findingOwner is the finding's owner, or the identity's resolved owner.
func (ev *evidence) findingOwner(f FindingRow) string {
	if f.Owner != "" {
		return f.Owner
	}
	return ev.in.Ownership[f.IdentityID].Owner
}

func (ev *evidence) rowView(f FindingRow) rowView {
	r := rowView{
		SevRank: f.Severity.Rank(), Severity: string(f.Severity), Family: f.Family, RuleID: f.RuleID, Title: f.Title,
		Provider: string(f.Provider), Scope: f.Scope, IdentityName: f.IdentityName, IdentityID: f.IdentityID,
		Owner: ev.findingOwner(f), OwnerStatus: ev.ownership(f.IdentityID).OwnerStatus, Status: f.Status,
		FirstSeen: rfc3339(f.FirstSeen), LastSeen: rfc3339(f.LastSeen), Evidence: evidenceString(f.Evidence),
	}
	if r.IdentityName == "" {
		r.IdentityName = f.IdentityID
	}
	switch {
	case f.CredentialID != "":
		r.Target, r.TargetKind = f.CredentialID, "credential"
	case f.GrantID != "":
		r.Target, r.TargetKind = f.GrantID, "grant"
	}
	if f.NotReevaluated != nil {
		r.NotReevaluated = f.NotReevaluated.String()
	}
	r.ResolvedAt = rfc3339(f.ResolvedAt)
	if f.Exception != "" {
		r.Exception = f.Exception
		if !f.ExceptionExpires.IsZero() {
			r.Exception += " until " + rfc3339(f.ExceptionExpires)
		}
	}
	search := []string{r.Severity, r.Family, r.RuleID, r.Title, r.Provider, r.Scope,
		r.IdentityName, r.IdentityID, r.Target, r.Owner, r.Status, r.Evidence, r.Exception}
	if r.NotReevaluated != "" {
		search = append(search, "not re-evaluated", r.NotReevaluated)
	}
	r.Search = strings.ToLower(strings.Join(search, " "))
	return r
}

func gapViews(gaps []nhi.Gap) []gapView {
	out := make([]gapView, len(gaps))
	for i, g := range gaps {
		var hides []string
		for _, f := range g.Hides() {
			hides = append(hides, string(f))
		}
		out[i] = gapView{Provider: string(g.Provider), Scope: g.Scope, Source: g.Source, Kind: string(g.Kind),
			Permission: g.Permission, Detail: g.Detail, Hides: strings.Join(hides, ", ")}
	}
	return out
}

// matrixRows folds the coverage cells (sorted by provider, scope, facet)
// into one row per scope and one cell per facet class.
func matrixRows(cells []nhi.FacetStatus, names map[string]string) []matrixRow {
	var out []matrixRow
	for _, c := range cells {
		if n := len(out); n == 0 || out[n-1].Provider != string(c.Provider) || out[n-1].Scope != c.Scope {
			out = append(out, matrixRow{Provider: string(c.Provider), Scope: c.Scope,
				Name: names[string(c.Provider)+"\x00"+c.Scope], Cells: make([]matrixCell, len(nhi.FacetClasses))})
		}
		row := &out[len(out)-1]
		for i, class := range nhi.FacetClasses {
			if c.Facet != "" && c.Facet.Class() != class {
				continue
			}
			cell := &row.Cells[i]
			subject := c.Facet.Subject()
			switch {
			case c.Observed:
				cell.Observed = append(cell.Observed, cmp.Or(subject, "all"))
			default:
				cell.Hidden = append(cell.Hidden, cmp.Or(subject, "all")+": "+c.Why)
			}
		}
	}
	for i := range out {
		for j := range out[i].Cells {
			cell := &out[i].Cells[j]
			switch {
			case len(cell.Hidden) > 0:
				cell.State = "hidden"
			case len(cell.Observed) > 0:
				cell.State = "observed"
			default:
				cell.State = "none"
			}
		}
	}
	return out
}

func familyRank(f string) int {
	if i := slices.Index(nhi.Families, f); i >= 0 {
		return i
	}
	return len(nhi.Families)
}

// Chart geometry, in SVG user units.
const (
	chartLabelW = 180
	chartBarW   = 300
	chartRowH   = 28
	chartBarH   = 18
	chartTop    = 6
)

// barChart counts open findings per key, stacked by severity (most severe
// first). Bars are ordered by rank when given, else by count descending
// then key; limit > 0 keeps the first limit bars.
func barChart(id, title, note string, rows []FindingRow, key func(FindingRow) string, rank func(string) int, limit int) chart {
	counts := map[string]map[nhi.Severity]int{}
	totals := map[string]int{}
	for _, f := range rows {
		k := key(f)
		if counts[k] == nil {
			counts[k] = map[nhi.Severity]int{}
		}
		counts[k][f.Severity]++
		totals[k]++
	}
	keys := make([]string, 0, len(totals))
	for k := range totals {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if rank != nil {
			return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a, b))
		}
		return cmp.Or(cmp.Compare(totals[b], totals[a]), cmp.Compare(a, b))
	})
	if limit > 0 && len(keys) > limit {
		keys = keys[:limit]
	}
	max := 0
	for _, k := range keys {
		max = maxInt(max, totals[k])
	}
	c := chart{ID: id, Title: title, Note: note, Width: chartLabelW + chartBarW + 50}
	for i, k := range keys {
		y := chartTop + i*chartRowH
		b := bar{Label: shorten(k, 26), FullLabel: k, Y: y, TextY: y + chartBarH - 4, Total: totals[k]}
		x := float64(chartLabelW)
		for s := len(nhi.Severities) - 1; s >= 0; s-- {
			sev := nhi.Severities[s]
			n := counts[k][sev]
			if n == 0 {
				continue
			}
			w := float64(n) / float64(max) * chartBarW
			b.Segments = append(b.Segments, segment{X: num(x), W: num(w), Severity: string(sev), Count: n})
			x += w
		}
		b.TotalX = num(x + 6)
		c.Bars = append(c.Bars, b)
	}
	c.Height = chartTop*2 + maxInt(len(keys), 1)*chartRowH
	return c
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
