package analyzer_test

import (
	"encoding/json"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/analyzer"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/synth"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

// The analyzer splits the identities into shards, one per processor: the
// result must be the same, byte for byte, whatever the number of shards,
// with drift (removed identities merged in), exceptions (suppressing and
// expired, counted across shards) and unknown usage.
func TestShardsDoNotChangeTheResult(t *testing.T) {
	defer analyzer.SetMinShard(500)()
	now := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	p := synth.Default(3_000, now)
	p.Roles, p.People, p.Scopes = 300, 2000, 40
	p.Hygiene = 30
	inv, cat := synth.Generate(p)
	p.Seed = 2
	prev, _ := synth.Generate(p)
	prev.Identities = prev.Identities[:2_200]
	cat.Exceptions = []catalog.Exception{
		{ID: "EX-1", Rule: "credential-too-old", Selector: catalog.Selector{Provider: nhi.AWS}, Expires: now.AddDate(0, 1, 0)},
		{ID: "EX-2", Rule: "dormant-credential", Selector: catalog.Selector{Provider: nhi.GCP}, Expires: now.AddDate(0, -1, 0)},
	}
	in := analyzer.Input{Inventory: inv, Catalog: cat, Previous: &prev, Now: now}
	encode := func(procs int, streamed bool) []byte {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		in := in
		var got []nhi.Finding
		if streamed {
			in.Findings = func(fs []nhi.Finding) {
				for _, f := range fs { // the batch and its evidence are reused: copy both
					f.Evidence = slices.Clone(f.Evidence)
					got = append(got, f)
				}
			}
		}
		res := analyzer.Analyze(in)
		if streamed {
			if res.Findings != nil {
				t.Fatal("a streamed analysis returned its findings too")
			}
			res.Findings = got
		}
		b, err := json.Marshal([]any{res.Findings, res.Ownership, res.Unevaluated, res.ExpiredExceptions})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	one := encode(1, false)
	for _, procs := range []int{1, 2, 3, 4} {
		if got := encode(procs, false); string(got) != string(one) {
			t.Errorf("GOMAXPROCS=%d: the result differs from one worker's (%d bytes, want %d)", procs, len(got), len(one))
		}
		if got := encode(procs, true); string(got) != string(one) {
			t.Errorf("GOMAXPROCS=%d, streamed: the findings handed on differ from the result (%d bytes, want %d)", procs, len(got), len(one))
		}
	}
	// Identities out of id order are sorted first, streamed or not.
	slices.Reverse(in.Inventory.Identities)
	for _, streamed := range []bool{false, true} {
		if got := encode(2, streamed); string(got) != string(one) {
			i := 0
			for i < len(got) && got[i] == one[i] {
				i++
			}
			t.Errorf("identities in reverse order, streamed %v: the result differs at %d: %s\nwant %s", streamed, i, got[max(0, i-300):i+200], one[max(0, i-300):i+200])
		}
	}
}

// A streamed analysis of an inventory whose identities are all gone still
// reports their removal, and one of nothing hands on nothing.
func TestStreamWithNoIdentities(t *testing.T) {
	now := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	prev, cat := synth.Generate(synth.Default(200, now))
	cur := prev
	cur.Identities = nil
	var n int
	analyzer.Analyze(analyzer.Input{Inventory: cur, Catalog: cat, Previous: &prev, Now: now, Findings: func(fs []nhi.Finding) {
		for _, f := range fs {
			if f.RuleID == "drift-identity-removed" {
				n++
			}
		}
	}})
	if n != len(prev.Identities) {
		t.Errorf("removed identities reported: %d, want %d", n, len(prev.Identities))
	}
	calls := 0
	analyzer.Analyze(analyzer.Input{Inventory: cur, Catalog: cat, Now: now, Findings: func([]nhi.Finding) { calls++ }})
	if calls != 0 {
		t.Errorf("an empty analysis handed on %d batch(es)", calls)
	}
}
