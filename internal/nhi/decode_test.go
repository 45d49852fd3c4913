package nhi_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

// inv wraps identities (JSON) in a valid inventory with scope "s".
func inv(identities string) string {
	return `{"version":1,"collected_at":"2026-01-01T00:00:00Z","scopes":[{"provider":"aws","id":"s"}],"identities":[` + identities + `]}`
}

const ident = `{"id":"aws:%s","provider":"aws","kind":"aws-iam-user","native_id":"%s","scope":"s","status":"active","usage":{"state":"unknown"}}`

func id(n string) string { return strings.ReplaceAll(ident, "%s", n) }

// decodeErr decodes in and returns the error's lines.
func decodeErr(t *testing.T, in string) []string {
	t.Helper()
	_, err := nhi.Decode(strings.NewReader(in))
	if err == nil {
		t.Fatalf("decoded without error: %s", in)
	}
	msg := strings.TrimPrefix(err.Error(), "inventory: ")
	return strings.Split(msg, "\n")
}

func wantLines(t *testing.T, name string, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n got %q\nwant %q", name, got, want)
	}
}

func TestDecodeIsStrictAboutFieldNames(t *testing.T) {
	wantLines(t, "case-folded", decodeErr(t, `{"VERSION":1,"version":1,"collected_at":"2026-01-01T00:00:00Z"}`),
		`top level: unknown field "VERSION" (field names are case-sensitive: "version")`)
	wantLines(t, "duplicate", decodeErr(t, `{"version":1,"collected_at":"2026-01-01T00:00:00Z","version":2}`),
		`top level: field "version" given twice`)
	wantLines(t, "duplicate in an identity", decodeErr(t, inv(id("b")+","+strings.Replace(id("a"), `"status":"active"`, `"status":"active","Status":"disabled","status":"x"`, 1))),
		`identities[1] (aws:a): unknown field "Status" (field names are case-sensitive: "status")`,
		`identities[1] (aws:a): field "status" given twice`)
	wantLines(t, "duplicate tag", decodeErr(t, inv(strings.Replace(id("a"), `"scope":"s"`, `"scope":"s","tags":{"owner":"a","owner":"b"}`, 1))),
		`identities[0] (aws:a).tags: key "owner" given twice`)
	wantLines(t, "unknown field deep", decodeErr(t, inv(strings.Replace(id("a"), `"state":"unknown"`, `"state":"unknown","colour":{"a":[[[1]]]}`, 1))),
		`identities[0] (aws:a).usage: unknown field "colour"`)
}

func TestDecodeNamesTheIdentityAndTheFileIndex(t *testing.T) {
	// Sorted, aws:a would come first; the file has it second.
	bad := strings.Replace(id("a"), `"status":"active"`, `"status":"on"`, 1)
	bad = strings.Replace(bad, `"usage":{"state":"unknown"}`, `"usage":{"state":"unknown"},"credentials":[{"id":"K1","type":"aws-access-key","status":"active","usage":{"state":"unknown"}},{"id":"K2","type":"aws-access-key","status":"active","usage":{"state":"unknown"},"created":"yesterday"}]`, 1)
	wantLines(t, "time", decodeErr(t, inv(id("z")+","+bad)),
		`identities[1] (aws:a).credentials[1] (K2).created: "yesterday" is not an RFC 3339 time`)
	wantLines(t, "status", decodeErr(t, inv(id("z")+","+strings.Replace(id("a"), `"status":"active"`, `"status":"on"`, 1))),
		`identities[1] (aws:a): unknown status "on"`)
	// The id is found after the problem too.
	wantLines(t, "id after", decodeErr(t, inv(`{"provider":7,"id":"aws:q","kind":"aws-iam-user","native_id":"q","scope":"s","status":"active","usage":{"state":"unknown"}}`)),
		`identities[0] (aws:q).provider: want a string, got a number`)
}

func TestDecodeRefusesUnknownValues(t *testing.T) {
	for name, tc := range map[string]struct{ in, want string }{
		"gap kind": {
			`{"version":1,"collected_at":"2026-01-01T00:00:00Z","gaps":[{"provider":"aws","source":"x","kind":"denied"},{"provider":"aws","source":"x","kind":"forbidden"}]}`,
			`gaps[1].kind: unknown value "forbidden"`},
		"scope provider": {
			`{"version":1,"collected_at":"2026-01-01T00:00:00Z","scopes":[{"provider":"oracle","id":"o1"}]}`,
			`scopes[0] (o1).provider: unknown value "oracle"`},
		"hint source": {
			inv(strings.Replace(id("a"), `"scope":"s"`, `"scope":"s","owner_hints":[{"source":"tag","value":"x"},{"source":"rumour","value":"y"}]`, 1)),
			`identities[0] (aws:a).owner_hints[1].source: unknown value "rumour"`},
		"signal code": {
			inv(strings.Replace(id("a"), `"scope":"s"`, `"scope":"s","signals":[{"code":"feels-risky"}]`, 1)),
			`identities[0] (aws:a).signals[0].code: unknown value "feels-risky"`},
		"credential signal code": {
			inv(strings.Replace(id("a"), `"usage":{"state":"unknown"}`, `"usage":{"state":"unknown"},"credentials":[{"id":"K","type":"aws-access-key","status":"active","usage":{"state":"unknown"},"signals":[{"code":"x"}]}]`, 1)),
			`identities[0] (aws:a).credentials[0] (K).signals[0].code: unknown value "x"`},
		"facet": {
			`{"version":1,"collected_at":"2026-01-01T00:00:00Z","scopes":[{"provider":"aws","id":"s","facets":["logon"]}]}`,
			`scopes[0] (aws s): unknown facet "logon"`},
	} {
		wantLines(t, name, decodeErr(t, tc.in), tc.want)
	}
}

func TestDecodeRefusesWhatEncodingJSONWouldReplace(t *testing.T) {
	for name, tc := range map[string]struct{ in, want string }{
		"invalid UTF-8": {
			inv(strings.Replace(id("a"), `"native_id":"a"`, "\"native_id\":\"a\xff\"", 1)),
			"line 1, column 172 (byte 171): invalid UTF-8 (byte 0xff) in a string"},
		"lone surrogate": {
			inv(strings.Replace(id("a"), `"native_id":"a"`, `"native_id":"a\ud800"`, 1)),
			`line 1, column 172 (byte 171): lone UTF-16 surrogate \ud800 in a string`},
		"control character": {
			"{\"version\":1,\n \"collected_at\":\"2026\t\"}",
			`line 2, column 22 (byte 35): control character 0x09 in a string (write it as \u0009)`},
		"trailing": {
			`{"version":1,"collected_at":"2026-01-01T00:00:00Z"} {}`,
			"line 1, column 53 (byte 52): trailing data after the JSON object"},
		"truncated": {`{"version":1,`, "line 1, column 14 (byte 13): unexpected end of the file"},
	} {
		wantLines(t, name, decodeErr(t, tc.in), tc.want)
	}
	// A surrogate pair is one character.
	if _, err := nhi.Decode(strings.NewReader(inv(strings.Replace(id("a"), `"native_id":"a"`, `"native_id":"a\ud83d\ude00"`, 1)))); err != nil {
		t.Errorf("surrogate pair: %v", err)
	}
}

func TestDecodeSkipsAWrongValueWithoutRecursion(t *testing.T) {
	deep := strings.Repeat("[", 1_000_000) + strings.Repeat("]", 1_000_000)
	wantLines(t, "lone low surrogate", decodeErr(t, `{"version":1,"collected_at":"\udc00"}`),
		`line 1, column 30 (byte 29): lone UTF-16 surrogate \udc00 in a string`)
	wantLines(t, "deep", decodeErr(t, `{"version":`+deep+`,"collected_at":"2026-01-01T00:00:00Z"}`),
		`version: want an integer, got a list`)
}

func TestDecodeStopsAfter100Problems(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"version":1,"collected_at":"2026-01-01T00:00:00Z","scopes":[`)
	for i := range 1000 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"provider":"aws","id":"x","Name":"n"}`)
	}
	b.WriteString(`]}`)
	got := decodeErr(t, b.String())
	if len(got) != 101 || got[100] != "more than 100 problems; stopped reading" {
		t.Errorf("%d lines, last %q", len(got), got[len(got)-1])
	}
}

type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

func TestDecodeStopsAtTheSizeLimit(t *testing.T) {
	defer nhi.SetMaxInventorySize(1 << 20)()
	_, err := nhi.Decode(io.MultiReader(strings.NewReader("{"), endless{}))
	if err == nil || err.Error() != "inventory: over the size limit of 1 MiB for an inventory" {
		t.Errorf("%v", err)
	}
	if errors.Is(err, io.EOF) {
		t.Error("EOF")
	}
}
