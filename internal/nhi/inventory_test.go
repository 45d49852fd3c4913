package nhi_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

func sample() nhi.Inventory {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.FixedZone("CET", 3600))
	return nhi.Inventory{
		Version:     nhi.SchemaVersion,
		CollectedAt: t0,
		Scopes:      []nhi.Scope{{Provider: nhi.GCP, ID: "p2"}, {Provider: nhi.AWS, ID: "1"}, {Provider: nhi.AWS, ID: "1", Name: "dup"}},
		Identities: []nhi.Identity{
			{ID: "gcp:2", Provider: nhi.GCP, Kind: nhi.KindGCPServiceAccount, NativeID: "2", Name: "b", Scope: "p2", Status: nhi.StatusActive,
				Usage: nhi.Usage{State: nhi.UsageUnknown, Reason: "denied"}},
			{ID: "aws:AIDA1", Provider: nhi.AWS, Kind: nhi.KindAWSUser, NativeID: "AIDA1", Name: "a", Scope: "1", Status: nhi.StatusActive,
				Usage: nhi.Usage{State: nhi.UsageUsed, LastUsed: t0, Source: "credential-report", AsOf: t0},
				Credentials: []nhi.Credential{
					{ID: "AKIA2", Type: nhi.CredAWSAccessKey, Status: nhi.StatusActive, Created: t0, Usage: nhi.Usage{State: nhi.UsageNeverUsed}},
					{ID: "AKIA1", Type: nhi.CredAWSAccessKey, Status: nhi.StatusDisabled, Usage: nhi.Usage{State: nhi.UsageNotReported}},
				},
				Grants: []nhi.Grant{{ID: "g2", Entitlement: "e2", Privilege: nhi.PrivRead}, {ID: "g1", Entitlement: "e1", Privilege: nhi.PrivAdmin}}},
		},
		Gaps: []nhi.Gap{{Provider: nhi.GCP, Scope: "p2", Source: "policyanalyzer", Kind: nhi.GapDenied, UsageOnly: true}},
	}
}

func TestEncodeDecodeRoundTripAndNormalise(t *testing.T) {
	var b bytes.Buffer
	if err := nhi.Encode(&b, sample()); err != nil {
		t.Fatal(err)
	}
	inv, err := nhi.Decode(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if inv.Identities[0].ID != "aws:AIDA1" || inv.Identities[0].Credentials[0].ID != "AKIA1" || inv.Identities[0].Grants[0].ID != "g1" {
		t.Errorf("not sorted: %+v", inv.Identities[0])
	}
	if len(inv.Scopes) != 2 || inv.Scopes[0].Name != "dup" {
		t.Errorf("scopes not de-duplicated: %+v", inv.Scopes)
	}
	if inv.CollectedAt.Location() != time.UTC {
		t.Error("times not UTC")
	}
	var b2 bytes.Buffer
	_ = nhi.Encode(&b2, inv)
	if diff := cmp.Diff(b.String(), b2.String()); diff != "" {
		t.Errorf("round trip changed bytes (-want +got):\n%s", diff)
	}
	if sample().Hash() != inv.Hash() {
		t.Error("hash differs for equal content")
	}
	if strings.Contains(b.String(), "0001-01-01") {
		t.Error("zero times are encoded")
	}
}

func TestDecodeRejects(t *testing.T) {
	for name, in := range map[string]string{
		"unknown field":   `{"version":1,"collected_at":"2026-01-01T00:00:00Z","scopes":[],"identities":[],"colour":"red"}`,
		"wrong version":   `{"version":2,"collected_at":"2026-01-01T00:00:00Z","scopes":[],"identities":[]}`,
		"bad kind":        `{"version":1,"collected_at":"2026-01-01T00:00:00Z","scopes":[],"identities":[{"id":"aws:1","provider":"aws","kind":"robot","native_id":"1","scope":"s","status":"active","usage":{"state":"unknown"}}]}`,
		"id prefix":       `{"version":1,"collected_at":"2026-01-01T00:00:00Z","scopes":[],"identities":[{"id":"1","provider":"aws","kind":"aws-iam-user","native_id":"1","scope":"s","status":"active","usage":{"state":"unknown"}}]}`,
		"used no time":    `{"version":1,"collected_at":"2026-01-01T00:00:00Z","scopes":[],"identities":[{"id":"aws:1","provider":"aws","kind":"aws-iam-user","native_id":"1","scope":"s","status":"active","usage":{"state":"used"}}]}`,
		"trailing":        `{"version":1,"collected_at":"2026-01-01T00:00:00Z","scopes":[],"identities":[]} {}`,
		"syntax":          `{"version":1,`,
		"kind mismatch":   `{"version":1,"collected_at":"2026-01-01T00:00:00Z","scopes":[],"identities":[{"id":"gcp:1","provider":"gcp","kind":"aws-iam-user","native_id":"1","scope":"s","status":"active","usage":{"state":"unknown"}}]}`,
		"duplicate ident": `{"version":1,"collected_at":"2026-01-01T00:00:00Z","scopes":[],"identities":[{"id":"aws:1","provider":"aws","kind":"aws-iam-user","native_id":"1","scope":"s","status":"active","usage":{"state":"unknown"}},{"id":"aws:1","provider":"aws","kind":"aws-iam-user","native_id":"1","scope":"s","status":"active","usage":{"state":"unknown"}}]}`,
	} {
		if _, err := nhi.Decode(strings.NewReader(in)); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}

func TestPartial(t *testing.T) {
	inv := sample()
	// A gap that hides usage only still makes the scope partial: usage
	// was not observed there (before facets, usage-only gaps did not).
	if !inv.Partial(nhi.GCP, "p2") {
		t.Error("a usage-only gap did not make the scope partial")
	}
	if inv.Partial(nhi.GCP, "p3") {
		t.Error("a gap in p2 made p3 partial")
	}
	inv.Gaps = append(inv.Gaps, nhi.Gap{Provider: nhi.AWS, Source: "collect", Kind: nhi.GapError})
	if !inv.Partial(nhi.AWS, "anything") {
		t.Error("a provider-wide gap does not cover every scope")
	}
	if inv.Partial(nhi.GCP, "p1") {
		t.Error("an AWS gap made GCP partial")
	}
}

func TestMergeAndFingerprint(t *testing.T) {
	a, b := sample(), nhi.Inventory{Version: 1, CollectedAt: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), Scopes: []nhi.Scope{{Provider: nhi.GitHub, ID: "org"}}}
	m := nhi.Merge(a, b)
	if !m.CollectedAt.Equal(b.CollectedAt) || len(m.Scopes) != 3 || len(m.Identities) != 2 {
		t.Errorf("merge: %v %d %d", m.CollectedAt, len(m.Scopes), len(m.Identities))
	}
	if nhi.Fingerprint("r", "i", "c", "") == nhi.Fingerprint("r", "i", "", "c") {
		t.Error("fingerprint confuses credential and grant")
	}
	if a, b := nhi.Fingerprint("r", "i", "c", ""), nhi.Fingerprint("r", "i", "c", ""); a != b {
		t.Error("fingerprint not stable")
	}
	if _, err := nhi.ParseSeverity("HIGH"); err != nil {
		t.Error(err)
	}
	if _, err := nhi.ParseSeverity("severe"); err == nil {
		t.Error("accepted an unknown severity")
	}
}

// TestDocumentedExample keeps docs/inventory.md true: its example decodes.
func TestDocumentedExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/inventory.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	i := strings.Index(s, "```json\n")
	j := strings.Index(s[i+8:], "```")
	if i < 0 || j < 0 {
		t.Fatal("no JSON example in docs/inventory.md")
	}
	inv, err := nhi.Decode(strings.NewReader(s[i+8 : i+8+j]))
	if err != nil {
		t.Fatalf("documented example does not decode: %v", err)
	}
	if len(inv.Identities) != 1 || !inv.Partial(nhi.AWS, "333333333333") {
		t.Errorf("example decoded to %+v", inv)
	}
}

// TestEncodeLeavesInputAlone: Encode, Hash and Merge normalise a copy. They
// used to sort the caller's slices in place and de-duplicate its scopes into
// the same backing array, leaving the caller with a repeated scope, and two
// goroutines hashing one inventory raced.
func TestEncodeLeavesInputAlone(t *testing.T) {
	inv := sample()
	want := sample()
	var b bytes.Buffer
	if err := nhi.Encode(&b, inv); err != nil {
		t.Fatal(err)
	}
	_ = inv.Hash()
	_ = nhi.Merge(inv)
	if diff := cmp.Diff(want, inv); diff != "" {
		t.Errorf("Encode/Hash/Merge changed their input (-want +got):\n%s", diff)
	}
	c := inv.Clone()
	c.Normalize()
	if diff := cmp.Diff(want, inv); diff != "" {
		t.Errorf("normalising a Clone changed the original (-want +got):\n%s", diff)
	}
	done := make(chan string)
	for range 2 {
		go func() { done <- inv.Hash() }()
	}
	if h1, h2 := <-done, <-done; h1 != h2 {
		t.Error("concurrent hashes differ")
	}
}

func TestFingerprintIsTruncatedSHA256(t *testing.T) {
	sum := sha256.Sum256([]byte("rule\x00aws:AIDA1\x00AKIA1\x00"))
	if got, want := nhi.Fingerprint("rule", "aws:AIDA1", "AKIA1", ""), hex.EncodeToString(sum[:])[:24]; got != want {
		t.Errorf("Fingerprint = %s, want %s", got, want)
	}
}

// TestEncodeEmptyLists: an empty inventory encodes to the same bytes (and
// hash) whether its lists are nil or empty, so a snapshot stored with
// "identities": null is re-encoded exactly (the evidence pack of a scan
// with no identities verified against its recorded hash).
func TestEncodeEmptyLists(t *testing.T) {
	at := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	nilLists := nhi.Inventory{Version: nhi.SchemaVersion, CollectedAt: at}
	empty := nhi.Inventory{Version: nhi.SchemaVersion, CollectedAt: at, Scopes: []nhi.Scope{}, Identities: []nhi.Identity{}, Gaps: []nhi.Gap{}}
	if nilLists.Hash() != empty.Hash() {
		t.Error("nil and empty lists encode differently")
	}
	var b bytes.Buffer
	if err := nhi.Encode(&b, empty); err != nil {
		t.Fatal(err)
	}
	back, err := nhi.Decode(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if back.Hash() != nilLists.Hash() {
		t.Error("an empty inventory does not round-trip to the same hash")
	}
	if !strings.Contains(b.String(), `"identities": null`) {
		t.Errorf("empty identities not encoded as null:\n%s", b.String())
	}
}

// TestEncodeWritesNoRawUnsafeCharacter: C1 controls, DEL and bidi controls
// in collected strings are \u escapes in the JSON form, which reads back as
// the same strings.
func TestEncodeWritesNoRawUnsafeCharacter(t *testing.T) {
	inv := sample()
	hostile := "\u202eevil#name18\u009b[31m\x7f\u2066"
	inv.Identities[0].Name = hostile
	var b bytes.Buffer
	if err := nhi.Encode(&b, inv); err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{"\u202e", "\u009b", "\x7f", "\u2066"} {
		if strings.Contains(b.String(), raw) {
			t.Errorf("raw %q in the JSON form", raw)
		}
	}
	if !strings.Contains(b.String(), `\u202eevil#name18\u009b[31m\u007f\u2066`) {
		t.Errorf("escapes missing:\n%s", b.String())
	}
	back, err := nhi.Decode(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, id := range back.Identities {
		names = append(names, id.Name)
	}
	if !slices.Contains(names, hostile) {
		t.Errorf("names read back: %q", names)
	}
}

// A fingerprint is the first 24 hex digits of sha256(rule \0 identity \0
// credential \0 grant): stored findings are matched by it, so it never
// changes.
func TestFingerprintIsStable(t *testing.T) {
	sum := sha256.Sum256([]byte("credential-too-old\x00aws:AIDA1\x00AKIA1\x00"))
	want := hex.EncodeToString(sum[:])[:24]
	if got := nhi.Fingerprint("credential-too-old", "aws:AIDA1", "AKIA1", ""); got != want {
		t.Errorf("Fingerprint = %s, want %s", got, want)
	}
	if got := string(nhi.AppendFingerprint([]byte("x"), "credential-too-old", "aws:AIDA1", "AKIA1", "")); got != "x"+want {
		t.Errorf("AppendFingerprint = %s, want x%s", got, want)
	}
}
