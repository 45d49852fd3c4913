package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nhiscan/nhiscan/internal/textsafe/textsafetest"
)

// hostileInventory is an inventory whose collected strings (identity name,
// owner tag, credential id, scope name, gap source and permission) carry
// terminal escape sequences, a bidi override and line breaks.
const hostileInventory = `{"version": 1, "collected_at": "2026-11-19T00:00:00Z",
 "scopes": [{"provider": "aws", "id": "111111111111", "name": "acme\u001b[2J"}],
 "gaps": [{"provider": "aws", "scope": "111111111111", "source": "iam\u001b]0;pwned\u0007", "kind": "denied",
           "permission": "iam:List\u001b[2J", "detail": "d\u001b[2J"}],
 "identities": [{"id": "aws:AIDAEVIL", "provider": "aws", "kind": "aws-iam-user", "native_id": "AIDAEVIL",
   "name": "evil\u001b[2J\u001b]0;pwned\u0007\u202e\n=cmd", "scope": "111111111111", "status": "active",
   "tags": {"owner": "\u001b[31mmallory\nforged line"}, "usage": {"state": "never-used"},
   "credentials": [{"id": "AKIA\u001b[31mEVIL", "type": "aws-access-key", "status": "active",
                    "created": "2025-01-01T00:00:00Z", "usage": {"state": "never-used"}}]}]}`

// TestCLIHostileStringsNeverReachTheTerminal runs every command that prints
// collected strings on a terminal and checks that no control character
// (other than the newline ending each line) or bidi override gets through.
func TestCLIHostileStringsNeverReachTheTerminal(t *testing.T) {
	c := newCLI(t)
	c.terminal = true
	inv := filepath.Join(c.dir, "hostile.json")
	if err := os.WriteFile(inv, []byte(hostileInventory), 0o644); err != nil {
		t.Fatal(err)
	}
	db := "--db=" + c.db()
	cat := "--catalog=" + testdata("catalog.yaml")
	check := func(args []string, wantCode int, stdout, stderr string, code int) {
		t.Helper()
		if code != wantCode {
			t.Errorf("%v: exit %d, want %d\n%s%s", args, code, wantCode, stdout, stderr)
		}
		for _, out := range []string{stdout, stderr} {
			for _, bad := range []string{"\x1b", "\x07", "\u202e", "\nforged line", "\n=cmd"} {
				if strings.Contains(out, bad) {
					t.Errorf("%v: output contains raw %q:\n%s", args, bad, out)
				}
			}
		}
	}
	for _, args := range [][]string{
		{"scan", db, cat, "--inventory", inv},
		{"scan", db, cat, "--inventory", testdata("scan1.json")},
		{"findings", db, "--status", "all"},
		{"diff", db},
		{"audit", "log", db},
	} {
		code, out, errs := c.run(args...)
		check(args, exitOK, out, errs, code)
	}
	// The owner and gap are still shown, escaped.
	_, out, _ := c.run("scan", db, cat, "--inventory", inv)
	for _, want := range []string{`\x1b[31mmallory\x0aforged line`, `iam\x1b]0;pwned\x07`} {
		if !strings.Contains(out, want) {
			t.Errorf("scan summary lacks %q:\n%s", want, out)
		}
	}
	// An error quoting a collected string is escaped as well.
	bad := filepath.Join(c.dir, "bad.json")
	if err := os.WriteFile(bad, []byte(strings.Replace(hostileInventory, `"kind": "aws-iam-user"`, `"kind": "x\u001b[2J"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"scan", db, cat, "--inventory", bad}
	code, out, errs := c.run(args...)
	check(args, exitUsage, out, errs, code)
	if !strings.Contains(errs, `x\x1b[2J`) {
		t.Errorf("error does not show the escaped kind:\n%s", errs)
	}
}

// c1Inventory carries the payloads encoding/json and html/template leave
// raw: a C1 CSI (U+009B), bidi overrides and isolates, DEL and NEL.
var c1Inventory = strings.NewReplacer(
	`"name": "acme\u001b[2J"`, `"name": "acme\u009b2J\u2066x\u2069"`,
	`"detail": "d\u001b[2J"`, `"detail": "d\u009b31m\u0085\u007f"`,
	`\u202e\n=cmd`, `\u202eevil#name18\u009b31m\u2067`,
).Replace(hostileInventory)

// TestCLIHostileStringsAreEscapedInEveryOutput: the terminal, JSON, CSV,
// HTML, the evidence pack (but its canonical snapshot) and the JSON log
// carry no ESC, C1 or bidi control raw; each is shown as a visible
// escape.
func TestCLIHostileStringsAreEscapedInEveryOutput(t *testing.T) {
	c := newCLI(t)
	inv := filepath.Join(c.dir, "hostile.json")
	if err := os.WriteFile(inv, []byte(c1Inventory), 0o644); err != nil {
		t.Fatal(err)
	}
	db := "--db=" + c.db()
	cat := "--catalog=" + testdata("catalog.yaml")
	html := filepath.Join(c.dir, "report.html")
	ev := filepath.Join(c.dir, "evidence")
	for _, args := range [][]string{
		{"scan", db, cat, "--inventory", inv, "--log-format", "json", "-v", "--html", html},
		{"findings", db, "--status", "all", "--format", "json"},
		{"findings", db, "--status", "all", "--format", "csv"},
		{"findings", db, "--status", "all"},
		{"scans", db, "--format", "json", "--coverage"},
		{"scans", db, "--coverage"},
		{"export", "evidence", db, cat, "--out", ev},
	} {
		code, out, errs := c.run(args...)
		if code != exitOK {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errs)
		}
		for what, s := range map[string]string{"stdout": out, "stderr": errs} {
			if r := textsafetest.Raw(s, true); r != "" {
				t.Errorf("%v: %s carries %s:\n%s", args, what, r, s)
			}
		}
	}
	files := []string{html}
	ents, _ := os.ReadDir(ev)
	for _, e := range ents {
		files = append(files, filepath.Join(ev, e.Name()))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if r := textsafetest.Raw(string(b), true); r != "" {
			t.Errorf("%s carries %s", filepath.Base(f), r)
		}
	}
	b, _ := os.ReadFile(html)
	if !strings.Contains(string(b), `acme\x9b2J\u2066x\u2069`) {
		i := strings.Index(string(b), "acme")
		t.Errorf("the HTML report does not show the name escaped: %q", string(b)[max(0, i-40):max(0, i+80)])
	}
}

// TestPrintJSONEscapes: the JSON that campaign status, reduce suggest and
// revoke plan/status print carries no raw C1 or bidi character.
func TestPrintJSONEscapes(t *testing.T) {
	var out bytes.Buffer
	a := &app{stdout: &out}
	if err := a.printJSON(map[string]string{"name": "\u202eevil#name18\u009b2J"}); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(out.String(), "\u202e\u009b") || !strings.Contains(out.String(), `\u202eevil#name18\u009b2J`) {
		t.Errorf("printJSON = %q", out.String())
	}
}
