package reports

import (
	"cmp"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

// GovernanceReport is catalog coverage for one scan, with its trend.
type GovernanceReport struct {
	ScanID      int64
	EvaluatedAt time.Time
	// CatalogHash is the SHA-256 of the catalog the counts were made with
	// (the current catalog, for every point of the trend).
	CatalogHash string
	Governance  nhi.Governance
	// Trend is the total of each stored scan with the same catalog, oldest
	// first.
	Trend []GovernancePoint
}

// GovernancePoint is one stored scan's total.
type GovernancePoint struct {
	ScanID      int64
	EvaluatedAt time.Time
	Total       nhi.GovernanceCounts
}

// GovernanceNote is what every coverage output says about unobserved data.
const GovernanceNote = "Only observed facets count: an identity, entitlement or credential in a facet a coverage gap hid is unknown, not ungoverned; percentages are of what could be judged."

// WriteGovernanceText writes catalog coverage as aligned text tables:
// total, per provider, scope and team, the trend and what was not observed.
func WriteGovernanceText(w io.Writer, r GovernanceReport) error {
	g := r.Governance
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Catalog coverage of scan %d (evaluated %s), catalog sha256 %s\n", r.ScanID, rfc3339(r.EvaluatedAt), short(r.CatalogHash))
	fmt.Fprintf(tw, "%s\n", GovernanceNote)
	section := func(title string, rows []nhi.GovernanceRow, label func(nhi.GovernanceRow) string) {
		fmt.Fprintf(tw, "\n%s\t identities\t mapped\t active owner\t within baseline\t under policy\t unknown owner/grants/creds\n", title)
		for _, row := range rows {
			fmt.Fprintf(tw, "%s\t %s\n", termCell(label(row), 48), countsCells(row.GovernanceCounts))
		}
	}
	section("total", []nhi.GovernanceRow{{GovernanceCounts: g.Total}}, func(nhi.GovernanceRow) string { return "all" })
	section("provider", g.ByProvider, func(x nhi.GovernanceRow) string { return string(x.Provider) })
	section("scope", g.ByScope, func(x nhi.GovernanceRow) string { return string(x.Provider) + " " + x.Scope })
	section("team", g.ByTeam, func(x nhi.GovernanceRow) string { return x.Team })
	if len(r.Trend) > 0 {
		fmt.Fprintf(tw, "\ntrend (stored scans, this catalog)\t identities\t mapped\t active owner\t within baseline\t under policy\t unknown owner/grants/creds\n")
		for _, p := range r.Trend {
			fmt.Fprintf(tw, "scan %d %s\t %s\n", p.ScanID, rfc3339(p.EvaluatedAt), countsCells(p.Total))
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("coverage: %w", err)
	}
	if g.ProviderManaged > 0 {
		fmt.Fprintf(w, "\n%d provider-managed identities are never held to role rules and are not counted.\n", g.ProviderManaged)
	}
	if len(g.NotObserved) > 0 {
		fmt.Fprintf(w, "\nNot observed (the counts of these scopes are of what was seen):\n")
		for _, c := range g.NotObserved {
			fmt.Fprintf(w, "  %s %s %s: %s\n", TermText(string(c.Provider)), TermText(c.Scope), TermText(string(c.Facet)), TermText(c.Why))
		}
	}
	return nil
}

// countsCells renders the counts as tab-separated cells.
func countsCells(c nhi.GovernanceCounts) string {
	ratio := func(n, d int, p float64) string {
		if d <= 0 {
			return fmt.Sprintf("%d/%d n/a", n, d)
		}
		return fmt.Sprintf("%d/%d %s", n, d, pctCell(p))
	}
	return fmt.Sprintf("%d\t %s\t %s\t %s\t %s\t %d/%d/%d", c.Identities,
		ratio(c.Mapped, c.Identities, c.MappedPct()),
		ratio(c.OwnerActive, c.Identities-c.OwnerUnknown, c.OwnerPct()),
		ratio(c.WithinBaseline, c.Entitlements, c.BaselinePct()),
		ratio(c.UnderPolicy, c.Credentials, c.PolicyPct()),
		c.OwnerUnknown, c.EntitlementsUnknown, c.CredentialsUnknown)
}

func pctCell(p float64) string { return strconv.FormatFloat(p, 'f', 1, 64) + "%" }

// pctOf is pctCell, or "n/a" when there was nothing to measure.
func pctOf(p float64, denominator int) string {
	if denominator <= 0 {
		return "n/a"
	}
	return pctCell(p)
}

func short(hash string) string {
	if hash == "" {
		return "none"
	}
	return hash[:min(12, len(hash))] + "…"
}

// governanceJSON is the documented JSON shape of catalog coverage.
type governanceJSON struct {
	ScanID          int64                 `json:"scan_id"`
	EvaluatedAt     string                `json:"evaluated_at,omitempty"`
	CatalogSHA256   string                `json:"catalog_sha256,omitempty"`
	Note            string                `json:"note"`
	Total           countsJSON            `json:"total"`
	ByProvider      []rowJSON             `json:"by_provider"`
	ByScope         []rowJSON             `json:"by_scope"`
	ByTeam          []rowJSON             `json:"by_team"`
	ProviderManaged int                   `json:"provider_managed"`
	NotObserved     []notObservedJSON     `json:"not_observed"`
	Trend           []governancePointJSON `json:"trend"`
}

type countsJSON struct {
	nhi.GovernanceCounts
	MappedPct   float64 `json:"mapped_pct"`
	OwnerPct    float64 `json:"owner_pct"`
	BaselinePct float64 `json:"baseline_pct"`
	PolicyPct   float64 `json:"policy_pct"`
}

type rowJSON struct {
	Provider nhi.Provider `json:"provider,omitempty"`
	Scope    string       `json:"scope,omitempty"`
	Team     string       `json:"team,omitempty"`
	countsJSON
}

type notObservedJSON struct {
	Provider nhi.Provider `json:"provider"`
	Scope    string       `json:"scope"`
	Facet    nhi.Facet    `json:"facet"`
	Why      string       `json:"why"`
}

type governancePointJSON struct {
	ScanID      int64  `json:"scan_id"`
	EvaluatedAt string `json:"evaluated_at,omitempty"`
	countsJSON
}

func withPct(c nhi.GovernanceCounts) countsJSON {
	r := func(p float64) float64 { return math.Round(p*10) / 10 }
	return countsJSON{GovernanceCounts: c, MappedPct: r(c.MappedPct()), OwnerPct: r(c.OwnerPct()), BaselinePct: r(c.BaselinePct()), PolicyPct: r(c.PolicyPct())}
}

func rowsJSON(rows []nhi.GovernanceRow) []rowJSON {
	out := make([]rowJSON, 0, len(rows))
	for _, x := range rows {
		out = append(out, rowJSON{Provider: x.Provider, Scope: x.Scope, Team: x.Team, countsJSON: withPct(x.GovernanceCounts)})
	}
	return out
}

// WriteGovernanceJSON writes catalog coverage as indented JSON: counts and
// percentages (one decimal) in total and per provider, scope and team,
// the cells not observed, and the trend.
func WriteGovernanceJSON(w io.Writer, r GovernanceReport) error {
	g := r.Governance
	out := governanceJSON{ScanID: r.ScanID, EvaluatedAt: rfc3339(r.EvaluatedAt), CatalogSHA256: r.CatalogHash, Note: GovernanceNote,
		Total: withPct(g.Total), ByProvider: rowsJSON(g.ByProvider), ByScope: rowsJSON(g.ByScope), ByTeam: rowsJSON(g.ByTeam),
		ProviderManaged: g.ProviderManaged, NotObserved: []notObservedJSON{}, Trend: []governancePointJSON{}}
	for _, c := range g.NotObserved {
		out.NotObserved = append(out.NotObserved, notObservedJSON{Provider: c.Provider, Scope: c.Scope, Facet: c.Facet, Why: c.Why})
	}
	for _, p := range r.Trend {
		out.Trend = append(out.Trend, governancePointJSON{ScanID: p.ScanID, EvaluatedAt: rfc3339(p.EvaluatedAt), countsJSON: withPct(p.Total)})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("coverage json: %w", err)
	}
	return nil
}

// GovernanceCSVColumns are the columns of WriteGovernanceCSV.
var GovernanceCSVColumns = []string{"scan_id", "evaluated_at", "dimension", "provider", "scope", "team",
	"identities", "mapped", "mapped_pct", "owner_active", "owner_unknown", "owner_pct",
	"entitlements", "within_baseline", "outside_baseline", "no_role", "entitlements_unknown", "baseline_pct",
	"credentials", "under_policy", "credentials_unknown", "policy_pct"}

// WriteGovernanceCSV writes catalog coverage as CSV: one row for the total
// (dimension total), each provider, scope and team, then one row per
// stored scan (dimension trend).
func WriteGovernanceCSV(w io.Writer, r GovernanceReport) error {
	cw, err := newCSVWriter(w, GovernanceCSVColumns)
	if err != nil {
		return fmt.Errorf("coverage csv: %w", err)
	}
	row := func(scan int64, at time.Time, dim string, x nhi.GovernanceRow) error {
		c := x.GovernanceCounts
		i := strconv.Itoa
		return cw.Write(strconv.FormatInt(scan, 10), rfc3339(at), dim, string(x.Provider), x.Scope, x.Team,
			i(c.Identities), i(c.Mapped), pctNum(c.MappedPct()), i(c.OwnerActive), i(c.OwnerUnknown), pctNum(c.OwnerPct()),
			i(c.Entitlements), i(c.WithinBaseline), i(c.OutsideBaseline), i(c.NoRole), i(c.EntitlementsUnknown), pctNum(c.BaselinePct()),
			i(c.Credentials), i(c.UnderPolicy), i(c.CredentialsUnknown), pctNum(c.PolicyPct()))
	}
	g := r.Governance
	rows := []struct {
		dim  string
		rows []nhi.GovernanceRow
	}{{"total", []nhi.GovernanceRow{{GovernanceCounts: g.Total}}}, {"provider", g.ByProvider}, {"scope", g.ByScope}, {"team", g.ByTeam}}
	for _, d := range rows {
		for _, x := range d.rows {
			if err := row(r.ScanID, r.EvaluatedAt, d.dim, x); err != nil {
				return fmt.Errorf("coverage csv: %w", err)
			}
		}
	}
	for _, p := range r.Trend {
		if err := row(p.ScanID, p.EvaluatedAt, "trend", nhi.GovernanceRow{GovernanceCounts: p.Total}); err != nil {
			return fmt.Errorf("coverage csv: %w", err)
		}
	}
	if err := cw.Flush(); err != nil {
		return fmt.Errorf("coverage csv: %w", err)
	}
	return nil
}

func pctNum(p float64) string { return strconv.FormatFloat(p, 'f', 1, 64) }

// Metric is one sample in the form a metrics endpoint exports as it is
// (for Prometheus: a gauge named Name with Labels). Values are counts; the
// percentages are ratios of them.
type Metric struct {
	Name   string
	Help   string
	Labels []Label // sorted by name
	Value  float64
}

// Label is a metric label.
type Label struct{ Name, Value string }

// Metric names of GovernanceMetrics. Each is broken down by a "state"
// label whose values sum to the whole: per scope (labels provider and
// scope) and, under the *_team_* names, per team (label team).
const (
	MetricIdentities       = "nhiscan_catalog_identities"
	MetricOwners           = "nhiscan_catalog_owners"
	MetricEntitlements     = "nhiscan_catalog_entitlements"
	MetricCredentials      = "nhiscan_catalog_credentials"
	MetricTeamIdentities   = "nhiscan_catalog_team_identities"
	MetricTeamOwners       = "nhiscan_catalog_team_owners"
	MetricTeamEntitlements = "nhiscan_catalog_team_entitlements"
	MetricTeamCredentials  = "nhiscan_catalog_team_credentials"
	MetricProviderManaged  = "nhiscan_catalog_provider_managed_identities"
)

// GovernanceMetrics returns catalog coverage as metric samples, sorted by
// name and labels.
func GovernanceMetrics(g nhi.Governance) []Metric {
	var out []Metric
	for _, r := range g.ByScope {
		out = append(out, countMetrics(r.GovernanceCounts, "", Label{"provider", string(r.Provider)}, Label{"scope", r.Scope})...)
	}
	for _, r := range g.ByTeam {
		out = append(out, countMetrics(r.GovernanceCounts, "team_", Label{"team", r.Team})...)
	}
	out = append(out, Metric{Name: MetricProviderManaged, Help: "Provider-managed identities, never held to role rules.", Value: float64(g.ProviderManaged)})
	slices.SortFunc(out, func(x, y Metric) int {
		return cmp.Or(cmp.Compare(x.Name, y.Name), slices.CompareFunc(x.Labels, y.Labels, func(a, b Label) int {
			return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Value, b.Value))
		}))
	})
	return out
}

func countMetrics(c nhi.GovernanceCounts, infix string, labels ...Label) []Metric {
	type state struct {
		name string
		n    int
	}
	series := []struct {
		what, help string
		states     []state
	}{
		{"identities", "Identities held to role rules, by whether a catalog role maps them.",
			[]state{{"mapped", c.Mapped}, {"unmapped", c.Identities - c.Mapped}}},
		{"owners", "Identities by owner: an active accountable owner, none, or unknown (ownership data not observed).",
			[]state{{"active", c.OwnerActive}, {"none", c.Identities - c.OwnerActive - c.OwnerUnknown}, {"unknown", c.OwnerUnknown}}},
		{"entitlements", "Grants by baseline: within the role's baseline, outside it, of an unmapped identity, or unknown (grant facet not observed).",
			[]state{{"within", c.WithinBaseline}, {"outside", c.OutsideBaseline}, {"no_role", c.NoRole}, {"unknown", c.EntitlementsUnknown}}},
		{"credentials", "Credentials by policy: under a role's credential policy, not, or unknown (credential facet not observed).",
			[]state{{"under_policy", c.UnderPolicy}, {"no_policy", c.Credentials - c.UnderPolicy}, {"unknown", c.CredentialsUnknown}}},
	}
	var out []Metric
	for _, s := range series {
		for _, st := range s.states {
			ls := append(slices.Clone(labels), Label{"state", st.name})
			slices.SortFunc(ls, func(a, b Label) int { return cmp.Compare(a.Name, b.Name) })
			out = append(out, Metric{Name: "nhiscan_catalog_" + infix + s.what, Help: s.help, Labels: ls, Value: float64(st.n)})
		}
	}
	return out
}

//go:embed governance.html.tmpl
var governanceTemplate string

// The HTML report's catalog coverage section, a block of the report
// template (report.html.tmpl calls it when the input has coverage).
var _ = template.Must(reportTmpl.New("governance").Parse(governanceTemplate))

// governanceView is what the HTML section shows.
type governanceView struct {
	Note        string
	CatalogSHA  string
	Cards       []govCard
	ByProvider  []govRowView
	ByTeam      []govRowView
	Trend       []govRowView
	NotObserved []nhi.FacetStatus
	Managed     int
}

type govCard struct {
	Label, Pct, Detail string
}

type govRowView struct {
	Label                              string
	Identities                         int
	Mapped, Owner, Baseline, Policy    string
	OwnerUnknown, EntUnknown, CredUnkn int
}

func newGovernanceView(r *GovernanceReport) *governanceView {
	if r == nil {
		return nil
	}
	g := r.Governance
	t := g.Total
	v := &governanceView{Note: GovernanceNote, CatalogSHA: r.CatalogHash, NotObserved: g.NotObserved, Managed: g.ProviderManaged,
		Cards: []govCard{
			{"Identities mapped to a role", pctOf(t.MappedPct(), t.Identities), fmt.Sprintf("%d of %d", t.Mapped, t.Identities)},
			{"With an active accountable owner", pctOf(t.OwnerPct(), t.Identities-t.OwnerUnknown), fmt.Sprintf("%d of %d judged (%d unknown)", t.OwnerActive, t.Identities-t.OwnerUnknown, t.OwnerUnknown)},
			{"Entitlements within a baseline", pctOf(t.BaselinePct(), t.Entitlements), fmt.Sprintf("%d of %d observed (%d unknown)", t.WithinBaseline, t.Entitlements, t.EntitlementsUnknown)},
			{"Credentials under a policy", pctOf(t.PolicyPct(), t.Credentials), fmt.Sprintf("%d of %d observed (%d unknown)", t.UnderPolicy, t.Credentials, t.CredentialsUnknown)},
		}}
	for _, x := range g.ByProvider {
		v.ByProvider = append(v.ByProvider, govRow(string(x.Provider), x.GovernanceCounts))
	}
	for _, x := range g.ByTeam {
		v.ByTeam = append(v.ByTeam, govRow(x.Team, x.GovernanceCounts))
	}
	for _, p := range r.Trend {
		v.Trend = append(v.Trend, govRow(fmt.Sprintf("scan %d (%s)", p.ScanID, rfc3339(p.EvaluatedAt)), p.Total))
	}
	return v
}

func govRow(label string, c nhi.GovernanceCounts) govRowView {
	return govRowView{Label: label, Identities: c.Identities, Mapped: pctOf(c.MappedPct(), c.Identities), Owner: pctOf(c.OwnerPct(), c.Identities-c.OwnerUnknown),
		Baseline: pctOf(c.BaselinePct(), c.Entitlements), Policy: pctOf(c.PolicyPct(), c.Credentials),
		OwnerUnknown: c.OwnerUnknown, EntUnknown: c.EntitlementsUnknown, CredUnkn: c.CredentialsUnknown}
}
