package reports_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/reports"
)

func govCounts(ids, mapped, owner, ownerUnknown, within, outside, noRole, entUnknown, creds, policy, credUnknown int) nhi.GovernanceCounts {
	return nhi.GovernanceCounts{Identities: ids, Mapped: mapped, OwnerActive: owner, OwnerUnknown: ownerUnknown,
		Entitlements: within + outside + noRole, WithinBaseline: within, OutsideBaseline: outside, NoRole: noRole, EntitlementsUnknown: entUnknown,
		Credentials: creds, UnderPolicy: policy, CredentialsUnknown: credUnknown}
}

// govFixture has a hostile team and scope, a hidden facet and a trend.
func govFixture() reports.GovernanceReport {
	at := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	s111 := govCounts(3, 2, 2, 0, 2, 3, 1, 0, 4, 2, 0)
	s222 := govCounts(2, 1, 1, 1, 0, 1, 1, 1, 0, 0, 1)
	total := s111
	total.Add(s222)
	gap := nhi.Gap{Provider: nhi.AWS, Scope: "222", Source: "iam:ListAttachedRolePolicies", Kind: nhi.GapDenied}
	return reports.GovernanceReport{ScanID: 2, EvaluatedAt: at, CatalogHash: strings.Repeat("ab", 32),
		Governance: nhi.Governance{
			Total:      total,
			ByProvider: []nhi.GovernanceRow{{Provider: nhi.AWS, GovernanceCounts: total}},
			ByScope: []nhi.GovernanceRow{
				{Provider: nhi.AWS, Scope: "111", GovernanceCounts: s111},
				{Provider: nhi.AWS, Scope: "222\x1b[31m", GovernanceCounts: s222},
			},
			ByTeam: []nhi.GovernanceRow{
				{Team: nhi.NoTeam, GovernanceCounts: govCounts(1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0)},
				{Team: xssScript, GovernanceCounts: govCounts(4, 3, 3, 0, 2, 4, 1, 1, 4, 2, 1)},
			},
			ProviderManaged: 1,
			NotObserved: []nhi.FacetStatus{{Provider: nhi.AWS, Scope: "222", Facet: nhi.GrantsFacet("managed-policy"), Gap: &gap,
				Why: "iam:ListAttachedRolePolicies denied"}},
		},
		Trend: []reports.GovernancePoint{
			{ScanID: 1, EvaluatedAt: at.Add(-24 * time.Hour), Total: govCounts(4, 1, 1, 0, 1, 2, 3, 0, 3, 1, 0)},
			{ScanID: 2, EvaluatedAt: at, Total: total},
		},
	}
}

func TestGovernanceWritersGolden(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(*bytes.Buffer, reports.GovernanceReport) error
	}{
		{"coverage-text.golden", func(b *bytes.Buffer, r reports.GovernanceReport) error { return reports.WriteGovernanceText(b, r) }},
		{"coverage-json.golden", func(b *bytes.Buffer, r reports.GovernanceReport) error { return reports.WriteGovernanceJSON(b, r) }},
		{"coverage-csv.golden", func(b *bytes.Buffer, r reports.GovernanceReport) error { return reports.WriteGovernanceCSV(b, r) }},
	} {
		var b bytes.Buffer
		if err := tc.write(&b, govFixture()); err != nil {
			t.Fatal(err)
		}
		golden(t, tc.name, b.Bytes())
		// CSV is data and keeps values as collected, as every CSV export
		// does; text and JSON never carry an escape sequence.
		if tc.name != "coverage-csv.golden" && strings.Contains(b.String(), "\x1b") {
			t.Errorf("%s: an escape sequence reached the output", tc.name)
		}
	}
}

func TestGovernanceJSONShape(t *testing.T) {
	var b bytes.Buffer
	if err := reports.WriteGovernanceJSON(&b, govFixture()); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Total struct {
			Identities          int     `json:"identities"`
			OwnerPct            float64 `json:"owner_pct"`
			BaselinePct         float64 `json:"baseline_pct"`
			EntitlementsUnknown int     `json:"entitlements_unknown"`
		} `json:"total"`
		NotObserved []struct {
			Facet string `json:"facet"`
		} `json:"not_observed"`
		Trend []struct {
			ScanID int64 `json:"scan_id"`
		} `json:"trend"`
		Note string `json:"note"`
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	// 3 active of the 4 judged; 2 within of 8 observed entitlements.
	if got.Total.Identities != 5 || got.Total.OwnerPct != 75 || got.Total.BaselinePct != 25 || got.Total.EntitlementsUnknown != 1 {
		t.Errorf("total %+v", got.Total)
	}
	if len(got.NotObserved) != 1 || got.NotObserved[0].Facet != "grants:managed-policy" || len(got.Trend) != 2 || !strings.Contains(got.Note, "unknown") {
		t.Errorf("json %+v", got)
	}
}

func TestGovernanceMetrics(t *testing.T) {
	ms := reports.GovernanceMetrics(govFixture().Governance)
	get := func(name string, labels ...string) float64 {
		t.Helper()
		for _, m := range ms {
			if m.Name != name || len(m.Labels) != len(labels)/2 {
				continue
			}
			ok := true
			for i, l := range m.Labels {
				ok = ok && l.Name == labels[2*i] && l.Value == labels[2*i+1]
			}
			if ok {
				return m.Value
			}
		}
		t.Fatalf("no metric %s%v", name, labels)
		return 0
	}
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{reports.MetricIdentities, []string{"provider", "aws", "scope", "111", "state", "mapped"}, 2},
		{reports.MetricIdentities, []string{"provider", "aws", "scope", "111", "state", "unmapped"}, 1},
		{reports.MetricOwners, []string{"provider", "aws", "scope", "222\x1b[31m", "state", "unknown"}, 1},
		{reports.MetricOwners, []string{"provider", "aws", "scope", "222\x1b[31m", "state", "none"}, 0},
		{reports.MetricEntitlements, []string{"provider", "aws", "scope", "111", "state", "outside"}, 3},
		{reports.MetricEntitlements, []string{"provider", "aws", "scope", "222\x1b[31m", "state", "unknown"}, 1},
		{reports.MetricCredentials, []string{"provider", "aws", "scope", "111", "state", "under_policy"}, 2},
		{reports.MetricCredentials, []string{"provider", "aws", "scope", "111", "state", "no_policy"}, 2},
		{reports.MetricTeamOwners, []string{"state", "unknown", "team", nhi.NoTeam}, 1},
		{reports.MetricTeamIdentities, []string{"state", "mapped", "team", xssScript}, 3},
		{reports.MetricTeamEntitlements, []string{"state", "no_role", "team", xssScript}, 1},
		{reports.MetricTeamCredentials, []string{"state", "unknown", "team", xssScript}, 1},
		{reports.MetricProviderManaged, nil, 1},
	} {
		if got := get(tc.name, tc.labels...); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
	for i := 1; i < len(ms); i++ {
		if ms[i-1].Name > ms[i].Name {
			t.Fatalf("metrics not sorted: %s before %s", ms[i-1].Name, ms[i].Name)
		}
	}
	for _, m := range ms {
		if m.Help == "" {
			t.Errorf("%s has no help", m.Name)
		}
	}
}

// TestHTMLGovernanceSection: with coverage, the report gains the section;
// hostile values stay text, and there is still one script, ours.
func TestHTMLGovernanceSection(t *testing.T) {
	in := fixture(t)
	without := renderHTML(t, in)
	r := govFixture()
	in.Governance = &r
	out := renderHTML(t, in)
	if strings.Contains(without, "governance-h") {
		t.Error("a report without coverage has the coverage section")
	}
	for _, want := range []string{`id="governance-h"`, "Catalog coverage", "Identities mapped to a role", "60.0%", "75.0%", "25.0%",
		"Trend over stored scans", "grants:managed-policy", "iam:ListAttachedRolePolicies denied", "provider-managed"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(out, xssScript) {
		t.Error("a hostile team name became markup")
	}
	doc, err := html.Parse(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	scripts := 0
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "script" {
			scripts++
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if scripts != 1 {
		t.Errorf("%d scripts, want 1", scripts)
	}
}
