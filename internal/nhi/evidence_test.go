package nhi_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

// Evidence must encode exactly as the map it replaced: stored findings and
// the audit hashes over them must not change.
func TestEvidenceJSONIsTheMapsJSON(t *testing.T) {
	hostile := "<script>&\"\\\x00\x1b[31m\u2028\u2029\u202e\xff\xfe é 日本"
	maps := []map[string]string{
		nil,
		{},
		{"days": "120"},
		{"usage_state": "used", "age_days": "400", "created": "2025-01-01T00:00:00Z", "z": "", "a": hostile},
		{hostile: "value", "k\u00e9y": "v\tw", "<": ">"},
	}
	for _, m := range maps {
		want, _ := json.Marshal(m)
		got, err := json.Marshal(nhi.EvidenceOf(m))
		if err != nil || string(got) != string(want) {
			t.Errorf("%v: got %s (%v), want %s", m, got, err, want)
		}
		// And inside a finding, with omitempty.
		fw, _ := json.Marshal(struct {
			E map[string]string `json:"evidence,omitempty"`
		}{m})
		fg, _ := json.Marshal(nhi.Finding{Evidence: nhi.EvidenceOf(m)})
		var probe struct {
			E json.RawMessage `json:"evidence"`
		}
		_ = json.Unmarshal(fg, &probe)
		var pw struct {
			E json.RawMessage `json:"evidence"`
		}
		_ = json.Unmarshal(fw, &pw)
		if string(probe.E) != string(pw.E) {
			t.Errorf("%v in a finding: %s, want %s", m, probe.E, pw.E)
		}
		var back nhi.Evidence
		var mback map[string]string
		_ = json.Unmarshal(want, &mback)
		if err := json.Unmarshal(want, &back); err != nil || !cmp.Equal(back.Map(), mback) {
			t.Errorf("%s: read back %v (%v)", want, back, err)
		}
	}
	// A literal out of order, with a repeated key, encodes as its map would.
	ev := nhi.Evidence{{Key: "b", Value: "1"}, {Key: "a", Value: "2"}, {Key: "b", Value: "3"}}
	got, _ := json.Marshal(ev)
	if string(got) != `{"a":"2","b":"3"}` {
		t.Errorf("unsorted literal: %s", got)
	}
}

func TestEvidenceSetGet(t *testing.T) {
	var ev nhi.Evidence
	for _, kv := range [][2]string{{"m", "1"}, {"c", "2"}, {"x", "3"}, {"c", "4"}, {"a", "5"}} {
		ev.Set(kv[0], kv[1])
	}
	want := nhi.Evidence{{"a", "5"}, {"c", "4"}, {"m", "1"}, {"x", "3"}}
	if !cmp.Equal(ev, want) {
		t.Errorf("got %v, want %v", ev, want)
	}
	if ev.Get("c") != "4" || ev.Get("nope") != "" {
		t.Errorf("Get: %q %q", ev.Get("c"), ev.Get("nope"))
	}
	if v, ok := ev.Lookup("nope"); ok || v != "" {
		t.Errorf("Lookup of a missing key: %q %v", v, ok)
	}
}
