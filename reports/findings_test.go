package reports_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/reports"
)

func TestSafeCell(t *testing.T) {
	cases := []struct{ in, want string }{
		{"=1+1", "'=1+1"},
		{"+1", "'+1"},
		{"-1", "'-1"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\r=1"},
		{"\x00x", "'\x00x"},
		{"", ""},
		{"a=b", "a=b"},
		{"1-2", "1-2"},
		{"'=already", "'=already"},
		{" =1", " =1"},
		{"2026-03-01T10:00:00Z", "2026-03-01T10:00:00Z"},
	}
	for _, c := range cases {
		if got := reports.SafeCell(c.in); got != c.want {
			t.Errorf("SafeCell(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestFindingsCSVInjection puts each leading formula character in every
// collected text field and checks the parsed cells.
func TestFindingsCSVInjection(t *testing.T) {
	for _, lead := range []string{"=", "+", "-", "@", "\t", "\r"} {
		hostile := lead + `cmd|' /C calc'!A0`
		row := reports.FindingRow{Finding: nhi.Finding{
			Fingerprint: "fp", RuleID: hostile, Family: "orphaned", Severity: nhi.SevHigh, Title: hostile,
			Provider: nhi.AWS, Scope: hostile, IdentityID: hostile, IdentityName: hostile, IdentityKind: nhi.KindAWSUser,
			CredentialID: hostile, GrantID: hostile, RoleID: hostile, Owner: hostile, OwnerSource: hostile,
			Evidence: nhi.Evidence{}, Remediation: hostile, Exception: hostile, Controls: []string{hostile},
		}, Status: reports.StatusOpen}
		var buf bytes.Buffer
		if err := reports.WriteFindingsCSV(&buf, []reports.FindingRow{row}); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatalf("lead %q: %v", lead, err)
		}
		if len(recs) != 2 {
			t.Fatalf("lead %q: %d records, want 2", lead, len(recs))
		}
		hostileCells := 0
		for i, cell := range recs[1] {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("lead %q: column %s starts with %q", lead, recs[0][i], cell[0])
			}
			if cell == "'"+hostile {
				hostileCells++
			}
		}
		if hostileCells != 13 {
			t.Errorf("lead %q: %d neutralised cells, want 13 (every collected field)", lead, hostileCells)
		}
	}
}

func TestFindingsWritersGolden(t *testing.T) {
	in := fixture(t)
	for _, c := range []struct {
		name  string
		write func(*bytes.Buffer, []reports.FindingRow) error
	}{
		{"findings-table.golden", func(b *bytes.Buffer, r []reports.FindingRow) error { return reports.WriteFindingsTable(b, r) }},
		{"findings-json.golden", func(b *bytes.Buffer, r []reports.FindingRow) error { return reports.WriteFindingsJSON(b, r) }},
		{"findings-csv.golden", func(b *bytes.Buffer, r []reports.FindingRow) error { return reports.WriteFindingsCSV(b, r) }},
	} {
		var buf bytes.Buffer
		if err := c.write(&buf, in.Findings); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		golden(t, c.name, buf.Bytes())
	}
}

func TestFindingsTableEscapesControls(t *testing.T) {
	id := nhi.Identity{ID: "github:deploy-key:1", Provider: nhi.GitHub, Kind: nhi.KindGitHubDeployKey, Scope: "acme",
		Name: "evil\x1b[2J\x1b]0;pwned\x07name\nnext\u202eline"}
	row := finding(t, "credential-too-old", id, "1", "", nil)
	row.Owner = "\tbob"
	var buf bytes.Buffer
	if err := reports.WriteFindingsTable(&buf, []reports.FindingRow{row}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, bad := range []string{"\x1b", "\x07", "\u202e", "\tbob"} {
		if strings.Contains(out, bad) {
			t.Errorf("table output contains raw %q", bad)
		}
	}
	for _, want := range []string{`evil\x1b[2J\x1b]0;pwned\x07name\x0anext\u202eline`, `\x09bob`} {
		if !strings.Contains(out, want) {
			t.Errorf("table output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "\n"); n != 2 {
		t.Errorf("table has %d lines, want header + 1 row:\n%s", n, out)
	}
}

func TestFindingsTableOrder(t *testing.T) {
	var buf bytes.Buffer
	if err := reports.WriteFindingsTable(&buf, fixture(t).Findings); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")[1:]
	last := 99
	for _, l := range lines {
		sev, _ := nhi.ParseSeverity(strings.Fields(l)[0])
		if sev.Rank() > last {
			t.Errorf("table not sorted most severe first at %q", l)
		}
		last = sev.Rank()
	}
}

func TestFindingsJSONShape(t *testing.T) {
	in := fixture(t)
	var buf bytes.Buffer
	if err := reports.WriteFindingsJSON(&buf, in.Findings); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(in.Findings) {
		t.Fatalf("%d findings, want %d", len(got), len(in.Findings))
	}
	lifecycle := map[string]int{}
	for _, f := range got {
		if v, ok := f["exception_expires"]; ok && v == "0001-01-01T00:00:00Z" {
			t.Errorf("zero time printed: %v", f)
		}
		if f["first_seen"] != "2026-02-01T08:00:00Z" {
			t.Errorf("first_seen = %v", f["first_seen"])
		}
		switch {
		case f["status"] == "resolved":
			if f["resolved_at"] != "2026-03-01T10:00:00Z" || f["resolved_scan_id"] != 42.0 {
				t.Errorf("resolved finding: resolved_at %v by %v", f["resolved_at"], f["resolved_scan_id"])
			}
			lifecycle["resolved"]++
		case f["not_reevaluated"] != nil:
			want := map[string]any{"facet": "usage", "gap_source": "iam:GetRoleLastUsed", "gap_kind": "denied", "why": "iam:GetRoleLastUsed denied"}
			if diff := cmp.Diff(want, f["not_reevaluated"]); diff != "" {
				t.Errorf("not_reevaluated (-want +got):\n%s", diff)
			}
			lifecycle["kept"]++
		default:
			if _, ok := f["resolved_at"]; ok || f["facets"] == nil {
				t.Errorf("open finding: resolved_at %v, facets %v", f["resolved_at"], f["facets"])
			}
		}
	}
	if lifecycle["resolved"] != 1 || lifecycle["kept"] != 1 {
		t.Errorf("lifecycle marks %v, want one resolved and one kept", lifecycle)
	}
	if bytes.Contains(buf.Bytes(), []byte("<script>")) {
		t.Error("JSON output holds a raw <script> tag")
	}
	buf.Reset()
	if err := reports.WriteFindingsJSON(&buf, nil); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("[]\n", buf.String()); diff != "" {
		t.Errorf("empty list (-want +got):\n%s", diff)
	}
}

func TestTermText(t *testing.T) {
	for in, want := range map[string]string{
		"":                         "",
		"plain name é 名前":          "plain name é 名前",
		"a\x1b[31mred\x1b[0m":      `a\x1b[31mred\x1b[0m`,
		"title\x1b]0;pwned\x07":    `title\x1b]0;pwned\x07`,
		"line\nforged: ok\r":       `line\x0aforged: ok\x0d`,
		"\u202eevil\u2066x\u2028y": `\u202eevil\u2066x\u2028y`,
		"c1\u009bcsi":              `c1\x9bcsi`,
		"bad\xffutf8":              `bad\ufffdutf8`,
	} {
		if got := reports.TermText(in); got != want {
			t.Errorf("TermText(%q) = %q, want %q", in, got, want)
		}
	}
}
