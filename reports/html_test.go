package reports_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/reports"
)

func renderHTML(t testing.TB, in reports.Input) string {
	t.Helper()
	var buf bytes.Buffer
	if err := reports.WriteHTML(&buf, in); err != nil {
		t.Fatalf("WriteHTML: %v", err)
	}
	return buf.String()
}

func TestHTMLGolden(t *testing.T) {
	golden(t, "report.html.golden", []byte(renderHTML(t, fixture(t))))
}

// TestHTMLEscaping parses the report with a real HTML parser and checks that
// no hostile string became markup: one script (ours), no img, no event
// handler, no javascript: URL in any attribute, and the hostile strings are
// shown as text.
func TestHTMLEscaping(t *testing.T) {
	out := renderHTML(t, fixture(t))
	for _, raw := range []string{xssScript, xssImg, "<img"} {
		if strings.Contains(out, raw) {
			t.Errorf("output contains %q unescaped", raw)
		}
	}
	doc, err := html.Parse(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	scripts := 0
	var text strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		switch n.Type {
		case html.ElementNode:
			switch n.Data {
			case "script":
				scripts++
			case "img", "iframe", "object", "embed", "link", "a", "form", "base":
				t.Errorf("unexpected <%s> element", n.Data)
			}
			for _, a := range n.Attr {
				key := strings.ToLower(a.Key)
				val := strings.ToLower(strings.TrimSpace(a.Val))
				if strings.HasPrefix(key, "on") {
					t.Errorf("<%s> has event handler %s=%q", n.Data, a.Key, a.Val)
				}
				if (key == "href" || key == "src" || key == "action" || key == "xlink:href" || key == "formaction") && !strings.HasPrefix(val, "#") {
					t.Errorf("<%s> %s=%q points outside the page", n.Data, a.Key, a.Val)
				}
				if strings.HasPrefix(val, "javascript:") && key != "data-search" && key != "title" {
					t.Errorf("<%s> %s=%q starts with javascript:", n.Data, a.Key, a.Val)
				}
			}
		case html.TextNode:
			if n.Parent == nil || n.Parent.Data != "script" {
				text.WriteString(n.Data)
				text.WriteString("\n")
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if scripts != 1 {
		t.Errorf("%d script elements, want 1", scripts)
	}
	// The hostile values are shown to the reader, as text.
	for _, s := range []string{xssScript, xssImg, xssURL, formula} {
		if !strings.Contains(text.String(), s) {
			t.Errorf("hostile value %q is not shown as text", s)
		}
	}
}

// TestHTMLContentSecurityPolicy checks that the CSP allows exactly the
// report's own script and no fetches.
func TestHTMLContentSecurityPolicy(t *testing.T) {
	out := renderHTML(t, fixture(t))
	_, rest, _ := strings.Cut(out, "<script>")
	body, _, _ := strings.Cut(rest, "</script>")
	sum := sha256.Sum256([]byte(body))
	want := "script-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	doc, err := html.Parse(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	var csp string
	var find func(*html.Node)
	find = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "meta" {
			var equiv, content string
			for _, a := range n.Attr {
				switch a.Key {
				case "http-equiv":
					equiv = a.Val
				case "content":
					content = a.Val
				}
			}
			if strings.EqualFold(equiv, "Content-Security-Policy") {
				csp = content
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			find(c)
		}
	}
	find(doc)
	if !strings.Contains(csp, want) || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP %q, want %q and default-src 'none'", csp, want)
	}
	for _, external := range []string{"http://", "https://", "//cdn", "@import", "url("} {
		if strings.Contains(strings.ReplaceAll(out, "http://www.w3.org/2000/svg", ""), external) &&
			!strings.Contains(formula, external) {
			t.Errorf("output references %q: the report must be self-contained", external)
		}
	}
}

func TestHTMLPartialAndDrift(t *testing.T) {
	partial := renderHTML(t, fixture(t))
	for _, want := range []string{`<span class="badge partial">PARTIAL</span>`, "PARTIAL SCAN.", "iam.serviceAccounts.list",
		"Changes since scan 41", "Owner changed since the previous scan", "Grant removed since the previous scan"} {
		if !strings.Contains(partial, want) {
			t.Errorf("partial report lacks %q", want)
		}
	}

	in := fixture(t)
	in.Scan.Status = "complete"
	in.Inventory.Gaps = nil
	in.Previous = nil
	var kept []reports.FindingRow
	for _, f := range in.Findings {
		if f.Family != nhi.FamilyDrift {
			kept = append(kept, f)
		}
	}
	in.Findings = kept
	complete := renderHTML(t, in)
	if strings.Contains(complete, "PARTIAL") {
		t.Error("complete scan is labelled PARTIAL")
	}
	for _, want := range []string{`<span class="badge complete">complete</span>`, "This is the first scan", "No coverage gaps"} {
		if !strings.Contains(complete, want) {
			t.Errorf("complete report lacks %q", want)
		}
	}

	// A gap that hides usage only still makes the scan partial: usage was
	// not observed there.
	in.Inventory.Gaps = []nhi.Gap{{Provider: nhi.AWS, Scope: "222222222222", Source: "iam:GetRoleLastUsed", Kind: nhi.GapDenied, UsageOnly: true}}
	usage := renderHTML(t, in)
	for _, want := range []string{`<span class="badge partial">PARTIAL</span>`, "iam:GetRoleLastUsed denied &mdash; hides usage"} {
		if !strings.Contains(usage, want) {
			t.Errorf("report with a usage-only gap lacks %q", want)
		}
	}
}

// TestHTMLDriftNotEvaluated: "no drift" is claimed only when both scans
// observed every cell; otherwise the cells not evaluated are listed.
func TestHTMLDriftNotEvaluated(t *testing.T) {
	const noDrift = "No drift: identities, credentials, grants and owners are as they were."
	base := fixture(t)
	var kept []reports.FindingRow
	for _, f := range base.Findings {
		if f.Family != nhi.FamilyDrift {
			kept = append(kept, f)
		}
	}
	base.Findings = kept

	complete := base
	complete.Inventory.Gaps = nil
	if out := renderHTML(t, complete); !strings.Contains(out, noDrift) || strings.Contains(out, "Not evaluated") {
		t.Error("two complete scans without drift do not say so")
	}

	// This scan could not read the identities of proj-b nor role usage in
	// account 222: both cells are listed, and "no drift" is not claimed.
	out := renderHTML(t, base)
	if strings.Contains(out, noDrift) {
		t.Error("a partial comparison claims no drift")
	}
	for _, want := range []string{"No drift where both scans observed the data", "Not evaluated",
		`<td class="mono">proj-b</td><td class="mono">identities</td><td>this scan: iam.serviceAccounts.list denied</td>`,
		`<td class="mono">222222222222</td><td class="mono">usage</td><td>this scan: iam:GetRoleLastUsed denied</td>`} {
		if !strings.Contains(out, want) {
			t.Errorf("partial comparison lacks %q", want)
		}
	}

	// A gap in the previous scan counts too.
	prevGap := complete
	prev := *complete.PreviousInventory
	prev.Gaps = []nhi.Gap{{Provider: nhi.GitHub, Scope: "acme", Source: "repos", Kind: nhi.GapThrottled, Facets: []nhi.Facet{"identities:github-deploy-key"}}}
	prevGap.PreviousInventory = &prev
	if out := renderHTML(t, prevGap); strings.Contains(out, noDrift) || !strings.Contains(out, "previous scan: repos throttled") {
		t.Error("a gap in the previous scan is not listed as not evaluated")
	}

	// Without the previous scan's inventory, only this scan's coverage is
	// known, and the report says so.
	unknown := complete
	unknown.PreviousInventory = nil
	if out := renderHTML(t, unknown); strings.Contains(out, noDrift) || !strings.Contains(out, "previous scan's coverage is not known") {
		t.Error("a comparison with an unknown previous coverage claims no drift")
	}
}

func TestHTMLCharts(t *testing.T) {
	in := fixture(t)
	// 12 owners with one open finding each: the owner chart keeps the top 10.
	base := in.Findings[0]
	in.Findings = nil
	for i := range 12 {
		f := base
		f.Owner = string(rune('a'+i)) + "@example.com"
		f.Fingerprint = f.Owner
		if i == 11 {
			f.Status = reports.StatusResolved // not counted
		}
		in.Findings = append(in.Findings, f)
	}
	in.Findings = append(in.Findings, in.Findings[0], in.Findings[0]) // a@ has 3
	out := renderHTML(t, in)
	_, owners, _ := strings.Cut(out, `id="chart-owner"`)
	owners, _, _ = strings.Cut(owners, "</figure>")
	if n := strings.Count(owners, "<g>"); n != 10 {
		t.Errorf("owner chart has %d bars, want 10", n)
	}
	if !strings.Contains(owners, "<title>a@example.com: 3</title>") {
		t.Error("owner chart lacks a@example.com with 3 findings")
	}
	if strings.Index(owners, "a@example.com") > strings.Index(owners, "b@example.com") {
		t.Error("owner chart is not ordered by count")
	}
	if strings.Contains(owners, "l@example.com") || strings.Contains(owners, "k@example.com") {
		t.Error("owner chart holds owners beyond the top 10 or resolved findings")
	}
	// The longest bar spans the full bar width.
	if !strings.Contains(owners, `x="180.0" y="6" width="300.0"`) {
		t.Errorf("top bar is not full width:\n%s", owners)
	}
}
