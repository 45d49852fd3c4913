package reports_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/textsafe/textsafetest"
	"github.com/nhiscan/nhiscan/reports"
)

// hostileInput is the fixture with the hostile payloads (ESC and C1
// terminal escapes, bidi overrides and isolates, controls, line
// separators, invalid UTF-8) in every collected text field the reports
// show.
func hostileInput(t *testing.T) reports.Input {
	in := fixture(t)
	h := textsafetest.Joined()
	inv := &in.Inventory
	for i := range inv.Scopes {
		inv.Scopes[i].Name += h
	}
	for i := range inv.Gaps {
		g := &inv.Gaps[i]
		g.Source, g.Permission, g.Detail = g.Source+h, g.Permission+h, g.Detail+h
	}
	for i := range inv.Identities {
		id := &inv.Identities[i]
		id.Name, id.ARN, id.Path = id.Name+h, id.ARN+h, id.Path+h
		id.Tags = map[string]string{"owner" + h: "mallory" + h}
		id.Attributes = map[string]string{"note": h}
		for j := range id.OwnerHints {
			id.OwnerHints[j].Value += h
		}
		for j := range id.Credentials {
			id.Credentials[j].Name += h
		}
		for j := range id.Grants {
			g := &id.Grants[j]
			g.Entitlement, g.Via, g.Reason = g.Entitlement+h, g.Via+h, g.Reason+h
		}
	}
	for k, o := range in.Ownership {
		o.Owner, o.TechnicalOwner, o.Team = o.Owner+h, o.TechnicalOwner+h, o.Team+h
		in.Ownership[k] = o
	}
	for i := range in.Findings {
		f := &in.Findings[i]
		f.IdentityName, f.Owner, f.Exception = f.IdentityName+h, f.Owner+h, f.Exception+h
		f.Evidence = nhi.Evidence{{Key: "value", Value: h}}
	}
	return in
}

// noRaw fails when out carries a hostile character raw, and checks that
// the override is still shown, escaped.
func noRaw(t *testing.T, what, out string) {
	t.Helper()
	if r := textsafetest.Raw(out, true); r != "" {
		t.Errorf("%s carries %s", what, r)
	}
	if !strings.Contains(out, `\u202eevil#name18`) {
		t.Errorf("%s does not show the override escaped", what)
	}
}

func TestHostileStringsAreEscapedInEveryReport(t *testing.T) {
	in := hostileInput(t)
	var b bytes.Buffer
	if err := reports.WriteFindingsTable(&b, in.Findings); err != nil {
		t.Fatal(err)
	}
	noRaw(t, "findings table", b.String())

	b.Reset()
	if err := reports.WriteFindingsCSV(&b, in.Findings); err != nil {
		t.Fatal(err)
	}
	noRaw(t, "findings CSV", b.String())
	if _, err := csv.NewReader(bytes.NewReader(b.Bytes())).ReadAll(); err != nil {
		t.Errorf("findings CSV: %v", err)
	}

	noRaw(t, "HTML report", renderHTML(t, in))

	dir, _ := writePack(t, in)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() == reports.FileSnapshot {
			// The canonical inventory, byte for byte what the scan's
			// SHA-256 covers: it carries collected strings as
			// nhi.Encode wrote them (see docs/evidence.md).
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if r := textsafetest.Raw(string(data), true); r != "" {
			t.Errorf("evidence %s carries %s", e.Name(), r)
		}
	}
	if err := reports.VerifyEvidence(dir); err != nil {
		t.Errorf("VerifyEvidence: %v", err)
	}
}

func TestFindingsJSONKeepsTheValuesWithoutRawCharacters(t *testing.T) {
	in := hostileInput(t)
	var b bytes.Buffer
	if err := reports.WriteFindingsJSON(&b, in.Findings); err != nil {
		t.Fatal(err)
	}
	if r := textsafetest.Raw(b.String(), true); r != "" {
		t.Errorf("findings JSON carries %s", r)
	}
	var back []struct {
		IdentityID   string            `json:"identity_id"`
		IdentityName string            `json:"identity_name"`
		Evidence     map[string]string `json:"evidence"`
	}
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, f := range in.Findings {
		// What JSON can carry: invalid UTF-8 becomes U+FFFD.
		names[f.IdentityID] = strings.ToValidUTF8(f.IdentityName, "\uFFFD")
	}
	for _, f := range back {
		if f.IdentityName != names[f.IdentityID] {
			t.Errorf("%s: name %q, want %q", f.IdentityID, f.IdentityName, names[f.IdentityID])
		}
		if !strings.Contains(f.Evidence["value"], "\u202e") || !strings.Contains(f.Evidence["value"], "\u009b") {
			t.Errorf("%s: evidence lost its characters: %q", f.IdentityID, f.Evidence["value"])
		}
	}
}
