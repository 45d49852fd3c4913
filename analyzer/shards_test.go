package analyzer_test

import (
	"encoding/json"
	"runtime"
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
	encode := func(procs int) []byte {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		res := analyzer.Analyze(in)
		b, err := json.Marshal([]any{res.Findings, res.Ownership, res.Unevaluated, res.ExpiredExceptions})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	one := encode(1)
	for _, procs := range []int{2, 3, 4} {
		if got := encode(procs); string(got) != string(one) {
			t.Errorf("GOMAXPROCS=%d: the result differs from one shard's (%d bytes, want %d)", procs, len(got), len(one))
		}
	}
}
