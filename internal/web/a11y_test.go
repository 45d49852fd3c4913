package web_test

import (
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// checkPage checks what a page must hold for keyboard and screen-reader
// users on any screen, and what the Content-Security-Policy demands:
// a language, a viewport, one h1 and no skipped heading level; a label for
// every control (a <label for>, a wrapping <label>, or aria-label); radio
// buttons grouped in a fieldset with a legend; buttons with text; unique
// ids; no inline script, event handler or style.
func checkPage(t reporter, name, body string) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	ids, labelled := map[string]bool{}, map[string]bool{}
	var h1, level int
	var viewport, lang bool
	var controls []*html.Node
	var walk func(n *html.Node, inLabel, inFieldset bool)
	walk = func(n *html.Node, inLabel, inFieldset bool) {
		if n.Type == html.ElementNode {
			inLabel, inFieldset = visit(t, name, n, inLabel, inFieldset, ids, labelled, &controls)
			switch n.Data {
			case "html":
				lang = attr(n, "lang") != ""
			case "meta":
				viewport = viewport || (attr(n, "name") == "viewport" && strings.Contains(attr(n, "content"), "width=device-width"))
			case "h1", "h2", "h3", "h4", "h5", "h6":
				l := int(n.Data[1] - '0')
				if l > level+1 {
					t.Errorf("%s: <%s> %q skips a heading level (after h%d)", name, n.Data, textOf(n), level)
				}
				level = l
				if l == 1 {
					h1++
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inLabel, inFieldset)
		}
	}
	walk(doc, false, false)
	for _, c := range controls {
		if id := attr(c, "id"); !labelled[id] && attr(c, "aria-label") == "" && attr(c, "data-wrapped") != "true" {
			t.Errorf("%s: <%s name=%q id=%q> has no label", name, c.Data, attr(c, "name"), id)
		}
	}
	if !lang || !viewport || h1 != 1 {
		t.Errorf("%s: lang %v, viewport %v, %d h1", name, lang, viewport, h1)
	}
}

// visit checks one element and records ids, labels and controls.
func visit(t reporter, name string, n *html.Node, inLabel, inFieldset bool, ids, labelled map[string]bool, controls *[]*html.Node) (bool, bool) {
	t.Helper()
	if id := attr(n, "id"); id != "" {
		if ids[id] {
			t.Errorf("%s: id %q is used twice", name, id)
		}
		ids[id] = true
	}
	for _, a := range n.Attr {
		if strings.HasPrefix(a.Key, "on") || a.Key == "style" {
			t.Errorf("%s: <%s %s=...>: inline script and style break the Content-Security-Policy", name, n.Data, a.Key)
		}
	}
	switch n.Data {
	case "script":
		if attr(n, "src") == "" {
			t.Errorf("%s: inline <script>", name)
		}
	case "style":
		t.Errorf("%s: inline <style>", name)
	case "label":
		if f := attr(n, "for"); f != "" {
			labelled[f] = true
		}
		inLabel = true
	case "fieldset":
		if n.FirstChild == nil || firstElement(n).Data != "legend" {
			t.Errorf("%s: a fieldset without a legend first", name)
		}
		inFieldset = true
	case "button":
		if strings.TrimSpace(textOf(n)) == "" && attr(n, "aria-label") == "" {
			t.Errorf("%s: a button without text", name)
		}
	case "input", "select", "textarea":
		typ := attr(n, "type")
		if typ == "hidden" || typ == "submit" {
			break
		}
		if typ == "radio" && !inFieldset {
			t.Errorf("%s: radio %s=%s outside a fieldset", name, attr(n, "name"), attr(n, "value"))
		}
		if inLabel {
			n.Attr = append(n.Attr, html.Attribute{Key: "data-wrapped", Val: "true"})
		}
		*controls = append(*controls, n)
	}
	return inLabel, inFieldset
}

func firstElement(n *html.Node) *html.Node {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode {
			return c
		}
	}
	return &html.Node{}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

// TestPagesAreAccessible checks every kind of reviewer page: the landing
// page, each reviewer's page (open and decided items, a refused form),
// one item's page, and the message pages.
func TestPagesAreAccessible(t *testing.T) {
	e := newEnv(t)
	anon := e.browser(t, "203.0.113.5")
	checkPage(t, "home", anon.get("/").body)
	checkPage(t, "landing", anon.get("/review?t="+url.QueryEscape(e.links["carol@acme.example"])).body)
	checkPage(t, "bad link", anon.get("/review?t=nope").body)
	checkPage(t, "no session", anon.get("/review/1").body)
	checkPage(t, "not found", anon.get("/nowhere").body)
	for reviewer, tok := range e.links {
		b := e.browser(t, "203.0.113.6")
		b.open(tok)
		checkPage(t, reviewer, b.get("/review/1").body)
	}
	carol := e.browser(t, "203.0.113.7")
	carol.open(e.links["carol@acme.example"])
	carol.post("/review/1/decide", url.Values{"item": {"1"}, "decision": {"certify"}, "justification": {"ok"}})
	checkPage(t, "carol after a decision", carol.get("/review/1").body)
	checkPage(t, "refused form", carol.post("/review/1/decide", url.Values{"item": {"6"}, "decision": {"certify"}}).body)
	checkPage(t, "refused bulk", carol.post("/review/1/bulk", url.Values{"decision": {"certify"}}).body)
	checkPage(t, "item page", carol.get("/review/1/items/4").body)
	checkPage(t, "foreign item", carol.get("/review/1/items/8").body)
}

// reporter is what checkPage reports to: a *testing.T, or a recorder
// in TestCheckPageCatches.
type reporter interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// recorder counts what checkPage reports.
type recorder struct{ n int }

func (r *recorder) Helper()               {}
func (r *recorder) Errorf(string, ...any) { r.n++ }
func (r *recorder) Fatalf(string, ...any) { r.n++ }

// TestCheckPageCatches: the checks above are not vacuous.
func TestCheckPageCatches(t *testing.T) {
	for _, bad := range []string{
		`<html><head><meta name="viewport" content="width=device-width"></head><body><h1>x</h1><input name="q"></body></html>`,
		`<html lang="en"><head><meta name="viewport" content="width=device-width"></head><body><h1>x</h1><input type="radio" name="r" id="r"><label for="r">r</label></body></html>`,
		`<html lang="en"><head><meta name="viewport" content="width=device-width"></head><body><h1>x</h1><h3>y</h3></body></html>`,
		`<html lang="en"><head><meta name="viewport" content="width=device-width"></head><body><h1>x</h1><script>alert(1)</script></body></html>`,
		`<html lang="en"><head><meta name="viewport" content="width=device-width"></head><body><h1 onclick="x()">x</h1></body></html>`,
	} {
		var r recorder
		checkPage(&r, "bad", bad)
		if r.n == 0 {
			t.Errorf("checkPage passed %s", bad)
		}
	}
}
